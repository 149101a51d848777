/*
 * records: audit trail, models and reviews on top of the record store
 * (records.h). Every statement takes bound parameters only; SQLite's
 * message is copied into bl_err at once.
 */
#include "db/records.h"

#include <assert.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rec_fail(sqlite3 *h, bl_err *err, const char *what)
{
    int code = sqlite3_errcode(h);
    return bl_err_set(err, (code & 0xff) == SQLITE_BUSY ? BL_EAGAIN : BL_EDB,
                      "%s: %s", what, sqlite3_errmsg(h));
}

bl_db *bl_db_open_existing(const char *path, bl_err *err)
{
    /* The read-only open does the checks (exists, is blotter's, not newer)
     * without creating or changing anything. */
    bl_db *probe = bl_db_open_readonly(path, err);
    if (!probe)
        return NULL;
    bl_db_close(&probe);
    return bl_db_open(path, err);
}

const char *bl_db_audit_who(char *buf, size_t size)
{
    assert(buf && size);
    const char *user = getenv("BLOTTER_USER");
    if (user && *user) {
        bl_strlcpy(buf, user, size);
        return buf;
    }
    /* getpwuid rather than getlogin: cron jobs and services have no
     * controlling terminal, and the uid is what the system vouches for. */
    struct passwd *pw = getpwuid(getuid());
    if (pw && pw->pw_name && *pw->pw_name)
        bl_strlcpy(buf, pw->pw_name, size);
    else
        snprintf(buf, size, "uid:%lu", (unsigned long)getuid());
    return buf;
}

/* Runs one statement to completion; the statement is always finalized. */
static int rec_run(sqlite3 *h, sqlite3_stmt *st, const char *what, bl_err *err)
{
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_DONE || rc == SQLITE_ROW ? BL_OK : rec_fail(h, err, what);
    sqlite3_finalize(st);
    return ret;
}

int bl_db_audit(bl_db *self, const char *command, const char *params_json,
                int64_t row_count, bl_err *err)
{
    assert(self && command && params_json);
    sqlite3 *h = bl_db_handle(self);
    char who[256];
    bl_db_audit_who(who, sizeof who);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h,
                           "INSERT INTO audit(who, command, params, row_count)"
                           " VALUES (?1, ?2, ?3, ?4)",
                           -1, &st, NULL) != SQLITE_OK)
        return rec_fail(h, err, "audit");
    int b = sqlite3_bind_text(st, 1, who, -1, SQLITE_TRANSIENT)
          | sqlite3_bind_text(st, 2, command, -1, SQLITE_STATIC)
          | sqlite3_bind_text(st, 3, params_json, -1, SQLITE_STATIC)
          | (row_count >= 0 ? sqlite3_bind_int64(st, 4, row_count)
                            : sqlite3_bind_null(st, 4));
    if (b) {
        sqlite3_finalize(st);
        return rec_fail(h, err, "audit");
    }
    return rec_run(h, st, "audit", err);
}

int bl_db_model_note(bl_db *self, const char *stage, const char *id,
                     const char *path, bl_err *err)
{
    assert(self && stage && id);
    sqlite3 *h = bl_db_handle(self);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h,
                           "INSERT INTO models(id, stage, path, crc) VALUES (?1, ?2, ?3,"
                           " CASE WHEN instr(?1, ':') > 0"
                           "  THEN substr(?1, instr(?1, ':') + 1) END)"
                           " ON CONFLICT(id) DO UPDATE SET"
                           "  path = coalesce(excluded.path, models.path)",
                           -1, &st, NULL) != SQLITE_OK)
        return rec_fail(h, err, "models");
    int b = sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC)
          | sqlite3_bind_text(st, 2, stage, -1, SQLITE_STATIC)
          | (path && *path ? sqlite3_bind_text(st, 3, path, -1, SQLITE_STATIC)
                           : sqlite3_bind_null(st, 3));
    if (b) {
        sqlite3_finalize(st);
        return rec_fail(h, err, "models");
    }
    return rec_run(h, st, "models", err);
}

static int is_digit_string(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

int bl_db_review_add(bl_db *self, int64_t field_id, const char *reviewer,
                     const char *old_value, const char *new_value,
                     const char *source_file, bl_err *err)
{
    assert(self && reviewer && old_value && source_file);
    if (!is_digit_string(new_value))
        return bl_err_set(err, BL_EINVAL, "field %lld: new value '%s' is not a digit string",
                          (long long)field_id, new_value ? new_value : "");
    sqlite3 *h = bl_db_handle(self);
    sqlite3_stmt *st = NULL;
    /* INSERT ... SELECT: no row when the field is gone (a page stored again
     * since the sheet was written), which is told apart below. */
    if (sqlite3_prepare_v2(h,
                           "INSERT INTO reviews(field_id, reviewer, old_value, new_value,"
                           " source_file) SELECT id, ?2, ?3, ?4, ?5 FROM fields WHERE id = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return rec_fail(h, err, "review");
    int b = sqlite3_bind_int64(st, 1, field_id)
          | sqlite3_bind_text(st, 2, reviewer, -1, SQLITE_STATIC)
          | sqlite3_bind_text(st, 3, old_value, -1, SQLITE_STATIC)
          | sqlite3_bind_text(st, 4, new_value, -1, SQLITE_STATIC)
          | sqlite3_bind_text(st, 5, source_file, -1, SQLITE_STATIC);
    if (b) {
        sqlite3_finalize(st);
        return rec_fail(h, err, "review");
    }
    int ret = rec_run(h, st, "review", err);
    if (ret == BL_OK && sqlite3_changes(h) == 0)
        ret = bl_err_set(err, BL_ENOENT, "field %lld: no such field", (long long)field_id);
    return ret;
}
