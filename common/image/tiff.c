/*
 * tiff.c: reading and writing TIFF scans through libtiff 4.5.
 *
 * libtiff reports errors through callbacks; each handle here gets its own
 * handler (TIFFOpenOptionsSetErrorHandlerExtR + TIFFOpenExt) that keeps the
 * first message on the handle, so the reason reaches bl_err ("a.tif: page
 * 2: Bad code word at line 7 of strip 0") and nothing is printed. The first
 * message is kept because libtiff's later ones are usually consequences
 * ("Read error on strip ...") of the first.
 *
 * Reading: bilevel, 8- and 16-bit gray in strips (any compression libtiff
 * decodes: CCITT G3/G4, LZW, PackBits, deflate, none) take a fast path that
 * decodes whole strips (TIFFReadEncodedStrip) and unpacks them with a byte
 * lookup table; an A4 300-dpi G4 page decodes in milliseconds. Everything
 * else (RGB, palette, tiled, YCbCr, 2/4-bit, alpha) goes through
 * TIFFReadRGBAImageOriented, composited on white and reduced to gray with
 * the Rec. 601 luma weights 0.299 R + 0.587 G + 0.114 B.
 * CCITT data carries no checksum: damage the decoder notices (lost or
 * short lines) fails the page, damage that still decodes cannot be seen.
 * Limits: float and signed samples, planar multi-channel layouts and other
 * exotica are refused with libtiff's own reason. Dimensions are checked
 * against the limits before any raster is allocated; libtiff's own
 * allocations are capped through TIFFOpenOptionsSetMaxSingleMemAlloc.
 *
 * Writing: CCITT Group 4, MINISWHITE, one strip per page for bilevel pages
 * (what archives and fax tools expect); 8-bit MINISBLACK with deflate and
 * horizontal prediction otherwise. One directory per page.
 */
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tiffio.h>

#include "image/image_internal.h"

/* The error slot of one libtiff handle. */
typedef struct tiff_sink {
    const char *path;
    char msg[BL_ERR_MSG_MAX];
    char warning[BL_ERR_MSG_MAX]; /* the first since last cleared */
} tiff_sink;

struct bl_tiff_reader {
    TIFF *tif;
    tiff_sink sink;
    /* Why the directory chain ended early, if it did; then the last page
     * (npages - 1) stands for the unreadable rest of the file. */
    char broken[BL_ERR_MSG_MAX];
};

/* fmt and ap are libtiff's: a printf format and its arguments. */
__attribute__((format(printf, 3, 0)))
static void keep_first(char *slot, const char *path, const char *fmt,
                       va_list ap)
{
    if (slot[0] != '\0')
        return;
    vsnprintf(slot, BL_ERR_MSG_MAX, fmt, ap);
    /* Many libtiff messages start with the file name, which our callers
     * put in front already. */
    size_t n = strlen(path);
    if (strncmp(slot, path, n) == 0 && slot[n] == ':' && slot[n + 1] == ' ')
        memmove(slot, slot + n + 2, strlen(slot + n + 2) + 1);
}

/* Both handlers return 1 (handled), which keeps libtiff from also calling
 * its global handlers, the ones that print to stderr. */
__attribute__((format(printf, 4, 0)))
static int on_tiff_error(TIFF *tif, void *user, const char *module,
                         const char *fmt, va_list ap)
{
    (void)tif;
    (void)module;
    tiff_sink *sink = user;
    keep_first(sink->msg, sink->path, fmt, ap);
    return 1;
}

/* Warnings are kept but mostly ignored: unknown tags and odd but readable
 * fields are routine in scanner output. Only the CCITT decoders' warnings
 * matter (see read_gray_strips). */
__attribute__((format(printf, 4, 0)))
static int on_tiff_warning(TIFF *tif, void *user, const char *module,
                           const char *fmt, va_list ap)
{
    (void)tif;
    (void)module;
    tiff_sink *sink = user;
    keep_first(sink->warning, sink->path, fmt, ap);
    return 1;
}

