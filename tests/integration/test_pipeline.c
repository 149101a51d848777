/*
 * The real pipeline end to end: real stage processes, real ZeroMQ sockets
 * in a private runtime directory, a real SQLite file, the shipped samples
 * and models. Each test works in its own temporary directory.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run_cmd.h"

#define BLOTTER BL_BIN_DIR "/blotter"
#define SAMPLES BL_SOURCE_DIR "/samples"
#define TIMEOUT_S 240
/* What the pipeline must at least reach on samples/ (see the test). */
#define FOUND_FLOOR_PERCENT 96
#define EXACT_FLOOR_PERCENT 80

static char tmp[256];

static void make_tmp(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/blotter-it-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
}

static void remove_tmp(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(pipeline, .init = make_tmp, .fini = remove_tmp, .timeout = 300);

static double iou(const int a[4], const int b[4])
{
    double x0 = fmax(a[0], b[0]), y0 = fmax(a[1], b[1]);
    double x1 = fmin(a[0] + a[2], b[0] + b[2]), y1 = fmin(a[1] + a[3], b[1] + b[3]);
    double inter = fmax(0, x1 - x0) * fmax(0, y1 - y0);
    double uni = (double)a[2] * a[3] + (double)b[2] * b[3] - inter;
    return uni > 0 ? inter / uni : 0;
}

static int64_t count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s",
                 sql, sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

Test(pipeline, stores_every_sample_field_with_its_box_and_value)
{
    char db_path[300], out[300], errf[300];
    snprintf(db_path, sizeof db_path, "%s/a.db", tmp);
    snprintf(out, sizeof out, "%s/out.json", tmp);
    snprintf(errf, sizeof errf, "%s/err.txt", tmp);
    char *argv[] = {BLOTTER, "run", "--quiet", "--json", "--batch", "it",
                    "--db", db_path, SAMPLES, NULL};
    int status = run_cmd(argv, out, errf, TIMEOUT_S);
    char *err_text = slurp(errf);
    cr_assert_eq(status, 0, "blotter run exited %d:\n%s", status, err_text);
    free(err_text);

    json_error_t jerr;
    json_t *summary = json_load_file(out, 0, &jerr);
    cr_assert_not_null(summary, "summary is not JSON: %s", jerr.text);
    json_t *truth = json_load_file(SAMPLES "/truth.json", 0, &jerr);
    cr_assert_not_null(truth, "truth.json: %s", jerr.text);

    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db,
                 "SELECT value, x, y, w, h FROM v_fields WHERE batch = 'it' "
                 "AND source_path = ?1 AND page_index = ?2", -1, &st, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(db));

    size_t index;
    json_t *page;
    int true_fields = 0, found = 0, exact = 0, pages = 0;
    json_array_foreach(json_object_get(truth, "pages"), index, page) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", SAMPLES,
                 json_string_value(json_object_get(page, "file")));
        int page_index = (int)json_integer_value(json_object_get(page, "page_index"));
        pages++;
        size_t fi;
        json_t *field;
        json_array_foreach(json_object_get(page, "fields"), fi, field) {
            int tb[4];
            for (int k = 0; k < 4; k++)
                tb[k] = (int)json_integer_value(
                    json_array_get(json_object_get(field, "box"), (size_t)k));
            const char *value = json_string_value(json_object_get(field, "value"));
            true_fields++;
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int(st, 2, page_index);
            double best = 0;
            char best_value[64] = "";
            while (sqlite3_step(st) == SQLITE_ROW) {
                int b[4];
                for (int k = 0; k < 4; k++)
                    b[k] = sqlite3_column_int(st, 1 + k);
                double o = iou(tb, b);
                if (o > best) {
                    best = o;
                    const unsigned char *v = sqlite3_column_text(st, 0);
                    snprintf(best_value, sizeof best_value, "%s", v ? (const char *)v : "");
                }
            }
            if (best >= 0.5) {
                found++;
                exact += strcmp(best_value, value) == 0;
            }
        }
    }
    sqlite3_finalize(st);
    cr_assert_gt(true_fields, 0);
    cr_expect_eq(json_integer_value(json_object_get(summary, "pages")), pages,
                 "every sample page stored");
    cr_expect_eq(count(db, "SELECT count(*) FROM errors"), 0);
    /* Floors, not targets: the samples carry every artefact of a real scan
     * (three of the ten are forms no template describes), and this guards
     * against regressions: 100% found and 85.7% exact when the floors were
     * set. The accuracy
     * targets are measured on 200 pages by `blotter eval pipeline` (see
     * docs/BENCHMARKS.md). */
    cr_expect_geq(found * 100, true_fields * FOUND_FLOOR_PERCENT,
                  "found %d of %d fields", found, true_fields);
    cr_expect_geq(exact * 100, true_fields * EXACT_FLOOR_PERCENT,
                  "%d of %d values exact", exact, true_fields);
    sqlite3_close(db);
    json_decref(truth);
    json_decref(summary);
}

static void copy_file(const char *from, const char *to)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    cr_assert_eq(system(cmd), 0);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

