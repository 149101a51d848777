/*
 * report: encoding, parsing and storing the front end's reports to the
 * writer (see report.h).
 */
#include "write/report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bl_report_stats_note(bl_note *note, const bl_db_stage_stats *row)
{
    memset(note, 0, sizeof *note);
    bl_strlcpy(note->kind, "stage-stats", sizeof note->kind);
    bl_strlcpy(note->batch, row->batch, sizeof note->batch);
    snprintf(note->text, sizeof note->text,
             "stage=%s instance=%d in=%" PRId64 " out=%" PRId64
             " errors=%" PRId64 " restarts=%" PRId64 " busy_s=%.6f cpu_s=%.6f"
             " rss_kb=%" PRId64 " p50_ms=%.3f p95_ms=%.3f started_ns=%" PRIu64
             " finished_ns=%" PRIu64,
             row->stage, row->instance, row->items_in, row->items_out,
             row->errors, row->restarts, row->busy_s, row->cpu_s,
             row->peak_rss_kb, row->p50_ms, row->p95_ms, row->started_ns,
             row->finished_ns);
}

void bl_report_file_note(bl_note *note, const bl_db_file_record *rec)
{
    memset(note, 0, sizeof *note);
    bl_strlcpy(note->kind, "file-settled", sizeof note->kind);
    bl_strlcpy(note->batch, rec->batch, sizeof note->batch);
    bl_strlcpy(note->path, rec->source_path, sizeof note->path);
    note->num[0] = rec->stored;
    note->num[1] = rec->duplicates;
    note->num[2] = rec->failed;
    note->num[3] = rec->retry != 0;
    snprintf(note->text, sizeof note->text,
             "size=%" PRId64 " mtime_ns=%" PRId64 " hash=%016" PRIx64, rec->size,
             rec->mtime_ns, rec->hash);
}

/* The note's strings come from a decoded message: terminated, but maybe
 * empty. */
static int check_batch(const bl_note *note, bl_err *err)
{
    if (!note->batch[0])
        return bl_err_set(err, BL_EFORMAT, "%s report without a batch name",
                          note->kind);
    return BL_OK;
}

int bl_report_stats_parse(const bl_note *note, bl_db_stage_stats *row,
                          char stage_name[16], bl_err *err)
{
    int rc = check_batch(note, err);
    if (rc)
        return rc;
    memset(row, 0, sizeof *row);
    int used = 0;
    int n = sscanf(note->text,
                   "stage=%15s instance=%d in=%" SCNd64 " out=%" SCNd64
                   " errors=%" SCNd64 " restarts=%" SCNd64 " busy_s=%lf"
                   " cpu_s=%lf rss_kb=%" SCNd64 " p50_ms=%lf p95_ms=%lf"
                   " started_ns=%" SCNu64 " finished_ns=%" SCNu64 "%n",
                   stage_name, &row->instance, &row->items_in, &row->items_out,
                   &row->errors, &row->restarts, &row->busy_s, &row->cpu_s,
                   &row->peak_rss_kb, &row->p50_ms, &row->p95_ms,
                   &row->started_ns, &row->finished_ns, &used);
    if (n != 13 || note->text[used] != '\0')
        return bl_err_set(err, BL_EFORMAT, "stage-stats report of batch %s: "
                          "malformed: '%.200s'", note->batch, note->text);
    int stage = bl_stage_from_name(stage_name);
    if (stage <= BL_STAGE_FRONT || stage >= BL_STAGE_COUNT || row->instance < 0 ||
        row->instance >= 1000 || row->items_in < 0 || row->items_out < 0 ||
        row->errors < 0 || row->restarts < 0 || !(row->busy_s >= 0))
        return bl_err_set(err, BL_EFORMAT, "stage-stats report of batch %s: "
                          "values out of range: '%.200s'", note->batch, note->text);
    row->batch = note->batch;
    row->stage = stage_name;
    return BL_OK;
}

int bl_report_file_parse(const bl_note *note, bl_db_file_record *rec,
                         bl_err *err)
{
    int rc = check_batch(note, err);
    if (rc)
        return rc;
    memset(rec, 0, sizeof *rec);
    int used = 0;
    int n = sscanf(note->text, "size=%" SCNd64 " mtime_ns=%" SCNd64
                   " hash=%" SCNx64 "%n", &rec->size, &rec->mtime_ns, &rec->hash,
                   &used);
    if (n != 3 || note->text[used] != '\0' || !note->path[0] || rec->size < 0 ||
        note->num[0] < 0 || note->num[1] < 0 || note->num[2] < 0 ||
        (note->num[3] != 0 && note->num[3] != 1))
        return bl_err_set(err, BL_EFORMAT, "file-settled report of batch %s "
                          "(%.200s): malformed", note->batch, note->path);
    bl_strlcpy(rec->batch, note->batch, sizeof rec->batch);
    bl_strlcpy(rec->source_path, note->path, sizeof rec->source_path);
    rec->stored = note->num[0];
    rec->duplicates = note->num[1];
    rec->failed = note->num[2];
    rec->retry = (int)note->num[3];
    return BL_OK;
}

int bl_report_is_report(const bl_note *note)
{
    return strcmp(note->kind, "stage-stats") == 0 ||
           strcmp(note->kind, "file-settled") == 0;
}

int bl_report_store(bl_db *db, const bl_note *note, bl_err *err)
{
    if (strcmp(note->kind, "stage-stats") == 0) {
        bl_db_stage_stats row;
        char stage[16];
        int rc = bl_report_stats_parse(note, &row, stage, err);
        return rc ? rc : bl_db_stats_store(db, &row, err);
    }
    if (strcmp(note->kind, "file-settled") == 0) {
        bl_db_file_record *rec = bl_xcalloc(1, sizeof *rec);
        int rc = bl_report_file_parse(note, rec, err);
        if (rc == BL_OK)
            rc = bl_db_file_settled(db, rec, err);
        free(rec);
        return rc;
    }
    return bl_err_set(err, BL_EFORMAT, "unexpected note '%s'", note->kind);
}
