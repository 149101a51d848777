/*
 * watch: the hot folder (see watch.h). The folder is polled once a second
 * rather than watched with inotify: polling also works on network file
 * systems, where archives' scanners often write, and a second of latency
 * does not matter next to the processing of a page.
 */
#include "watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static int make_dir(const char *path, bl_err *err)
{
    if (mkdir(path, 0750) != 0 && errno != EEXIST)
        return bl_err_set(err, BL_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return bl_err_set(err, BL_EIO, "%s: not a folder", path);
    return BL_OK;
}

int bl_watch_init(bl_watch *self, const char *dir, const char *done_dir,
                  const char *quarantine_dir, bl_err *err)
{
    memset(self, 0, sizeof *self);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return bl_err_set(err, BL_ENOENT, "%s: not a folder", dir);
    bl_strlcpy(self->dir, dir, sizeof self->dir);
    if (!bl_snprintf(self->done_dir, sizeof self->done_dir, "%s",
                     done_dir ? done_dir : "") ||
        !bl_snprintf(self->quarantine_dir, sizeof self->quarantine_dir, "%s",
                     quarantine_dir ? quarantine_dir : ""))
        return bl_err_set(err, BL_ELIMIT, "folder name too long");
    if (!done_dir)
        snprintf(self->done_dir, sizeof self->done_dir, "%s/done", dir);
    if (!quarantine_dir)
        snprintf(self->quarantine_dir, sizeof self->quarantine_dir,
                 "%s/quarantine", dir);
    int rc = make_dir(self->done_dir, err);
    if (rc == BL_OK)
        rc = make_dir(self->quarantine_dir, err);
    return rc;
}

void bl_watch_free(bl_watch *self)
{
    for (size_t i = 0; i < self->count; i++)
        free(self->files[i].path);
    free(self->files);
    memset(self, 0, sizeof *self);
}

bl_watch_file *bl_watch_find(bl_watch *self, const char *path)
{
    for (size_t i = 0; i < self->count; i++)
        if (self->files[i].state != BL_WATCH_GONE &&
            strcmp(self->files[i].path, path) == 0)
            return &self->files[i];
    return NULL;
}

static int is_scan_name(const char *name)
{
    if (name[0] == '.')
        return 0;
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".tif") == 0 || strcasecmp(dot, ".tiff") == 0 ||
                   strcasecmp(dot, ".png") == 0);
}

static bl_watch_file *add_file(bl_watch *self, const char *path)
{
    /* Reuse a slot of a file that is gone, so a long-running watch does not
     * grow with every file it ever saw. */
    for (size_t i = 0; i < self->count; i++)
        if (self->files[i].state == BL_WATCH_GONE) {
            free(self->files[i].path);
            memset(&self->files[i], 0, sizeof self->files[i]);
            self->files[i].path = bl_xstrdup(path);
            return &self->files[i];
        }
    if (self->count == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 32;
        self->files = bl_xrealloc(self->files, self->cap * sizeof *self->files);
    }
    bl_watch_file *f = &self->files[self->count++];
    memset(f, 0, sizeof *f);
    f->path = bl_xstrdup(path);
    return f;
}

int bl_watch_scan(bl_watch *self, uint64_t now_ns, bl_err *err)
{
    DIR *d = opendir(self->dir);
    if (!d)
        return bl_err_set(err, BL_EIO, "%s: %s", self->dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_scan_name(e->d_name))
            continue;
        char path[8192];
        if (!bl_snprintf(path, sizeof path, "%s/%s", self->dir, e->d_name))
            continue;
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        bl_watch_file *f = bl_watch_find(self, path);
        if (!f) {
            f = add_file(self, path);
            f->state = BL_WATCH_SEEN;
        }
        int changed = f->size != (int64_t)st.st_size ||
                      f->mtime.tv_sec != st.st_mtim.tv_sec ||
                      f->mtime.tv_nsec != st.st_mtim.tv_nsec;
        if (changed) {
            f->size = (int64_t)st.st_size;
            f->mtime = st.st_mtim;
            f->stable_since_ns = now_ns;
            /* A file rewritten while it waited starts over. */
            if (f->state == BL_WATCH_READY || f->state == BL_WATCH_RETRY)
                f->state = BL_WATCH_SEEN;
        }
        if (f->state == BL_WATCH_SEEN &&
            now_ns - f->stable_since_ns >= BL_WATCH_SETTLE_MS * 1000000ull)
            f->state = BL_WATCH_READY;
        if (f->state == BL_WATCH_RETRY && now_ns >= f->retry_at_ns)
            f->state = BL_WATCH_READY;
    }
    closedir(d);
    /* Files removed by someone else while waiting are forgotten. */
    for (size_t i = 0; i < self->count; i++) {
        bl_watch_file *f = &self->files[i];
        if (f->state != BL_WATCH_GONE && f->state != BL_WATCH_IN_FLIGHT &&
            access(f->path, F_OK) != 0)
            f->state = BL_WATCH_GONE;
    }
    return BL_OK;
}

