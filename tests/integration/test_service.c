/*
 * The pipeline as a service: `blotter up` with a hot folder, `blotter feed
 * --wait`, `blotter down`, with real processes and sockets in a private
 * runtime directory.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run_cmd.h"
#include "blm/blm.h"
#include <sqlite3.h>

#define BLOTTER BL_BIN_DIR "/blotter"
#define SAMPLES BL_SOURCE_DIR "/samples"

static char tmp[256];

static void make_tmp(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/blotter-svc-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
}

static void remove_tmp(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(service, .init = make_tmp, .fini = remove_tmp, .timeout = 240);

static int wait_for(const char *path, int seconds)
{
    for (int i = 0; i < seconds * 20; i++) {
        if (access(path, F_OK) == 0)
            return 1;
        usleep(50000);
    }
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static int count_entries(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 2", dir);
    return system(cmd) == 0;
}

/* Starts `blotter metrics` on a free port, fetches /metrics once and
 * checks it holds the stages' series. */
static void check_prometheus(const char *conf)
{
    char errf[300];
    snprintf(errf, sizeof errf, "%s/metrics.txt", tmp);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        /* exec directly (not through run_cmd) so that pid is the server. */
        int fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 2);
        close(fd);
        char *argv[] = {BLOTTER, "metrics", "--config", (char *)conf, "--listen",
                        "127.0.0.1:0", NULL};
        execv(argv[0], argv);
        _exit(127);
    }
    unsigned port = 0;
    for (int i = 0; i < 200 && !port; i++) {
        char *text = slurp(errf);
        const char *at = strstr(text, "http://127.0.0.1:");
        if (at)
            sscanf(at, "http://127.0.0.1:%u", &port);
        free(text);
        if (!port)
            usleep(50000);
    }
    cr_assert_gt(port, 0, "blotter metrics did not say where it listens");
    char body[65536] = "";
    for (int tries = 0; tries < 40; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
        const char *req = "GET /metrics HTTP/1.0\r\n\r\n";
        cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
        size_t got = 0;
        ssize_t n;
        while ((n = read(fd, body + got, sizeof body - 1 - got)) > 0)
            got += (size_t)n;
        body[got] = '\0';
        close(fd);
        if (strstr(body, "200 OK"))
            break;
        usleep(250000); /* 503 until the first snapshot arrives */
    }
    cr_expect(strstr(body, "200 OK") != NULL, "%s", body);
    cr_expect(strstr(body, "blotter_stage_items_in_total{stage=\"classify\","
                           "instance=\"0\"}") != NULL, "%s", body);
    kill(pid, SIGTERM);
    int status;
    cr_expect_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "metrics ended %d",
              status);
}

/* Swaps the classifier for a re-labelled copy (same weights, another
 * checksum, so another id) and checks that pages stored afterwards name
 * it; a model of the wrong kind is refused and changes nothing. */
static void check_model_swap(const char *conf, const char *db)
{
    char copy[300], out[300], errf[300];
    snprintf(copy, sizeof copy, "%s/classify-copy.blm", tmp);
    snprintf(out, sizeof out, "%s/model.txt", tmp);
    snprintf(errf, sizeof errf, "%s/model-err.txt", tmp);
    bl_err err = {0};
    bl_blm *blm = bl_blm_load(BL_SOURCE_DIR "/models/classify-cnn.blm", "classify", &err);
    cr_assert_not_null(blm, "%s", err.msg);
    bl_blm_set_meta(blm, "recipe", "a copy for the swap test");
    cr_assert_eq(bl_blm_save(blm, copy, &err), BL_OK, "%s", err.msg);
    char new_id[64];
    const char *version = bl_blm_get_meta(blm, "version");
    snprintf(new_id, sizeof new_id, "@%s:%08x", version ? version : "1", blm->crc);
    bl_blm_destroy(&blm);

    char *wrong[] = {BLOTTER, "model", "swap", "--config", (char *)conf, "classify",
                     BL_SOURCE_DIR "/models/ingest-orient.blm", NULL};
    cr_expect_eq(run_cmd(wrong, "/dev/null", errf, 60), 2);
    char *why = slurp(errf);
    cr_expect(strstr(why, "expected 'classify'") != NULL, "%s", why);
    free(why);

    char *swap[] = {BLOTTER, "model", "swap", "--config", (char *)conf, "classify",
                    copy, NULL};
    cr_assert_eq(run_cmd(swap, out, errf, 90), 0, "%s", slurp(errf));
    char *list[] = {BLOTTER, "model", "list", "--config", (char *)conf, NULL};
    cr_expect_eq(run_cmd(list, out, errf, 60), 0);
    char *listed = slurp(out);
    cr_expect(strstr(listed, new_id) != NULL, "runs %s:\n%s", new_id, listed);
    free(listed);

    /* A page never seen before, so that it is processed, not a duplicate. */
    char fresh[300];
    snprintf(fresh, sizeof fresh, "%s/fresh", tmp);
    char *gen[] = {BLOTTER, "samples", "--out", fresh, "--pages", "1", "--seed",
                   "4242", "--rotate", "0", NULL};
    cr_assert_eq(run_cmd(gen, "/dev/null", "/dev/null", 120), 0);
    char *feed[] = {BLOTTER, "feed", "--config", (char *)conf, "--wait", "--batch",
                    "after-swap", fresh, NULL};
    cr_assert_eq(run_cmd(feed, "/dev/null", "/dev/null", 120), 0);
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT model_classify FROM pages p JOIN "
                 "documents d ON d.id = p.document_id JOIN batches b ON b.id = "
                 "d.batch_id WHERE b.name = 'after-swap'", -1, &st, NULL), SQLITE_OK);
    int rows = 0, swapped = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        rows++;
        const unsigned char *m = sqlite3_column_text(st, 0);
        swapped += m && strstr((const char *)m, new_id) != NULL;
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    cr_expect_eq(rows, 1);
    cr_expect_eq(swapped, 1, "the page records the swapped model %s", new_id);
}

