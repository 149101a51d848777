/*
 * db: the SQLite record store (see db.h for the contract, schema/ for the
 * tables and docs/SCHEMA.md for how to query them).
 *
 * Opening: busy timeout first (several writer instances and the front end
 * share one file), refuse a schema newer than ours before touching
 * anything, then WAL (readers never block the writer), synchronous=NORMAL
 * (in WAL mode a power cut can lose the last commits but never corrupts;
 * a lost page is re-fed, storage being idempotent), foreign keys on (the
 * cascades that make replacing a page one DELETE), and the migrations.
 *
 * Storing a page is one BEGIN IMMEDIATE transaction: upsert batch and
 * document, delete the page's old row (cascading to its fields and
 * digits), insert the page, its fields and their digits. IMMEDIATE takes
 * the write lock up front, so two writers queue on the busy timeout rather
 * than deadlock upgrading read locks. Statements are prepared once at open
 * and only ever take bound parameters.
 *
 * Limits: one connection per bl_db, used from one thread at a time.
 */
#include "db.h"

#include <assert.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "migrations.h"

/* Longer than any one page's transaction, short enough that a stuck
 * database surfaces as an error instead of a silent stall. */
#define DB_BUSY_TIMEOUT_MS 10000

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_BATCH_INSERT,
    ST_BATCH_ID,
    ST_DOC_UPSERT,
    ST_DOC_ID,
    ST_PAGE_DELETE,
    ST_PAGE_INSERT,
    ST_FIELD_INSERT,
    ST_DIGIT_INSERT,
    ST_ERROR_INSERT,
    ST_SUMMARY,
    ST_DUPLICATE,
    ST_COUNT
};

static const char *const STMT_SQL[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_BATCH_INSERT] =
        "INSERT INTO batches(name) VALUES (?1) ON CONFLICT(name) DO NOTHING",
    [ST_BATCH_ID] = "SELECT id FROM batches WHERE name = ?1",
    [ST_DOC_UPSERT] =
        "INSERT INTO documents(batch_id, source_path, page_count)"
        " VALUES (?1, ?2, ?3) ON CONFLICT(batch_id, source_path)"
        " DO UPDATE SET page_count = excluded.page_count",
    [ST_DOC_ID] =
        "SELECT id FROM documents WHERE batch_id = ?1 AND source_path = ?2",
    [ST_PAGE_DELETE] =
        "DELETE FROM pages WHERE document_id = ?1 AND page_index = ?2",
    [ST_PAGE_INSERT] =
        "INSERT INTO pages(document_id, page_index, width, height, dpi_x,"
        " dpi_y, rotation, skew, content_hash, tr_a, tr_b, tr_c, tr_d, tr_e,"
        " tr_f, model_ingest, model_detect, model_segment, model_classify,"
        " model_write) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
        " ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
    [ST_FIELD_INSERT] =
        "INSERT INTO fields(page_id, field_index, field_name, value,"
        " confidence, needs_review, x, y, w, h, px, py, pw, ph, rule) VALUES (?1,"
        " ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    [ST_DIGIT_INSERT] =
        "INSERT INTO digits(field_id, digit_index, class, probability, p0, p1,"
        " p2, p3, p4, p5, p6, p7, p8, p9, px, py, pw, ph, pixels) VALUES (?1, ?2,"
        " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
        " ?19)",
    [ST_ERROR_INSERT] =
        "INSERT INTO errors(batch, source_path, page_index, stage, message)"
        " VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_SUMMARY] =
        "SELECT"
        " (SELECT count(*) FROM pages p"
        "   JOIN documents d ON d.id = p.document_id"
        "   JOIN batches b ON b.id = d.batch_id WHERE b.name = ?1),"
        " (SELECT count(*) FROM fields f JOIN pages p ON p.id = f.page_id"
        "   JOIN documents d ON d.id = p.document_id"
        "   JOIN batches b ON b.id = d.batch_id WHERE b.name = ?1),"
        " (SELECT count(*) FROM digits g JOIN fields f ON f.id = g.field_id"
        "   JOIN pages p ON p.id = f.page_id"
        "   JOIN documents d ON d.id = p.document_id"
        "   JOIN batches b ON b.id = d.batch_id WHERE b.name = ?1),"
        " (SELECT count(*) FROM fields f JOIN pages p ON p.id = f.page_id"
        "   JOIN documents d ON d.id = p.document_id"
        "   JOIN batches b ON b.id = d.batch_id"
        "   WHERE b.name = ?1 AND f.needs_review = 1),"
        " (SELECT count(*) FROM errors WHERE batch = ?1)",
    [ST_DUPLICATE] =
        "SELECT d.source_path, p.page_index, b.name FROM pages p"
        " JOIN documents d ON d.id = p.document_id"
        " JOIN batches b ON b.id = d.batch_id"
        " WHERE p.content_hash = ?1"
        "   AND NOT (b.name = ?2 AND d.source_path = ?3 AND p.page_index = ?4)"
        " ORDER BY p.id LIMIT 1",
};