Test(pipeline, reports_corrupt_files_by_name_and_stores_the_rest)
{
    char dir[300], p[400], db_path[300], errf[300];
    snprintf(dir, sizeof dir, "%s/in", tmp);
    cr_assert_eq(mkdir(dir, 0700), 0);

    /* Two good files, a truncated TIFF and garbage named .png. */
    json_error_t jerr;
    json_t *truth = json_load_file(SAMPLES "/truth.json", 0, &jerr);
    cr_assert_not_null(truth);
    json_t *pages = json_object_get(truth, "pages");
    const char *good[2] = {NULL, NULL};
    for (size_t i = 0; i < json_array_size(pages) && !good[1]; i++) {
        const char *file = json_string_value(
            json_object_get(json_array_get(pages, i), "file"));
        if (!good[0])
            good[0] = file;
        else if (strcmp(file, good[0]) != 0)
            good[1] = file;
    }
    cr_assert_not_null(good[1], "samples hold at least two files");
    char src[600];
    snprintf(src, sizeof src, "%s/%s", SAMPLES, good[1]);
    snprintf(p, sizeof p, "%s/d-good%s", dir, strrchr(good[1], '.'));
    copy_file(src, p);
    snprintf(src, sizeof src, "%s/%s", SAMPLES, good[0]);
    snprintf(p, sizeof p, "%s/a-good%s", dir, strrchr(good[0], '.'));
    copy_file(src, p);

    uint8_t *data;
    size_t size;
    FILE *f = fopen(src, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc(size);
    cr_assert_eq(fread(data, 1, size, f), size);
    fclose(f);
    snprintf(p, sizeof p, "%s/b-truncated.tif", dir);
    write_bytes(p, data, size / 3);
    free(data);
    snprintf(p, sizeof p, "%s/c-garbage.png", dir);
    write_bytes(p, "this is not an image at all", 27);
    json_decref(truth);

    snprintf(db_path, sizeof db_path, "%s/b.db", tmp);
    snprintf(errf, sizeof errf, "%s/err.txt", tmp);
    char *argv[] = {BLOTTER, "run", "--batch", "bad", "--db", db_path, dir, NULL};
    int status = run_cmd(argv, "/dev/null", errf, TIMEOUT_S);
    char *err_text = slurp(errf);
    cr_assert_eq(status, 0, "blotter run exited %d:\n%s", status, err_text);
    cr_expect(strstr(err_text, "b-truncated.tif") != NULL,
              "the truncated file is named on stderr:\n%s", err_text);
    cr_expect(strstr(err_text, "c-garbage.png") != NULL,
              "the garbage file is named on stderr:\n%s", err_text);
    free(err_text);

    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_expect_eq(count(db, "SELECT count(*) FROM errors WHERE source_path LIKE "
                           "'%b-truncated.tif'"), 1);
    cr_expect_eq(count(db, "SELECT count(*) FROM errors WHERE source_path LIKE "
                           "'%c-garbage.png'"), 1);
    cr_expect_eq(count(db, "SELECT count(DISTINCT source_path) FROM v_fields "
                           "WHERE source_path LIKE '%-good.%'"), 2,
                 "both good files are stored");
    sqlite3_close(db);

    /* --strict turns refused input into a failing exit status. */
    snprintf(db_path, sizeof db_path, "%s/c.db", tmp);
    char *strict[] = {BLOTTER, "run", "--strict", "--quiet", "--db", db_path, dir, NULL};
    cr_expect_eq(run_cmd(strict, "/dev/null", "/dev/null", TIMEOUT_S), 4);
}

Test(pipeline, names_the_stage_that_cannot_start)
{
    char conf[300], db_path[300], errf[300];
    snprintf(conf, sizeof conf, "%s/bad.conf", tmp);
    FILE *f = fopen(conf, "w");
    cr_assert_not_null(f);
    fprintf(f, "[models]\nclassify = %s/no-such-model.blm\n", tmp);
    fclose(f);
    snprintf(db_path, sizeof db_path, "%s/d.db", tmp);
    snprintf(errf, sizeof errf, "%s/err.txt", tmp);
    char *argv[] = {BLOTTER, "run", "--config", conf, "--db", db_path, SAMPLES, NULL};
    int status = run_cmd(argv, "/dev/null", errf, 60);
    char *err_text = slurp(errf);
    cr_expect_eq(status, 3, "exit status %d:\n%s", status, err_text);
    cr_expect(strstr(err_text, "classify") != NULL, "names the stage:\n%s", err_text);
    cr_expect(strstr(err_text, "no-such-model.blm") != NULL,
              "names the model file:\n%s", err_text);
    free(err_text);
}

Test(pipeline, rejects_missing_input_paths_before_starting)
{
    char errf[300];
    snprintf(errf, sizeof errf, "%s/err.txt", tmp);
    char *argv[] = {BLOTTER, "run", "--db", "/dev/null", "/no/such/folder", NULL};
    cr_expect_eq(run_cmd(argv, "/dev/null", errf, 30), 2);
    char *err_text = slurp(errf);
    cr_expect(strstr(err_text, "/no/such/folder") != NULL, "%s", err_text);
    free(err_text);
}


/* Pages stored so far, read while the writer works (WAL: no blocking);
 * -1 before the database can be read. */
static int64_t stored_now(const char *db_path)
{
    if (access(db_path, F_OK) != 0)
        return -1;
    sqlite3 *db;
    int64_t n = -1;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 1000);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "SELECT count(*) FROM pages", -1, &st, NULL) ==
            SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
        }
    }
    sqlite3_close(db);
    return n;
}

