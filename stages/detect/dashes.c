/*
 * dashes: thin broken lines, for template matching (dashes.h).
 *
 * All on 64-bit words of the packed page: per row, the thin ink is
 * (row above | row | row below) & ~(3 rows above | 3 rows below); its set
 * bits are walked with count-trailing-zeros and chained across gaps, and
 * a chain that makes a line is marked from end to end. Vertical lines are
 * found the same way on the transposed page, transposed back (64 x 64 bit
 * blocks, empty ones skipped).
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

/* Marks in out, in every row, the whole length of each chain of dashes
 * of its thin ink; returns the pixels marked. */
static long mark_rows(bl_bitmap *out, const bl_bitmap *ink)
{
    int wpl = ink->wpl, W = ink->width;
    uint64_t *t = bl_xmalloc(sizeof *t * (size_t)wpl);
    long marked = 0;
    for (int y = 0; y < ink->height; y++) {
        thin_row(ink, y, t);
        uint64_t *o = BL_BROW(out, y);
        int x = bl_bitmap_next_set(t, wpl, 0);
        while (x < W) {
            int start = x, end = bl_bitmap_next_clear(t, wpl, x);
            long on = end - x;
            for (;;) {
                int nx = bl_bitmap_next_set(t, wpl, end);
                if (nx >= W || nx - end > BL_DASHES_GAP) {
                    x = nx;
                    break;
                }
                int ne = bl_bitmap_next_clear(t, wpl, nx);
                on += ne - nx;
                end = ne;
            }
            int len = end - start;
            if (len >= BL_DASHES_MIN_LEN && (double)on >= BL_DASHES_FILL * len)
                for (int j = start >> 6; j <= (end - 1) >> 6; j++) {
                    uint64_t add = range_mask(j, start, end) & ~o[j];
                    marked += __builtin_popcountll(add);
                    o[j] |= add;
                }
        }
    }
    free(t);
    return marked;
}

/* Transposes the 64 x 64 bit block a in place: bit c of a[r] goes to bit
 * r of a[c] (pixel x at bit x & 63, as in bitmap.h). Six rounds of
 * swapping ever smaller sub-blocks. */
static void transpose64(uint64_t a[64])
{
    uint64_t m = UINT64_C(0x00000000FFFFFFFF);
    for (int j = 32; j; j >>= 1, m ^= m << j)
        for (int k = 0; k < 64; k = ((k | j) + 1) & ~j) {
            uint64_t t = ((a[k] >> j) ^ a[k | j]) & m;
            a[k] ^= t << j;
            a[k | j] ^= t;
        }
}

/* ORs the transpose of in (out(y, x) = in(x, y)) into out, which is
 * in->height wide and in->width tall; returns the pixels newly set. */
static long transpose_or(bl_bitmap *out, const bl_bitmap *in)
{
    assert(out->width == in->height && out->height == in->width);
    long added = 0;
    uint64_t a[64];
    for (int i = 0; i < out->wpl; i++)     /* rows 64 i.. of in */
        for (int j = 0; j < in->wpl; j++) { /* columns 64 j.. of in */
            uint64_t any = 0;
            for (int r = 0; r < 64; r++) {
                int y = 64 * i + r;
                a[r] = y < in->height ? BL_BROW(in, y)[j] : 0;
                any |= a[r];
            }
            if (!any)
                continue;
            transpose64(a);
            for (int c = 0; c < 64 && 64 * j + c < out->height; c++) {
                uint64_t *o = &BL_BROW(out, 64 * j + c)[i];
                added += __builtin_popcountll(a[c] & ~*o);
                *o |= a[c];
            }
        }
    return added;
}

long bl_dashes_mark(bl_bitmap *lines, const bl_bitmap *ink)
{
    assert(lines && ink && lines->width == ink->width && lines->height == ink->height);
    long marked = mark_rows(lines, ink);
    /* Columns: the rows of the transposed page, marked there and
     * transposed back. */
    bl_bitmap *t = bl_bitmap_new(ink->height, ink->width);
    transpose_or(t, ink);
    bl_bitmap *cols = bl_bitmap_new(ink->height, ink->width);
    mark_rows(cols, t);
    marked += transpose_or(lines, cols);
    bl_bitmap_destroy(&cols);
    bl_bitmap_destroy(&t);
    return marked;
}
