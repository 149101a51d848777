/*
 * image: rasters, reading and writing scans, and the raster operations the
 * stages share (binarisation, connected components, resampling, the MNIST
 * digit normalisation).
 *
 * A bl_image is 8 bits per sample, one channel (gray), row-major with an
 * explicit stride. Binarised images use 1 for ink and 0 for paper, so a
 * component's pixel count is a plain sum. Grayscale images use 0 = black,
 * 255 = white, as scanners deliver them. Bit-packed (1 bit per pixel)
 * forms exist only at the file and message boundaries.
 */
#ifndef BL_IMAGE_H
#define BL_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

typedef struct bl_image {
    int width;    /* pixels */
    int height;   /* pixels */
    int stride;   /* bytes per row, >= width */
    uint8_t *data;
    int owns;     /* 1 if data is freed by bl_image_destroy */
} bl_image;

/* A box in pixel coordinates: x, y of the top-left corner, width, height. */
typedef struct bl_box {
    int x, y, w, h;
} bl_box;

/* Limits applied while decoding, before anything is allocated. */
typedef struct bl_image_limits {
    uint64_t max_pixels;     /* per page; default 100,000,000 */
    uint32_t max_pages;      /* per file; default 10,000 */
    uint64_t max_file_bytes; /* default 2 GiB */
} bl_image_limits;

void bl_image_limits_default(bl_image_limits *limits);

/* New zero-filled image. Aborts on out-of-memory; width/height must be
 * positive and their product checked by the caller against limits. */
bl_image *bl_image_new(int width, int height);
void bl_image_destroy(bl_image **self);

/* A deep copy of the box region (clipped to the image). */
bl_image *bl_image_crop(const bl_image *self, bl_box box);

#define BL_PIX(img, x, y) ((img)->data[(size_t)(y) * (size_t)(img)->stride + (size_t)(x)])

/* ---- Files --------------------------------------------------------------
 * A scan file holds one or more pages. Pages come out as 8-bit grayscale
 * (0 black .. 255 white) whatever the file's own format (bilevel, 16-bit,
 * RGB, palette are all converted), with the resolution from the file's tags.
 */
typedef enum { BL_FILE_UNKNOWN = 0, BL_FILE_TIFF, BL_FILE_PNG } bl_file_kind;

typedef struct bl_page_info {
    double dpi_x, dpi_y;   /* resolution; 300 assumed when absent */
    int dpi_assumed;       /* 1 if the file had no resolution tags */
    int bits_per_sample;   /* as stored in the file: 1, 8, 16 */
    int bilevel;           /* 1 if the file page is 1 bit per pixel */
} bl_page_info;

typedef struct bl_scan bl_scan; /* an open scan file */

/* Opens a file, sniffs its kind by magic bytes and counts its pages.
 * Refuses unknown kinds with a message saying what the file looks like. */
bl_scan *bl_scan_open(const char *path, const bl_image_limits *limits,
                      bl_err *err);
void bl_scan_close(bl_scan **self);
int bl_scan_page_count(const bl_scan *self);
bl_file_kind bl_scan_kind(const bl_scan *self);

/* Decodes page `index` (0-based). Errors name the file and the page
 * ("a.tif: page 2: ..."). A failed page leaves the scan usable for the
 * others. */
bl_image *bl_scan_read_page(bl_scan *self, int index, bl_page_info *info,
                            bl_err *err);

/* Writers, for the sample generator, tests and review crops.
 * bl_image_write_png writes 8-bit gray; with `bilevel` set, a binarised
 * image (1 = ink) is written as 1-bit black on white. */
int bl_image_write_png(const bl_image *self, const char *path, double dpi,
                       int bilevel, bl_err *err);

/* Writes pages as one TIFF: CCITT Group 4 bilevel when `bilevel` (pages are
 * binarised, 1 = ink; written with MINISWHITE), else 8-bit gray, deflate. */
int bl_image_write_tiff(const bl_image *const *pages, int npages,
                        const char *path, double dpi, int bilevel, bl_err *err);

/* ---- Operations --------------------------------------------------------- */

/* Otsu (1979) global threshold of an 8-bit gray image: the level that
 * maximises between-class variance. Returns 0..255. */
int bl_image_otsu_level(const bl_image *gray);

/* New binarised image: 1 where gray <= level (ink), else 0. */
bl_image *bl_image_binarize(const bl_image *gray, int level);

/* Scales a gray image by (sx, sy) with area averaging (down) or bilinear
 * interpolation (up). */
bl_image *bl_image_scale(const bl_image *gray, double sx, double sy);

/* Connected components of ink (value != 0), 8-connected. */
typedef struct bl_component {
    bl_box box;
    int pixels;    /* ink pixels */
    int label;     /* 1-based label in the label map, if requested */
} bl_component;

/* Finds components; *out is a new array of *count entries (free()).
 * If labels is non-NULL it receives a new width*height int array of
 * labels (0 = background), freed by the caller. */
int bl_image_components(const bl_image *bin, bl_component **out, int *count,
                        int **labels, bl_err *err);

/* MNIST normalisation (LeCun et al. 1998): the ink's bounding box is scaled
 * to fit 20x20 keeping its aspect ratio, anti-aliased to gray levels, and
 * placed in a 28x28 image so that its centre of mass is at the centre.
 * `src` is binarised (1 = ink) or gray-ink (0 = paper, 255 = full ink) as
 * `src_is_binary` says; `out` is 784 bytes, 0 = paper, 255 = ink (the MNIST
 * convention). A crop with no ink yields all zeros and returns BL_ENOENT. */
#define BL_MNIST_SIDE 28
#define BL_MNIST_PIXELS (BL_MNIST_SIDE * BL_MNIST_SIDE)
int bl_image_mnist_normalize(const bl_image *src, int src_is_binary,
                             uint8_t out[BL_MNIST_PIXELS]);

#endif
