/*
 * blotter-classify: classifies all digits of a page in one forward pass
 * (batching is what makes the CNN fast: see DESIGN.md's performance notes)
 * and records the model's id on the page for provenance.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify/classify.h"
#include "log/log.h"
#include "runtime/worker.h"

typedef struct classify_ctx {
    bl_classifier *model;
} classify_ctx;

static int on_swap(bl_worker *w, void *vctx, const char *path, char *id,
                   size_t id_size, bl_err *err)
{
    (void)w;
    classify_ctx *ctx = vctx;
    bl_classifier *fresh = bl_classifier_load(path, err);
    if (!fresh)
        return err->code;
    bl_classifier_destroy(&ctx->model);
    ctx->model = fresh;
    bl_strlcpy(id, bl_classifier_id(fresh), id_size);
    return BL_OK;
}

static int on_digits(bl_worker *w, void *vctx, const bl_msg_header *hdr,
                     bl_work *work, bl_err *err)
{
    (void)w, (void)hdr;
    bl_classifier *model = ((classify_ctx *)vctx)->model;
    bl_strlcpy(work->model[BL_STAGE_CLASSIFY], bl_classifier_id(model),
               sizeof work->model[BL_STAGE_CLASSIFY]);
    size_t n = work->digit_count;
    if (n == 0)
        return BL_OK;
    uint8_t *crops = bl_xmalloc(n * BL_MNIST_PIXELS);
    int32_t *cls = bl_xmalloc(n * sizeof *cls);
    float *probs = bl_xmalloc(n * 10 * sizeof *probs);
    for (size_t i = 0; i < n; i++)
        memcpy(crops + i * BL_MNIST_PIXELS, work->digits[i].pixels,
               BL_MNIST_PIXELS);
    int rc = bl_classifier_run(model, crops, n, cls, probs, err);
    for (size_t i = 0; rc == BL_OK && i < n; i++) {
        work->digits[i].cls = cls[i];
        memcpy(work->digits[i].prob, probs + i * 10, sizeof work->digits[i].prob);
    }
    free(crops);
    free(cls);
    free(probs);
    return rc;
}

int main(int argc, char **argv)
{
    bl_stage_args args;
    bl_conf conf;
    bl_err err = {0};
    int rc = bl_runtime_start(argc, argv, BL_STAGE_CLASSIFY, &args, &conf, &err);
    if (rc) {
        if (rc != 1)
            fprintf(stderr, "blotter-classify: %s\n", err.msg);
        return rc == 1 ? 0 : 1;
    }
    /* Instances scale the stage; a second BLAS pool would only fight them. */
    openblas_set_num_threads(1);
    if (!conf.model[BL_STAGE_CLASSIFY][0]) {
        fprintf(stderr, "blotter-classify: no model configured ([models] classify)\n");
        return 1;
    }
    classify_ctx ctx = {bl_classifier_load(conf.model[BL_STAGE_CLASSIFY], &err)};
    if (!ctx.model) {
        fprintf(stderr, "blotter-classify: %s\n", err.msg);
        return 1;
    }
    bl_worker_spec spec = {
        .stage = BL_STAGE_CLASSIFY,
        .next = BL_STAGE_WRITE,
        .model_id = bl_classifier_id(ctx.model),
        .on_work = on_digits,
        .on_swap = on_swap,
        .ctx = &ctx,
    };
    rc = bl_worker_run(&spec, &conf, &args);
    bl_classifier_destroy(&ctx.model);
    return rc;
}
