/*
 * Tests of the record store: migrations and their version guard, WAL,
 * storing pages (values, boxes, digits), idempotent replacement, rollback
 * on failure, error records and batch summaries.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/db.h"
#include "db_fixture.h"

static char dir[FX_PATH_MAX];
static char db_path[FX_PATH_MAX];

static void setup(void)
{
    fx_dir_make(dir, db_path);
}

static void teardown(void)
{
    fx_dir_remove(dir);
}

TestSuite(db, .init = setup, .fini = teardown);

static bl_db *open_ok(void)
{
    bl_err err = {0};
    bl_db *db = bl_db_open(db_path, &err);
    cr_assert_not_null(db, "open: %s", err.msg);
    return db;
}

static void store_ok(bl_db *db, const fx_work *x, uint32_t page)
{
    bl_err err = {0};
    int rc = bl_db_store_page(db, &x->w, page, x->confidence, x->needs_review, &err);
    cr_assert_eq(rc, BL_OK, "store: %s", err.msg);
}

static const char *pragma_text(sqlite3 *h, const char *sql, char *buf, size_t size)
{
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

Test(db, migrations_create_the_schema_and_v_fields)
{
    bl_db *db = open_ok();
    char buf[64];
    cr_assert_geq(bl_db_schema_version(), 1);
    cr_assert_eq(atoi(pragma_text(bl_db_handle(db), "PRAGMA user_version", buf,
                                  sizeof buf)),
                 bl_db_schema_version());

    static const char *const required[] = {
        "batch", "source_path", "page_index", "field_name", "value", "confidence",
        "needs_review", "x", "y", "w", "h", "field_index", "page_id", "model_classify"};
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(bl_db_handle(db), "PRAGMA table_info(v_fields)",
                                    -1, &st, NULL), SQLITE_OK);
    int found[sizeof required / sizeof required[0]] = {0};
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 1);
        for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
            found[i] |= strcmp(name, required[i]) == 0;
    }
    sqlite3_finalize(st);
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        cr_expect(found[i], "v_fields lacks column %s", required[i]);

    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                                   " AND name IN ('batches', 'documents', 'pages',"
                                   " 'fields', 'digits', 'errors')"), 6);
    bl_db_close(&db);
    cr_assert_null(db, "close nulls the pointer");
}

Test(db, reopening_is_a_no_op)
{
    fx_work x;
    const char *values[] = {"407", "12"};
    fx_work_init(&x, "b1", "scans/a.tif", 1, 2, values, NULL);
    bl_db *db = open_ok();
    store_ok(db, &x, 0);
    bl_db_close(&db);
    long long objects = fx_count(db_path, "SELECT count(*) FROM sqlite_master");

    db = open_ok();
    bl_db_close(&db);
    db = open_ok();
    char buf[64];
    cr_assert_eq(atoi(pragma_text(bl_db_handle(db), "PRAGMA user_version", buf,
                                  sizeof buf)),
                 bl_db_schema_version());
    bl_db_close(&db);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM sqlite_master"), objects);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM v_fields"), 2);
}

Test(db, refuses_a_newer_schema_and_leaves_it_untouched)
{
    sqlite3 *h = NULL;
    cr_assert_eq(sqlite3_open(db_path, &h), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(h, "CREATE TABLE t(x); PRAGMA user_version = 9",
                              NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);

    char expect[BL_ERR_MSG_MAX];
    snprintf(expect, sizeof expect,
             "%s: schema version 9 is newer than this blotter (knows %d)",
             db_path, bl_db_schema_version());
    bl_err err = {0};
    cr_assert_null(bl_db_open(db_path, &err));
    cr_assert_eq(err.code, BL_EUNSUP);
    cr_assert_str_eq(err.msg, expect);
    bl_err_clear(&err);
    cr_assert_null(bl_db_open_readonly(db_path, &err));
    cr_assert_str_eq(err.msg, expect);

    cr_assert_eq(fx_count(db_path, "PRAGMA user_version"), 9);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM sqlite_master"), 1,
                 "no migration ran");
    char buf[64];
    cr_assert_eq(sqlite3_open(db_path, &h), SQLITE_OK);
    cr_assert_str_eq(pragma_text(h, "PRAGMA journal_mode", buf, sizeof buf), "delete",
                     "journal mode unchanged");
    sqlite3_close(h);
}

Test(db, opens_in_wal_mode_with_foreign_keys)
{
    bl_db *db = open_ok();
    char buf[64];
    cr_assert_str_eq(pragma_text(bl_db_handle(db), "PRAGMA journal_mode", buf, sizeof buf),
                     "wal");
    cr_assert_str_eq(pragma_text(bl_db_handle(db), "PRAGMA foreign_keys", buf, sizeof buf),
                     "1");
    cr_assert_str_eq(pragma_text(bl_db_handle(db), "PRAGMA synchronous", buf, sizeof buf),
                     "1", "NORMAL");
    bl_db_close(&db);
}

Test(db, open_failure_names_the_file)
{
    bl_err err = {0};
    char path[FX_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/no/such/dir/x.db", dir);
    cr_assert_null(bl_db_open(path, &err));
    cr_assert_eq(err.code, BL_EDB);
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0, "%s", err.msg);
}

Test(db, readonly_open_never_creates_the_file)
{
    bl_err err = {0};
    cr_assert_null(bl_db_open_readonly(db_path, &err));
    cr_assert_eq(err.code, BL_ENOENT);
    cr_assert(strstr(err.msg, db_path), "%s", err.msg);
    cr_assert_neq(access(db_path, F_OK), 0, "no file created");
}

Test(db, readonly_open_refuses_a_foreign_file)
{
    FILE *f = fopen(db_path, "w");
    cr_assert_not_null(f);
    fputs("not a database, just text long enough to fill a header block.....\n"
          "................................................................\n", f);
    fclose(f);
    bl_err err = {0};
    cr_assert_null(bl_db_open_readonly(db_path, &err));
    cr_assert(strstr(err.msg, db_path), "%s", err.msg);
    cr_assert_null(bl_db_open(db_path, &err));
    cr_assert_eq(err.code, BL_EDB);
}

Test(db, stores_fields_and_digits_readable_through_v_fields)
{
    fx_work x;
    const char *values[] = {"407", "12"};
    const char *names[] = {"record_no", "year"};
    fx_work_init(&x, "b1", "scans/a.tif", 3, 2, values, names);
    bl_db *db = open_ok();
    store_ok(db, &x, 2);

    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(bl_db_handle(db),
        "SELECT batch, source_path, page_index, field_name, value, confidence,"
        " needs_review, x, y, w, h, px, py, pw, ph, field_index, model_classify"
        " FROM v_fields ORDER BY field_index", -1, &st, NULL), SQLITE_OK);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
        cr_expect_str_eq((const char *)sqlite3_column_text(st, 0), "b1");
        cr_expect_str_eq((const char *)sqlite3_column_text(st, 1), "scans/a.tif");
        cr_expect_eq(sqlite3_column_int(st, 2), 2);
        cr_expect_str_eq((const char *)sqlite3_column_text(st, 3), names[i]);
        cr_expect_str_eq((const char *)sqlite3_column_text(st, 4), values[i]);
        cr_expect_float_eq(sqlite3_column_double(st, 5), x.confidence[i], 1e-12);
        cr_expect_eq(sqlite3_column_int(st, 6), i);
        cr_expect_eq(sqlite3_column_int(st, 7), 100 + 10 * i);
        cr_expect_eq(sqlite3_column_int(st, 8), 200 + 10 * i);
        cr_expect_eq(sqlite3_column_int(st, 9), 300);
        cr_expect_eq(sqlite3_column_int(st, 10), 40);
        cr_expect_eq(sqlite3_column_int(st, 11), 10 + i);
        cr_expect_eq(sqlite3_column_int(st, 12), 20 + i);
        cr_expect_eq(sqlite3_column_int(st, 13), 30);
        cr_expect_eq(sqlite3_column_int(st, 14), 4);
        cr_expect_eq(sqlite3_column_int(st, 15), i);
        cr_expect_str_eq((const char *)sqlite3_column_text(st, 16), "cnn-3");
    }
    cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    bl_db_close(&db);

    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM digits"), 5);
    cr_assert_eq(fx_count(db_path, "SELECT group_concat(class, '') FROM"
                                   " (SELECT class FROM digits ORDER BY field_id, digit_index)"),
                 40712);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM digits"
                                   " WHERE abs(probability - 0.91) < 1e-6"
                                   " AND abs(p0 + p1 + p2 + p3 + p4 + p5 + p6 + p7 + p8"
                                   " + p9 - 1.0) < 1e-6"), 5);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM pages WHERE width = 2480"
                                   " AND height = 3508 AND rotation = 90 AND skew = -0.75"
                                   " AND content_hash = 'fedcba9876543210' AND tr_a = 1"
                                   " AND tr_e = 1 AND model_ingest = 'orient-1'"
                                   " AND model_detect IS NULL"), 1);
    cr_assert_eq(fx_count(db_path, "SELECT page_count FROM documents"), 3);
}

Test(db, storing_the_same_page_twice_keeps_one_set_of_rows)
{
    fx_work x;
    const char *values[] = {"407", "12"};
    fx_work_init(&x, "b1", "scans/a.tif", 2, 2, values, NULL);
    bl_db *db = open_ok();
    store_ok(db, &x, 0);
    store_ok(db, &x, 0);
    /* A replay carrying a corrected value replaces, never mixes. */
    const char *values2[] = {"408", "12"};
    fx_work_init(&x, "b1", "scans/a.tif", 2, 2, values2, NULL);
    store_ok(db, &x, 0);
    bl_db_close(&db);

    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM batches"), 1);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM documents"), 1);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM pages"), 1);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM fields"), 2);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM digits"), 5);
    cr_assert_eq(fx_count(db_path, "SELECT value FROM v_fields WHERE field_index = 0"), 408);

    /* The other page of the same file is a different key. */
    db = open_ok();
    store_ok(db, &x, 1);
    bl_db_close(&db);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM pages"), 2);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM documents"), 1);
}

