/*
 * detect: finds the hand-written numeric fields on a normalised page.
 * Pure function: page in, boxes out; no sockets.
 */
#ifndef BL_DETECT_H
#define BL_DETECT_H

#include "image/image.h"
#include "util/util.h"

/* Finds field boxes on a binarised 300-dpi page (1 = ink). *boxes is a new
 * array (free()) of *count boxes in reading order (top to bottom, then left
 * to right), in page pixels. */
int bl_detect_fields(const bl_image *page, bl_box **boxes, int *count,
                     bl_err *err);

#endif
