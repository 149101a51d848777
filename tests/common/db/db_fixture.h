/*
 * db_fixture: shared helpers for the record store's tests (test_db.c) and
 * the query command's (tests/stages/blotter/test_query.c): a private
 * temporary directory per test, a small hand-built page of work, and
 * capture of stdout/stderr around a front-end command.
 */
#ifndef BL_TEST_DB_FIXTURE_H
#define BL_TEST_DB_FIXTURE_H

#include <stddef.h>

#include "msg/msg.h"

#define FX_MAX_FIELDS 4
#define FX_MAX_DIGITS 32
#define FX_PATH_MAX 512

/* A page built in place, without the msg module's allocators, so these
 * tests do not depend on how bl_work_new grows its arrays. */
typedef struct fx_work {
    bl_work w;
    bl_work_field fields[FX_MAX_FIELDS];
    bl_work_digit digits[FX_MAX_DIGITS];
    double confidence[FX_MAX_FIELDS];
    int needs_review[FX_MAX_FIELDS];
} fx_work;

/* One field per entry of values (digit strings, '?' for an unclassified
 * digit), named "field_<i>" unless names is given. Field i's source box
 * is (100 + 10i, 200 + 10i, 300, 40), its page box (10 + i, 20 + i, 30, 4);
 * its confidence 0.97 - 0.5 * (i % 2), and it needs review when odd. */
void fx_work_init(fx_work *x, const char *batch, const char *source_path,
                  uint32_t page_count, int nfields, const char *const *values,
                  const char *const *names);

/* A fresh private directory (removed with its files by fx_dir_remove);
 * *db_path receives "<dir>/t.db". */
void fx_dir_make(char dir[FX_PATH_MAX], char db_path[FX_PATH_MAX]);
void fx_dir_remove(const char *dir);

/* Runs a command with stdout and stderr captured into new strings
 * (free()); returns its status. */
int fx_run_captured(int (*cmd)(int, char **), int argc, char **argv,
                    char **out, char **errout);

/* Number of rows the SQL (one integer column) counts. */
long long fx_count(const char *db_path, const char *sql);

#endif
