/*
 * segment: cuts one field crop into its digits, left to right, and
 * normalises each the MNIST way. Pure functions; no sockets.
 * docs/DETECTION.md describes the steps, the models and their limits.
 */
#ifndef BL_SEGMENT_H
#define BL_SEGMENT_H

#include "image/image.h"
#include "util/util.h"

#define BL_SEGMENT_MODEL_KIND "segment"
/* Features of one candidate cut (the cut scorer's input width). */
#define BL_SEGMENT_CUT_FEATURES 10

typedef struct bl_segment_digit {
    bl_box box;                      /* in the crop's pixels */
    uint8_t pixels[BL_MNIST_PIXELS]; /* MNIST-normalised, 255 = ink */
} bl_segment_digit;

typedef struct bl_segment bl_segment;

/* A segmenter. cut_model NULL or "" means no cut scorer (cuts are scored
 * by their ink alone and made by the rules). classify_model NULL or ""
 * means no classifier; else the digit classifier (stages/classify) checks
 * every split of the scorer (with a cut model) or, without one, scores
 * the candidate segmentations. A cut model must be a .blm of kind "segment"
 * taking 1 x 1 x BL_SEGMENT_CUT_FEATURES with 2 classes and metadata
 * "feat_mean", "feat_std". NULL with a message naming the file on error. */
bl_segment *bl_segment_new(const char *cut_model, const char *classify_model,
                           bl_err *err);
void bl_segment_destroy(bl_segment **self);
/* "name@version:crc" of the cut model, or "". Borrowed. */
const char *bl_segment_model_id(const bl_segment *self);

/* Splits a binarised field crop (1 = ink). *digits is a new array (free())
 * of *count digits in left-to-right order. self may be NULL (rules). */
int bl_segment_run(bl_segment *self, const bl_image *crop, bl_segment_digit **digits,
                   int *count, bl_err *err);

/* bl_segment_run with the digit count a form template expects: lo..hi
 * digits (0, 0: unknown). A segmentation outside that range is split at
 * the best remaining cuts, or its pieces merged or the weakest dropped,
 * step by step, until it fits or no step is left. */
int bl_segment_run_expect(bl_segment *self, const bl_image *crop, int lo, int hi,
                          bl_segment_digit **digits, int *count, bl_err *err);

/* The digit count a field rule implies ("len=N", "len=A-B", or the length
 * of a date=/time= format): 1 and *lo..*hi when it gives one, else 0 and
 * 0, 0. */
int bl_segment_expected_len(const char *rule, int *lo, int *hi);

/* bl_segment_run(NULL, ...). */
int bl_segment_field(const bl_image *crop, bl_segment_digit **digits,
                     int *count, bl_err *err);

/* For training the cut scorer: the candidate cuts of every piece of crop
 * that segmentation would consider splitting, with their features. Each
 * cut is a slanted line x = x0 + slant * (y0 - y) in crop pixels: cuts[i]
 * receives x at the crop's bottom row (y0 = height - 1) and *slant the
 * field's slant. *feats is n x BL_SEGMENT_CUT_FEATURES floats. Both new
 * arrays (free()); *n may be 0 (NULL arrays). */
int bl_segment_cut_candidates(const bl_image *crop, double *slant, double **cuts,
                              float **feats, int *n, bl_err *err);

#endif