static TIFF *open_tiff(const char *path, const char *mode, tiff_sink *sink,
                       tmsize_t max_alloc)
{
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts)
        abort(); /* out of memory, as bl_xmalloc would */
    TIFFOpenOptionsSetErrorHandlerExtR(opts, on_tiff_error, sink);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, on_tiff_warning, sink);
    if (max_alloc > 0)
        TIFFOpenOptionsSetMaxSingleMemAlloc(opts, max_alloc);
    TIFF *tif = TIFFOpenExt(path, mode, opts);
    TIFFOpenOptionsFree(opts);
    return tif;
}

static int sink_error(tiff_sink *sink, bl_err *err, int code,
                      const char *fallback)
{
    int rc = bl_err_set(err, code, "%s", sink->msg[0] ? sink->msg : fallback);
    sink->msg[0] = '\0';
    return rc;
}

/* ---- Reading ------------------------------------------------------------ */

int bl_scan_tiff_open(bl_scan *self, bl_err *err)
{
    struct bl_tiff_reader *r = bl_xcalloc(1, sizeof *r);
    self->tiff = r;
    /* The largest buffer a legitimate page needs is its RGBA raster, which
     * we allocate ourselves; libtiff's own (strips, tiles, tag arrays) stay
     * well below four bytes per allowed pixel. */
    uint64_t cap = self->limits.max_pixels * 4u + (64u << 20);
    if (cap > (uint64_t)INT64_MAX / 2)
        cap = (uint64_t)INT64_MAX / 2;
    /* "m": read(2) rather than mmap, so a file truncated or replaced under
     * us is a read error and not a SIGBUS. */
    r->sink.path = self->path;
    r->tif = open_tiff(self->path, "rm", &r->sink, (tmsize_t)cap);
    if (!r->tif)
        return sink_error(&r->sink, err, BL_EFORMAT, "cannot read the TIFF header");
    /* Counting follows the IFD chain without parsing the directories, so a
     * damaged page does not hide the ones after it; libtiff detects loops. */
    tdir_t n = TIFFNumberOfDirectories(r->tif);
    if (n == 0)
        return sink_error(&r->sink, err, BL_EFORMAT, "no image directories");
    /* A chain that breaks (truncated file, offset past the end, a loop)
     * still counts as one more page, which then fails on reading: the pages
     * before it stay readable and the loss is reported, never silent. */
    if (r->sink.msg[0]) {
        bl_strlcpy(r->broken, r->sink.msg, sizeof r->broken);
        r->sink.msg[0] = '\0';
        n++;
    }
    if (n > self->limits.max_pages)
        return bl_err_set(err, BL_ELIMIT, "%lu pages exceeds the limit of %u",
                          (unsigned long)n, (unsigned)self->limits.max_pages);
    self->npages = (int)n;
    return BL_OK;
}

void bl_scan_tiff_close(bl_scan *self)
{
    if (!self->tiff)
        return;
    if (self->tiff->tif)
        TIFFClose(self->tiff->tif);
    free(self->tiff);
    self->tiff = NULL;
}

static void read_resolution(TIFF *tif, bl_page_info *info)
{
    float xr = 0, yr = 0;
    uint16_t unit = RESUNIT_INCH;
    int has_x = TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xr);
    int has_y = TIFFGetField(tif, TIFFTAG_YRESOLUTION, &yr);
    TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &unit);
    /* RESUNIT_NONE gives only an aspect ratio: no physical size. */
    double per_inch = unit == RESUNIT_CENTIMETER ? 2.54 : unit == RESUNIT_INCH ? 1.0 : 0.0;
    double dx = has_x ? xr * per_inch : 0, dy = has_y ? yr * per_inch : 0;
    int ok_x = isfinite(dx) && dx >= BL_DPI_MIN && dx <= BL_DPI_MAX;
    int ok_y = isfinite(dy) && dy >= BL_DPI_MIN && dy <= BL_DPI_MAX;
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

/* Eight output pixels per packed byte, for one polarity. */
typedef struct unpack_lut {
    uint8_t px[256][8];
} unpack_lut;

static void unpack_lut_init(unpack_lut *lut, int one_is_black)
{
    uint8_t one = one_is_black ? 0 : 255, zero = one_is_black ? 255 : 0;
    for (int b = 0; b < 256; b++)
        for (int i = 0; i < 8; i++)
            lut->px[b][i] = (b >> (7 - i)) & 1 ? one : zero;
}

