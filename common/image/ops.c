/*
 * ops.c: global thresholding and resampling of gray rasters.
 *
 * Threshold: Otsu, "A threshold selection method from gray-level
 * histograms", IEEE Trans. SMC 9(1), 1979. The level maximises the
 * between-class variance w0 w1 (mu0 - mu1)^2 over a 256-bin histogram.
 * When the maximum is a plateau (two clean peaks with an empty valley, as
 * synthetic and well-scanned pages have), the middle of the plateau is
 * returned rather than its first level, so the cut sits mid-valley instead
 * of hugging the dark peak. Limits: a global threshold; it fails on uneven
 * illumination, for which a local method (Sauvola 2000) is the cure.
 *
 * Resampling is separable: a horizontal pass into a float buffer, then a
 * vertical pass. Shrinking uses area averaging (each output pixel is the
 * mean of the input area it covers, which is what anti-aliases thin pen
 * strokes into gray instead of dropping them); enlarging uses bilinear
 * interpolation with pixel centres aligned. Limits: no gamma handling (the
 * averaging is in the file's encoded values, as every document tool does),
 * and the float buffer costs 4 bytes per pixel of output width times input
 * height.
 */
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/image_internal.h"

int bl_image_otsu_level(const bl_image *gray)
{
    assert(gray && gray->data);
    uint64_t hist[256] = {0};
    for (int y = 0; y < gray->height; y++) {
        const uint8_t *row = &BL_PIX(gray, 0, y);
        for (int x = 0; x < gray->width; x++)
            hist[row[x]]++;
    }
    double total = 0, sum = 0;
    for (int i = 0; i < 256; i++) {
        total += (double)hist[i];
        sum += (double)i * (double)hist[i];
    }
    double w0 = 0, sum0 = 0, best = -1;
    int first = 0, last = 0;
    for (int t = 0; t < 256; t++) {
        w0 += (double)hist[t];
        sum0 += (double)t * (double)hist[t];
        double w1 = total - w0;
        double between = 0;
        if (w0 > 0 && w1 > 0) {
            double d = sum0 / w0 - (sum - sum0) / w1;
            between = w0 * w1 * d * d;
        }
        /* Relative tolerance: the plateau's values differ only by rounding. */
        if (between > best * (1 + 1e-12) + 1e-12) {
            best = between;
            first = last = t;
        } else if (between >= best * (1 - 1e-12)) {
            last = t;
        }
    }
    return (first + last) / 2;
}

bl_image *bl_image_binarize(const bl_image *gray, int level)
{
    assert(gray && gray->data);
    bl_image *out = bl_image_new(gray->width, gray->height);
    for (int y = 0; y < gray->height; y++) {
        const uint8_t *src = &BL_PIX(gray, 0, y);
        uint8_t *dst = &BL_PIX(out, 0, y);
        for (int x = 0; x < gray->width; x++)
            dst[x] = src[x] <= level;
    }
    return out;
}

/* ---- Separable resampling ---------------------------------------------- */

static void weights_alloc(bl_weights *w, int n_out, int max_taps)
{
    w->n_out = n_out;
    w->max_taps = max_taps;
    w->first = bl_xcalloc((size_t)n_out, sizeof *w->first);
    w->taps = bl_xcalloc((size_t)n_out, sizeof *w->taps);
    w->weight = bl_xcalloc((size_t)n_out * (size_t)max_taps, sizeof *w->weight);
}

void bl_weights_free(bl_weights *w)
{
    free(w->first);
    free(w->taps);
    free(w->weight);
    memset(w, 0, sizeof *w);
}

void bl_weights_area(bl_weights *w, int n_in, int n_out)
{
    assert(n_in > 0 && n_out > 0);
    double ratio = (double)n_in / n_out;
    weights_alloc(w, n_out, (int)ceil(ratio) + 2);
    for (int j = 0; j < n_out; j++) {
        double a = j * ratio, b = (j + 1) * ratio;
        if (b > n_in)
            b = n_in;
        int i0 = (int)floor(a);
        if (i0 > n_in - 1)
            i0 = n_in - 1;
        int t = 0;
        float *wt = w->weight + (size_t)j * (size_t)w->max_taps;
        for (int i = i0; i < n_in && i < b && t < w->max_taps; i++) {
            double lo = i > a ? i : a, hi = i + 1 < b ? i + 1 : b;
            if (hi > lo)
                wt[t++] = (float)((hi - lo) / (b - a));
        }
        if (t == 0) /* only when rounding leaves an empty interval */
            wt[t++] = 1.0f;
        w->first[j] = i0;
        w->taps[j] = t;
    }
}

