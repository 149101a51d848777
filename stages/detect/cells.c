/*
 * cells: a comb field's writing, cell by cell (cells.h).
 *
 * The walls come from the template (its upright lines across the field's
 * box), shifted with the sheet; the ink from the components of the
 * cleaned page inside the field's box. A component belongs to the cell
 * holding its centre; a thin upright bar within WALL_NEAR px of a wall is
 * what guided line removal left of that wall, not a digit.
 */
#include "detect/cells.h"

#include <assert.h>
#include <stdlib.h>

#include "util/util.h"

enum {
    MIN_PIXELS = 30, /* fewer: a speck (detect.c's SPECK_PIXELS) */
    WALL_NEAR = 8,   /* a thin bar this near a wall is left of it */
    BOX_TOL = 15     /* writing spills this far over the box (detect.c) */
};

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

static int cmp_int(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    return (a > b) - (a < b);
}

int bl_cells_walls(const bl_template *t, const bl_template_field *f, int *xs)
{
    assert(t && f && xs);
    bl_box fb = f->box;
    int n = 0;
    for (int i = 0; i < t->nlines && n < BL_CELLS_MAX_WALLS; i++) {
        const bl_template_line *l = &t->lines[i];
        if (!l->vertical)
            continue;
        int x = l->box.x + l->box.w / 2;
        int across = imin(l->box.y + l->box.h, fb.y + fb.h) - imax(l->box.y, fb.y);
        if (x >= fb.x - BOX_TOL && x <= fb.x + fb.w + BOX_TOL && 2 * across >= fb.h)
            xs[n++] = x;
    }
    qsort(xs, (size_t)n, sizeof *xs, cmp_int);
    return n;
}

int bl_cells_gather(const bl_image *page, const bl_template *t, const bl_template_field *f,
                    int dx, int dy, bl_box *box)
{
    assert(page && t && f && box);
    int walls[BL_CELLS_MAX_WALLS];
    int nw = bl_cells_walls(t, f, walls);
    int ncells = nw - 1;
    if (ncells < BL_CELLS_MIN_FILLED)
        return 0;
    for (int i = 0; i < nw; i++)
        walls[i] += dx;
    bl_box tb = {f->box.x + dx, f->box.y + dy, f->box.w, f->box.h};
    int x0 = imax(0, imin(tb.x, walls[0]) - BOX_TOL), y0 = imax(0, tb.y - BOX_TOL);
    int x1 = imin(page->width, imax(tb.x + tb.w, walls[nw - 1]) + BOX_TOL);
    int y1 = imin(page->height, tb.y + tb.h + BOX_TOL);
    if (x1 <= x0 || y1 <= y0)
        return 0;
    /* Most combs of a page are left empty: too little ink for three
     * written cells needs no labelling. */
    long ink = 0;
    for (int y = y0; y < y1; y++) {
        const uint8_t *row = page->data + (size_t)y * (size_t)page->stride;
        for (int x = x0; x < x1; x++)
            ink += row[x] != 0;
    }
    if (ink < BL_CELLS_MIN_FILLED * MIN_PIXELS)
        return 0;
    bl_image *crop = bl_image_crop(page, (bl_box){x0, y0, x1 - x0, y1 - y0});
    bl_component *comps = NULL;
    int nc = 0;
    /* Per cell: the union of its ink (w == 0: none yet). */
    bl_box cell[BL_CELLS_MAX_WALLS] = {{0}};
    if (bl_image_components(crop, &comps, &nc, NULL, NULL) == BL_OK) {
        for (int i = 0; i < nc; i++) {
            bl_box c = comps[i].box;
            c.x += x0;
            c.y += y0;
            int cx = c.x + c.w / 2, cy = c.y + c.h / 2;
            if (comps[i].pixels < MIN_PIXELS || c.h > tb.h + 2 * BOX_TOL)
                continue;
            if (cy < tb.y || cy >= tb.y + tb.h || cx <= walls[0] || cx >= walls[nw - 1])
                continue;
            int k = 0;
            while (k + 1 < nw - 1 && cx >= walls[k + 1])
                k++;
            int thin = 4 * c.w <= c.h;
            if (thin && (cx - walls[k] <= WALL_NEAR || walls[k + 1] - cx <= WALL_NEAR))
                continue;
            if (!cell[k].w) {
                cell[k] = c;
            } else {
                int ux = imin(cell[k].x, c.x), uy = imin(cell[k].y, c.y);
                int ur = imax(cell[k].x + cell[k].w, c.x + c.w);
                int ub = imax(cell[k].y + cell[k].h, c.y + c.h);
                cell[k] = (bl_box){ux, uy, ur - ux, ub - uy};
            }
        }
    }
    free(comps);
    bl_image_destroy(&crop);
    int filled = 0;
    bl_box u = {0, 0, 0, 0};
    for (int k = 0; k < ncells; k++) {
        if (!cell[k].w || cell[k].h < BL_CELLS_MIN_INK_H)
            continue;
        if (!filled) {
            u = cell[k];
        } else {
            int ux = imin(u.x, cell[k].x), uy = imin(u.y, cell[k].y);
            int ur = imax(u.x + u.w, cell[k].x + cell[k].w);
            int ub = imax(u.y + u.h, cell[k].y + cell[k].h);
            u = (bl_box){ux, uy, ur - ux, ub - uy};
        }
        filled++;
    }
    if (filled < BL_CELLS_MIN_FILLED)
        return 0;
    *box = u;
    return filled;
}
