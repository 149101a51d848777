/*
 * test_image: the image module's contracts. Fixtures are generated inside
 * the tests (by our writers, or directly with libtiff and libpng for the
 * variants our writers never produce) in a private temporary directory, so
 * the repository carries no binary test data.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <dirent.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include <unistd.h>

#include "image/image.h"

/* ---- Fixture plumbing --------------------------------------------------- */

static char tmpdir[256];

static void make_tmpdir(void)
{
    bl_strlcpy(tmpdir, "/tmp/bl_test_image.XXXXXX", sizeof tmpdir);
    cr_assert_not_null(mkdtemp(tmpdir));
}

/* The directory is flat: tests create files, never subdirectories. */
static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    if (!d)
        return;
    struct dirent *e;
    char path[600];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(tmpdir);
}

/* Criterion runs a test's own .init after the suite's, so this only adds
 * the redirection. */
static void redirect_stderr(void)
{
    cr_redirect_stderr();
}

TestSuite(image, .init = make_tmpdir, .fini = remove_tmpdir);

/* A path in the temporary directory; a few rotate so tests can hold two. */
static const char *tmp_path(const char *name)
{
    static char bufs[4][512];
    static int next;
    char *p = bufs[next++ % 4];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Opens and reads one page, asserting success. */
static bl_image *read_one(const char *path, int index, bl_page_info *info)
{
    bl_err err = {0};
    bl_scan *scan = bl_scan_open(path, NULL, &err);
    cr_assert_not_null(scan, "open %s: %s", path, err.msg);
    bl_image *img = bl_scan_read_page(scan, index, info, &err);
    cr_assert_not_null(img, "read %s: %s", path, err.msg);
    bl_scan_close(&scan);
    cr_assert_null(scan);
    return img;
}

/* Opens and reads page 0, returning the failure code (0 if it worked). */
static int read_fails(const char *path, const bl_image_limits *limits, bl_err *err)
{
    bl_scan *scan = bl_scan_open(path, limits, err);
    if (!scan)
        return err->code;
    bl_image *img = bl_scan_read_page(scan, 0, NULL, err);
    int rc = img ? 0 : err->code;
    bl_image_destroy(&img);
    bl_scan_close(&scan);
    return rc;
}

/* A test pattern that differs per page: gray level from position. */
static uint8_t pattern(int x, int y, int seed)
{
    return (uint8_t)((x * 7 + y * 13 + seed * 31) & 0xff);
}

static bl_image *pattern_image(int w, int h, int seed)
{
    bl_image *img = bl_image_new(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            BL_PIX(img, x, y) = pattern(x, y, seed);
    return img;
}

/* A binarised page: a per-seed mix of strokes and dots, 1 = ink. */
static bl_image *ink_image(int w, int h, int seed)
{
    bl_image *img = bl_image_new(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            BL_PIX(img, x, y) = ((x + seed) % (5 + seed) == 0) ||
                                ((x * y + seed) % 11 == 0);
    return img;
}

/* ---- libtiff fixtures --------------------------------------------------- */

typedef struct tiff_spec {
    int w, h, bps, spp, photometric, compression;
    int tile;            /* tile side, 0 for strips */
    const char *mode;    /* "w", or "wb" for big-endian */
    const uint16_t *cmap;
    float xres, yres;    /* 0: no resolution tags */
    int resunit;
} tiff_spec;

/* raw: rows of (w * spp * bps + 7) / 8 bytes, samples in host order. */
static void write_tiff_fixture(const char *path, const tiff_spec *s, const uint8_t *raw)
{
    TIFF *tif = TIFFOpen(path, s->mode ? s->mode : "w");
    cr_assert_not_null(tif);
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)s->w);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)s->h);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, (uint16_t)s->bps);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)s->spp);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, (uint16_t)s->photometric);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, (uint16_t)s->compression);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, (uint16_t)PLANARCONFIG_CONTIG);
    if (s->cmap) {
        int n = 1 << s->bps;
        TIFFSetField(tif, TIFFTAG_COLORMAP, s->cmap, s->cmap + n, s->cmap + 2 * n);
    }
    if (s->xres > 0) {
        TIFFSetField(tif, TIFFTAG_XRESOLUTION, s->xres);
        TIFFSetField(tif, TIFFTAG_YRESOLUTION, s->yres);
        TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, (uint16_t)s->resunit);
    }
    size_t row_bytes = ((size_t)s->w * s->spp * s->bps + 7) / 8;
    if (s->tile) {
        cr_assert_eq(s->bps, 8);
        cr_assert_eq(s->spp, 1);
        TIFFSetField(tif, TIFFTAG_TILEWIDTH, (uint32_t)s->tile);
        TIFFSetField(tif, TIFFTAG_TILELENGTH, (uint32_t)s->tile);
        uint8_t *tile = calloc((size_t)s->tile * s->tile, 1);
        for (int ty = 0; ty < s->h; ty += s->tile)
            for (int tx = 0; tx < s->w; tx += s->tile) {
                memset(tile, 0, (size_t)s->tile * s->tile);
                for (int y = 0; y < s->tile && ty + y < s->h; y++)
                    for (int x = 0; x < s->tile && tx + x < s->w; x++)
                        tile[y * s->tile + x] = raw[(size_t)(ty + y) * row_bytes + tx + x];
                cr_assert(TIFFWriteTile(tif, tile, (uint32_t)tx, (uint32_t)ty, 0, 0) > 0);
            }
        free(tile);
    } else {
        /* Several strips, so the reader's strip loop is exercised. */
        TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, (uint32_t)7);
        uint8_t *row = malloc(row_bytes);
        for (int y = 0; y < s->h; y++) {
            memcpy(row, raw + (size_t)y * row_bytes, row_bytes);
            cr_assert_eq(TIFFWriteScanline(tif, row, (uint32_t)y, 0), 1);
        }
        free(row);
    }
    cr_assert(TIFFWriteDirectory(tif));
    TIFFClose(tif);
}

/* Packs a 0/1 image (1 = set bit) into TIFF rows. */
static uint8_t *pack_bits(const bl_image *bits)
{
    size_t row_bytes = ((size_t)bits->width + 7) / 8;
    uint8_t *raw = calloc(row_bytes * bits->height, 1);
    for (int y = 0; y < bits->height; y++)
        for (int x = 0; x < bits->width; x++)
            if (BL_PIX(bits, x, y))
                raw[y * row_bytes + x / 8] |= (uint8_t)(0x80 >> (x % 8));
    return raw;
}

static void assert_bilevel_matches(const bl_image *got, const bl_image *ink)
{
    cr_assert_eq(got->width, ink->width);
    cr_assert_eq(got->height, ink->height);
    for (int y = 0; y < ink->height; y++)
        for (int x = 0; x < ink->width; x++)
            cr_assert_eq(BL_PIX(got, x, y), BL_PIX(ink, x, y) ? 0 : 255,
                         "pixel (%d,%d)", x, y);
}

static uint16_t tiff_tag16(const char *path, int dir, ttag_t tag)
{
    TIFF *tif = TIFFOpen(path, "r");
    cr_assert_not_null(tif);
    cr_assert(TIFFSetDirectory(tif, (tdir_t)dir));
    uint16_t v = 0;
    cr_assert(TIFFGetField(tif, tag, &v));
    TIFFClose(tif);
    return v;
}

/* ---- TIFF round trips --------------------------------------------------- */

