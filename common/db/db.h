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

/* Opens an existing database for reading only: never creates the file
 * (BL_ENOENT if it is missing), never migrates or changes its journal mode.
 * Refuses a file that is not a blotter database (user_version 0) or whose
 * schema is newer than this program knows. For the front end's queries
 * through bl_db_handle; the store functions fail on such a handle. */
bl_db *bl_db_open_readonly(const char *path, bl_err *err);

/* Latest schema version this program knows. */
int bl_db_schema_version(void);

/* Stores page page_index (0-based) of its source file, with its fields
 * and digits, in one transaction. The index is a parameter because it
 * travels in bl_msg_header, not in bl_work. confidence/needs_review per
 * field come from the review gate: arrays of work->field_count entries.
 * Bad work (an unterminated string, a field whose digits lie outside
 * work->digits, a digit class outside -1..9) is refused with BL_EINVAL
 * before anything is written; a database failure rolls the whole page back
 * (BL_EDB, or BL_EAGAIN when the database stayed locked by another
 * writer). */
int bl_db_store_page(bl_db *self, const bl_work *work, uint32_t page_index,
                     const double *field_confidence,
                     const int *field_needs_review, bl_err *err);

/* A stored page, by its key. */
typedef struct bl_db_page_ref {
    char batch[256];
    char source_path[BL_NOTE_TEXT_MAX];
    int page_index;
} bl_db_page_ref;

/* Looks for a page already stored with the same content hash under
 * another key (another file, page or batch): the same scan fed twice.
 * BL_OK with *out filled if there is one, BL_ENOENT if not, else an error.
 * Storing the same key again is not a duplicate but a replay (see
 * bl_db_store_page). */
int bl_db_find_duplicate(bl_db *self, const bl_work *work, uint32_t page_index,
                         bl_db_page_ref *out, bl_err *err);

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
