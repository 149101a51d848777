/*
 * image_internal: what the files of the image module share and nobody else
 * sees: the open-scan object, the per-format readers behind bl_scan_*, and
 * the separable resampler used by both bl_image_scale and the MNIST
 * normalisation.
 *
 * Not installed and not included outside common/image.
 */
#ifndef BL_IMAGE_INTERNAL_H
#define BL_IMAGE_INTERNAL_H

#include "image/image.h"

struct bl_tiff_reader; /* tiff.c */

struct bl_scan {
    char *path;
    bl_file_kind kind;
    bl_image_limits limits;
    int npages;
    struct bl_tiff_reader *tiff; /* TIFF only */
    uint8_t *bytes;              /* PNG only: the whole file */
    size_t nbytes;
};

/* Per-format halves of bl_scan_open / bl_scan_read_page / bl_scan_close.
 * The readers' messages carry only the reason; bl_scan_read_page prefixes
 * the file name and page, bl_scan_open the file name. */
int bl_scan_tiff_open(bl_scan *self, bl_err *err);
bl_image *bl_scan_tiff_read(bl_scan *self, int index, bl_page_info *info,
                            bl_err *err);
void bl_scan_tiff_close(bl_scan *self);

int bl_scan_png_open(bl_scan *self, bl_err *err);
bl_image *bl_scan_png_read(bl_scan *self, bl_page_info *info, bl_err *err);

/* A maximal horizontal stretch of ink in one row, inclusive. */
typedef struct bl_run {
    int x0, x1, y;
} bl_run;

/* The runs of a binarised image in raster order, united into 8-connected
 * sets (components.c): *runs and *parent are new arrays of *n entries
 * (free()); bl_run_root gives a run's set, whose root is the set's first
 * run in raster order. BL_ELIMIT past 2^30 runs. */
int bl_image_runs(const bl_image *bin, bl_run **runs, int **parent, size_t *n,
                  bl_err *err);
int bl_run_root(int *parent, int i);
/* The same runs, in the same order and united the same way, from a
 * bit-packed raster (bitmap.h). */
struct bl_bitmap;
/* Packs a row of bytes into bits, 1 where a byte is nonzero (bitmap.c);
 * padding bits 0. */
void bl_bitmap_pack_row(uint64_t *dst, const uint8_t *bits01, int width);
int bl_bitmap_runs(const struct bl_bitmap *bin, bl_run **runs, int **parent, size_t *n,
                   bl_err *err);

/* Resolutions outside this range are treated as absent: no scanner makes
 * them, and a dpi of 0 or 1e9 would wreck every later size computation. */
#define BL_DPI_MIN 10.0
#define BL_DPI_MAX 20000.0
#define BL_DPI_DEFAULT 300.0

/* One axis of a separable resampling: output sample j is the weighted sum
 * of input samples first[j] .. first[j] + taps[j] - 1 with weights
 * weight[j * max_taps + t]. */
typedef struct bl_weights {
    int n_out;
    int max_taps;
    int *first;
    int *taps;
    float *weight;
} bl_weights;

/* Box-filter (area-coverage) weights: output j covers the input interval
 * [j * n_in / n_out, (j + 1) * n_in / n_out). Averages when shrinking; when
 * enlarging it blends only across input pixel edges. */
void bl_weights_area(bl_weights *w, int n_in, int n_out);
/* Bilinear (tent) weights with pixel centres aligned. */
void bl_weights_bilinear(bl_weights *w, int n_in, int n_out);
void bl_weights_free(bl_weights *w);

/* dst (wx->n_out by wy->n_out floats, packed) = region of src, its values
 * mapped through lut, resampled horizontally then vertically. */
void bl_image_resample(float *dst, const bl_image *src, bl_box region,
                       const float lut[256], const bl_weights *wx,
                       const bl_weights *wy);

#endif
