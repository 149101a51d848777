/*
 * image.c: the bl_image raster itself: limits, allocation, crops.
 *
 * A raster is one 8-bit channel, row-major, with an explicit stride so a
 * row can be padded; the images made here are packed (stride == width).
 * Sizes are the caller's to check against bl_image_limits: by the time a
 * raster is allocated, a reader has already refused anything too large, so
 * an overflow here is a programmer error and asserts.
 */
#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

void bl_image_limits_default(bl_image_limits *limits)
{
    assert(limits);
    limits->max_pixels = 100000000u;
    limits->max_pages = 10000u;
    limits->max_file_bytes = (uint64_t)2 << 30;
}

bl_image *bl_image_new(int width, int height)
{
    assert(width > 0 && height > 0);
    size_t n = 0;
    bool ok = bl_size_mul(&n, (size_t)width, (size_t)height);
    assert(ok);
    (void)ok;
    bl_image *self = bl_xmalloc(sizeof *self);
    self->width = width;
    self->height = height;
    self->stride = width;
    self->data = bl_xcalloc(n, 1);
    self->owns = 1;
    return self;
}

void bl_image_destroy(bl_image **self)
{
    if (!self || !*self)
        return;
    if ((*self)->owns)
        free((*self)->data);
    free(*self);
    *self = NULL;
}

/* Clipping in 64 bits: a box from a model or a message may hold any int,
 * and x + w must not overflow on the way to being clipped. Returns NULL
 * when nothing of the box lies inside the image. */
bl_image *bl_image_crop(const bl_image *self, bl_box box)
{
    assert(self && self->data);
    long long x0 = box.x, y0 = box.y;
    long long x1 = x0 + (long long)box.w, y1 = y0 + (long long)box.h;
    if (x0 < 0)
        x0 = 0;
    if (y0 < 0)
        y0 = 0;
    if (x1 > self->width)
        x1 = self->width;
    if (y1 > self->height)
        y1 = self->height;
    if (x1 <= x0 || y1 <= y0)
        return NULL;
    bl_image *out = bl_image_new((int)(x1 - x0), (int)(y1 - y0));
    for (int y = 0; y < out->height; y++)
        memcpy(&BL_PIX(out, 0, y), &BL_PIX(self, x0, y0 + y), (size_t)out->width);
    return out;
}

static inline uint64_t hash_word(uint64_t h, uint64_t w)
{
    return (h ^ w) * 0x100000001b3ull;
}

uint64_t bl_image_content_hash(const bl_image *self)
{
    assert(self && self->data);
    uint64_t h = 0xcbf29ce484222325ull;
    h = hash_word(h, (uint64_t)self->width);
    h = hash_word(h, (uint64_t)self->height);
    int full = self->width / 8, rest = self->width % 8;
    for (int y = 0; y < self->height; y++) {
        const uint8_t *p = &BL_PIX(self, 0, y);
        for (int i = 0; i < full; i++, p += 8) {
            /* Little-endian whatever the host; one load on x86. */
            uint64_t w = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
                         (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
                         (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
            h = hash_word(h, w);
        }
        if (rest) {
            uint64_t w = 0;
            for (int i = 0; i < rest; i++)
                w |= (uint64_t)p[i] << (8 * i);
            h = hash_word(h, w);
        }
    }
    return h;
}