struct bl_db {
    sqlite3 *h;
    char *path;                 /* for messages */
    int readonly;
    sqlite3_stmt *st[ST_COUNT]; /* NULL when read-only */
};

int bl_db_schema_version(void)
{
    return bl_db_migrations[bl_db_migration_count - 1].version;
}

/* Copies SQLite's message at once (the next call on the handle replaces
 * it). A lock that outlasted the busy timeout is transient: BL_EAGAIN. */
static int db_fail(bl_db *self, bl_err *err, const char *what)
{
    int primary = sqlite3_errcode(self->h) & 0xff;
    int code = (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) ? BL_EAGAIN
                                                                    : BL_EDB;
    return bl_err_set(err, code, "%s: %s: %s", self->path, what,
                      sqlite3_errmsg(self->h));
}

/* Runs a statement that returns no rows and leaves it reset. */
static int db_run(bl_db *self, sqlite3_stmt *st, const char *what, bl_err *err)
{
    int rc = sqlite3_step(st);
    int ret = BL_OK;
    if (rc != SQLITE_DONE)
        ret = db_fail(self, err, what);
    sqlite3_reset(st);
    return ret;
}

/* Runs a statement whose first row's first column is an integer. */
static int db_query_int(bl_db *self, sqlite3_stmt *st, const char *what,
                        int64_t *out, bl_err *err)
{
    int rc = sqlite3_step(st);
    int ret = BL_OK;
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE)
        ret = bl_err_set(err, BL_EDB, "%s: %s: no row", self->path, what);
    else
        ret = db_fail(self, err, what);
    sqlite3_reset(st);
    return ret;
}

static int db_exec(bl_db *self, const char *sql, const char *what, bl_err *err)
{
    if (sqlite3_exec(self->h, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(self, err, what);
    return BL_OK;
}

static int db_user_version(bl_db *self, int64_t *out, bl_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->h, "PRAGMA user_version", -1, &st, NULL))
        return db_fail(self, err, "reading the schema version");
    int ret = db_query_int(self, st, "reading the schema version", out, err);
    sqlite3_finalize(st);
    return ret;
}

static int db_check_not_newer(bl_db *self, int64_t version, bl_err *err)
{
    if (version > bl_db_schema_version())
        return bl_err_set(err, BL_EUNSUP,
                          "%s: schema version %" PRId64
                          " is newer than this blotter (knows %d)",
                          self->path, version, bl_db_schema_version());
    return BL_OK;
}

/* Rolls back if a transaction is still open (SQLite ends some on its own,
 * e.g. after SQLITE_FULL). The caller's message is already in err. */
static void db_rollback(bl_db *self)
{
    if (!sqlite3_get_autocommit(self->h))
        sqlite3_exec(self->h, "ROLLBACK", NULL, NULL, NULL);
}

/* Applies each migration newer than the file (at version `seen` when
 * opened), one transaction each. The version is read again under the write
 * lock: two writers opening a fresh file together would otherwise both run
 * 001 and the second would fail on "table already exists". An up-to-date
 * file takes no write lock at all. */
