/*
 * blotter-write: the record writer. Stores each classified page in one
 * transaction, stores the errors other stages report, and tells the front
 * end about every outcome so that it knows when a batch is complete.
 *
 * The review gate here is a first rule, not yet the trained model of the
 * design: a field's confidence is the product of its digits' top
 * probabilities (the chance that every digit is right, if the classifier
 * is calibrated and errors are independent), and a field is flagged when
 * that falls below 0.9 or when it has no digits at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "log/log.h"
#include "runtime/worker.h"
#include "write/report.h"

#define REVIEW_THRESHOLD 0.9

/* Tells the front end one outcome of a document is settled (runtime.h
 * describes the event). */
static void settled(bl_worker *w, const bl_msg_header *hdr, const char *path,
                    int page_index, int how, int code, const char *text)
{
    int64_t num[4] = {(int64_t)hdr->doc_id, page_index, how, code};
    bl_worker_event(w, "done", path, text, num);
}

static int on_page(bl_worker *w, void *vctx, const bl_msg_header *hdr,
                   bl_work *work, bl_err *err)
{
    bl_db *db = vctx;
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
    double *confidence = bl_xcalloc(n, sizeof *confidence);
    int *review = bl_xcalloc(n, sizeof *review);
    for (uint32_t i = 0; i < n; i++) {
        const bl_work_field *f = &work->fields[i];
        double c = f->digit_count ? 1.0 : 0.0;
        for (uint32_t k = 0; k < f->digit_count; k++) {
            const bl_work_digit *d = &work->digits[f->first_digit + k];
            c *= (d->cls >= 0 && d->cls < 10) ? d->prob[d->cls] : 0.0;
        }
        confidence[i] = c;
        review[i] = c < REVIEW_THRESHOLD;
    }
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
    bl_db *db = vctx;
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
    bl_worker_spec spec = {
        .stage = BL_STAGE_WRITE,
        .next = BL_STAGE_FRONT,
        .model_id = "",
        .on_work = on_page,
        .on_note = on_note,
        .ctx = db,
    };
    rc = bl_worker_run(&spec, &conf, &args);
    bl_db_close(&db);
    return rc;
}