static void convert_row(uint8_t *dst, const uint8_t *src, int width, int bps,
                        int invert, const unpack_lut *lut)
{
    if (bps == 1) {
        int whole = width / 8;
        for (int i = 0; i < whole; i++)
            memcpy(dst + 8 * i, lut->px[src[i]], 8);
        if (width % 8)
            memcpy(dst + 8 * whole, lut->px[src[whole]], (size_t)(width % 8));
    } else if (bps == 8) {
        if (invert)
            for (int x = 0; x < width; x++)
                dst[x] = (uint8_t)(255 - src[x]);
        else
            memcpy(dst, src, (size_t)width);
    } else {
        /* 16-bit samples arrive in host order from libtiff. */
        for (int x = 0; x < width; x++) {
            uint16_t v;
            memcpy(&v, src + 2 * x, 2);
            uint8_t g = (uint8_t)((v + 128u) / 257u);
            dst[x] = invert ? (uint8_t)(255 - g) : g;
        }
    }
}

static bl_image *read_gray_strips(TIFF *tif, tiff_sink *sink, int w, int h,
                                  int bps, int photometric, bl_err *err)
{
    uint16_t compression = COMPRESSION_NONE;
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
    int fax = compression == COMPRESSION_CCITTRLE ||
              compression == COMPRESSION_CCITTRLEW ||
              compression == COMPRESSION_CCITTFAX3 ||
              compression == COMPRESSION_CCITTFAX4;
    bl_image *img = NULL;
    uint8_t *buf = NULL;
    uint32_t rps = 0;
    TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
    if (rps == 0 || rps > (uint32_t)h)
        rps = (uint32_t)h;
    tmsize_t row_bytes = TIFFScanlineSize(tif);
    tmsize_t strip_bytes = TIFFStripSize(tif);
    if (row_bytes <= 0 || strip_bytes <= 0 ||
        row_bytes < (tmsize_t)(((int64_t)w * bps + 7) / 8) ||
        strip_bytes < row_bytes * (tmsize_t)rps) {
        sink_error(sink, err, BL_EFORMAT, "inconsistent strip layout");
        goto done;
    }
    unpack_lut lut;
    int invert = photometric == PHOTOMETRIC_MINISWHITE;
    if (bps == 1)
        unpack_lut_init(&lut, invert);
    buf = bl_xmalloc((size_t)strip_bytes);
    img = bl_image_new(w, h);
    for (uint32_t row = 0, strip = 0; row < (uint32_t)h; row += rps, strip++) {
        uint32_t nrows = (uint32_t)h - row < rps ? (uint32_t)h - row : rps;
        tmsize_t want = row_bytes * (tmsize_t)nrows;
        sink->warning[0] = '\0';
        tmsize_t got = TIFFReadEncodedStrip(tif, strip, buf, want);
        /* The CCITT decoders report lost lines (premature EOL or EOF, wrong
         * line length) as warnings and return a full strip padded with
         * white. Such a page is damaged, not blank below the damage, and
         * passing it on would lose its fields silently. */
        if (got == want && fax && sink->warning[0]) {
            bl_err_set(err, BL_EFORMAT, "damaged CCITT data: %s", sink->warning);
            bl_image_destroy(&img);
            goto done;
        }
        if (got == want && sink->msg[0])
            got = -1;
        if (got != want) {
            if (got >= 0)
                bl_err_set(err, BL_EFORMAT, "strip %u: %lld of %lld bytes",
                           (unsigned)strip, (long long)got, (long long)want);
            else
                sink_error(sink, err, BL_EFORMAT, "cannot decode strip");
            bl_image_destroy(&img);
            goto done;
        }
        for (uint32_t i = 0; i < nrows; i++)
            convert_row(&BL_PIX(img, 0, row + i), buf + row_bytes * (tmsize_t)i,
                        w, bps, invert, &lut);
    }
done:
    free(buf);
    return img;
}

