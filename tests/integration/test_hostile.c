/*
 * Hostile messages against a running pipeline: garbage frames sent to the
 * input socket of every stage, to the front end's events socket and to the
 * service socket of `blotter up`, then a real page through the same
 * pipeline. Every stage must still be alive (the same process: its
 * counters did not start again), every malformed message counted
 * (per-stage errors and the front end's malformed_events in the metrics
 * snapshot) and logged, and the page stored.
 *
 * The garbage: random bytes of several sizes, headers cut short, a wrong
 * magic and a wrong version, a work header alone, a work header with
 * random payload frames, too few and too many frames, real messages with
 * a size or count that claims far more than was sent, and last a frame
 * above [limits] max_message_bytes (ZeroMQ drops that connection, so it
 * is not counted).
 *
 * Cost: one `blotter up` and one sample page, about 3 s (6 s under
 * AddressSanitizer).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "msg/msg.h"
#include "run_cmd.h"

#define BLOTTER BL_BIN_DIR "/blotter"
#define SAMPLE BL_SOURCE_DIR "/samples/page-001.tif"
#define MAX_MESSAGE_BYTES (8 << 20) /* above a 300-dpi page's raster */

static char tmp[256];

static void make_tmp(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/blotter-hostile-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
}

static void remove_tmp(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(hostile, .init = make_tmp, .fini = remove_tmp, .timeout = 240);

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint8_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint8_t)rng_state;
}

/* Sends frames given as (data, size) pairs; data NULL means random. */
static void send_parts(void *push, int count, const uint8_t *const *data,
                       const size_t *size)
{
    for (int i = 0; i < count; i++) {
        uint8_t *buf = malloc(size[i] ? size[i] : 1);
        if (data[i])
            memcpy(buf, data[i], size[i]);
        else
            for (size_t k = 0; k < size[i]; k++)
                buf[k] = rnd();
        int rc = zmq_send(push, buf, size[i], i + 1 < count ? ZMQ_SNDMORE : 0);
        cr_assert_eq(rc, (int)size[i], "zmq_send: %s", zmq_strerror(errno));
        free(buf);
    }
}

static void send_one(void *push, const void *data, size_t size)
{
    const uint8_t *d[1] = {data};
    send_parts(push, 1, d, &size);
}

