/*
 * blotter-segment: cuts every field crop into MNIST-normalised digits and
 * hands them, with their page boxes, to classify. Field crops are dropped
 * once cut: classify needs only the 28x28 digits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "runtime/worker.h"
#include "segment/segment.h"

static int on_fields(bl_worker *w, void *ctx, const bl_msg_header *hdr,
                     bl_work *work, bl_err *err)
{
    (void)w, (void)ctx;
    if (work->digit_count)
        return bl_err_set(err, BL_EFORMAT, "%s: page %u: already segmented",
                          work->source_path, (unsigned)hdr->page_index);
    for (uint32_t i = 0; i < work->field_count; i++) {
        bl_work_field *f = &work->fields[i];
        if (!f->crop)
            return bl_err_set(err, BL_EFORMAT, "%s: page %u: %s has no crop",
                              work->source_path, (unsigned)hdr->page_index,
                              f->name);
        bl_segment_digit *digits = NULL;
        int count = 0;
        int rc = bl_segment_field(f->crop, &digits, &count, err);
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
    bl_worker_spec spec = {
        .stage = BL_STAGE_SEGMENT,
        .next = BL_STAGE_CLASSIFY,
        .model_id = "",
        .on_work = on_fields,
    };
    return bl_worker_run(&spec, &conf, &args);
}
