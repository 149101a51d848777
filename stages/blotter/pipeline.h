/*
 * pipeline: the front end's side of a running pipeline. Starts every stage
 * instance as a child process in a private runtime directory, waits until
 * each has announced itself, feeds files to ingest, receives the stages'
 * events and notices at once when a stage dies.
 */
#ifndef BL_PIPELINE_H
#define BL_PIPELINE_H

#include <stdint.h>

#include "conf/conf.h"
#include "msg/msg.h"
#include "runtime/runtime.h"
#include "util/util.h"

typedef struct bl_pipeline bl_pipeline;

/* Starts the stages described by conf (loaded from config_path, "" for
 * the built-in defaults); db_path overrides the database. Returns NULL with
 * the reason (which stage failed and how) if any stage does not come up
 * within [pipeline] start_timeout. */
bl_pipeline *bl_pipeline_start(const bl_conf *conf, const char *config_path,
                               const char *db_path, bl_err *err);

/* Sends a FEED note for one file; waits (while still receiving events
 * into the queue read by bl_pipeline_next_event) while ingest is busy. */
int bl_pipeline_feed(bl_pipeline *self, uint64_t doc_id, const char *batch,
                     const char *path, bl_err *err);

/* Waits up to timeout_ms for an event. Returns 1 with *hdr and *note set,
 * 0 on timeout, or a negative code if a signal arrived or a stage died more
 * often than [pipeline] max_restarts allows (err says which). A stage that
 * dies within that allowance is started again and reported as an event of
 * kind "restarted" (text says which and how it died): the work it held is
 * lost, and the caller should feed its incomplete files again.
 * While waiting, the stages' once-a-second figures are gathered and
 * published as one JSON snapshot a second on [endpoints] metrics:
 *   {"time": T, "batch": {"files", "files_done", "pages_stored",
 *    "pages_failed", "pages_duplicate", "eta_s"},
 *    "stages": [{"stage", "instance", "items_in", "items_out", "errors",
 *                "busy_s", "rate", "busy_share", "p50_ms", "p95_ms",
 *                "model", "age_s"}],
 *    "malformed_events": N (dropped on the events socket)} */
int bl_pipeline_next_event(bl_pipeline *self, int timeout_ms,
                           bl_msg_header *hdr, bl_note *note, bl_err *err);

/* Per-stage totals from the stages' "stats" events, filled by stop. */
typedef struct bl_pipeline_stage_stats {
    int instances;
    bl_stage_stats sum;
} bl_pipeline_stage_stats;

/* Publishes a control note to every stage (e.g. "swap"). */
int bl_pipeline_control(bl_pipeline *self, const bl_note *note, bl_err *err);

/* What a stage instance runs, as its reports say, and how its last model
 * swap ended. */
typedef enum { BL_SWAP_NONE = 0, BL_SWAP_OK, BL_SWAP_FAILED } bl_swap_state;

typedef struct bl_pipeline_model {
    char model[BL_MODEL_ID_MAX];
    bl_swap_state swap;
    char swap_path[BL_PATH_MAX];
    char swap_reason[256];
} bl_pipeline_model;

/* The entry of instance `instance` of `stage` (instances per the
 * configuration), or NULL. */
const bl_pipeline_model *bl_pipeline_model_of(const bl_pipeline *self,
                                              bl_stage_id stage, int instance);
/* Starts a model swap: forgets the stage's last swap results, and makes
 * path the model its instances are started with from now on (so a stage
 * restarted after the swap runs the new model too). */
void bl_pipeline_swap_begin(bl_pipeline *self, bl_stage_id stage,
                            const char *path);
const bl_conf *bl_pipeline_conf(const bl_pipeline *self);

/* The batch progress included in the published metrics. */
typedef struct bl_pipeline_progress {
    int64_t files, files_done;
    int64_t pages_stored, pages_failed, pages_duplicate;
    double eta_s; /* < 0: unknown */
} bl_pipeline_progress;

void bl_pipeline_set_progress(bl_pipeline *self, const bl_pipeline_progress *p);

/* Asks every stage to stop, waits up to [pipeline] drain_timeout, then
 * terminates what is left and removes the runtime directory. Fills stats
 * (indexed by bl_stage_id) if non-NULL. Accepts NULL. Returns the number
 * of stage processes that did not end cleanly (a non-zero exit status, a
 * crash, or having to be terminated), after naming each in err. */
int bl_pipeline_stop(bl_pipeline **self,
                     bl_pipeline_stage_stats stats[BL_STAGE_COUNT], bl_err *err);

/* The signal that interrupted the last bl_pipeline_next_event (SIGINT,
 * SIGTERM), or 0 if it returned for another reason. */
int bl_pipeline_last_signal(const bl_pipeline *self);

/* Sends a report note (write/report.h) to the writer, with doc_id in
 * its header (0 for none). The writer answers each with a "recorded"
 * event (num[0]: 0 or the failure's code, num[1]: the doc_id), returned by
 * bl_pipeline_next_event like any other; a report to a writer that dies
 * may be lost, so the caller sends again what was not confirmed. Never
 * blocks: BL_EAGAIN when the writer's queue is full (or the writer is
 * down), for the caller to try later; the front end must not wait on a
 * writer that only it can restart. */
int bl_pipeline_report(bl_pipeline *self, uint64_t doc_id, const bl_note *note,
                       bl_err *err);

/* What one stage instance did since the pipeline started, over all its
 * lives (restarts). cpu_s and peak_rss_kb come from /proc for stages this
 * front end started (-1 when unknown); latency is over the instance's
 * last 256 items. */
typedef struct bl_pipeline_figures {
    int64_t items_in, items_out, errors, restarts;
    double busy_s, cpu_s;
    int64_t peak_rss_kb;
    double p50_ms, p95_ms;
} bl_pipeline_figures;

/* Waits (dropping events) until every running instance has reported its
 * counters once more, or timeout_ms: the stages report once a second, so
 * after the last page this makes the figures final. */
void bl_pipeline_sync_figures(bl_pipeline *self, int timeout_ms);
int bl_pipeline_figures_of(const bl_pipeline *self, bl_stage_id stage,
                           int instance, bl_pipeline_figures *out);

/* The directory holding this program, where the stage executables are. */
int bl_pipeline_bin_dir(char *out, size_t out_size, bl_err *err);

#endif
