/*
 * blotter up / feed / down: the pipeline as a long-running service.
 *
 * `up` starts the stages and then serves requests on a REP socket in the
 * runtime directory (ipc://RUN/front): "feed" (one file into a batch),
 * "status" (outstanding files, pages stored, failed, duplicates) and
 * "down" (stop taking work, let what is in flight finish, stop). With
 * --watch it also runs a hot folder (watch.h). SIGINT and SIGTERM drain
 * like "down" does. `feed` and `down` are the clients.
 *
 * The runtime directory is settled by bl_service_conf (service.h), so
 * that clients find the service without being told where it is. One
 * service per directory.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "blm/blm.h"
#include "blotter/commands.h"
#include "blotter/inputs.h"
#include "blotter/pipeline.h"
#include "blotter/service.h"
#include "blotter/tracker.h"
#include "blotter/watch.h"
#include "db/db.h"
#include "log/log.h"

#define REQUEST_TIMEOUT_MS 5000
/* A file is fed at most this often before the service gives up on it. */
#define MAX_FEEDS 3

typedef struct service_opts {
    const char *config;
    const char *db;
    const char *watch;
    const char *done;
    const char *quarantine;
    const char *batch;
} service_opts;

static void default_batch(char *out, size_t size, const char *prefix)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(out, size, "%s-%s", prefix, stamp);
}

static void front_endpoint(const bl_conf *conf, char *out, size_t size)
{
    snprintf(out, size, "ipc://%s/front", conf->runtime_dir);
}

static int reply(void *rep, const char *kind, const char *text, int64_t n0,
                 int64_t n1, int64_t n2, int64_t n3)
{
    bl_msg_header hdr = {0};
    hdr.type = BL_MSG_EVENT;
    hdr.t_sent_ns = bl_time_wall_ns();
    bl_note *note = bl_xcalloc(1, sizeof *note);
    bl_strlcpy(note->kind, kind, sizeof note->kind);
    if (text)
        bl_strlcpy(note->text, text, sizeof note->text);
    note->num[0] = n0, note->num[1] = n1, note->num[2] = n2, note->num[3] = n3;
    bl_frames frames = {0};
    int rc = bl_msg_encode_note(&hdr, note, &frames);
    if (rc == BL_OK)
        rc = bl_msg_send(rep, &frames, 0, NULL);
    bl_frames_free(&frames);
    free(note);
    return rc;
}

/* ---- the service -------------------------------------------------------- */

typedef struct service {
    bl_pipeline *pipe;
    bl_tracker tracker;
    size_t fed;              /* tracker docs [0, fed) have been sent */
    bl_watch watch;
    int watching;
    char watch_batch[256];
    int draining;
    uint64_t retry_ns; /* [pipeline] retry_timeout */
    uint64_t started_ns;
} service;

/* Feeds document id again (see the at-least-once note in tracker.h). */
static void refeed(service *s, uint64_t id)
{
    bl_err err = {0};
    const bl_tracker_doc *d = &s->tracker.docs[id - 1];
    int rc = bl_pipeline_feed(s->pipe, id, d->batch, d->path, &err);
    if (rc != BL_OK && rc != BL_EAGAIN)
        bl_log(BL_LOG_ERROR, "feeding %s again: %s", d->path, err.msg);
    bl_tracker_fed(&s->tracker, id, bl_time_mono_ns());
}

/* A swap request: the file is checked here, once, before any stage sees
 * it, so a wrong or corrupt model never reaches a running instance. */
static void serve_swap(service *s, void *rep, const bl_note *note)
{
    int stage = bl_stage_from_name(note->text);
    bl_err err = {0};
    if (stage <= BL_STAGE_FRONT) {
        reply(rep, "error", "no such stage with a model (ingest, detect, segment, "
              "classify, write)", 0, 0, 0, 0);
        return;
    }
    bl_blm *blm = bl_blm_load(note->path, note->text, &err);
    if (!blm) {
        reply(rep, "error", err.msg, 0, 0, 0, 0);
        return;
    }
    bl_blm_destroy(&blm);
    bl_note *cmd = bl_xcalloc(1, sizeof *cmd);
    bl_strlcpy(cmd->kind, "swap", sizeof cmd->kind);
    bl_strlcpy(cmd->text, note->text, sizeof cmd->text);
    bl_strlcpy(cmd->path, note->path, sizeof cmd->path);
    cmd->num[0] = -1;
    bl_pipeline_swap_begin(s->pipe, (bl_stage_id)stage, note->path);
    if (bl_pipeline_control(s->pipe, cmd, &err))
        reply(rep, "error", err.msg, 0, 0, 0, 0);
    else {
        bl_log(BL_LOG_INFO, "model swap: %s -> %s", note->text, note->path);
        reply(rep, "ok", NULL, bl_pipeline_conf(s->pipe)->instances[stage], 0, 0, 0);
    }
    free(cmd);
}