Test(db, rejects_an_invalid_digit_reference_and_writes_nothing)
{
    fx_work x;
    const char *values[] = {"407", "12"};
    fx_work_init(&x, "b1", "scans/a.tif", 1, 2, values, NULL);
    x.fields[1].first_digit = 4; /* 4 + 2 > 5 digits */
    bl_db *db = open_ok();
    bl_err err = {0};
    int rc = bl_db_store_page(db, &x.w, 0, x.confidence, x.needs_review, &err);
    cr_assert_eq(rc, BL_EINVAL);
    cr_assert(strstr(err.msg, "scans/a.tif") && strstr(err.msg, "field 1"), "%s", err.msg);

    /* Overflowing first + count must not wrap around into range. */
    x.fields[1].first_digit = 3;
    x.fields[1].digit_count = UINT32_MAX;
    cr_assert_eq(bl_db_store_page(db, &x.w, 0, x.confidence, x.needs_review, &err),
                 BL_EINVAL);
    bl_db_close(&db);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM pages"), 0);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM batches"), 0);
}

Test(db, rejects_bad_classes_and_unterminated_strings)
{
    fx_work x;
    const char *values[] = {"407"};
    fx_work_init(&x, "b1", "scans/a.tif", 1, 1, values, NULL);
    x.digits[1].cls = 10;
    bl_db *db = open_ok();
    bl_err err = {0};
    cr_assert_eq(bl_db_store_page(db, &x.w, 0, x.confidence, x.needs_review, &err),
                 BL_EINVAL);
    cr_assert(strstr(err.msg, "class 10"), "%s", err.msg);

    fx_work_init(&x, "b1", "scans/a.tif", 1, 1, values, NULL);
    memset(x.fields[0].name, 'n', sizeof x.fields[0].name);
    cr_assert_eq(bl_db_store_page(db, &x.w, 0, x.confidence, x.needs_review, &err),
                 BL_EINVAL);
    fx_work_init(&x, "", "scans/a.tif", 1, 1, values, NULL);
    cr_assert_eq(bl_db_store_page(db, &x.w, 0, x.confidence, x.needs_review, &err),
                 BL_EINVAL);
    bl_db_close(&db);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM pages"), 0);
}

