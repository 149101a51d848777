/*
 * bitmap.c: bit-packed binary rasters: conversion to and from bytes, ink
 * counts, the 2x ink reduction and the three-shear rotation on 64-bit
 * words (bitmap.h has the layout and why).
 *
 * Packing: 16 byte compares at a time and SSE2's pmovmskb, which gathers
 * their results into 16 bits in pixel order (a portable multiply-gather
 * elsewhere). Unpacking looks each byte of bits up in a table of eight 0/1
 * bytes.
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

#if defined(__SSE2__)
/* 64 bytes to 64 bits with SSE2 (every x86-64 has it): a byte compare
 * per 16 pixels and pmovmskb, which gathers the 16 results' top bits in
 * pixel order. */
#include <emmintrin.h>

static inline uint64_t pack64_nonzero(const uint8_t *p)
{
    const __m128i zero = _mm_setzero_si128();
    uint64_t w = 0;
    for (int i = 0; i < 4; i++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, zero)) ^ 0xffffu;
        w |= (uint64_t)m << (16 * i);
    }
    return w;
}

/* Bits where p[i] <= level: min(p, level) == p, unsigned. */
static inline uint64_t pack64_le(const uint8_t *p, uint8_t level)
{
    const __m128i l = _mm_set1_epi8((char)level);
    uint64_t w = 0;
    for (int i = 0; i < 4; i++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, l), v));
        w |= (uint64_t)m << (16 * i);
    }
    return w;
}
#else
/* Portable: eight bytes read as a little-endian word, each folded to its
 * low bit, gathered by one multiply (byte i's bit lands on bit 56 + i and
 * no two partial products overlap). */
static inline uint64_t load_le64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

static inline uint64_t gather8(uint64_t v)
{
    v |= v >> 4;
    v |= v >> 2;
    v |= v >> 1;
    v &= 0x0101010101010101ull;
    return (v * 0x0102040810204080ull) >> 56;
}

static inline uint64_t pack64_nonzero(const uint8_t *p)
{
    uint64_t w = 0;
    for (int i = 0; i < 8; i++)
        w |= gather8(load_le64(p + 8 * i)) << (8 * i);
    return w;
}

static inline uint64_t pack64_le(const uint8_t *p, uint8_t level)
{
    uint64_t w = 0;
    for (int i = 0; i < 64; i++)
        w |= (uint64_t)(p[i] <= level) << i;
    return w;
}
#endif

void bl_bitmap_pack_row(uint64_t *dst, const uint8_t *bytes, int width)
{
    int full = width / 64, wpl = (width + 63) / 64;
    for (int j = 0; j < full; j++)
        dst[j] = pack64_nonzero(bytes + 64 * j);
    if (full < wpl) {
        uint64_t w = 0;
        for (int x = 64 * full; x < width; x++)
            w |= (uint64_t)(bytes[x] != 0) << (x & 63);
        dst[full] = w;
    }
}

