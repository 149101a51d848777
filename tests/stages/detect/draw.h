/*
 * draw: the marks the detect tests put on a binarised page (1 = ink):
 * filled bars, digit-like rings, and the box arithmetic and check the
 * tests need with them. Header only, for the test programs.
 */
#ifndef BL_TEST_DETECT_DRAW_H
#define BL_TEST_DETECT_DRAW_H

#include <criterion/criterion.h>

#include "image/image.h"

/* Ink over b, clipped to the page. */
static inline void draw_fill(bl_image *img, bl_box b)
{
    for (int y = b.y; y < b.y + b.h; y++)
        for (int x = b.x; x < b.x + b.w; x++)
            if (x >= 0 && y >= 0 && x < img->width && y < img->height)
                BL_PIX(img, x, y) = 1;
}

/* Whether pixel (xx, yy) of a w x h box is ink of a digit-like ring: an
 * ellipse with a stroke about a tenth of its height, filling its box the
 * way a hand-written 0 does. */
static inline int ring_ink(int w, int h, int xx, int yy)
{
    double rx = w / 2.0, ry = h / 2.0, t = h / 10.0;
    double dx = (xx + 0.5 - rx) / rx, dy = (yy + 0.5 - ry) / ry;
    double ix = (xx + 0.5 - rx) / (rx - t), iy = (yy + 0.5 - ry) / (ry - t);
    return dx * dx + dy * dy <= 1.0 && ix * ix + iy * iy > 1.0;
}

/* A ring (ring_ink) drawn with its box at (x, y). Its box. */
static inline bl_box draw_ring(bl_image *img, int x, int y, int w, int h)
{
    for (int yy = 0; yy < h; yy++)
        for (int xx = 0; xx < w; xx++)
            if (ring_ink(w, h, xx, yy))
                BL_PIX(img, x + xx, y + yy) = 1;
    return (bl_box){x, y, w, h};
}

/* The box holding a and b; an empty a (w == 0) is no box at all. */
static inline bl_box draw_union(bl_box a, bl_box b)
{
    if (a.w == 0)
        return b;
    int x0 = a.x < b.x ? a.x : b.x, y0 = a.y < b.y ? a.y : b.y;
    int x1 = a.x + a.w > b.x + b.w ? a.x + a.w : b.x + b.w;
    int y1 = a.y + a.h > b.y + b.h ? a.y + a.h : b.y + b.h;
    return (bl_box){x0, y0, x1 - x0, y1 - y0};
}

static inline void draw_assert_box(bl_box got, bl_box want, const char *what)
{
    cr_assert(got.x == want.x && got.y == want.y && got.w == want.w && got.h == want.h,
              "%s: got [%d %d %d %d], want [%d %d %d %d]", what, got.x, got.y, got.w, got.h,
              want.x, want.y, want.w, want.h);
}

#endif