/* Runs a 40-page batch, kills detect with SIGKILL once pages are stored,
 * and returns the exit status of `blotter run`; *err_text gets its stderr. */
static int run_and_kill_detect(int max_restarts, const char *db_path,
                               char **err_text)
{
    char pages[300], conf[300], run_dir[300], errf[300];
    snprintf(pages, sizeof pages, "%s/pages", tmp);
    snprintf(run_dir, sizeof run_dir, "%s/run", tmp);
    snprintf(conf, sizeof conf, "%s/run.conf", tmp);
    snprintf(errf, sizeof errf, "%s/err.txt", tmp);
    if (access(pages, F_OK) != 0) {
        char *gen[] = {BLOTTER, "samples", "--out", pages, "--pages", "40",
                       "--seed", "7", "--rotate", "0", NULL};
        cr_assert_eq(run_cmd(gen, "/dev/null", "/dev/null", 300), 0);
    }
    FILE *f = fopen(conf, "w");
    cr_assert_not_null(f);
    fprintf(f, "[pipeline]\nruntime_dir = %s\nmax_restarts = %d\n"
               "retry_timeout = 20\n", run_dir, max_restarts);
    fclose(f);

    pid_t runner = fork();
    cr_assert_geq(runner, 0);
    if (runner == 0) {
        char *argv[] = {BLOTTER, "run", "--quiet", "--config", conf, "--db",
                        (char *)db_path, pages, NULL};
        _exit(run_cmd(argv, "/dev/null", errf, TIMEOUT_S));
    }
    /* Kill detect while the batch is under way: once the first pages are
     * stored (a kill before the pipeline is up is a failed start, which
     * is not restarted). */
    for (int i = 0; i < 30000 && stored_now(db_path) < 2; i++)
        usleep(10000);
    cr_assert_geq(stored_now(db_path), 2, "no page stored in time");
    pid_t victim = find_process("blotter-detect", run_dir);
    cr_assert_gt(victim, 0, "detect is not running");
    kill(victim, SIGKILL);

    int status;
    cr_assert_eq(waitpid(runner, &status, 0), runner);
    cr_assert(WIFEXITED(status));
    *err_text = slurp(errf);
    cr_expect_eq(find_process("blotter-", run_dir), 0, "no stage left running");
    return WEXITSTATUS(status);
}

Test(pipeline, restarts_a_killed_stage_and_stores_every_page_once)
{
    if (access(BL_SOURCE_DIR "/data/mnist/t10k-images-idx3-ubyte", R_OK) != 0)
        cr_skip_test("MNIST not fetched (blotter data mnist)");
    char db_path[300];
    snprintf(db_path, sizeof db_path, "%s/e.db", tmp);
    char *err_text;
    int status = run_and_kill_detect(5, db_path, &err_text);
    cr_expect_eq(status, 0, "exit status %d:\n%s", status, err_text);
    cr_expect(strstr(err_text, "stage detect") != NULL, "names the stage:\n%s",
              err_text);
    cr_expect(strstr(err_text, "signal 9") != NULL, "says how it died:\n%s",
              err_text);
    cr_expect(strstr(err_text, "restarted") != NULL, "%s", err_text);
    free(err_text);

    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_expect_eq(count(db, "SELECT count(*) FROM pages"), 40, "every page stored");
    cr_expect_eq(count(db, "SELECT count(*) FROM errors"), 0);
    cr_expect_eq(count(db, "SELECT count(*) FROM (SELECT page_id, field_index "
                           "FROM fields GROUP BY 1, 2 HAVING count(*) > 1)"), 0,
                 "no field stored twice");
    sqlite3_close(db);
}

Test(pipeline, names_a_stage_that_dies_too_often_and_exits)
{
    if (access(BL_SOURCE_DIR "/data/mnist/t10k-images-idx3-ubyte", R_OK) != 0)
        cr_skip_test("MNIST not fetched (blotter data mnist)");
    char db_path[300];
    snprintf(db_path, sizeof db_path, "%s/f.db", tmp);
    char *err_text;
    int status = run_and_kill_detect(0, db_path, &err_text);
    cr_expect_eq(status, 3, "exit status %d:\n%s", status, err_text);
    cr_expect(strstr(err_text, "stage detect") != NULL, "names the stage:\n%s",
              err_text);
    cr_expect(strstr(err_text, "signal 9") != NULL, "says how it died:\n%s",
              err_text);
    free(err_text);
}
