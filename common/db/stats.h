/*
 * db stats: per-batch bookkeeping beside the records (schema/
 * 003_stage_stats.sql): what each stage instance did for a batch
 * (stage_stats), and which input files of a batch are settled
 * (batch_files), so that running a batch again resumes it.
 *
 * The writer stores both, on the front end's word; the front end reads
 * batch_files through a read-only handle before feeding. A batch run
 * again (resumed) adds its stage figures to the earlier run's; a settled
 * file's record replaces the earlier one.
 */
#ifndef BL_DB_STATS_H
#define BL_DB_STATS_H

#include <stdint.h>

#include "db/db.h"

typedef struct bl_db_stage_stats {
    const char *batch;
    const char *stage;        /* bl_stage_name */
    int instance;
    int64_t items_in, items_out, errors, restarts;
    double busy_s;
    double cpu_s;             /* < 0: unknown (stored as NULL) */
    int64_t peak_rss_kb;      /* < 0: unknown */
    double p50_ms, p95_ms;    /* < 0: unknown */
    uint64_t started_ns;      /* wall clock, ns since 1970 */
    uint64_t finished_ns;
} bl_db_stage_stats;

/* Stores the row of (batch, stage, instance), or adds the counters to the
 * one there (started_at stays, finished_at and latency are the new
 * ones, peak_rss_kb the larger; cpu_s NULL if either is unknown). */
int bl_db_stats_store(bl_db *self, const bl_db_stage_stats *row, bl_err *err);

/* A settled input file: its identity and its outcomes. */
typedef struct bl_db_file_record {
    char batch[256];
    char source_path[BL_NOTE_TEXT_MAX];
    int64_t size;
    int64_t mtime_ns;
    uint64_t hash;            /* bl_db_file_identity */
    int64_t stored, duplicates, failed;
    int retry;                /* a failure was a passing one */
} bl_db_file_record;

/* Fills size, mtime_ns and hash (FNV-1a 64 of the bytes) of the file at
 * path. BL_ENOENT or BL_EIO with the path and reason. */
int bl_db_file_identity(const char *path, bl_db_file_record *out, bl_err *err);

/* Stores (or replaces) the record of (batch, source_path). */
int bl_db_file_settled(bl_db *self, const bl_db_file_record *rec, bl_err *err);

/* The record of (batch, path): BL_OK with *out filled and *present set to
 * the number of that file's pages stored in that batch now, BL_ENOENT if
 * there is none (or the database predates batch_files), or an error.
 * Works on read-only handles. */
int bl_db_file_get(bl_db *self, const char *batch, const char *path,
                   bl_db_file_record *out, int64_t *present, bl_err *err);

#endif
