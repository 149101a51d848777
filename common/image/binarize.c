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
 * Limits: windows narrower than the strokes hollow them (choose half at
 * least the widest stroke); very low-contrast ink on dark paper (contrast
 * below about k * m) is lost, as with every Sauvola variant.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "image/image_internal.h"

bl_image *bl_image_binarize_sauvola(const bl_image *gray, int half, double k)
{
    assert(gray && gray->data);
    assert(half >= 1 && half <= 4096); /* keeps column sums of squares in 32 bits */
    assert(k > 0 && k < 1);
    int W = gray->width, H = gray->height;
    bl_image *out = bl_image_new(W, H);
    uint32_t *colsum = bl_xcalloc((size_t)W, sizeof *colsum);
    uint32_t *colsq = bl_xcalloc((size_t)W, sizeof *colsq);
    uint64_t *psum = bl_xmalloc(((size_t)W + 1) * sizeof *psum);
    uint64_t *psq = bl_xmalloc(((size_t)W + 1) * sizeof *psq);
    int *x0 = bl_xmalloc((size_t)W * sizeof *x0);
    int *x1 = bl_xmalloc((size_t)W * sizeof *x1);
    float *inv_cols = bl_xmalloc((size_t)W * sizeof *inv_cols);
    for (int x = 0; x < W; x++) {
        x0[x] = x - half < 0 ? 0 : x - half;
        x1[x] = x + half > W - 1 ? W - 1 : x + half;
        inv_cols[x] = 1.0f / (float)(x1[x] - x0[x] + 1);
    }
    const float kf = (float)k, one_minus_k = 1.0f - kf, k_over_r = kf / 128.0f;

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
        uint8_t *dst = &BL_PIX(out, 0, y);
        for (int x = 0; x < W; x++) {
            float g = src[x];
            if (g < BL_SAUVOLA_SOLID) {
                dst[x] = 1;
                continue;
            }
            float inv_n = inv_cols[x] * inv_rows;
            float m = (float)(psum[x1[x] + 1] - psum[x0[x]]) * inv_n;
            /* Paper brighter than the mean can never be ink: T <= m since
             * s <= 127.5 < R. That is most of a page, and skips the sqrt. */
            if (g > m) {
                dst[x] = 0;
                continue;
            }
            float var = (float)(psq[x1[x] + 1] - psq[x0[x]]) * inv_n - m * m;
            float s = var > 0 ? sqrtf(var) : 0.0f;
            dst[x] = g <= m * (one_minus_k + k_over_r * s);
        }
    }
    free(inv_cols);
    free(x1);
    free(x0);
    free(psq);
    free(psum);
    free(colsq);
    free(colsum);
    return out;
}