/* Answers one request from a client. */
static void serve_request(service *s, void *rep)
{
    bl_frames frames = {0};
    bl_msg_header hdr;
    bl_note *note = bl_xcalloc(1, sizeof *note);
    bl_err err = {0};
    int rc = bl_msg_recv(rep, &frames, 1 << 20, ZMQ_DONTWAIT, &err);
    if (rc == BL_EAGAIN)
        goto done;
    if (rc == BL_OK)
        rc = bl_msg_decode_note(&frames, &hdr, note, &err);
    if (rc) {
        reply(rep, "error", err.msg, 0, 0, 0, 0);
        goto done;
    }
    if (strcmp(note->kind, "feed") == 0) {
        if (s->draining) {
            reply(rep, "error", "the pipeline is going down", 0, 0, 0, 0);
        } else {
            uint64_t id = bl_tracker_add(&s->tracker, note->path, note->batch);
            bl_log(BL_LOG_INFO, "queued %s batch=%s", note->path, note->batch);
            reply(rep, "ok", NULL, (int64_t)id, 0, 0, 0);
        }
    } else if (strcmp(note->kind, "status") == 0) {
        int64_t outstanding = 0, stored = 0, failed = 0, dups = 0;
        for (size_t i = 0; i < s->tracker.count; i++) {
            const bl_tracker_doc *d = &s->tracker.docs[i];
            if (note->batch[0] && strcmp(d->batch, note->batch) != 0)
                continue;
            outstanding += !d->complete;
            stored += d->stored;
            failed += d->failed;
            dups += d->duplicates;
        }
        reply(rep, "status", s->draining ? "draining" : "up", outstanding,
              stored, failed, dups);
    } else if (strcmp(note->kind, "swap") == 0) {
        serve_swap(s, rep, note);
    } else if (strcmp(note->kind, "swap-status") == 0) {
        int stage = bl_stage_from_name(note->text);
        int64_t n = 0, ok = 0, failed = 0;
        const char *reason = "";
        const bl_conf *conf = bl_pipeline_conf(s->pipe);
        for (int i = 0; stage > BL_STAGE_FRONT && i < conf->instances[stage]; i++) {
            const bl_pipeline_model *m = bl_pipeline_model_of(s->pipe, stage, i);
            n++;
            ok += m->swap == BL_SWAP_OK;
            if (m->swap == BL_SWAP_FAILED) {
                failed++;
                reason = reason[0] ? reason : m->swap_reason;
            }
        }
        reply(rep, "swap-status", reason, n, ok, failed, 0);
    } else if (strcmp(note->kind, "models") == 0) {
        char text[BL_NOTE_TEXT_MAX] = "";
        size_t len = 0;
        const bl_conf *conf = bl_pipeline_conf(s->pipe);
        for (int st = BL_STAGE_INGEST; st < BL_STAGE_COUNT; st++)
            for (int i = 0; i < conf->instances[st]; i++) {
                const bl_pipeline_model *m = bl_pipeline_model_of(s->pipe, st, i);
                int k = snprintf(text + len, sizeof text - len, "%s %d %s\n",
                                 bl_stage_name((bl_stage_id)st), i,
                                 m->model[0] ? m->model : "-");
                if (k < 0 || (size_t)k >= sizeof text - len)
                    break;
                len += (size_t)k;
            }
        reply(rep, "models", text, 0, 0, 0, 0);
    } else if (strcmp(note->kind, "down") == 0) {
        s->draining = 1;
        bl_log(BL_LOG_INFO, "going down: %zu files outstanding",
               bl_tracker_outstanding(&s->tracker));
        reply(rep, "ok", NULL, (int64_t)getpid(), 0, 0, 0);
    } else {
        reply(rep, "error", "unknown request", 0, 0, 0, 0);
    }
done:
    bl_frames_free(&frames);
    free(note);
}

