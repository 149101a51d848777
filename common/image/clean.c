/*
 * clean.c: removing what the scanner added to a binarised page: speckle
 * (dust, sensor noise, toner dots) and dark bands along the page border
 * (the scanner lid around a skewed or small sheet, edge shadows).
 *
 * Despeckling labels 8-connected components over runs with the labelling
 * of components.c (bl_image_runs), then clears the runs of every component that is small in
 * both pixel count and box. Working on runs means no per-pixel label map:
 * an A4 page costs a few milliseconds and memory proportional to its runs.
 * Limits: a size test only; a small isolated mark of real meaning (a full
 * stop, the dot of an i) below the size is removed too, which is why the
 * defaults are below the smallest hand-written digit stroke at 300 dpi.
 *
 * Dark edges: on each side, the ink run from the border inward is measured
 * at every position along it (the band's depth profile). A side is dark if
 * ink touches at least a fifth of its border pixels. The profile is then
 * clipped to a running median of itself (window 31) plus a margin before
 * clearing: a band's inner edge is ragged but continuous, so the median
 * follows it, while a ruled line or a stroke that touches the band makes a
 * one- or two-position spike that the median ignores; so the band goes and
 * the line stays. Limits: ink that touches a band and lies within the
 * margin of its inner edge goes with it; a band that covers less than a
 * fifth of its side (a corner triangle of a slightly skewed page on a dark
 * lid) is left for despeckling and later stages.
 */
#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "image/bitmap.h"
#include "image/image_internal.h"

uint64_t bl_image_ink_count(const bl_image *bin)
{
    assert(bin && bin->data);
    uint64_t n = 0;
    for (int y = 0; y < bin->height; y++) {
        const uint8_t *row = &BL_PIX(bin, 0, y);
        uint32_t r = 0; /* a row's count fits: width < 2^31, values 0/1 */
        for (int x = 0; x < bin->width; x++)
            r += row[x] != 0;
        n += r;
    }
    return n;
}

/* ---- despeckle --------------------------------------------------------- */

typedef struct comp_acc {
    int x0, y0, x1, y1;
    int pixels;
} comp_acc;

/* Marks keep[i] = 0 for the runs of components small in both pixel count
 * and box; returns the number of such components. */
static int select_specks(const bl_run *runs, int *parent, size_t n, int max_pixels,
                         int max_side, uint8_t *keep)
{
    /* Roots precede their members; accumulate each set's size at its root. */
    comp_acc *acc = bl_xmalloc((n ? n : 1) * sizeof *acc);
    for (size_t i = 0; i < n; i++) {
        int root = bl_run_root(parent, (int)i);
        parent[i] = root;
        comp_acc *c = &acc[root];
        if ((size_t)root == i)
            *c = (comp_acc){runs[i].x0, runs[i].y, runs[i].x1, runs[i].y, 0};
        if (runs[i].x0 < c->x0)
            c->x0 = runs[i].x0;
        if (runs[i].x1 > c->x1)
            c->x1 = runs[i].x1;
        if (runs[i].y > c->y1)
            c->y1 = runs[i].y;
        c->pixels += runs[i].x1 - runs[i].x0 + 1;
    }
    int removed = 0;
    for (size_t i = 0; i < n; i++) {
        const comp_acc *c = &acc[parent[i]];
        keep[i] = c->pixels > max_pixels || c->x1 - c->x0 + 1 > max_side ||
                  c->y1 - c->y0 + 1 > max_side;
        if (!keep[i] && (size_t)parent[i] == i)
            removed++;
    }
    free(acc);
    return removed;
}

int bl_image_despeckle(bl_image *bin, int max_pixels, int max_side, bl_err *err)
{
    assert(bin && bin->data && max_pixels >= 0 && max_side >= 0);
    bl_run *runs = NULL;
    int *parent = NULL;
    size_t n = 0;
    int rc = bl_image_runs(bin, &runs, &parent, &n, err);
    if (rc)
        return rc;
    uint8_t *keep = bl_xmalloc(n ? n : 1);
    rc = select_specks(runs, parent, n, max_pixels, max_side, keep);
    for (size_t i = 0; i < n; i++)
        if (!keep[i])
            memset(&BL_PIX(bin, runs[i].x0, runs[i].y), 0,
                   (size_t)(runs[i].x1 - runs[i].x0 + 1));
    free(keep);
    free(parent);
    free(runs);
    return rc;
}

/* Clears bits x0 .. x1 - 1 of a bitmap row. */
static void clear_bits(uint64_t *row, int x0, int x1)
{
    while (x0 < x1) {
        int j = x0 >> 6, b = x0 & 63;
        int n = x1 - x0 < 64 - b ? x1 - x0 : 64 - b;
        uint64_t m = (n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1)) << b;
        row[j] &= ~m;
        x0 += n;
    }
}

