/*
 * csv: one cell of RFC 4180 CSV, shared by the front end's writers
 * (export, review sheets).
 */
#ifndef BL_BLOTTER_CSV_H
#define BL_BLOTTER_CSV_H

#include <stdio.h>

/* Writes s as a cell: as is, or quoted with inner quotes doubled when it
 * holds a comma, a quote or a line break. */
void bl_csv_cell(FILE *f, const char *s);

#endif
