/*
 * Nothing lost, nothing doubled: the real pipeline on a batch of
 * multi-page G4 TIFFs while its processes are killed.
 *
 * - Every stage (ingest, detect, segment, classify, write) is killed with
 *   SIGKILL in turn, mid-batch: each is restarted, the work it held is fed
 *   again, and at the end every page has exactly one set of rows.
 * - SIGTERM to `blotter run` finishes the files in flight, stores them
 *   whole and exits 143; running the batch again resumes it.
 * - SIGKILL of `blotter run` (its stages stop with it): running the batch
 *   again resumes it, skipping the files an earlier run settled.
 *
 * The batch has BLOTTER_TEST_PAGES pages (default 200; scripts/test.sh
 * sets fewer for the sanitizer build), made once per build tree from 20
 * generated pages in 4-page files, copied with distinct marks
 * (bench/pipeline/vary_pages.c). Cost: about three 200-page runs plus
 * two partial ones: 480 s on 2 cores shared with other heavy jobs (load
 * average 10-15), 150 s with 40 pages.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <glob.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run_cmd.h"

#define BLOTTER BL_BIN_DIR "/blotter"
#define VARY BL_BIN_DIR "/vary_pages"
#define PAGES_CACHE BL_BIN_DIR "/../test-pages"
#define TIMEOUT_S 1200
#define BASE_PAGES 20

static char tmp[256];
static char pages_dir[512];
static int npages;

static void make_tmp(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/blotter-rec-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
}

static void remove_tmp(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(recovery, .init = make_tmp, .fini = remove_tmp, .timeout = 1500);

static int need_mnist(void)
{
    return access(BL_SOURCE_DIR "/data/mnist/t10k-images-idx3-ubyte", R_OK) == 0;
}

/* Makes (once per build tree) the batch of npages pages. */
static void make_pages(void)
{
    const char *env = getenv("BLOTTER_TEST_PAGES");
    npages = env && atoi(env) > 0 ? atoi(env) : 200;
    cr_assert_eq(npages % BASE_PAGES, 0, "BLOTTER_TEST_PAGES must be a multiple "
                 "of %d", BASE_PAGES);
    snprintf(pages_dir, sizeof pages_dir, "%s/recovery-%d", PAGES_CACHE, npages);
    if (access(pages_dir, F_OK) == 0)
        return;
    char src[600], out[600], cmd[2000];
    mkdir(PAGES_CACHE, 0755);
    snprintf(src, sizeof src, "%s.src", pages_dir);
    snprintf(out, sizeof out, "%s.tmp", pages_dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", src, out);
    cr_assert_eq(system(cmd), 0);
    char n[16];
    snprintf(n, sizeof n, "%d", BASE_PAGES);
    char *gen[] = {BLOTTER, "samples", "--out", src, "--pages", n, "--seed", "11",
                   "--format", "multipage", "--rotate", "0", NULL};
    cr_assert_eq(run_cmd(gen, "/dev/null", "/dev/null", 600), 0);
    glob_t g;
    char pattern[700];
    snprintf(pattern, sizeof pattern, "%s/*.tif", src);
    cr_assert_eq(glob(pattern, 0, NULL, &g), 0);
    char copies[16];
    snprintf(copies, sizeof copies, "%d", npages / BASE_PAGES);
    char **argv = calloc(g.gl_pathc + 4, sizeof *argv);
    argv[0] = VARY;
    argv[1] = out;
    argv[2] = copies;
    for (size_t i = 0; i < g.gl_pathc; i++)
        argv[3 + i] = g.gl_pathv[i];
    cr_assert_eq(run_cmd(argv, "/dev/null", "/dev/null", 600), 0);
    free(argv);
    globfree(&g);
    cr_assert_eq(rename(out, pages_dir), 0);
}

static int64_t count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s",
                 sql, sqlite3_errmsg(db));
    int rc = sqlite3_step(st);
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

/* Pages stored so far, read while the writer works (WAL: no blocking);
 * -1 before the database exists. */
static int64_t stored_now(const char *db_path)
{
    if (access(db_path, F_OK) != 0)
        return -1;
    sqlite3 *db;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 1000);
    sqlite3_stmt *st;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM pages", -1, &st, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}


typedef struct run {
    char conf[300], run_dir[300], db[300], out[300], err[300];
    pid_t runner; /* the test's child that waits for blotter run */
} run;

static void run_setup(run *r, const char *name)
{
    snprintf(r->run_dir, sizeof r->run_dir, "%s/run-%s", tmp, name);
    snprintf(r->conf, sizeof r->conf, "%s/%s.conf", tmp, name);
    snprintf(r->db, sizeof r->db, "%s/recovery.db", tmp);
    snprintf(r->out, sizeof r->out, "%s/%s.json", tmp, name);
    snprintf(r->err, sizeof r->err, "%s/%s.err", tmp, name);
    FILE *f = fopen(r->conf, "w");
    cr_assert_not_null(f);
    fprintf(f, "[pipeline]\nruntime_dir = %s\nmax_restarts = 3\n"
               "retry_timeout = 60\n", r->run_dir);
    fclose(f);
}

