/*
 * blotter run: one batch, start to finish.
 *
 * Starts the stages, feeds the files (a few pages' worth ahead of the
 * writer, see PAGES_IN_FLIGHT_PER_PROCESS), and counts outcomes: ingest tells
 * how many pages each file has (a file it refuses counts as one outcome),
 * and the writer reports each page as stored or failed. The batch is done
 * when every file's outcomes are in; then the stages are stopped and a
 * summary is printed from the database.
 *
 * Processing is at-least-once: a stage that dies is restarted (up to
 * [pipeline] max_restarts) and every open file is fed again, as is a file
 * with no outcome for [pipeline] retry_timeout; storage is idempotent and
 * repeated outcomes are ignored, so nothing is lost and nothing doubled.
 * A stage that keeps dying ends the run with an error naming it, and a
 * file that stalls (no outcome for retry_timeout) until it has been fed
 * MAX_FEEDS times is given up and
 * reported, so the run never hangs.
 *
 * Each file whose outcomes are all in is reported to the writer with its
 * identity (size, modification time, hash of its bytes), which stores it
 * in batch_files; at the end the front end reports what every stage
 * instance did (stage_stats) and waits until the writer has stored it
 * all. Running a batch again resumes it: a file settled by an earlier run,
 * unchanged, with all its stored pages still there and no passing failure
 * is skipped.
 *
 * SIGINT or SIGTERM stops the feeding; the files in flight are finished
 * and stored, the statistics written, then the stages stop and the run
 * exits with 128 + the signal's number. A second signal stops at once.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blotter/commands.h"
#include "blotter/inputs.h"
#include "blotter/pipeline.h"
#include "blotter/tracker.h"
#include "db/db.h"
#include "db/stats.h"
#include "write/report.h"

/* A file is fed at most this often before the run gives up on it. */
#define MAX_FEEDS 3

/* Pages in flight (fed, not yet settled) per stage process, and files fed
 * but not yet opened per ingest process. Enough to keep every stage busy
 * with a few items queued before it, and ingest with its next file at
 * hand; more would only fill the queues, and all the work in flight is to
 * be redone when a stage dies and waited for when the run is stopped. */
#define PAGES_IN_FLIGHT_PER_PROCESS 4
#define UNOPENED_PER_INGEST 2

typedef struct run_opts {
    const char *config;
    const char *db;
    const char *batch;
    int json;
    int strict;
    int quiet;
} run_opts;

/* Documents to feed again, in order; they go before new files, as far as
 * ingest's queue takes them. */
typedef struct refeed_queue {
    uint64_t *ids;
    size_t head, tail, cap;
} refeed_queue;

static void refeed_push(refeed_queue *q, uint64_t id)
{
    if (q->tail == q->cap) {
        if (q->head > 0) {
            memmove(q->ids, q->ids + q->head, (q->tail - q->head) * sizeof *q->ids);
            q->tail -= q->head;
            q->head = 0;
        } else {
            q->cap = q->cap ? 2 * q->cap : 64;
            q->ids = bl_xrealloc(q->ids, q->cap * sizeof *q->ids);
        }
    }
    q->ids[q->tail++] = id;
}

/* Feeds queued documents again while ingest takes them. Returns BL_OK, or
 * an error other than a full queue. */
static int refeed_some(bl_pipeline *pipe, bl_tracker *tracker, refeed_queue *q,
                       bl_err *err)
{
    while (q->head < q->tail) {
        uint64_t id = q->ids[q->head];
        bl_tracker_doc *d = &tracker->docs[id - 1];
        if (!d->complete) {
            int rc = bl_pipeline_feed(pipe, id, d->batch, d->path, err);
            if (rc == BL_EAGAIN)
                return BL_OK;
            if (rc)
                return rc;
            bl_tracker_fed(tracker, id, bl_time_mono_ns());
        }
        q->head++;
    }
    return BL_OK;
}

/* Files this batch settled in an earlier run, unchanged since and with
 * their stored pages all there, are skipped. Returns how many. */
