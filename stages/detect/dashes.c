/*
 * dashes: thin broken lines, for template matching (dashes.h).
 *
 * All on 64-bit words of the packed page: per row, the thin ink is
 * (row above | row | row below) & ~(3 rows above | 3 rows below); its set
 * bits are walked with count-trailing-zeros and chained across short
 * gaps. Vertical lines are found the same way on the page turned by a
 * quarter, and turned back.
 */
#include "detect/dashes.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

enum {
    BAND = 1, /* ink this near the row counts: a line jogging by a pixel */
    FAR = 3   /* ink this far above and below: not a thin line */
};

/* First set bit at or after x in a row of wpl words, or wpl * 64. */
static int next_set(const uint64_t *row, int wpl, int x)
{
    int j = x >> 6;
    if (j >= wpl)
        return wpl << 6;
    uint64_t w = row[j] & (~UINT64_C(0) << (x & 63));
    while (!w) {
        if (++j >= wpl)
            return wpl << 6;
        w = row[j];
    }
    return (j << 6) + __builtin_ctzll(w);
}

/* First clear bit at or after x, or wpl * 64. */
static int next_clear(const uint64_t *row, int wpl, int x)
{
    int j = x >> 6;
    if (j >= wpl)
        return wpl << 6;
    uint64_t w = ~row[j] & (~UINT64_C(0) << (x & 63));
    while (!w) {
        if (++j >= wpl)
            return wpl << 6;
        w = ~row[j];
    }
    return (j << 6) + __builtin_ctzll(w);
}

/* Bits x0..x1-1 of word j. */
static uint64_t range_mask(int j, int x0, int x1)
{
    int lo = j << 6;
    uint64_t m = ~UINT64_C(0);
    if (x0 > lo)
        m &= ~UINT64_C(0) << (x0 - lo);
    if (x1 < lo + 64)
        m &= (UINT64_C(1) << (x1 - lo)) - 1;
    return m;
}

/* The thin ink of row y of `ink` into t (wpl words). */
static void thin_row(const bl_bitmap *ink, int y, uint64_t *t)
{
    int H = ink->height, wpl = ink->wpl;
    memset(t, 0, sizeof *t * (size_t)wpl);
    for (int k = -BAND; k <= BAND; k++)
        if (y + k >= 0 && y + k < H) {
            const uint64_t *r = BL_BROW(ink, y + k);
            for (int j = 0; j < wpl; j++)
                t[j] |= r[j];
        }
    for (int k = -FAR; k <= FAR; k += 2 * FAR)
        if (y + k >= 0 && y + k < H) {
            const uint64_t *r = BL_BROW(ink, y + k);
            for (int j = 0; j < wpl; j++)
                t[j] &= ~r[j];
        }
}

/* Marks in out the thin ink of every row of ink lying on a chain of
 * dashes; returns the pixels marked. */
static long mark_rows(bl_bitmap *out, const bl_bitmap *ink)
{
    int wpl = ink->wpl, W = ink->width;
    uint64_t *t = bl_xmalloc(sizeof *t * (size_t)wpl);
    long marked = 0;
    for (int y = 0; y < ink->height; y++) {
        thin_row(ink, y, t);
        uint64_t *o = BL_BROW(out, y);
        int x = next_set(t, wpl, 0);
        while (x < W) {
            int start = x, end = next_clear(t, wpl, x);
            long on = end - x;
            for (;;) {
                int nx = next_set(t, wpl, end);
                if (nx >= W || nx - end > BL_DASHES_GAP) {
                    x = nx;
                    break;
                }
                int ne = next_clear(t, wpl, nx);
                on += ne - nx;
                end = ne;
            }
            int len = end - start;
            if (len >= BL_DASHES_MIN_LEN && (double)on >= BL_DASHES_FILL * len)
                for (int j = start >> 6; j <= (end - 1) >> 6; j++) {
                    uint64_t add = t[j] & range_mask(j, start, end) & ~o[j];
                    marked += __builtin_popcountll(add);
                    o[j] |= add;
                }
        }
    }
    free(t);
    return marked;
}

long bl_dashes_mark(bl_bitmap *lines, const bl_bitmap *ink)
{
    assert(lines && ink && lines->width == ink->width && lines->height == ink->height);
    long marked = mark_rows(lines, ink);
    /* Columns: rows of the page turned clockwise by a quarter, marked
     * there and turned back. */
    bl_bitmap *turned = bl_bitmap_rotate_quarter(ink, 1, NULL);
    bl_bitmap *cols = bl_bitmap_new(turned->width, turned->height);
    mark_rows(cols, turned);
    bl_bitmap *back = bl_bitmap_rotate_quarter(cols, 3, NULL);
    for (int y = 0; y < lines->height; y++) {
        uint64_t *o = BL_BROW(lines, y);
        const uint64_t *v = BL_BROW(back, y);
        for (int j = 0; j < lines->wpl; j++) {
            marked += __builtin_popcountll(v[j] & ~o[j]);
            o[j] |= v[j];
        }
    }
    bl_bitmap_destroy(&back);
    bl_bitmap_destroy(&cols);
    bl_bitmap_destroy(&turned);
    return marked;
}
