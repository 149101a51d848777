/*
 * png.c: reading and writing PNG scans through libpng 1.6.
 *
 * Reading uses libpng's simplified API (png_image_*), which converts every
 * PNG colour type and depth (1..16-bit gray, RGB, palette, alpha, Adam7
 * interlacing) to 8-bit gray and reports failure as a message instead of a
 * longjmp. Alpha is composited on white, the colour of paper. The RGB to
 * gray conversion is libpng's (sRGB luminance, computed in linear light),
 * which differs from the TIFF path's Rec. 601 weights by a few levels on
 * saturated colours; scans of ink on paper are near gray, where both agree.
 *
 * The simplified API does not expose the resolution, so the chunk list is
 * walked here (PNG specification, ISO/IEC 15948, sections 5.3 and 11.3.5.3):
 * IHDR gives the size, which is checked against the limits before libpng
 * allocates anything, and pHYs with unit metre gives the dpi. Every length
 * is bounds-checked against the file; CRCs are left to libpng.
 *
 * Writing uses the full API, since the simplified writer cannot emit pHYs;
 * libpng's setjmp error idiom is confined to write_png_file().
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <png.h>

#include "image/image_internal.h"

static const uint8_t PNG_MAGIC[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- Reading ------------------------------------------------------------ */

int bl_scan_png_open(bl_scan *self, bl_err *err)
{
    int rc = bl_file_read_all(self->path, (size_t)self->limits.max_file_bytes,
                              &self->bytes, &self->nbytes, err);
    if (rc < 0)
        return rc;
    if (self->nbytes < 8 || memcmp(self->bytes, PNG_MAGIC, 8) != 0)
        return bl_err_set(err, BL_EFORMAT, "bad PNG signature");
    self->npages = 1;
    return BL_OK;
}

typedef struct png_header {
    uint32_t width, height;
    int bit_depth, color_type;
    int has_phys;
    uint32_t ppu_x, ppu_y;
    int phys_unit;
} png_header;

/* Walks the chunks up to the first IDAT. */
static int parse_chunks(const uint8_t *b, size_t n, png_header *h, bl_err *err)
{
    memset(h, 0, sizeof *h);
    size_t pos = 8;
    int seen_ihdr = 0;
    for (;;) {
        if (n - pos < 12)
            return bl_err_set(err, BL_EFORMAT, "truncated chunk at byte %zu", pos);
        uint32_t len = get_be32(b + pos);
        const uint8_t *type = b + pos + 4, *data = b + pos + 8;
        if (len > n - pos - 12)
            return bl_err_set(err, BL_EFORMAT,
                              "chunk %.4s at byte %zu: length %lu runs past the end",
                              (const char *)type, pos, (unsigned long)len);
        if (!seen_ihdr) {
            if (memcmp(type, "IHDR", 4) != 0 || len != 13)
                return bl_err_set(err, BL_EFORMAT, "first chunk is not IHDR");
            h->width = get_be32(data);
            h->height = get_be32(data + 4);
            h->bit_depth = data[8];
            h->color_type = data[9];
            seen_ihdr = 1;
        } else if (memcmp(type, "pHYs", 4) == 0 && len == 9) {
            h->has_phys = 1;
            h->ppu_x = get_be32(data);
            h->ppu_y = get_be32(data + 4);
            h->phys_unit = data[8];
        } else if (memcmp(type, "IDAT", 4) == 0 || memcmp(type, "IEND", 4) == 0) {
            return BL_OK; /* pHYs must precede IDAT */
        }
        pos += 12 + (size_t)len;
    }
}

static void png_resolution(const png_header *h, bl_page_info *info)
{
    double dx = 0, dy = 0;
    if (h->has_phys && h->phys_unit == PNG_RESOLUTION_METER) {
        dx = h->ppu_x * 0.0254;
        dy = h->ppu_y * 0.0254;
    }
    int ok_x = dx >= BL_DPI_MIN && dx <= BL_DPI_MAX;
    int ok_y = dy >= BL_DPI_MIN && dy <= BL_DPI_MAX;
    if (ok_x && !ok_y)
        dy = dx, ok_y = 1;
    if (ok_y && !ok_x)
        dx = dy, ok_x = 1;
    if (!ok_x) {
        dx = dy = BL_DPI_DEFAULT;
        info->dpi_assumed = 1;
    }
    info->dpi_x = dx;
    info->dpi_y = dy;
}

