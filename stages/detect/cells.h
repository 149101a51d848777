/*
 * cells: the writing in a comb field of a matched form template, taken
 * cell by cell. docs/DETECTION.md, "Form templates", says when it is used.
 *
 * A comb is a row of cells, one digit each. Its digits stand a cell's
 * width apart (90 px on the known forms), and a small hand writes them
 * 30-45 px tall: too far apart for the grouping of candidates (1.7 digit
 * heights) and often below its digit size (40 px), so each is a lone
 * component the region classifier rejects, or no candidate at all. The
 * template says where the cells are: the upright lines crossing the
 * field's box are its walls. A comb field is written when ink of digit
 * height stands in at least BL_CELLS_MIN_FILLED of its cells.
 */
#ifndef BL_DETECT_CELLS_H
#define BL_DETECT_CELLS_H

#include "detect/template.h"
#include "image/image.h"

#define BL_CELLS_MIN_FILLED 3 /* written cells for an entry */
#define BL_CELLS_MIN_INK_H 20 /* a cell's ink at least this tall, px */
#define BL_CELLS_MAX_WALLS 64

/* The x (centre, unshifted sheet) of the template's upright lines that
 * cross field f's box over at least half its height, left to right, into
 * xs (at most BL_CELLS_MAX_WALLS); returns how many. A comb of n cells has
 * n + 1 walls; a plain box 2 and an underline none. */
int bl_cells_walls(const bl_template *t, const bl_template_field *f, int *xs);

/* On a cleaned page (form lines erased, 1 = ink) matched to template t
 * with shift (dx, dy): when field f is a comb of at least
 * BL_CELLS_MIN_FILLED cells and at least that many of them hold ink of
 * digit height (components of at least 30 pixels, at least
 * BL_CELLS_MIN_INK_H tall, centred inside the field's box and in the
 * cell, not a thin upright remnant of a wall), sets *box to the union of
 * that ink (page pixels) and returns the number of written cells; else
 * returns 0. */
int bl_cells_gather(const bl_image *page, const bl_template *t, const bl_template_field *f,
                    int dx, int dy, bl_box *box);

#endif
