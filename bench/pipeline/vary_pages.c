/*
 * vary_pages: makes a large batch of distinct pages from a few generated
 * ones, for the pipeline's memory benchmark (bench/pipeline/run.sh).
 *
 *   vary_pages OUT_DIR COPIES IN.tif...
 *
 * Writes COPIES copies of every bilevel TIFF given (single- or
 * multi-page), as OUT_DIR/copy-NNN/NAME, each page of a copy marked with
 * the copy's number in binary as 3x3-pixel dots in the bottom-left margin
 * (16 bits; the dots invert the pixels, so they show on a dark scanner
 * edge too). The marks change the
 * decoded page, so every copy has its own content hash and the writer
 * stores it rather than counting it as a duplicate scan; they are far from
 * any form field, and ingest's despeckling removes them. Output is CCITT
 * G4 with the input's resolution tags. Generating pages with `blotter
 * samples` costs about 0.25 s of CPU each; a copy costs a few ms.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>

/* Copies the page t is on into o, marked. */
static int vary_page(TIFF *t, TIFF *o, const char *in, unsigned copy)
{
    uint32_t w = 0, h = 0;
    uint16_t bps = 0, spp = 1, photo = PHOTOMETRIC_MINISWHITE, unit = RESUNIT_INCH;
    float xres = 300, yres = 300;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &photo);
    TIFFGetField(t, TIFFTAG_XRESOLUTION, &xres);
    TIFFGetField(t, TIFFTAG_YRESOLUTION, &yres);
    TIFFGetFieldDefaulted(t, TIFFTAG_RESOLUTIONUNIT, &unit);
    if (bps != 1 || spp != 1 || w < 200 || h < 200) {
        return fprintf(stderr, "vary_pages: %s: not a bilevel page\n", in), 1;
    }
    tmsize_t line = TIFFScanlineSize(t);
    uint8_t *img = calloc((size_t)h, (size_t)line);
    for (uint32_t y = 0; y < h; y++)
        if (TIFFReadScanline(t, img + (size_t)y * line, y, 0) < 0) {
            free(img);
            return fprintf(stderr, "vary_pages: %s: row %u unreadable\n", in, y), 1;
        }
    for (int bit = 0; bit < 16; bit++) {
        if (!((copy >> bit) & 1))
            continue;
        uint32_t x0 = 40 + 8 * (uint32_t)bit, y0 = h - 40;
        for (uint32_t y = y0; y < y0 + 3; y++)
            for (uint32_t x = x0; x < x0 + 3; x++) {
                uint8_t *b = img + (size_t)y * line + x / 8, m = (uint8_t)(0x80 >> (x % 8));
                *b ^= m;
            }
    }

    TIFFSetField(o, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(o, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(o, TIFFTAG_BITSPERSAMPLE, 1);
    TIFFSetField(o, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(o, TIFFTAG_PHOTOMETRIC, photo);
    TIFFSetField(o, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
    TIFFSetField(o, TIFFTAG_FILLORDER, FILLORDER_MSB2LSB);
    TIFFSetField(o, TIFFTAG_ROWSPERSTRIP, h);
    TIFFSetField(o, TIFFTAG_XRESOLUTION, xres);
    TIFFSetField(o, TIFFTAG_YRESOLUTION, yres);
    TIFFSetField(o, TIFFTAG_RESOLUTIONUNIT, unit);
    int rc = 0;
    for (uint32_t y = 0; y < h && !rc; y++)
        rc = TIFFWriteScanline(o, img + (size_t)y * line, y, 0) < 0;
    if (!rc)
        rc = !TIFFWriteDirectory(o);
    free(img);
    return rc;
}

static int vary(const char *in, const char *out, unsigned copy)
{
    TIFF *t = TIFFOpen(in, "r");
    if (!t)
        return fprintf(stderr, "vary_pages: %s: cannot open\n", in), 1;
    TIFF *o = TIFFOpen(out, "w");
    if (!o) {
        TIFFClose(t);
        return fprintf(stderr, "vary_pages: %s: cannot create\n", out), 1;
    }
    int rc = 0;
    do
        rc = vary_page(t, o, in, copy);
    while (!rc && TIFFReadDirectory(t));
    TIFFClose(t);
    TIFFClose(o);
    if (rc)
        fprintf(stderr, "vary_pages: %s: write failed\n", out);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: vary_pages OUT_DIR COPIES IN.tif...\n");
        return 2;
    }
    const char *dir = argv[1];
    int copies = atoi(argv[2]);
    if (copies < 1 || copies > 65535)
        return fprintf(stderr, "vary_pages: COPIES must be 1..65535\n"), 2;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return fprintf(stderr, "vary_pages: %s: %s\n", dir, strerror(errno)), 1;
    for (int c = 1; c <= copies; c++) {
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/copy-%03d", dir, c);
        if (mkdir(sub, 0755) != 0 && errno != EEXIST)
            return fprintf(stderr, "vary_pages: %s: %s\n", sub, strerror(errno)), 1;
        for (int i = 3; i < argc; i++) {
            const char *name = strrchr(argv[i], '/');
            name = name ? name + 1 : argv[i];
            char out[8192];
            snprintf(out, sizeof out, "%s/%s", sub, name);
            if (vary(argv[i], out, (unsigned)c))
                return 1;
        }
    }
    return 0;
}
