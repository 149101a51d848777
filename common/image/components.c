/*
 * components.c: 8-connected components of ink.
 *
 * Two passes over runs (maximal horizontal stretches of ink), after
 * Rosenfeld and Pfaltz, "Sequential operations in digital picture
 * processing", JACM 1966, in the run-based form of Haralick (1981) and
 * He, Chao and Suzuki (2008). Pass one extracts each row's runs and unites
 * a run with every run of the previous row that touches it, diagonals
 * included (8-connectivity: rows overlap when prev.x0 <= x1 + 1 and
 * prev.x1 >= x0 - 1), in a union-find forest keyed by run index. Pass two
 * numbers the roots in raster order and accumulates boxes and pixel counts.
 * There is no recursion and no per-pixel label store unless the caller asks
 * for the label map, so a 2480x3508 page costs a few milliseconds and
 * memory proportional to its runs.
 *
 * Each root is the smallest run index of its set, so components come out
 * in raster order of their first (top-most, then left-most) pixel.
 * Limits: a page with more than 2^31 - 1 runs is refused (BL_ELIMIT).
 */
#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "image/image_internal.h"

int bl_run_root(int *parent, int i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]]; /* path halving */
        i = parent[i];
    }
    return i;
}

static void unite(int *parent, int a, int b)
{
    a = bl_run_root(parent, a);
    b = bl_run_root(parent, b);
    if (a < b)
        parent[b] = a;
    else if (b < a)
        parent[a] = b;
}

int bl_image_runs(const bl_image *bin, bl_run **out_runs, int **out_parent,
                  size_t *out_n, bl_err *err)
{
    assert(bin && bin->data && out_runs && out_parent && out_n);
    size_t cap = 1024, n = 0;
    bl_run *runs = bl_xmalloc(cap * sizeof *runs);
    int *parent = bl_xmalloc(cap * sizeof *parent);
    size_t prev_begin = 0, prev_end = 0;
    for (int y = 0; y < bin->height; y++) {
        const uint8_t *row = &BL_PIX(bin, 0, y);
        size_t cur_begin = n, p = prev_begin;
        int x = 0, w = bin->width;
        while (x < w) {
            /* Paper is most of a page: skip it eight bytes at a time. */
            while (x + 8 <= w) {
                uint64_t v;
                memcpy(&v, row + x, 8);
                if (v)
                    break;
                x += 8;
            }
            while (x < w && !row[x])
                x++;
            if (x == w)
                break;
            int x0 = x;
            while (x < w && row[x])
                x++;
            if (n == cap) {
                if (cap >= (size_t)INT_MAX / 2) {
                    free(runs);
                    free(parent);
                    return bl_err_set(err, BL_ELIMIT, "too many ink runs");
                }
                cap *= 2;
                runs = bl_xrealloc(runs, cap * sizeof *runs);
                parent = bl_xrealloc(parent, cap * sizeof *parent);
            }
            bl_run r = {x0, x - 1, y};
            runs[n] = r;
            parent[n] = (int)n;
            /* Previous-row runs entirely left of this one cannot touch any
             * later run of this row either, so p only moves forward. */
            while (p < prev_end && runs[p].x1 < r.x0 - 1)
                p++;
            for (size_t q = p; q < prev_end && runs[q].x0 <= r.x1 + 1; q++)
                unite(parent, (int)n, (int)q);
            n++;
        }
        prev_begin = cur_begin;
        prev_end = n;
    }
    *out_runs = runs;
    *out_parent = parent;
    *out_n = n;
    return BL_OK;
}

int bl_image_components(const bl_image *bin, bl_component **out, int *count,
                        int **labels, bl_err *err)
{
    assert(bin && bin->data && out && count);
    *out = NULL;
    *count = 0;
    if (labels)
        *labels = NULL;
    bl_run *runs = NULL;
    int *parent = NULL;
    size_t n = 0;
    bl_component *cs = NULL;
    int rc = bl_image_runs(bin, &runs, &parent, &n, err);
    if (rc)
        return rc;

    /* Roots precede their members, so one forward sweep numbers them. */
    int *comp = bl_xmalloc((n ? n : 1) * sizeof *comp);
    int ncomp = 0;
    for (size_t i = 0; i < n; i++) {
        int root = bl_run_root(parent, (int)i);
        comp[i] = (size_t)root == i ? ncomp++ : comp[root];
    }
    if (ncomp > 0) {
        cs = bl_xmalloc((size_t)ncomp * sizeof *cs);
        for (int c = 0; c < ncomp; c++)
            cs[c] = (bl_component){{INT_MAX, INT_MAX, 0, 0}, 0, c + 1};
        /* Box as x0, y0, x1, y1 while accumulating; width/height after. */
        for (size_t i = 0; i < n; i++) {
            bl_component *c = &cs[comp[i]];
            const bl_run *r = &runs[i];
            if (r->x0 < c->box.x)
                c->box.x = r->x0;
            if (r->y < c->box.y)
                c->box.y = r->y;
            if (r->x1 > c->box.w)
                c->box.w = r->x1;
            if (r->y > c->box.h)
                c->box.h = r->y;
            c->pixels += r->x1 - r->x0 + 1;
        }
        for (int c = 0; c < ncomp; c++) {
            cs[c].box.w = cs[c].box.w - cs[c].box.x + 1;
            cs[c].box.h = cs[c].box.h - cs[c].box.y + 1;
        }
    }
    if (labels) {
        size_t npix = 0;
        bool ok = bl_size_mul(&npix, (size_t)bin->width, (size_t)bin->height);
        assert(ok); /* the image exists, so its size fits */
        (void)ok;
        int *map = bl_xcalloc(npix, sizeof *map);
        for (size_t i = 0; i < n; i++) {
            int *dst = map + (size_t)runs[i].y * (size_t)bin->width;
            for (int x = runs[i].x0; x <= runs[i].x1; x++)
                dst[x] = comp[i] + 1;
        }
        *labels = map;
    }
    *out = cs;
    *count = ncomp;
    free(comp);
    free(parent);
    free(runs);
    return rc;
}