static void send_frames(void *push, const bl_frames *f)
{
    const uint8_t *d[BL_MSG_MAX_FRAMES];
    size_t s[BL_MSG_MAX_FRAMES];
    for (int i = 0; i < f->count; i++) {
        d[i] = f->frame[i].data;
        s[i] = f->frame[i].size;
    }
    send_parts(push, f->count, d, s);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A small real page as ingest sends it. */
static void real_work(bl_frames *out)
{
    bl_work *w = bl_work_new();
    bl_strlcpy(w->batch, "garbage", sizeof w->batch);
    bl_strlcpy(w->source_path, "/nowhere/garbage.tif", sizeof w->source_path);
    w->page_count = 1;
    w->src_width = 64;
    w->src_height = 32;
    w->dpi_x = w->dpi_y = 300;
    w->page = bl_image_new(64, 32);
    BL_PIX(w->page, 3, 3) = 1;
    bl_msg_header hdr = {.type = BL_MSG_WORK, .doc_id = 424242};
    cr_assert_eq(bl_msg_encode_work(&hdr, w, out), BL_OK);
    bl_work_destroy(&w);
}

/* Sends the whole garbage set; returns how many messages the receiver
 * must count as malformed. */
static int send_garbage(void *push)
{
    int counted = 0;
    static const size_t sizes[] = {0, 1, 63, 64, 65, 1000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++, counted++)
        send_one(push, NULL, sizes[i]);

    bl_frames work = {0};
    real_work(&work);
    uint8_t hdr[BL_MSG_HEADER_SIZE];
    memcpy(hdr, work.frame[0].data, sizeof hdr);

    send_one(push, hdr, 10), counted++;               /* header cut short */
    send_one(push, hdr, 63), counted++;
    uint8_t bad[BL_MSG_HEADER_SIZE];
    memcpy(bad, hdr, sizeof bad);
    bad[0] ^= 0xff;                                    /* wrong magic */
    send_frames(push, &(bl_frames){.count = 7, .frame = {{bad, 64}, work.frame[1],
        work.frame[2], work.frame[3], work.frame[4], work.frame[5], work.frame[6]}});
    counted++;
    memcpy(bad, hdr, sizeof bad);
    bad[4] = 99;                                       /* wrong version */
    send_frames(push, &(bl_frames){.count = 7, .frame = {{bad, 64}, work.frame[1],
        work.frame[2], work.frame[3], work.frame[4], work.frame[5], work.frame[6]}});
    counted++;
    send_one(push, hdr, sizeof hdr), counted++;       /* a header alone */

    /* A valid header with random payload frames. */
    const uint8_t *d7[7] = {hdr, NULL, NULL, NULL, NULL, NULL, NULL};
    size_t s7[7] = {64, 200, 40, 90, 17, 60, 784};
    send_parts(push, 7, d7, s7), counted++;
    /* Wrong frame counts: three, and twenty (more than any message has). */
    send_parts(push, 3, d7, s7), counted++;
    const uint8_t *d20[20] = {hdr};
    size_t s20[20] = {64};
    for (int i = 1; i < 20; i++)
        s20[i] = 8;
    send_parts(push, 20, d20, s20), counted++;

    /* Real messages whose sizes lie. */
    bl_frames f = work;
    memcpy(bad, hdr, sizeof bad);
    put32(bad + 28, 1000000000u);                      /* a billion fields */
    f.frame[0].data = bad;
    send_frames(push, &f), counted++;
    f = work;
    uint8_t *meta = malloc(work.frame[1].size);
    memcpy(meta, work.frame[1].data, work.frame[1].size);
    put32(meta + work.frame[1].size - 4, 0xffffffffu); /* 4 G digits */
    f.frame[1].data = meta;
    send_frames(push, &f), counted++;
    put32(meta, 0xfffffff0u);                          /* a 4 GiB string */
    send_frames(push, &f), counted++;
    free(meta);
    f = work;
    uint8_t *raster = malloc(work.frame[2].size);
    memcpy(raster, work.frame[2].data, work.frame[2].size);
    put32(raster, 0x7fffffffu);                        /* 2^31-1 x 2^31-1 */
    put32(raster + 4, 0x7fffffffu);
    f.frame[2].data = raster;
    send_frames(push, &f), counted++;
    free(raster);

    /* A note header with a broken note. */
    memcpy(bad, hdr, sizeof bad);
    bad[6] = BL_MSG_FEED;
    put32(bad + 28, 0);
    const uint8_t *dn[2] = {bad, NULL};
    size_t sn[2] = {64, 50};
    send_parts(push, 2, dn, sn), counted++;
    bl_frames_free(&work);

    /* Last, a frame above max_message_bytes: the connection is dropped. */
    size_t huge = MAX_MESSAGE_BYTES + 4096;
    send_parts(push, 1, (const uint8_t *const[]){NULL}, &huge);
    return counted;
}

/* The latest metrics snapshot within timeout_s, or NULL. */
static json_t *snapshot(void *sub, int timeout_s)
{
    json_t *last = NULL;
    for (int i = 0; i < timeout_s * 10; i++) {
        zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        static char buf[1 << 20];
        int n = zmq_recv(sub, buf, sizeof buf - 1, 0);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        json_decref(last);
        last = json_loads(buf, 0, NULL);
        return last;
    }
    return last;
}

/* Each stage's errors and age, 1 when all have counted `want` errors. */
static int all_counted(json_t *snap, int want, int want_events, char *why,
                       size_t why_size)
{
    if (!snap)
        return snprintf(why, why_size, "no metrics snapshot"), 0;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(snap, "stages"), i, s) {
        const char *name = json_string_value(json_object_get(s, "stage"));
        json_int_t errors = json_integer_value(json_object_get(s, "errors"));
        double age = json_number_value(json_object_get(s, "age_s"));
        if (errors < want || age < 0 || age > 5) {
            snprintf(why, why_size, "%s: errors %lld of %d, figures %.1f s old",
                     name, (long long)errors, want, age);
            return 0;
        }
    }
    json_int_t ev = json_integer_value(json_object_get(snap, "malformed_events"));
    if (ev < want_events) {
        snprintf(why, why_size, "front end: malformed_events %lld of %d",
                 (long long)ev, want_events);
        return 0;
    }
    return 1;
}