/* Starts `blotter run` on the batch in the background. */
static void run_start(run *r)
{
    r->runner = fork();
    cr_assert_geq(r->runner, 0);
    if (r->runner == 0) {
        char *argv[] = {BLOTTER, "run", "--quiet", "--json", "--config", r->conf,
                        "--batch", "rec", "--db", r->db, pages_dir, NULL};
        _exit(run_cmd(argv, r->out, r->err, TIMEOUT_S));
    }
}

/* Waits for `blotter run`; returns its exit status. */
static int run_wait(run *r)
{
    int status;
    cr_assert_eq(waitpid(r->runner, &status, 0), r->runner);
    cr_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* Waits until at least n pages are stored (or the run ended). */
static void wait_stored(run *r, int64_t n)
{
    for (int i = 0; i < 60000; i++) {
        if (stored_now(r->db) >= n)
            return;
        if (waitpid(r->runner, NULL, WNOHANG) == r->runner)
            cr_assert_fail("blotter run ended before %lld pages were stored",
                           (long long)n);
        usleep(20000);
    }
    cr_assert_fail("%lld pages not stored in time", (long long)n);
}

/* The batch in the database: every page exactly once, no field twice, no
 * errors, every document whole. */
static void check_batch_whole(const char *db_path)
{
    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_expect_eq(count(db, "SELECT count(*) FROM pages"), npages, "every page stored");
    cr_expect_eq(count(db, "SELECT count(*) FROM documents d WHERE page_count != "
                           "(SELECT count(*) FROM pages p WHERE p.document_id = d.id)"),
                 0, "every page of every file present");
    cr_expect_eq(count(db, "SELECT count(*) FROM (SELECT document_id, page_index "
                           "FROM pages GROUP BY 1, 2 HAVING count(*) > 1)"), 0,
                 "no page stored twice");
    cr_expect_eq(count(db, "SELECT count(*) FROM (SELECT page_id, field_index "
                           "FROM fields GROUP BY 1, 2 HAVING count(*) > 1)"), 0,
                 "no field stored twice");
    cr_expect_eq(count(db, "SELECT count(*) FROM (SELECT field_id, digit_index "
                           "FROM digits GROUP BY 1, 2 HAVING count(*) > 1)"), 0,
                 "no digit stored twice");
    cr_expect_gt(count(db, "SELECT count(*) FROM fields"), npages, "fields stored");
    cr_expect_eq(count(db, "SELECT count(*) FROM errors"), 0, "no errors");
    sqlite3_close(db);
}

static json_t *summary_of(const run *r)
{
    json_error_t jerr;
    json_t *s = json_load_file(r->out, 0, &jerr);
    cr_assert_not_null(s, "summary is not JSON: %s", jerr.text);
    return s;
}

Test(recovery, kill_every_stage_mid_batch_stores_each_page_once)
{
    if (!need_mnist())
        cr_skip_test("MNIST not fetched (blotter data mnist)");
    make_pages();
    run r;
    run_setup(&r, "kill");
    run_start(&r);
    static const char *const stages[] = {"ingest", "detect", "segment",
                                         "classify", "write"};
    for (int k = 0; k < 5; k++) {
        /* Each kill a little further into the batch, so that each stage
         * dies with work in hand and in its queues. */
        wait_stored(&r, (int64_t)npages * (k + 1) / 7);
        char exe[64];
        snprintf(exe, sizeof exe, "blotter-%s", stages[k]);
        pid_t victim = find_process(exe, r.run_dir);
        cr_assert_gt(victim, 0, "%s is not running", stages[k]);
        cr_assert_eq(kill(victim, SIGKILL), 0);
        /* Wait for its restart before the next kill. */
        pid_t back = 0;
        for (int i = 0; i < 3000 && (!back || back == victim); i++) {
            usleep(10000);
            back = find_process(exe, r.run_dir);
        }
        cr_assert(back && back != victim, "%s was not restarted", stages[k]);
    }
    int status = run_wait(&r);
    char *err_text = slurp(r.err);
    cr_expect_eq(status, 0, "exit status %d:\n%s", status, err_text);
    cr_expect(strstr(err_text, "giving up") == NULL, "no file given up:\n%s",
              err_text);
    cr_expect(strstr(err_text, "not stored") == NULL &&
              strstr(err_text, "did not confirm") == NULL,
              "every report stored:\n%s", err_text);
    for (int k = 0; k < 5; k++) {
        char what[64];
        snprintf(what, sizeof what, "stage %s (instance 0) was killed by signal 9",
                 stages[k]);
        cr_expect(strstr(err_text, what) != NULL, "says '%s':\n%s", what, err_text);
    }
    free(err_text);
    cr_expect_eq(find_process("blotter-", r.run_dir), 0, "no stage left running");
    check_batch_whole(r.db);

    /* The statistics count each instance's lives. */
    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(r.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_expect_eq(count(db, "SELECT count(*) FROM stage_stats WHERE batch = 'rec' "
                           "AND restarts = 1"), 5, "every stage restarted once");
    cr_expect_eq(count(db, "SELECT count(*) FROM batch_files WHERE batch = 'rec' "
                           "AND failed = 0"),
                 count(db, "SELECT count(*) FROM documents"), "every file settled");
    sqlite3_close(db);
}

Test(recovery, sigterm_drains_work_in_flight_then_the_batch_resumes)
{
    if (!need_mnist())
        cr_skip_test("MNIST not fetched (blotter data mnist)");
    make_pages();
    run r;
    run_setup(&r, "term");
    run_start(&r);
    wait_stored(&r, npages / 4);
    pid_t front = find_process("blotter run", r.conf);
    cr_assert_gt(front, 0);
    cr_assert_eq(kill(front, SIGTERM), 0);
    int status = run_wait(&r);
    char *err_text = slurp(r.err);
    cr_expect_eq(status, 128 + SIGTERM, "exit status %d:\n%s", status, err_text);
    free(err_text);
    cr_expect_eq(find_process("blotter-", r.run_dir), 0, "no stage left running");

    /* Drained: every file fed before the signal is stored whole. */
    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(r.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    int64_t stored = count(db, "SELECT count(*) FROM pages");
    cr_expect_geq(stored, npages / 4);
    cr_expect_lt(stored, npages, "the signal came mid-batch");
    cr_expect_eq(count(db, "SELECT count(*) FROM documents d WHERE page_count != "
                           "(SELECT count(*) FROM pages p WHERE p.document_id = d.id)"),
                 0, "no file left half stored");
    int64_t settled = count(db, "SELECT count(*) FROM batch_files");
    cr_expect_eq(settled, count(db, "SELECT count(*) FROM documents"));
    cr_expect_eq(count(db, "SELECT count(*) FROM stage_stats WHERE stage = 'write'"
                           " AND items_out > 0"), 1, "statistics stored");
    sqlite3_close(db);
    json_t *s = summary_of(&r);
    cr_expect(json_is_true(json_object_get(s, "interrupted")));
    cr_expect_gt(json_integer_value(json_object_get(s, "files_left")), 0);
    json_decref(s);

    /* Again: the settled files are skipped, the rest is stored. */
    run again;
    run_setup(&again, "term-again");
    run_start(&again);
    status = run_wait(&again);
    err_text = slurp(again.err);
    cr_expect_eq(status, 0, "exit status %d:\n%s", status, err_text);
    free(err_text);
    s = summary_of(&again);
    cr_expect_eq(json_integer_value(json_object_get(s, "files_skipped")), settled);
    cr_expect_eq(json_integer_value(json_object_get(s, "pages_skipped")), stored);
    cr_expect_eq(json_integer_value(json_object_get(s, "pages_this_run")),
                 npages - stored, "no stored page processed again");
    cr_expect_eq(json_integer_value(json_object_get(s, "pages")), npages);
    json_decref(s);
    check_batch_whole(again.db);
}

Test(recovery, a_killed_run_resumes_where_it_stopped)
{
    if (!need_mnist())
        cr_skip_test("MNIST not fetched (blotter data mnist)");
    make_pages();
    run r;
    run_setup(&r, "sigkill");
    run_start(&r);
    wait_stored(&r, npages / 3);
    pid_t front = find_process("blotter run", r.conf);
    cr_assert_gt(front, 0);
    cr_assert_eq(kill(front, SIGKILL), 0);
    run_wait(&r);
    /* Its stages follow it (they get SIGTERM when their parent dies). */
    for (int i = 0; i < 500 && find_process("blotter-", r.run_dir); i++)
        usleep(20000);
    cr_expect_eq(find_process("blotter-", r.run_dir), 0, "no stage left running");
    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(r.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    int64_t settled = count(db, "SELECT count(*) FROM batch_files");
    sqlite3_close(db);
    cr_expect_gt(settled, 0);

    run again;
    run_setup(&again, "sigkill-again");
    run_start(&again);
    int status = run_wait(&again);
    char *err_text = slurp(again.err);
    cr_expect_eq(status, 0, "exit status %d:\n%s", status, err_text);
    free(err_text);
    json_t *s = summary_of(&again);
    cr_expect_eq(json_integer_value(json_object_get(s, "files_skipped")), settled);
    cr_expect_lt(json_integer_value(json_object_get(s, "pages_this_run")), npages,
                 "the stored pages are not processed again");
    json_decref(s);
    check_batch_whole(again.db);
}
