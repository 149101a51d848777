/*
 * blotter-detect: removes the form lines of each page, finds its
 * hand-written numeric fields, cuts their crops from the line-cleaned page
 * and hands them to segment. The page raster itself is dropped here: later
 * stages need only the crops, and it is by far the largest part of the
 * message. The region classifier comes from [models] detect; without one
 * the stage runs its rules and says so once. Form templates come from
 * [pipeline] templates: a page matching one gets the template's field
 * names and rules; the directory is looked at again before a page, at most
 * once a second, so templates can be added or changed while it runs.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "detect/detect.h"
#include "log/log.h"
#include "runtime/worker.h"

typedef struct detect_ctx {
    bl_detect *det;
    bl_template_watch templates;
} detect_ctx;

/* `blotter model swap detect F`: a new region classifier, between pages. */
static int on_swap(bl_worker *w, void *vctx, const char *path, char *id, size_t id_size,
                   bl_err *err)
{
    (void)w;
    detect_ctx *ctx = vctx;
    bl_detect *fresh = bl_detect_new(path, err);
    if (!fresh)
        return err->code;
    bl_detect_destroy(&ctx->det);
    ctx->det = fresh;
    bl_strlcpy(id, bl_detect_model_id(fresh), id_size);
    return BL_OK;
}

static int on_page(bl_worker *w, void *vctx, const bl_msg_header *hdr,
                   bl_work *work, bl_err *err)
{
    (void)w;
    detect_ctx *ctx = vctx;
    bl_detect *det = ctx->det;
    bl_err terr = {0};
    int trc = bl_template_watch_poll(&ctx->templates, bl_time_mono_ns(), &terr);
    if (trc == 1)
        bl_log(BL_LOG_INFO, "templates: %d loaded from %s", ctx->templates.set->count,
               ctx->templates.dir);
    else if (trc < 0)
        bl_log(BL_LOG_ERROR, "templates: %s (keeping the %d loaded before)", terr.msg,
               ctx->templates.set->count);
    if (!work->page)
        return bl_err_set(err, BL_EFORMAT, "%s: page %u: no page raster",
                          work->source_path, (unsigned)hdr->page_index);
    if (work->field_count)
        return bl_err_set(err, BL_EFORMAT, "%s: page %u: already has fields",
                          work->source_path, (unsigned)hdr->page_index);
    bl_strlcpy(work->model[BL_STAGE_DETECT], bl_detect_model_id(det),
               sizeof work->model[BL_STAGE_DETECT]);
    bl_detect_field *fields = NULL;
    int count = 0;
    bl_template_match m;
    /* Cleans work->page in place, so the crops below carry no form lines. */
    int rc = bl_detect_run_named(det, ctx->templates.set, work->page, &fields, &count, &m,
                                 err);
    if (rc)
        return bl_err_prefix(err, "%s: page %u", work->source_path,
                             (unsigned)hdr->page_index);
    if (m.index >= 0)
        bl_log(BL_LOG_DEBUG, "%s: page %u: template %s, shift %d,%d, score %.2f",
               work->source_path, (unsigned)hdr->page_index,
               ctx->templates.set->t[m.index].name, m.dx, m.dy, (double)m.score);
    else if (ctx->templates.set->count)
        bl_log(BL_LOG_DEBUG, "%s: page %u: no template (best score %.2f)",
               work->source_path, (unsigned)hdr->page_index, (double)m.score);
    for (int i = 0; i < count; i++) {
        bl_image *crop = bl_image_crop(work->page, fields[i].box);
        bl_work_field *f = bl_work_add_field(work, fields[i].name, fields[i].box, &crop);
        bl_strlcpy(f->rule, fields[i].rule, sizeof f->rule);
        f->src_box = bl_detect_box_to_source(&work->to_source, work->src_width,
                                             work->src_height, fields[i].box);
    }
    free(fields);
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
    openblas_set_num_threads(1);
    const char *model = conf.model[BL_STAGE_DETECT];
    detect_ctx ctx = {.det = bl_detect_new(model, &err)};
    if (!ctx.det) {
        fprintf(stderr, "blotter-detect: %s\n", err.msg);
        return 1;
    }
    if (!model[0])
        bl_log(BL_LOG_WARN, "no region model configured ([models] detect): "
                            "using the rule-based fallback");
    if (bl_template_watch_open(&ctx.templates, conf.templates, &err) != BL_OK) {
        fprintf(stderr, "blotter-detect: %s\n", err.msg);
        bl_log(BL_LOG_ERROR, "%s", err.msg);
        bl_detect_destroy(&ctx.det);
        return 1;
    }
    if (ctx.templates.missing)
        bl_log(BL_LOG_WARN, "template directory %s does not exist: no templates until it "
                            "appears", conf.templates);
    else if (conf.templates[0])
        bl_log(BL_LOG_INFO, "templates: %d loaded from %s", ctx.templates.set->count,
               conf.templates);
    bl_worker_spec spec = {
        .stage = BL_STAGE_DETECT,
        .next = BL_STAGE_SEGMENT,
        .model_id = bl_detect_model_id(ctx.det),
        .on_work = on_page,
        .on_swap = on_swap,
        .ctx = &ctx,
    };
    rc = bl_worker_run(&spec, &conf, &args);
    bl_template_watch_close(&ctx.templates);
    bl_detect_destroy(&ctx.det);
    return rc;
}
