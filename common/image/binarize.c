/*
 * binarize.c: adaptive binarisation of gray scans.
 *
 * Sauvola and Pietikainen, "Adaptive document image binarization",
 * Pattern Recognition 33(2), 2000: the threshold at each pixel is
 *   T = m (1 + k (s / R - 1))
 * where m and s are the mean and standard deviation of the gray values in a
 * window around the pixel and R = 128 the dynamic range of s. On paper, s
 * is small and T sits well below the local mean, so uneven lighting, paper
 * tone and sensor noise stay paper; near strokes s is large and T rises
 * towards m, so strokes keep their width.
 *
 * The window sums come from integral sums (Shafait, Keysers and Breuel,
 * "Efficient implementation of local adaptive thresholding techniques using
 * integral images", DRR 2008), kept as running column sums of value and
 * squared value over the window's rows (one add and one subtract per column
 * per row) and a prefix sum along each row, so the cost per pixel is
 * constant whatever the window and memory is O(width), not the two
 * 8-byte-per-pixel tables of full integral images (140 MB for an A4 page).
 *
 * Addition: pixels darker than BL_SAUVOLA_SOLID are ink whatever the window
 * says. Sauvola inside a large uniformly dark area (a black scanner lid, a
 * solid stamp) puts T just below the area's mean, so the area's noise
 * becomes salt and pepper; this keeps it solid, so edge removal sees one
 * band.
 *
 * The decisions are made without a square root (sauvola_ink), in loops the compiler vectorises, and packed
 * straight into a bitmap, which ingest works on; the byte raster of
 * bl_image_binarize_sauvola is that bitmap unpacked.
 *
 * Limits: windows narrower than the strokes hollow them (choose half at
 * least the widest stroke); very low-contrast ink on dark paper (contrast
 * below about k * m) is lost, as with every Sauvola variant.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "image/bitmap.h"
#include "image/image_internal.h"

/* The decision for one pixel of gray g, window mean m and variance var.
 * Without sqrt: g <= m (1 - k + k s / R) holds when g - m (1 - k) <= 0,
 * and otherwise exactly when (g - m (1 - k))^2 <= (m k / R)^2 s^2.
 * Branch-free so that the loops below vectorise. */
static inline uint8_t sauvola_ink(float g, float m, float q, float one_minus_k, float kr2,
                                  float solid)
{
    float var = q - m * m;
    var = var > 0 ? var : 0;
    float lhs = g - m * one_minus_k;
    int ink = (g < solid) |
              ((g <= m) & ((lhs <= 0) | (lhs * lhs <= m * m * kr2 * var)));
    return (uint8_t)ink;
}

/* Columns whose window is clipped by the left or right border. Prefix sums
 * wrap modulo 2^32; a window's sum is below 2^31, so the difference is
 * exact. */
static void sauvola_edge(uint8_t *dst, const uint8_t *src, const uint32_t *psum,
                         const uint32_t *psq, const int *x0, const int *x1,
                         const float *inv_cols, float inv_rows, float one_minus_k,
                         float kr2, float solid, int xa, int xb)
{
    for (int x = xa; x < xb; x++) {
        float inv_n = inv_cols[x] * inv_rows;
        float m = (float)(int32_t)(psum[x1[x] + 1] - psum[x0[x]]) * inv_n;
        float q = (float)(int32_t)(psq[x1[x] + 1] - psq[x0[x]]) * inv_n;
        dst[x] = sauvola_ink(src[x], m, q, one_minus_k, kr2, solid);
    }
}

/* Interior columns: the window is x - half .. x + half, contiguous loads. */
static void sauvola_inner(uint8_t *dst, const uint8_t *src, const uint32_t *psum,
                          const uint32_t *psq, int half, float inv_n, float one_minus_k,
                          float kr2, float solid, int xa, int xb)
{
    const uint32_t *s1 = psum + half + 1, *s0 = psum - half;
    const uint32_t *q1 = psq + half + 1, *q0 = psq - half;
    for (int x = xa; x < xb; x++) {
        float m = (float)(int32_t)(s1[x] - s0[x]) * inv_n;
        float q = (float)(int32_t)(q1[x] - q0[x]) * inv_n;
        dst[x] = sauvola_ink(src[x], m, q, one_minus_k, kr2, solid);
    }
}