int bl_bitmap_despeckle(bl_bitmap *bin, int max_pixels, int max_side, bl_err *err)
{
    assert(bin && bin->data && max_pixels >= 0 && max_side >= 0);
    bl_run *runs = NULL;
    int *parent = NULL;
    size_t n = 0;
    int rc = bl_bitmap_runs(bin, &runs, &parent, &n, err);
    if (rc)
        return rc;
    uint8_t *keep = bl_xmalloc(n ? n : 1);
    rc = select_specks(runs, parent, n, max_pixels, max_side, keep);
    for (size_t i = 0; i < n; i++)
        if (!keep[i])
            clear_bits(BL_BROW(bin, runs[i].y), runs[i].x0, runs[i].x1 + 1);
    free(keep);
    free(parent);
    free(runs);
    return rc;
}

/* ---- dark edges -------------------------------------------------------- */

#define EDGE_MEDIAN_HALF 15
#define EDGE_MARGIN 3
#define EDGE_MIN_COVER 0.2

/* clip[i] = min(depth[i], median of depth over i +- EDGE_MEDIAN_HALF
 * (clipped to 0..n-1; the upper median, sorted[m / 2]) + margin), or 0
 * where that median is 0. The window is kept sorted as it slides: one
 * removal and one insertion per position. */
static void clip_to_median(const int *depth, int *clip, int n)
{
    int win[2 * EDGE_MEDIAN_HALF + 2];
    int m = 0, lo = 0, hi = -1; /* window holds depth[lo..hi] */
    for (int i = 0; i < n; i++) {
        int want_lo = i - EDGE_MEDIAN_HALF < 0 ? 0 : i - EDGE_MEDIAN_HALF;
        int want_hi = i + EDGE_MEDIAN_HALF >= n ? n - 1 : i + EDGE_MEDIAN_HALF;
        while (hi < want_hi) {
            int v = depth[++hi], k = m;
            while (k > 0 && win[k - 1] > v) {
                win[k] = win[k - 1];
                k--;
            }
            win[k] = v;
            m++;
        }
        while (lo < want_lo) {
            int v = depth[lo++], k = 0;
            while (win[k] != v)
                k++;
            memmove(win + k, win + k + 1, (size_t)(m - k - 1) * sizeof *win);
            m--;
        }
        int cap = win[m / 2] > 0 ? win[m / 2] + EDGE_MARGIN : 0;
        clip[i] = depth[i] < cap ? depth[i] : cap;
    }
}

/* The ink run length from the border inward at each of n positions along
 * a side. Side 0 top, 1 right, 2 bottom, 3 left; depth limited to half
 * the page across. */
static void edge_depths(const bl_image *bin, int side, int *depth, int n)
{
    int W = bin->width, H = bin->height;
    int limit = (side == 0 || side == 2) ? H / 2 : W / 2;
    if (side == 0 || side == 2) {
        /* Row-major sweep: all columns advance together, cache friendly. */
        for (int x = 0; x < n; x++)
            depth[x] = -1; /* -1: still in the run */
        for (int d = 0; d < limit; d++) {
            int y = side == 0 ? d : H - 1 - d;
            const uint8_t *row = &BL_PIX(bin, 0, y);
            int open = 0;
            for (int x = 0; x < n; x++) {
                if (depth[x] < 0) {
                    if (!row[x])
                        depth[x] = d;
                    else
                        open = 1;
                }
            }
            if (!open)
                break;
        }
        for (int x = 0; x < n; x++)
            if (depth[x] < 0)
                depth[x] = limit;
    } else {
        for (int y = 0; y < n; y++) {
            const uint8_t *row = &BL_PIX(bin, 0, y);
            int d = 0;
            if (side == 3)
                while (d < limit && row[d])
                    d++;
            else
                while (d < limit && row[W - 1 - d])
                    d++;
            depth[y] = d;
        }
    }
}

static void clear_edge(bl_image *bin, int side, const int *depth, int n)
{
    int W = bin->width, H = bin->height;
    for (int i = 0; i < n; i++) {
        int d = depth[i];
        if (d <= 0)
            continue;
        if (side == 3) {
            memset(&BL_PIX(bin, 0, i), 0, (size_t)d);
        } else if (side == 1) {
            memset(&BL_PIX(bin, W - d, i), 0, (size_t)d);
        } else {
            for (int k = 0; k < d; k++)
                BL_PIX(bin, i, side == 0 ? k : H - 1 - k) = 0;
        }
    }
}