Test(image, g4_multipage_tiff_round_trips_pixels_and_dpi)
{
    bl_image *pages[3] = {ink_image(97, 61, 0), ink_image(200, 150, 1),
                          ink_image(33, 300, 2)};
    const char *path = tmp_path("g4.tif");
    bl_err err = {0};
    cr_assert_eq(bl_image_write_tiff((const bl_image *const *)pages, 3, path,
                                     200.0, 1, &err), BL_OK, "%s", err.msg);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(tiff_tag16(path, i, TIFFTAG_COMPRESSION), COMPRESSION_CCITTFAX4);
        cr_assert_eq(tiff_tag16(path, i, TIFFTAG_PHOTOMETRIC), PHOTOMETRIC_MINISWHITE);
    }

    bl_scan *scan = bl_scan_open(path, NULL, &err);
    cr_assert_not_null(scan, "%s", err.msg);
    cr_assert_eq(bl_scan_kind(scan), BL_FILE_TIFF);
    cr_assert_eq(bl_scan_page_count(scan), 3);
    /* Out of order, to exercise directory seeking both ways. */
    const int order[3] = {2, 0, 1};
    for (int k = 0; k < 3; k++) {
        int i = order[k];
        bl_page_info info;
        bl_image *img = bl_scan_read_page(scan, i, &info, &err);
        cr_assert_not_null(img, "%s", err.msg);
        assert_bilevel_matches(img, pages[i]);
        cr_assert_float_eq(info.dpi_x, 200.0, 1e-3);
        cr_assert_float_eq(info.dpi_y, 200.0, 1e-3);
        cr_assert_eq(info.dpi_assumed, 0);
        cr_assert_eq(info.bilevel, 1);
        cr_assert_eq(info.bits_per_sample, 1);
        bl_image_destroy(&img);
    }
    bl_scan_close(&scan);
    for (int i = 0; i < 3; i++)
        bl_image_destroy(&pages[i]);
}

Test(image, gray_deflate_tiff_round_trips_exactly)
{
    bl_image *pages[2] = {pattern_image(123, 77, 1), pattern_image(64, 64, 2)};
    const char *path = tmp_path("gray.tif");
    bl_err err = {0};
    cr_assert_eq(bl_image_write_tiff((const bl_image *const *)pages, 2, path,
                                     300.0, 0, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(tiff_tag16(path, 0, TIFFTAG_COMPRESSION), COMPRESSION_ADOBE_DEFLATE);
    cr_assert_eq(tiff_tag16(path, 1, TIFFTAG_BITSPERSAMPLE), 8);
    for (int i = 0; i < 2; i++) {
        bl_page_info info;
        bl_image *img = read_one(path, i, &info);
        cr_assert_eq(img->width, pages[i]->width);
        cr_assert_eq(img->height, pages[i]->height);
        for (int y = 0; y < img->height; y++)
            cr_assert_arr_eq(&BL_PIX(img, 0, y), &BL_PIX(pages[i], 0, y),
                             (size_t)img->width, "page %d row %d", i, y);
        cr_assert_eq(info.bilevel, 0);
        cr_assert_eq(info.bits_per_sample, 8);
        cr_assert_float_eq(info.dpi_x, 300.0, 1e-3);
        bl_image_destroy(&img);
        bl_image_destroy(&pages[i]);
    }
}

Test(image, tiff_writer_honours_stride_of_views)
{
    bl_image *big = pattern_image(40, 20, 3);
    /* A non-owning view of the right half, stride wider than width. */
    bl_image view = {20, 20, big->stride, big->data + 20, 0};
    const bl_image *pages[1] = {&view};
    const char *path = tmp_path("view.tif");
    cr_assert_eq(bl_image_write_tiff(pages, 1, path, 300.0, 0, NULL), BL_OK);
    bl_image *img = read_one(path, 0, NULL);
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 20; x++)
            cr_assert_eq(BL_PIX(img, x, y), BL_PIX(big, x + 20, y));
    bl_image_destroy(&img);
    bl_image_destroy(&big);
}

Test(image, writer_rejects_nonsense_dpi_and_bad_directory)
{
    bl_image *img = pattern_image(4, 4, 0);
    const bl_image *pages[1] = {img};
    bl_err err = {0};
    cr_assert_eq(bl_image_write_tiff(pages, 1, tmp_path("a.tif"), 0.0, 0, &err), BL_EINVAL);
    cr_assert_eq(bl_image_write_png(img, tmp_path("a.png"), NAN, 0, &err), BL_EINVAL);
    cr_assert_eq(bl_image_write_tiff(pages, 1, tmp_path("no/such/dir.tif"), 300, 0, &err),
                 BL_EIO);
    cr_assert(strstr(err.msg, "no/such/dir.tif"), "%s", err.msg);
    cr_assert_eq(bl_image_write_png(img, tmp_path("no/such/dir.png"), 300, 0, &err), BL_EIO);
    bl_image_destroy(&img);
}

/* ---- libtiff-written variants ------------------------------------------- */

Test(image, reads_16bit_gray_big_endian_tiff)
{
    int w = 19, h = 10;
    uint16_t *raw = malloc(sizeof(uint16_t) * w * h);
    for (int i = 0; i < w * h; i++)
        raw[i] = (uint16_t)(pattern(i % w, i / w, 0) * 257);
    tiff_spec s = {w, h, 16, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_NONE, 0, "wb",
                   NULL, 72, 72, RESUNIT_INCH};
    const char *path = tmp_path("g16.tif");
    write_tiff_fixture(path, &s, (const uint8_t *)raw);
    bl_page_info info;
    bl_image *img = read_one(path, 0, &info);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            cr_assert_eq(BL_PIX(img, x, y), pattern(x, y, 0));
    cr_assert_eq(info.bits_per_sample, 16);
    cr_assert_float_eq(info.dpi_x, 72.0, 1e-3);
    free(raw);
    bl_image_destroy(&img);
}

Test(image, reads_rgb_tiff_as_luma)
{
    int w = 8, h = 9;
    uint8_t *raw = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h; i++) {
        raw[3 * i] = (uint8_t)(i * 3);
        raw[3 * i + 1] = (uint8_t)(255 - i * 2);
        raw[3 * i + 2] = (uint8_t)(i * 5 % 256);
    }
    tiff_spec s = {w, h, 8, 3, PHOTOMETRIC_RGB, COMPRESSION_LZW, 0, NULL, NULL,
                   118.11f, 118.11f, RESUNIT_CENTIMETER};
    const char *path = tmp_path("rgb.tif");
    write_tiff_fixture(path, &s, raw);
    bl_page_info info;
    bl_image *img = read_one(path, 0, &info);
    for (int i = 0; i < w * h; i++) {
        int want = (299 * raw[3 * i] + 587 * raw[3 * i + 1] + 114 * raw[3 * i + 2] + 500) / 1000;
        cr_assert_eq(BL_PIX(img, i % w, i / w), want, "pixel %d", i);
    }
    /* 118.11 pixels per cm is 300 dpi. */
    cr_assert_float_eq(info.dpi_x, 300.0, 0.01);
    cr_assert_eq(info.dpi_assumed, 0);
    free(raw);
    bl_image_destroy(&img);
}

