/*
 * Tests of `blotter export` (ALTO, CSV and JSON from the same rows; the
 * ALTO checked well formed by xmllint) and `blotter review export/import`
 * (crops from the source file, sheets in and out, bad rows reported),
 * built into test_db (tests/common/db/CMakeLists.txt).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blotter/commands.h"
#include "db/db.h"
#include "db_fixture.h"
#include "image/image.h"

static char dir[FX_PATH_MAX];
static char db_path[FX_PATH_MAX];
static char scan_path[FX_PATH_MAX + 16];

/* One page of a real PNG file with three fields (the middle one flagged)
 * and a second file that does not exist on disk. */
static void setup(void)
{
    fx_dir_make(dir, db_path);
    snprintf(scan_path, sizeof scan_path, "%s/card<&>.png", dir);
    bl_image *page = bl_image_new(600, 400);
    memset(page->data, 255, (size_t)page->stride * 400);
    bl_err err = {0};
    cr_assert_eq(bl_image_write_png(page, scan_path, 300, 0, &err), BL_OK, "%s", err.msg);
    bl_image_destroy(&page);
    bl_db *db = bl_db_open(db_path, &err);
    cr_assert_not_null(db, "%s", err.msg);
    fx_work x;
    const char *values[] = {"407", "1?", "55"};
    const char *names[] = {"record_no", "year", "officer \"A\""};
    fx_work_init(&x, "b1", scan_path, 1, 3, values, names);
    x.w.src_width = 600;
    x.w.src_height = 400;
    cr_assert_eq(bl_db_store_page(db, &x.w, 0, x.confidence, x.needs_review, &err), BL_OK);
    fx_work_init(&x, "b1", "gone/missing.tif", 1, 2, values, NULL);
    cr_assert_eq(bl_db_store_page(db, &x.w, 0, x.confidence, x.needs_review, &err), BL_OK);
    bl_db_close(&db);
}

static void teardown(void)
{
    fx_dir_remove(dir);
}

TestSuite(export, .init = setup, .fini = teardown);

