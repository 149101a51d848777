/*
 * classify: the digit classifier as the pipeline uses it. Loads a .blm
 * model (CNN or MLP) and classifies a batch of MNIST-normalised 28x28
 * crops in one forward pass. Pure; no sockets.
 */
#ifndef BL_CLASSIFY_H
#define BL_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define BL_CLASSIFY_SIDE 28
#define BL_CLASSIFY_PIXELS (BL_CLASSIFY_SIDE * BL_CLASSIFY_SIDE)
#define BL_CLASSIFY_CLASSES 10

typedef struct bl_classifier bl_classifier;

/* Loads a classifier model file; errors name the file and the reason. */
bl_classifier *bl_classifier_load(const char *path, bl_err *err);
void bl_classifier_destroy(bl_classifier **self);

/* A short id of the model for provenance: "<name>@<version>:<crc32 hex>". */
const char *bl_classifier_id(const bl_classifier *self);

/* Classifies n crops (n x 784 bytes, 0 = paper, 255 = ink). Writes n
 * classes and n x 10 probabilities. */
int bl_classifier_run(bl_classifier *self, const uint8_t *crops, size_t n,
                      int32_t *cls, float *probs, bl_err *err);

#endif
