/*
 * read_memo: the classifier's readings of crops already read while one
 * field is segmented.
 *
 * Segment asks the classifier about the same digit many times: the greedy
 * cut, the global choice, the separator's reading and the checks of
 * neighbouring pairs each read the digits they propose, and many of those
 * digits are the same pixels cut the same way. The memo keeps each crop
 * with its reading, so that a crop is read once; it is exact (the crop's
 * bytes are compared, not only their hash). Clear it between fields.
 */
#ifndef BL_SEGMENT_READ_MEMO_H
#define BL_SEGMENT_READ_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "classify/classify.h"

typedef struct bl_read_memo bl_read_memo;

/* Keeps up to `capacity` readings (rounded up to a power of two); when it
 * is full it starts again empty. The classifier stays the caller's. */
bl_read_memo *bl_read_memo_new(bl_classifier *clf, int capacity);
void bl_read_memo_destroy(bl_read_memo **self);
void bl_read_memo_clear(bl_read_memo *self);

/* As bl_classifier_run: n crops of 784 bytes in, n classes and n x 10
 * probabilities out; only the crops not yet in the memo reach the
 * classifier, in one batch. */
int bl_read_memo_run(bl_read_memo *self, const uint8_t *crops, size_t n, int32_t *cls,
                     float *probs, bl_err *err);

/* Crops answered from the memo and crops the classifier read, since the
 * memo was made. */
void bl_read_memo_counts(const bl_read_memo *self, long *hits, long *misses);

#endif
