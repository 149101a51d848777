/*
 * samples_page: renders one synthetic record-card page with its ground
 * truth, for `blotter samples`.
 *
 * A page is white A4 at 300 dpi (2480 x 3508) with printed, non-field
 * elements (title, a department line, an instruction line, a ruled line, a
 * form number, sometimes a page frame) and 4-8 hand-written numeric fields
 * of 3-10 MNIST digits each, labelled in print and written in a box, on an
 * underline or free. Digits are composed as dark ink on light paper and
 * the page is binarised at half ink; the truth boxes are the binarised ink
 * of each digit, so they are exact.
 *
 * Limits of this first version: no rotation, skew, noise, blur, slant or
 * touching digits (rotation and skew are always 0); one layout family with
 * three titles; printed digits are never next to a field's writing.
 */
#ifndef BL_SAMPLES_PAGE_H
#define BL_SAMPLES_PAGE_H

#include <stdint.h>

#include "image/image.h"
#include "mnist/mnist.h"
#include "util/util.h"

/* SplitMix64 (Steele, Lea and Flood 2014): small, fast, and the same
 * sequence on every platform, unlike rand(). */
typedef struct bl_samples_rng {
    uint64_t state;
} bl_samples_rng;

void bl_samples_rng_seed(bl_samples_rng *rng, uint64_t seed);
uint64_t bl_samples_rng_next(bl_samples_rng *rng);
/* Uniform integer in [lo, hi] (inclusive); lo <= hi. */
int bl_samples_rng_int(bl_samples_rng *rng, int lo, int hi);
/* Uniform real in [lo, hi). */
double bl_samples_rng_real(bl_samples_rng *rng, double lo, double hi);

#define BL_SAMPLES_WIDTH 2480  /* A4 at 300 dpi, pixels */
#define BL_SAMPLES_HEIGHT 3508
#define BL_SAMPLES_DPI 300
#define BL_SAMPLES_MAX_FIELDS 8
#define BL_SAMPLES_MAX_DIGITS 10
#define BL_SAMPLES_NAME_MAX 32

typedef struct bl_samples_field {
    char name[BL_SAMPLES_NAME_MAX];          /* unique within the page */
    char value[BL_SAMPLES_MAX_DIGITS + 1];   /* the digit string */
    bl_box box;                              /* union of the digit boxes */
    int ndigits;
    bl_box digits[BL_SAMPLES_MAX_DIGITS];    /* ink box of each digit */
} bl_samples_field;

typedef struct bl_samples_page {
    char layout[BL_SAMPLES_NAME_MAX];
    int width, height;                       /* pixels */
    int nfields;
    bl_samples_field fields[BL_SAMPLES_MAX_FIELDS];
} bl_samples_page;

/* The digits to draw from: an MNIST split indexed by label. Borrows mnist,
 * which must outlive the source. */
typedef struct bl_samples_source {
    const bl_mnist *mnist;
    int *by_label[10];
    int nby_label[10];
} bl_samples_source;

/* Fails with BL_EFORMAT when some digit class has no samples. */
int bl_samples_source_init(bl_samples_source *self, const bl_mnist *mnist,
                           bl_err *err);
void bl_samples_source_free(bl_samples_source *self);

/* Renders the page that `seed` determines: a new binarised image
 * (1 = ink, BL_SAMPLES_WIDTH x BL_SAMPLES_HEIGHT) and its truth. */
bl_image *bl_samples_render_page(const bl_samples_source *src, uint64_t seed,
                                 bl_samples_page *truth);

#endif