static int run(int (*cmd)(int, char **), const char *const *args, int n, char **out,
               char **errout)
{
    char *argv[16];
    for (int i = 0; i < n; i++)
        argv[i] = (char *)args[i];
    argv[n] = NULL;
    return fx_run_captured(cmd, n, argv, out, errout);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

Test(export, alto_csv_and_json_agree_and_alto_is_well_formed)
{
    char out_dir[FX_PATH_MAX + 8], path[FX_PATH_MAX + 64];
    snprintf(out_dir, sizeof out_dir, "%s/ex", dir);
    const char *args[] = {"export", "--db", db_path, "--batch", "b1", "--out", out_dir};
    char *out, *errout;
    cr_assert_eq(run(bl_cmd_export, args, 7, &out, &errout), 0, "%s", errout);
    cr_expect(strstr(out, "2 pages, 5 fields"), "%s", out);
    free(out);
    free(errout);

    /* Sorted by source path: gone/... < /tmp/... is false ('/' < 'g'). */
    char cmd[2 * FX_PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "xmllint --noout '%s'/alto/page-0001.xml '%s'/alto/page-0002.xml",
             out_dir, out_dir);
    cr_assert_eq(system(cmd), 0, "xmllint rejected the ALTO (or is missing: scripts/setup.sh)");

    snprintf(path, sizeof path, "%s/b1.json", out_dir);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    cr_assert_not_null(doc, "%s", jerr.text);
    json_t *pages = json_object_get(doc, "pages");
    cr_assert_eq(json_array_size(pages), 2);
    int seen = 0;
    size_t i;
    json_t *p;
    json_array_foreach(pages, i, p) {
        const char *alto = json_string_value(json_object_get(p, "alto"));
        snprintf(path, sizeof path, "%s/%s", out_dir, alto);
        char *xml = slurp(path);
        size_t k;
        json_t *f;
        json_array_foreach(json_object_get(p, "fields"), k, f) {
            char want[256];
            snprintf(want, sizeof want,
                     "HPOS=\"%lld\" VPOS=\"%lld\" WIDTH=\"%lld\" HEIGHT=\"%lld\" CONTENT=\"%s\" "
                     "WC=\"%.4f\"",
                     json_integer_value(json_object_get(f, "x")),
                     json_integer_value(json_object_get(f, "y")),
                     json_integer_value(json_object_get(f, "w")),
                     json_integer_value(json_object_get(f, "h")),
                     json_string_value(json_object_get(f, "value")),
                     json_real_value(json_object_get(f, "confidence")));
            cr_expect(strstr(xml, want), "%s lacks %s", alto, want);
            seen++;
        }
        if (strstr(json_string_value(json_object_get(p, "source_path")), "card")) {
            cr_expect(strstr(xml, "LABEL=\"officer &quot;A&quot;\""), "%s", xml);
            cr_expect(strstr(xml, "card&lt;&amp;&gt;.png"), "%s", xml);
            cr_expect(strstr(xml, "WIDTH=\"600\" HEIGHT=\"400\""), "%s", xml);
        }
        free(xml);
    }
    cr_expect_eq(seen, 5);
    json_decref(doc);

    snprintf(path, sizeof path, "%s/b1.csv", out_dir);
    char *csv = slurp(path);
    cr_expect(strstr(csv, ",\"officer \"\"A\"\"\",55,"), "%s", csv);
    int lines = 0;
    for (char *q = csv; *q; q++)
        lines += *q == '\n';
    cr_expect_eq(lines, 6);
    free(csv);
    cr_expect_eq(fx_count(db_path, "SELECT count(*) FROM audit WHERE command = 'export'"
                                   " AND row_count = 5"),
                 1);
}

Test(export, unknown_batch_fails_with_a_reason)
{
    char out_dir[FX_PATH_MAX + 8];
    snprintf(out_dir, sizeof out_dir, "%s/ex", dir);
    const char *args[] = {"export", "--db", db_path, "--batch", "nope", "--out", out_dir};
    char *out, *errout;
    cr_expect_eq(run(bl_cmd_export, args, 7, &out, &errout), 1);
    cr_expect(strstr(errout, "no batch 'nope'"), "%s", errout);
    free(out);
    free(errout);
}

Test(export, review_queue_round_trip)
{
    char out_dir[FX_PATH_MAX + 8], path[FX_PATH_MAX + 64];
    snprintf(out_dir, sizeof out_dir, "%s/rv", dir);
    const char *args[] = {"review", "export", "--db", db_path, "--out", out_dir};
    char *out, *errout;
    cr_assert_eq(run(bl_cmd_review, args, 6, &out, &errout), 0, "%s", errout);
    /* One flagged field on each page; the missing file is named, not fatal. */
    cr_expect(strstr(out, "2 fields, 1 crop"), "%s", out);
    cr_expect(strstr(errout, "gone/missing.tif"), "%s", errout);
    free(out);
    free(errout);

    snprintf(path, sizeof path, "%s/review.json", out_dir);
    json_error_t jerr;
    json_t *sheet = json_load_file(path, 0, &jerr);
    cr_assert_not_null(sheet, "%s", jerr.text);
    cr_assert_eq(json_array_size(sheet), 2);
    json_t *first = json_array_get(sheet, 0);
    const char *crop = json_string_value(json_object_get(first, "crop"));
    json_t *second = json_array_get(sheet, 1);
    const char *crop1 = json_string_value(json_object_get(second, "crop"));
    cr_assert(crop || crop1);
    snprintf(path, sizeof path, "%s/%s", out_dir, crop ? crop : crop1);
    bl_image_limits lim;
    bl_image_limits_default(&lim);
    bl_err err = {0};
    bl_scan *scan = bl_scan_open(path, &lim, &err);
    cr_assert_not_null(scan, "%s", err.msg);
    bl_image *img = bl_scan_read_page(scan, 0, NULL, &err);
    cr_assert_not_null(img);
    /* Field 1's box is 300 x 40 plus the 8-pixel margin on each side. */
    cr_expect_eq(img->width, 316);
    cr_expect_eq(img->height, 56);
    bl_image_destroy(&img);
    bl_scan_close(&scan);

    /* Fill in one value in the JSON sheet, a bad one in the CSV sheet. */
    json_object_set_new(first, "new_value", json_string("17"));
    snprintf(path, sizeof path, "%s/done.json", out_dir);
    cr_assert_eq(json_dump_file(sheet, path, 0), 0);
    json_decref(sheet);
    const char *imp[] = {"review", "import", "--db", db_path, path};
    setenv("BLOTTER_USER", "ann", 1);
    cr_assert_eq(run(bl_cmd_review, imp, 5, &out, &errout), 0, "%s", errout);
    cr_expect(strstr(out, "reviews stored: 1, left empty: 1"), "%s", out);
    free(out);
    free(errout);
    cr_expect_eq(fx_count(db_path, "SELECT count(*) FROM v_fields WHERE value = '17'"
                                   " AND machine_value = '1?' AND reviewed_by = 'ann'"),
                 1);

    char csvp[FX_PATH_MAX + 16];
    snprintf(csvp, sizeof csvp, "%s/bad.csv", dir);
    FILE *f = fopen(csvp, "w");
    fputs("field_id,value,new_value\r\n1,407,4O7\r\n99999,1,12\r\n1,407,408\r\n", f);
    fclose(f);
    const char *imp2[] = {"review", "import", "--db", db_path, csvp};
    cr_expect_eq(run(bl_cmd_review, imp2, 5, &out, &errout), 1);
    unsetenv("BLOTTER_USER");
    cr_expect(strstr(errout, "line 2"), "%s", errout);
    cr_expect(strstr(errout, "line 3"), "%s", errout);
    cr_expect(strstr(out, "reviews stored: 1"), "%s", out);
    cr_expect_eq(fx_count(db_path, "SELECT count(*) FROM v_fields WHERE value = '408'"), 1);
    cr_expect_eq(fx_count(db_path, "SELECT count(*) FROM audit WHERE command = 'review import'"),
                 2);
    free(out);
    free(errout);
}
