/*
 * db stats: stage statistics and settled files (see stats.h). Statements
 * are prepared per call: these run a few times per file or batch, next to
 * a page transaction that costs far more, and a read-only handle has no
 * prepared set.
 */
#include "stats.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int stats_fail(sqlite3 *h, bl_err *err, const char *what)
{
    int primary = sqlite3_errcode(h) & 0xff;
    int code = (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) ? BL_EAGAIN
                                                                    : BL_EDB;
    return bl_err_set(err, code, "%s: %s: %s", sqlite3_db_filename(h, "main"),
                      what, sqlite3_errmsg(h));
}

/* ISO 8601 UTC with milliseconds, as the other tables' times. */
static void iso_time(uint64_t wall_ns, char out[32])
{
    time_t secs = (time_t)(wall_ns / 1000000000ull);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char day[24];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03uZ", day,
             (unsigned)(wall_ns % 1000000000ull / 1000000ull));
}

static int bind_opt_double(sqlite3_stmt *st, int i, double v)
{
    return v < 0 ? sqlite3_bind_null(st, i) : sqlite3_bind_double(st, i, v);
}

int bl_db_stats_store(bl_db *self, const bl_db_stage_stats *row, bl_err *err)
{
    assert(self && row && row->batch && row->stage);
    sqlite3 *h = bl_db_handle(self);
    static const char sql[] =
        "INSERT INTO stage_stats(batch, stage, instance, items_in,"
        " items_out, errors, restarts, busy_s, cpu_s, peak_rss_kb, p50_ms,"
        " p95_ms, started_at, finished_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
        " ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        " ON CONFLICT(batch, stage, instance) DO UPDATE SET"
        " items_in = items_in + excluded.items_in,"
        " items_out = items_out + excluded.items_out,"
        " errors = errors + excluded.errors,"
        " restarts = restarts + excluded.restarts,"
        " busy_s = busy_s + excluded.busy_s,"
        " cpu_s = cpu_s + excluded.cpu_s,"
        " peak_rss_kb = max(peak_rss_kb, excluded.peak_rss_kb),"
        " p50_ms = excluded.p50_ms, p95_ms = excluded.p95_ms,"
        " finished_at = excluded.finished_at";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        return stats_fail(h, err, "storing stage statistics");
    char started[32], finished[32];
    iso_time(row->started_ns, started);
    iso_time(row->finished_ns, finished);
    int b = sqlite3_bind_text(st, 1, row->batch, -1, SQLITE_STATIC)
          | sqlite3_bind_text(st, 2, row->stage, -1, SQLITE_STATIC)
          | sqlite3_bind_int(st, 3, row->instance)
          | sqlite3_bind_int64(st, 4, row->items_in)
          | sqlite3_bind_int64(st, 5, row->items_out)
          | sqlite3_bind_int64(st, 6, row->errors)
          | sqlite3_bind_int64(st, 7, row->restarts)
          | sqlite3_bind_double(st, 8, row->busy_s)
          | bind_opt_double(st, 9, row->cpu_s)
          | (row->peak_rss_kb < 0 ? sqlite3_bind_null(st, 10)
                                  : sqlite3_bind_int64(st, 10, row->peak_rss_kb))
          | bind_opt_double(st, 11, row->p50_ms)
          | bind_opt_double(st, 12, row->p95_ms)
          | sqlite3_bind_text(st, 13, started, -1, SQLITE_TRANSIENT)
          | sqlite3_bind_text(st, 14, finished, -1, SQLITE_TRANSIENT);
    int ret = BL_OK;
    if (b || sqlite3_step(st) != SQLITE_DONE)
        ret = stats_fail(h, err, "storing stage statistics");
    sqlite3_finalize(st);
    return ret;
}