int bl_image_remove_dark_edges(bl_image *bin)
{
    assert(bin && bin->data);
    int W = bin->width, H = bin->height;
    int nmax = W > H ? W : H;
    int *depth = bl_xmalloc((size_t)nmax * sizeof *depth);
    int *clip = bl_xmalloc((size_t)nmax * sizeof *clip);
    int mask = 0;
    for (int side = 0; side < 4; side++) {
        int n = (side == 0 || side == 2) ? W : H;
        edge_depths(bin, side, depth, n);
        int touching = 0;
        for (int i = 0; i < n; i++)
            touching += depth[i] > 0;
        if (touching < EDGE_MIN_COVER * n)
            continue;
        clip_to_median(depth, clip, n);
        clear_edge(bin, side, clip, n);
        mask |= 1 << side;
    }
    free(clip);
    free(depth);
    return mask;
}

/* ---- dark edges on a bitmap --------------------------------------------- */

/* edge_depths on a bitmap: the same depths, found word by word. */
static void bedge_depths(const bl_bitmap *bin, int side, int *depth, int n)
{
    int W = bin->width, H = bin->height, wpl = bin->wpl;
    int limit = (side == 0 || side == 2) ? H / 2 : W / 2;
    if (side == 0 || side == 2) {
        /* open: the columns whose run from the border is still going. */
        uint64_t *open = bl_xmalloc((size_t)wpl * sizeof *open);
        for (int j = 0; j < wpl; j++)
            open[j] = ~(uint64_t)0;
        if (W & 63)
            open[wpl - 1] = ((uint64_t)1 << (W & 63)) - 1;
        for (int x = 0; x < n; x++)
            depth[x] = limit;
        for (int d = 0; d < limit; d++) {
            const uint64_t *row = BL_BROW(bin, side == 0 ? d : H - 1 - d);
            uint64_t any = 0;
            for (int j = 0; j < wpl; j++) {
                uint64_t ended = open[j] & ~row[j];
                while (ended) {
                    depth[j * 64 + __builtin_ctzll(ended)] = d;
                    ended &= ended - 1;
                }
                open[j] &= row[j];
                any |= open[j];
            }
            if (!any)
                break;
        }
        free(open);
        return;
    }
    for (int y = 0; y < n; y++) {
        const uint64_t *row = BL_BROW(bin, y);
        int d = 0;
        if (side == 3) {
            for (int j = 0; j < wpl && d < limit; j++) {
                if (row[j] == ~(uint64_t)0) {
                    d += 64;
                    continue;
                }
                d += __builtin_ctzll(~row[j]);
                break;
            }
        } else {
            /* From pixel W - 1 leftwards: leading ones with pixel W - 1
             * moved to bit 63. */
            int j = wpl - 1, valid = W - 64 * j;
            uint64_t v = valid == 64 ? row[j] : row[j] << (64 - valid);
            uint64_t inv = ~v;
            if (valid < 64)
                inv &= ~(((uint64_t)1 << (64 - valid)) - 1);
            if (inv) {
                d = __builtin_clzll(inv);
            } else {
                d = valid;
                for (j--; j >= 0 && d < limit; j--) {
                    if (row[j] == ~(uint64_t)0) {
                        d += 64;
                        continue;
                    }
                    d += __builtin_clzll(~row[j]);
                    break;
                }
            }
        }
        depth[y] = d < limit ? d : limit;
    }
}

static void bclear_edge(bl_bitmap *bin, int side, const int *depth, int n)
{
    int W = bin->width, H = bin->height;
    for (int i = 0; i < n; i++) {
        int d = depth[i];
        if (d <= 0)
            continue;
        if (side == 3) {
            clear_bits(BL_BROW(bin, i), 0, d);
        } else if (side == 1) {
            clear_bits(BL_BROW(bin, i), W - d, W);
        } else {
            uint64_t m = ~((uint64_t)1 << (i & 63));
            for (int k = 0; k < d; k++)
                BL_BROW(bin, side == 0 ? k : H - 1 - k)[i >> 6] &= m;
        }
    }
}

int bl_bitmap_remove_dark_edges(bl_bitmap *bin)
{
    assert(bin && bin->data);
    int W = bin->width, H = bin->height;
    int nmax = W > H ? W : H;
    int *depth = bl_xmalloc((size_t)nmax * sizeof *depth);
    int *clip = bl_xmalloc((size_t)nmax * sizeof *clip);
    int mask = 0;
    for (int side = 0; side < 4; side++) {
        int n = (side == 0 || side == 2) ? W : H;
        bedge_depths(bin, side, depth, n);
        int touching = 0;
        for (int i = 0; i < n; i++)
            touching += depth[i] > 0;
        if (touching < EDGE_MIN_COVER * n)
            continue;
        clip_to_median(depth, clip, n);
        bclear_edge(bin, side, clip, n);
        mask |= 1 << side;
    }
    free(clip);
    free(depth);
    return mask;
}
