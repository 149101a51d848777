/*
 * samples_forms: the fixed designs of the generator's three known form
 * layouts (arrest_record, incident_report, property_receipt) and their
 * template files.
 *
 * A design is a table: every field kind with its printed guide (box,
 * underline, comb, or a free area after its label), label, value kind and
 * validation rule; and the furniture (header rule, photograph frame, item
 * table, narrative lines, signature line). All coordinates are pixels of
 * the unshifted A4 sheet at 300 dpi; the page renderer (samples_page.c)
 * scales them by dpi/300 and adds the page's shift. The template writer
 * turns the same tables into templates/NAME.ini (format in docs/SAMPLES.md
 * and templates/README.md), so a template says exactly where the generator
 * prints and writes.
 *
 * Every field's writing lies inside its template box (the `box` of
 * bl_samples_form_field_box), and every box keeps at least 280 px from the
 * sheet's edges, so a page shifted by up to 50 px still keeps its writing
 * 230 px from the edges.
 */
#ifndef BL_SAMPLES_FORMS_H
#define BL_SAMPLES_FORMS_H

#include <stdint.h>

#include "blotter/samples_page.h"
#include "util/util.h"

enum {
    BL_FORM_COUNT = 3,       /* known layouts */
    BL_FORM_MAX_LINES = 160, /* printed lines of one design, all lengths */
    BL_FORM_LINE_MIN = 120,  /* a template lists lines at least this long */
    BL_FORM_SHIFT = 50       /* largest |shift| of a page, px at 300 dpi */
};

/* How a field's values are drawn (each satisfies the field's rule). */
typedef enum {
    BL_VALUE_LUHN,  /* digits, first not 0, last a Luhn check digit */
    BL_VALUE_MOD11, /* digits, first not 0, last a mod-11 check digit */
    BL_VALUE_DATE8, /* DDMMYYYY, 1950-1999 */
    BL_VALUE_DATE6, /* DDMMYY, 1950-1999 written as 50-99 */
    BL_VALUE_TIME,  /* HHMM */
    BL_VALUE_PHONE, /* 0, area code and number: 10 digits */
    BL_VALUE_RANGE, /* an integer in lo..hi, digit count uniform first */
    BL_VALUE_DIGITS /* min..max digits, any */
} bl_form_value;

typedef struct bl_samples_form_field {
    const char *name, *label, *rule;
    bl_samples_style style;
    /* The guide, px at 300 dpi on the unshifted sheet. BOX: the printed
     * outline; UNDERLINE: the line's left end (x, y) and length w, h unused;
     * COMB: top-left of the first cell, cell width w, cell height h;
     * FREE: the writing area itself. */
    int x, y, w, h;
    int cells;      /* COMB: number of cells */
    int label_left; /* label left of the guide, else above it */
    int in_table;   /* BOX drawn by the item table, not by the field */
    bl_form_value value;
    int min_digits, max_digits;
    long lo, hi;    /* BL_VALUE_RANGE */
} bl_samples_form_field;

typedef struct bl_samples_form {
    const char *name, *title;
    const bl_samples_form_field *fields;
    int nfields;
    int photo;           /* photograph frame top right */
    int table_rows;      /* item table rows (property receipt) */
    int narrative_lines; /* ruled narrative lines (incident report) */
} bl_samples_form;

/* A printed line: horizontal (len along x) or vertical (len along y);
 * (x, y) its top-left pixel, t its thickness. */
typedef struct bl_samples_line {
    char dir; /* 'h' or 'v' */
    int x, y, len, t;
} bl_samples_line;

const bl_samples_form *bl_samples_form_get(int index); /* 0..BL_FORM_COUNT-1 */

/* Where the field's writing may lie, on the unshifted sheet at 300 dpi. */
bl_box bl_samples_form_field_box(const bl_samples_form_field *f);

/* Every line the design prints, unshifted at 300 dpi; returns the count
 * (at most max). */
int bl_samples_form_lines(const bl_samples_form *form, bl_samples_line *out, int max);

/* Item table geometry (px at 300 dpi): column edges and rows. */
enum {
    BL_TABLE_TOP = 1680, BL_TABLE_HEAD = 70, BL_TABLE_ROW = 170,
    BL_TABLE_X0 = 230, BL_TABLE_X1 = 2250
};
extern const int bl_samples_table_cols[5];

/* Draws a value of field f from rng into value (at least
 * BL_SAMPLES_MAX_DIGITS + 1 bytes). */
void bl_samples_form_make_value(const bl_samples_form_field *f, bl_samples_rng *rng,
                                char *value);

/* Writes DIR/NAME.ini for every known layout (DIR must exist). */
int bl_samples_forms_write_templates(const char *dir, bl_err *err);

#endif
