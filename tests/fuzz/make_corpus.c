/*
 * make_corpus: writes the seed corpus of tests/fuzz/corpus (kept in git;
 * rerun only to change it): a few small valid TIFF and PNG files made by
 * our own writers, and damaged variants of each, the kinds archives hold:
 * truncated files, headers that lie (huge, zero or negative-looking sizes,
 * absurd samples per pixel and bit depths), unknown or wrong compression,
 * zero-size and out-of-file strips, directory loops, broken checksums.
 *
 *   make_corpus OUTDIR      (writes OUTDIR/tiff/... and OUTDIR/png/...)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/image.h"

typedef struct buf {
    uint8_t *d;
    size_t n;
} buf;

static const char *out_dir;

static buf slurp(const char *path)
{
    buf b = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        exit(1);
    fseek(f, 0, SEEK_END);
    b.n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    b.d = bl_xmalloc(b.n);
    if (fread(b.d, 1, b.n, f) != b.n)
        exit(1);
    fclose(f);
    return b;
}

static void put(const char *kind, const char *name, const uint8_t *d, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, kind, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(d, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "make_corpus: cannot write %s\n", path);
        exit(1);
    }
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The entry of `tag` in the first directory of a little-endian TIFF. */
static uint8_t *tiff_entry(buf *b, uint16_t tag)
{
    uint32_t ifd = rd32(b->d + 4);
    uint16_t n = rd16(b->d + ifd);
    for (uint16_t i = 0; i < n; i++) {
        uint8_t *e = b->d + ifd + 2 + 12 * i;
        if (rd16(e) == tag)
            return e;
    }
    return NULL;
}

/* A copy of b with tag's value (short or long, inline) set to v. */
static void tiff_lie(const buf *src, const char *name, uint16_t tag, uint32_t v)
{
    buf b = {bl_xmalloc(src->n), src->n};
    memcpy(b.d, src->d, src->n);
    uint8_t *e = tiff_entry(&b, tag);
    if (e) {
        if (rd16(e + 2) == 3) { /* SHORT */
            e[8] = (uint8_t)v;
            e[9] = (uint8_t)(v >> 8);
        } else {
            wr32(e + 8, v);
        }
        put("tiff", name, b.d, b.n);
    }
    free(b.d);
}

static void truncations(const char *kind, const char *stem, const buf *b)
{
    const double fr[] = {0.1, 0.5, 0.9};
    char name[128];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "%s-truncated-%d", stem, (int)(fr[i] * 100));
        put(kind, name, b->d, (size_t)(b->n * fr[i]));
    }
    snprintf(name, sizeof name, "%s-header-only", stem);
    put(kind, name, b->d, b->n < 16 ? b->n : 16);
}

/* PNG chunk surgery: a copy with IHDR field at offset off (from the chunk
 * data start) set, CRC fixed when fix_crc. */
