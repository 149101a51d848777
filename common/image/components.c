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

#include "image/bitmap.h"
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

/* Runs are appended row by row; each is united with the runs of the
 * previous row that touch it. Shared by the byte and the bit rasters. */
typedef struct run_builder {
    bl_run *runs;
    int *parent;
    size_t cap, n;
    size_t prev_begin, prev_end; /* the previous row's runs */
    size_t cur_begin, p;         /* this row's first run; scan position in prev */
} run_builder;

static void rb_init(run_builder *b)
{
    memset(b, 0, sizeof *b);
    b->cap = 1024;
    b->runs = bl_xmalloc(b->cap * sizeof *b->runs);
    b->parent = bl_xmalloc(b->cap * sizeof *b->parent);
}

static void rb_row_begin(run_builder *b)
{
    b->cur_begin = b->n;
    b->p = b->prev_begin;
}

static void rb_row_end(run_builder *b)
{
    b->prev_begin = b->cur_begin;
    b->prev_end = b->n;
}

static int rb_add(run_builder *b, int x0, int x1, int y, bl_err *err)
{
    if (b->n == b->cap) {
        if (b->cap >= (size_t)INT_MAX / 2) {
            free(b->runs);
            free(b->parent);
            b->runs = NULL;
            b->parent = NULL;
            return bl_err_set(err, BL_ELIMIT, "too many ink runs");
        }
        b->cap *= 2;
        b->runs = bl_xrealloc(b->runs, b->cap * sizeof *b->runs);
        b->parent = bl_xrealloc(b->parent, b->cap * sizeof *b->parent);
    }
    size_t n = b->n;
    b->runs[n] = (bl_run){x0, x1, y};
    b->parent[n] = (int)n;
    /* Previous-row runs entirely left of this one cannot touch any later
     * run of this row either, so p only moves forward. */
    while (b->p < b->prev_end && b->runs[b->p].x1 < x0 - 1)
        b->p++;
    for (size_t q = b->p; q < b->prev_end && b->runs[q].x0 <= x1 + 1; q++)
        unite(b->parent, (int)n, (int)q);
    b->n++;
    return BL_OK;
}

int bl_image_runs(const bl_image *bin, bl_run **out_runs, int **out_parent,
                  size_t *out_n, bl_err *err)
{
    assert(bin && bin->data && out_runs && out_parent && out_n);
    run_builder b;
    rb_init(&b);
    for (int y = 0; y < bin->height; y++) {
        const uint8_t *row = &BL_PIX(bin, 0, y);
        rb_row_begin(&b);
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
            int rc = rb_add(&b, x0, x - 1, y, err);
            if (rc)
                return rc;
        }
        rb_row_end(&b);
    }
    *out_runs = b.runs;
    *out_parent = b.parent;
    *out_n = b.n;
    return BL_OK;
}

/* Runs of set bits found word by word: count-trailing-zeros finds the next
 * edge, so a run costs a few instructions whatever its length and a word
 * of paper one comparison. */
int bl_bitmap_runs(const bl_bitmap *bin, bl_run **out_runs, int **out_parent, size_t *out_n,
                   bl_err *err)
{
    assert(bin && bin->data && out_runs && out_parent && out_n);
    run_builder b;
    rb_init(&b);
    for (int y = 0; y < bin->height; y++) {
        const uint64_t *row = BL_BROW(bin, y);
        rb_row_begin(&b);
        int wpl = bin->wpl;
        int j = 0;
        uint64_t w = row[0];
        for (;;) {
            /* Next ink bit. */
            while (!w && ++j < wpl)
                w = row[j];
            if (j >= wpl)
                break;
            int x0 = j * 64 + __builtin_ctzll(w);
            /* Next paper bit after it: the run's end. */
            uint64_t inv = ~w & (~(uint64_t)0 << (x0 & 63));
            while (!inv && ++j < wpl)
                inv = ~row[j];
            int x1 = j >= wpl ? wpl * 64 : j * 64 + __builtin_ctzll(inv);
            /* Padding bits are 0, so a run never reaches past the width. */
            int rc = rb_add(&b, x0, x1 - 1, y, err);
            if (rc)
                return rc;
            if (j >= wpl)
                break;
            w = row[j] & (~(uint64_t)0 << (x1 & 63));
        }
        rb_row_end(&b);
    }
    *out_runs = b.runs;
    *out_parent = b.parent;
    *out_n = b.n;
    return BL_OK;
}

/* Components from united runs: numbered in raster order of their roots,
 * with boxes and pixel counts; comp[i] receives run i's component index
 * when comp is non-NULL. Returns the count; *out is new (NULL if none). */
static int runs_to_components(const bl_run *runs, int *parent, size_t n, int *comp,
                              bl_component **out)
{
    int ncomp = 0;
    /* Roots precede their members, so one forward sweep numbers them. */
    for (size_t i = 0; i < n; i++) {
        int root = bl_run_root(parent, (int)i);
        comp[i] = (size_t)root == i ? ncomp++ : comp[root];
    }
    bl_component *cs = NULL;
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
    *out = cs;
    return ncomp;
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
    int rc = bl_image_runs(bin, &runs, &parent, &n, err);
    if (rc)
        return rc;
    int *comp = bl_xmalloc((n ? n : 1) * sizeof *comp);
    bl_component *cs = NULL;
    int ncomp = runs_to_components(runs, parent, n, comp, &cs);
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

int bl_bitmap_components(const bl_bitmap *bin, bl_component **out, int *count, bl_err *err)
{
    assert(bin && bin->data && out && count);
    *out = NULL;
    *count = 0;
    bl_run *runs = NULL;
    int *parent = NULL;
    size_t n = 0;
    int rc = bl_bitmap_runs(bin, &runs, &parent, &n, err);
    if (rc)
        return rc;
    int *comp = bl_xmalloc((n ? n : 1) * sizeof *comp);
    *count = runs_to_components(runs, parent, n, comp, out);
    free(comp);
    free(parent);
    free(runs);
    return BL_OK;
}
