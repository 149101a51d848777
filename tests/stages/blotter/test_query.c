/*
 * Tests of `blotter query` (stages/blotter/cmd_query.c), built into
 * test_db (tests/common/db/CMakeLists.txt): table, CSV and JSON output of
 * a small database, every filter, and the usage and error paths.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blotter/commands.h"
#include "db/db.h"
#include "db_fixture.h"

static char dir[FX_PATH_MAX];
static char db_path[FX_PATH_MAX];

static void store(bl_db *db, const char *batch, const char *path, uint32_t page,
                  int n, const char *const *values, const char *const *names)
{
    fx_work x;
    bl_err err = {0};
    fx_work_init(&x, batch, path, 2, n, values, names);
    cr_assert_eq(bl_db_store_page(db, &x.w, page, x.confidence, x.needs_review, &err),
                 BL_OK, "%s", err.msg);
}

/* Five fields: two on a page whose path needs CSV quoting, two on page 1
 * of another file, one in a second batch. Odd fields need review. */
static void setup(void)
{
    fx_dir_make(dir, db_path);
    bl_err err = {0};
    bl_db *db = bl_db_open(db_path, &err);
    cr_assert_not_null(db, "%s", err.msg);
    const char *v1[] = {"407", "12"};
    const char *n1[] = {"record_no", "year"};
    store(db, "b1", "scans/a,\"b\".tif", 0, 2, v1, n1);
    const char *v2[] = {"4100", "39"};
    store(db, "b1", "scans/c.tif", 1, 2, v2, NULL);
    const char *v3[] = {"407"};
    store(db, "b2", "d.png", 0, 1, v3, NULL);
    bl_db_close(&db);
}

static void teardown(void)
{
    fx_dir_remove(dir);
}

TestSuite(query, .init = setup, .fini = teardown);

/* Runs `blotter query --db <db_path> ARGS...` (no --db if with_db is 0). */
static int query(int with_db, const char *const *args, int nargs, char **out,
                 char **errout)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = "query";
    if (with_db) {
        argv[argc++] = "--db";
        argv[argc++] = db_path;
    }
    cr_assert(nargs + argc < 31);
    for (int i = 0; i < nargs; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    return fx_run_captured(bl_cmd_query, argc, argv, out, errout);
}

/* Rows of a --json query with the given filters. */
static json_t *query_json(const char *const *args, int nargs)
{
    const char *a[16];
    cr_assert(nargs < 15);
    if (nargs)
        memcpy(a, args, (size_t)nargs * sizeof *a);
    a[nargs] = "--json";
    char *out, *errout;
    int rc = query(1, a, nargs + 1, &out, &errout);
    cr_assert_eq(rc, 0, "status %d: %s", rc, errout);
    json_error_t jerr;
    json_t *rows = json_loads(out, 0, &jerr);
    cr_assert_not_null(rows, "bad JSON (%s): %s", jerr.text, out);
    cr_assert(json_is_array(rows));
    free(out);
    free(errout);
    return rows;
}

static size_t count_rows(const char *const *args, int nargs)
{
    json_t *rows = query_json(args, nargs);
    size_t n = json_array_size(rows);
    json_decref(rows);
    return n;
}

Test(query, json_lists_every_field_in_order_with_types)
{
    json_t *rows = query_json(NULL, 0);
    cr_assert_eq(json_array_size(rows), 5);
    json_t *r = json_array_get(rows, 1);
    cr_expect_str_eq(json_string_value(json_object_get(r, "batch")), "b1");
    cr_expect_str_eq(json_string_value(json_object_get(r, "source_path")),
                     "scans/a,\"b\".tif");
    cr_expect_eq(json_integer_value(json_object_get(r, "page_index")), 0);
    cr_expect_str_eq(json_string_value(json_object_get(r, "field_name")), "year");
    cr_expect_str_eq(json_string_value(json_object_get(r, "value")), "12");
    cr_expect_float_eq(json_real_value(json_object_get(r, "confidence")), 0.47, 1e-12);
    cr_expect(json_is_true(json_object_get(r, "needs_review")));
    cr_expect_eq(json_integer_value(json_object_get(r, "x")), 110);
    cr_expect_eq(json_integer_value(json_object_get(r, "y")), 210);
    cr_expect_eq(json_integer_value(json_object_get(r, "w")), 300);
    cr_expect_eq(json_integer_value(json_object_get(r, "h")), 40);
    r = json_array_get(rows, 2);
    cr_expect_str_eq(json_string_value(json_object_get(r, "source_path")), "scans/c.tif");
    cr_expect_eq(json_integer_value(json_object_get(r, "page_index")), 1);
    cr_expect(json_is_false(json_object_get(r, "needs_review")));
    r = json_array_get(rows, 4);
    cr_expect_str_eq(json_string_value(json_object_get(r, "batch")), "b2");
    json_decref(rows);
}

