/*
 * touching: runs of touching hand-written digits with the owner of every
 * ink pixel known, for training and measuring the digit separator
 * (segment/separate.h).
 *
 * A run is drawn the way the sample generator writes a touching field
 * (samples_page): one writer (ink height 50-110 px, slant -0.15..0.35 or
 * one writer in ten 0.45..0.6, pen curve and darkness, a broad pen one
 * time in seven), each digit of height and slant varied around the
 * writer's, on a jittered baseline, and each next digit moved left until
 * its ink meets the one before and overlaps it by 0-3 px. The run is then
 * binarised at a scanner's threshold (60-180 of the ink level).
 */
#ifndef BL_TOUCHING_H
#define BL_TOUCHING_H

#include <stdint.h>

#include "mnist/mnist.h"
#include "nn/nn.h"

#define BL_TOUCHING_MAX 3

typedef struct bl_touching_run {
    int w, h;                  /* raster size */
    uint8_t *ink;              /* w * h, 1 = ink after binarising */
    uint8_t *own;              /* w * h, bit i set where digit i inked */
    int k;                     /* digits, left to right */
    int digit[BL_TOUCHING_MAX];
} bl_touching_run;

/* Draws a run of k (1..BL_TOUCHING_MAX) digits of m chosen at random.
 * Returns 0 when no ink survives binarising (the caller draws again). */
int bl_touching_run_draw(const bl_mnist *m, bl_nn_rng *rng, int k, bl_touching_run *run);
void bl_touching_run_free(bl_touching_run *run);

#endif
