/*
 * worker: the stage poll loop (see worker.h). One thread, one zmq_poll:
 * a stage scales by running more instances, not more threads.
 */
#include "worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log/log.h"
#include "metrics/metrics.h"

struct bl_worker {
    const bl_worker_spec *spec;
    const bl_conf *conf;
    const char *run_dir;
    int instance;
    void *ctx;
    bl_secure *secure; /* CURVE on tcp:// ([security]) */
    void *input;
    void *output;
    void *events;
    void *control;
    void *writer; /* PUSH to the writer for error notes; made on first use */
    bl_msg_limits limits;
    bl_stage_stats stats;
    bl_latency latency;
    char model_id[BL_MODEL_ID_MAX]; /* the model in use, after swaps */
    int emitted; /* the handler sent its own output */
};

bl_stage_stats *bl_worker_stats(bl_worker *self) { return &self->stats; }

int bl_worker_emit_work(bl_worker *self, const bl_msg_header *hdr,
                        const bl_work *work, bl_err *err)
{
    if (!self->output)
        return bl_err_set(err, BL_EINTERNAL, "%s has no next stage",
                          bl_stage_name(self->spec->stage));
    bl_msg_header out = *hdr;
    out.type = BL_MSG_WORK;
    out.stage = (uint32_t)self->spec->stage;
    out.field_count = work->field_count;
    out.t_sent_ns = bl_time_wall_ns();
    bl_frames frames = {0};
    int rc = bl_msg_encode_work(&out, work, &frames);
    if (rc)
        bl_err_set(err, rc, "cannot encode work item");
    /* The next stage's socket drops a peer whose frame is above the limit
     * (bl_runtime_socket); say so here instead of losing the page. */
    for (int i = 0; rc == BL_OK && i < frames.count; i++)
        if (frames.frame[i].size > self->limits.max_frame_bytes)
            rc = bl_err_set(err, BL_ELIMIT, "message frame %d is %zu bytes, above "
                            "[limits] max_message_bytes (%zu)", i,
                            frames.frame[i].size, self->limits.max_frame_bytes);
    if (rc == BL_OK)
        rc = bl_msg_send(self->output, &frames, 0, err);
    bl_frames_free(&frames);
    if (rc == BL_OK) {
        self->stats.items_out++;
        self->emitted = 1;
    }
    return rc;
}

int bl_worker_emit_note(bl_worker *self, const bl_msg_header *hdr,
                        const bl_note *note, bl_err *err)
{
    if (!self->output)
        return bl_err_set(err, BL_EINTERNAL, "%s has no next stage",
                          bl_stage_name(self->spec->stage));
    bl_msg_header out = *hdr;
    out.stage = (uint32_t)self->spec->stage;
    out.t_sent_ns = bl_time_wall_ns();
    bl_frames frames = {0};
    int rc = bl_msg_encode_note(&out, note, &frames);
    if (rc)
        bl_err_set(err, rc, "cannot encode note");
    else
        rc = bl_msg_send(self->output, &frames, 0, err);
    bl_frames_free(&frames);
    return rc;
}

int bl_worker_event(bl_worker *self, const char *kind, const char *path,
                    const char *text, const int64_t num[4])
{
    return bl_runtime_send_event(self->events, self->spec->stage,
                                 self->instance, kind, path, text, num);
}

int bl_worker_report_error(bl_worker *self, const bl_msg_header *hdr,
                           const char *batch, const char *source_path,
                           int page_index, int code, const char *message)
{
    bl_err err = {0};
    bl_note *note = bl_xcalloc(1, sizeof *note);
    bl_msg_header out = *hdr;
    out.type = BL_MSG_EVENT;
    out.stage = (uint32_t)self->spec->stage;
    out.t_sent_ns = bl_time_wall_ns();
    bl_strlcpy(note->kind, "error", sizeof note->kind);
    bl_strlcpy(note->batch, batch, sizeof note->batch);
    bl_strlcpy(note->path, source_path, sizeof note->path);
    bl_strlcpy(note->text, message, sizeof note->text);
    note->num[0] = page_index;
    note->num[1] = code;
    int rc;
    if (self->spec->stage == BL_STAGE_WRITE) {
        rc = self->spec->on_note(self, self->spec->ctx, &out, note, &err);
        goto done;
    }
    if (!self->writer) {
        self->writer = bl_runtime_socket(self->ctx, ZMQ_PUSH, self->conf, &err);
        if (!self->writer ||
            bl_runtime_connect_stage(self->writer, self->secure, self->conf,
                                     BL_STAGE_WRITE, self->run_dir, &err)) {
            rc = BL_EINTERNAL;
            goto done;
        }
    }
    bl_frames frames = {0};
    rc = bl_msg_encode_note(&out, note, &frames);
    if (rc == BL_OK)
        rc = bl_msg_send(self->writer, &frames, 0, &err);
    bl_frames_free(&frames);
done:
    if (rc)
        bl_log(BL_LOG_ERROR, "error report for %s lost: %s", source_path, err.msg);
    free(note);
    return rc;
}