int bl_db_file_identity(const char *path, bl_db_file_record *out, bl_err *err)
{
    struct stat sb;
    FILE *f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &sb) != 0) {
        int e = errno;
        if (f)
            fclose(f);
        return bl_err_set(err, e == ENOENT ? BL_ENOENT : BL_EIO, "%s: %s", path,
                          strerror(e));
    }
    uint64_t h = 0;
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        h = bl_hash_fnv1a64(buf, n, h);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return bl_err_set(err, BL_EIO, "%s: read error", path);
    out->size = (int64_t)sb.st_size;
    out->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    out->hash = h;
    return BL_OK;
}

int bl_db_file_settled(bl_db *self, const bl_db_file_record *rec, bl_err *err)
{
    assert(self && rec);
    sqlite3 *h = bl_db_handle(self);
    static const char sql[] =
        "INSERT OR REPLACE INTO batch_files(batch, source_path, size, mtime_ns,"
        " hash, pages, stored, duplicates, failed, retry) VALUES (?1, ?2, ?3,"
        " ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        return stats_fail(h, err, "storing a settled file");
    char hash[17];
    snprintf(hash, sizeof hash, "%016" PRIx64, rec->hash);
    int b = sqlite3_bind_text(st, 1, rec->batch, -1, SQLITE_STATIC)
          | sqlite3_bind_text(st, 2, rec->source_path, -1, SQLITE_STATIC)
          | sqlite3_bind_int64(st, 3, rec->size)
          | sqlite3_bind_int64(st, 4, rec->mtime_ns)
          | sqlite3_bind_text(st, 5, hash, -1, SQLITE_TRANSIENT)
          | sqlite3_bind_int64(st, 6, rec->stored + rec->duplicates + rec->failed)
          | sqlite3_bind_int64(st, 7, rec->stored)
          | sqlite3_bind_int64(st, 8, rec->duplicates)
          | sqlite3_bind_int64(st, 9, rec->failed)
          | sqlite3_bind_int(st, 10, rec->retry != 0);
    int ret = BL_OK;
    if (b || sqlite3_step(st) != SQLITE_DONE)
        ret = stats_fail(h, err, "storing a settled file");
    sqlite3_finalize(st);
    return ret;
}

int bl_db_file_get(bl_db *self, const char *batch, const char *path,
                   bl_db_file_record *out, int64_t *present, bl_err *err)
{
    assert(self && batch && path && out && present);
    sqlite3 *h = bl_db_handle(self);
    static const char sql[] =
        "SELECT f.size, f.mtime_ns, f.hash, f.stored, f.duplicates, f.failed,"
        " f.retry, (SELECT count(*) FROM pages p"
        "   JOIN documents d ON d.id = p.document_id"
        "   JOIN batches b ON b.id = d.batch_id"
        "   WHERE b.name = f.batch AND d.source_path = f.source_path)"
        " FROM batch_files f WHERE f.batch = ?1 AND f.source_path = ?2";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
        /* A database from before migration 003 has nothing to resume. */
        if (strstr(sqlite3_errmsg(h), "no such table"))
            return BL_ENOENT;
        return stats_fail(h, err, "looking up a settled file");
    }
    memset(out, 0, sizeof *out);
    int ret = BL_ENOENT;
    if (sqlite3_bind_text(st, 1, batch, -1, SQLITE_STATIC) |
        sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC)) {
        ret = stats_fail(h, err, "looking up a settled file");
        goto done;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        bl_strlcpy(out->batch, batch, sizeof out->batch);
        bl_strlcpy(out->source_path, path, sizeof out->source_path);
        out->size = sqlite3_column_int64(st, 0);
        out->mtime_ns = sqlite3_column_int64(st, 1);
        const unsigned char *hash = sqlite3_column_text(st, 2);
        out->hash = hash ? strtoull((const char *)hash, NULL, 16) : 0;
        out->stored = sqlite3_column_int64(st, 3);
        out->duplicates = sqlite3_column_int64(st, 4);
        out->failed = sqlite3_column_int64(st, 5);
        out->retry = sqlite3_column_int(st, 6);
        *present = sqlite3_column_int64(st, 7);
        ret = BL_OK;
    } else if (rc != SQLITE_DONE) {
        ret = stats_fail(h, err, "looking up a settled file");
    }
done:
    sqlite3_finalize(st);
    return ret;
}