static int db_migrate(bl_db *self, int64_t seen, bl_err *err)
{
    for (int i = 0; i < bl_db_migration_count; i++) {
        const bl_db_migration *m = &bl_db_migrations[i];
        if (m->version <= seen)
            continue;
        char what[128];
        snprintf(what, sizeof what, "migration %s", m->name);
        int64_t current = 0;
        int ret = db_exec(self, "BEGIN IMMEDIATE", what, err);
        if (!ret)
            ret = db_user_version(self, &current, err);
        if (!ret && current < m->version) {
            /* PRAGMA takes no parameters; the number is our own constant. */
            char set_version[64];
            snprintf(set_version, sizeof set_version, "PRAGMA user_version = %d",
                     m->version);
            ret = db_exec(self, m->sql, what, err);
            if (!ret)
                ret = db_exec(self, set_version, what, err);
        }
        if (!ret)
            ret = db_exec(self, "COMMIT", what, err);
        if (ret) {
            db_rollback(self);
            return ret;
        }
    }
    return BL_OK;
}

static int db_prepare_all(bl_db *self, bl_err *err)
{
    for (int i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(self->h, STMT_SQL[i], -1,
                               SQLITE_PREPARE_PERSISTENT, &self->st[i], NULL))
            return db_fail(self, err, "preparing statements");
    }
    return BL_OK;
}

/* The journal mode pragma answers with the mode now in force; an in-memory
 * database cannot use WAL and says "memory", which is fine for tests. */
static int db_set_wal(bl_db *self, bl_err *err)
{
    sqlite3_stmt *st = NULL;
    int ret = BL_OK;
    if (sqlite3_prepare_v2(self->h, "PRAGMA journal_mode = WAL", -1, &st,
                           NULL)) {
        ret = db_fail(self, err, "switching to WAL");
        goto done;
    }
    /* The switch needs the database to itself, and SQLite reports a
     * concurrent opener as busy here without calling the busy handler:
     * wait and retry for as long as the busy timeout would. */
    int rc;
    for (int waited_ms = 0;; waited_ms += 10) {
        rc = sqlite3_step(st);
        if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) ||
            waited_ms >= DB_BUSY_TIMEOUT_MS)
            break;
        sqlite3_reset(st);
        sqlite3_sleep(10);
    }
    if (rc != SQLITE_ROW) {
        ret = db_fail(self, err, "switching to WAL");
        goto done;
    }
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    if (!mode || (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0))
        ret = bl_err_set(err, BL_EDB, "%s: journal mode stays '%s', not WAL",
                         self->path, mode ? mode : "?");
done:
    sqlite3_finalize(st);
    return ret;
}

static bl_db *db_open(const char *path, int readonly, bl_err *err)
{
    assert(path);
    bl_db *self = bl_xcalloc(1, sizeof *self);
    self->path = bl_xstrdup(path);
    self->readonly = readonly;
    int64_t version = 0;
    int ret = BL_OK;

    /* Read-only opening must not create a file, and a clear "no such file"
     * beats SQLite's generic "unable to open database file". */
    struct stat sb;
    if (readonly && stat(path, &sb) != 0) {
        ret = bl_err_set(err, BL_ENOENT, "%s: no such database file", path);
        goto done;
    }
    int flags = readonly ? SQLITE_OPEN_READONLY
                         : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &self->h, flags, NULL);
    if (rc != SQLITE_OK) {
        ret = bl_err_set(err, BL_EDB, "%s: %s", path,
                         self->h ? sqlite3_errmsg(self->h) : sqlite3_errstr(rc));
        goto done;
    }
    sqlite3_extended_result_codes(self->h, 1);
    sqlite3_busy_timeout(self->h, DB_BUSY_TIMEOUT_MS);

    /* Before changing anything: a newer program's file stays untouched. */
    ret = db_user_version(self, &version, err);
    if (!ret)
        ret = db_check_not_newer(self, version, err);
    if (ret)
        goto done;

    if (readonly) {
        if (version < 1)
            ret = bl_err_set(err, BL_EFORMAT,
                             "%s: not a blotter database (schema version 0)",
                             path);
        goto done;
    }
    ret = db_set_wal(self, err);
    if (!ret)
        ret = db_exec(self, "PRAGMA synchronous = NORMAL", "pragma", err);
    if (!ret)
        ret = db_exec(self, "PRAGMA foreign_keys = ON", "pragma", err);
    if (!ret)
        ret = db_migrate(self, version, err);
    if (!ret)
        ret = db_prepare_all(self, err);