/* Picks up settled files of the hot folder. */
static void watch_tick(service *s, uint64_t now)
{
    bl_err err = {0};
    if (bl_watch_scan(&s->watch, now, &err)) {
        bl_log(BL_LOG_WARN, "hot folder: %s", err.msg);
        return;
    }
    bl_watch_file *f;
    while ((f = bl_watch_next_ready(&s->watch))) {
        bl_tracker_add(&s->tracker, f->path, s->watch_batch);
        bl_watch_fed(f);
        bl_log(BL_LOG_INFO, "hot folder: picked up %s", f->path);
    }
}

/* Moves a completed hot-folder file to done or quarantine. */
static void watch_settle(service *s, const bl_tracker_doc *d)
{
    bl_watch_file *f = bl_watch_find(&s->watch, d->path);
    if (!f || f->state != BL_WATCH_IN_FLIGHT)
        return;
    char where[8300];
    bl_err err = {0};
    if (bl_watch_settle(&s->watch, f, d->failed, d->transient, d->reason,
                        bl_time_mono_ns(), where, sizeof where, &err))
        bl_log(BL_LOG_ERROR, "hot folder: %s (will try again)", err.msg);
    else
        bl_log(d->failed ? BL_LOG_WARN : BL_LOG_INFO, "hot folder: %s -> %s",
               d->path, where);
}

static int serve(service *s, void *rep)
{
    bl_msg_header hdr;
    bl_note *note = bl_xcalloc(1, sizeof *note);
    bl_err err = {0};
    uint64_t next_scan = 0;
    int status = 0;
    for (;;) {
        while (s->fed < s->tracker.count) {
            const bl_tracker_doc *d = &s->tracker.docs[s->fed];
            int rc = bl_pipeline_feed(s->pipe, s->fed + 1, d->batch, d->path, &err);
            if (rc == BL_EAGAIN)
                break;
            if (rc) {
                bl_log(BL_LOG_ERROR, "feeding %s: %s", d->path, err.msg);
                status = 3;
                goto done;
            }
            bl_tracker_fed(&s->tracker, s->fed + 1, bl_time_mono_ns());
            s->fed++;
        }
        int rc = bl_pipeline_next_event(s->pipe, 50, &hdr, note, &err);
        if (rc < 0 && strstr(err.msg, "interrupted by signal")) {
            /* SIGINT/SIGTERM: drain like `blotter down`. */
            if (!s->draining)
                bl_log(BL_LOG_INFO, "%s: draining %zu files", err.msg,
                       bl_tracker_outstanding(&s->tracker));
            s->draining = 1;
        } else if (rc < 0) {
            bl_log(BL_LOG_ERROR, "%s", err.msg);
            status = 3;
            goto done;
        } else if (rc == 1) {
            if (strcmp(note->kind, "restarted") == 0) {
                /* The dead stage's work is lost: feed open files again. */
                bl_log(BL_LOG_WARN, "%s", note->text);
                for (size_t i = 0; i < s->fed; i++)
                    if (!s->tracker.docs[i].complete)
                        refeed(s, i + 1);
                continue;
            }
            bl_tracker_doc *d = bl_tracker_apply(&s->tracker, note,
                                                 bl_time_mono_ns());
            if (d && strcmp(note->kind, "done") == 0 &&
                note->num[2] == BL_SETTLED_FAILED)
                bl_log(BL_LOG_WARN, "refused: %s", note->text);
            if (d && d->complete && s->watching)
                watch_settle(s, d);
        }
        serve_request(s, rep);
        uint64_t now = bl_time_mono_ns();
        bl_pipeline_progress prog;
        bl_tracker_progress(&s->tracker, (now - s->started_ns) / 1e9, &prog);
        bl_pipeline_set_progress(s->pipe, &prog);
        uint64_t stalled = bl_tracker_stalled(&s->tracker, now, s->retry_ns);
        if (stalled) {
            bl_tracker_doc *d = &s->tracker.docs[stalled - 1];
            if (d->feeds >= MAX_FEEDS) {
                bl_log(BL_LOG_ERROR, "%s: no outcome after %d tries; giving up "
                       "on it", d->path, d->feeds);
                bl_tracker_abandon(&s->tracker, stalled,
                                   "no outcome from the pipeline");
                if (s->watching)
                    watch_settle(s, d);
            } else {
                bl_log(BL_LOG_WARN, "%s: no outcome for %llu s; feeding it again",
                       d->path, (unsigned long long)(s->retry_ns / 1000000000ull));
                refeed(s, stalled);
            }
        }
        if (s->watching && !s->draining && now >= next_scan) {
            watch_tick(s, now);
            next_scan = now + 1000000000ull;
        }
        if (s->draining && bl_tracker_outstanding(&s->tracker) == 0)
            break;
    }
done:
    free(note);
    return status;
}