Test(db, a_failure_mid_transaction_rolls_the_page_back)
{
    fx_work x;
    const char *values[] = {"407", "12"};
    fx_work_init(&x, "b1", "scans/a.tif", 1, 2, values, NULL);
    bl_db *db = open_ok();
    store_ok(db, &x, 0);

    /* The replacement fails on its second field (the schema's CHECK on
     * confidence), after the old page was deleted and the new page and
     * first field inserted: all of that must be undone. */
    const char *values2[] = {"999", "99"};
    fx_work_init(&x, "b1", "scans/a.tif", 1, 2, values2, NULL);
    x.confidence[1] = 1.5;
    bl_err err = {0};
    int rc = bl_db_store_page(db, &x.w, 0, x.confidence, x.needs_review, &err);
    cr_assert_eq(rc, BL_EDB);
    cr_assert(strstr(err.msg, db_path) && strstr(err.msg, "scans/a.tif: page 0")
                  && strstr(err.msg, "CHECK constraint failed"),
              "%s", err.msg);

    /* A new file failing the same way leaves no batch or document behind. */
    fx_work_init(&x, "b2", "scans/new.tif", 1, 2, values2, NULL);
    x.confidence[1] = 1.5;
    cr_assert_eq(bl_db_store_page(db, &x.w, 0, x.confidence, x.needs_review, &err),
                 BL_EDB);
    cr_assert(sqlite3_get_autocommit(bl_db_handle(db)), "no transaction left open");

    /* And the handle still works afterwards. */
    fx_work_init(&x, "b1", "scans/b.tif", 1, 2, values, NULL);
    store_ok(db, &x, 0);
    bl_db_close(&db);

    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM v_fields WHERE value IN ('999', '99')"), 0);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM v_fields"
                                   " WHERE source_path = 'scans/a.tif'"), 2);
    cr_assert_eq(fx_count(db_path, "SELECT value FROM v_fields WHERE source_path ="
                                   " 'scans/a.tif' AND field_index = 0"), 407);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM digits"), 10);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM batches WHERE name = 'b2'"), 0);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM documents"), 2);
}