static size_t resume(const char *db_path, const char *batch, bl_tracker *tracker)
{
    bl_err err = {0};
    if (access(db_path, F_OK) != 0)
        return 0;
    bl_db *db = bl_db_open_readonly(db_path, &err);
    if (!db)
        return 0; /* the writer will say what is wrong with it */
    bl_db_file_record *rec = bl_xcalloc(1, sizeof *rec);
    bl_db_file_record *now = bl_xcalloc(1, sizeof *now);
    for (size_t i = 0; i < tracker->count; i++) {
        const char *path = tracker->docs[i].path;
        int64_t present = 0;
        if (bl_db_file_get(db, batch, path, rec, &present, &err) != BL_OK ||
            rec->retry || present != rec->stored ||
            bl_db_file_identity(path, now, &err) != BL_OK ||
            now->size != rec->size || now->mtime_ns != rec->mtime_ns ||
            now->hash != rec->hash)
            continue;
        bl_tracker_skip(tracker, i + 1, rec->stored + rec->duplicates + rec->failed);
    }
    free(rec);
    free(now);
    bl_db_close(&db);
    return tracker->skipped;
}

/* Tells the writer document id is settled, with the file's identity, so
 * that a later run of the batch can skip it. A file given up on is not
 * settled: a later run tries it again. */
static void report_settled(bl_pipeline *pipe, const bl_tracker *tracker,
                           uint64_t id)
{
    const bl_tracker_doc *d = &tracker->docs[id - 1];
    if (d->abandoned || d->skipped || d->recorded)
        return;
    bl_err err = {0};
    bl_db_file_record *rec = bl_xcalloc(1, sizeof *rec);
    bl_note *note = bl_xcalloc(1, sizeof *note);
    if (bl_db_file_identity(d->path, rec, &err) == BL_OK) {
        bl_strlcpy(rec->batch, d->batch, sizeof rec->batch);
        bl_strlcpy(rec->source_path, d->path, sizeof rec->source_path);
        rec->stored = d->stored;
        rec->duplicates = d->duplicates;
        rec->failed = d->failed;
        rec->retry = d->transient;
        bl_report_file_note(note, rec);
        /* Not sent now (the writer is busy or down): sent again at the end. */
        int rc = bl_pipeline_report(pipe, id, note, &err);
        if (rc != BL_OK && rc != BL_EAGAIN)
            fprintf(stderr, "\nblotter run: %s: not recorded as settled: %s\n",
                    d->path, err.msg);
    }
    free(note);
    free(rec);
}

/* Applies a "recorded" answer of the writer; returns 1 for the answer to
 * a stage-stats report. */
static int take_recorded(bl_tracker *tracker, const bl_note *note)
{
    if (note->num[0] != 0)
        fprintf(stderr, "\nblotter run: the writer did not store a report: %s\n",
                note->text);
    uint64_t id = (uint64_t)note->num[1];
    if (id == 0)
        return 1;
    if (id <= tracker->count)
        tracker->docs[id - 1].recorded = 1; /* a failure is not retried */
    return 0;
}

/* Settled files the writer has not confirmed (lost with a writer that
 * died, or not sent because the file could not be read again). */
static size_t unrecorded(const bl_tracker *tracker)
{
    size_t n = 0;
    for (size_t i = 0; i < tracker->count; i++) {
        const bl_tracker_doc *d = &tracker->docs[i];
        n += d->complete && !d->abandoned && !d->skipped && !d->recorded;
    }
    return n;
}

/* Sends what every stage instance did for the batch, for each instance
 * whose flag in pending is set, clearing it once sent; returns how many
 * went out. */
