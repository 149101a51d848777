/*
 * blotter-segment: cuts every field crop into MNIST-normalised digits and
 * hands them, with their page boxes, to classify. Field crops are dropped
 * once cut: classify needs only the 28x28 digits.
 *
 * Models: the cut scorer from [models] segment (`blotter model swap
 * segment F` replaces it between two pages); without one the stage
 * scores cuts by their ink and says so once. With a cut scorer the stage
 * also loads the digit classifier of [models] classify, which confirms or
 * refuses each split of a piece no wider than 1.6 digit heights
 * (docs/DETECTION.md).
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "runtime/worker.h"
#include "segment/segment.h"

typedef struct segment_ctx {
    bl_segment *seg;
    const char *classify; /* [models] classify, checking the scorer's splits */
} segment_ctx;

/* `blotter model swap segment F`: a new cut scorer, between two pages. */
static int on_swap(bl_worker *w, void *vctx, const char *path, char *id, size_t id_size,
                   bl_err *err)
{
    (void)w;
    segment_ctx *ctx = vctx;
    bl_segment *fresh = bl_segment_new(path, ctx->classify, err);
    if (!fresh)
        return err->code;
    bl_segment_destroy(&ctx->seg);
    ctx->seg = fresh;
    bl_strlcpy(id, bl_segment_model_id(fresh), id_size);
    return BL_OK;
}

static int on_fields(bl_worker *w, void *vctx, const bl_msg_header *hdr,
                     bl_work *work, bl_err *err)
{
    (void)w;
    bl_segment *seg = ((segment_ctx *)vctx)->seg;
    if (work->digit_count)
        return bl_err_set(err, BL_EFORMAT, "%s: page %u: already segmented",
                          work->source_path, (unsigned)hdr->page_index);
    bl_strlcpy(work->model[BL_STAGE_SEGMENT], bl_segment_model_id(seg),
               sizeof work->model[BL_STAGE_SEGMENT]);
    for (uint32_t i = 0; i < work->field_count; i++) {
        bl_work_field *f = &work->fields[i];
        if (!f->crop)
            return bl_err_set(err, BL_EFORMAT, "%s: page %u: %s has no crop",
                              work->source_path, (unsigned)hdr->page_index,
                              f->name);
        bl_segment_digit *digits = NULL;
        int count = 0;
        int lo, hi;
        bl_segment_expected_len(f->rule, &lo, &hi);
        int rc = bl_segment_run_expect(seg, f->crop, lo, hi, &digits, &count, err);
        if (rc)
            return bl_err_prefix(err, "%s: page %u: %s", work->source_path,
                                 (unsigned)hdr->page_index, f->name);
        for (int k = 0; k < count; k++) {
            bl_box b = digits[k].box;
            b.x += f->box.x;
            b.y += f->box.y;
            bl_work_digit *d = bl_work_add_digit(work, i, b);
            memcpy(d->pixels, digits[k].pixels, sizeof d->pixels);
        }
        free(digits);
        bl_image_destroy(&f->crop);
    }
    return BL_OK;
}

int main(int argc, char **argv)
{
    bl_stage_args args;
    bl_conf conf;
    bl_err err = {0};
    int rc = bl_runtime_start(argc, argv, BL_STAGE_SEGMENT, &args, &conf, &err);
    if (rc) {
        if (rc != 1)
            fprintf(stderr, "blotter-segment: %s\n", err.msg);
        return rc == 1 ? 0 : 1;
    }
    openblas_set_num_threads(1);
    const char *cuts = conf.model[BL_STAGE_SEGMENT];
    /* With a cut scorer, the digit classifier has the last word on each
     * split (segment.h); it is loaded here as well as in classify. */
    const char *clf = cuts[0] ? conf.model[BL_STAGE_CLASSIFY] : "";
    segment_ctx ctx = {bl_segment_new(cuts, clf, &err), clf};
    if (!ctx.seg) {
        fprintf(stderr, "blotter-segment: %s\n", err.msg);
        return 1;
    }
    if (!cuts[0])
        bl_log(BL_LOG_WARN, "no cut scorer configured ([models] segment): "
                            "scoring cuts by their ink");
    bl_worker_spec spec = {
        .stage = BL_STAGE_SEGMENT,
        .next = BL_STAGE_CLASSIFY,
        .model_id = bl_segment_model_id(ctx.seg),
        .on_work = on_fields,
        .on_swap = on_swap,
        .ctx = &ctx,
    };
    rc = bl_worker_run(&spec, &conf, &args);
    bl_segment_destroy(&ctx.seg);
    return rc;
}