static bl_image *read_rgba(TIFF *tif, tiff_sink *sink, int w, int h,
                           bl_err *err)
{
    char why[1024] = "";
    if (!TIFFRGBAImageOK(tif, why)) {
        bl_err_set(err, BL_EUNSUP, "%s", why[0] ? why : "unsupported layout");
        sink->msg[0] = '\0';
        return NULL;
    }
    size_t n = 0;
    if (!bl_size_mul(&n, (size_t)w, (size_t)h) ||
        !bl_size_mul(&n, n, sizeof(uint32_t))) {
        bl_err_set(err, BL_ELIMIT, "%d x %d pixels overflows", w, h);
        return NULL;
    }
    uint32_t *raster = bl_xmalloc(n);
    if (!TIFFReadRGBAImageOriented(tif, (uint32_t)w, (uint32_t)h, raster,
                                   ORIENTATION_TOPLEFT, 1)) {
        sink_error(sink, err, BL_EFORMAT, "cannot decode the image");
        free(raster);
        return NULL;
    }
    bl_image *img = bl_image_new(w, h);
    for (int y = 0; y < h; y++) {
        const uint32_t *src = raster + (size_t)y * (size_t)w;
        uint8_t *dst = &BL_PIX(img, 0, y);
        for (int x = 0; x < w; x++) {
            uint32_t p = src[x];
            /* libtiff premultiplies alpha, so compositing on white is
             * adding the uncovered share of white. */
            uint32_t g = (299u * TIFFGetR(p) + 587u * TIFFGetG(p) +
                          114u * TIFFGetB(p) + 500u) / 1000u;
            g += 255u - TIFFGetA(p);
            dst[x] = (uint8_t)(g > 255u ? 255u : g);
        }
    }
    free(raster);
    return img;
}

bl_image *bl_scan_tiff_read(bl_scan *self, int index, bl_page_info *info,
                            bl_err *err)
{
    struct bl_tiff_reader *r = self->tiff;
    TIFF *tif = r->tif;
    r->sink.msg[0] = '\0';
    if (r->broken[0] && index == self->npages - 1) {
        bl_err_set(err, BL_EFORMAT, "directory chain broken: %s", r->broken);
        return NULL;
    }
    if (!TIFFSetDirectory(tif, (tdir_t)index)) {
        sink_error(&r->sink, err, BL_EFORMAT, "cannot read the directory");
        return NULL;
    }
    uint32_t w = 0, h = 0;
    uint16_t bps = 1, spp = 1, photometric = PHOTOMETRIC_MINISWHITE,
             format = SAMPLEFORMAT_UINT;
    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w) ||
        !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h) || w == 0 || h == 0) {
        bl_err_set(err, BL_EFORMAT, "missing or zero image size (%lu x %lu)",
                   (unsigned long)w, (unsigned long)h);
        return NULL;
    }
    if (w > INT_MAX || h > INT_MAX ||
        (uint64_t)w * (uint64_t)h > self->limits.max_pixels) {
        bl_err_set(err, BL_ELIMIT, "%lu x %lu pixels exceeds the limit of %llu",
                   (unsigned long)w, (unsigned long)h,
                   (unsigned long long)self->limits.max_pixels);
        return NULL;
    }
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
    int has_photometric = TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
    /* Fax files sometimes omit Photometric; fax convention is 0 = white. */
    if (!has_photometric && !(bps == 1 && spp == 1)) {
        bl_err_set(err, BL_EFORMAT, "missing PhotometricInterpretation");
        return NULL;
    }
    read_resolution(tif, info);
    info->bits_per_sample = bps;
    info->bilevel = bps == 1 && spp == 1;

    int gray = photometric == PHOTOMETRIC_MINISWHITE ||
               photometric == PHOTOMETRIC_MINISBLACK;
    bl_image *img;
    if (!TIFFIsTiled(tif) && spp == 1 && gray && format == SAMPLEFORMAT_UINT &&
        (bps == 1 || bps == 8 || bps == 16))
        img = read_gray_strips(tif, &r->sink, (int)w, (int)h, bps, photometric, err);
    else
        img = read_rgba(tif, &r->sink, (int)w, (int)h, err);
    r->sink.msg[0] = '\0';
    return img;
}

/* ---- Writing ------------------------------------------------------------ */