Test(image, reads_palette_tiff)
{
    int w = 10, h = 4;
    uint16_t cmap[3 * 16];
    for (int i = 0; i < 16; i++) {
        uint16_t v = (uint16_t)(i * 17 * 257); /* gray ramp 0..255 */
        cmap[i] = cmap[16 + i] = cmap[32 + i] = v;
    }
    uint8_t raw[5 * 4];
    for (int i = 0; i < 20; i++)
        raw[i] = (uint8_t)((2 * i % 16) << 4 | ((2 * i + 1) % 16));
    tiff_spec s = {w, h, 4, 1, PHOTOMETRIC_PALETTE, COMPRESSION_PACKBITS, 0, NULL,
                   cmap, 0, 0, 0};
    const char *path = tmp_path("pal.tif");
    write_tiff_fixture(path, &s, raw);
    bl_page_info info;
    bl_image *img = read_one(path, 0, &info);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            cr_assert_eq(BL_PIX(img, x, y), ((y * w + x) % 16) * 17, "(%d,%d)", x, y);
    cr_assert_eq(info.dpi_assumed, 1);
    cr_assert_float_eq(info.dpi_x, 300.0, 1e-9);
    bl_image_destroy(&img);
}

Test(image, reads_tiled_tiff)
{
    int w = 40, h = 35;
    uint8_t *raw = malloc((size_t)w * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            raw[y * w + x] = pattern(x, y, 5);
    tiff_spec s = {w, h, 8, 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_ADOBE_DEFLATE,
                   16, NULL, NULL, 300, 300, RESUNIT_INCH};
    const char *path = tmp_path("tiled.tif");
    write_tiff_fixture(path, &s, raw);
    bl_image *img = read_one(path, 0, NULL);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            cr_assert_eq(BL_PIX(img, x, y), raw[y * w + x], "(%d,%d)", x, y);
    free(raw);
    bl_image_destroy(&img);
}

Test(image, reads_lzw_miniswhite_gray_tiff)
{
    int w = 31, h = 20;
    uint8_t *raw = malloc((size_t)w * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            raw[y * w + x] = pattern(x, y, 9);
    tiff_spec s = {w, h, 8, 1, PHOTOMETRIC_MINISWHITE, COMPRESSION_LZW, 0, NULL,
                   NULL, 300, 300, RESUNIT_INCH};
    const char *path = tmp_path("lzw.tif");
    write_tiff_fixture(path, &s, raw);
    bl_image *img = read_one(path, 0, NULL);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            cr_assert_eq(BL_PIX(img, x, y), 255 - raw[y * w + x]);
    free(raw);
    bl_image_destroy(&img);
}

/* Bilevel pages in every compression and polarity archives hold. */
static void check_bilevel_variant(int compression, int photometric, const char *name)
{
    bl_image *ink = ink_image(45, 23, 3);
    /* MINISBLACK stores ink (black) as 0 bits, MINISWHITE as 1 bits. */
    bl_image *bits = bl_image_new(45, 23);
    for (int y = 0; y < 23; y++)
        for (int x = 0; x < 45; x++)
            BL_PIX(bits, x, y) = photometric == PHOTOMETRIC_MINISWHITE
                                     ? BL_PIX(ink, x, y) : !BL_PIX(ink, x, y);
    uint8_t *raw = pack_bits(bits);
    tiff_spec s = {45, 23, 1, 1, photometric, compression, 0, NULL, NULL, 204, 196,
                   RESUNIT_INCH};
    const char *path = tmp_path(name);
    write_tiff_fixture(path, &s, raw);
    bl_page_info info;
    bl_image *img = read_one(path, 0, &info);
    assert_bilevel_matches(img, ink);
    cr_assert_eq(info.bilevel, 1);
    /* Fax "fine" mode: the two axes differ. */
    cr_assert_float_eq(info.dpi_x, 204.0, 1e-3);
    cr_assert_float_eq(info.dpi_y, 196.0, 1e-3);
    free(raw);
    bl_image_destroy(&img);
    bl_image_destroy(&bits);
    bl_image_destroy(&ink);
}

Test(image, reads_packbits_bilevel_tiff)
{
    check_bilevel_variant(COMPRESSION_PACKBITS, PHOTOMETRIC_MINISWHITE, "pb.tif");
}

Test(image, reads_minisblack_bilevel_tiff)
{
    check_bilevel_variant(COMPRESSION_NONE, PHOTOMETRIC_MINISBLACK, "mb.tif");
}

Test(image, reads_g3_bilevel_tiff)
{
    check_bilevel_variant(COMPRESSION_CCITTFAX3, PHOTOMETRIC_MINISWHITE, "g3.tif");
}

Test(image, reads_lzw_minisblack_bilevel_tiff)
{
    check_bilevel_variant(COMPRESSION_LZW, PHOTOMETRIC_MINISBLACK, "lzwb.tif");
}

/* ---- PNG ---------------------------------------------------------------- */

Test(image, png_gray_round_trips_pixels_and_dpi)
{
    bl_image *src = pattern_image(50, 33, 4);
    const char *path = tmp_path("g.png");
    bl_err err = {0};
    cr_assert_eq(bl_image_write_png(src, path, 150.0, 0, &err), BL_OK, "%s", err.msg);
    bl_page_info info;
    bl_scan *scan = bl_scan_open(path, NULL, &err);
    cr_assert_not_null(scan, "%s", err.msg);
    cr_assert_eq(bl_scan_kind(scan), BL_FILE_PNG);
    cr_assert_eq(bl_scan_page_count(scan), 1);
    bl_image *img = bl_scan_read_page(scan, 0, &info, &err);
    cr_assert_not_null(img, "%s", err.msg);
    for (int y = 0; y < 33; y++)
        cr_assert_arr_eq(&BL_PIX(img, 0, y), &BL_PIX(src, 0, y), 50);
    /* pHYs stores whole pixels per metre: 150 dpi is 5906 ppm. */
    cr_assert_float_eq(info.dpi_x, 150.0, 0.05);
    cr_assert_float_eq(info.dpi_y, 150.0, 0.05);
    cr_assert_eq(info.dpi_assumed, 0);
    cr_assert_eq(info.bits_per_sample, 8);
    cr_assert_null(bl_scan_read_page(scan, 1, NULL, &err));
    cr_assert_eq(err.code, BL_EINVAL);
    bl_image_destroy(&img);
    bl_scan_close(&scan);
    bl_image_destroy(&src);
}

Test(image, png_bilevel_is_written_black_on_white)
{
    bl_image *ink = ink_image(37, 21, 2);
    const char *path = tmp_path("b.png");
    cr_assert_eq(bl_image_write_png(ink, path, 300.0, 1, NULL), BL_OK);
    bl_page_info info;
    bl_image *img = read_one(path, 0, &info);
    assert_bilevel_matches(img, ink);
    cr_assert_eq(info.bilevel, 1);
    cr_assert_eq(info.bits_per_sample, 1);
    cr_assert_float_eq(info.dpi_x, 300.0, 0.05);
    bl_image_destroy(&img);
    bl_image_destroy(&ink);
}

typedef struct png_spec {
    int w, h, bit_depth, color_type, interlace;
    const png_color *palette;
    int npalette;
    const uint8_t *trans;
    int ntrans;
    uint32_t ppm; /* 0: no pHYs */
} png_spec;

/* rows: PNG byte layout (16-bit samples big-endian). */
static void write_png_fixture(const char *path, const png_spec *s, const uint8_t *rows,
                              size_t row_bytes)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_bytep *ptrs = malloc(sizeof *ptrs * s->h);
    for (int y = 0; y < s->h; y++)
        ptrs[y] = (png_bytep)rows + (size_t)y * row_bytes;
    if (setjmp(png_jmpbuf(png)))
        cr_assert_fail("libpng failed writing a fixture");
    png_init_io(png, f);
    png_set_IHDR(png, info, s->w, s->h, s->bit_depth, s->color_type, s->interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s->palette)
        png_set_PLTE(png, info, s->palette, s->npalette);
    if (s->trans)
        png_set_tRNS(png, info, s->trans, s->ntrans, NULL);
    if (s->ppm)
        png_set_pHYs(png, info, s->ppm, s->ppm, PNG_RESOLUTION_METER);
    png_write_info(png, info);
    png_write_image(png, ptrs);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(ptrs);
    fclose(f);
}

Test(image, reads_16bit_png)
{
    int w = 12, h = 5;
    uint8_t rows[5][24];
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint16_t v = (uint16_t)(pattern(x, y, 1) * 257);
            rows[y][2 * x] = (uint8_t)(v >> 8);
            rows[y][2 * x + 1] = (uint8_t)v;
        }
    png_spec s = {w, h, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, 0};
    const char *path = tmp_path("g16.png");
    write_png_fixture(path, &s, &rows[0][0], 24);
    bl_page_info info;
    bl_image *img = read_one(path, 0, &info);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            cr_assert_leq(abs(BL_PIX(img, x, y) - pattern(x, y, 1)), 1, "(%d,%d)", x, y);
    cr_assert_eq(info.bits_per_sample, 16);
    cr_assert_eq(info.dpi_assumed, 1);
    bl_image_destroy(&img);
}

