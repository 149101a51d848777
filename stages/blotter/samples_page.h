/*
 * samples_page: renders one synthetic archive page with its ground truth,
 * for `blotter samples`.
 *
 * A page is an A4 form at 200, 300 or 400 dpi in one of three layouts
 * (arrest record, incident report, property receipt), each a fixed design
 * (samples_forms: every guide, label and line at its template position,
 * the whole sheet shifted by up to +-50 px at 300 dpi per page), or, with
 * probability `unlisted`, a form of unknown design laid out by the flowing
 * generator (random styles, fields in rows; layout names "unlisted_*"):
 * printed title, department line, instructions, labels, boilerplate and a
 * form number in DejaVu fonts (samples_text), ruled lines, boxes, comb
 * boxes, a photograph frame, a narrative section or an item table, a
 * signature line; then 4-10 hand-written numeric fields of MNIST digits
 * (samples_page.c; on a known design each value obeys its field's rule and
 * the writing is fitted into the field's template box), stamps and a
 * signature scribble that are not fields; then the scanner
 * (samples_scan): skew, quarter turns, blur, dark edges, speckle, sensor
 * noise, threshold. The odd page is blank.
 *
 * Randomness: four independent SplitMix64 streams derived from the page
 * seed (layout and writing; artefacts; sensor noise; the unlisted draw),
 * and every random draw
 * is made whatever the options say, so changing an artefact's probability
 * changes that artefact only: the same seed with `--rotate 0` gives the
 * same form and writing, upright.
 *
 * Truth: every digit's box is the axis-aligned box of its own ink in the
 * output file (after skew, quarter turn, resolution, blur and threshold);
 * a field's box is the union of its digits' boxes.
 *
 * Limits: digits only (no letters, separators or decimal points in the
 * writing); one writer per page; printed text never overlaps writing;
 * stamps and scribbles keep clear of the fields.
 */
#ifndef BL_SAMPLES_PAGE_H
#define BL_SAMPLES_PAGE_H

#include <stdint.h>

#include "blotter/samples_text.h"
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

#define BL_SAMPLES_DPI 300 /* default resolution */
#define BL_SAMPLES_MIN_FIELDS 4
#define BL_SAMPLES_MAX_FIELDS 10
#define BL_SAMPLES_MAX_DIGITS 10
#define BL_SAMPLES_NAME_MAX 32

/* A4 (210 x 297 mm) in pixels at dpi. */
void bl_samples_page_size(int dpi, int *width, int *height);

/* Artefact probabilities (per page unless said), each 0..1, and limits. */
typedef struct bl_samples_options {
    int dpi;          /* 200, 300 or 400 */
    double rotate;    /* page turned 90/180/270 (equally likely); 0.10 */
    double skew;      /* largest |skew| in degrees, uniform; 5 */
    double noise;     /* speckle and dirt; 0.50 */
    double blur;      /* strong blur with thin-broken or fat strokes; 0.25 */
    double stamp;     /* a rubber stamp; 0.40 */
    double scribble;  /* a signature scribble on the signature line; 0.70 */
    double edges;     /* dark scanner edges; 0.25 */
    double blank;     /* a blank page; 0.02 */
    double touching;  /* per field: touching or overlapping digits; 0.10 */
    double cross;     /* per field: a printed line crosses the digits; 0.10 */
    double unlisted;  /* a form of unknown design (flowing layout); 0.15 */
    int hand;         /* BL_HAND_*: who writes; BL_HAND_MNIST */
} bl_samples_options;

/* Hands: MNIST's digits as drawn (slant -0.15..0.35, varied pen), or one
 * heavy writer for every field: a broad pen (strokes thickened by about a
 * tenth of the digit height) and a strong right slant (0.45..0.6), a
 * style the MNIST-trained classifier has not seen. */
enum { BL_HAND_MNIST = 0, BL_HAND_HEAVY = 1 };

void bl_samples_options_default(bl_samples_options *opt);

typedef enum {
    BL_STYLE_BOX = 0,       /* written in a printed box */
    BL_STYLE_UNDERLINE = 1, /* on a printed underline */
    BL_STYLE_COMB = 2,      /* one digit per cell of a comb */
    BL_STYLE_FREE = 3       /* after its label, no printed guide */
} bl_samples_style;

const char *bl_samples_style_name(bl_samples_style style); /* "box", ... */

typedef struct bl_samples_field {
    char name[BL_SAMPLES_NAME_MAX];          /* unique within the page */
    char value[BL_SAMPLES_MAX_DIGITS + 1];   /* the digit string */
    bl_box box;                              /* union of the digit boxes */
    int ndigits;
    bl_box digits[BL_SAMPLES_MAX_DIGITS];    /* ink box of each digit */
    bl_samples_style style;
    int touching;                            /* neighbouring digits touch */
    int crossing;                            /* a printed line crosses it */
    char rule[128];                          /* template rule; "" if unlisted */
} bl_samples_field;

typedef struct bl_samples_page {
    char layout[BL_SAMPLES_NAME_MAX];        /* "blank" for a blank page */
    int width, height;                       /* output file pixels */
    int dpi;
    int rotation;                            /* 0/90/180/270 clockwise */
    double skew;                             /* degrees, clockwise */
    int blank;
    int shift_x, shift_y;                    /* sheet shift, px at 300 dpi */
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

/* Renders the page that `seed` determines: a new image, 8-bit gray
 * (0 = black) when gray_out, else binarised (1 = ink), and its truth. */
bl_image *bl_samples_render_page(const bl_samples_source *src,
                                 bl_samples_fonts *fonts,
                                 const bl_samples_options *opt, uint64_t seed,
                                 int gray_out, bl_samples_page *truth);

#endif
