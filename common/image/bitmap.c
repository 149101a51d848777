/*
 * bitmap.c: bit-packed binary rasters: conversion to and from bytes, ink
 * counts, the 2x ink reduction and the three-shear rotation on 64-bit
 * words (bitmap.h has the layout and why).
 *
 * Packing: eight 0/1 bytes read as one little-endian word and multiplied by
 * 0x0102040810204080 put byte i's bit at bit 56 + i with no two partial
 * products overlapping, so the top byte of the product is the eight pixels
 * (the classic multiply gather). Unpacking looks each byte of bits up in a
 * table of eight 0/1 bytes.
 *
 * Rotation: the shears of rotate.c with the same rounded shifts. A
 * horizontal shear shifts a whole row by s bits (two shifts and an OR per
 * word); a vertical shear takes, for each word of an output row, the bits
 * of each band of columns that share a shift from its own source row, under
 * a mask. At deskew angles a word meets a handful of bands, so a shear
 * costs a few word operations per 64 pixels instead of a byte copy each.
 *
 * Limits: the counts of reduce use 8-bit cells, enough for 2 x 2 blocks.
 */
#include "image/bitmap.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/image_internal.h"

bl_bitmap *bl_bitmap_new(int width, int height)
{
    assert(width > 0 && height > 0);
    bl_bitmap *self = bl_xmalloc(sizeof *self);
    self->width = width;
    self->height = height;
    self->wpl = (width + 63) / 64;
    size_t n = 0;
    bool ok = bl_size_mul(&n, (size_t)self->wpl, (size_t)height);
    assert(ok);
    (void)ok;
    self->data = bl_xcalloc(n, sizeof *self->data);
    return self;
}

void bl_bitmap_destroy(bl_bitmap **self)
{
    if (!self || !*self)
        return;
    free((*self)->data);
    free(*self);
    *self = NULL;
}

/* Eight bytes as a little-endian word, whatever the host's byte order
 * (compilers turn this into one load on little-endian hosts). */
static inline uint64_t load_le64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

/* Eight bytes to eight bits, byte i to bit i, set where the byte is
 * nonzero: each byte is first folded to its low bit (0/1). */
static inline uint64_t gather8(const uint8_t *p)
{
    uint64_t v = load_le64(p);
    v |= v >> 4;
    v |= v >> 2;
    v |= v >> 1;
    v &= 0x0101010101010101ull;
    return (v * 0x0102040810204080ull) >> 56;
}

void bl_bitmap_pack_row(uint64_t *dst, const uint8_t *bits01, int width)
{
    int wpl = (width + 63) / 64;
    for (int j = 0; j < wpl; j++) {
        int x = j * 64, n = width - x < 64 ? width - x : 64;
        uint64_t w = 0;
        if (n == 64) {
            for (int i = 0; i < 8; i++)
                w |= gather8(bits01 + x + 8 * i) << (8 * i);
        } else {
            for (int i = 0; i < n; i++)
                w |= (uint64_t)(bits01[x + i] != 0) << i;
        }
        dst[j] = w;
    }
}

/* tmp[x] = 1 where src[x] <= level, else 0; separate from its callers so
 * the compiler knows the rows do not alias and vectorises it. */
static void threshold_row(uint8_t *restrict tmp, const uint8_t *restrict src, int n, uint8_t level)
{
    for (int x = 0; x < n; x++)
        tmp[x] = src[x] <= level;
}

bl_bitmap *bl_bitmap_from_gray(const bl_image *gray, int level)
{
    assert(gray && gray->data);
    int W = gray->width, H = gray->height;
    bl_bitmap *out = bl_bitmap_new(W, H);
    uint8_t *tmp = bl_xmalloc((size_t)W);
    if (level < 0) /* no gray value is ink */
        memset(tmp, 0, (size_t)W);
    for (int y = 0; y < H; y++) {
        if (level >= 0)
            threshold_row(tmp, &BL_PIX(gray, 0, y), W, (uint8_t)(level > 255 ? 255 : level));
        bl_bitmap_pack_row(BL_BROW(out, y), tmp, W);
    }
    free(tmp);
    return out;
}

bl_bitmap *bl_bitmap_from_binary(const bl_image *bin)
{
    assert(bin && bin->data);
    int W = bin->width, H = bin->height;
    bl_bitmap *out = bl_bitmap_new(W, H);
    for (int y = 0; y < H; y++)
        bl_bitmap_pack_row(BL_BROW(out, y), &BL_PIX(bin, 0, y), W);
    return out;
}

bl_image *bl_bitmap_to_binary(const bl_bitmap *self)
{
    assert(self && self->data);
    static uint8_t lut[256][8];
    static int lut_ready;
    if (!lut_ready) { /* idempotent: racing threads write the same bytes */
        for (int v = 0; v < 256; v++)
            for (int i = 0; i < 8; i++)
                lut[v][i] = (uint8_t)((v >> i) & 1);
        lut_ready = 1;
    }
    /* malloc, not calloc: every byte is written below. */
    bl_image *out = bl_xmalloc(sizeof *out);
    out->width = self->width;
    out->height = self->height;
    out->stride = self->width;
    out->owns = 1;
    size_t n = 0;
    bool ok = bl_size_mul(&n, (size_t)self->width, (size_t)self->height);
    assert(ok);
    (void)ok;
    out->data = bl_xmalloc(n);
    int W = self->width, full = W / 8;
    for (int y = 0; y < self->height; y++) {
        const uint64_t *row = BL_BROW(self, y);
        uint8_t *d = &BL_PIX(out, 0, y);
        for (int b = 0; b < full; b++)
            memcpy(d + 8 * b, lut[(row[b >> 3] >> (8 * (b & 7))) & 0xff], 8);
        for (int x = full * 8; x < W; x++)
            d[x] = (uint8_t)((row[x >> 6] >> (x & 63)) & 1);
    }
    return out;
}

