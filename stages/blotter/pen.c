/*
 * pen: see pen.h.
 */
#include "blotter/pen.h"

#include <math.h>
#include <stdlib.h>

#define SIDE 28
#define PEN_SPAN 70 /* MNIST gray from no ink to full ink */

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

static void measure_ink(const bl_image *img, bl_box *ink)
{
    int x0 = img->width, y0 = img->height, x1 = -1, y1 = -1;
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++)
            if (BL_PIX(img, x, y) >= BL_PEN_INK_LEVEL) {
                x0 = imin(x0, x), x1 = imax(x1, x);
                y0 = imin(y0, y), y1 = imax(y1, y);
            }
    *ink = x1 < 0 ? (bl_box){0, 0, 0, 0} : (bl_box){x0, y0, x1 - x0 + 1, y1 - y0 + 1};
}

int bl_pen_ink_gap(const bl_image *a, int ax, int ay, const bl_image *b, int bx, int by)
{
    int best = INT32_MAX;
    int y0 = imax(ay, by), y1 = imin(ay + a->height, by + b->height);
    for (int y = y0; y < y1; y++) {
        int ra = -1, lb = -1;
        for (int x = a->width - 1; x >= 0 && ra < 0; x--)
            if (BL_PIX(a, x, y - ay) >= BL_PEN_INK_LEVEL)
                ra = ax + x;
        for (int x = 0; x < b->width && lb < 0; x++)
            if (BL_PIX(b, x, y - by) >= BL_PEN_INK_LEVEL)
                lb = bx + x;
        if (ra >= 0 && lb >= 0 && lb - ra - 1 < best)
            best = lb - ra - 1;
    }
    return best;
}

bl_image *bl_pen_glyph(const uint8_t *px, const bl_pen *pen, bl_box *ink)
{
    int x0 = SIDE, y0 = SIDE, x1 = -1, y1 = -1;
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++)
            if (px[y * SIDE + x] > 0) {
                x0 = imin(x0, x), x1 = imax(x1, x);
                y0 = imin(y0, y), y1 = imax(y1, y);
            }
    if (x1 < 0)
        return NULL;
    double h = pen->h, slant = pen->slant;
    double s = h / (y1 - y0 + 1), sx = s * pen->wscale;
    int gh = (int)ceil(h) + 2;
    int gw = (int)ceil((x1 - x0 + 1) * sx + fabs(slant) * h) + 2;
    double base = slant > 0 ? 0 : -slant * h;
    bl_image *img = bl_image_new(gw, gh);
    for (int Y = 0; Y < gh; Y++) {
        double yy = Y + 0.5 - 1;
        double v = yy / s - 0.5 + y0;
        int v0 = (int)floor(v);
        double fv = v - v0;
        for (int X = 0; X < gw; X++) {
            double xu = X + 0.5 - 1 - base - slant * (h - yy);
            double u = xu / sx - 0.5 + x0;
            int u0 = (int)floor(u);
            if (u0 < x0 - 1 || u0 > x1 || v0 < y0 - 1 || v0 > y1)
                continue;
            double fu = u - u0, acc = 0;
            for (int k = 0; k < 4; k++) {
                int uu = u0 + (k & 1), vv = v0 + (k >> 1);
                if (uu < 0 || vv < 0 || uu >= SIDE || vv >= SIDE)
                    continue;
                acc += px[vv * SIDE + uu] * ((k & 1) ? fu : 1 - fu) * ((k >> 1) ? fv : 1 - fv);
            }
            double t = (acc - pen->pen_lo) / PEN_SPAN;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            BL_PIX(img, X, Y) = (uint8_t)lround(t * pen->pen);
        }
    }
    measure_ink(img, ink);
    return img;
}

int bl_pen_solid_enough(const bl_image *img, double h)
{
    if (h < 45)
        return 1; /* at 200 dpi a small writer's strokes are 2-3 px anyway */
    int y0 = img->height, y1 = -1;
    for (int y = 1; y < img->height - 1; y++)
        for (int x = 1; x < img->width - 1; x++)
            if (BL_PIX(img, x, y) >= BL_PEN_INK_LEVEL && BL_PIX(img, x - 1, y) >= BL_PEN_INK_LEVEL &&
                BL_PIX(img, x + 1, y) >= BL_PEN_INK_LEVEL && BL_PIX(img, x, y - 1) >= BL_PEN_INK_LEVEL &&
                BL_PIX(img, x, y + 1) >= BL_PEN_INK_LEVEL) {
                y0 = imin(y0, y);
                y1 = imax(y1, y);
                break;
            }
    return y1 >= 0 && y1 - y0 + 1 >= h / 2;
}

void bl_pen_heavy(bl_image *img, bl_box *ink, int r)
{
    if (r < 1)
        return;
    bl_image *src = bl_image_crop(img, (bl_box){0, 0, img->width, img->height});
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            int best = 0;
            for (int dy = -r; dy <= r; dy++)
                for (int dx = -r; dx <= r; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (dx * dx + dy * dy > r * r || xx < 0 || yy < 0 || xx >= img->width
                        || yy >= img->height)
                        continue;
                    best = imax(best, BL_PIX(src, xx, yy));
                }
            BL_PIX(img, x, y) = (uint8_t)(best >= BL_PEN_INK_LEVEL ? best : 0);
        }
    bl_image_destroy(&src);
    bl_box m;
    measure_ink(img, &m);
    if (m.w > 0)
        *ink = m;
}

int bl_pen_mnist_crop(const uint8_t *px, const bl_pen *pen, int heavy, int threshold,
                      uint8_t out[BL_MNIST_PIXELS])
{
    bl_box ink;
    bl_image *img = bl_pen_glyph(px, pen, &ink);
    if (!img)
        return 0;
    bl_pen_heavy(img, &ink, heavy);
    int any = 0;
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            int on = BL_PIX(img, x, y) >= threshold;
            BL_PIX(img, x, y) = (uint8_t)on;
            any |= on;
        }
    int ok = any && bl_image_mnist_normalize(img, 1, out) == BL_OK;
    bl_image_destroy(&img);
    return ok;
}

int bl_pen_random_crop(const uint8_t *px, bl_nn_rng *rng, uint8_t out[BL_MNIST_PIXELS])
{
    float u = bl_nn_rng_uniform(rng);
    bl_pen pen = {
        .h = 24.0 + 76.0 * bl_nn_rng_uniform(rng),
        .wscale = 1.0 + 0.15 * (2.0f * bl_nn_rng_uniform(rng) - 1.0f),
        .slant = -0.25 + 0.9 * bl_nn_rng_uniform(rng),
        .pen_lo = 10 + (int)(120.0f * bl_nn_rng_uniform(rng)),
        .pen = 255,
    };
    int heavy = u < 1.0f / 7.0f ? (int)lround(pen.h / 20.0) : 0;
    int threshold = 50 + (int)(130.0f * bl_nn_rng_uniform(rng));
    return bl_pen_mnist_crop(px, &pen, heavy, threshold, out);
}
