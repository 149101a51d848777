/*
 * blotter-write: the record writer. Stores each classified page in one
 * transaction, stores the errors other stages report, and tells the front
 * end about every outcome so that it knows when a batch is complete.
 *
 * The review gate (gate.h) sets each field's calibrated confidence and
 * needs_review: the trained model of [models] write when one is
 * configured (swappable like the other stages' models), else the
 * baseline rule (product of the digits' top probabilities, zero when the
 * field's validation rule fails, flagged below 0.9).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "log/log.h"
#include "nn/nn.h"
#include "db/records.h"
#include "runtime/worker.h"
#include "write/gate.h"
#include "write/rules.h"
#include "write/report.h"

typedef struct write_ctx {
    bl_db *db;
    bl_gate *gate; /* NULL: the baseline rule */
} write_ctx;

/* Records the gate's file in the models table, so its id on the pages
 * leads back to a path. A failure here costs only that convenience. */
static void note_gate(write_ctx *ctx, const char *path)
{
    bl_err err = {0};
    if (ctx->gate && bl_db_model_note(ctx->db, "write", bl_gate_id(ctx->gate), path, &err))
        bl_log(BL_LOG_WARN, "model %s not noted: %s", bl_gate_id(ctx->gate), err.msg);
}

static int on_swap(bl_worker *w, void *vctx, const char *path, char *id,
                   size_t id_size, bl_err *err)
{
    (void)w;
    write_ctx *ctx = vctx;
    bl_gate *fresh = bl_gate_load(path, err);
    if (!fresh)
        return err->code;
    bl_gate_destroy(&ctx->gate);
    ctx->gate = fresh;
    bl_strlcpy(id, bl_gate_id(fresh), id_size);
    note_gate(ctx, path);
    return BL_OK;
}

/* Tells the front end one outcome of a document is settled (runtime.h
 * describes the event). */
static void settled(bl_worker *w, const bl_msg_header *hdr, const char *path,
                    int page_index, int how, int code, const char *text)
{
    int64_t num[4] = {(int64_t)hdr->doc_id, page_index, how, code};
    bl_worker_event(w, "done", path, text, num);
}

/* Each field's reading becomes the likeliest that obeys its template rule
 * (rules.h), before the gate judges it: a check digit, date or time that
 * fails shows which digit the classifier most likely got wrong. */
static void mend_readings(bl_work *work)
{
    for (uint32_t i = 0; i < work->field_count; i++) {
        const bl_work_field *f = &work->fields[i];
        int n = (int)f->digit_count;
        if (!f->rule[0] || n <= 0 || n > 32)
            continue;
        float prob[32 * 10];
        int cls[32];
        for (int k = 0; k < n; k++) {
            const bl_work_digit *d = &work->digits[f->first_digit + (uint32_t)k];
            memcpy(prob + 10 * k, d->prob, sizeof d->prob);
            cls[k] = d->cls;
        }
        if (bl_rules_best_reading(f->rule, prob, n, cls) > 0)
            for (int k = 0; k < n; k++)
                work->digits[f->first_digit + (uint32_t)k].cls = cls[k];
    }
}

static int on_page(bl_worker *w, void *vctx, const bl_msg_header *hdr,
                   bl_work *work, bl_err *err)
{
    write_ctx *ctx = vctx;
    bl_db *db = ctx->db;
    bl_db_page_ref dup;
    int found = bl_db_find_duplicate(db, work, hdr->page_index, &dup, err);
    if (found == BL_OK) {
        char text[BL_NOTE_TEXT_MAX];
        snprintf(text, sizeof text, "same scan as %s page %d (batch %s)",
                 dup.source_path, dup.page_index, dup.batch);
        bl_log(BL_LOG_INFO, "%s page %u not stored again: %s", work->source_path,
               (unsigned)hdr->page_index, text);
        settled(w, hdr, work->source_path, (int)hdr->page_index,
                BL_SETTLED_DUPLICATE, 0, text);
        return BL_OK;
    }
    if (found != BL_ENOENT)
        return found;
    uint32_t n = work->field_count;
    mend_readings(work);
    double *confidence = bl_xcalloc(n, sizeof *confidence);
    int *review = bl_xcalloc(n, sizeof *review);
    bl_gate_page(ctx->gate, work, confidence, review);
    if (ctx->gate)
        bl_strlcpy(work->model[BL_STAGE_WRITE], bl_gate_id(ctx->gate),
                   sizeof work->model[BL_STAGE_WRITE]);
    int rc = bl_db_store_page(db, work, hdr->page_index, confidence,
                              review, err);
    free(confidence);
    free(review);
    if (rc)
        return rc; /* the loop reports it as this page's error */
    bl_worker_stats(w)->items_out++;
    settled(w, hdr, work->source_path, (int)hdr->page_index, BL_SETTLED_STORED, 0,
            NULL);
    return BL_OK;
}

static int on_note(bl_worker *w, void *vctx, const bl_msg_header *hdr,
                   const bl_note *note, bl_err *err)
{
    bl_db *db = ((write_ctx *)vctx)->db;
    if (bl_report_is_report(note)) {
        /* Answered either way, so the front end never waits in vain. */
        int rc = bl_report_store(db, note, err);
        int64_t num[4] = {rc, (int64_t)hdr->doc_id, 0, 0};
        bl_worker_event(w, "recorded", note->path, rc ? err->msg : note->kind,
                        num);
        return rc;
    }
    if (strcmp(note->kind, "error") != 0)
        return bl_err_set(err, BL_EFORMAT, "unexpected note '%s'", note->kind);
    int page = (int)note->num[0];
    int rc = bl_db_store_error(db, note->batch, note->path, page,
                               bl_stage_name((bl_stage_id)hdr->stage),
                               note->text, err);
    if (rc)
        bl_log(BL_LOG_ERROR, "error record not stored: %s (%s)", err->msg,
               note->text);
    /* Settled either way: the failure is logged even if it is not stored. */
    settled(w, hdr, note->path, page, BL_SETTLED_FAILED, (int)note->num[1],
            note->text);
    return BL_OK;
}

int main(int argc, char **argv)
{
    bl_stage_args args;
    bl_conf conf;
    bl_err err = {0};
    int rc = bl_runtime_start(argc, argv, BL_STAGE_WRITE, &args, &conf, &err);
    if (rc) {
        if (rc != 1)
            fprintf(stderr, "blotter-write: %s\n", err.msg);
        return rc == 1 ? 0 : 1;
    }
    bl_db *db = bl_db_open(conf.database, &err);
    if (!db) {
        fprintf(stderr, "blotter-write: %s\n", err.msg);
        return 1;
    }
    /* The gate's network is tiny; one BLAS thread, as in every stage. */
    bl_nn_set_threads(1);
    write_ctx ctx = {db, NULL};
    const char *gate_path = conf.model[BL_STAGE_WRITE];
    if (gate_path[0]) {
        ctx.gate = bl_gate_load(gate_path, &err);
        if (!ctx.gate) {
            fprintf(stderr, "blotter-write: %s\n", err.msg);
            bl_db_close(&db);
            return 1;
        }
        note_gate(&ctx, gate_path);
    }
    bl_worker_spec spec = {
        .stage = BL_STAGE_WRITE,
        .next = BL_STAGE_FRONT,
        .model_id = ctx.gate ? bl_gate_id(ctx.gate) : "",
        .on_work = on_page,
        .on_note = on_note,
        .on_swap = on_swap,
        .ctx = &ctx,
    };
    rc = bl_worker_run(&spec, &conf, &args);
    bl_gate_destroy(&ctx.gate);
    bl_db_close(&db);
    return rc;
}
