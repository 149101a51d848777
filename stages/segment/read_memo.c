/*
 * read_memo: an open-addressed hash table of crops and their readings.
 * The hash follows FNV-1a over the crop's 784 bytes taken a 64-bit word
 * at a time, with a shift after each step so that the high bits reach the
 * low ones the table indexes by; a slot matches only when the bytes are
 * equal too. The table is at
 * most half full, so a probe sequence always ends at an empty slot; when
 * half is reached it is cleared rather than grown, since a field's
 * readings are few and the memo is cleared between fields anyway.
 */
#include "segment/read_memo.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t hash;
    bool used;
    int32_t cls;
    float probs[BL_CLASSIFY_CLASSES];
    uint8_t crop[BL_CLASSIFY_PIXELS];
} memo_slot;

struct bl_read_memo {
    bl_classifier *clf;
    memo_slot *slots;
    int nslots; /* a power of two */
    int used;
    long hits, misses;
    /* The batch of crops sent to the classifier, and where each came from. */
    uint8_t *batch;
    int32_t *batch_cls;
    float *batch_probs;
    size_t *batch_from;
    size_t batch_cap;
};

static uint64_t crop_hash(const uint8_t *crop)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < BL_CLASSIFY_PIXELS; i += 8) {
        uint64_t w;
        memcpy(&w, crop + i, sizeof w);
        h = (h ^ w) * 1099511628211ull;
        h ^= h >> 29;
    }
    return h;
}

bl_read_memo *bl_read_memo_new(bl_classifier *clf, int capacity)
{
    assert(clf && capacity > 0);
    bl_read_memo *self = bl_xcalloc(1, sizeof *self);
    self->clf = clf;
    self->nslots = 2;
    while (self->nslots < 2 * capacity)
        self->nslots *= 2;
    self->slots = bl_xcalloc((size_t)self->nslots, sizeof *self->slots);
    return self;
}

void bl_read_memo_destroy(bl_read_memo **self)
{
    if (!self || !*self)
        return;
    free((*self)->slots);
    free((*self)->batch);
    free((*self)->batch_cls);
    free((*self)->batch_probs);
    free((*self)->batch_from);
    free(*self);
    *self = NULL;
}

void bl_read_memo_clear(bl_read_memo *self)
{
    if (!self || self->used == 0)
        return;
    for (int i = 0; i < self->nslots; i++)
        self->slots[i].used = false;
    self->used = 0;
}

/* The slot holding the crop, or the empty slot where it would go. */
static memo_slot *find_slot(bl_read_memo *self, const uint8_t *crop, uint64_t hash)
{
    int mask = self->nslots - 1;
    for (int i = (int)(hash & (uint64_t)mask);; i = (i + 1) & mask) {
        memo_slot *s = &self->slots[i];
        if (!s->used ||
            (s->hash == hash && memcmp(s->crop, crop, BL_CLASSIFY_PIXELS) == 0))
            return s;
    }
}

static void reserve_batch(bl_read_memo *self, size_t n)
{
    if (n <= self->batch_cap)
        return;
    self->batch = bl_xrealloc(self->batch, n * BL_CLASSIFY_PIXELS);
    self->batch_cls = bl_xrealloc(self->batch_cls, n * sizeof *self->batch_cls);
    self->batch_probs =
        bl_xrealloc(self->batch_probs, n * BL_CLASSIFY_CLASSES * sizeof *self->batch_probs);
    self->batch_from = bl_xrealloc(self->batch_from, n * sizeof *self->batch_from);
    self->batch_cap = n;
}

int bl_read_memo_run(bl_read_memo *self, const uint8_t *crops, size_t n, int32_t *cls,
                     float *probs, bl_err *err)
{
    if (!self || (n && (!crops || !cls || !probs)))
        return bl_err_set(err, BL_EINVAL, "read memo: bad arguments");
    reserve_batch(self, n);
    size_t nb = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *crop = crops + i * BL_CLASSIFY_PIXELS;
        memo_slot *s = find_slot(self, crop, crop_hash(crop));
        if (s->used) {
            cls[i] = s->cls;
            memcpy(probs + i * BL_CLASSIFY_CLASSES, s->probs, sizeof s->probs);
            self->hits++;
            continue;
        }
        /* A crop repeated within this call is read twice; rare enough. */
        memcpy(self->batch + nb * BL_CLASSIFY_PIXELS, crop, BL_CLASSIFY_PIXELS);
        self->batch_from[nb++] = i;
    }
    if (nb == 0)
        return BL_OK;
    self->misses += (long)nb;
    int rc = bl_classifier_run(self->clf, self->batch, nb, self->batch_cls, self->batch_probs,
                               err);
    if (rc != BL_OK)
        return rc;
    for (size_t b = 0; b < nb; b++) {
        size_t i = self->batch_from[b];
        const float *p = self->batch_probs + b * BL_CLASSIFY_CLASSES;
        cls[i] = self->batch_cls[b];
        memcpy(probs + i * BL_CLASSIFY_CLASSES, p, BL_CLASSIFY_CLASSES * sizeof *p);
        if (2 * (self->used + 1) > self->nslots)
            bl_read_memo_clear(self);
        const uint8_t *crop = self->batch + b * BL_CLASSIFY_PIXELS;
        uint64_t hash = crop_hash(crop);
        memo_slot *s = find_slot(self, crop, hash);
        if (s->used)
            continue;
        s->used = true;
        s->hash = hash;
        s->cls = cls[i];
        memcpy(s->probs, p, sizeof s->probs);
        memcpy(s->crop, crop, BL_CLASSIFY_PIXELS);
        self->used++;
    }
    return BL_OK;
}

void bl_read_memo_counts(const bl_read_memo *self, long *hits, long *misses)
{
    *hits = self ? self->hits : 0;
    *misses = self ? self->misses : 0;
}