static int open_sockets(bl_worker *self, const char *run_dir, bl_err *err)
{
    const bl_conf *conf = self->conf;
    bl_stage_id stage = self->spec->stage;
    char ep[BL_ENDPOINT_MAX];
    int rc;

    self->input = bl_runtime_socket(self->ctx, ZMQ_PULL, conf, err);
    if (!self->input)
        return err->code;
    rc = bl_conf_endpoint(conf, stage, self->instance, run_dir, ep, sizeof ep, err);
    if (rc || (rc = bl_secure_bind(self->secure, self->input, ep, err)))
        return rc;

    if (self->spec->next != BL_STAGE_FRONT) {
        self->output = bl_runtime_socket(self->ctx, ZMQ_PUSH, conf, err);
        if (!self->output)
            return err->code;
        rc = bl_runtime_connect_stage(self->output, self->secure, conf,
                                      self->spec->next, run_dir, err);
        if (rc)
            return rc;
    }

    self->events = bl_runtime_socket(self->ctx, ZMQ_PUSH, conf, err);
    if (!self->events)
        return err->code;
    rc = bl_conf_endpoint(conf, BL_STAGE_FRONT, 0, run_dir, ep, sizeof ep, err);
    if (rc || (rc = bl_secure_connect(self->secure, self->events, ep, err)))
        return rc;

    self->control = bl_runtime_socket(self->ctx, ZMQ_SUB, conf, err);
    if (!self->control)
        return err->code;
    rc = bl_conf_control_endpoint(conf, run_dir, ep, sizeof ep, err);
    if (rc || (rc = bl_secure_connect(self->secure, self->control, ep, err)))
        return rc;
    return BL_OK;
}

/* Handles one input message. Returns nothing: failures are counted and
 * logged here, because one bad item must never stop the stage. */
static void handle_input(bl_worker *self)
{
    const bl_worker_spec *spec = self->spec;
    bl_frames frames = {0};
    bl_msg_header hdr;
    bl_err err = {0};
    bl_work *work = NULL;
    bl_note *note = NULL;

    int rc = bl_msg_recv(self->input, &frames, self->limits.max_frame_bytes,
                         ZMQ_DONTWAIT, &err);
    if (rc == BL_EAGAIN)
        return;
    self->stats.items_in++;
    uint64_t t0 = bl_time_mono_ns();
    if (rc)
        goto bad;
    if (frames.count < 1 ||
        (rc = bl_msg_header_decode(&hdr, frames.frame[0].data,
                                   frames.frame[0].size, &err)))
        goto bad;

    self->emitted = 0;
    if (hdr.type == BL_MSG_WORK && spec->on_work) {
        rc = bl_msg_decode_work(&frames, &self->limits, &hdr, &work, &err);
        if (rc)
            goto bad;
        rc = spec->on_work(self, spec->ctx, &hdr, work, &err);
        if (rc == BL_OK && self->output && !self->emitted)
            rc = bl_worker_emit_work(self, &hdr, work, &err);
        if (rc)
            goto failed;
    } else if (hdr.type != BL_MSG_WORK && spec->on_note) {
        note = bl_xcalloc(1, sizeof *note);
        rc = bl_msg_decode_note(&frames, &hdr, note, &err);
        if (rc)
            goto bad;
        rc = spec->on_note(self, spec->ctx, &hdr, note, &err);
        if (rc)
            goto failed;
    } else {
        rc = bl_err_set(&err, BL_EFORMAT, "unexpected message type %u",
                        (unsigned)hdr.type);
        goto bad;
    }
    goto done;

bad:
    self->stats.errors++;
    bl_log(BL_LOG_WARN, "malformed message dropped: %s", err.msg);
    goto done;
failed:
    self->stats.errors++;
    bl_log(BL_LOG_ERROR, "item failed: %s", err.msg);
    if (work)
        bl_worker_report_error(self, &hdr, work->batch, work->source_path,
                               (int)hdr.page_index, rc, err.msg);
done:
    {
        uint64_t took = bl_time_mono_ns() - t0;
        self->stats.busy_ns += took;
        bl_latency_add(&self->latency, took);
    }
    bl_work_destroy(&work);
    free(note);
    bl_frames_free(&frames);
}

/* The once-a-second report to the front end: cumulative counters in the
 * numbers, latency quantiles and the model in the text. */
static void send_metrics(bl_worker *self)
{
    int64_t num[4] = {self->stats.items_in, self->stats.items_out,
                      self->stats.errors, (int64_t)self->stats.busy_ns};
    char text[256];
    snprintf(text, sizeof text, "p50_ms=%.3f p95_ms=%.3f model=%s",
             bl_latency_quantile_ms(&self->latency, 0.5),
             bl_latency_quantile_ms(&self->latency, 0.95),
             self->model_id[0] ? self->model_id : "-");
    bl_worker_event(self, "metrics", NULL, text, num);
}

