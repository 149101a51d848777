/*
 * db_fixture: see db_fixture.h.
 */
#include "db_fixture.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fx_work_init(fx_work *x, const char *batch, const char *source_path,
                  uint32_t page_count, int nfields, const char *const *values,
                  const char *const *names)
{
    cr_assert(nfields <= FX_MAX_FIELDS);
    memset(x, 0, sizeof *x);
    bl_work *w = &x->w;
    bl_strlcpy(w->batch, batch, sizeof w->batch);
    bl_strlcpy(w->source_path, source_path, sizeof w->source_path);
    w->page_count = page_count;
    w->src_width = 2480;
    w->src_height = 3508;
    w->dpi_x = w->dpi_y = 300.0;
    w->to_source = (bl_transform){1, 0, 0, 0, 1, 0};
    w->rotation_deg = 90.0;
    w->skew_deg = -0.75;
    w->content_hash = 0xfedcba9876543210ull;
    bl_strlcpy(w->model[BL_STAGE_INGEST], "orient-1", BL_MODEL_ID_MAX);
    bl_strlcpy(w->model[BL_STAGE_CLASSIFY], "cnn-3", BL_MODEL_ID_MAX);
    w->fields = x->fields;
    w->digits = x->digits;
    for (int i = 0; i < nfields; i++) {
        bl_work_field *f = &x->fields[i];
        if (names)
            bl_strlcpy(f->name, names[i], sizeof f->name);
        else
            snprintf(f->name, sizeof f->name, "field_%d", i);
        f->src_box = (bl_box){100 + 10 * i, 200 + 10 * i, 300, 40};
        f->box = (bl_box){10 + i, 20 + i, 30, 4};
        f->first_digit = w->digit_count;
        for (const char *v = values[i]; *v; v++) {
            cr_assert(w->digit_count < FX_MAX_DIGITS);
            bl_work_digit *d = &x->digits[w->digit_count++];
            d->cls = *v == '?' ? -1 : *v - '0';
            for (int c = 0; c < 10; c++)
                d->prob[c] = 0.01f;
            if (d->cls >= 0)
                d->prob[d->cls] = 0.91f;
            d->box = (bl_box){(int)f->digit_count * 8, 0, 8, 4};
            f->digit_count++;
        }
        x->confidence[i] = 0.97 - 0.5 * (i % 2);
        x->needs_review[i] = i % 2;
    }
    w->field_count = (uint32_t)nfields;
}

void fx_dir_make(char dir[FX_PATH_MAX], char db_path[FX_PATH_MAX])
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, FX_PATH_MAX, "%s/bl_db_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp");
    snprintf(db_path, FX_PATH_MAX, "%s/t.db", dir);
}

void fx_dir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[FX_PATH_MAX + 256];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static char *read_fd(int fd)
{
    off_t size = lseek(fd, 0, SEEK_END);
    cr_assert(size >= 0);
    char *s = bl_xmalloc((size_t)size + 1);
    cr_assert_eq(pread(fd, s, (size_t)size, 0), size);
    s[size] = '\0';
    return s;
}

static int capture_fd(int target, int *saved)
{
    char name[] = "/tmp/bl_capture_XXXXXX";
    int fd = mkstemp(name);
    cr_assert(fd >= 0);
    unlink(name);
    *saved = dup(target);
    cr_assert(*saved >= 0);
    cr_assert(dup2(fd, target) >= 0);
    return fd;
}

int fx_run_captured(int (*cmd)(int, char **), int argc, char **argv,
                    char **out, char **errout)
{
    int saved_out, saved_err;
    fflush(stdout);
    fflush(stderr);
    int fd_out = capture_fd(STDOUT_FILENO, &saved_out);
    int fd_err = capture_fd(STDERR_FILENO, &saved_err);
    int status = cmd(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
    *out = read_fd(fd_out);
    *errout = read_fd(fd_err);
    close(fd_out);
    close(fd_err);
    return status;
}

long long fx_count(const char *db_path, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_open_v2(db_path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s: %s",
                 sql, sqlite3_errmsg(h));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
    long long n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}
