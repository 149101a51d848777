/*
 * blotter backup (stages/blotter/cmd_backup.c): a copy taken while another
 * connection writes holds every committed row, WAL content included, and
 * nothing uncommitted; bad sources and destinations are refused by name
 * and leave no file behind.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blotter/backup.h"
#include "db/db.h"

static char dir[] = "/tmp/bl-test-backup-XXXXXX";
static char src[256], dst[256];

static void setup(void)
{
    strcpy(dir, "/tmp/bl-test-backup-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(src, sizeof src, "%s/archive.db", dir);
    snprintf(dst, sizeof dst, "%s/copy.db", dir);
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static long long count(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    long long n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void exec(sqlite3 *h, const char *sql)
{
    char *msg = NULL;
    cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, &msg), SQLITE_OK, "%s: %s", sql,
                 msg ? msg : "");
}

TestSuite(backup, .init = setup, .fini = teardown);

Test(backup, copy_holds_wal_commits_and_not_open_transactions)
{
    bl_err err = {0};
    bl_db *db = bl_db_open(src, &err); /* the real schema, in WAL mode */
    cr_assert_not_null(db, "%s", err.msg);
    sqlite3 *h = bl_db_handle(db);
    /* Commits stay in the -wal file: the copy must read them from there. */
    exec(h, "PRAGMA wal_autocheckpoint = 0");
    exec(h, "BEGIN");
    for (int i = 0; i < 300; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "INSERT INTO batches (name) VALUES ('batch-%03d')", i);
        exec(h, sql);
    }
    exec(h, "COMMIT");
    char wal[300];
    snprintf(wal, sizeof wal, "%s-wal", src);
    struct stat sb;
    cr_assert_eq(stat(wal, &sb), 0);
    cr_assert_gt(sb.st_size, 0, "the commits should still be in the WAL");

    /* A second writer holds an open transaction during the copy. */
    sqlite3 *w = NULL;
    cr_assert_eq(sqlite3_open(src, &w), SQLITE_OK);
    exec(w, "BEGIN IMMEDIATE");
    exec(w, "INSERT INTO batches (name) VALUES ('uncommitted')");

    bl_backup_stats st;
    cr_assert_eq(bl_backup_copy(src, dst, 0, &st, &err), BL_OK, "%s", err.msg);
    exec(w, "COMMIT"); /* the writer was not blocked by the copy */
    sqlite3_close(w);

    cr_assert_gt(st.pages, 0);
    cr_assert_gt(st.page_size, 0);
    cr_assert_eq(st.schema_version, count(h, "PRAGMA user_version"));
    bl_db_close(&db);

    sqlite3 *c = NULL;
    cr_assert_eq(sqlite3_open_v2(dst, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(count(c, "SELECT count(*) FROM batches"), 300);
    cr_assert_eq(count(c, "SELECT count(*) FROM batches WHERE name = 'uncommitted'"), 0);
    cr_assert_eq(count(c, "SELECT count(*) FROM v_fields"), 0); /* the view came too */
    sqlite3_close(c);
    char dwal[300];
    snprintf(dwal, sizeof dwal, "%s-wal", dst);
    cr_assert(!exists(dwal), "the copy is one self-contained file");

    /* blotter opens the copy as its own database again. */
    bl_db *again = bl_db_open_readonly(dst, &err);
    cr_assert_not_null(again, "%s", err.msg);
    bl_db_close(&again);
}

Test(backup, existing_destination_needs_force)
{
    bl_err err = {0};
    bl_db *db = bl_db_open(src, &err);
    cr_assert_not_null(db, "%s", err.msg);
    exec(bl_db_handle(db), "INSERT INTO batches (name) VALUES ('one')");
    bl_db_close(&db);
    FILE *f = fopen(dst, "w");
    cr_assert_not_null(f);
    fputs("old", f);
    fclose(f);

    bl_backup_stats st;
    cr_assert_eq(bl_backup_copy(src, dst, 0, &st, &err), BL_EINVAL);
    cr_assert_not_null(strstr(err.msg, dst), "%s", err.msg);
    struct stat sb;
    cr_assert_eq(stat(dst, &sb), 0);
    cr_assert_eq(sb.st_size, 3, "the old file is untouched");

    cr_assert_eq(bl_backup_copy(src, dst, 1, &st, &err), BL_OK, "%s", err.msg);
    sqlite3 *c = NULL;
    cr_assert_eq(sqlite3_open_v2(dst, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(count(c, "SELECT count(*) FROM batches WHERE name = 'one'"), 1);
    sqlite3_close(c);
}

Test(backup, bad_sources_and_destinations_are_named)
{
    bl_err err = {0};
    bl_backup_stats st;
    cr_assert_eq(bl_backup_copy(src, dst, 0, &st, &err), BL_ENOENT);
    cr_assert_not_null(strstr(err.msg, src), "%s", err.msg);
    cr_assert(!exists(dst));

    /* An SQLite file that is not a blotter database. */
    sqlite3 *h = NULL;
    cr_assert_eq(sqlite3_open(src, &h), SQLITE_OK);
    exec(h, "CREATE TABLE t (x)");
    sqlite3_close(h);
    cr_assert_eq(bl_backup_copy(src, dst, 0, &st, &err), BL_EFORMAT);
    cr_assert_not_null(strstr(err.msg, "not a blotter database"), "%s", err.msg);
    cr_assert(!exists(dst));

    /* A destination that cannot be written leaves nothing behind. */
    unlink(src);
    bl_db *db = bl_db_open(src, &err);
    cr_assert_not_null(db, "%s", err.msg);
    bl_db_close(&db);
    char bad[300];
    snprintf(bad, sizeof bad, "%s/no-such-dir/copy.db", dir);
    cr_assert_lt(bl_backup_copy(src, bad, 0, &st, &err), 0);
    cr_assert_not_null(strstr(err.msg, "no-such-dir"), "%s", err.msg);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "test $(ls '%s' | grep -c partial) -eq 0", dir);
    cr_assert_eq(system(cmd), 0, "no partial file is left");
}
