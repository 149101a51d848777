/*
 * bitmap: bit-packed binary rasters (1 bit per pixel, 1 = ink) and the page
 * operations of ingest on them.
 *
 * A binarised A4 page at 300 dpi is 8.7 MB as a bl_image (one byte per
 * pixel) and 1.1 MB packed. Every cleaning and deskewing step is bound by
 * memory traffic, not arithmetic, so doing them on 64-bit words (shifts,
 * masks, population counts, runs found with count-trailing-zeros) is what
 * brings a page's ingest within its CPU budget; the byte form is made once,
 * at the end, for the later stages (docs/INGEST.md).
 *
 * Layout: row y is wpl 64-bit words at data + y * wpl; pixel x is bit
 * (x % 64) of word x / 64 (least significant bit = leftmost pixel). Bits
 * past the width in a row's last word are always 0; every operation here
 * keeps them so, and relies on it (counts, shifts).
 *
 * Each operation gives exactly the result of its byte-raster counterpart in
 * image.h (the tests compare them on random and page images), except where
 * its comment says otherwise.
 */
#ifndef BL_IMAGE_BITMAP_H
#define BL_IMAGE_BITMAP_H

#include <stdint.h>

#include "image/image.h"

typedef struct bl_bitmap {
    int width;
    int height;
    int wpl; /* 64-bit words per row */
    uint64_t *data;
} bl_bitmap;

#define BL_BROW(b, y) ((b)->data + (size_t)(y) * (size_t)(b)->wpl)
#define BL_BGET(b, x, y) ((int)((BL_BROW(b, y)[(x) >> 6] >> ((x) & 63)) & 1u))

/* The first set bit at or after x in a row of wpl words, or wpl * 64 when
 * there is none (so, within a bitmap's row, any result >= width means
 * none). Inline: run scans call it once per run. */
static inline int bl_bitmap_next_set(const uint64_t *row, int wpl, int x)
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

/* The first clear bit at or after x, or wpl * 64 (bits past the width are
 * clear, so within a row this is at most the width). */
static inline int bl_bitmap_next_clear(const uint64_t *row, int wpl, int x)
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

/* New zero (all paper) bitmap; width, height > 0 (the caller has checked
 * the size against the limits). Aborts on out-of-memory. */
bl_bitmap *bl_bitmap_new(int width, int height);
void bl_bitmap_destroy(bl_bitmap **self);

/* Ink where gray <= level (bl_image_binarize). */
bl_bitmap *bl_bitmap_from_gray(const bl_image *gray, int level);
/* Ink where the byte image is nonzero. */
bl_bitmap *bl_bitmap_from_binary(const bl_image *bin);
/* New byte image, 1 = ink, 0 = paper. */
bl_image *bl_bitmap_to_binary(const bl_bitmap *self);

/* Number of ink pixels (bl_image_ink_count). */
uint64_t bl_bitmap_ink_count(const bl_bitmap *self);

/* bl_image_reduce_ink(bin, 2): a byte image of half the size (rounded up)
 * holding each 2 x 2 block's ink count. */
bl_image *bl_bitmap_reduce_ink2(const bl_bitmap *self);

/* bl_image_rotate_shear on a bitmap: the same three shears with the same
 * rounded shifts, so the same pixels land in the same places; *to_src (if
 * non-NULL) the same map. |deg| <= 45. */
bl_bitmap *bl_bitmap_rotate_shear(const bl_bitmap *src, double deg, bl_affine *to_src);

/* bl_image_rotate_quarter on a bitmap: the same pixels, the same map. */
bl_bitmap *bl_bitmap_rotate_quarter(const bl_bitmap *src, int quarter_turns, bl_affine *to_src);

/* bl_image_despeckle and bl_image_remove_dark_edges, in place. */
int bl_bitmap_despeckle(bl_bitmap *self, int max_pixels, int max_side, bl_err *err);
int bl_bitmap_remove_dark_edges(bl_bitmap *self);

/* bl_image_components without the label map: the same components in the
 * same order. */
int bl_bitmap_components(const bl_bitmap *self, bl_component **out, int *count, bl_err *err);

/* bl_image_binarize_sauvola into a bitmap, with pixels darker than `solid`
 * (instead of BL_SAUVOLA_SOLID) ink whatever their window says; the byte
 * function is this one with solid = BL_SAUVOLA_SOLID, unpacked. */
bl_bitmap *bl_bitmap_binarize_sauvola(const bl_image *gray, int half, double k, int solid);

#endif