Test(hostile, every_stage_survives_garbage_and_a_real_page_goes_through)
{
    char conf[300], db[300], run[300], log[300], up_err[300], ep[400];
    snprintf(conf, sizeof conf, "%s/pipeline.conf", tmp);
    snprintf(db, sizeof db, "%s/h.db", tmp);
    snprintf(run, sizeof run, "%s/run", tmp);
    snprintf(log, sizeof log, "%s/stages.log", tmp);
    snprintf(up_err, sizeof up_err, "%s/up.err", tmp);
    FILE *f = fopen(conf, "w");
    cr_assert_not_null(f);
    fprintf(f, "[pipeline]\nruntime_dir = %s\nlog_file = %s\n[models]\n"
            "ingest = %s/models/ingest-orient.blm\ndetect = %s/models/detect-regions.blm\n"
            "classify = %s/models/classify-cnn.blm\n[limits]\nmax_message_bytes = %d\n",
            run, log, BL_SOURCE_DIR, BL_SOURCE_DIR, BL_SOURCE_DIR, MAX_MESSAGE_BYTES);
    fclose(f);

    pid_t up = fork();
    cr_assert_geq(up, 0);
    if (up == 0) {
        char *argv[] = {BLOTTER, "up", "--config", conf, "--db", db, NULL};
        _exit(run_cmd(argv, "/dev/null", up_err, 200));
    }
    char front[400];
    snprintf(front, sizeof front, "%s/front", run);
    int up_ok = 0;
    for (int i = 0; i < 1200 && !up_ok; i++) {
        up_ok = access(front, F_OK) == 0;
        usleep(50000);
    }
    cr_assert(up_ok, "the service never came up:\n%s", slurp(up_err));

    void *ctx = zmq_ctx_new();
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    snprintf(ep, sizeof ep, "ipc://%s/metrics", run);
    cr_assert_eq(zmq_connect(sub, ep), 0);

    /* Every stage's input, then the front end's events socket. */
    int counted = 0;
    static const char *const stages[] = {"ingest", "detect", "segment",
                                         "classify", "write", "events"};
    int linger = 5000;
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
        void *push = zmq_socket(ctx, ZMQ_PUSH);
        zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
        if (strcmp(stages[i], "events") == 0)
            snprintf(ep, sizeof ep, "ipc://%s/events.0", run);
        else
            snprintf(ep, sizeof ep, "ipc://%s/%s.0", run, stages[i]);
        cr_assert_eq(zmq_connect(push, ep), 0, "%s: %s", ep, zmq_strerror(errno));
        counted = send_garbage(push);
        zmq_close(push);
    }

    /* The service socket answers garbage with an error, and goes on. */
    void *req = zmq_socket(ctx, ZMQ_REQ);
    int timeout = 10000;
    zmq_setsockopt(req, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    snprintf(ep, sizeof ep, "ipc://%s", front);
    cr_assert_eq(zmq_connect(req, ep), 0);
    for (int round = 0; round < 3; round++) {
        uint8_t junk[100];
        for (size_t k = 0; k < sizeof junk; k++)
            junk[k] = rnd();
        cr_assert_eq(zmq_send(req, junk, (size_t)(round * 40), 0), round * 40);
        bl_frames answer = {0};
        bl_msg_header hdr;
        static bl_note note;
        bl_err err = {0};
        cr_assert_eq(bl_msg_recv(req, &answer, 1 << 20, 0, &err), BL_OK,
                     "no answer from the service: %s", err.msg);
        cr_assert_eq(bl_msg_decode_note(&answer, &hdr, &note, &err), BL_OK);
        cr_expect_str_eq(note.kind, "error");
        bl_frames_free(&answer);
    }
    zmq_close(req);

    /* A real page still goes through. */
    char *feed[] = {BLOTTER, "feed", "--config", conf, "--batch", "real",
                    "--wait", SAMPLE, NULL};
    char feed_err[300];
    snprintf(feed_err, sizeof feed_err, "%s/feed.err", tmp);
    cr_assert_eq(run_cmd(feed, "/dev/null", feed_err, 120), 0, "blotter feed:\n%s",
                 slurp(feed_err));
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT count(*) FROM v_fields WHERE "
                                    "batch = 'real'", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_expect_gt(sqlite3_column_int(st, 0), 0, "the real page stored no fields");
    sqlite3_finalize(st);
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT count(*) FROM errors", -1, &st,
                                    NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_expect_eq(sqlite3_column_int(st, 0), 0, "garbage reached the errors table");
    sqlite3_finalize(st);
    sqlite3_close(h);

    /* Same processes (counters never restarted), every message counted. */
    char why[256] = "";
    int ok = 0;
    for (int i = 0; i < 20 && !ok; i++) {
        json_t *snap = snapshot(sub, 3);
        ok = all_counted(snap, counted, counted, why, sizeof why);
        json_decref(snap);
    }
    cr_expect(ok, "after %d malformed messages each: %s", counted, why);
    zmq_close(sub);
    zmq_ctx_term(ctx);

    char *down[] = {BLOTTER, "down", "--config", conf, NULL};
    cr_expect_eq(run_cmd(down, "/dev/null", "/dev/null", 60), 0);
    int status;
    waitpid(up, &status, 0);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "blotter up ended badly:\n%s", slurp(up_err));
    char *text = slurp(log);
    char *errs = slurp(up_err);
    for (size_t i = 0; i < 5; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "%s.0 warn  malformed message dropped",
                 stages[i]);
        cr_expect_not_null(strstr(text, needle), "no '%s' in the log", needle);
    }
    cr_expect(strstr(text, "front warn  malformed event dropped") != NULL,
              "the front end logged no malformed event");
    cr_expect(!strstr(text, "restarted") && !strstr(errs, "restarted"),
              "a stage died:\n%s%s", text, errs);
    cr_expect(!strstr(errs, "Sanitizer") && !strstr(errs, "runtime error"),
              "a stage reported an error:\n%s", errs);
    free(text);
    free(errs);
}
