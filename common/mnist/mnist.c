/*
 * mnist: the MNIST handwritten digit sets (LeCun, Bottou, Bengio, Haffner
 * 1998; LeCun, Cortes, Burges) read from their raw IDX files.
 *
 * IDX layout (big-endian): u32 magic 0x00000803 (unsigned bytes, 3 dims)
 * or 0x00000801 (1 dim), then one u32 per dimension, then the data. The
 * reader checks magic, dimensions and that the file holds exactly the
 * bytes the header promises before it allocates anything, so a damaged
 * or hostile file costs an error message and no more.
 *
 * Limits: only the unsigned-byte IDX type; at most BL_MNIST_MAX_COUNT
 * digits of at most 256x256 pixels per file.
 */
#include "mnist/mnist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BL_MNIST_MAX_COUNT 1000000
#define BL_MNIST_MAX_SIDE 256

static const struct {
    const char *name;
    const char *md5;
} mnist_files[4] = {
    {"train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb"},
    {"train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624"},
    {"t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea"},
    {"t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637"},
};

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads one IDX file with `ndim` dimensions (1 for labels, 3 for images).
 * dims[] receives the sizes; *data the payload. */
static int idx_read(const char *path, int ndim, uint32_t dims[3], uint8_t **data,
                    bl_err *err)
{
    *data = NULL;
    int rc = BL_OK;
    uint8_t *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return bl_err_set(err, errno == ENOENT ? BL_ENOENT : BL_EIO, "%s: %s", path,
                          strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = bl_err_set(err, BL_EIO, "%s: not a regular file", path);
        goto done;
    }
    uint8_t head[16];
    size_t head_len = 4 + 4 * (size_t)ndim;
    if (fread(head, 1, head_len, f) != head_len) {
        rc = bl_err_set(err, BL_EFORMAT, "%s: truncated IDX header", path);
        goto done;
    }
    uint32_t magic = get_be32(head);
    uint32_t want = ndim == 3 ? 0x00000803u : 0x00000801u;
    if (magic != want) {
        rc = bl_err_set(err, BL_EFORMAT, "%s: bad IDX magic 0x%08x, expected 0x%08x",
                        path, magic, want);
        goto done;
    }
    size_t payload = 1;
    for (int i = 0; i < ndim; i++) {
        dims[i] = get_be32(head + 4 + 4 * i);
        uint32_t lim = i == 0 ? BL_MNIST_MAX_COUNT : BL_MNIST_MAX_SIDE;
        if (dims[i] == 0 || dims[i] > lim) {
            rc = bl_err_set(err, BL_ELIMIT, "%s: dimension %d is %u (allowed 1..%u)",
                            path, i, dims[i], lim);
            goto done;
        }
        if (!bl_size_mul(&payload, payload, dims[i])) {
            rc = bl_err_set(err, BL_ELIMIT, "%s: size overflow", path);
            goto done;
        }
    }
    if ((uint64_t)st.st_size != head_len + (uint64_t)payload) {
        rc = bl_err_set(err, BL_EFORMAT, "%s: file is %lld bytes, header implies %zu",
                        path, (long long)st.st_size, head_len + payload);
        goto done;
    }
    buf = bl_xmalloc(payload);
    if (fread(buf, 1, payload, f) != payload) {
        rc = bl_err_set(err, BL_EIO, "%s: short read", path);
        goto done;
    }
    *data = buf;
    buf = NULL;
done:
    free(buf);
    fclose(f);
    return rc;
}

bl_mnist *bl_mnist_load(const char *dir, const char *split, bl_err *err)
{
    int which;
    if (split && strcmp(split, "train") == 0)
        which = 0;
    else if (split && strcmp(split, "test") == 0)
        which = 2;
    else {
        bl_err_set(err, BL_EINVAL, "mnist: unknown split '%s' (train or test)",
                   split ? split : "(null)");
        return NULL;
    }
    char ipath[4096], lpath[4096];
    if (!bl_snprintf(ipath, sizeof ipath, "%s/%s", dir, mnist_files[which].name) ||
        !bl_snprintf(lpath, sizeof lpath, "%s/%s", dir, mnist_files[which + 1].name)) {
        bl_err_set(err, BL_EINVAL, "%s: path too long", dir);
        return NULL;
    }
    uint32_t idims[3] = {0}, ldims[3] = {0};
    uint8_t *images = NULL, *labels = NULL;
    if (idx_read(ipath, 3, idims, &images, err) != BL_OK)
        return NULL;
    if (idx_read(lpath, 1, ldims, &labels, err) != BL_OK) {
        free(images);
        return NULL;
    }
    if (ldims[0] != idims[0]) {
        bl_err_set(err, BL_EFORMAT, "%s: %u labels for %u images in %s", lpath, ldims[0],
                   idims[0], ipath);
        goto fail;
    }
    for (uint32_t i = 0; i < ldims[0]; i++) {
        if (labels[i] > 9) {
            bl_err_set(err, BL_EFORMAT, "%s: label %u is %u (expected 0..9)", lpath, i,
                       labels[i]);
            goto fail;
        }
    }
    bl_mnist *self = bl_xcalloc(1, sizeof *self);
    self->count = (int)idims[0];
    self->rows = (int)idims[1];
    self->cols = (int)idims[2];
    self->images = images;
    self->labels = labels;
    return self;
fail:
    free(images);
    free(labels);
    return NULL;
}

void bl_mnist_destroy(bl_mnist **self)
{
    if (!self || !*self)
        return;
    free((*self)->images);
    free((*self)->labels);
    free(*self);
    *self = NULL;
}

int bl_mnist_verify(const char *dir, bl_err *err)
{
    for (int i = 0; i < 4; i++) {
        char path[4096];
        if (!bl_snprintf(path, sizeof path, "%s/%s", dir, mnist_files[i].name))
            return bl_err_set(err, BL_EINVAL, "%s: path too long", dir);
        uint8_t *data;
        size_t size;
        int rc = bl_file_read_all(path, 64u << 20, &data, &size, err);
        if (rc != BL_OK)
            return rc;
        char hex[33];
        bl_md5_hex(data, size, hex);
        free(data);
        if (strcmp(hex, mnist_files[i].md5) != 0)
            return bl_err_set(err, BL_EFORMAT, "%s: MD5 %s, expected %s", path, hex,
                              mnist_files[i].md5);
    }
    return BL_OK;
}

void bl_mnist_default_dir(char *out, size_t out_size)
{
    const char *env = getenv("BLOTTER_DATA");
    if (env && *env)
        bl_snprintf(out, out_size, "%s/mnist", env);
    else
        bl_snprintf(out, out_size, "%s/data/mnist", BL_MNIST_SOURCE_DIR);
}