static void png_lie(const buf *src, const char *name, int off, const uint8_t *v, int len,
                    int fix_crc)
{
    buf b = {bl_xmalloc(src->n), src->n};
    memcpy(b.d, src->d, src->n);
    uint8_t *data = b.d + 16; /* 8 signature + 4 length + 4 "IHDR" */
    memcpy(data + off, v, (size_t)len);
    if (fix_crc) {
        uint32_t c = bl_crc32(0, b.d + 12, 4 + 13);
        uint8_t *crc = data + 13;
        crc[0] = (uint8_t)(c >> 24);
        crc[1] = (uint8_t)(c >> 16);
        crc[2] = (uint8_t)(c >> 8);
        crc[3] = (uint8_t)c;
    }
    put("png", name, b.d, b.n);
    free(b.d);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus OUTDIR\n");
        return 2;
    }
    out_dir = argv[1];
    char path[4096];
    snprintf(path, sizeof path, "%s/tiff", out_dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/png", out_dir);
    mkdir(path, 0755);

    /* Small pages with some structure for the decoders to chew on. */
    bl_image *bin = bl_image_new(96, 64), *gray = bl_image_new(40, 30);
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 96; x++)
            BL_PIX(bin, x, y) = ((x / 7 + y / 5) % 3 == 0) || (y > 20 && y < 24);
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 40; x++)
            BL_PIX(gray, x, y) = (uint8_t)(x * 6 + y * 2);
    bl_err err = {0};
    char tmp[] = "/tmp/bl-make-corpus-XXXXXX";
    if (!mkdtemp(tmp))
        return 1;
    const bl_image *pages[2] = {bin, bin};
    char g4[4200], gz[4200], pg[4200], pb[4200];
    snprintf(g4, sizeof g4, "%s/g4.tif", tmp);
    snprintf(gz, sizeof gz, "%s/gray.tif", tmp);
    snprintf(pg, sizeof pg, "%s/gray.png", tmp);
    snprintf(pb, sizeof pb, "%s/bilevel.png", tmp);
    if (bl_image_write_tiff(pages, 2, g4, 300, 1, &err) ||
        bl_image_write_tiff((const bl_image *const *)&gray, 1, gz, 200, 0, &err) ||
        bl_image_write_png(gray, pg, 300, 0, &err) || bl_image_write_png(bin, pb, 300, 1, &err)) {
        fprintf(stderr, "make_corpus: %s\n", err.msg);
        return 1;
    }
    buf t1 = slurp(g4), t2 = slurp(gz), p1 = slurp(pg), p2 = slurp(pb);
    remove(g4);
    remove(gz);
    remove(pg);
    remove(pb);
    remove(tmp);

    put("tiff", "valid-g4-2pages", t1.d, t1.n);
    put("tiff", "valid-gray-deflate", t2.d, t2.n);
    truncations("tiff", "g4", &t1);
    truncations("tiff", "gray", &t2);
    tiff_lie(&t1, "g4-width-huge", 256, 0x7fffffffu);
    tiff_lie(&t1, "g4-height-huge", 257, 0xffffffffu);
    tiff_lie(&t1, "g4-width-zero", 256, 0);
    tiff_lie(&t1, "g4-height-65535", 257, 65535);
    tiff_lie(&t1, "g4-rows-per-strip-zero", 278, 0);
    tiff_lie(&t1, "g4-strip-bytes-zero", 279, 0);
    tiff_lie(&t1, "g4-strip-bytes-huge", 279, 0x7fffffffu);
    tiff_lie(&t1, "g4-strip-offset-past-end", 273, 0x00ffffffu);
    tiff_lie(&t1, "g4-compression-jpeg", 259, 7);
    tiff_lie(&t1, "g4-compression-unknown", 259, 31337);
    tiff_lie(&t1, "g4-compression-none", 259, 1);
    tiff_lie(&t1, "g4-compression-g3", 259, 3);
    tiff_lie(&t1, "g4-bits-3", 258, 3);
    tiff_lie(&t1, "g4-bits-32", 258, 32);
    tiff_lie(&t1, "g4-samples-9", 277, 9);
    tiff_lie(&t1, "g4-photometric-palette-no-map", 262, 3);
    tiff_lie(&t1, "g4-photometric-ycbcr", 262, 6);
    tiff_lie(&t2, "gray-width-huge", 256, 200000);
    tiff_lie(&t2, "gray-bits-16", 258, 16);
    tiff_lie(&t2, "gray-predictor-bogus", 317, 7);
    tiff_lie(&t2, "gray-compression-lzw", 259, 5);
    tiff_lie(&t2, "gray-samples-3", 277, 3);
    tiff_lie(&t2, "gray-planar-2", 284, 2);
    tiff_lie(&t2, "gray-resolution-zero", 282, 0);
    {
        /* The first directory's offset past the end, and a directory
         * chain that loops back on itself. */
        buf b = {bl_xmalloc(t1.n), t1.n};
        memcpy(b.d, t1.d, t1.n);
        wr32(b.d + 4, 0x7ffffff0u);
        put("tiff", "ifd-offset-past-end", b.d, b.n);
        memcpy(b.d, t1.d, t1.n);
        uint32_t ifd = rd32(b.d + 4);
        uint16_t n = rd16(b.d + ifd);
        wr32(b.d + ifd + 2 + 12 * n, ifd);
        put("tiff", "ifd-loop", b.d, b.n);
        memcpy(b.d, t1.d, t1.n);
        b.d[ifd] = 0xff;
        b.d[ifd + 1] = 0xff;
        put("tiff", "ifd-count-huge", b.d, b.n);
        /* Flipped bits through the compressed strip. */
        memcpy(b.d, t1.d, t1.n);
        for (size_t i = 8; i < b.n / 2; i += 7)
            b.d[i] ^= 0x5a;
        put("tiff", "g4-strip-garbled", b.d, b.n);
        free(b.d);
    }
    put("tiff", "bigtiff-header-only", (const uint8_t *)"II+\0\x08\0\0\0\x10\0\0\0\0\0\0\0", 16);
    put("tiff", "motorola-header-only", (const uint8_t *)"MM\0*\0\0\0\x08", 8);

    put("png", "valid-gray", p1.d, p1.n);
    put("png", "valid-bilevel", p2.d, p2.n);
    truncations("png", "gray", &p1);
    truncations("png", "bilevel", &p2);
    const uint8_t huge[4] = {0x7f, 0xff, 0xff, 0xff}, zero[4] = {0, 0, 0, 0},
                  big[4] = {0, 0, 0x9c, 0x40}, depth3[1] = {3}, color5[1] = {5},
                  interlace9[1] = {9}, depth16[1] = {16}, rgb[1] = {2};
    png_lie(&p1, "width-huge", 0, huge, 4, 1);
    png_lie(&p1, "height-huge", 4, huge, 4, 1);
    png_lie(&p1, "width-zero", 0, zero, 4, 1);
    png_lie(&p1, "height-40000", 4, big, 4, 1);
    png_lie(&p1, "width-huge-bad-crc", 0, huge, 4, 0);
    png_lie(&p1, "bit-depth-3", 8, depth3, 1, 1);
    png_lie(&p1, "bit-depth-16-short-data", 8, depth16, 1, 1);
    png_lie(&p1, "color-type-5", 9, color5, 1, 1);
    png_lie(&p1, "color-rgb-short-data", 9, rgb, 1, 1);
    png_lie(&p1, "interlace-9", 12, interlace9, 1, 1);
    {
        buf b = {bl_xmalloc(p1.n), p1.n};
        memcpy(b.d, p1.d, p1.n);
        for (size_t i = 41; i < b.n - 12; i += 5)
            b.d[i] ^= 0xa5;
        put("png", "idat-garbled", b.d, b.n);
        /* A chunk length that runs past the end. */
        memcpy(b.d, p1.d, p1.n);
        b.d[33] = 0x7f;
        put("png", "chunk-length-huge", b.d, b.n);
        free(b.d);
    }
    put("png", "signature-only", (const uint8_t *)"\x89PNG\r\n\x1a\n", 8);
    free(t1.d);
    free(t2.d);
    free(p1.d);
    free(p2.d);
    bl_image_destroy(&bin);
    bl_image_destroy(&gray);
    return 0;
}
