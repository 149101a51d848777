/*
 * watch: a hot folder. Scans that appear in a folder are picked up once
 * they are complete, and each processed file is moved out: to the done
 * folder when every page was stored, to the quarantine folder (with a
 * <name>.reason.txt beside it) when it was refused. Nothing is deleted and
 * nothing is skipped silently. A file that failed for a passing reason (an
 * I/O error) stays where it is and is tried again later.
 *
 * "Complete" means: its size and modification time have not changed for
 * BL_WATCH_SETTLE_MS. Scanners and copy tools that write under a hidden or
 * temporary name (".name", "name.part", "name.tmp") are covered because
 * only visible .tif/.tiff/.png names are considered.
 */
#ifndef BL_WATCH_H
#define BL_WATCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/util.h"

#define BL_WATCH_SETTLE_MS 2000
#define BL_WATCH_MAX_TRIES 3
#define BL_WATCH_RETRY_MS 30000

typedef enum {
    BL_WATCH_SEEN = 0,   /* present, not yet settled */
    BL_WATCH_READY,      /* settled; to be fed */
    BL_WATCH_IN_FLIGHT,  /* fed; waiting for its outcome */
    BL_WATCH_RETRY,      /* failed for a passing reason; waiting to retry */
    BL_WATCH_GONE        /* moved out (or vanished) */
} bl_watch_state;

typedef struct bl_watch_file {
    char *path;
    int64_t size;
    struct timespec mtime;
    uint64_t stable_since_ns;
    uint64_t retry_at_ns;
    int tries;
    bl_watch_state state;
} bl_watch_file;

typedef struct bl_watch {
    char dir[4096];
    char done_dir[4096];
    char quarantine_dir[4096];
    bl_watch_file *files;
    size_t count, cap;
} bl_watch;

/* Prepares a watch on dir; done/quarantine default to dir/done and
 * dir/quarantine and are created (mode 0750) if missing. */
int bl_watch_init(bl_watch *self, const char *dir, const char *done_dir,
                  const char *quarantine_dir, bl_err *err);
void bl_watch_free(bl_watch *self);

/* Looks at the folder (not recursively; the done and quarantine folders are
 * never scanned). Files that have settled become READY, and files whose
 * retry time has come become READY again. now_ns is a monotonic time. */
int bl_watch_scan(bl_watch *self, uint64_t now_ns, bl_err *err);

/* The next READY file (NULL if none); the caller feeds it and marks it with
 * bl_watch_fed. */
bl_watch_file *bl_watch_next_ready(bl_watch *self);
void bl_watch_fed(bl_watch_file *file);

/* Settles a fed file: moved to done (failed == 0), left for a retry
 * (transient failure with tries left), or moved to quarantine with the
 * reason written beside it. *where receives the new path or a note. */
int bl_watch_settle(bl_watch *self, bl_watch_file *file, int64_t failed,
                    int transient, const char *reason, uint64_t now_ns,
                    char *where, size_t where_size, bl_err *err);

/* Finds the entry for a path (NULL if not watched). */
bl_watch_file *bl_watch_find(bl_watch *self, const char *path);

#endif
