/*
 * blotter run: one batch, start to finish.
 *
 * Starts the stages, feeds every file, and counts outcomes: ingest tells
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
 * file still without outcome after MAX_FEEDS feeds is given up and
 * reported, so the run never hangs.
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

/* A file is fed at most this often before the run gives up on it. */
#define MAX_FEEDS 3

typedef struct run_opts {
    const char *config;
    const char *db;
    const char *batch;
    int json;
    int strict;
    int quiet;
} run_opts;

/* Feeds document id again. A full ingest queue only delays it: the stall
 * check will come back to it. */
static void refeed(bl_pipeline *pipe, bl_tracker *tracker, uint64_t id,
                   const char *batch)
{
    bl_err err = {0};
    const bl_tracker_doc *d = &tracker->docs[id - 1];
    int rc = bl_pipeline_feed(pipe, id, batch, d->path, &err);
    if (rc != BL_OK && rc != BL_EAGAIN)
        fprintf(stderr, "blotter run: feeding %s again: %s\n", d->path, err.msg);
    bl_tracker_fed(tracker, id, bl_time_mono_ns());
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
    size_t done = t->complete, total = t->count;
    int filled = total ? (int)(WIDTH * done / total) : 0;
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '#' : '-';
    bar[WIDTH] = '\0';
    int64_t pages = t->stored + t->duplicates + t->failed;
    char eta[32] = "--";
    if (done > 0 && done < total) {
        double left = secs / (double)done * (double)(total - done);
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
                          const bl_pipeline_stage_stats *stats)
{
    double pps = secs > 0 ? sum->pages / secs : 0;
    if (o->json) {
        json_t *root = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
                                 "s:I, s:f, s:f}",
                                 "batch", batch, "files", (json_int_t)files,
                                 "files_refused", (json_int_t)refused,
                                 "pages", (json_int_t)sum->pages,
                                 "duplicate_pages", (json_int_t)duplicates,
                                 "fields", (json_int_t)sum->fields,
                                 "digits", (json_int_t)sum->digits,
                                 "flagged", (json_int_t)sum->flagged,
                                 "errors", (json_int_t)sum->errors,
                                 "seconds", secs, "pages_per_second", pps);
        json_t *stages = json_object();
        for (int s = BL_STAGE_INGEST; s < BL_STAGE_COUNT; s++) {
            const bl_stage_stats *t = &stats[s].sum;
            double busy = t->busy_ns / 1e9;
            json_object_set_new(
                stages, bl_stage_name((bl_stage_id)s),
                json_pack("{s:i, s:I, s:I, s:I, s:f, s:f, s:f}", "instances",
                          stats[s].instances, "items_in", (json_int_t)t->items_in,
                          "items_out", (json_int_t)t->items_out, "errors",
                          (json_int_t)t->errors, "busy_seconds", busy,
                          "cpu_seconds", t->cpu_ns / 1e9, "items_per_busy_second",
                          busy > 0 ? t->items_in / busy : 0.0));
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
    printf("pages     %lld stored, %lld errors recorded, %lld duplicates not "
           "stored again\n", (long long)sum->pages, (long long)sum->errors,
           (long long)duplicates);
    printf("fields    %lld (%lld flagged for review)\n", (long long)sum->fields,
           (long long)sum->flagged);
    printf("digits    %lld\n", (long long)sum->digits);
    printf("time      %.2f s (%.2f pages/s)\n", secs, pps);
    printf("\n%-9s %5s %8s %8s %8s %10s %7s\n", "stage", "inst", "in", "out",
           "busy s", "items/s", "errors");
    for (int s = BL_STAGE_INGEST; s < BL_STAGE_COUNT; s++) {
        const bl_stage_stats *t = &stats[s].sum;
        double busy = t->busy_ns / 1e9;
        printf("%-9s %5d %8lld %8lld %8.2f %10.1f %7lld\n",
               bl_stage_name((bl_stage_id)s), stats[s].instances,
               (long long)t->items_in, (long long)t->items_out, busy,
               busy > 0 ? t->items_in / busy : 0.0, (long long)t->errors);
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

    uint64_t t0 = bl_time_mono_ns();
    bl_pipeline *pipe = bl_pipeline_start(&conf, config_path, db_path, &err);
    if (!pipe) {
        fprintf(stderr, "blotter run: the pipeline did not start: %s\n", err.msg);
        bl_inputs_free(&inputs);
        return 3;
    }

    bl_tracker tracker = {0};
    for (size_t i = 0; i < inputs.count; i++)
        bl_tracker_add(&tracker, inputs.paths[i], batch);
    size_t fed = 0, refused = 0;
    bl_msg_header hdr;
    bl_note *note = bl_xcalloc(1, sizeof *note);
    status = 0;

    uint64_t retry_ns = (uint64_t)conf.retry_timeout_s * 1000000000ull;
    while (bl_tracker_outstanding(&tracker) > 0) {
        /* Feed as far as ingest accepts; its queue is the backpressure. */
        while (fed < inputs.count) {
            int rc = bl_pipeline_feed(pipe, fed + 1, batch, inputs.paths[fed], &err);
            if (rc == BL_EAGAIN)
                break;
            if (rc) {
                fprintf(stderr, "\nblotter run: %s\n", err.msg);
                status = 3;
                goto stop;
            }
            bl_tracker_fed(&tracker, fed + 1, bl_time_mono_ns());
            fed++;
        }
        int rc = bl_pipeline_next_event(pipe, fed < inputs.count ? 20 : 500,
                                        &hdr, note, &err);
        if (rc < 0) {
            fprintf(stderr, "\nblotter run: %s\n", err.msg);
            status = 3;
            goto stop;
        }
        uint64_t now = bl_time_mono_ns();
        if (rc == 1 && strcmp(note->kind, "restarted") == 0) {
            /* Whatever the dead stage held is lost: send every file still
             * open again (storage is idempotent, repeats are ignored). */
            fprintf(stderr, "\nblotter run: %s\n", note->text);
            for (size_t i = 0; i < fed; i++)
                if (!tracker.docs[i].complete)
                    refeed(pipe, &tracker, i + 1, batch);
            continue;
        }
        bl_tracker_doc *d = rc == 1 ? bl_tracker_apply(&tracker, note, now) : NULL;
        if (d) {
            if (strcmp(note->kind, "done") == 0 && note->num[2] == BL_SETTLED_FAILED) {
                refused += note->num[1] < 0;
                if (!o.quiet)
                    fprintf(stderr, "\nblotter run: refused: %s\n", note->text);
            }
            progress(&o, &tracker, (now - t0) / 1e9);
        }
        bl_pipeline_progress prog;
        bl_tracker_progress(&tracker, (now - t0) / 1e9, &prog);
        bl_pipeline_set_progress(pipe, &prog);
        uint64_t stalled = bl_tracker_stalled(&tracker, now, retry_ns);
        if (stalled) {
            bl_tracker_doc *s = &tracker.docs[stalled - 1];
            if (s->feeds >= MAX_FEEDS) {
                fprintf(stderr, "\nblotter run: %s: no outcome after %d tries; "
                        "giving up on it\n", s->path, s->feeds);
                bl_tracker_abandon(&tracker, stalled, "no outcome from the pipeline");
                refused++;
            } else {
                fprintf(stderr, "\nblotter run: %s: no outcome for %d s; feeding "
                        "it again\n", s->path, conf.retry_timeout_s);
                refeed(pipe, &tracker, stalled, batch);
            }
        }
    }

stop:;
    bl_pipeline_stage_stats stats[BL_STAGE_COUNT];
    bl_err stop_err = {0};
    int unclean = bl_pipeline_stop(&pipe, stats, &stop_err);
    double secs = (bl_time_mono_ns() - t0) / 1e9;
    if (!o.quiet && isatty(STDERR_FILENO))
        fprintf(stderr, "\n");
    if (status == 0) {
        bl_db *db = bl_db_open_readonly(db_path, &err);
        bl_db_batch_summary sum = {0};
        if (!db || bl_db_batch_summary_get(db, batch, &sum, &err)) {
            fprintf(stderr, "blotter run: %s\n", err.msg);
            status = 3;
        } else {
            print_summary(&o, batch, &sum, inputs.count, refused,
                          tracker.duplicates, secs, stats);
            if (o.strict && sum.errors > 0)
                status = 4;
        }
        bl_db_close(&db);
    }
    if (unclean) {
        fprintf(stderr, "blotter run: %s\n", stop_err.msg);
        status = 3;
    }
    free(note);
    bl_tracker_free(&tracker);
    bl_inputs_free(&inputs);
    return status;
}