static int send_stats(bl_pipeline *pipe, const bl_conf *conf, const char *batch,
                      uint64_t started_ns, uint64_t finished_ns,
                      int64_t peak_kb[BL_STAGE_COUNT],
                      uint8_t pending[BL_STAGE_COUNT][BL_MAX_INSTANCES])
{
    bl_note *note = bl_xcalloc(1, sizeof *note);
    bl_err err = {0};
    int sent = 0;
    for (int s = BL_STAGE_INGEST; s < BL_STAGE_COUNT; s++)
        for (int i = 0; i < conf->instances[s] && i < BL_MAX_INSTANCES; i++) {
            bl_pipeline_figures f;
            if (!pending[s][i] ||
                bl_pipeline_figures_of(pipe, (bl_stage_id)s, i, &f) != BL_OK)
                continue;
            if (f.peak_rss_kb > peak_kb[s])
                peak_kb[s] = f.peak_rss_kb;
            bl_db_stage_stats row = {
                .batch = batch, .stage = bl_stage_name((bl_stage_id)s),
                .instance = i, .items_in = f.items_in, .items_out = f.items_out,
                .errors = f.errors, .restarts = f.restarts, .busy_s = f.busy_s,
                .cpu_s = f.cpu_s, .peak_rss_kb = f.peak_rss_kb,
                .p50_ms = f.p50_ms, .p95_ms = f.p95_ms,
                .started_ns = started_ns, .finished_ns = finished_ns};
            bl_report_stats_note(note, &row);
            if (bl_pipeline_report(pipe, 0, note, &err) == BL_OK) {
                pending[s][i] = 0;
                sent++;
            }
        }
    free(note);
    return sent;
}

/* The end of a batch: reports what every stage instance did, sends again
 * the settled files the writer has not confirmed, and waits (up to
 * [pipeline] drain_timeout) until the writer has stored it all, sending
 * what is still unconfirmed again once a second (a writer that died may
 * have lost it; a full queue refused it). Statistics are sent once each:
 * stored twice, they would count twice. */
static int report_batch(bl_pipeline *pipe, const bl_conf *conf,
                        bl_tracker *tracker, const char *batch,
                        uint64_t started_ns, uint64_t finished_ns,
                        int64_t peak_kb[BL_STAGE_COUNT], bl_err *err)
{
    bl_pipeline_sync_figures(pipe, 2500);
    bl_msg_header hdr;
    bl_note *note = bl_xcalloc(1, sizeof *note);
    uint8_t pending[BL_STAGE_COUNT][BL_MAX_INSTANCES];
    memset(pending, 1, sizeof pending);
    int rc = BL_OK, stats_wanted = 0, stats_got = 0;
    uint64_t now = bl_time_mono_ns(), next_send = now;
    uint64_t deadline = now + (uint64_t)conf->drain_timeout_s * 1000000000ull;
    for (;;) {
        now = bl_time_mono_ns();
        if (now >= next_send) {
            stats_wanted += send_stats(pipe, conf, batch, started_ns, finished_ns,
                                       peak_kb, pending);
            for (size_t i = 0; i < tracker->count; i++)
                if (tracker->docs[i].complete)
                    report_settled(pipe, tracker, i + 1);
            next_send = now + 1000000000ull;
        }
        int stats_left = 0;
        for (int s = BL_STAGE_INGEST; s < BL_STAGE_COUNT; s++)
            for (int i = 0; i < conf->instances[s] && i < BL_MAX_INSTANCES; i++)
                stats_left += pending[s][i];
        if (stats_left == 0 && stats_got >= stats_wanted && unrecorded(tracker) == 0)
            break;
        if (now > deadline) {
            rc = bl_err_set(err, BL_EAGAIN, "the writer did not confirm the "
                            "batch's statistics and %zu settled files within "
                            "%d s", unrecorded(tracker), conf->drain_timeout_s);
            break;
        }
        int got = bl_pipeline_next_event(pipe, 100, &hdr, note, err);
        if (got < 0) {
            rc = got;
            break;
        }
        if (got == 1 && strcmp(note->kind, "recorded") == 0)
            stats_got += take_recorded(tracker, note);
    }
    free(note);
    return rc;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: blotter run [--config FILE] [--db FILE] [--batch NAME] "
            "[--json] [--strict] [--quiet] PATH...\n"
            "  Processes every scan (TIFF, PNG) in the given files and folders\n"
            "  and stores the recognised fields in the database. A PATH of -\n"
            "  reads a list of paths, one per line, from standard input.\n"
            "  --config FILE  pipeline configuration (default: see README)\n"
            "  --db FILE      database (default: [pipeline] database)\n"
            "  --batch NAME   batch name (default: batch-YYYYMMDD-HHMMSS)\n"
            "  --json         print the summary as JSON\n"
            "  --strict       exit 4 if any file or page was refused\n"
            "  --quiet        no progress line\n");
}