Test(image, reads_rgb_png_as_gray)
{
    /* Neutral colours convert exactly; a saturated one lands in between. */
    uint8_t rows[1][4 * 3] = {{0, 0, 0, 128, 128, 128, 255, 255, 255, 255, 0, 0}};
    png_spec s = {4, 1, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, 11811};
    const char *path = tmp_path("rgb.png");
    write_png_fixture(path, &s, &rows[0][0], 12);
    bl_page_info info;
    bl_image *img = read_one(path, 0, &info);
    cr_assert_eq(BL_PIX(img, 0, 0), 0);
    cr_assert_leq(abs(BL_PIX(img, 1, 0) - 128), 1);
    cr_assert_eq(BL_PIX(img, 2, 0), 255);
    cr_assert(BL_PIX(img, 3, 0) > 40 && BL_PIX(img, 3, 0) < 160, "red -> %d",
              BL_PIX(img, 3, 0));
    cr_assert_float_eq(info.dpi_x, 300.0, 0.05);
    bl_image_destroy(&img);
}

Test(image, reads_rgba_png_composited_on_white)
{
    uint8_t rows[1][3 * 4] = {{0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 128}};
    png_spec s = {3, 1, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, 0};
    const char *path = tmp_path("rgba.png");
    write_png_fixture(path, &s, &rows[0][0], 12);
    bl_image *img = read_one(path, 0, NULL);
    cr_assert_eq(BL_PIX(img, 0, 0), 0, "opaque black");
    cr_assert_eq(BL_PIX(img, 1, 0), 255, "transparent is paper");
    cr_assert(BL_PIX(img, 2, 0) > 100 && BL_PIX(img, 2, 0) < 250, "half -> %d",
              BL_PIX(img, 2, 0));
    bl_image_destroy(&img);
}

Test(image, reads_palette_png_with_transparency)
{
    const png_color pal[3] = {{0, 0, 0}, {200, 200, 200}, {10, 10, 10}};
    const uint8_t trans[3] = {255, 255, 0};
    uint8_t rows[2][3] = {{0, 1, 2}, {2, 1, 0}};
    png_spec s = {3, 2, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, pal, 3, trans, 3, 0};
    const char *path = tmp_path("pal.png");
    write_png_fixture(path, &s, &rows[0][0], 3);
    bl_image *img = read_one(path, 0, NULL);
    const uint8_t want[2][3] = {{0, 200, 255}, {255, 200, 0}};
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++)
            cr_assert_leq(abs(BL_PIX(img, x, y) - want[y][x]), 1, "(%d,%d) = %d", x, y,
                          BL_PIX(img, x, y));
    bl_image_destroy(&img);
}

Test(image, reads_interlaced_png)
{
    int w = 23, h = 17;
    uint8_t *rows = malloc((size_t)w * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            rows[y * w + x] = pattern(x, y, 6);
    png_spec s = {w, h, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_ADAM7, NULL, 0, NULL, 0, 0};
    const char *path = tmp_path("adam7.png");
    write_png_fixture(path, &s, rows, (size_t)w);
    bl_image *img = read_one(path, 0, NULL);
    for (int y = 0; y < h; y++)
        cr_assert_arr_eq(&BL_PIX(img, 0, y), rows + y * w, (size_t)w, "row %d", y);
    free(rows);
    bl_image_destroy(&img);
}

Test(image, reads_1bit_png)
{
    uint8_t rows[2][2] = {{0xA5, 0x80}, {0x0F, 0x00}}; /* 9 pixels wide */
    png_spec s = {9, 2, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, 0};
    const char *path = tmp_path("b1.png");
    write_png_fixture(path, &s, &rows[0][0], 2);
    bl_page_info info;
    bl_image *img = read_one(path, 0, &info);
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 9; x++) {
            int bit = rows[y][x / 8] >> (7 - x % 8) & 1;
            cr_assert_eq(BL_PIX(img, x, y), bit ? 255 : 0, "(%d,%d)", x, y);
        }
    cr_assert_eq(info.bilevel, 1);
    cr_assert_eq(info.bits_per_sample, 1);
    bl_image_destroy(&img);
}

/* ---- Refusals ----------------------------------------------------------- */

Test(image, rejects_truncated_tiff)
{
    bl_image *pages[2] = {pattern_image(100, 80, 1), pattern_image(100, 80, 2)};
    const char *path = tmp_path("trunc.tif");
    cr_assert_eq(bl_image_write_tiff((const bl_image *const *)pages, 2, path, 300, 0, NULL),
                 BL_OK);
    long n = file_size(path);
    /* Cut at several points: inside page data, inside a directory. */
    const double cuts[] = {0.9, 0.6, 0.3, 0.05};
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        cr_assert_eq(truncate(path, (off_t)(n * cuts[c])), 0);
        bl_err err = {0};
        bl_scan *scan = bl_scan_open(path, NULL, &err);
        int failures = 0;
        if (!scan) {
            failures = 1;
        } else {
            for (int i = 0; i < bl_scan_page_count(scan); i++) {
                bl_image *img = bl_scan_read_page(scan, i, NULL, &err);
                failures += img == NULL;
                bl_image_destroy(&img);
            }
            bl_scan_close(&scan);
        }
        cr_assert_gt(failures, 0, "cut at %g read cleanly", cuts[c]);
        cr_assert_lt(err.code, 0);
        cr_assert(strncmp(err.msg, path, strlen(path)) == 0, "message: %s", err.msg);
    }
    bl_image_destroy(&pages[0]);
    bl_image_destroy(&pages[1]);
}

/* Finds entry `tag` of directory `dir` in a little-endian classic TIFF and
 * returns its file offset (0 if absent). */