uint64_t bl_bitmap_ink_count(const bl_bitmap *self)
{
    assert(self && self->data);
    uint64_t n = 0;
    size_t words = (size_t)self->wpl * (size_t)self->height;
    for (size_t i = 0; i < words; i++)
        n += (uint64_t)__builtin_popcountll(self->data[i]);
    return n;
}

bl_image *bl_bitmap_reduce_ink2(const bl_bitmap *self)
{
    assert(self && self->data);
    /* Per byte of bits (8 pixels): the four pair counts, one per byte. */
    static uint8_t lut[256][4];
    static int lut_ready;
    if (!lut_ready) {
        for (int v = 0; v < 256; v++)
            for (int p = 0; p < 4; p++)
                lut[v][p] = (uint8_t)(((v >> (2 * p)) & 1) + ((v >> (2 * p + 1)) & 1));
        lut_ready = 1;
    }
    int W = self->width, H = self->height;
    int ow = (W + 1) / 2, oh = (H + 1) / 2;
    bl_image *out = bl_image_new(ow, oh);
    int nbytes = (W + 7) / 8;
    for (int y = 0; y < H; y += 2) {
        const uint64_t *r0 = BL_BROW(self, y);
        const uint64_t *r1 = y + 1 < H ? BL_BROW(self, y + 1) : NULL;
        uint8_t *dst = &BL_PIX(out, 0, y / 2);
        for (int b = 0; b < nbytes; b++) {
            unsigned v0 = (unsigned)(r0[b >> 3] >> (8 * (b & 7))) & 0xff;
            unsigned v1 = r1 ? (unsigned)(r1[b >> 3] >> (8 * (b & 7))) & 0xff : 0;
            int x = 4 * b, n = ow - x < 4 ? ow - x : 4;
            for (int p = 0; p < n; p++)
                dst[x + p] = (uint8_t)(lut[v0][p] + lut[v1][p]);
        }
    }
    return out;
}

/* ---- rotation by shears ------------------------------------------------ */

/* dst = src shifted right by s pixels (left if s < 0), zero-filled, bits
 * past the width cleared. */
static void shift_row(uint64_t *dst, const uint64_t *src, int wpl, int width, int s)
{
    int q = s >= 0 ? s / 64 : -((-s + 63) / 64); /* floor(s / 64) */
    int r = s - 64 * q;                          /* 0..63 */
    for (int j = 0; j < wpl; j++) {
        int a = j - q, b = j - q - 1;
        uint64_t w = 0;
        if (a >= 0 && a < wpl)
            w = src[a] << r;
        if (r && b >= 0 && b < wpl)
            w |= src[b] >> (64 - r);
        dst[j] = w;
    }
    if (width & 63)
        dst[wpl - 1] &= ((uint64_t)1 << (width & 63)) - 1;
}

/* out(x, y) = in(x - s(y), y), s(y) = round(a (y + 0.5 - h/2)), as
 * rotate.c's shear_x. */
static void bshear_x(bl_bitmap *out, const bl_bitmap *in, double a)
{
    int H = in->height;
    for (int y = 0; y < H; y++) {
        int s = (int)lround(a * (y + 0.5 - H * 0.5));
        if (s >= in->width || s <= -in->width)
            memset(BL_BROW(out, y), 0, (size_t)in->wpl * sizeof(uint64_t));
        else
            shift_row(BL_BROW(out, y), BL_BROW(in, y), in->wpl, in->width, s);
    }
}

/* One band of columns within one word sharing a vertical shift. */
typedef struct band {
    int word;
    int t;
    uint64_t mask;
} band;

/* out(x, y) = in(x, y - t(x)), t(x) = round(b (x + 0.5 - w/2)), as
 * rotate.c's shear_y. */
static void bshear_y(bl_bitmap *out, const bl_bitmap *in, double b)
{
    int W = in->width, H = in->height, wpl = in->wpl;
    band *bands = bl_xmalloc(((size_t)W + (size_t)wpl) * sizeof *bands);
    int nb = 0;
    for (int x = 0; x < W; x++) {
        int t = (int)lround(b * (x + 0.5 - W * 0.5));
        int j = x >> 6;
        if (nb == 0 || bands[nb - 1].t != t || bands[nb - 1].word != j)
            bands[nb++] = (band){j, t, 0};
        bands[nb - 1].mask |= (uint64_t)1 << (x & 63);
    }
    for (int y = 0; y < H; y++) {
        uint64_t *d = BL_BROW(out, y);
        memset(d, 0, (size_t)wpl * sizeof *d);
        for (int k = 0; k < nb; k++) {
            int sy = y - bands[k].t;
            if (sy >= 0 && sy < H)
                d[bands[k].word] |= BL_BROW(in, sy)[bands[k].word] & bands[k].mask;
        }
    }
    free(bands);
}

bl_bitmap *bl_bitmap_rotate_shear(const bl_bitmap *src, double deg, bl_affine *to_src)
{
    assert(src && src->data && isfinite(deg) && fabs(deg) <= 45);
    double r = deg * (3.14159265358979323846 / 180.0);
    double a = -tan(r / 2), b = sin(r);
    if (to_src)
        *to_src = bl_image_rotation_map(src->width, src->height, src->width, src->height, deg);
    bl_bitmap *t1 = bl_bitmap_new(src->width, src->height);
    bl_bitmap *t2 = bl_bitmap_new(src->width, src->height);
    bshear_x(t1, src, a);
    bshear_y(t2, t1, b);
    bshear_x(t1, t2, a);
    bl_bitmap_destroy(&t2);
    return t1;
}