bl_watch_file *bl_watch_next_ready(bl_watch *self)
{
    for (size_t i = 0; i < self->count; i++)
        if (self->files[i].state == BL_WATCH_READY)
            return &self->files[i];
    return NULL;
}

void bl_watch_fed(bl_watch_file *file)
{
    file->state = BL_WATCH_IN_FLIGHT;
    file->tries++;
}

/* Moves path into dir under its own name, or name.1, name.2 ... if taken:
 * nothing already in done or quarantine is ever overwritten. */
static int move_into(const char *path, const char *dir, char *dest,
                     size_t dest_size, bl_err *err)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    for (int n = 0; n < 10000; n++) {
        int ok = n == 0 ? bl_snprintf(dest, dest_size, "%s/%s", dir, name)
                        : bl_snprintf(dest, dest_size, "%s/%s.%d", dir, name, n);
        if (!ok)
            return bl_err_set(err, BL_ELIMIT, "%s: path too long", dir);
        /* link() fails if the name exists, so no race can overwrite. */
        if (link(path, dest) == 0) {
            unlink(path);
            return BL_OK;
        }
        if (errno == EEXIST)
            continue;
        /* Another file system: rename cannot overwrite a name we checked. */
        if (errno == EXDEV && access(dest, F_OK) != 0 && rename(path, dest) == 0)
            return BL_OK;
        return bl_err_set(err, BL_EIO, "moving %s to %s: %s", path, dir,
                          strerror(errno));
    }
    return bl_err_set(err, BL_ELIMIT, "%s: too many files named %s", dir, name);
}

int bl_watch_settle(bl_watch *self, bl_watch_file *file, int64_t failed,
                    int transient, const char *reason, uint64_t now_ns,
                    char *where, size_t where_size, bl_err *err)
{
    if (failed == 0) {
        int rc = move_into(file->path, self->done_dir, where, where_size, err);
        file->state = rc == BL_OK ? BL_WATCH_GONE : BL_WATCH_RETRY;
        file->retry_at_ns = now_ns + BL_WATCH_RETRY_MS * 1000000ull;
        return rc;
    }
    if (transient && file->tries < BL_WATCH_MAX_TRIES) {
        file->state = BL_WATCH_RETRY;
        file->retry_at_ns = now_ns + BL_WATCH_RETRY_MS * 1000000ull;
        snprintf(where, where_size, "left in place for try %d of %d",
                 file->tries + 1, BL_WATCH_MAX_TRIES);
        return BL_OK;
    }
    int rc = move_into(file->path, self->quarantine_dir, where, where_size, err);
    if (rc) {
        file->state = BL_WATCH_RETRY;
        file->retry_at_ns = now_ns + BL_WATCH_RETRY_MS * 1000000ull;
        return rc;
    }
    file->state = BL_WATCH_GONE;
    char reason_path[8300];
    snprintf(reason_path, sizeof reason_path, "%s.reason.txt", where);
    FILE *f = fopen(reason_path, "w");
    if (!f)
        return bl_err_set(err, BL_EIO, "%s: %s", reason_path, strerror(errno));
    fprintf(f, "%s\n%lld page(s) or file refused after %d tries; the first "
            "reason:\n%s\n", file->path, (long long)failed, file->tries,
            reason && reason[0] ? reason : "(no reason given)");
    if (fclose(f) != 0)
        return bl_err_set(err, BL_EIO, "%s: %s", reason_path, strerror(errno));
    return BL_OK;
}
