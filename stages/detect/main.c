/*
 * blotter-detect: finds the hand-written numeric fields of each page, cuts
 * their crops and hands them to segment. The page raster itself is dropped
 * here: later stages need only the crops, and it is by far the largest part
 * of the message.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "detect/detect.h"
#include "log/log.h"
#include "runtime/worker.h"

/* Maps a page box back to the source file: the bounding box of its four
 * transformed corners, clipped to the source page. */
static bl_box to_source(const bl_work *work, bl_box b)
{
    const bl_transform *t = &work->to_source;
    double xs[2] = {b.x, (double)b.x + b.w}, ys[2] = {b.y, (double)b.y + b.h};
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double sx = t->a * xs[i] + t->b * ys[j] + t->c;
            double sy = t->d * xs[i] + t->e * ys[j] + t->f;
            x0 = fmin(x0, sx), x1 = fmax(x1, sx);
            y0 = fmin(y0, sy), y1 = fmax(y1, sy);
        }
    x0 = fmax(0, floor(x0)), y0 = fmax(0, floor(y0));
    x1 = fmin(work->src_width, ceil(x1)), y1 = fmin(work->src_height, ceil(y1));
    return (bl_box){(int)x0, (int)y0, (int)fmax(0, x1 - x0), (int)fmax(0, y1 - y0)};
}

static int on_page(bl_worker *w, void *ctx, const bl_msg_header *hdr,
                   bl_work *work, bl_err *err)
{
    (void)w, (void)ctx, (void)hdr;
    if (!work->page)
        return bl_err_set(err, BL_EFORMAT, "%s: page %u: no page raster",
                          work->source_path, (unsigned)hdr->page_index);
    if (work->field_count)
        return bl_err_set(err, BL_EFORMAT, "%s: page %u: already has fields",
                          work->source_path, (unsigned)hdr->page_index);
    bl_box *boxes = NULL;
    int count = 0;
    int rc = bl_detect_fields(work->page, &boxes, &count, err);
    if (rc)
        return bl_err_prefix(err, "%s: page %u", work->source_path,
                             (unsigned)hdr->page_index);
    for (int i = 0; i < count; i++) {
        char name[BL_NAME_MAX];
        snprintf(name, sizeof name, "field_%d", i + 1);
        bl_image *crop = bl_image_crop(work->page, boxes[i]);
        bl_work_field *f = bl_work_add_field(work, name, boxes[i], &crop);
        f->src_box = to_source(work, boxes[i]);
    }
    free(boxes);
    bl_image_destroy(&work->page);
    return BL_OK;
}

int main(int argc, char **argv)
{
    bl_stage_args args;
    bl_conf conf;
    bl_err err = {0};
    int rc = bl_runtime_start(argc, argv, BL_STAGE_DETECT, &args, &conf, &err);
    if (rc) {
        if (rc != 1)
            fprintf(stderr, "blotter-detect: %s\n", err.msg);
        return rc == 1 ? 0 : 1;
    }
    bl_worker_spec spec = {
        .stage = BL_STAGE_DETECT,
        .next = BL_STAGE_SEGMENT,
        .model_id = "",
        .on_work = on_page,
    };
    return bl_worker_run(&spec, &conf, &args);
}