bl_bitmap *bl_bitmap_binarize_sauvola(const bl_image *gray, int half, double k, int solid)
{
    assert(gray && gray->data);
    /* Window sums of squares below 2^31: (2 half + 1)^2 * 255^2. */
    assert(half >= 1 && half <= BL_SAUVOLA_MAX_HALF);
    assert(k > 0 && k < 1);
    int W = gray->width, H = gray->height;
    bl_bitmap *out = bl_bitmap_new(W, H);
    uint32_t *colsum = bl_xcalloc((size_t)W, sizeof *colsum);
    uint32_t *colsq = bl_xcalloc((size_t)W, sizeof *colsq);
    uint32_t *psum = bl_xmalloc(((size_t)W + 1) * sizeof *psum);
    uint32_t *psq = bl_xmalloc(((size_t)W + 1) * sizeof *psq);
    int *x0 = bl_xmalloc((size_t)W * sizeof *x0);
    int *x1 = bl_xmalloc((size_t)W * sizeof *x1);
    float *inv_cols = bl_xmalloc((size_t)W * sizeof *inv_cols);
    uint8_t *bits = bl_xmalloc((size_t)W);
    for (int x = 0; x < W; x++) {
        x0[x] = x - half < 0 ? 0 : x - half;
        x1[x] = x + half > W - 1 ? W - 1 : x + half;
        inv_cols[x] = 1.0f / (float)(x1[x] - x0[x] + 1);
    }
    const float kf = (float)k, one_minus_k = 1.0f - kf;
    const float kr2 = (kf / 128.0f) * (kf / 128.0f), fsolid = (float)solid;

    /* Prime the column sums with rows 0 .. half - 1; row y + half enters
     * and row y - half - 1 leaves as y advances. */
    for (int y = 0; y < half && y < H; y++) {
        const uint8_t *row = &BL_PIX(gray, 0, y);
        for (int x = 0; x < W; x++) {
            colsum[x] += row[x];
            colsq[x] += (uint32_t)row[x] * row[x];
        }
    }
    for (int y = 0; y < H; y++) {
        if (y + half < H) {
            const uint8_t *row = &BL_PIX(gray, 0, y + half);
            for (int x = 0; x < W; x++) {
                colsum[x] += row[x];
                colsq[x] += (uint32_t)row[x] * row[x];
            }
        }
        if (y - half - 1 >= 0) {
            const uint8_t *row = &BL_PIX(gray, 0, y - half - 1);
            for (int x = 0; x < W; x++) {
                colsum[x] -= row[x];
                colsq[x] -= (uint32_t)row[x] * row[x];
            }
        }
        int r0 = y - half < 0 ? 0 : y - half, r1 = y + half > H - 1 ? H - 1 : y + half;
        float inv_rows = 1.0f / (float)(r1 - r0 + 1);
        psum[0] = psq[0] = 0;
        for (int x = 0; x < W; x++) {
            psum[x + 1] = psum[x] + colsum[x];
            psq[x + 1] = psq[x] + colsq[x];
        }
        const uint8_t *src = &BL_PIX(gray, 0, y);
        int ia = half < W ? half : W, ib = W - half > ia ? W - half : ia;
        sauvola_edge(bits, src, psum, psq, x0, x1, inv_cols, inv_rows, one_minus_k, kr2,
                     fsolid, 0, ia);
        sauvola_inner(bits, src, psum, psq, half, inv_cols[ia < W ? ia : 0] * inv_rows,
                      one_minus_k, kr2, fsolid, ia, ib);
        sauvola_edge(bits, src, psum, psq, x0, x1, inv_cols, inv_rows, one_minus_k, kr2,
                     fsolid, ib, W);
        bl_bitmap_pack_row(BL_BROW(out, y), bits, W);
    }
    free(bits);
    free(inv_cols);
    free(x1);
    free(x0);
    free(psq);
    free(psum);
    free(colsq);
    free(colsum);
    return out;
}

bl_image *bl_image_binarize_sauvola(const bl_image *gray, int half, double k)
{
    bl_bitmap *b = bl_bitmap_binarize_sauvola(gray, half, k, BL_SAUVOLA_SOLID);
    bl_image *out = bl_bitmap_to_binary(b);
    bl_bitmap_destroy(&b);
    return out;
}
