/*
 * log: one line per event on stderr (or a file):
 *   2026-11-29T08:50:01.123Z detect.0 info  page done  key=value ...
 * Library code does not log; stage mains and the front end do.
 */
#ifndef BL_LOG_H
#define BL_LOG_H

#include "util/util.h"

typedef enum {
    BL_LOG_DEBUG = 0,
    BL_LOG_INFO = 1,
    BL_LOG_WARN = 2,
    BL_LOG_ERROR = 3
} bl_log_level;

/* Sets who is logging and where. `file` NULL or "" means stderr. */
int bl_log_init(const char *stage, int instance, const char *level,
                const char *file, bl_err *err);
/* Parses "debug|info|warn|error"; -1 if unknown. */
int bl_log_level_parse(const char *name);
void bl_log_close(void);

void bl_log(bl_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