/* Swaps the model if the command is for this stage and instance. */
static void handle_swap(bl_worker *self, const bl_note *note)
{
    const bl_worker_spec *spec = self->spec;
    if (strcmp(note->text, bl_stage_name(spec->stage)) != 0 ||
        (note->num[0] >= 0 && note->num[0] != self->instance))
        return;
    bl_err err = {0};
    char id[BL_MODEL_ID_MAX] = "";
    int rc = spec->on_swap
                 ? spec->on_swap(self, spec->ctx, note->path, id, sizeof id, &err)
                 : bl_err_set(&err, BL_EUNSUP, "%s has no model to swap",
                              bl_stage_name(spec->stage));
    if (rc == BL_OK) {
        bl_log(BL_LOG_INFO, "model swapped: %s -> %s (%s)", self->model_id, id,
               note->path);
        bl_strlcpy(self->model_id, id, sizeof self->model_id);
        bl_worker_event(self, "swapped", note->path, id, NULL);
    } else {
        bl_log(BL_LOG_WARN, "model swap refused, keeping %s: %s", self->model_id,
               err.msg);
        bl_worker_event(self, "swap-failed", note->path, err.msg, NULL);
    }
}

/* Returns 1 when the front end asked this stage to stop. */
static int handle_control(bl_worker *self)
{
    bl_frames frames = {0};
    bl_msg_header hdr;
    bl_note *note = bl_xcalloc(1, sizeof *note);
    bl_err err = {0};
    int stop = 0;
    int rc = bl_msg_recv(self->control, &frames, 1 << 20, ZMQ_DONTWAIT, &err);
    if (rc == BL_OK)
        rc = bl_msg_decode_note(&frames, &hdr, note, &err);
    if (rc == BL_OK) {
        if (strcmp(note->kind, "stop") == 0)
            stop = 1;
        else if (strcmp(note->kind, "swap") == 0)
            handle_swap(self, note);
        else
            bl_log(BL_LOG_WARN, "unknown control command '%s' ignored",
                   note->kind);
    } else if (rc != BL_EAGAIN) {
        bl_log(BL_LOG_WARN, "malformed control message dropped: %s", err.msg);
    }
    bl_frames_free(&frames);
    free(note);
    return stop;
}

int bl_worker_run(const bl_worker_spec *spec, const bl_conf *conf,
                  const bl_stage_args *args)
{
    bl_worker self = {.spec = spec, .conf = conf, .instance = args->instance,
                      .run_dir = args->run_dir};
    bl_err err = {0};
    int status = 1;
    bl_conf_msg_limits(conf, &self.limits);

    int sigfd = bl_runtime_signals_install(&err);
    if (sigfd < 0) {
        bl_log(BL_LOG_ERROR, "%s", err.msg);
        return 1;
    }
    self.ctx = zmq_ctx_new();
    if (!self.ctx) {
        bl_log(BL_LOG_ERROR, "zmq_ctx_new: %s", zmq_strerror(errno));
        return 1;
    }
    self.secure = bl_secure_new(self.ctx, conf, &err);
    if (!self.secure || open_sockets(&self, args->run_dir, &err)) {
        bl_log(BL_LOG_ERROR, "%s", err.msg);
        goto done;
    }
    bl_strlcpy(self.model_id, spec->model_id, sizeof self.model_id);
    bl_worker_event(&self, "ready", NULL, self.model_id, NULL);
    bl_log(BL_LOG_DEBUG, "ready model=%s", self.model_id[0] ? self.model_id : "-");

    uint64_t next_report = bl_time_mono_ns() + 1000000000ull;
    for (;;) {
        uint64_t now = bl_time_mono_ns();
        if (now >= next_report) {
            send_metrics(&self);
            next_report = now + 1000000000ull;
        }
        zmq_pollitem_t items[] = {
            {NULL, sigfd, ZMQ_POLLIN, 0},
            {self.control, 0, ZMQ_POLLIN, 0},
            {self.input, 0, ZMQ_POLLIN, 0},
        };
        int n = zmq_poll(items, 3, 1000);
        if (n < 0 && errno != EINTR) {
            bl_log(BL_LOG_ERROR, "zmq_poll: %s", zmq_strerror(errno));
            goto done;
        }
        if (items[0].revents & ZMQ_POLLIN) {
            int sig = bl_runtime_signal_take(sigfd);
            bl_log(BL_LOG_INFO, "signal %d: stopping", sig);
            break;
        }
        if ((items[1].revents & ZMQ_POLLIN) && handle_control(&self)) {
            bl_log(BL_LOG_DEBUG, "stop requested");
            break;
        }
        if (items[2].revents & ZMQ_POLLIN)
            handle_input(&self);
    }
    self.stats.cpu_ns = bl_time_cpu_ns();
    bl_runtime_send_stats(self.events, spec->stage, self.instance, &self.stats);
    bl_log(BL_LOG_DEBUG, "stopped in=%lld out=%lld errors=%lld",
           (long long)self.stats.items_in, (long long)self.stats.items_out,
           (long long)self.stats.errors);
    status = 0;
done:
    if (self.input)
        zmq_close(self.input);
    if (self.output)
        zmq_close(self.output);
    if (self.events)
        zmq_close(self.events);
    if (self.control)
        zmq_close(self.control);
    if (self.writer)
        zmq_close(self.writer);
    bl_secure_destroy(&self.secure);
    zmq_ctx_term(self.ctx);
    return status;
}
