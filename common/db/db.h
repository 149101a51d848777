/*
 * db: the SQLite record store.
 *
 * Opening a database applies the numbered migrations of schema/ (compiled
 * into the program) that it has not seen yet, tracked with PRAGMA
 * user_version, and switches it to WAL mode. Each page is stored in one
 * transaction, keyed by (batch, source path, page index): storing the same
 * page again replaces its rows, so a replayed message never doubles them.
 * SQLite's message is copied into bl_err at once.
 */
#ifndef BL_DB_H
#define BL_DB_H

#include <stdint.h>

#include "msg/msg.h"
#include "util/util.h"

typedef struct bl_db bl_db;

/* Opens (creating if needed) and migrates. A file whose user_version is
 * newer than this program knows is refused. */
bl_db *bl_db_open(const char *path, bl_err *err);
void bl_db_close(bl_db **self);

/* Latest schema version this program knows. */
int bl_db_schema_version(void);

/* Stores one page and its fields and digits in one transaction.
 * confidence/needs_review per field come from the caller (the review gate):
 * arrays of work->field_count entries. */
int bl_db_store_work(bl_db *self, const bl_work *work,
                     const double *field_confidence,
                     const int *field_needs_review, bl_err *err);

/* Records a failure (a file or page that could not be processed).
 * page_index is -1 when the whole file failed. */
int bl_db_store_error(bl_db *self, const char *batch, const char *source_path,
                      int page_index, const char *stage, const char *message,
                      bl_err *err);

typedef struct bl_db_batch_summary {
    int64_t pages;
    int64_t fields;
    int64_t digits;
    int64_t flagged;  /* fields with needs_review = 1 */
    int64_t errors;
} bl_db_batch_summary;

int bl_db_batch_summary_get(bl_db *self, const char *batch,
                            bl_db_batch_summary *out, bl_err *err);

/* The underlying handle, for read-only queries by the front end. */
struct sqlite3 *bl_db_handle(bl_db *self);

#endif