void bl_weights_bilinear(bl_weights *w, int n_in, int n_out)
{
    assert(n_in > 0 && n_out > 0);
    double ratio = (double)n_in / n_out;
    weights_alloc(w, n_out, 2);
    for (int j = 0; j < n_out; j++) {
        double x = (j + 0.5) * ratio - 0.5;
        if (x < 0)
            x = 0;
        if (x > n_in - 1)
            x = n_in - 1;
        int i0 = (int)floor(x);
        double f = x - i0;
        float *wt = w->weight + (size_t)j * 2;
        w->first[j] = i0;
        if (i0 + 1 < n_in && f > 0) {
            wt[0] = (float)(1 - f);
            wt[1] = (float)f;
            w->taps[j] = 2;
        } else {
            wt[0] = 1.0f;
            w->taps[j] = 1;
        }
    }
}

void bl_image_resample(float *dst, const bl_image *src, bl_box region,
                       const float lut[256], const bl_weights *wx,
                       const bl_weights *wy)
{
    assert(region.x >= 0 && region.y >= 0 && region.w > 0 && region.h > 0);
    assert(region.x + region.w <= src->width && region.y + region.h <= src->height);
    int dw = wx->n_out, dh = wy->n_out;
    float *tmp = bl_xmalloc((size_t)dw * (size_t)region.h * sizeof *tmp);
    for (int y = 0; y < region.h; y++) {
        const uint8_t *row = &BL_PIX(src, region.x, region.y + y);
        float *out = tmp + (size_t)y * (size_t)dw;
        for (int j = 0; j < dw; j++) {
            const float *wt = wx->weight + (size_t)j * (size_t)wx->max_taps;
            const uint8_t *p = row + wx->first[j];
            float acc = 0;
            for (int t = 0; t < wx->taps[j]; t++)
                acc += wt[t] * lut[p[t]];
            out[j] = acc;
        }
    }
    for (int i = 0; i < dh; i++) {
        const float *wt = wy->weight + (size_t)i * (size_t)wy->max_taps;
        float *out = dst + (size_t)i * (size_t)dw;
        const float *in = tmp + (size_t)wy->first[i] * (size_t)dw;
        for (int j = 0; j < dw; j++)
            out[j] = wt[0] * in[j];
        for (int t = 1; t < wy->taps[i]; t++) {
            const float *r = in + (size_t)t * (size_t)dw;
            for (int j = 0; j < dw; j++)
                out[j] += wt[t] * r[j];
        }
    }
    free(tmp);
}

/* Returns NULL if the output size would not fit an int. */
bl_image *bl_image_scale(const bl_image *gray, double sx, double sy)
{
    assert(gray && gray->data);
    assert(isfinite(sx) && isfinite(sy) && sx > 0 && sy > 0);
    double fw = round(gray->width * sx), fh = round(gray->height * sy);
    if (fw > INT_MAX || fh > INT_MAX)
        return NULL;
    int dw = fw < 1 ? 1 : (int)fw, dh = fh < 1 ? 1 : (int)fh;
    bl_weights wx, wy;
    if (dw < gray->width)
        bl_weights_area(&wx, gray->width, dw);
    else
        bl_weights_bilinear(&wx, gray->width, dw);
    if (dh < gray->height)
        bl_weights_area(&wy, gray->height, dh);
    else
        bl_weights_bilinear(&wy, gray->height, dh);
    float lut[256];
    for (int i = 0; i < 256; i++)
        lut[i] = (float)i;
    float *buf = bl_xmalloc((size_t)dw * (size_t)dh * sizeof *buf);
    bl_image_resample(buf, gray, (bl_box){0, 0, gray->width, gray->height},
                      lut, &wx, &wy);
    bl_image *out = bl_image_new(dw, dh);
    for (int y = 0; y < dh; y++) {
        const float *src = buf + (size_t)y * (size_t)dw;
        uint8_t *row = &BL_PIX(out, 0, y);
        for (int x = 0; x < dw; x++) {
            float v = src[x] + 0.5f;
            row[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    free(buf);
    bl_weights_free(&wx);
    bl_weights_free(&wy);
    return out;
}
