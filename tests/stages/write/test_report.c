/*
 * The writer's reports: stage statistics and settled files, from the
 * front end's note to the rows in SQLite, and the malformed ones refused.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/stats.h"
#include "write/report.h"

static char dir[64];
static char db_path[128];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/blotter-report-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(db_path, sizeof db_path, "%s/r.db", dir);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(report, .init = setup, .fini = teardown);

static bl_db_stage_stats sample_row(void)
{
    return (bl_db_stage_stats){
        .batch = "cards-1987", .stage = "detect", .instance = 1,
        .items_in = 200, .items_out = 198, .errors = 2, .restarts = 1,
        .busy_s = 12.5, .cpu_s = 11.25, .peak_rss_kb = 20480,
        .p50_ms = 60.5, .p95_ms = 91.25,
        .started_ns = 1796000000123000000ull, .finished_ns = 1796000060456000000ull};
}

static double one_double(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s",
                 sqlite3_errmsg(h));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
    double v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

static const char *one_text(sqlite3 *h, const char *sql, char *buf, size_t n)
{
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
    snprintf(buf, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

Test(report, stage_stats_round_trip_into_the_table)
{
    bl_db_stage_stats row = sample_row();
    bl_note note;
    bl_report_stats_note(&note, &row);
    cr_assert(bl_report_is_report(&note));
    bl_err err = {0};
    bl_db *db = bl_db_open(db_path, &err);
    cr_assert_not_null(db, "%s", err.msg);
    cr_assert_eq(bl_report_store(db, &note, &err), BL_OK, "%s", err.msg);
    sqlite3 *h = bl_db_handle(db);
    char buf[64];
    cr_expect_str_eq(one_text(h, "SELECT stage || '/' || instance || '/' || batch "
                                 "FROM stage_stats", buf, sizeof buf),
                     "detect/1/cards-1987");
    cr_expect_eq(one_double(h, "SELECT items_in FROM stage_stats"), 200);
    cr_expect_eq(one_double(h, "SELECT items_out FROM stage_stats"), 198);
    cr_expect_eq(one_double(h, "SELECT errors FROM stage_stats"), 2);
    cr_expect_eq(one_double(h, "SELECT restarts FROM stage_stats"), 1);
    cr_expect_float_eq(one_double(h, "SELECT busy_s FROM stage_stats"), 12.5, 1e-9);
    cr_expect_float_eq(one_double(h, "SELECT cpu_s FROM stage_stats"), 11.25, 1e-9);
    cr_expect_eq(one_double(h, "SELECT peak_rss_kb FROM stage_stats"), 20480);
    cr_expect_float_eq(one_double(h, "SELECT p95_ms FROM stage_stats"), 91.25, 1e-9);
    cr_expect_str_eq(one_text(h, "SELECT started_at FROM stage_stats", buf, sizeof buf),
                     "2026-11-30T00:53:20.123Z");

    /* A resumed run adds to the batch's figures. */
    row.items_in = 10;
    row.peak_rss_kb = 10000;
    row.cpu_s = 1;
    bl_report_stats_note(&note, &row);
    cr_assert_eq(bl_report_store(db, &note, &err), BL_OK, "%s", err.msg);
    cr_expect_eq(one_double(h, "SELECT count(*) FROM stage_stats"), 1);
    cr_expect_eq(one_double(h, "SELECT items_in FROM stage_stats"), 210);
    cr_expect_eq(one_double(h, "SELECT restarts FROM stage_stats"), 2);
    cr_expect_float_eq(one_double(h, "SELECT cpu_s FROM stage_stats"), 12.25, 1e-9);
    cr_expect_eq(one_double(h, "SELECT peak_rss_kb FROM stage_stats"), 20480);
    bl_db_close(&db);
}

Test(report, unknown_cpu_and_memory_are_null)
{
    bl_db_stage_stats row = sample_row();
    row.cpu_s = -1;
    row.peak_rss_kb = -1;
    bl_err err = {0};
    bl_db *db = bl_db_open(db_path, &err);
    cr_assert_not_null(db);
    cr_assert_eq(bl_db_stats_store(db, &row, &err), BL_OK, "%s", err.msg);
    cr_expect_eq(one_double(bl_db_handle(db), "SELECT count(*) FROM stage_stats "
                            "WHERE cpu_s IS NULL AND peak_rss_kb IS NULL"), 1);
    bl_db_close(&db);
}

/* Inline text, not pointers: Criterion may run each case in a fresh
 * process image. */
struct bad_stats {
    char text[200];
};

