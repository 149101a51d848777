/*
 * inputs: collecting the files of a batch (see inputs.h).
 */
#include "inputs.h"

#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static void push(bl_inputs *self, const char *path)
{
    if (self->count == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 64;
        self->paths = bl_xrealloc(self->paths, self->cap * sizeof *self->paths);
    }
    self->paths[self->count++] = bl_xstrdup(path);
}

static int is_scan_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".tif") == 0 || strcasecmp(dot, ".tiff") == 0 ||
                   strcasecmp(dot, ".png") == 0);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_dir(bl_inputs *self, const char *dir, int depth, bl_err *err)
{
    if (depth > 64)
        return bl_err_set(err, BL_ELIMIT, "%s: folders nested too deep", dir);
    DIR *d = opendir(dir);
    if (!d)
        return bl_err_set(err, BL_EIO, "%s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue; /* ., .., and hidden files such as editors' temporaries */
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = bl_xrealloc(names, cap * sizeof *names);
        }
        names[n++] = bl_xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    int rc = BL_OK;
    size_t dlen = strlen(dir);
    int slash = dlen > 0 && dir[dlen - 1] == '/';
    for (size_t i = 0; i < n; i++) {
        size_t len = dlen + strlen(names[i]) + 2;
        char *p = bl_xmalloc(len);
        snprintf(p, len, "%s%s%s", dir, slash ? "" : "/", names[i]);
        struct stat st;
        if (rc == BL_OK && stat(p, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                rc = add_dir(self, p, depth + 1, err);
            else if (S_ISREG(st.st_mode) && is_scan_name(names[i]))
                push(self, p);
            else
                self->skipped++;
        }
        free(p);
        free(names[i]);
    }
    free(names);
    return rc;
}

int bl_inputs_add(bl_inputs *self, const char *path, bl_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return bl_err_set(err, BL_ENOENT, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return add_dir(self, path, 0, err);
    push(self, path);
    return BL_OK;
}

int bl_inputs_add_list(bl_inputs *self, FILE *in, const char *what,
                       bl_err *err)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    int rc = BL_OK;
    while (rc == BL_OK && (n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        rc = bl_inputs_add(self, line, err);
        if (rc)
            bl_err_prefix(err, "%s: line %ld", what, lineno);
    }
    free(line);
    return rc;
}

void bl_inputs_free(bl_inputs *self)
{
    for (size_t i = 0; i < self->count; i++)
        free(self->paths[i]);
    free(self->paths);
    memset(self, 0, sizeof *self);
}