Test(db, a_readonly_handle_refuses_to_store)
{
    bl_db *db = open_ok();
    bl_db_close(&db);
    bl_err err = {0};
    db = bl_db_open_readonly(db_path, &err);
    cr_assert_not_null(db, "%s", err.msg);
    fx_work x;
    const char *values[] = {"1"};
    fx_work_init(&x, "b1", "a.png", 1, 1, values, NULL);
    cr_assert_eq(bl_db_store_page(db, &x.w, 0, x.confidence, x.needs_review, &err),
                 BL_EINVAL);
    cr_assert_eq(bl_db_store_error(db, "b1", "a.png", 0, "ingest", "x", &err), BL_EINVAL);
    bl_db_batch_summary sum;
    cr_assert_eq(bl_db_batch_summary_get(db, "b1", &sum, &err), BL_OK, "%s", err.msg);
    bl_db_close(&db);
}

Test(db, unclassified_digits_keep_their_place_in_the_value)
{
    fx_work x;
    const char *values[] = {"4?7", ""};
    fx_work_init(&x, "b1", "a.png", 1, 2, values, NULL);
    bl_db *db = open_ok();
    store_ok(db, &x, 0);
    bl_db_close(&db);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM v_fields WHERE value = '4?7'"), 1);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM v_fields WHERE value = ''"), 1);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM digits WHERE class IS NULL"
                                   " AND probability IS NULL"), 1);
}