static long find_ifd_entry(const char *path, int dir, uint16_t tag)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    uint8_t b[12];
    cr_assert_eq(fread(b, 1, 8, f), 8);
    cr_assert_eq(memcmp(b, "II*\0", 4), 0);
    long off = (long)bl_get_u32(b + 4), found = 0;
    for (int d = 0; off && !found; d++) {
        fseek(f, off, SEEK_SET);
        cr_assert_eq(fread(b, 1, 2, f), 2);
        int n = bl_get_u16(b);
        for (int i = 0; i < n; i++) {
            cr_assert_eq(fread(b, 1, 12, f), 12);
            if (d == dir && bl_get_u16(b) == tag)
                found = off + 2 + 12 * i;
        }
        cr_assert_eq(fread(b, 1, 4, f), 4);
        off = (long)bl_get_u32(b);
    }
    fclose(f);
    return found;
}

/* Reads or overwrites the single LONG or SHORT value of an IFD entry. */
static uint32_t ifd_value(const char *path, int dir, uint16_t tag)
{
    long at = find_ifd_entry(path, dir, tag);
    cr_assert_gt(at, 0, "tag %u in directory %d", tag, dir);
    uint8_t e[12];
    FILE *f = fopen(path, "rb");
    fseek(f, at, SEEK_SET);
    cr_assert_eq(fread(e, 1, 12, f), 12);
    fclose(f);
    return bl_get_u16(e + 2) == 3 ? bl_get_u16(e + 8) : bl_get_u32(e + 8);
}

static void set_ifd_value(const char *path, int dir, uint16_t tag, uint32_t v)
{
    long at = find_ifd_entry(path, dir, tag);
    cr_assert_gt(at, 0);
    uint8_t e[12];
    FILE *f = fopen(path, "r+b");
    fseek(f, at, SEEK_SET);
    cr_assert_eq(fread(e, 1, 12, f), 12);
    if (bl_get_u16(e + 2) == 3)
        bl_put_u16(e + 8, (uint16_t)v);
    else
        bl_put_u32(e + 8, v);
    fseek(f, at, SEEK_SET);
    cr_assert_eq(fwrite(e, 1, 12, f), 12);
    fclose(f);
}

static void fill_bytes(const char *path, uint32_t off, uint32_t n, int byte)
{
    FILE *f = fopen(path, "r+b");
    fseek(f, (long)off, SEEK_SET);
    for (uint32_t i = 0; i < n; i++)
        fputc(byte, f);
    fclose(f);
}

Test(image, rejects_truncated_g4_strip)
{
    bl_image *ink = ink_image(300, 200, 4);
    const bl_image *pages[1] = {ink};
    const char *path = tmp_path("truncg4.tif");
    cr_assert_eq(bl_image_write_tiff(pages, 1, path, 300, 1, NULL), BL_OK);
    /* The strip's data stops halfway: what a scanner that died mid-page, or
     * a copy cut short before the directory was rewritten, leaves behind. */
    uint32_t count = ifd_value(path, 0, TIFFTAG_STRIPBYTECOUNTS);
    set_ifd_value(path, 0, TIFFTAG_STRIPBYTECOUNTS, count / 2);
    bl_err err = {0};
    cr_assert_eq(read_fails(path, NULL, &err), BL_EFORMAT);
    cr_assert(strstr(err.msg, "truncg4.tif: page 0: "), "message: %s", err.msg);
    bl_image_destroy(&ink);
}

Test(image, refuses_unknown_compression_naming_page)
{
    bl_image *img = pattern_image(30, 20, 0);
    const bl_image *pages[2] = {img, img};
    const char *path = tmp_path("comp.tif");
    cr_assert_eq(bl_image_write_tiff(pages, 2, path, 300, 0, NULL), BL_OK);
    set_ifd_value(path, 1, TIFFTAG_COMPRESSION, 12345);
    bl_err err = {0};
    bl_scan *scan = bl_scan_open(path, NULL, &err);
    cr_assert_not_null(scan, "%s", err.msg);
    bl_image *p1 = bl_scan_read_page(scan, 1, NULL, &err);
    cr_assert_null(p1);
    cr_assert_lt(err.code, 0);
    cr_assert(strstr(err.msg, "comp.tif: page 1: "), "message: %s", err.msg);
    bl_image *p0 = bl_scan_read_page(scan, 0, NULL, &err);
    cr_assert_not_null(p0, "%s", err.msg);
    bl_image_destroy(&p0);
    bl_scan_close(&scan);
    bl_image_destroy(&img);
}

Test(image, corrupt_page_leaves_other_pages_readable)
{
    bl_image *pages[3] = {ink_image(120, 90, 0), ink_image(120, 90, 1), ink_image(120, 90, 2)};
    const char *path = tmp_path("corrupt.tif");
    cr_assert_eq(bl_image_write_tiff((const bl_image *const *)pages, 3, path, 300, 1, NULL),
                 BL_OK);
    /* Bit rot: the middle half of page 1's G4 data becomes zeros. */
    uint32_t off = ifd_value(path, 1, TIFFTAG_STRIPOFFSETS);
    uint32_t count = ifd_value(path, 1, TIFFTAG_STRIPBYTECOUNTS);
    fill_bytes(path, off + count / 4, count / 2, 0x00);

    bl_err err = {0};
    bl_scan *scan = bl_scan_open(path, NULL, &err);
    cr_assert_not_null(scan, "%s", err.msg);
    cr_assert_eq(bl_scan_page_count(scan), 3);
    bl_image *p1 = bl_scan_read_page(scan, 1, NULL, &err);
    cr_assert_null(p1);
    cr_assert_eq(err.code, BL_EFORMAT);
    char want[600];
    snprintf(want, sizeof want, "%s: page 1: ", path);
    cr_assert(strncmp(err.msg, want, strlen(want)) == 0, "message: %s", err.msg);
    for (int i = 0; i < 3; i += 2) {
        bl_image *img = bl_scan_read_page(scan, i, NULL, &err);
        cr_assert_not_null(img, "page %d: %s", i, err.msg);
        assert_bilevel_matches(img, pages[i]);
        bl_image_destroy(&img);
    }
    bl_scan_close(&scan);
    for (int i = 0; i < 3; i++)
        bl_image_destroy(&pages[i]);
}

Test(image, broken_directory_chain_fails_only_the_lost_page)
{
    bl_image *pages[2] = {pattern_image(60, 40, 1), pattern_image(60, 40, 2)};
    const char *path = tmp_path("chain.tif");
    cr_assert_eq(bl_image_write_tiff((const bl_image *const *)pages, 2, path, 300, 0, NULL),
                 BL_OK);
    /* Cut inside the second directory. */
    cr_assert_eq(truncate(path, file_size(path) - 20), 0);
    bl_err err = {0};
    bl_scan *scan = bl_scan_open(path, NULL, &err);
    cr_assert_not_null(scan, "%s", err.msg);
    cr_assert_eq(bl_scan_page_count(scan), 2);
    bl_image *p0 = bl_scan_read_page(scan, 0, NULL, &err);
    cr_assert_not_null(p0, "%s", err.msg);
    cr_assert_null(bl_scan_read_page(scan, 1, NULL, &err));
    cr_assert_eq(err.code, BL_EFORMAT);
    cr_assert(strstr(err.msg, "chain.tif: page 1: "), "message: %s", err.msg);
    bl_image_destroy(&p0);
    bl_scan_close(&scan);
    bl_image_destroy(&pages[0]);
    bl_image_destroy(&pages[1]);
}

