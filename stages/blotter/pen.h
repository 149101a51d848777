/*
 * pen: an MNIST sample drawn the way a writer's pen puts it on a page, for
 * the sample generator (samples_page) and for the classifier's "page"
 * augmentation (cmd_train), so that both draw a digit the same way.
 *
 * A sample is cropped to its ink and resampled bilinearly straight into a
 * sheared, scaled glyph of ink height about h, its gray passed through the
 * pen curve: a ramp from pen_lo to pen_lo + 70 of MNIST's gray (a high
 * pen_lo gives a thin pen) up to the pen's darkness.
 */
#ifndef BL_PEN_H
#define BL_PEN_H

#include <stdint.h>

#include "image/image.h"
#include "nn/nn.h"

/* A glyph pixel at or above this is its ink. */
#define BL_PEN_INK_LEVEL 128

typedef struct bl_pen {
    double h;      /* ink height, px */
    double wscale; /* width scale against the height's */
    double slant;  /* shear: x shift per px of height above the base */
    int pen_lo;    /* pen curve start on MNIST's gray, 0..185 */
    int pen;       /* darkness 1..255 */
} bl_pen;

/* The glyph of the 28 x 28 sample px (0 = paper, 255 = ink) in pen, an
 * ink layer 0..255; *ink receives the box of its pixels >= BL_PEN_INK_LEVEL
 * (w = 0 when none reaches it). NULL when px is blank. */
bl_image *bl_pen_glyph(const uint8_t *px, const bl_pen *pen, bl_box *ink);

/* Whether a glyph's strokes are thick enough to survive a scanner's blur
 * and a thinning threshold: the ink that stays under a plus-shaped erosion
 * must span half the digit's height h. */
int bl_pen_solid_enough(const bl_image *glyph, double h);

/* Smallest horizontal ink distance from glyph a's right side to glyph b's
 * left side over the rows they share, each glyph placed with its top left
 * at (ax, ay) and (bx, by), b to the right of a; INT32_MAX when they share
 * no inked row. The sample generator moves touching neighbours by it. */
int bl_pen_ink_gap(const bl_image *a, int ax, int ay, const bl_image *b, int bx, int by);

/* Redraws a glyph with a broad pen: the dilation by a disc of radius r,
 * hard-edged like a felt marker (what stays below the ink level is
 * cleared), and *ink measured again. Ink at the glyph's border is
 * clipped, so the glyph keeps its size. */
void bl_pen_heavy(bl_image *glyph, bl_box *ink, int r);

/* The sample as the pipeline sees it once written with pen, scanned and
 * cut out: the glyph (broadened by a disc of radius heavy when heavy > 0)
 * binarised at threshold (1..255 of the pen curve) and normalised the
 * MNIST way as segment normalises a digit (bl_image_mnist_normalize of a
 * binary crop). Returns 0 and leaves out alone when no ink survives. */
int bl_pen_mnist_crop(const uint8_t *px, const bl_pen *pen, int heavy, int threshold,
                      uint8_t out[BL_MNIST_PIXELS]);

/* bl_pen_mnist_crop with a random writer and scanner drawn from rng: ink
 * height 24-100 px, width +-15%, slant -0.25..0.65, pen curve start
 * 10-130, a broad pen (radius h/20) one time in seven, threshold 50-180
 * (a scanner's fat or thin strokes). The classifier's "page" augmentation
 * and `blotter eval classify --pen` draw digits this way. */
int bl_pen_random_crop(const uint8_t *px, bl_nn_rng *rng, uint8_t out[BL_MNIST_PIXELS]);

#endif