bl_image *bl_scan_png_read(bl_scan *self, bl_page_info *info, bl_err *err)
{
    png_header h;
    if (parse_chunks(self->bytes, self->nbytes, &h, err) < 0)
        return NULL;
    if (h.width == 0 || h.height == 0 || h.width > INT32_MAX || h.height > INT32_MAX) {
        bl_err_set(err, BL_EFORMAT, "bad image size %lu x %lu",
                   (unsigned long)h.width, (unsigned long)h.height);
        return NULL;
    }
    if ((uint64_t)h.width * h.height > self->limits.max_pixels) {
        bl_err_set(err, BL_ELIMIT, "%lu x %lu pixels exceeds the limit of %llu",
                   (unsigned long)h.width, (unsigned long)h.height,
                   (unsigned long long)self->limits.max_pixels);
        return NULL;
    }
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, self->bytes, self->nbytes)) {
        bl_err_set(err, BL_EFORMAT, "%s", image.message);
        png_image_free(&image);
        return NULL;
    }
    /* Without this libpng takes untagged 16-bit samples as linear light and
     * brightens them on the way to 8 bits; scanners write them with the
     * same encoding as 8-bit ones, as the PNG specification intends.
     * begin_read resets the flags, so this must come after it. */
    image.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
    /* Our chunk walk and libpng must agree on what will be allocated. */
    if (image.width != h.width || image.height != h.height) {
        bl_err_set(err, BL_EFORMAT, "inconsistent IHDR");
        png_image_free(&image);
        return NULL;
    }
    image.format = PNG_FORMAT_GRAY;
    bl_image *img = bl_image_new((int)h.width, (int)h.height);
    const png_color white = {255, 255, 255};
    if (!png_image_finish_read(&image, &white, img->data, img->stride, NULL)) {
        bl_err_set(err, BL_EFORMAT, "%s", image.message);
        png_image_free(&image);
        bl_image_destroy(&img);
        return NULL;
    }
    png_resolution(&h, info);
    info->bits_per_sample = h.bit_depth;
    info->bilevel = h.bit_depth == 1 && h.color_type == PNG_COLOR_TYPE_GRAY;
    return img;
}

/* ---- Writing ------------------------------------------------------------ */

typedef struct png_sink {
    char msg[BL_ERR_MSG_MAX];
} png_sink;

static void on_png_error(png_structp png, png_const_charp msg)
{
    png_sink *sink = png_get_error_ptr(png);
    bl_strlcpy(sink->msg, msg ? msg : "libpng error", sizeof sink->msg);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* Everything that may longjmp lives in here. png and info are created by
 * the caller, so nothing this function allocates can leak on a longjmp;
 * row is allocated before setjmp and never reassigned after it. */
static int write_png_file(png_structp png, png_infop info, FILE *f,
                          const bl_image *self, uint32_t ppm, int bilevel,
                          uint8_t *row)
{
    if (setjmp(png_jmpbuf(png)))
        return 0;
    int w = self->width, h = self->height;
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, bilevel ? 1 : 8,
                 PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_pHYs(png, info, ppm, ppm, PNG_RESOLUTION_METER);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) {
        const uint8_t *src = &BL_PIX(self, 0, y);
        if (bilevel) {
            /* 1-bit gray: 0 is black. Ink (1) clears its bit. */
            memset(row, 0xff, ((size_t)w + 7) / 8);
            for (int x = 0; x < w; x++)
                if (src[x])
                    row[x >> 3] &= (uint8_t) ~(0x80u >> (x & 7));
        } else {
            memcpy(row, src, (size_t)w);
        }
        png_write_row(png, row);
    }
    png_write_end(png, info);
    return 1;
}

int bl_image_write_png(const bl_image *self, const char *path, double dpi,
                       int bilevel, bl_err *err)
{
    assert(self && self->width > 0 && self->height > 0 && path);
    if (!(isfinite(dpi) && dpi >= BL_DPI_MIN && dpi <= BL_DPI_MAX))
        return bl_err_set(err, BL_EINVAL, "%s: resolution %g dpi is out of range",
                          path, dpi);
    int rc = BL_OK;
    png_sink sink = {{0}};
    png_structp png = NULL;
    png_infop info = NULL;
    uint8_t *row = NULL;
    FILE *f = fopen(path, "wb");
    if (!f) {
        rc = bl_err_set(err, BL_EIO, "%s: %s", path, strerror(errno));
        goto done;
    }
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, on_png_error,
                                  on_png_warning);
    info = png ? png_create_info_struct(png) : NULL;
    if (!info)
        abort(); /* libpng fails to create only on out-of-memory */
    row = bl_xmalloc((size_t)self->width);
    uint32_t ppm = (uint32_t)lround(dpi / 0.0254);
    if (!write_png_file(png, info, f, self, ppm, bilevel, row))
        rc = bl_err_set(err, BL_EIO, "%s: %s", path, sink.msg);
done:
    if (png)
        png_destroy_write_struct(&png, &info);
    if (f && fclose(f) != 0 && rc == BL_OK)
        rc = bl_err_set(err, BL_EIO, "%s: %s", path, strerror(errno));
    if (rc != BL_OK && f)
        unlink(path);
    free(row);
    return rc;
}