done:
    if (ret)
        bl_db_close(&self);
    return self;
}

bl_db *bl_db_open(const char *path, bl_err *err)
{
    return db_open(path, 0, err);
}

bl_db *bl_db_open_readonly(const char *path, bl_err *err)
{
    return db_open(path, 1, err);
}

void bl_db_close(bl_db **self)
{
    if (!self || !*self)
        return;
    bl_db *db = *self;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(db->st[i]);
    /* All statements are finalized, so close cannot be refused as busy. */
    sqlite3_close(db->h);
    free(db->path);
    free(db);
    *self = NULL;
}

struct sqlite3 *bl_db_handle(bl_db *self)
{
    assert(self);
    return self->h;
}

/* ---- Storing a page ----------------------------------------------------- */

/* Length of a fixed-size string field, or -1 if it is not terminated
 * (a message decoder bug must not make us read past the array). */
static int fixed_len(const char *s, size_t size)
{
    size_t n = strnlen(s, size);
    return n < size ? (int)n : -1;
}

/* Binds a fixed-size string; the empty string (not reported) as NULL. */
static int bind_opt_text(sqlite3_stmt *st, int i, const char *s, size_t size)
{
    int n = fixed_len(s, size);
    if (n <= 0)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text(st, i, s, n, SQLITE_STATIC);
}

static int bind_box(sqlite3_stmt *st, int first, bl_box b)
{
    return sqlite3_bind_int(st, first, b.x) | sqlite3_bind_int(st, first + 1, b.y)
         | sqlite3_bind_int(st, first + 2, b.w)
         | sqlite3_bind_int(st, first + 3, b.h);
}

/* Everything that can be wrong with the work itself is found here, before
 * the transaction, so bad input never costs a write lock. */
static int work_validate(const bl_work *w, const double *confidence,
                         const int *needs_review, bl_err *err)
{
    int path_len = fixed_len(w->source_path, sizeof w->source_path);
    if (path_len <= 0)
        return bl_err_set(err, BL_EINVAL, "work: source path %s",
                          path_len ? "not terminated" : "empty");
    const char *path = w->source_path;
    int batch_len = fixed_len(w->batch, sizeof w->batch);
    if (batch_len <= 0)
        return bl_err_set(err, BL_EINVAL, "%s: batch name %s", path,
                          batch_len ? "not terminated" : "empty");
    for (int s = 0; s < BL_STAGE_COUNT; s++)
        if (fixed_len(w->model[s], sizeof w->model[s]) < 0)
            return bl_err_set(err, BL_EINVAL, "%s: model id of stage %d not terminated",
                              path, s);
    if (w->field_count && (!w->fields || !confidence || !needs_review))
        return bl_err_set(err, BL_EINVAL, "%s: %" PRIu32 " fields but no field array",
                          path, w->field_count);
    if (w->digit_count && !w->digits)
        return bl_err_set(err, BL_EINVAL, "%s: %" PRIu32 " digits but no digit array",
                          path, w->digit_count);
    for (uint32_t i = 0; i < w->field_count; i++) {
        const bl_work_field *f = &w->fields[i];
        if (fixed_len(f->name, sizeof f->name) < 0)
            return bl_err_set(err, BL_EINVAL, "%s: field %" PRIu32 ": name not terminated",
                              path, i);
        if (fixed_len(f->rule, sizeof f->rule) < 0)
            return bl_err_set(err, BL_EINVAL, "%s: field %" PRIu32 ": rule not terminated",
                              path, i);
        /* Written so that first + count cannot overflow. */
        if (f->first_digit > w->digit_count
            || f->digit_count > w->digit_count - f->first_digit)
            return bl_err_set(err, BL_EINVAL,
                              "%s: field %" PRIu32 " (%s): digits %" PRIu32
                              "+%" PRIu32 " outside the page's %" PRIu32 " digits",
                              path, i, f->name, f->first_digit, f->digit_count,
                              w->digit_count);
        for (uint32_t k = 0; k < f->digit_count; k++) {
            int32_t cls = w->digits[f->first_digit + k].cls;
            if (cls < -1 || cls > 9)
                return bl_err_set(err, BL_EINVAL,
                                  "%s: field %" PRIu32 " (%s): digit %" PRIu32
                                  ": class %" PRId32 " outside -1..9",
                                  path, i, f->name, k, cls);
        }
    }
    return BL_OK;
}

