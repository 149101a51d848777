/*
 * service: where the long-running pipeline (`blotter up`) and its clients
 * (`feed`, `down`, `top`, `metrics`) meet.
 */
#ifndef BL_SERVICE_H
#define BL_SERVICE_H

#include <stddef.h>

#include "conf/conf.h"
#include "msg/msg.h"

/* Loads the configuration (--config, else the usual search) and settles the
 * runtime directory: [pipeline] runtime_dir, or else
 * ${XDG_RUNTIME_DIR:-/tmp}/blotter-up-UID. config_path receives the file
 * loaded ("" for the built-in defaults). */
int bl_service_conf(const char *config, bl_conf *conf, char *config_path,
                    size_t path_size, bl_err *err);

/* Connects a REQ socket (with a timeout) to the service the configuration
 * names; NULL after printing why not ("blotter CMD: no pipeline is up
 * ..."). conf receives the configuration. */
void *bl_service_connect(void *ctx, const char *config, const char *cmd,
                         bl_conf *conf);

/* Sends one request note (kind; path, batch, text may be NULL) and waits
 * for the answer; an "error" answer becomes BL_EINVAL with its text. */
int bl_service_request(void *req, const char *kind, const char *path,
                       const char *batch, const char *text, bl_note *answer,
                       bl_err *err);

#endif