Test(image, tiff_errors_never_reach_stderr, .init = redirect_stderr)
{
    bl_image *ink = ink_image(64, 64, 1);
    const bl_image *pages[1] = {ink};
    const char *path = tmp_path("quiet.tif");
    cr_assert_eq(bl_image_write_tiff(pages, 1, path, 300, 1, NULL), BL_OK);
    long n = file_size(path);
    /* Garbage over the middle of the file, then a short tail. */
    FILE *f = fopen(path, "r+b");
    fseek(f, 8, SEEK_SET);
    for (long i = 8; i < n / 2; i++)
        fputc(0x00, f);
    fclose(f);
    bl_err err = {0};
    cr_assert_lt(read_fails(path, NULL, &err), 0);
    cr_assert_eq(truncate(path, n / 3), 0);
    cr_assert_lt(read_fails(path, NULL, &err), 0);
    fflush(stderr);
    cr_assert_stderr_eq_str("");
    bl_image_destroy(&ink);
}

Test(image, rejects_truncated_png)
{
    bl_image *src = pattern_image(80, 60, 7);
    const char *path = tmp_path("trunc.png");
    cr_assert_eq(bl_image_write_png(src, path, 300, 0, NULL), BL_OK);
    long n = file_size(path);
    const long cuts[] = {n - 13, n / 2, 40, 20, 9};
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        cr_assert_eq(truncate(path, cuts[c]), 0);
        bl_err err = {0};
        cr_assert_eq(read_fails(path, NULL, &err), BL_EFORMAT, "cut at %ld: %s", cuts[c],
                     err.msg);
        cr_assert(strncmp(err.msg, path, strlen(path)) == 0, "message: %s", err.msg);
    }
    bl_image_destroy(&src);
}

