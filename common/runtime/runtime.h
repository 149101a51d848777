/*
 * runtime: what every stage process shares around its main loop: command
 * line, configuration, signals through a self-pipe, ZeroMQ sockets with
 * their high-water marks and linger, and events to the front end.
 *
 * A stage process is started as
 *   blotter-<stage> [--config F] [--instance N] [--run-dir D] [--db F]
 *                   [--model F]
 * by `blotter run`/`blotter up` or by an operator on another host.
 */
#ifndef BL_RUNTIME_H
#define BL_RUNTIME_H

#include <stdint.h>

#include "conf/conf.h"
#include "msg/msg.h"
#include "secure/secure.h"
#include "util/util.h"

typedef struct bl_stage_args {
    const char *config_path;  /* NULL: bl_conf_locate decides */
    int instance;             /* 0-based */
    const char *run_dir;      /* expands {run} in endpoints */
    const char *db_path;      /* writer only: overrides [pipeline] database */
    const char *model_path;   /* overrides [models] <stage> (a swapped model) */
} bl_stage_args;

/* Parses the stage command line. Returns BL_OK, BL_EINVAL with a message,
 * or 1 when --help was printed (main then exits 0). */
int bl_runtime_parse_args(int argc, char **argv, const char *stage,
                          bl_stage_args *out, bl_err *err);

/* Loads the configuration the arguments name (or locate), checks the
 * instance number against [instances], and starts logging. */
int bl_runtime_setup(const bl_stage_args *args, bl_stage_id stage,
                     bl_conf *conf, bl_err *err);

/* Both of the above, as every stage's main begins: BL_OK to go on, 1 when
 * --help was printed, or an error (main prints err and exits 1). */
int bl_runtime_start(int argc, char **argv, bl_stage_id stage,
                     bl_stage_args *args, bl_conf *conf, bl_err *err);

/* Installs SIGINT/SIGTERM handlers that write to a self-pipe, so that the
 * zmq_poll loop wakes up on a signal. Returns the pipe's read end. */
int bl_runtime_signals_install(bl_err *err);
/* Reads pending signal bytes; returns the last signal number or 0. */
int bl_runtime_signal_take(int fd);

/* A ZeroMQ socket with SNDHWM/RCVHWM from the configuration, linger 0 for
 * PUB/SUB and the configured drain time otherwise; sockets that receive
 * drop a peer that sends a message above [limits] max_message_bytes.
 * NULL on failure. Bind and connect it with bl_secure_bind and
 * bl_secure_connect (common/secure), which apply [security]. */
void *bl_runtime_socket(void *ctx, int type, const bl_conf *conf, bl_err *err);

/* 1 if a process on this host binds `endpoint`: ipc:// and inproc://
 * always; tcp:// when the host is a wildcard, a loopback address, a local
 * interface's name or one of its addresses (a name is resolved first).
 * The front end starts the stage instances whose input is local and waits
 * for the others, which run on their own hosts (docs/DEPLOY.md). */
int bl_runtime_endpoint_is_local(const char *endpoint);

/* Connects `socket` to every instance of `stage` (a PUSH fans out). */
int bl_runtime_connect_stage(void *socket, bl_secure *secure,
                             const bl_conf *conf, bl_stage_id stage,
                             const char *run_dir, bl_err *err);

/* Sends an EVENT note (kind, path, text, numbers) from this stage. The
 * header's `stage` names the sender and its `flags` carry the instance. */
int bl_runtime_send_event(void *socket, bl_stage_id stage, int instance,
                          const char *kind, const char *path,
                          const char *text, const int64_t num[4]);

/* How one outcome of a document settled, in the writer's "done" event
 * (num[0] document id, num[1] page index or -1 for the whole file, num[2]
 * one of these, num[3] the BL_E... code of a failure; text says why). */
typedef enum {
    BL_SETTLED_STORED = 0,
    BL_SETTLED_FAILED = 1,
    BL_SETTLED_DUPLICATE = 2 /* the same scan is stored already */
} bl_settled;

/* Per-stage counters, reported in the "stats" event on exit. */
typedef struct bl_stage_stats {
    int64_t items_in;
    int64_t items_out;
    int64_t errors;       /* malformed messages and failed items */
    uint64_t busy_ns;     /* wall time spent working on items */
    uint64_t cpu_ns;      /* process CPU time at exit */
} bl_stage_stats;

int bl_runtime_send_stats(void *socket, bl_stage_id stage, int instance,
                          const bl_stage_stats *stats);

#endif