static void usage_up(FILE *out)
{
    fprintf(out,
            "usage: blotter up [--config FILE] [--db FILE] [--watch DIR "
            "[--done DIR] [--quarantine DIR] [--batch NAME]]\n"
            "  Starts the pipeline and keeps it running until `blotter down`,\n"
            "  SIGINT or SIGTERM (which let work in flight finish first).\n"
            "  Feed it with `blotter feed PATH...`.\n"
            "  --watch DIR       hot folder: process scans written into DIR\n"
            "  --done DIR        where processed files go (default DIR/done)\n"
            "  --quarantine DIR  where refused files go, with a .reason.txt\n"
            "                    beside each (default DIR/quarantine)\n"
            "  --batch NAME      batch of the hot folder's files\n"
            "                    (default watch-YYYYMMDD-HHMMSS)\n");
}

int bl_cmd_up(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"db", required_argument, NULL, 'd'},
        {"watch", required_argument, NULL, 'w'},
        {"done", required_argument, NULL, 'D'},
        {"quarantine", required_argument, NULL, 'Q'},
        {"batch", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    service_opts o = {0};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "c:d:w:D:Q:b:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o.config = optarg; break;
        case 'd': o.db = optarg; break;
        case 'w': o.watch = optarg; break;
        case 'D': o.done = optarg; break;
        case 'Q': o.quarantine = optarg; break;
        case 'b': o.batch = optarg; break;
        case 'h': usage_up(stdout); return 0;
        default: usage_up(stderr); return 2;
        }
    }
    if (optind < argc || ((o.done || o.quarantine || o.batch) && !o.watch)) {
        usage_up(stderr);
        return 2;
    }

    bl_conf conf;
    char config_path[BL_PATH_MAX], ep[BL_ENDPOINT_MAX + 16];
    bl_err err = {0};
    if (bl_service_conf(o.config, &conf, config_path, sizeof config_path, &err)) {
        fprintf(stderr, "blotter up: %s\n", err.msg);
        return 2;
    }
    bl_log_init("front", -1, conf.log_level, conf.log_file, NULL);
    service s = {0};
    s.retry_ns = (uint64_t)conf.retry_timeout_s * 1000000000ull;
    s.started_ns = bl_time_mono_ns();
    if (o.watch) {
        if (bl_watch_init(&s.watch, o.watch, o.done, o.quarantine, &err)) {
            fprintf(stderr, "blotter up: --watch: %s\n", err.msg);
            return 2;
        }
        s.watching = 1;
        if (o.batch)
            bl_strlcpy(s.watch_batch, o.batch, sizeof s.watch_batch);
        else
            default_batch(s.watch_batch, sizeof s.watch_batch, "watch");
    }

    /* Refuse to start twice on one runtime directory. */
    front_endpoint(&conf, ep, sizeof ep);
    char sock_path[BL_PATH_MAX + 16];
    snprintf(sock_path, sizeof sock_path, "%s/front", conf.runtime_dir);
    if (access(sock_path, F_OK) == 0) {
        fprintf(stderr, "blotter up: a pipeline is already up in %s (or one "
                "died: remove %s)\n", conf.runtime_dir, sock_path);
        bl_watch_free(&s.watch);
        return 2;
    }

    const char *db_path = o.db ? o.db : conf.database;
    s.pipe = bl_pipeline_start(&conf, config_path, db_path, &err);
    if (!s.pipe) {
        fprintf(stderr, "blotter up: the pipeline did not start: %s\n", err.msg);
        bl_watch_free(&s.watch);
        return 3;
    }
    void *ctx = zmq_ctx_new();
    void *rep = zmq_socket(ctx, ZMQ_REP);
    int linger = 0;
    zmq_setsockopt(rep, ZMQ_LINGER, &linger, sizeof linger);
    int status;
    if (zmq_bind(rep, ep) != 0) {
        fprintf(stderr, "blotter up: bind %s: %s\n", ep, zmq_strerror(errno));
        status = 3;
    } else {
        chmod(sock_path, 0600);
        fprintf(stderr, "blotter up: running; feed with `blotter feed PATH...`, "
                "stop with `blotter down`%s%s\n", s.watching ? "; watching " : "",
                s.watching ? s.watch.dir : "");
        status = serve(&s, rep);
    }
    zmq_close(rep);
    zmq_ctx_term(ctx);
    unlink(sock_path);
    bl_pipeline_stage_stats stats[BL_STAGE_COUNT];
    if (bl_pipeline_stop(&s.pipe, stats, &err)) {
        fprintf(stderr, "blotter up: %s\n", err.msg);
        status = 3;
    }
    fprintf(stderr, "blotter up: stopped: %zu files, %lld pages stored, %lld "
            "failed, %lld duplicates\n", s.tracker.count,
            (long long)s.tracker.stored, (long long)s.tracker.failed,
            (long long)s.tracker.duplicates);
    bl_tracker_free(&s.tracker);
    bl_watch_free(&s.watch);
    return status;
}