static int write_page(TIFF *tif, const bl_image *page, int index, int npages,
                      float dpi, int bilevel)
{
    int w = page->width, h = page->height;
    int ok = TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)w) &&
             TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)h) &&
             TIFFSetField(tif, TIFFTAG_SUBFILETYPE, (uint32_t)FILETYPE_PAGE) &&
             TIFFSetField(tif, TIFFTAG_PAGENUMBER, (uint16_t)index,
                          (uint16_t)(npages > 65535 ? 65535 : npages)) &&
             TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)1) &&
             TIFFSetField(tif, TIFFTAG_PLANARCONFIG, (uint16_t)PLANARCONFIG_CONTIG) &&
             TIFFSetField(tif, TIFFTAG_ORIENTATION, (uint16_t)ORIENTATION_TOPLEFT) &&
             TIFFSetField(tif, TIFFTAG_XRESOLUTION, dpi) &&
             TIFFSetField(tif, TIFFTAG_YRESOLUTION, dpi) &&
             TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, (uint16_t)RESUNIT_INCH);
    if (!ok)
        return 0;
    if (bilevel) {
        ok = TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, (uint16_t)1) &&
             TIFFSetField(tif, TIFFTAG_COMPRESSION, (uint16_t)COMPRESSION_CCITTFAX4) &&
             TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, (uint16_t)PHOTOMETRIC_MINISWHITE) &&
             TIFFSetField(tif, TIFFTAG_FILLORDER, (uint16_t)FILLORDER_MSB2LSB) &&
             TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, (uint32_t)h);
        if (!ok)
            return 0;
        size_t row_bytes = ((size_t)w + 7) / 8;
        uint8_t *bits = bl_xcalloc(row_bytes * (size_t)h, 1);
        for (int y = 0; y < h; y++) {
            const uint8_t *src = &BL_PIX(page, 0, y);
            uint8_t *dst = bits + row_bytes * (size_t)y;
            /* MINISWHITE: a set bit is black, i.e. ink. */
            for (int x = 0; x < w; x++)
                if (src[x])
                    dst[x >> 3] |= (uint8_t)(0x80u >> (x & 7));
        }
        ok = TIFFWriteEncodedStrip(tif, 0, bits, (tmsize_t)(row_bytes * (size_t)h)) >= 0;
        free(bits);
    } else {
        ok = TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, (uint16_t)8) &&
             TIFFSetField(tif, TIFFTAG_COMPRESSION, (uint16_t)COMPRESSION_ADOBE_DEFLATE) &&
             TIFFSetField(tif, TIFFTAG_PREDICTOR, (uint16_t)PREDICTOR_HORIZONTAL) &&
             TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, (uint16_t)PHOTOMETRIC_MINISBLACK) &&
             TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(tif, 0));
        if (!ok)
            return 0;
        /* The predictor differences rows in place, so libtiff gets a copy
         * rather than the caller's const pixels. */
        uint8_t *row = bl_xmalloc((size_t)w);
        for (int y = 0; ok && y < h; y++) {
            memcpy(row, &BL_PIX(page, 0, y), (size_t)w);
            ok = TIFFWriteScanline(tif, row, (uint32_t)y, 0) == 1;
        }
        free(row);
    }
    return ok && TIFFWriteDirectory(tif);
}

int bl_image_write_tiff(const bl_image *const *pages, int npages,
                        const char *path, double dpi, int bilevel, bl_err *err)
{
    assert(pages && npages > 0 && path);
    if (!(isfinite(dpi) && dpi >= BL_DPI_MIN && dpi <= BL_DPI_MAX))
        return bl_err_set(err, BL_EINVAL, "%s: resolution %g dpi is out of range",
                          path, dpi);
    for (int i = 0; i < npages; i++)
        assert(pages[i] && pages[i]->width > 0 && pages[i]->height > 0);
    int rc = BL_OK;
    tiff_sink sink = {path, {0}, {0}};
    TIFF *tif = open_tiff(path, "w", &sink, 0);
    if (!tif) {
        rc = bl_err_set(err, BL_EIO, "%s: %s", path,
                        sink.msg[0] ? sink.msg : "cannot create the file");
        goto done;
    }
    for (int i = 0; i < npages; i++) {
        if (!write_page(tif, pages[i], i, npages, (float)dpi, bilevel)) {
            rc = bl_err_set(err, BL_EIO, "%s: page %d: %s", path, i,
                            sink.msg[0] ? sink.msg : "write failed");
            goto done;
        }
    }
done:
    if (tif)
        TIFFClose(tif);
    /* A half-written scan would be mistaken for a damaged original. */
    if (rc != BL_OK && tif)
        unlink(path);
    return rc;
}
