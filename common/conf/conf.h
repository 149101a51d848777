/*
 * conf: pipeline.conf, an INI file parsed with libinih.
 *
 * Every key has a default; the shipped pipeline.conf documents each one.
 * Unknown sections or keys and malformed values are errors naming the
 * file, the line and the key ("pipeline.conf:12: [limits] max_page_pixels:
 * not a positive integer: 'ten'"). Relative paths are resolved against the
 * directory of the configuration file.
 */
#ifndef BL_CONF_H
#define BL_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "msg/msg.h"
#include "util/util.h"

#define BL_PATH_MAX 4096
#define BL_ENDPOINT_MAX 512
#define BL_MAX_INSTANCES 64

typedef struct bl_conf {
    char path[BL_PATH_MAX];        /* the file loaded, or "" for defaults */

    /* [pipeline] */
    char database[BL_PATH_MAX];    /* SQLite file; default "blotter.db" */
    char runtime_dir[BL_PATH_MAX]; /* "" = a new private directory per run */
    char log_level[16];            /* debug | info | warn | error */
    char log_file[BL_PATH_MAX];    /* "" = stderr */
    int start_timeout_s;           /* stage start-up deadline; default 30 */
    int drain_timeout_s;           /* graceful stop deadline; default 10 */
    int retry_timeout_s;           /* a file with no outcome for this long is
                                      fed again; default 60 */
    int max_restarts;              /* restarts of one dead stage instance
                                      per run; default 5 */
    int start_local_stages;        /* 1 (default): the front end starts the
                                      instances bound on this host; 0: none,
                                      every stage runs as its own service */
    char templates[BL_PATH_MAX];   /* form template directory (detect);
                                      "" = none; default templates/ in the
                                      source tree */

    /* [endpoints]: ZeroMQ endpoints. "{run}" expands to the runtime
     * directory. Per-stage inputs are bound by the stage instance; see
     * bl_conf_endpoint for how instances get distinct endpoints. */
    char endpoint[BL_STAGE_COUNT][BL_ENDPOINT_MAX]; /* index by bl_stage_id;
                                                       FRONT = events */
    char control_endpoint[BL_ENDPOINT_MAX];
    char metrics_endpoint[BL_ENDPOINT_MAX]; /* PUB of the front end: live
                                               per-stage figures */

    /* [instances] */
    int instances[BL_STAGE_COUNT]; /* 1..64; write is always 1 */

    /* [models]: "" means the stage runs without a model */
    char model[BL_STAGE_COUNT][BL_PATH_MAX];

    /* [limits] */
    uint64_t max_page_pixels;    /* default 100,000,000 */
    uint32_t max_pages_per_file; /* default 10,000 */
    uint64_t max_file_bytes;     /* default 2 GiB */
    uint32_t max_fields_per_page;/* default 256 */
    uint32_t max_digits_per_page;/* default 4096 */
    uint64_t max_message_bytes;  /* default 256 MiB */

    /* [queues] */
    int high_water_mark;         /* messages per socket; default 16 */

    /* [security]: CURVE on tcp:// endpoints (common/secure); key files are
     * made by `blotter keys` */
    int curve;                           /* 0 off (default), 1 on */
    char server_secret_key[BL_PATH_MAX]; /* binding side's secret key file */
    char server_public_key[BL_PATH_MAX]; /* its public key, for connectors */
    char client_secret_key[BL_PATH_MAX]; /* this host's client secret key */
    char authorized_keys[BL_PATH_MAX];   /* directory of admitted client
                                            public keys (*.key) */
} bl_conf;

/* Fills every key with its default (models point at models/ in the source
 * tree the binary was built from). */
void bl_conf_defaults(bl_conf *self);

/* Loads a file over the defaults. */
int bl_conf_load(bl_conf *self, const char *path, bl_err *err);

/* The endpoint instance `instance` of stage `stage` binds (or that peers
 * connect to), with {run} replaced by run_dir. ipc:// endpoints get
 * ".N" appended; tcp:// endpoints get N added to the port. */
int bl_conf_endpoint(const bl_conf *self, bl_stage_id stage, int instance,
                     const char *run_dir, char *out, size_t out_size,
                     bl_err *err);

/* The control (PUB/SUB) endpoint with {run} expanded. */
int bl_conf_control_endpoint(const bl_conf *self, const char *run_dir,
                             char *out, size_t out_size, bl_err *err);

/* The metrics (PUB/SUB) endpoint with {run} expanded. */
int bl_conf_metrics_endpoint(const bl_conf *self, const char *run_dir,
                             char *out, size_t out_size, bl_err *err);

/* Message and image limits derived from [limits]. */
void bl_conf_msg_limits(const bl_conf *self, bl_msg_limits *out);
void bl_conf_image_limits(const bl_conf *self, bl_image_limits *out);

/* Finds the configuration to use: `explicit_path` if non-NULL, else
 * $BLOTTER_CONFIG, else ./pipeline.conf, else the shipped one in the
 * source tree. Writes the chosen path (or "" for built-in defaults). */
void bl_conf_locate(const char *explicit_path, char *out, size_t out_size);

#endif
