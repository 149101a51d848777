/*
 * dashes: thin lines a light scan broke into dashes are found, along rows
 * and columns, gaps and all; writing, print, solid bars, sparse dots and
 * short dashed stretches are not.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "detect/dashes.h"
#include "draw.h"
#include "image/bitmap.h"

enum { W = 1200, H = 900 };

static void set_px(bl_bitmap *b, int x, int y)
{
    if (x >= 0 && y >= 0 && x < b->width && y < b->height)
        BL_BROW(b, y)[x >> 6] |= UINT64_C(1) << (x & 63);
}

static int get_px(const bl_bitmap *b, int x, int y) { return BL_BGET(b, x, y); }

static void fill(bl_bitmap *b, int x0, int y0, int w, int h)
{
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++)
            set_px(b, x, y);
}

/* A line `len` long from (x, y), `thick` px across, drawn as dashes of
 * `dash` px with gaps of `gap` px, stepping a pixel across every 50 px
 * (the jog a deskew leaves). Returns its ink pixel count. */
static long dashed(bl_bitmap *b, int vertical, int x, int y, int len, int thick, int dash,
                   int gap)
{
    long n = 0;
    for (int a = 0; a < len; a++) {
        if (a % (dash + gap) >= dash)
            continue;
        int jog = (a / 50) % 2;
        for (int t = 0; t < thick; t++) {
            if (vertical)
                set_px(b, x + jog + t, y + a);
            else
                set_px(b, x + a, y + jog + t);
            n++;
        }
    }
    return n;
}

/* Marked pixels of `lines` in the box. */
static long marked(const bl_bitmap *lines, int x0, int y0, int w, int h)
{
    long n = 0;
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++)
            n += get_px(lines, x, y);
    return n;
}

/* A digit-like ring (draw.h) on a bitmap. */
static void ring(bl_bitmap *b, int x, int y, int w, int h)
{
    for (int yy = 0; yy < h; yy++)
        for (int xx = 0; xx < w; xx++)
            if (ring_ink(w, h, xx, yy))
                set_px(b, x + xx, y + yy);
}

Test(dashes, finds_thin_dashed_lines_across_and_down)
{
    bl_bitmap *ink = bl_bitmap_new(W, H);
    bl_bitmap *lines = bl_bitmap_new(W, H);
    long h_ink = dashed(ink, 0, 100, 100, 700, 1, 60, 14);
    long v_ink = dashed(ink, 1, 1000, 150, 400, 2, 45, 20);
    /* A line of the sparsest kind still bridged: dots of 20, gaps of 40. */
    long s_ink = dashed(ink, 0, 100, 700, 400, 1, 20, 40);
    long got = bl_dashes_mark(lines, ink);
    cr_assert_gt(got, 0);
    /* Every dash's ink is marked (the band of rows around it too). */
    long h = 0, v = 0, s = 0;
    for (int y = 95; y < 110; y++)
        for (int x = 100; x < 800; x++)
            h += get_px(ink, x, y) && get_px(lines, x, y);
    for (int y = 150; y < 550; y++)
        for (int x = 995; x < 1010; x++)
            v += get_px(ink, x, y) && get_px(lines, x, y);
    for (int y = 695; y < 710; y++)
        for (int x = 100; x < 500; x++)
            s += get_px(ink, x, y) && get_px(lines, x, y);
    cr_expect_eq(h, h_ink, "row: %ld of %ld ink pixels marked", h, h_ink);
    cr_expect_eq(v, v_ink, "column: %ld of %ld ink pixels marked", v, v_ink);
    cr_expect_eq(s, s_ink, "sparse row: %ld of %ld ink pixels marked", s, s_ink);
    /* Its gaps too, from its first dot to its last (x 100-479). */
    long span = 0;
    for (int x = 100; x < 480; x++)
        span += get_px(lines, x, 700) || get_px(lines, x, 701);
    cr_expect_eq(span, 380, "sparse row: %ld of 380 columns marked", span);
    /* Nothing but those lines' neighbourhoods. */
    cr_expect_eq(marked(lines, 0, 0, W, H),
                 marked(lines, 100, 95, 700, 15) + marked(lines, 995, 150, 15, 400) +
                     marked(lines, 100, 695, 400, 15));
    /* Marking again adds nothing; pixels already set stay. */
    cr_expect_eq(bl_dashes_mark(lines, ink), 0);
    bl_bitmap_destroy(&lines);
    bl_bitmap_destroy(&ink);
}

Test(dashes, leaves_writing_print_solid_bars_and_sparse_dots)
{
    bl_bitmap *ink = bl_bitmap_new(W, H);
    bl_bitmap *lines = bl_bitmap_new(W, H);
    /* Hand-writing: a row of digit rings, touching their neighbours. */
    for (int i = 0; i < 12; i++)
        ring(ink, 100 + i * 48, 100, 50, 80);
    /* Bold print: letters 30 px tall, 6 px strokes, 4 px apart, their
     * tops and bottoms as bars (E, T, Z...). */
    for (int i = 0; i < 20; i++) {
        int x = 100 + i * 30;
        fill(ink, x, 300, 26, 6);
        fill(ink, x, 324, 26, 6);
        fill(ink, x, 300, 6, 30);
    }
    /* A solid bar 12 px thick (not thin): step 1 of line removal's, not
     * this. */
    fill(ink, 100, 500, 600, 12);
    /* Dots 4 px long every 20 px: 20% ink. */
    dashed(ink, 0, 100, 650, 600, 1, 4, 16);
    /* A thin dashed line shorter than a form line. */
    dashed(ink, 0, 800, 650, 100, 1, 40, 10);
    /* Dashes with gaps wider than any the scan leaves. */
    dashed(ink, 0, 100, 800, 900, 1, 50, 60);
    cr_expect_eq(bl_dashes_mark(lines, ink), 0);
    cr_expect_eq(marked(lines, 0, 0, W, H), 0);
    bl_bitmap_destroy(&lines);
    bl_bitmap_destroy(&ink);
}

Test(dashes, a_stroke_crossing_the_line_does_not_break_it)
{
    bl_bitmap *ink = bl_bitmap_new(W, H);
    bl_bitmap *lines = bl_bitmap_new(W, H);
    /* Dashes with gaps of 14, and every 80 px an upright stroke 5 px
     * wide through the line (writing crossing it): the crossings are not
     * thin, so they count as gaps, and a gap next to one stays bridged. */
    dashed(ink, 0, 100, 400, 800, 1, 60, 10);
    for (int x = 150; x < 900; x += 80)
        fill(ink, x, 360, 5, 80);
    bl_dashes_mark(lines, ink);
    long on = 0, total = 0;
    for (int x = 100; x < 900; x++)
        if (get_px(ink, x, 400) || get_px(ink, x, 401)) {
            int crossing = (x - 150) % 80 < 5 && x >= 150;
            if (crossing)
                continue;
            total++;
            on += get_px(lines, x, 400) || get_px(lines, x, 401);
        }
    cr_expect_eq(on, total, "%ld of %ld line pixels marked", on, total);
    bl_bitmap_destroy(&lines);
    bl_bitmap_destroy(&ink);
}
