/*
 * blotter-ingest: reads scan files named by FEED notes and sends each page,
 * normalised, to detect. A file or page that cannot be read is reported to
 * the writer (which stores the error) and the batch goes on. The
 * orientation model comes from [models] ingest; without one every page is
 * taken as upright (a warning says so once, at start).
 */
#include <cblas.h>
#include <stdio.h>
#include <string.h>

#include "ingest/ingest.h"
#include "log/log.h"
#include "runtime/worker.h"

typedef struct ingest_ctx {
    bl_image_limits limits;
    bl_ingest *norm;
} ingest_ctx;

/* Tells the front end how many outcomes (stored pages or errors) to wait
 * for from this file. */
static void announce(bl_worker *w, const bl_note *feed, int64_t units,
                     uint64_t doc_id)
{
    int64_t num[4] = {units, (int64_t)doc_id, 0, 0};
    bl_worker_event(w, "file-pages", feed->path, NULL, num);
}

static int on_swap(bl_worker *w, void *vctx, const char *path, char *id,
                   size_t id_size, bl_err *err)
{
    (void)w;
    ingest_ctx *ctx = vctx;
    if (!path[0])
        return bl_err_set(err, BL_EINVAL, "no model file given");
    bl_ingest *fresh = bl_ingest_new(path, err);
    if (!fresh)
        return err->code;
    bl_ingest_destroy(&ctx->norm);
    ctx->norm = fresh;
    bl_strlcpy(id, bl_ingest_model_id(fresh), id_size);
    return BL_OK;
}

static int on_feed(bl_worker *w, void *vctx, const bl_msg_header *hdr,
                   const bl_note *feed, bl_err *err)
{
    ingest_ctx *ctx = vctx;
    if (strcmp(feed->kind, "file") != 0)
        return bl_err_set(err, BL_EFORMAT, "unexpected note '%s'", feed->kind);

    bl_err ferr = {0};
    bl_scan *scan = bl_scan_open(feed->path, &ctx->limits, &ferr);
    if (!scan) {
        bl_log(BL_LOG_WARN, "refused: %s", ferr.msg);
        announce(w, feed, 1, hdr->doc_id);
        bl_worker_report_error(w, hdr, feed->batch, feed->path, -1, ferr.code,
                               ferr.msg);
        bl_worker_stats(w)->errors++;
        return BL_OK;
    }
    int pages = bl_scan_page_count(scan);
    announce(w, feed, pages, hdr->doc_id);
    for (int i = 0; i < pages; i++) {
        bl_msg_header out = *hdr;
        out.page_index = (uint32_t)i;
        out.t_origin_ns = bl_time_wall_ns();
        bl_page_info info;
        bl_err perr = {0};
        bl_work *work = bl_work_new();
        bl_strlcpy(work->batch, feed->batch, sizeof work->batch);
        bl_strlcpy(work->source_path, feed->path, sizeof work->source_path);
        work->page_count = (uint32_t)pages;
        bl_image *gray = bl_scan_read_page(scan, i, &info, &perr);
        int rc = gray ? bl_ingest_run(ctx->norm, gray, &info, work, NULL, &perr) : perr.code;
        if (rc == BL_OK) {
            rc = bl_worker_emit_work(w, &out, work, &perr);
        } else if (gray) {
            bl_err_prefix(&perr, "%s: page %d", feed->path, i);
        }
        if (rc) {
            bl_log(BL_LOG_WARN, "page refused: %s", perr.msg);
            bl_worker_report_error(w, &out, feed->batch, feed->path, i, rc,
                                   perr.msg);
            bl_worker_stats(w)->errors++;
        }
        bl_image_destroy(&gray);
        bl_work_destroy(&work);
    }
    bl_scan_close(&scan);
    return BL_OK;
}

int main(int argc, char **argv)
{
    bl_stage_args args;
    bl_conf conf;
    bl_err err = {0};
    int rc = bl_runtime_start(argc, argv, BL_STAGE_INGEST, &args, &conf, &err);
    if (rc) {
        if (rc != 1)
            fprintf(stderr, "blotter-ingest: %s\n", err.msg);
        return rc == 1 ? 0 : 1;
    }
    /* Instances scale the stage; a second BLAS pool would only fight them. */
    openblas_set_num_threads(1);
    bl_ingest_keep_memory();
    ingest_ctx ctx;
    bl_conf_image_limits(&conf, &ctx.limits);
    const char *model = conf.model[BL_STAGE_INGEST];
    ctx.norm = bl_ingest_new(model, &err);
    if (!ctx.norm) {
        fprintf(stderr, "blotter-ingest: %s\n", err.msg);
        return 1;
    }
    if (!model[0])
        bl_log(BL_LOG_WARN, "no orientation model ([models] ingest): pages are taken "
                            "as upright");
    bl_worker_spec spec = {
        .stage = BL_STAGE_INGEST,
        .next = BL_STAGE_DETECT,
        .model_id = bl_ingest_model_id(ctx.norm),
        .on_note = on_feed,
        .on_swap = on_swap,
        .ctx = &ctx,
    };
    rc = bl_worker_run(&spec, &conf, &args);
    bl_ingest_destroy(&ctx.norm);
    return rc;
}