static int store_field_digits(bl_db *self, const bl_work *w,
                              const bl_work_field *f, int64_t field_id,
                              const char *what, bl_err *err)
{
    sqlite3_stmt *st = self->st[ST_DIGIT_INSERT];
    for (uint32_t k = 0; k < f->digit_count; k++) {
        const bl_work_digit *d = &w->digits[f->first_digit + k];
        int b = sqlite3_bind_int64(st, 1, field_id) | sqlite3_bind_int64(st, 2, k);
        if (d->cls >= 0) {
            b |= sqlite3_bind_int(st, 3, d->cls)
               | sqlite3_bind_double(st, 4, d->prob[d->cls]);
        } else {
            b |= sqlite3_bind_null(st, 3) | sqlite3_bind_null(st, 4);
        }
        for (int c = 0; c < 10; c++)
            b |= sqlite3_bind_double(st, 5 + c, d->prob[c]);
        b |= bind_box(st, 15, d->box);
        /* The crop the classifier saw, so corrections can teach it later. */
        b |= sqlite3_bind_blob(st, 19, d->pixels, BL_MNIST_PIXELS, SQLITE_STATIC);
        if (b)
            return db_fail(self, err, what);
        int ret = db_run(self, st, what, err);
        if (ret)
            return ret;
    }
    return BL_OK;
}