Test(service, feeds_watches_and_goes_down_cleanly)
{
    char conf[300], run_dir[300], db[300], hot[300], front[400], up_err[300];
    snprintf(conf, sizeof conf, "%s/svc.conf", tmp);
    snprintf(run_dir, sizeof run_dir, "%s/run", tmp);
    snprintf(db, sizeof db, "%s/svc.db", tmp);
    snprintf(hot, sizeof hot, "%s/hot", tmp);
    snprintf(front, sizeof front, "%s/front", run_dir);
    snprintf(up_err, sizeof up_err, "%s/up.txt", tmp);
    cr_assert_eq(mkdir(hot, 0700), 0);
    char text[600];
    snprintf(text, sizeof text, "[pipeline]\nruntime_dir = %s\n", run_dir);
    write_file(conf, text);

    pid_t up = fork();
    cr_assert_geq(up, 0);
    if (up == 0) {
        char *argv[] = {BLOTTER, "up", "--config", conf, "--db", db, "--watch",
                        hot, "--batch", "hot", NULL};
        _exit(run_cmd(argv, "/dev/null", up_err, 200));
    }
    cr_assert(wait_for(front, 60), "the service never came up:\n%s", slurp(up_err));

    /* A second service on the same runtime directory is refused. */
    char *again[] = {BLOTTER, "up", "--config", conf, "--db", db, NULL};
    cr_expect_eq(run_cmd(again, "/dev/null", "/dev/null", 30), 2);

    char out[300];
    snprintf(out, sizeof out, "%s/feed.txt", tmp);
    char *feed[] = {BLOTTER, "feed", "--config", conf, "--wait", "--batch", "f1",
                    SAMPLES, NULL};
    cr_assert_eq(run_cmd(feed, out, "/dev/null", 120), 0);
    char *fed = slurp(out);
    cr_expect(strstr(fed, "pages stored, 0 refused") != NULL, "%s", fed);
    free(fed);

    /* Live figures: `top` and the Prometheus endpoint. */
    snprintf(out, sizeof out, "%s/top.txt", tmp);
    char *top[] = {BLOTTER, "top", "--config", conf, "--once", NULL};
    cr_expect_eq(run_cmd(top, out, "/dev/null", 30), 0);
    char *table = slurp(out);
    cr_expect(strstr(table, "classify-cnn") != NULL && strstr(table, "p95 ms"),
              "%s", table);
    free(table);
    check_prometheus(conf);

    check_model_swap(conf, db);

    /* Into the hot folder: a copy of a sample (written under a temporary
     * name, then renamed, as careful scanners do) and a file that is no
     * image at all. */
    char cmd[1200], tmpname[400], bad[400];
    snprintf(tmpname, sizeof tmpname, "%s/.incoming", hot);
    snprintf(cmd, sizeof cmd, "cp '%s/page-001.tif' '%s' && mv '%s' '%s/card.tif'",
             SAMPLES, tmpname, tmpname, hot);
    cr_assert_eq(system(cmd), 0);
    snprintf(bad, sizeof bad, "%s/broken.png", hot);
    write_file(bad, "this is not a PNG");

    char done_path[400], quarantined[400], reason[400];
    snprintf(done_path, sizeof done_path, "%s/done/card.tif", hot);
    snprintf(quarantined, sizeof quarantined, "%s/quarantine/broken.png", hot);
    snprintf(reason, sizeof reason, "%s/quarantine/broken.png.reason.txt", hot);
    cr_expect(wait_for(done_path, 60), "card.tif not moved to done");
    cr_expect(wait_for(reason, 60), "broken.png not quarantined");
    cr_expect(access(quarantined, F_OK) == 0);
    char *why = slurp(reason);
    cr_expect(strstr(why, "not a TIFF or PNG") != NULL, "%s", why);
    free(why);
    cr_expect(count_entries(hot), "only done/ and quarantine/ are left in the folder");

    char *down[] = {BLOTTER, "down", "--config", conf, NULL};
    cr_assert_eq(run_cmd(down, "/dev/null", "/dev/null", 60), 0);
    int status;
    cr_assert_eq(waitpid(up, &status, 0), up);
    char *up_text = slurp(up_err);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "blotter up ended with %d:\n%s", status, up_text);
    free(up_text);
    cr_expect(access(front, F_OK) != 0, "the service socket is removed");

    /* Feeding a stopped service says so. */
    char *late[] = {BLOTTER, "feed", "--config", conf, SAMPLES, NULL};
    cr_expect_eq(run_cmd(late, "/dev/null", "/dev/null", 30), 3);
}
