/*
 * segment: cuts one field crop into its digits, left to right, and
 * normalises each the MNIST way. Pure function; no sockets.
 */
#ifndef BL_SEGMENT_H
#define BL_SEGMENT_H

#include "image/image.h"
#include "util/util.h"

typedef struct bl_segment_digit {
    bl_box box;                      /* in the crop's pixels */
    uint8_t pixels[BL_MNIST_PIXELS]; /* MNIST-normalised, 255 = ink */
} bl_segment_digit;

/* Splits a binarised field crop (1 = ink). *digits is a new array (free())
 * of *count digits in left-to-right order. */
int bl_segment_field(const bl_image *crop, bl_segment_digit **digits,
                     int *count, bl_err *err);

#endif