/* ---- the clients -------------------------------------------------------- */

/* Sends one request and waits for its answer. */
int bl_service_request(void *req, const char *kind, const char *path,
                       const char *batch, const char *text, bl_note *answer,
                       bl_err *err)
{
    bl_msg_header hdr = {0};
    hdr.type = BL_MSG_CONTROL;
    hdr.t_sent_ns = bl_time_wall_ns();
    bl_note *note = bl_xcalloc(1, sizeof *note);
    bl_strlcpy(note->kind, kind, sizeof note->kind);
    int rc = BL_OK;
    if ((path && !bl_strlcpy(note->path, path, sizeof note->path)) ||
        (batch && !bl_strlcpy(note->batch, batch, sizeof note->batch)) ||
        (text && !bl_strlcpy(note->text, text, sizeof note->text))) {
        rc = bl_err_set(err, BL_ELIMIT, "%s: path or batch name too long", path);
        goto done;
    }
    bl_frames frames = {0};
    rc = bl_msg_encode_note(&hdr, note, &frames);
    if (rc == BL_OK)
        rc = bl_msg_send(req, &frames, 0, err);
    bl_frames_free(&frames);
    if (rc)
        goto done;
    rc = bl_msg_recv(req, &frames, 1 << 20, 0, err);
    if (rc == BL_OK)
        rc = bl_msg_decode_note(&frames, &hdr, answer, err);
    else if (rc == BL_EAGAIN || rc == BL_EIO)
        rc = bl_err_set(err, BL_EAGAIN, "no answer from the pipeline within %d s",
                        REQUEST_TIMEOUT_MS / 1000);
    bl_frames_free(&frames);
    if (rc == BL_OK && strcmp(answer->kind, "error") == 0)
        rc = bl_err_set(err, BL_EINVAL, "%s", answer->text);
done:
    free(note);
    return rc;
}