ParameterizedTestParameters(report, refuses_malformed_stage_stats)
{
    static struct bad_stats cases[] = {
        {""},
        {"stage=detect"},
        {"stage=nosuch instance=0 in=1 out=1 errors=0 restarts=0 busy_s=1 "
         "cpu_s=1 rss_kb=1 p50_ms=1 p95_ms=1 started_ns=1 finished_ns=2"},
        {"stage=front instance=0 in=1 out=1 errors=0 restarts=0 busy_s=1 "
         "cpu_s=1 rss_kb=1 p50_ms=1 p95_ms=1 started_ns=1 finished_ns=2"},
        {"stage=detect instance=-1 in=1 out=1 errors=0 restarts=0 busy_s=1 "
         "cpu_s=1 rss_kb=1 p50_ms=1 p95_ms=1 started_ns=1 finished_ns=2"},
        {"stage=detect instance=0 in=-5 out=1 errors=0 restarts=0 busy_s=1 "
         "cpu_s=1 rss_kb=1 p50_ms=1 p95_ms=1 started_ns=1 finished_ns=2"},
        {"stage=detect instance=0 in=1 out=1 errors=0 restarts=0 busy_s=nan "
         "cpu_s=1 rss_kb=1 p50_ms=1 p95_ms=1 started_ns=1 finished_ns=2"},
        {"stage=detect instance=0 in=1 out=1 errors=0 restarts=0 busy_s=1 "
         "cpu_s=1 rss_kb=1 p50_ms=1 p95_ms=1 started_ns=1 finished_ns=2 extra"},
    };
    return cr_make_param_array(struct bad_stats, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_stats *c, report, refuses_malformed_stage_stats)
{
    bl_note note = {0};
    strcpy(note.kind, "stage-stats");
    strcpy(note.batch, "b");
    snprintf(note.text, sizeof note.text, "%s", c->text);
    bl_db_stage_stats row;
    char stage[16];
    bl_err err = {0};
    cr_expect_eq(bl_report_stats_parse(&note, &row, stage, &err), BL_EFORMAT,
                 "accepted '%s'", c->text);
    cr_expect(err.msg[0] != '\0');
}

Test(report, refuses_a_report_without_a_batch)
{
    bl_db_stage_stats row = sample_row();
    bl_note note;
    bl_report_stats_note(&note, &row);
    note.batch[0] = '\0';
    char stage[16];
    bl_err err = {0};
    cr_expect_eq(bl_report_stats_parse(&note, &row, stage, &err), BL_EFORMAT);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(report, settled_file_is_found_with_its_identity)
{
    char scan[160];
    snprintf(scan, sizeof scan, "%s/scan.tif", dir);
    write_file(scan, "not really a scan, but bytes all the same");
    bl_db_file_record rec = {0}, got;
    bl_err err = {0};
    cr_assert_eq(bl_db_file_identity(scan, &rec, &err), BL_OK, "%s", err.msg);
    cr_expect_eq(rec.size, 41);
    snprintf(rec.batch, sizeof rec.batch, "b1");
    snprintf(rec.source_path, sizeof rec.source_path, "%s", scan);
    rec.stored = 3;
    rec.duplicates = 1;

    bl_note note;
    bl_report_file_note(&note, &rec);
    bl_db *db = bl_db_open(db_path, &err);
    cr_assert_not_null(db);
    cr_assert_eq(bl_report_store(db, &note, &err), BL_OK, "%s", err.msg);
    int64_t present = -1;
    cr_assert_eq(bl_db_file_get(db, "b1", scan, &got, &present, &err), BL_OK,
                 "%s", err.msg);
    cr_expect_eq(got.size, rec.size);
    cr_expect_eq(got.mtime_ns, rec.mtime_ns);
    cr_expect_eq(got.hash, rec.hash);
    cr_expect_eq(got.stored, 3);
    cr_expect_eq(got.duplicates, 1);
    cr_expect_eq(got.retry, 0);
    cr_expect_eq(present, 0, "no page of it is stored in this database");
    cr_expect_eq(bl_db_file_get(db, "b2", scan, &got, &present, &err), BL_ENOENT);
    bl_db_close(&db);

    /* The read-only handle the front end uses finds it too. */
    db = bl_db_open_readonly(db_path, &err);
    cr_assert_not_null(db, "%s", err.msg);
    cr_expect_eq(bl_db_file_get(db, "b1", scan, &got, &present, &err), BL_OK);
    bl_db_close(&db);

    /* Changed bytes change the identity. */
    write_file(scan, "not really a scan, but bytes all the samE");
    bl_db_file_record now = {0};
    cr_assert_eq(bl_db_file_identity(scan, &now, &err), BL_OK);
    cr_expect_neq(now.hash, rec.hash);
    snprintf(scan, sizeof scan, "%s/missing.tif", dir);
    cr_expect_eq(bl_db_file_identity(scan, &now, &err), BL_ENOENT);
    cr_expect(strstr(err.msg, "missing.tif") != NULL);
}

Test(report, refuses_a_malformed_file_report)
{
    bl_db_file_record rec = {0};
    snprintf(rec.batch, sizeof rec.batch, "b1");
    snprintf(rec.source_path, sizeof rec.source_path, "/x.tif");
    bl_note note;
    bl_report_file_note(&note, &rec);
    bl_err err = {0};
    bl_db_file_record out;
    cr_assert_eq(bl_report_file_parse(&note, &out, &err), BL_OK, "%s", err.msg);
    note.num[3] = 7;
    cr_expect_eq(bl_report_file_parse(&note, &out, &err), BL_EFORMAT);
    note.num[3] = 0;
    note.path[0] = '\0';
    cr_expect_eq(bl_report_file_parse(&note, &out, &err), BL_EFORMAT);
    bl_report_file_note(&note, &rec);
    snprintf(note.text, sizeof note.text, "size=1 mtime_ns=2");
    cr_expect_eq(bl_report_file_parse(&note, &out, &err), BL_EFORMAT);
}