/* A progress bar on stderr when it is a terminal: files done, pages,
 * rate, and the time left estimated from the rate of files so far. */
static void progress(const run_opts *o, const bl_tracker *t, double secs)
{
    if (o->quiet || !isatty(STDERR_FILENO))
        return;
    enum { WIDTH = 30 };
    size_t done = t->complete, total = t->count, here = t->complete - t->skipped;
    int filled = total ? (int)(WIDTH * done / total) : 0;
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '#' : '-';
    bar[WIDTH] = '\0';
    int64_t pages = t->stored + t->duplicates + t->failed;
    char eta[32] = "--";
    if (here > 0 && done < total) {
        double left = secs / (double)here * (double)(total - done);
        snprintf(eta, sizeof eta, "%dm%02ds", (int)left / 60, (int)left % 60);
    } else if (done == total) {
        snprintf(eta, sizeof eta, "0s");
    }
    fprintf(stderr, "\r[%s] %zu/%zu files  %lld pages  %.1f pages/s  ETA %s   ",
            bar, done, total, (long long)pages, secs > 0 ? pages / secs : 0.0, eta);
}

static void print_summary(const run_opts *o, const char *batch,
                          const bl_db_batch_summary *sum, size_t files,
                          size_t refused, int64_t duplicates, double secs,
                          const bl_pipeline_stage_stats *stats,
                          const int64_t peak_kb[BL_STAGE_COUNT],
                          const bl_tracker *tr, size_t left, int interrupted)
{
    /* The rate is of the pages this run handled, not of those an earlier
     * run of the batch stored. */
    int64_t handled = tr->stored + tr->duplicates + tr->failed;
    double pps = secs > 0 ? handled / secs : 0;
    if (o->json) {
        json_t *root = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
                                 "s:I, s:f, s:f, s:I, s:I, s:I, s:I, s:b, s:f}",
                                 "batch", batch, "files", (json_int_t)files,
                                 "files_refused", (json_int_t)refused,
                                 "pages", (json_int_t)sum->pages,
                                 "duplicate_pages", (json_int_t)duplicates,
                                 "fields", (json_int_t)sum->fields,
                                 "digits", (json_int_t)sum->digits,
                                 "flagged", (json_int_t)sum->flagged,
                                 "errors", (json_int_t)sum->errors,
                                 "seconds", secs, "pages_per_second", pps,
                                 "pages_this_run", (json_int_t)handled,
                                 "files_skipped", (json_int_t)tr->skipped,
                                 "pages_skipped", (json_int_t)tr->skipped_pages,
                                 "files_left", (json_int_t)left,
                                 "interrupted", interrupted,
                                 "front_cpu_seconds", bl_time_cpu_ns() / 1e9);
        json_t *stages = json_object();
        for (int s = BL_STAGE_INGEST; s < BL_STAGE_COUNT; s++) {
            const bl_stage_stats *t = &stats[s].sum;
            double busy = t->busy_ns / 1e9;
            json_object_set_new(
                stages, bl_stage_name((bl_stage_id)s),
                json_pack("{s:i, s:I, s:I, s:I, s:f, s:f, s:f, s:I}", "instances",
                          stats[s].instances, "items_in", (json_int_t)t->items_in,
                          "items_out", (json_int_t)t->items_out, "errors",
                          (json_int_t)t->errors, "busy_seconds", busy,
                          "cpu_seconds", t->cpu_ns / 1e9, "items_per_busy_second",
                          busy > 0 ? t->items_in / busy : 0.0, "peak_rss_kb",
                          (json_int_t)peak_kb[s]));
        }
        json_object_set_new(root, "stages", stages);
        char *text = json_dumps(root, JSON_INDENT(2));
        printf("%s\n", text);
        free(text);
        json_decref(root);
        return;
    }
    printf("batch     %s\n", batch);
    printf("files     %zu (%zu refused)\n", files, refused);
    if (tr->skipped)
        printf("resumed   %zu files (%lld pages) stored by an earlier run, "
               "skipped\n", tr->skipped, (long long)tr->skipped_pages);
    if (interrupted)
        printf("left      %zu files not processed (interrupted)\n", left);
    printf("pages     %lld stored, %lld errors recorded, %lld duplicates not "
           "stored again\n", (long long)sum->pages, (long long)sum->errors,
           (long long)duplicates);
    printf("fields    %lld (%lld flagged for review)\n", (long long)sum->fields,
           (long long)sum->flagged);
    printf("digits    %lld\n", (long long)sum->digits);
    printf("time      %.2f s (%.2f pages/s, %lld pages this run)\n", secs, pps,
           (long long)handled);
    printf("\n%-9s %5s %8s %8s %8s %10s %7s %9s\n", "stage", "inst", "in", "out",
           "busy s", "items/s", "errors", "peak MiB");
    for (int s = BL_STAGE_INGEST; s < BL_STAGE_COUNT; s++) {
        const bl_stage_stats *t = &stats[s].sum;
        double busy = t->busy_ns / 1e9;
        printf("%-9s %5d %8lld %8lld %8.2f %10.1f %7lld %9.1f\n",
               bl_stage_name((bl_stage_id)s), stats[s].instances,
               (long long)t->items_in, (long long)t->items_out, busy,
               busy > 0 ? t->items_in / busy : 0.0, (long long)t->errors,
               peak_kb[s] / 1024.0);
    }
}

