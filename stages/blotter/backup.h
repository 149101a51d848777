/*
 * backup: a consistent copy of a live blotter database with SQLite's
 * online backup API (cmd_backup.c; docs/OPERATIONS.md).
 */
#ifndef BL_BLOTTER_BACKUP_H
#define BL_BLOTTER_BACKUP_H

#include <stdint.h>

#include "util/util.h"

typedef struct bl_backup_stats {
    int64_t pages;          /* database pages copied */
    int64_t page_size;      /* bytes per page */
    int64_t schema_version; /* PRAGMA user_version of the copy */
    int attempts;           /* 1 unless the source was busy at first */
} bl_backup_stats;

/* Copies the database at src_path into dst_path as one consistent
 * snapshot, while other processes (the writer stage) go on writing: the
 * copy is made inside one read transaction, which in WAL mode neither
 * blocks nor is blocked by the writer. The copy is written beside dst_path
 * under a temporary name, checked (PRAGMA quick_check), switched to a
 * plain rollback journal (one self-contained file) and renamed into place,
 * so dst_path is either the old file or a complete checked copy. An
 * existing dst_path is refused unless force is set. src_path must be a
 * blotter database (schema version >= 1). */
int bl_backup_copy(const char *src_path, const char *dst_path, int force,
                   bl_backup_stats *out, bl_err *err);

#endif
