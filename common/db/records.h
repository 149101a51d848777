/*
 * records: what the archive's staff do with the store beyond storing
 * pages: the audit trail, the models table and human reviews
 * (schema/004_records.sql, docs/SCHEMA.md).
 *
 * The audit table is append-only (triggers refuse UPDATE and DELETE);
 * every front-end command that reads records out or changes them writes
 * one row: who ($BLOTTER_USER, else the login name), what (the command and
 * its bound parameters as a JSON object) and how many rows.
 */
#ifndef BL_DB_RECORDS_H
#define BL_DB_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

/* Opens an existing blotter database for reading and writing: never
 * creates the file (BL_ENOENT), refuses a file that is not a blotter
 * database, and migrates it like bl_db_open. For front-end commands that
 * must write the audit trail. */
bl_db *bl_db_open_existing(const char *path, bl_err *err);

/* Who is acting: $BLOTTER_USER if set and not empty, else the login name,
 * else the numeric user id ("uid:1000"). Writes into buf (always
 * terminated) and returns it. */
const char *bl_db_audit_who(char *buf, size_t size);

/* Appends an audit row. params_json is a JSON object text (the caller
 * builds it from the same values it binds); row_count < 0 stores NULL. */
int bl_db_audit(bl_db *self, const char *command, const char *params_json,
                int64_t row_count, bl_err *err);

/* Records where a model id came from (stage, file path; the CRC is taken
 * from the id's tail after ':'). Inserts the model or fills in its path. */
int bl_db_model_note(bl_db *self, const char *stage, const char *id,
                     const char *path, bl_err *err);

/* Stores one review of a field: the reviewer's new value (digits only)
 * next to the value they were shown. Refuses a field that does not exist
 * (BL_ENOENT) or a value that is not a non-empty digit string (BL_EINVAL).
 * The machine reading in fields.value is left as it is. */
int bl_db_review_add(bl_db *self, int64_t field_id, const char *reviewer,
                     const char *old_value, const char *new_value,
                     const char *source_file, bl_err *err);

#endif