static int parse(int argc, char **argv, run_opts *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"db", required_argument, NULL, 'd'},
        {"batch", required_argument, NULL, 'b'},
        {"json", no_argument, NULL, 'j'},
        {"strict", no_argument, NULL, 's'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "c:d:b:jsqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'd': o->db = optarg; break;
        case 'b': o->batch = optarg; break;
        case 'j': o->json = 1; break;
        case 's': o->strict = 1; break;
        case 'q': o->quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "blotter run: no input paths\n");
        usage(stderr);
        return 2;
    }
    return -1;
}

int bl_cmd_run(int argc, char **argv)
{
    run_opts o = {0};
    int status = parse(argc, argv, &o);
    if (status >= 0)
        return status;

    bl_err err = {0};
    bl_conf conf;
    char config_path[BL_PATH_MAX];
    bl_conf_defaults(&conf);
    bl_conf_locate(o.config, config_path, sizeof config_path);
    if (config_path[0] && bl_conf_load(&conf, config_path, &err)) {
        fprintf(stderr, "blotter run: %s\n", err.msg);
        return 2;
    }
    const char *db_path = o.db ? o.db : conf.database;

    bl_inputs inputs = {0};
    for (int i = optind; i < argc; i++)
        if (strcmp(argv[i], "-") == 0
                ? bl_inputs_add_list(&inputs, stdin, "standard input", &err)
                : bl_inputs_add(&inputs, argv[i], &err)) {
            fprintf(stderr, "blotter run: %s\n", err.msg);
            bl_inputs_free(&inputs);
            return 2;
        }
    if (inputs.count == 0) {
        fprintf(stderr, "blotter run: no TIFF or PNG files in the given paths\n");
        bl_inputs_free(&inputs);
        return 2;
    }

    char batch[256];
    if (o.batch) {
        bl_strlcpy(batch, o.batch, sizeof batch);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(batch, sizeof batch, "batch-%Y%m%d-%H%M%S", &tm);
    }

    bl_tracker tracker = {0};
    for (size_t i = 0; i < inputs.count; i++)
        bl_tracker_add(&tracker, inputs.paths[i], batch);
    size_t skipped = resume(db_path, batch, &tracker);
    if (skipped && !o.quiet)
        fprintf(stderr, "blotter run: resuming batch %s: %zu of %zu files were "
                "stored by an earlier run\n", batch, skipped, inputs.count);

    uint64_t t0 = bl_time_mono_ns();
    uint64_t started_wall = bl_time_wall_ns();
    bl_pipeline *pipe = bl_pipeline_start(&conf, config_path, db_path, &err);
    if (!pipe) {
        fprintf(stderr, "blotter run: the pipeline did not start: %s\n", err.msg);
        bl_tracker_free(&tracker);
        bl_inputs_free(&inputs);
        return 3;
    }

    size_t next = 0, refused = 0;
    int64_t window = 0;
    for (int s = BL_STAGE_INGEST; s < BL_STAGE_COUNT; s++)
        window += PAGES_IN_FLIGHT_PER_PROCESS * conf.instances[s];
    int64_t unopened_max = UNOPENED_PER_INGEST * conf.instances[BL_STAGE_INGEST];
    refeed_queue queue = {0};
    double secs = 0;
    int64_t peak_kb[BL_STAGE_COUNT] = {0};
    int interrupted = 0; /* the signal that stopped the feeding */
    bl_msg_header hdr;
    bl_note *note = bl_xcalloc(1, sizeof *note);
    status = 0;

    uint64_t retry_ns = (uint64_t)conf.retry_timeout_s * 1000000000ull;
    for (;;) {
        if (interrupted ? bl_tracker_in_flight(&tracker) == 0
                        : bl_tracker_outstanding(&tracker) == 0)
            break;
        /* Feed while the work in flight is under its window and ingest
         * accepts; files to feed again go first. */
        int rc = refeed_some(pipe, &tracker, &queue, &err);
        int full = queue.head < queue.tail; /* ingest's queue refused one */
        while (rc == BL_OK && !interrupted && next < inputs.count &&
               queue.head == queue.tail && tracker.pages_in_flight < window &&
               tracker.unannounced < unopened_max) {
            if (tracker.docs[next].complete) { /* skipped: stored before */
                next++;
                continue;
            }
            rc = bl_pipeline_feed(pipe, next + 1, batch, inputs.paths[next], &err);
            if (rc == BL_EAGAIN) {
                rc = BL_OK;
                full = 1;
                break;
            }
            if (rc == BL_OK)
                bl_tracker_fed(&tracker, ++next, bl_time_mono_ns());
        }
        if (rc) {
            fprintf(stderr, "\nblotter run: %s\n", err.msg);
            status = 3;
            goto stop;
        }
        /* An event wakes us at once; only a full ingest queue, which
         * sends none when it frees up, needs a short look-again. */
        rc = bl_pipeline_next_event(pipe, full ? 20 : 500, &hdr, note, &err);
        if (rc < 0 && bl_pipeline_last_signal(pipe) && !interrupted) {
            /* First signal: finish what is in flight, feed nothing more. */
            interrupted = bl_pipeline_last_signal(pipe);
            if (!o.quiet)
                fprintf(stderr, "\nblotter run: %s: finishing the %zu files in "
                        "flight; a second signal stops at once\n", err.msg,
                        bl_tracker_in_flight(&tracker));
            continue;
        }
        if (rc < 0) {
            fprintf(stderr, "\nblotter run: %s\n", err.msg);
            status = bl_pipeline_last_signal(pipe) ? 128 + bl_pipeline_last_signal(pipe)
                                                   : 3;
            goto stop;
        }
        uint64_t now = bl_time_mono_ns();
        if (rc == 1 && strcmp(note->kind, "restarted") == 0) {
            /* Whatever the dead stage held is lost: send every file still
             * open again (storage is idempotent, repeats are ignored). */
            fprintf(stderr, "\nblotter run: %s\n", note->text);
            for (size_t i = 0; i < next; i++)
                if (!tracker.docs[i].complete && tracker.docs[i].fed_ns)
                    refeed_push(&queue, i + 1);
            continue;
        }
        if (rc == 1 && strcmp(note->kind, "recorded") == 0) {
            take_recorded(&tracker, note);
            continue;
        }
        bl_tracker_doc *d = rc == 1 ? bl_tracker_apply(&tracker, note, now) : NULL;
        if (d) {
            if (strcmp(note->kind, "done") == 0 && note->num[2] == BL_SETTLED_FAILED) {
                refused += note->num[1] < 0;
                if (!o.quiet)
                    fprintf(stderr, "\nblotter run: refused: %s\n", note->text);
            }
            if (d->complete)
                report_settled(pipe, &tracker, (uint64_t)(d - tracker.docs) + 1);
            progress(&o, &tracker, (now - t0) / 1e9);
        }
        bl_pipeline_progress prog;
        bl_tracker_progress(&tracker, (now - t0) / 1e9, &prog);
        bl_pipeline_set_progress(pipe, &prog);
        uint64_t stalled = bl_tracker_stalled(&tracker, now, retry_ns);
        if (stalled) {
            bl_tracker_doc *s = &tracker.docs[stalled - 1];
            /* Feeds after a stage's death do not count: the file did
             * nothing wrong. Only stalls make it suspect. */
            if (s->stalls + 1 >= MAX_FEEDS) {
                fprintf(stderr, "\nblotter run: %s: no outcome after %d tries; "
                        "giving up on it\n", s->path, s->stalls + 1);
                bl_tracker_abandon(&tracker, stalled, "no outcome from the pipeline");
                refused++;
            } else {
                fprintf(stderr, "\nblotter run: %s: no outcome for %d s; feeding "
                        "it again\n", s->path, conf.retry_timeout_s);
                /* Counted as fed now, so the stall check waits a full
                 * timeout again even while the queue holds it back. */
                bl_tracker_fed(&tracker, stalled, now);
                s->stalls++;
                refeed_push(&queue, stalled);
            }
        }
    }
    secs = (bl_time_mono_ns() - t0) / 1e9;
    if (report_batch(pipe, &conf, &tracker, batch, started_wall, bl_time_wall_ns(),
                     peak_kb, &err))
        fprintf(stderr, "\nblotter run: statistics not stored: %s\n", err.msg);
    if (interrupted)
        status = 128 + interrupted;

stop:;
    if (status != 0 && !interrupted)
        secs = (bl_time_mono_ns() - t0) / 1e9;
    bl_pipeline_stage_stats stats[BL_STAGE_COUNT];
    bl_err stop_err = {0};
    int unclean = bl_pipeline_stop(&pipe, stats, &stop_err);
    if (!o.quiet && isatty(STDERR_FILENO))
        fprintf(stderr, "\n");
    if (status == 0 || interrupted) {
        bl_db *db = bl_db_open_readonly(db_path, &err);
        bl_db_batch_summary sum = {0};
        if (!db || bl_db_batch_summary_get(db, batch, &sum, &err)) {
            fprintf(stderr, "blotter run: %s\n", err.msg);
            status = 3;
        } else {
            size_t left = bl_tracker_outstanding(&tracker);
            print_summary(&o, batch, &sum, inputs.count, refused,
                          tracker.duplicates, secs, stats, peak_kb, &tracker, left,
                          interrupted != 0);
            if (interrupted && !o.quiet)
                fprintf(stderr, "blotter run: interrupted: %zu files not "
                        "processed; run the same command again to resume\n", left);
            if (status == 0 && o.strict && sum.errors > 0)
                status = 4;
        }
        bl_db_close(&db);
    }
    if (unclean) {
        fprintf(stderr, "blotter run: %s\n", stop_err.msg);
        status = 3;
    }
    free(queue.ids);
    free(note);
    bl_tracker_free(&tracker);
    bl_inputs_free(&inputs);
    return status;
}
