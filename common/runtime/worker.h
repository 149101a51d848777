/*
 * worker: the one poll loop every stage runs.
 *
 * The loop binds the stage's input (PULL), connects its output (PUSH, to
 * every instance of the next stage), its events (PUSH, to the front end)
 * and its control channel (SUB), announces itself with a "ready" event and
 * then waits on the signal pipe, the control socket and the input with a
 * one-second tick. Each message is decoded bounds-checked; a malformed one
 * is counted, logged and dropped. Blocking on the output at its high-water
 * mark is the backpressure.
 *
 * Control commands (PUB/SUB from the front end): "stop"; and "swap" (text:
 * the stage name, path: the model file, num[0]: the instance or -1 for
 * all), answered with a "swapped" or "swap-failed" event.
 */
#ifndef BL_WORKER_H
#define BL_WORKER_H

#include "runtime/runtime.h"

typedef struct bl_worker bl_worker;

/* Work handler: process one page in place. Return BL_OK to forward it to
 * the next stage (unless the stage has none or the handler already
 * emitted), or an error (logged and counted; the item is dropped). */
typedef int (*bl_worker_on_work)(bl_worker *self, void *ctx,
                                 const bl_msg_header *hdr, bl_work *work,
                                 bl_err *err);
/* Note handler (FEED to ingest, error notes to the writer). */
typedef int (*bl_worker_on_note)(bl_worker *self, void *ctx,
                                 const bl_msg_header *hdr, const bl_note *note,
                                 bl_err *err);

/* Model swap: loads the model file at path and, only if that succeeds,
 * replaces the stage's model with it; writes the new model's id. Called
 * between two items, so no item sees two models. */
typedef int (*bl_worker_on_swap)(bl_worker *self, void *ctx, const char *path,
                                 char *id, size_t id_size, bl_err *err);

typedef struct bl_worker_spec {
    bl_stage_id stage;
    bl_stage_id next;          /* BL_STAGE_FRONT: no next stage */
    const char *model_id;      /* announced in "ready"; may be "" */
    bl_worker_on_work on_work; /* may be NULL */
    bl_worker_on_note on_note; /* may be NULL */
    bl_worker_on_swap on_swap; /* NULL: the stage has no model to swap */
    void *ctx;
} bl_worker_spec;

/* Runs until a stop command or SIGINT/SIGTERM. Returns 0, or 1 after
 * logging why the sockets could not be set up. */
int bl_worker_run(const bl_worker_spec *spec, const bl_conf *conf,
                  const bl_stage_args *args);

/* From inside a handler: send a work item or a note to the next stage, or
 * an event to the front end. */
int bl_worker_emit_work(bl_worker *self, const bl_msg_header *hdr,
                        const bl_work *work, bl_err *err);
int bl_worker_emit_note(bl_worker *self, const bl_msg_header *hdr,
                        const bl_note *note, bl_err *err);
int bl_worker_event(bl_worker *self, const char *kind, const char *path,
                    const char *text, const int64_t num[4]);

/* Records a failed file or page: sends an "error" note to the writer,
 * which stores it and tells the front end, so nothing is lost silently.
 * page_index -1 means the whole file; code is the BL_E... code, which tells
 * a passing failure (BL_EIO, BL_EAGAIN) from a bad file. In the writer itself, the writer's
 * own handler is called directly. */
int bl_worker_report_error(bl_worker *self, const bl_msg_header *hdr,
                           const char *batch, const char *source_path,
                           int page_index, int code, const char *message);

/* Counters the loop keeps; handlers may add items_out/errors. */
bl_stage_stats *bl_worker_stats(bl_worker *self);

#endif
