/*
 * blotter-segment: cuts every field crop into MNIST-normalised digits and
 * hands them, with their page boxes, to classify. Field crops are dropped
 * once cut: classify needs only the 28x28 digits.
 *
 * Models: the cut scorer from [models] segment; without one the stage
 * scores cuts by their ink and says so once. The classifier-scored
 * splitting of segment.h is not used here: on generated pages it read no
 * more fields right than the rules at twice the CPU (docs/DETECTION.md).
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "runtime/worker.h"
#include "segment/segment.h"

static int on_fields(bl_worker *w, void *ctx, const bl_msg_header *hdr,
                     bl_work *work, bl_err *err)
{
    (void)w;
    bl_segment *seg = ctx;
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
        int rc = bl_segment_run(seg, f->crop, &digits, &count, err);
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
    bl_segment *seg = bl_segment_new(cuts, NULL, &err);
    if (!seg) {
        fprintf(stderr, "blotter-segment: %s\n", err.msg);
        return 1;
    }
    if (!cuts[0])
        bl_log(BL_LOG_WARN, "no cut scorer configured ([models] segment): "
                            "scoring cuts by their ink");
    bl_worker_spec spec = {
        .stage = BL_STAGE_SEGMENT,
        .next = BL_STAGE_CLASSIFY,
        .model_id = bl_segment_model_id(seg),
        .on_work = on_fields,
        .ctx = seg,
    };
    rc = bl_worker_run(&spec, &conf, &args);
    bl_segment_destroy(&seg);
    return rc;
}
