/*
 * classify: the digit classifier as the pipeline uses it. A .blm model of
 * kind "classify" holds an nn architecture spec for 1x28x28 inputs and 10
 * classes; a batch of crops is scaled to [0,1] exactly as in training
 * (pixel / 255, 0 = paper) and classified in one forward pass.
 *
 * Batching: the forward pass runs over all n crops at once, in chunks of at
 * most BL_CLASSIFY_MAX_BATCH so that the activation buffers (and the
 * stage's resident memory) stay bounded whatever the caller sends.
 * Threads: this file never sets OpenBLAS's thread count; the stage pins it
 * to one (DESIGN.md, performance notes).
 */
#include "classify/classify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blm/blm.h"
#include "nn/nn.h"

#define BL_CLASSIFY_MAX_BATCH 256

struct bl_classifier {
    bl_nn_net *net;
    char id[160];
    float *x; /* (MAX_BATCH, 784) input scratch */
};

bl_classifier *bl_classifier_load(const char *path, bl_err *err)
{
    bl_blm *m = bl_blm_load(path, "classify", err);
    if (!m)
        return NULL;
    bl_nn_net *net = bl_nn_net_from_blm(m, 1, BL_CLASSIFY_SIDE, BL_CLASSIFY_SIDE, path, err);
    if (!net) {
        bl_blm_destroy(&m);
        return NULL;
    }
    if (bl_nn_net_classes(net) != BL_CLASSIFY_CLASSES) {
        bl_err_set(err, BL_EFORMAT, "%s: model has %d classes, a digit classifier needs %d",
                   path, bl_nn_net_classes(net), BL_CLASSIFY_CLASSES);
        bl_nn_net_destroy(&net);
        bl_blm_destroy(&m);
        return NULL;
    }
    bl_classifier *self = bl_xcalloc(1, sizeof *self);
    self->net = net;
    /* Provenance id: metadata name and version, else the file's stem. */
    const char *name = bl_blm_get_meta(m, "name");
    const char *version = bl_blm_get_meta(m, "version");
    char stem[64];
    if (!name) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        bl_strlcpy(stem, base, sizeof stem);
        char *dot = strrchr(stem, '.');
        if (dot && dot != stem)
            *dot = '\0';
        name = stem;
    }
    snprintf(self->id, sizeof self->id, "%s@%s:%08x", name, version ? version : "1", m->crc);
    bl_blm_destroy(&m);
    self->x = bl_xmalloc((size_t)BL_CLASSIFY_MAX_BATCH * BL_CLASSIFY_PIXELS * sizeof(float));
    return self;
}

void bl_classifier_destroy(bl_classifier **self)
{
    if (!self || !*self)
        return;
    bl_nn_net_destroy(&(*self)->net);
    free((*self)->x);
    free(*self);
    *self = NULL;
}

const char *bl_classifier_id(const bl_classifier *self) { return self->id; }

int bl_classifier_run(bl_classifier *self, const uint8_t *crops, size_t n, int32_t *cls,
                      float *probs, bl_err *err)
{
    if (!self || (n && (!crops || !cls || !probs)))
        return bl_err_set(err, BL_EINVAL, "classify: bad arguments");
    bool softmax = bl_nn_net_softmax_head(self->net);
    for (size_t start = 0; start < n; start += BL_CLASSIFY_MAX_BATCH) {
        int B = (int)(n - start < BL_CLASSIFY_MAX_BATCH ? n - start : BL_CLASSIFY_MAX_BATCH);
        const uint8_t *src = crops + start * BL_CLASSIFY_PIXELS;
        size_t count = (size_t)B * BL_CLASSIFY_PIXELS;
        for (size_t i = 0; i < count; i++)
            self->x[i] = (float)src[i] * (1.0f / 255.0f);
        const float *out = bl_nn_net_forward(self->net, self->x, B, false, NULL);
        for (int r = 0; r < B; r++) {
            const float *p = out + (size_t)r * BL_CLASSIFY_CLASSES;
            float *dst = probs + (start + (size_t)r) * BL_CLASSIFY_CLASSES;
            /* Independent sigmoid outputs are renormalised so callers always
             * see a distribution. */
            float sum = 0.0f;
            for (int c = 0; c < BL_CLASSIFY_CLASSES; c++)
                sum += p[c];
            float inv = softmax || sum <= 0.0f ? 1.0f : 1.0f / sum;
            int best = 0;
            for (int c = 0; c < BL_CLASSIFY_CLASSES; c++) {
                dst[c] = p[c] * inv;
                if (p[c] > p[best])
                    best = c;
            }
            cls[start + (size_t)r] = best;
        }
    }
    return BL_OK;
}