Test(db, errors_and_batch_summary_counts)
{
    bl_db *db = open_ok();
    fx_work x;
    const char *values[] = {"407", "12"};
    fx_work_init(&x, "b1", "scans/a.tif", 2, 2, values, NULL);
    store_ok(db, &x, 0);
    store_ok(db, &x, 1);
    store_ok(db, &x, 1); /* replayed: counted once */
    fx_work_init(&x, "other", "scans/a.tif", 1, 2, values, NULL);
    store_ok(db, &x, 0);

    bl_err err = {0};
    cr_assert_eq(bl_db_store_error(db, "b1", "scans/bad.tif", -1, "ingest",
                                   "scans/bad.tif: unsupported compression 7", &err),
                 BL_OK, "%s", err.msg);
    cr_assert_eq(bl_db_store_error(db, "b1", "scans/a.tif", 3, "segment", "too many digits",
                                   &err), BL_OK, "%s", err.msg);
    cr_assert_eq(bl_db_store_error(db, "gone", "x.tif", -1, "ingest", "unreadable",
                                   &err), BL_OK, "%s", err.msg);

    bl_db_batch_summary s;
    cr_assert_eq(bl_db_batch_summary_get(db, "b1", &s, &err), BL_OK, "%s", err.msg);
    cr_expect_eq(s.pages, 2);
    cr_expect_eq(s.fields, 4);
    cr_expect_eq(s.digits, 10);
    cr_expect_eq(s.flagged, 2);
    cr_expect_eq(s.errors, 2);

    /* A batch whose every file failed has errors and nothing else. */
    cr_assert_eq(bl_db_batch_summary_get(db, "gone", &s, &err), BL_OK);
    cr_expect(s.pages == 0 && s.fields == 0 && s.digits == 0 && s.flagged == 0);
    cr_expect_eq(s.errors, 1);
    cr_assert_eq(bl_db_batch_summary_get(db, "never", &s, &err), BL_OK);
    cr_expect(s.pages == 0 && s.errors == 0);
    bl_db_close(&db);

    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM errors WHERE page_index IS NULL"), 2);
    cr_assert_eq(fx_count(db_path, "SELECT page_index FROM errors WHERE stage = 'segment'"), 3);
}

/* Writer instances start together on a fresh file: each must see the
 * schema migrated exactly once and store its page. */
Test(db, concurrent_writers_on_a_fresh_file)
{
    enum { N = 4 };
    pid_t pid[N];
    for (int i = 0; i < N; i++) {
        pid[i] = fork();
        cr_assert(pid[i] >= 0);
        if (pid[i] == 0) {
            bl_err err = {0};
            bl_db *db = bl_db_open(db_path, &err);
            if (!db) {
                fprintf(stderr, "child %d: %s\n", i, err.msg);
                _exit(1);
            }
            fx_work x;
            const char *values[] = {"407", "12"};
            char path[32];
            snprintf(path, sizeof path, "scans/%d.tif", i);
            fx_work_init(&x, "b1", path, 1, 2, values, NULL);
            int rc = bl_db_store_page(db, &x.w, 0, x.confidence, x.needs_review, &err);
            if (rc)
                fprintf(stderr, "child %d: %s\n", i, err.msg);
            bl_db_close(&db);
            _exit(rc ? 1 : 0);
        }
    }
    for (int i = 0; i < N; i++) {
        int status = 0;
        cr_assert_eq(waitpid(pid[i], &status, 0), pid[i]);
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed", i);
    }
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM pages"), N);
    cr_assert_eq(fx_count(db_path, "SELECT count(*) FROM batches"), 1);
    cr_assert_eq(fx_count(db_path, "PRAGMA user_version"), bl_db_schema_version());
}