/* Connects a REQ socket to the running service, or says why it cannot. */
void *bl_service_connect(void *ctx, const char *config, const char *cmd,
                           bl_conf *conf)
{
    char config_path[BL_PATH_MAX], ep[BL_ENDPOINT_MAX + 16], sock_path[BL_PATH_MAX + 16];
    bl_err err = {0};
    if (bl_service_conf(config, conf, config_path, sizeof config_path, &err)) {
        fprintf(stderr, "blotter %s: %s\n", cmd, err.msg);
        return NULL;
    }
    snprintf(sock_path, sizeof sock_path, "%s/front", conf->runtime_dir);
    if (access(sock_path, F_OK) != 0) {
        fprintf(stderr, "blotter %s: no pipeline is up (nothing at %s; start "
                "one with `blotter up`)\n", cmd, sock_path);
        return NULL;
    }
    front_endpoint(conf, ep, sizeof ep);
    void *req = zmq_socket(ctx, ZMQ_REQ);
    int timeout = REQUEST_TIMEOUT_MS, linger = 0;
    zmq_setsockopt(req, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(req, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(req, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(req, ep) != 0) {
        fprintf(stderr, "blotter %s: connect %s: %s\n", cmd, ep, zmq_strerror(errno));
        zmq_close(req);
        return NULL;
    }
    return req;
}

static void usage_feed(FILE *out)
{
    fprintf(out,
            "usage: blotter feed [--config FILE] [--batch NAME] [--wait] PATH...\n"
            "  Submits the scans in the given files and folders (- reads paths\n"
            "  from standard input) to the pipeline started by `blotter up`.\n"
            "  --batch NAME  batch name (default: batch-YYYYMMDD-HHMMSS)\n"
            "  --wait        wait until the batch is stored, then report it\n");
}

int bl_cmd_feed(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"batch", required_argument, NULL, 'b'},
        {"wait", no_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *batch_opt = NULL;
    int wait = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "c:b:wh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'b': batch_opt = optarg; break;
        case 'w': wait = 1; break;
        case 'h': usage_feed(stdout); return 0;
        default: usage_feed(stderr); return 2;
        }
    }
    if (optind >= argc) {
        usage_feed(stderr);
        return 2;
    }
    bl_err err = {0};
    bl_inputs inputs = {0};
    for (int i = optind; i < argc; i++)
        if (strcmp(argv[i], "-") == 0
                ? bl_inputs_add_list(&inputs, stdin, "standard input", &err)
                : bl_inputs_add(&inputs, argv[i], &err)) {
            fprintf(stderr, "blotter feed: %s\n", err.msg);
            bl_inputs_free(&inputs);
            return 2;
        }
    char batch[256];
    if (batch_opt)
        bl_strlcpy(batch, batch_opt, sizeof batch);
    else
        default_batch(batch, sizeof batch, "batch");

    bl_conf conf;
    void *ctx = zmq_ctx_new();
    void *req = bl_service_connect(ctx, config, "feed", &conf);
    int status = req ? 0 : 3;
    bl_note *answer = bl_xcalloc(1, sizeof *answer);
    for (size_t i = 0; req && i < inputs.count; i++) {
        /* The service resolves nothing: give it absolute paths. */
        char abs[BL_PATH_MAX];
        if (!realpath(inputs.paths[i], abs)) {
            fprintf(stderr, "blotter feed: %s: %s\n", inputs.paths[i], strerror(errno));
            status = 2;
            break;
        }
        if (bl_service_request(req, "feed", abs, batch, NULL, answer, &err)) {
            fprintf(stderr, "blotter feed: %s: %s\n", inputs.paths[i], err.msg);
            status = 3;
            break;
        }
    }
    if (status == 0)
        printf("fed %zu files to batch %s\n", inputs.count, batch);
    while (status == 0 && wait) {
        if (bl_service_request(req, "status", NULL, batch, NULL, answer, &err)) {
            fprintf(stderr, "blotter feed: %s\n", err.msg);
            status = 3;
            break;
        }
        if (answer->num[0] == 0) {
            printf("batch %s: %lld pages stored, %lld refused, %lld duplicates\n",
                   batch, (long long)answer->num[1], (long long)answer->num[2],
                   (long long)answer->num[3]);
            break;
        }
        usleep(200000);
    }
    free(answer);
    if (req)
        zmq_close(req);
    zmq_ctx_term(ctx);
    bl_inputs_free(&inputs);
    return status;
}

int bl_cmd_down(int argc, char **argv)
{
    const char *config = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else {
            fprintf(stderr, "usage: blotter down [--config FILE]\n"
                    "  Stops the pipeline started by `blotter up` once the work "
                    "in flight is stored.\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    bl_conf conf;
    bl_err err = {0};
    void *ctx = zmq_ctx_new();
    void *req = bl_service_connect(ctx, config, "down", &conf);
    int status = req ? 0 : 3;
    bl_note *answer = bl_xcalloc(1, sizeof *answer);
    if (req && bl_service_request(req, "down", NULL, NULL, NULL, answer, &err)) {
        fprintf(stderr, "blotter down: %s\n", err.msg);
        status = 3;
    }
    if (status == 0) {
        /* Wait for the service to finish its work in flight and exit. */
        pid_t pid = (pid_t)answer->num[0];
        while (pid > 0 && kill(pid, 0) == 0)
            usleep(100000);
        printf("pipeline down\n");
    }
    free(answer);
    if (req)
        zmq_close(req);
    zmq_ctx_term(ctx);
    return status;
}