Test(image, rejects_garbage_bytes)
{
    uint8_t junk[200];
    for (int i = 0; i < 200; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    const char *path = tmp_path("junk.tif");
    write_bytes(path, junk, sizeof junk);
    bl_err err = {0};
    cr_assert_null(bl_scan_open(path, NULL, &err));
    cr_assert_eq(err.code, BL_EFORMAT);
    cr_assert(strstr(err.msg, "junk.tif: not a TIFF or PNG file (unknown format)"), "%s",
              err.msg);
}

Test(image, rejects_other_formats_naming_them)
{
    static const struct {
        const char *name;
        const char *bytes;
        size_t n;
        const char *says;
    } cases[] = {
        {"x.jpg", "\xff\xd8\xff\xe0\0\x10JFIF", 10, "x.jpg: not a TIFF or PNG file (looks like JPEG)"},
        {"x.pdf", "%PDF-1.4\n", 9, "(looks like PDF)"},
        {"x.gif", "GIF89a\x01\0\x01\0", 10, "(looks like GIF)"},
        {"x.bmp", "BM\x36\0\0\0\0\0", 8, "(looks like BMP)"},
        {"x.tif", "", 0, "x.tif: not a TIFF or PNG file (empty file)"},
        {"short.tif", "II", 2, "(unknown format)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = tmp_path(cases[i].name);
        write_bytes(path, cases[i].bytes, cases[i].n);
        bl_err err = {0};
        cr_assert_null(bl_scan_open(path, NULL, &err), "%s", cases[i].name);
        cr_assert_lt(err.code, 0);
        cr_assert(strstr(err.msg, cases[i].says), "%s: %s", cases[i].name, err.msg);
    }
}

Test(image, missing_file_is_enoent)
{
    bl_err err = {0};
    cr_assert_null(bl_scan_open(tmp_path("nope.tif"), NULL, &err));
    cr_assert_eq(err.code, BL_ENOENT);
}

/* A hand-made little-endian TIFF whose only directory claims w x h pixels
 * of G4 data that is not there. */
static void write_huge_tiff_header(const char *path, uint32_t w, uint32_t h)
{
    uint8_t b[8 + 2 + 12 * 9 + 4 + 8] = {'I', 'I', 42, 0, 8, 0, 0, 0};
    uint8_t *p = b + 8;
    bl_put_u16(p, 9);
    p += 2;
    const uint16_t tags[9][3] = {
        {256, 4, 0}, {257, 4, 0}, {258, 3, 1}, {259, 3, 4}, {262, 3, 0},
        {273, 4, 0}, {277, 3, 1}, {278, 4, 0}, {279, 4, 0},
    };
    uint32_t values[9] = {w, h, 1, 4, 0, (uint32_t)(sizeof b - 8), 1, h, 8};
    for (int i = 0; i < 9; i++, p += 12) {
        bl_put_u16(p, tags[i][0]);
        bl_put_u16(p + 2, tags[i][1]);
        bl_put_u32(p + 4, 1);
        if (tags[i][1] == 3)
            bl_put_u16(p + 8, (uint16_t)values[i]);
        else
            bl_put_u32(p + 8, values[i]);
    }
    bl_put_u32(p, 0); /* no next directory */
    write_bytes(path, b, sizeof b);
}

Test(image, rejects_huge_tiff_before_allocating)
{
    const char *path = tmp_path("huge.tif");
    write_huge_tiff_header(path, 100000, 100000);
    bl_err err = {0};
    uint64_t t0 = bl_time_mono_ns();
    cr_assert_eq(read_fails(path, NULL, &err), BL_ELIMIT, "%s", err.msg);
    cr_assert(strstr(err.msg, "page 0: 100000 x 100000 pixels exceeds"), "%s", err.msg);
    /* Decoding 10^10 pixels would take minutes; refusing takes no time. */
    cr_assert_lt(bl_time_mono_ns() - t0, 1000000000ull);
}

Test(image, rejects_huge_png_before_allocating)
{
    uint8_t b[8 + 25 + 12 + 12] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t *p = b + 8;
    put_be32(p, 13);
    memcpy(p + 4, "IHDR", 4);
    put_be32(p + 8, 100000);
    put_be32(p + 12, 100000);
    p[16] = 8; /* depth */
    p[17] = 0; /* gray */
    put_be32(p + 21, bl_crc32(0, p + 4, 17) ^ 0);
    p += 25;
    put_be32(p, 0);
    memcpy(p + 4, "IDAT", 4);
    put_be32(p + 8, bl_crc32(0, p + 4, 4));
    p += 12;
    put_be32(p, 0);
    memcpy(p + 4, "IEND", 4);
    put_be32(p + 8, bl_crc32(0, p + 4, 4));
    const char *path = tmp_path("huge.png");
    write_bytes(path, b, sizeof b);
    bl_err err = {0};
    cr_assert_eq(read_fails(path, NULL, &err), BL_ELIMIT, "%s", err.msg);
    cr_assert(strstr(err.msg, "100000 x 100000 pixels exceeds"), "%s", err.msg);
}

Test(image, applies_configured_limits)
{
    bl_image *pages[3] = {pattern_image(50, 40, 0), pattern_image(50, 40, 1),
                          pattern_image(50, 40, 2)};
    const char *path = tmp_path("lim.tif");
    cr_assert_eq(bl_image_write_tiff((const bl_image *const *)pages, 3, path, 300, 0, NULL),
                 BL_OK);
    bl_image_limits lim;
    bl_image_limits_default(&lim);
    cr_assert_eq(lim.max_pixels, 100000000u);
    cr_assert_eq(lim.max_pages, 10000u);
    bl_err err = {0};

    lim.max_pages = 2;
    cr_assert_null(bl_scan_open(path, &lim, &err));
    cr_assert_eq(err.code, BL_ELIMIT, "%s", err.msg);

    bl_image_limits_default(&lim);
    lim.max_file_bytes = 100;
    cr_assert_null(bl_scan_open(path, &lim, &err));
    cr_assert_eq(err.code, BL_ELIMIT, "%s", err.msg);

    bl_image_limits_default(&lim);
    lim.max_pixels = 50 * 40 - 1;
    cr_assert_eq(read_fails(path, &lim, &err), BL_ELIMIT, "%s", err.msg);
    for (int i = 0; i < 3; i++)
        bl_image_destroy(&pages[i]);
}

Test(image, reading_bad_page_index_is_einval)
{
    bl_image *img = pattern_image(5, 5, 0);
    const bl_image *pages[1] = {img};
    const char *path = tmp_path("one.tif");
    cr_assert_eq(bl_image_write_tiff(pages, 1, path, 300, 0, NULL), BL_OK);
    bl_err err = {0};
    bl_scan *scan = bl_scan_open(path, NULL, &err);
    cr_assert_null(bl_scan_read_page(scan, 1, NULL, &err));
    cr_assert_eq(err.code, BL_EINVAL);
    cr_assert_null(bl_scan_read_page(scan, -1, NULL, &err));
    bl_image *again = bl_scan_read_page(scan, 0, NULL, &err);
    cr_assert_not_null(again);
    bl_image_destroy(&again);
    bl_scan_close(&scan);
    bl_scan_close(&scan); /* NULL-safe */
    bl_image_destroy(&img);
}

/* ---- Raster operations --------------------------------------------------- */

Test(image, crop_copies_and_clips)
{
    bl_image *img = pattern_image(10, 8, 0);
    bl_image *c = bl_image_crop(img, (bl_box){7, 5, 10, 10});
    cr_assert_not_null(c);
    cr_assert_eq(c->width, 3);
    cr_assert_eq(c->height, 3);
    cr_assert_eq(BL_PIX(c, 0, 0), BL_PIX(img, 7, 5));
    cr_assert_eq(BL_PIX(c, 2, 2), BL_PIX(img, 9, 7));
    bl_image *neg = bl_image_crop(img, (bl_box){-2, -3, 4, 5});
    cr_assert_eq(neg->width, 2);
    cr_assert_eq(neg->height, 2);
    cr_assert_eq(BL_PIX(neg, 0, 0), BL_PIX(img, 0, 0));
    cr_assert_null(bl_image_crop(img, (bl_box){20, 0, 5, 5}));
    cr_assert_null(bl_image_crop(img, (bl_box){0, 0, 0, 5}));
    cr_assert_null(bl_image_crop(img, (bl_box){2147483600, 0, 2147483600, 5}));
    bl_image_destroy(&c);
    bl_image_destroy(&neg);
    bl_image_destroy(&img);
    cr_assert_null(img);
    bl_image_destroy(&img); /* NULL-safe */
}

Test(image, otsu_splits_bimodal_histogram)
{
    /* Dark ink around 40 on paper around 210, with deterministic noise. */
    bl_image *img = bl_image_new(100, 60);
    unsigned s = 12345;
    int ink = 0;
    for (int y = 0; y < 60; y++)
        for (int x = 0; x < 100; x++) {
            s = s * 1103515245u + 12345u;
            int noise = (int)(s >> 16) % 31 - 15;
            int is_ink = (x / 10 + y / 10) % 3 == 0;
            ink += is_ink;
            BL_PIX(img, x, y) = (uint8_t)((is_ink ? 40 : 210) + noise);
        }
    int level = bl_image_otsu_level(img);
    cr_assert(level > 55 && level < 195, "level %d", level);
    bl_image *bin = bl_image_binarize(img, level);
    int count = 0;
    for (int y = 0; y < 60; y++)
        for (int x = 0; x < 100; x++) {
            cr_assert(BL_PIX(bin, x, y) <= 1);
            count += BL_PIX(bin, x, y);
        }
    cr_assert_eq(count, ink);
    bl_image_destroy(&bin);
    bl_image_destroy(&img);
}

Test(image, otsu_puts_level_mid_valley_for_two_spikes)
{
    bl_image *img = bl_image_new(10, 10);
    for (int i = 0; i < 100; i++)
        img->data[i] = i < 30 ? 20 : 220;
    int level = bl_image_otsu_level(img);
    cr_assert(level >= 100 && level <= 140, "level %d", level);
    bl_image_destroy(&img);
}

Test(image, binarize_marks_ink_at_or_below_level)
{
    bl_image *img = bl_image_new(3, 1);
    img->data[0] = 99;
    img->data[1] = 100;
    img->data[2] = 101;
    bl_image *bin = bl_image_binarize(img, 100);
    cr_assert_eq(bin->data[0], 1);
    cr_assert_eq(bin->data[1], 1);
    cr_assert_eq(bin->data[2], 0);
    bl_image_destroy(&bin);
    bl_image_destroy(&img);
}

static bl_image *draw(const char *const *rows, int h)
{
    int w = (int)strlen(rows[0]);
    bl_image *img = bl_image_new(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            BL_PIX(img, x, y) = rows[y][x] == '#';
    return img;
}

Test(image, components_are_8_connected_with_boxes)
{
    static const char *const rows[] = {
        "##......#.",
        "##.....#..",
        "......#...",
        ".#.#......",
        "..#....###",
        ".#.#......",
        "..........",
        "#.......#.",
    };
    bl_image *img = draw(rows, 8);
    bl_component *cs = NULL;
    int n = -1;
    int *labels = NULL;
    bl_err err = {0};
    cr_assert_eq(bl_image_components(img, &cs, &n, &labels, &err), BL_OK);
    cr_assert_eq(n, 6);
    /* Raster order of each component's first pixel. */
    const bl_box boxes[6] = {{0, 0, 2, 2}, {6, 0, 3, 3}, {1, 3, 3, 3},
                             {7, 4, 3, 1}, {0, 7, 1, 1}, {8, 7, 1, 1}};
    const int pixels[6] = {4, 3, 5, 3, 1, 1};
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(cs[i].box.x, boxes[i].x, "component %d", i);
        cr_assert_eq(cs[i].box.y, boxes[i].y, "component %d", i);
        cr_assert_eq(cs[i].box.w, boxes[i].w, "component %d", i);
        cr_assert_eq(cs[i].box.h, boxes[i].h, "component %d", i);
        cr_assert_eq(cs[i].pixels, pixels[i], "component %d", i);
        cr_assert_eq(cs[i].label, i + 1);
    }
    /* The X's arms meet only at corners: one label throughout. */
    cr_assert_eq(labels[3 * 10 + 1], 3);
    cr_assert_eq(labels[5 * 10 + 3], 3);
    cr_assert_eq(labels[4 * 10 + 2], 3);
    cr_assert_eq(labels[0], 1);
    cr_assert_eq(labels[2], 0);
    free(labels);
    free(cs);
    bl_image_destroy(&img);
}

Test(image, components_merge_branches_that_join_below)
{
    /* A U and a W: branches start as separate runs and merge later. */
    static const char *const rows[] = {
        "#..#.#...#...#",
        "#..#..#.#.#.#.",
        "####...#...#..",
    };
    bl_image *img = draw(rows, 3);
    bl_component *cs = NULL;
    int n = 0;
    cr_assert_eq(bl_image_components(img, &cs, &n, NULL, NULL), BL_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(cs[0].pixels, 8);
    cr_assert_eq(cs[0].box.w, 4);
    cr_assert_eq(cs[1].box.x, 5);
    cr_assert_eq(cs[1].box.w, 9);
    cr_assert_eq(cs[1].pixels, 9);
    free(cs);
    bl_image_destroy(&img);
}

Test(image, components_of_empty_image_is_none)
{
    bl_image *img = bl_image_new(20, 10);
    bl_component *cs = (bl_component *)1;
    int n = -1;
    cr_assert_eq(bl_image_components(img, &cs, &n, NULL, NULL), BL_OK);
    cr_assert_eq(n, 0);
    free(cs);
    bl_image_destroy(&img);
}

Test(image, scale_gives_rounded_sizes)
{
    bl_image *img = pattern_image(100, 50, 0);
    struct { double sx, sy; int w, h; } cases[] = {
        {0.5, 0.5, 50, 25}, {2.0, 3.0, 200, 150}, {0.333, 1.0, 33, 50},
        {0.001, 0.001, 1, 1}, {1.5, 0.25, 150, 13},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bl_image *s = bl_image_scale(img, cases[i].sx, cases[i].sy);
        cr_assert_not_null(s);
        cr_assert_eq(s->width, cases[i].w, "case %zu", i);
        cr_assert_eq(s->height, cases[i].h, "case %zu", i);
        bl_image_destroy(&s);
    }
    bl_image_destroy(&img);
}

Test(image, scale_averages_when_shrinking_and_interpolates_when_enlarging)
{
    /* A 1-pixel checkerboard shrinks to its mean, not to aliasing. */
    bl_image *chk = bl_image_new(8, 8);
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
            BL_PIX(chk, x, y) = (x + y) % 2 ? 255 : 0;
    bl_image *half = bl_image_scale(chk, 0.5, 0.5);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            cr_assert_leq(abs(BL_PIX(half, x, y) - 128), 1);
    bl_image *third = bl_image_scale(chk, 1.0 / 3, 1.0 / 3);
    cr_assert_eq(third->width, 3);
    /* A ramp stays monotonic and keeps its ends when enlarged. */
    bl_image *ramp = bl_image_new(4, 1);
    for (int x = 0; x < 4; x++)
        ramp->data[x] = (uint8_t)(x * 80);
    bl_image *big = bl_image_scale(ramp, 4.0, 2.0);
    cr_assert_eq(big->width, 16);
    cr_assert_eq(big->height, 2);
    cr_assert_eq(big->data[0], 0);
    cr_assert_eq(big->data[15], 240);
    for (int x = 1; x < 16; x++)
        cr_assert_geq(big->data[x], big->data[x - 1]);
    cr_assert(big->data[7] > 80 && big->data[7] < 160, "%d", big->data[7]);
    /* Identity scale is exact. */
    bl_image *pat = pattern_image(9, 7, 1);
    bl_image *same = bl_image_scale(pat, 1.0, 1.0);
    cr_assert_arr_eq(same->data, pat->data, 63);
    bl_image *all[] = {chk, half, third, ramp, big, pat, same};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        bl_image_destroy(&all[i]);
}

/* ---- MNIST normalisation ------------------------------------------------- */

static void mnist_stats(const uint8_t *out, int *w, int *h, double *cx, double *cy)
{
    int x0 = 28, y0 = 28, x1 = -1, y1 = -1;
    double m = 0, mx = 0, my = 0;
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++) {
            int v = out[y * 28 + x];
            if (!v)
                continue;
            x0 = x < x0 ? x : x0;
            x1 = x > x1 ? x : x1;
            y0 = y < y0 ? y : y0;
            y1 = y > y1 ? y : y1;
            m += v;
            mx += v * x;
            my += v * y;
        }
    *w = x1 - x0 + 1;
    *h = y1 - y0 + 1;
    *cx = mx / m;
    *cy = my / m;
}

Test(image, mnist_fits_20x20_and_centres_mass)
{
    /* A "7" drawn large and off-centre in a wide crop. */
    bl_image *img = bl_image_new(120, 90);
    for (int x = 30; x < 90; x++)
        for (int y = 5; y < 15; y++)
            BL_PIX(img, x, y) = 1;
    for (int y = 15; y < 85; y++)
        for (int t = 0; t < 10; t++) {
            int x = 80 - (y - 15) / 2 + t;
            BL_PIX(img, x, y) = 1;
        }
    uint8_t out[BL_MNIST_PIXELS];
    cr_assert_eq(bl_image_mnist_normalize(img, 1, out), BL_OK);
    int w, h;
    double cx, cy;
    mnist_stats(out, &w, &h, &cx, &cy);
    cr_assert_leq(w, 20);
    cr_assert_leq(h, 20);
    cr_assert(w == 20 || h == 20, "longer side is 20 (%d x %d)", w, h);
    cr_assert_leq(fabs(cx - 14), 1.0, "cx %f", cx);
    cr_assert_leq(fabs(cy - 14), 1.0, "cy %f", cy);
    /* Anti-aliasing leaves gray levels on the slanted stroke. */
    int grays = 0;
    for (int i = 0; i < BL_MNIST_PIXELS; i++)
        grays += out[i] > 0 && out[i] < 255;
    cr_assert_gt(grays, 0);
    bl_image_destroy(&img);
}

Test(image, mnist_keeps_aspect_of_thin_digit)
{
    /* A "1": a 4 x 60 bar becomes about 1 x 20, upright, centred. */
    bl_image *img = bl_image_new(30, 80);
    for (int y = 10; y < 70; y++)
        for (int x = 3; x < 7; x++)
            BL_PIX(img, x, y) = 255;
    uint8_t out[BL_MNIST_PIXELS];
    cr_assert_eq(bl_image_mnist_normalize(img, 0, out), BL_OK);
    int w, h;
    double cx, cy;
    mnist_stats(out, &w, &h, &cx, &cy);
    cr_assert_eq(h, 20);
    cr_assert_leq(w, 2);
    cr_assert_leq(fabs(cx - 14), 1.0);
    cr_assert_leq(fabs(cy - 14), 1.0);
    bl_image_destroy(&img);
}

Test(image, mnist_enlarges_small_gray_digit)
{
    bl_image *img = bl_image_new(10, 10);
    for (int y = 2; y < 7; y++)
        for (int x = 4; x < 8; x++)
            BL_PIX(img, x, y) = 200;
    uint8_t out[BL_MNIST_PIXELS];
    cr_assert_eq(bl_image_mnist_normalize(img, 0, out), BL_OK);
    int w, h;
    double cx, cy;
    mnist_stats(out, &w, &h, &cx, &cy);
    cr_assert_eq(h, 20);
    cr_assert_eq(w, 16);
    cr_assert_eq(out[14 * 28 + 14], 200, "gray ink keeps its level");
    cr_assert_leq(fabs(cx - 14), 1.0);
    cr_assert_leq(fabs(cy - 14), 1.0);
    bl_image_destroy(&img);
}

Test(image, mnist_of_empty_crop_is_enoent)
{
    bl_image *img = bl_image_new(12, 9);
    uint8_t out[BL_MNIST_PIXELS];
    memset(out, 0x5a, sizeof out);
    cr_assert_eq(bl_image_mnist_normalize(img, 1, out), BL_ENOENT);
    for (int i = 0; i < BL_MNIST_PIXELS; i++)
        cr_assert_eq(out[i], 0);
    bl_image_destroy(&img);
}