bl_bitmap *bl_bitmap_from_gray(const bl_image *gray, int level)
{
    assert(gray && gray->data);
    int W = gray->width, H = gray->height;
    bl_bitmap *out = bl_bitmap_new(W, H);
    if (level < 0) /* no gray value is ink */
        return out;
    uint8_t l = (uint8_t)(level > 255 ? 255 : level);
    int full = W / 64;
    for (int y = 0; y < H; y++) {
        const uint8_t *src = &BL_PIX(gray, 0, y);
        uint64_t *dst = BL_BROW(out, y);
        for (int j = 0; j < full; j++)
            dst[j] = pack64_le(src + 64 * j, l);
        if (full < out->wpl) {
            uint64_t w = 0;
            for (int x = 64 * full; x < W; x++)
                w |= (uint64_t)(src[x] <= l) << (x & 63);
            dst[full] = w;
        }
    }
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
    /* Built per call (2 KB, a microsecond): no shared state. */
    uint8_t lut[256][8];
    for (int v = 0; v < 256; v++)
        for (int i = 0; i < 8; i++)
            lut[v][i] = (uint8_t)((v >> i) & 1);
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
    /* Per byte of bits (8 pixels): the four pair counts (0..2), one per
     * byte of a 32-bit cell in memory order, so two rows' cells add
     * without carries (at most 4 per byte). */
    uint32_t lut[256];
    for (int v = 0; v < 256; v++) {
        uint8_t c[4];
        for (int p = 0; p < 4; p++)
            c[p] = (uint8_t)(((v >> (2 * p)) & 1) + ((v >> (2 * p + 1)) & 1));
        memcpy(&lut[v], c, 4);
    }
    int W = self->width, H = self->height;
    int ow = (W + 1) / 2, oh = (H + 1) / 2;
    bl_image *out = bl_image_new(ow, oh);
    int nbytes = (W + 7) / 8, full = ow / 4;
    uint64_t *zero = bl_xcalloc((size_t)self->wpl, sizeof *zero);
    for (int y = 0; y < H; y += 2) {
        const uint64_t *r0 = BL_BROW(self, y);
        const uint64_t *r1 = y + 1 < H ? BL_BROW(self, y + 1) : zero;
        uint8_t *dst = &BL_PIX(out, 0, y / 2);
        for (int b = 0; b < nbytes; b++) {
            unsigned v0 = (unsigned)(r0[b >> 3] >> (8 * (b & 7))) & 0xff;
            unsigned v1 = (unsigned)(r1[b >> 3] >> (8 * (b & 7))) & 0xff;
            uint32_t c = lut[v0] + lut[v1];
            if (b < full) {
                memcpy(dst + 4 * b, &c, 4);
            } else {
                uint8_t cb[4];
                memcpy(cb, &c, 4);
                for (int p = 0; p < 4 && 4 * b + p < ow; p++)
                    dst[4 * b + p] = cb[p];
            }
        }
    }
    free(zero);
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

/* ---- quarter turns ------------------------------------------------------ */

/* The 8 x 8 bit matrix in x (bit 8 r + c = row r, column c) transposed
 * (Hacker's Delight, 7-3: three exchanges of blocks). */
static inline uint64_t transpose8(uint64_t x)
{
    uint64_t t;
    t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAull;
    x = x ^ t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCull;
    x = x ^ t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ull;
    x = x ^ t ^ (t << 28);
    return x;
}

static inline uint64_t bit_reverse64(uint64_t x)
{
    x = ((x >> 1) & 0x5555555555555555ull) | ((x & 0x5555555555555555ull) << 1);
    x = ((x >> 2) & 0x3333333333333333ull) | ((x & 0x3333333333333333ull) << 2);
    x = ((x >> 4) & 0x0F0F0F0F0F0F0F0Full) | ((x & 0x0F0F0F0F0F0F0F0Full) << 4);
    return __builtin_bswap64(x);
}

/* dst row = src row mirrored (pixel x to width - 1 - x); tmp has wpl words. */
static void mirror_row(uint64_t *dst, const uint64_t *src, uint64_t *tmp, int wpl, int width)
{
    for (int j = 0; j < wpl; j++)
        tmp[wpl - 1 - j] = bit_reverse64(src[j]);
    /* Pixel x is now at 64 wpl - 1 - x; move it to width - 1 - x. */
    shift_row(dst, tmp, wpl, width, width - 64 * wpl);
}

/* out(y, x) = in(x, y); out is in->height wide and in->width tall. Blocks
 * of 8 x 8 pixels: eight source row bytes into one word, transposed, out
 * as eight destination row bytes. */
static void transpose_bits(bl_bitmap *out, const bl_bitmap *in)
{
    int W = in->width, H = in->height;
    int nbx = (W + 7) / 8, nby = (H + 7) / 8;
    for (int by = 0; by < nby; by++) {
        const uint64_t *rows[8];
        for (int r = 0; r < 8; r++)
            rows[r] = 8 * by + r < H ? BL_BROW(in, 8 * by + r) : NULL;
        int dshift = 8 * (by & 7), dword = by >> 3;
        for (int bx = 0; bx < nbx; bx++) {
            int sshift = 8 * (bx & 7), sword = bx >> 3;
            uint64_t x = 0;
            for (int r = 0; r < 8; r++)
                if (rows[r])
                    x |= ((rows[r][sword] >> sshift) & 0xff) << (8 * r);
            if (!x)
                continue;
            x = transpose8(x);
            for (int c = 0; c < 8 && 8 * bx + c < W; c++)
                BL_BROW(out, 8 * bx + c)[dword] |= ((x >> (8 * c)) & 0xff) << dshift;
        }
    }
}

bl_bitmap *bl_bitmap_rotate_quarter(const bl_bitmap *src, int quarter_turns, bl_affine *to_src)
{
    assert(src && src->data);
    int k = ((quarter_turns % 4) + 4) % 4;
    int W = src->width, H = src->height;
    int ow = k % 2 ? H : W, oh = k % 2 ? W : H;
    if (to_src)
        *to_src = bl_image_rotation_map(W, H, ow, oh, 90.0 * k);
    bl_bitmap *out = bl_bitmap_new(ow, oh);
    uint64_t *tmp = bl_xmalloc((size_t)out->wpl * sizeof *tmp);
    if (k == 0) {
        memcpy(out->data, src->data, (size_t)src->wpl * (size_t)H * sizeof *out->data);
    } else if (k == 2) {
        for (int y = 0; y < H; y++)
            mirror_row(BL_BROW(out, H - 1 - y), BL_BROW(src, y), tmp, out->wpl, W);
    } else {
        /* Clockwise by 90: (x, y) lands at (H - 1 - y, x), the transpose
         * mirrored left to right; by 270 at (y, W - 1 - x), the transpose
         * mirrored top to bottom. */
        bl_bitmap *t = bl_bitmap_new(ow, oh);
        transpose_bits(t, src);
        for (int y = 0; y < oh; y++) {
            if (k == 1)
                mirror_row(BL_BROW(out, y), BL_BROW(t, y), tmp, out->wpl, ow);
            else
                memcpy(BL_BROW(out, y), BL_BROW(t, oh - 1 - y), (size_t)out->wpl * sizeof *tmp);
        }
        bl_bitmap_destroy(&t);
    }
    free(tmp);
    return out;
}