/* The inserts of one page, inside the caller's transaction. */
static int store_rows(bl_db *self, const bl_work *w, uint32_t page_index,
                      const double *confidence, const int *needs_review,
                      const char *what, bl_err *err)
{
    sqlite3_stmt **st = self->st;
    int64_t batch_id = 0, doc_id = 0;
    int ret;
    int batch_len = fixed_len(w->batch, sizeof w->batch);
    int path_len = fixed_len(w->source_path, sizeof w->source_path);

    if (sqlite3_bind_text(st[ST_BATCH_INSERT], 1, w->batch, batch_len, SQLITE_STATIC)
        || sqlite3_bind_text(st[ST_BATCH_ID], 1, w->batch, batch_len, SQLITE_STATIC))
        return db_fail(self, err, what);
    if ((ret = db_run(self, st[ST_BATCH_INSERT], what, err))
        || (ret = db_query_int(self, st[ST_BATCH_ID], what, &batch_id, err)))
        return ret;

    if (sqlite3_bind_int64(st[ST_DOC_UPSERT], 1, batch_id)
        | sqlite3_bind_text(st[ST_DOC_UPSERT], 2, w->source_path, path_len, SQLITE_STATIC)
        | sqlite3_bind_int64(st[ST_DOC_UPSERT], 3, w->page_count)
        | sqlite3_bind_int64(st[ST_DOC_ID], 1, batch_id)
        | sqlite3_bind_text(st[ST_DOC_ID], 2, w->source_path, path_len, SQLITE_STATIC))
        return db_fail(self, err, what);
    if ((ret = db_run(self, st[ST_DOC_UPSERT], what, err))
        || (ret = db_query_int(self, st[ST_DOC_ID], what, &doc_id, err)))
        return ret;

    /* Replacing, not merging: the cascade removes the old fields and
     * digits, so a replayed page never doubles or mixes rows. */
    if (sqlite3_bind_int64(st[ST_PAGE_DELETE], 1, doc_id)
        | sqlite3_bind_int64(st[ST_PAGE_DELETE], 2, page_index))
        return db_fail(self, err, what);
    if ((ret = db_run(self, st[ST_PAGE_DELETE], what, err)))
        return ret;

    sqlite3_stmt *p = st[ST_PAGE_INSERT];
    char hash[17];
    snprintf(hash, sizeof hash, "%016" PRIx64, w->content_hash);
    const bl_transform *t = &w->to_source;
    int b = sqlite3_bind_int64(p, 1, doc_id) | sqlite3_bind_int64(p, 2, page_index)
          | sqlite3_bind_int(p, 3, w->src_width) | sqlite3_bind_int(p, 4, w->src_height)
          | sqlite3_bind_double(p, 5, w->dpi_x) | sqlite3_bind_double(p, 6, w->dpi_y)
          | sqlite3_bind_double(p, 7, w->rotation_deg)
          | sqlite3_bind_double(p, 8, w->skew_deg)
          | sqlite3_bind_text(p, 9, hash, -1, SQLITE_TRANSIENT)
          | sqlite3_bind_double(p, 10, t->a) | sqlite3_bind_double(p, 11, t->b)
          | sqlite3_bind_double(p, 12, t->c) | sqlite3_bind_double(p, 13, t->d)
          | sqlite3_bind_double(p, 14, t->e) | sqlite3_bind_double(p, 15, t->f);
    static const int model_stage[5] = {BL_STAGE_INGEST, BL_STAGE_DETECT,
                                       BL_STAGE_SEGMENT, BL_STAGE_CLASSIFY,
                                       BL_STAGE_WRITE};
    for (int s = 0; s < 5; s++)
        b |= bind_opt_text(p, 16 + s, w->model[model_stage[s]],
                           sizeof w->model[model_stage[s]]);
    if (b)
        return db_fail(self, err, what);
    if ((ret = db_run(self, p, what, err)))
        return ret;
    int64_t page_id = sqlite3_last_insert_rowid(self->h);

    sqlite3_stmt *fs = st[ST_FIELD_INSERT];
    for (uint32_t i = 0; i < w->field_count; i++) {
        const bl_work_field *f = &w->fields[i];
        /* The value is the digit classes as characters; '?' marks a digit
         * the classifier did not label, so the string keeps its length. */
        char value[64];
        char *vbuf = f->digit_count < sizeof value ? value
                                                   : bl_xmalloc((size_t)f->digit_count + 1);
        for (uint32_t k = 0; k < f->digit_count; k++) {
            int32_t cls = w->digits[f->first_digit + k].cls;
            vbuf[k] = cls >= 0 ? (char)('0' + cls) : '?';
        }
        vbuf[f->digit_count] = '\0';
        b = sqlite3_bind_int64(fs, 1, page_id) | sqlite3_bind_int64(fs, 2, i)
          | sqlite3_bind_text(fs, 3, f->name, -1, SQLITE_STATIC)
          | sqlite3_bind_text(fs, 4, vbuf, (int)f->digit_count, SQLITE_TRANSIENT)
          | sqlite3_bind_double(fs, 5, confidence[i])
          | sqlite3_bind_int(fs, 6, needs_review[i] != 0)
          | bind_box(fs, 7, f->src_box) | bind_box(fs, 11, f->box)
          | sqlite3_bind_text(fs, 15, f->rule, fixed_len(f->rule, sizeof f->rule),
                              SQLITE_STATIC);
        if (vbuf != value)
            free(vbuf);
        if (b)
            return db_fail(self, err, what);
        if ((ret = db_run(self, fs, what, err)))
            return ret;
        int64_t field_id = sqlite3_last_insert_rowid(self->h);
        if ((ret = store_field_digits(self, w, f, field_id, what, err)))
            return ret;
    }
    return BL_OK;
}

int bl_db_store_page(bl_db *self, const bl_work *work, uint32_t page_index,
                     const double *field_confidence,
                     const int *field_needs_review, bl_err *err)
{
    assert(self && work);
    if (self->readonly)
        return bl_err_set(err, BL_EINVAL, "%s: opened read-only", self->path);
    int ret = work_validate(work, field_confidence, field_needs_review, err);
    if (ret)
        return ret;
    char what[BL_ERR_MSG_MAX / 2];
    snprintf(what, sizeof what, "%s: page %" PRIu32, work->source_path, page_index);

    if ((ret = db_run(self, self->st[ST_BEGIN], what, err)))
        return ret;
    ret = store_rows(self, work, page_index, field_confidence,
                     field_needs_review, what, err);
    if (!ret)
        ret = db_run(self, self->st[ST_COMMIT], what, err);
    if (ret)
        db_rollback(self); /* err already holds the first failure */
    return ret;
}

