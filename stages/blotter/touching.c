/*
 * touching: runs of touching digits with each pixel's owner (touching.h).
 */
#include "blotter/touching.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blotter/pen.h"

typedef struct placed {
    bl_image *img; /* ink layer 0..255 */
    bl_box ink;
    int x, y;      /* img's top left in the run's frame */
} placed;

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

static double uniform(bl_nn_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * bl_nn_rng_uniform(rng);
}

int bl_touching_run_draw(const bl_mnist *m, bl_nn_rng *rng, int k, bl_touching_run *run)
{
    memset(run, 0, sizeof *run);
    k = imax(1, imin(k, BL_TOUCHING_MAX));
    double hb = uniform(rng, 50, 110), slant = uniform(rng, -0.15, 0.35);
    int pen_lo = 40 + (int)bl_nn_rng_below(rng, 91), darkness = 200 + (int)bl_nn_rng_below(rng, 56);
    if (bl_nn_rng_uniform(rng) < 0.1f) {
        slant = uniform(rng, 0.45, 0.6);
        pen_lo = 10 + (int)bl_nn_rng_below(rng, 21);
        darkness = 255;
    }
    int heavy = bl_nn_rng_uniform(rng) < 1.0f / 7.0f;
    int threshold = 60 + (int)bl_nn_rng_below(rng, 121);
    placed g[BL_TOUCHING_MAX];
    int n = 0;
    while (n < k) {
        int idx = (int)bl_nn_rng_below(rng, (uint32_t)m->count);
        double h = hb * uniform(rng, 0.88, 1.12);
        bl_pen pen = {h, uniform(rng, 0.9, 1.1), slant + uniform(rng, -0.08, 0.08), pen_lo,
                      darkness};
        bl_box ink;
        bl_image *img = bl_pen_glyph(m->images + (size_t)idx * BL_MNIST_PIXELS, &pen, &ink);
        if (!img)
            continue;
        if (ink.w == 0 || !bl_pen_solid_enough(img, h)) {
            bl_image_destroy(&img);
            continue;
        }
        if (heavy)
            bl_pen_heavy(img, &ink, (int)lround(h / 20.0));
        g[n] = (placed){img, ink, 0, 0};
        g[n].y = (int)lround(hb * uniform(rng, -0.06, 0.06)) - (ink.y + ink.h);
        if (n == 0) {
            g[n].x = -ink.x;
        } else {
            const placed *prev = &g[n - 1];
            g[n].x = prev->x + prev->ink.x + prev->ink.w + (int)lround(hb * 0.2) - ink.x;
            int d = bl_pen_ink_gap(prev->img, prev->x, prev->y, g[n].img, g[n].x, g[n].y);
            if (d != INT32_MAX)
                g[n].x -= d + 1 + (int)bl_nn_rng_below(rng, 4);
        }
        run->digit[n] = m->labels[idx];
        n++;
    }
    int x0 = INT_MAX, y0 = INT_MAX, x1 = INT_MIN, y1 = INT_MIN;
    for (int i = 0; i < k; i++) {
        x0 = imin(x0, g[i].x), y0 = imin(y0, g[i].y);
        x1 = imax(x1, g[i].x + g[i].img->width), y1 = imax(y1, g[i].y + g[i].img->height);
    }
    run->k = k;
    run->w = x1 - x0;
    run->h = y1 - y0;
    size_t npx = (size_t)run->w * run->h;
    uint8_t *level = calloc(npx, 1);
    run->own = calloc(npx, 1);
    run->ink = calloc(npx, 1);
    if (!level || !run->own || !run->ink)
        abort();
    for (int i = 0; i < k; i++) {
        for (int y = 0; y < g[i].img->height; y++)
            for (int x = 0; x < g[i].img->width; x++) {
                int v = BL_PIX(g[i].img, x, y);
                size_t at = (size_t)(g[i].y - y0 + y) * run->w + (size_t)(g[i].x - x0 + x);
                if (v > level[at])
                    level[at] = (uint8_t)v;
                if (v >= threshold)
                    run->own[at] |= (uint8_t)(1u << i);
            }
        bl_image_destroy(&g[i].img);
    }
    int any = 0;
    for (size_t i = 0; i < npx; i++) {
        run->ink[i] = level[i] >= threshold;
        any |= run->ink[i];
    }
    free(level);
    if (!any)
        bl_touching_run_free(run);
    return any;
}

void bl_touching_run_free(bl_touching_run *run)
{
    free(run->ink);
    free(run->own);
    memset(run, 0, sizeof *run);
}
