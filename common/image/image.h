/*
 * image: rasters, reading and writing scans, and the raster operations the
 * stages share (binarisation, connected components, resampling, the MNIST
 * digit normalisation).
 *
 * A bl_image is 8 bits per sample, one channel (gray), row-major with an
 * explicit stride. Binarised images use 1 for ink and 0 for paper, so a
 * component's pixel count is a plain sum. Grayscale images use 0 = black,
 * 255 = white, as scanners deliver them. Bit-packed (1 bit per pixel)
 * forms exist at the file and message boundaries and as bl_bitmap
 * (bitmap.h), on which ingest cleans and levels its pages.
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

/* Content hash of a raster, for recognising a page fed twice: FNV-1a 64
 * (offset basis 0xcbf29ce484222325, prime 0x100000001b3) taken over 64-bit
 * words instead of bytes: first the width and the height (one word each),
 * then each row's bytes as little-endian words, the last word of a row
 * zero-padded. Stable across hosts and releases; about eight times faster
 * than byte-wise FNV-1a, and not cryptographic. */
uint64_t bl_image_content_hash(const bl_image *self);

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

/* ---- Page normalisation (binarize.c, clean.c, skew.c, rotate.c) ---------
 * Binary images here are the binarised kind above (1 = ink, 0 = paper).
 * Angles are degrees, positive = clockwise as displayed (y grows down).
 */

/* Sauvola and Pietikainen (2000) adaptive threshold over a square window of
 * side 2 * half + 1 pixels (clipped at the borders):
 *   T(x,y) = m (1 + k (s / R - 1)),  R = 128,
 * with m and s the window's mean and standard deviation; ink where
 * gray <= T. Pixels darker than BL_SAUVOLA_SOLID are ink whatever their
 * window says, so solid dark areas (scanner edges, stamps) stay solid.
 * 1 <= half <= BL_SAUVOLA_MAX_HALF (window sums of squares stay in 31
 * bits), 0 < k < 1; at 300 dpi half = 15, k = 0.2 suit handwriting.
 * Returns a new binary image. */
#define BL_SAUVOLA_SOLID 48
#define BL_SAUVOLA_MAX_HALF 90
bl_image *bl_image_binarize_sauvola(const bl_image *gray, int half, double k);

/* Number of ink pixels. */
uint64_t bl_image_ink_count(const bl_image *bin);

/* Removes, in place, every 8-connected ink component with at most
 * max_pixels pixels whose box fits in max_side x max_side. Returns the
 * number of components removed, or a negative BL_E code. */
int bl_image_despeckle(bl_image *bin, int max_pixels, int max_side, bl_err *err);

/* Removes, in place, dark bands along the image border (scanner lid and
 * edge shadows): on each side where ink touches at least a fifth of the
 * border, the ink run from the border inward is cleared at each position,
 * clipped to a running median of its neighbours' runs plus a margin so a
 * ruled line that happens to touch a band is not eaten along its length.
 * Returns a bit mask of the sides cleaned: 1 top, 2 right, 4 bottom,
 * 8 left. */
int bl_image_remove_dark_edges(bl_image *bin);

/* New image that reduces a binary image by an integer factor >= 1: each
 * output pixel holds the number of ink pixels in its factor x factor block
 * (partial blocks at the right and bottom edges count what they cover). */
bl_image *bl_image_reduce_ink(const bl_image *bin, int factor);

/* New image: the transpose of src (any 8-bit image). */
bl_image *bl_image_transpose(const bl_image *src);

/* Skew of horizontal lines (text, rules) found by Postl's (1986)
 * projection-profile criterion, as leptonica's skew.c does: the image is
 * sheared by candidate angles and the sum of squared differences of
 * adjacent row sums is maximal when the lines are level. */
typedef struct bl_skew_est {
    double angle;  /* degrees the page is turned, clockwise positive */
    double score;  /* the criterion at angle, per ink pixel */
    double conf;   /* best score / the sweep's worst; ~1 means no lines */
} bl_skew_est;

/* From a reduction by 2 of the binary page (bl_image_reduce_ink(bin, 2)):
 * a sweep over +-max_deg at 0.5 degrees on a further 4x reduction, then a
 * refinement on a 2x reduction of it to a few hundredths of a degree. max_deg <= 45.
 * BL_ENOENT (and est->conf 0) when the image has no ink. */
int bl_image_skew_from_reduced(const bl_image *red2, double max_deg, bl_skew_est *est);
/* The same from a full-resolution binary image. */
int bl_image_find_skew(const bl_image *bin, double max_deg, bl_skew_est *est);

/* An affine map of point coordinates (pixel corners at integers, the centre
 * of pixel (i, j) at (i + 0.5, j + 0.5)):
 *   x' = a x + b y + c,  y' = d x + e y + f. */
typedef struct bl_affine {
    double a, b, c, d, e, f;
} bl_affine;

/* outer after inner: (outer o inner)(p) = outer(inner(p)). */
bl_affine bl_affine_compose(bl_affine outer, bl_affine inner);
void bl_affine_apply(bl_affine t, double x, double y, double *ox, double *oy);

/* The map from destination points to source points when the content of a
 * src_w x src_h image is turned clockwise by deg about its centre into a
 * dst_w x dst_h image with the same centre. Multiples of 90 degrees are
 * exact. */
bl_affine bl_image_rotation_map(int src_w, int src_h, int dst_w, int dst_h, double deg);

/* New image: src (any 8-bit image) turned clockwise by quarter_turns * 90
 * degrees (any integer; taken mod 4), exactly. If to_src is non-NULL it
 * receives the map from the result's points to src's points. */
bl_image *bl_image_rotate_quarter(const bl_image *src, int quarter_turns, bl_affine *to_src);

/* New image of src's size: a binary (or any 8-bit) src turned clockwise by
 * deg about its centre by three shears (Paeth 1986, as leptonica's
 * pixRotateShear): x-shear by -tan(deg/2), y-shear by sin(deg), x-shear
 * again, each a per-row or per-segment memcpy with a rounded shift, so it
 * is several times faster than inverse mapping. The composed shears are
 * exactly the rotation; the rounding of each shift displaces a pixel by at
 * most 1.5 pixels from where bl_image_rotation_map(w, h, w, h, deg) puts
 * it, which is the map *to_src receives. |deg| <= 45; outside src is 0. */
bl_image *bl_image_rotate_shear(const bl_image *src, double deg, bl_affine *to_src);

/* New dst_w x dst_h image (both > 0): src turned clockwise by deg about the
 * centres, by inverse mapping with nearest-neighbour sampling (exact for
 * binary images: no new values). Outside src is `fill`. If to_src is
 * non-NULL it receives the map from the result's points to src's points.
 * Limits: nearest neighbour, so repeated rotations accumulate jaggies. */
bl_image *bl_image_rotate(const bl_image *src, double deg, int dst_w, int dst_h, uint8_t fill,
                          bl_affine *to_src);

#endif