/* ---- Errors and summaries ---------------------------------------------- */

int bl_db_store_error(bl_db *self, const char *batch, const char *source_path,
                      int page_index, const char *stage, const char *message,
                      bl_err *err)
{
    assert(self && batch && source_path && stage && message);
    if (self->readonly)
        return bl_err_set(err, BL_EINVAL, "%s: opened read-only", self->path);
    sqlite3_stmt *st = self->st[ST_ERROR_INSERT];
    int b = sqlite3_bind_text(st, 1, batch, -1, SQLITE_STATIC)
          | sqlite3_bind_text(st, 2, source_path, -1, SQLITE_STATIC)
          | (page_index >= 0 ? sqlite3_bind_int(st, 3, page_index)
                             : sqlite3_bind_null(st, 3))
          | sqlite3_bind_text(st, 4, stage, -1, SQLITE_STATIC)
          | sqlite3_bind_text(st, 5, message, -1, SQLITE_STATIC);
    char what[BL_ERR_MSG_MAX / 2];
    snprintf(what, sizeof what, "%s: storing an error record", source_path);
    if (b)
        return db_fail(self, err, what);
    /* A single INSERT is its own transaction. */
    return db_run(self, st, what, err);
}

int bl_db_batch_summary_get(bl_db *self, const char *batch,
                            bl_db_batch_summary *out, bl_err *err)
{
    assert(self && batch && out);
    sqlite3_stmt *st = self->st[ST_SUMMARY];
    sqlite3_stmt *own = NULL; /* read-only handles prepare on demand */
    int ret = BL_OK;
    memset(out, 0, sizeof *out);
    if (!st) {
        if (sqlite3_prepare_v2(self->h, STMT_SQL[ST_SUMMARY], -1, &own, NULL)) {
            ret = db_fail(self, err, "batch summary");
            goto done;
        }
        st = own;
    }
    if (sqlite3_bind_text(st, 1, batch, -1, SQLITE_STATIC)) {
        ret = db_fail(self, err, "batch summary");
        goto done;
    }
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        ret = db_fail(self, err, "batch summary");
        goto done;
    }
    out->pages = sqlite3_column_int64(st, 0);
    out->fields = sqlite3_column_int64(st, 1);
    out->digits = sqlite3_column_int64(st, 2);
    out->flagged = sqlite3_column_int64(st, 3);
    out->errors = sqlite3_column_int64(st, 4);
done:
    sqlite3_reset(st);
    sqlite3_finalize(own);
    return ret;
}

int bl_db_find_duplicate(bl_db *self, const bl_work *work, uint32_t page_index,
                         bl_db_page_ref *out, bl_err *err)
{
    assert(self && work && out);
    sqlite3_stmt *st = self->st[ST_DUPLICATE];
    char hash[17];
    snprintf(hash, sizeof hash, "%016" PRIx64, work->content_hash);
    memset(out, 0, sizeof *out);
    if (!st)
        return bl_err_set(err, BL_EINVAL, "%s: opened read-only", self->path);
    int ret = BL_ENOENT;
    if (sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(st, 2, work->batch, -1, SQLITE_STATIC) ||
        sqlite3_bind_text(st, 3, work->source_path, -1, SQLITE_STATIC) ||
        sqlite3_bind_int64(st, 4, page_index)) {
        ret = db_fail(self, err, "duplicate look-up");
        goto done;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *path = sqlite3_column_text(st, 0);
        const unsigned char *batch = sqlite3_column_text(st, 2);
        bl_strlcpy(out->source_path, path ? (const char *)path : "",
                   sizeof out->source_path);
        bl_strlcpy(out->batch, batch ? (const char *)batch : "", sizeof out->batch);
        out->page_index = sqlite3_column_int(st, 1);
        ret = BL_OK;
    } else if (rc != SQLITE_DONE) {
        ret = db_fail(self, err, "duplicate look-up");
    }
done:
    sqlite3_reset(st);
    return ret;
}