Test(query, json_of_no_rows_is_an_empty_array)
{
    const char *a[] = {"--value", "0000"};
    cr_assert_eq(count_rows(a, 2), 0);
}

Test(query, csv_follows_rfc4180)
{
    const char *a[] = {"--csv"};
    char *out, *errout;
    cr_assert_eq(query(1, a, 1, &out, &errout), 0, "%s", errout);
    cr_assert_str_eq(out,
        "batch,source_path,page_index,field_name,value,confidence,needs_review,x,y,w,h\r\n"
        "b1,\"scans/a,\"\"b\"\".tif\",0,record_no,407,0.97,0,100,200,300,40\r\n"
        "b1,\"scans/a,\"\"b\"\".tif\",0,year,12,0.47,1,110,210,300,40\r\n"
        "b1,scans/c.tif,1,field_0,4100,0.97,0,100,200,300,40\r\n"
        "b1,scans/c.tif,1,field_1,39,0.47,1,110,210,300,40\r\n"
        "b2,d.png,0,field_0,407,0.97,0,100,200,300,40\r\n");
    cr_assert_str_empty(errout);
    free(out);
    free(errout);
}

Test(query, table_is_aligned_with_a_header)
{
    char *out, *errout;
    cr_assert_eq(query(1, NULL, 0, &out, &errout), 0, "%s", errout);
    /* Lines: header, five rows, row count. */
    char *lines[8];
    int n = 0;
    for (char *save = NULL, *l = strtok_r(out, "\n", &save); l && n < 8;
         l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    cr_assert_eq(n, 7, "table:\n%s", out);
    cr_assert(strncmp(lines[0], "batch", 5) == 0, "%s", lines[0]);
    cr_assert_str_eq(lines[6], "(5 rows)");
    size_t len = strlen(lines[0]);
    size_t value_at = (size_t)(strstr(lines[0], "value") - lines[0]);
    size_t field_at = (size_t)(strstr(lines[0], "field") - lines[0]);
    static const char *const value[] = {"407", "12", "4100", "39", "407"};
    static const char *const review[] = {"no", "yes", "no", "yes", "no"};
    for (int i = 1; i <= 5; i++) {
        cr_expect_eq(strlen(lines[i]), len, "row %d same width as the header", i);
        cr_expect(strncmp(lines[i] + value_at, value[i - 1], strlen(value[i - 1])) == 0,
                  "row %d: value column: %s", i, lines[i]);
        cr_expect_neq(lines[i][field_at], ' ', "row %d: field column", i);
        cr_expect(strstr(lines[i], review[i - 1]), "%s", lines[i]);
    }
    /* Numbers are right-aligned: every row ends in the h column, 40. */
    cr_expect(strcmp(lines[1] + len - 2, "40") == 0, "%s", lines[1]);
    cr_expect(strstr(lines[2], "0.470"), "%s", lines[2]);
    free(out);
    free(errout);
}

Test(query, filters_select_rows)
{
    const char *value[] = {"--value", "407"};
    cr_expect_eq(count_rows(value, 2), 2);
    const char *prefix[] = {"--prefix", "4"};
    cr_expect_eq(count_rows(prefix, 2), 3);
    const char *prefix41[] = {"--batch", "b1", "--prefix", "41"};
    cr_expect_eq(count_rows(prefix41, 4), 1);
    const char *review[] = {"--review"};
    cr_expect_eq(count_rows(review, 1), 2);
    const char *field[] = {"--field", "year"};
    cr_expect_eq(count_rows(field, 2), 1);
    const char *batch[] = {"--batch", "b2"};
    cr_expect_eq(count_rows(batch, 2), 1);
    const char *file[] = {"--file", "scans/c.tif"};
    cr_expect_eq(count_rows(file, 2), 2);
    const char *limit[] = {"--limit", "1"};
    cr_expect_eq(count_rows(limit, 2), 1);
    const char *eq[] = {"--limit=3", "--batch=b1"};
    cr_expect_eq(count_rows(eq, 2), 3);
}

Test(query, user_text_is_never_sql_or_a_wildcard)
{
    const char *glob[] = {"--prefix", "*"};
    cr_expect_eq(count_rows(glob, 2), 0);
    const char *glob2[] = {"--prefix", "4?"};
    cr_expect_eq(count_rows(glob2, 2), 0);
    const char *inject[] = {"--batch", "b1' OR '1'='1"};
    cr_expect_eq(count_rows(inject, 2), 0);
}

Test(query, a_missing_database_is_reported_and_not_created)
{
    char missing[FX_PATH_MAX + 16];
    snprintf(missing, sizeof missing, "%s/none.db", dir);
    const char *a[] = {"--db", missing};
    char *out, *errout;
    cr_assert_eq(query(0, a, 2, &out, &errout), 1);
    cr_assert(strncmp(errout, "blotter query: ", 15) == 0, "%s", errout);
    cr_assert(strstr(errout, missing), "%s", errout);
    cr_assert_str_empty(out);
    cr_assert_neq(access(missing, F_OK), 0, "query created %s", missing);
    free(out);
    free(errout);
}

Test(query, defaults_to_blotter_db_in_the_current_directory)
{
    cr_assert_eq(chdir(dir), 0);
    char *out, *errout;
    cr_assert_eq(query(0, NULL, 0, &out, &errout), 1);
    cr_assert(strstr(errout, "blotter.db"), "%s", errout);
    cr_assert_neq(access("blotter.db", F_OK), 0);
    free(out);
    free(errout);

    cr_assert_eq(rename(db_path, "blotter.db"), 0);
    const char *a[] = {"--csv", "--batch", "b2"};
    cr_assert_eq(query(0, a, 3, &out, &errout), 0, "%s", errout);
    cr_assert(strstr(out, "b2,d.png,0,field_0,407"), "%s", out);
    free(out);
    free(errout);
}

Test(query, bad_usage_exits_2_with_a_reason)
{
    static const struct {
        const char *args[3];
        int n;
        const char *reason;
    } cases[] = {
        {{"--bogus"}, 1, "unknown option '--bogus'"},
        {{"--value", "1", "--prefix"}, 3, "--prefix needs a value"},
        {{"--value", "1", "--prefix=2"}, 3, "exclude each other"},
        {{"--csv", "--json"}, 2, "exclude each other"},
        {{"--limit", "ten"}, 2, "--limit"},
        {{"--limit", "-1"}, 2, "--limit"},
        {{"stray"}, 1, "unexpected argument 'stray'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out, *errout;
        int rc = query(1, cases[i].args, cases[i].n, &out, &errout);
        cr_expect_eq(rc, 2, "case %zu: status %d", i, rc);
        cr_expect(strncmp(errout, "blotter query: ", 15) == 0, "case %zu: %s", i, errout);
        cr_expect(strstr(errout, cases[i].reason), "case %zu: %s", i, errout);
        free(out);
        free(errout);
    }
}

Test(query, help_prints_usage_to_stdout)
{
    const char *a[] = {"--help"};
    char *out, *errout;
    cr_assert_eq(query(0, a, 1, &out, &errout), 0);
    cr_assert(strncmp(out, "usage: blotter query", 20) == 0, "%s", out);
    cr_assert_str_empty(errout);
    free(out);
    free(errout);
}

Test(query, confidence_state_and_digits)
{
    /* Even fields have confidence 0.97, odd ones 0.47 and need review. */
    const char *lo[] = {"--max-conf", "0.5"};
    cr_expect_eq(count_rows(lo, 2), 2);
    const char *hi[] = {"--min-conf", "0.9"};
    cr_expect_eq(count_rows(hi, 2), 3);
    const char *pending[] = {"--state", "pending"};
    cr_expect_eq(count_rows(pending, 2), 2);
    const char *none[] = {"--state", "none"};
    cr_expect_eq(count_rows(none, 2), 3);
    const char *reviewed[] = {"--state", "reviewed"};
    cr_expect_eq(count_rows(reviewed, 2), 0);
    /* One row per digit, the stored class first with 0.91. */
    const char *digits[] = {"--digits", "--batch", "b2"};
    json_t *rows = query_json(digits, 3);
    cr_assert_eq(json_array_size(rows), 3);
    json_t *d1 = json_array_get(rows, 1);
    cr_expect_eq(json_integer_value(json_object_get(d1, "digit_index")), 1);
    cr_expect_eq(json_integer_value(json_object_get(d1, "top1")), 0);
    cr_expect(fabs(json_real_value(json_object_get(d1, "p_top1")) - 0.91) < 1e-6);
    cr_expect(fabs(json_real_value(json_object_get(d1, "p_top2")) - 0.01) < 1e-6);
    json_decref(rows);
}

Test(query, stored_date_range)
{
    const char *past[] = {"--stored-to", "2000-01-01"};
    cr_expect_eq(count_rows(past, 2), 0);
    const char *since[] = {"--stored-from", "2000-01-01"};
    cr_expect_eq(count_rows(since, 2), 5);
    const char *future[] = {"--stored-from", "2999-01-01"};
    cr_expect_eq(count_rows(future, 2), 0);
}

Test(query, every_query_is_audited_with_its_parameters)
{
    setenv("BLOTTER_USER", "clerk9", 1);
    const char *a[] = {"--batch", "b1' OR 1", "--min-conf", "0.5"};
    cr_expect_eq(count_rows(a, 4), 0);
    unsetenv("BLOTTER_USER");
    cr_expect_eq(fx_count(db_path, "SELECT count(*) FROM audit WHERE who = 'clerk9'"
                                   " AND command = 'query' AND row_count = 0"
                                   " AND json_extract(params, '$.batch') = 'b1'' OR 1'"
                                   " AND json_extract(params, '$.min_conf') = 0.5"),
                 1);
}

Test(query, field_dates_follow_the_rule)
{
    bl_err err = {0};
    bl_db *db = bl_db_open(db_path, &err);
    cr_assert_not_null(db);
    fx_work x;
    const char *values[] = {"31121954", "01021960", "311254"};
    fx_work_init(&x, "b3", "e.tif", 1, 3, values, NULL);
    bl_strlcpy(x.fields[0].rule, "len=8;date=DDMMYYYY", sizeof x.fields[0].rule);
    bl_strlcpy(x.fields[1].rule, "date=DDMMYYYY", sizeof x.fields[1].rule);
    bl_strlcpy(x.fields[2].rule, "date=DDMMYY", sizeof x.fields[2].rule);
    cr_assert_eq(bl_db_store_page(db, &x.w, 0, x.confidence, x.needs_review, &err), BL_OK);
    bl_db_close(&db);
    const char *fifties[] = {"--date-from", "1950-01-01", "--date-to", "1959-12-31"};
    cr_expect_eq(count_rows(fifties, 4), 1);
    const char *after[] = {"--date-from", "1955-01-01"};
    cr_expect_eq(count_rows(after, 2), 2);
    const char *bad[] = {"--date-from", "1955"};
    char *out, *errout;
    cr_expect_eq(query(1, bad, 2, &out, &errout), 2);
    cr_expect(strstr(errout, "YYYY-MM-DD"), "%s", errout);
    free(out);
    free(errout);
}
