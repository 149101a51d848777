/*
 * service: where the long-running pipeline (`blotter up`) and its clients
 * (`feed`, `down`, `top`, `metrics`) meet.
 */
#ifndef BL_SERVICE_H
#define BL_SERVICE_H

#include <stddef.h>

#include "conf/conf.h"

/* Loads the configuration (--config, else the usual search) and settles the
 * runtime directory: [pipeline] runtime_dir, or else
 * ${XDG_RUNTIME_DIR:-/tmp}/blotter-up-UID. config_path receives the file
 * loaded ("" for the built-in defaults). */
int bl_service_conf(const char *config, bl_conf *conf, char *config_path,
                    size_t path_size, bl_err *err);

#endif
