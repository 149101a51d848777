/*
 * blm: reading and writing model files. The layout and its limits are in
 * blm.h. Every read goes through a bounds-checked cursor, so a corrupt
 * length can never index past the buffer, and every count is checked
 * against the bytes left before it sizes an allocation.
 */
#include "blm/blm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const uint8_t blm_magic[4] = {'B', 'L', 'M', 0x1a};

bl_blm *bl_blm_new(const char *kind, const char *arch)
{
    bl_blm *self = bl_xcalloc(1, sizeof *self);
    bl_strlcpy(self->kind, kind ? kind : "", sizeof self->kind);
    self->arch = bl_xstrdup(arch ? arch : "");
    return self;
}

void bl_blm_destroy(bl_blm **self)
{
    if (!self || !*self)
        return;
    bl_blm *m = *self;
    for (int i = 0; i < m->n_meta; i++) {
        free(m->meta[i].key);
        free(m->meta[i].value);
    }
    free(m->meta);
    for (int i = 0; i < m->n_tensors; i++)
        free(m->tensors[i].data);
    free(m->tensors);
    free(m->arch);
    free(m);
    *self = NULL;
}

const bl_blm_tensor *bl_blm_find(const bl_blm *self, const char *name)
{
    for (int i = 0; i < self->n_tensors; i++)
        if (strcmp(self->tensors[i].name, name) == 0)
            return &self->tensors[i];
    return NULL;
}

/* Checks a shape and returns its element count in *count. */
static int check_shape(int ndim, const uint32_t *dims, size_t *count, bl_err *err,
                       const char *what)
{
    if (ndim < 1 || ndim > BL_BLM_MAX_DIMS)
        return bl_err_set(err, BL_EFORMAT, "%s: %d dimensions (allowed 1..%d)", what, ndim,
                          BL_BLM_MAX_DIMS);
    size_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (dims[d] == 0)
            return bl_err_set(err, BL_EFORMAT, "%s: dimension %d is 0", what, d);
        if (!bl_size_mul(&n, n, dims[d]) || n > BL_BLM_MAX_TENSOR_ELEMS)
            return bl_err_set(err, BL_ELIMIT, "%s: more than %u elements", what,
                              BL_BLM_MAX_TENSOR_ELEMS);
    }
    *count = n;
    return BL_OK;
}

int bl_blm_add_tensor(bl_blm *self, const char *name, int ndim, const uint32_t *dims,
                      const float *data, bl_err *err)
{
    if (strlen(name) == 0 || strlen(name) >= BL_BLM_MAX_NAME)
        return bl_err_set(err, BL_EINVAL, "tensor name '%s': length 1..%d", name,
                          BL_BLM_MAX_NAME - 1);
    if (bl_blm_find(self, name))
        return bl_err_set(err, BL_EINVAL, "tensor '%s' added twice", name);
    if (self->n_tensors >= BL_BLM_MAX_TENSORS)
        return bl_err_set(err, BL_ELIMIT, "more than %d tensors", BL_BLM_MAX_TENSORS);
    size_t count;
    int rc = check_shape(ndim, dims, &count, err, name);
    if (rc != BL_OK)
        return rc;
    self->tensors = bl_xrealloc(self->tensors, (size_t)(self->n_tensors + 1) * sizeof *self->tensors);
    bl_blm_tensor *t = &self->tensors[self->n_tensors++];
    memset(t, 0, sizeof *t);
    bl_strlcpy(t->name, name, sizeof t->name);
    t->ndim = ndim;
    memcpy(t->dims, dims, (size_t)ndim * sizeof *dims);
    t->count = count;
    t->data = bl_xmalloc(count * sizeof(float));
    memcpy(t->data, data, count * sizeof(float));
    return BL_OK;
}

void bl_blm_set_meta(bl_blm *self, const char *key, const char *value)
{
    for (int i = 0; i < self->n_meta; i++) {
        if (strcmp(self->meta[i].key, key) == 0) {
            free(self->meta[i].value);
            self->meta[i].value = bl_xstrdup(value);
            return;
        }
    }
    self->meta = bl_xrealloc(self->meta, (size_t)(self->n_meta + 1) * sizeof *self->meta);
    self->meta[self->n_meta].key = bl_xstrdup(key);
    self->meta[self->n_meta].value = bl_xstrdup(value);
    self->n_meta++;
}

const char *bl_blm_get_meta(const bl_blm *self, const char *key)
{
    for (int i = 0; i < self->n_meta; i++)
        if (strcmp(self->meta[i].key, key) == 0)
            return self->meta[i].value;
    return NULL;
}

/* ---- encoding ---------------------------------------------------------- */

typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
} wbuf;

static uint8_t *wbuf_grow(wbuf *w, size_t n)
{
    size_t need;
    if (!bl_size_add(&need, w->len, n))
        abort(); /* sizes here come from our own in-memory model */
    if (need > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < need)
            cap *= 2;
        w->p = bl_xrealloc(w->p, cap);
        w->cap = cap;
    }
    uint8_t *at = w->p + w->len;
    w->len = need;
    return at;
}

static void put_u32(wbuf *w, uint32_t v) { bl_put_u32(wbuf_grow(w, 4), v); }

static void put_str(wbuf *w, const char *s)
{
    size_t n = strlen(s);
    put_u32(w, (uint32_t)n);
    memcpy(wbuf_grow(w, n), s, n);
}

int bl_blm_encode(bl_blm *self, uint8_t **out, size_t *size, bl_err *err)
{
    *out = NULL;
    *size = 0;
    if (strlen(self->arch) >= BL_BLM_MAX_STR)
        return bl_err_set(err, BL_ELIMIT, "architecture string too long");
    if (self->n_meta > BL_BLM_MAX_META)
        return bl_err_set(err, BL_ELIMIT, "more than %d metadata pairs", BL_BLM_MAX_META);
    for (int i = 0; i < self->n_meta; i++)
        if (strlen(self->meta[i].key) >= BL_BLM_MAX_STR ||
            strlen(self->meta[i].value) >= BL_BLM_MAX_STR)
            return bl_err_set(err, BL_ELIMIT, "metadata '%.40s' too long", self->meta[i].key);
    wbuf w = {0};
    wbuf_grow(&w, BL_BLM_HEADER_SIZE);
    put_str(&w, self->kind);
    put_str(&w, self->arch);
    put_u32(&w, (uint32_t)self->n_meta);
    for (int i = 0; i < self->n_meta; i++) {
        put_str(&w, self->meta[i].key);
        put_str(&w, self->meta[i].value);
    }
    put_u32(&w, (uint32_t)self->n_tensors);
    for (int i = 0; i < self->n_tensors; i++) {
        const bl_blm_tensor *t = &self->tensors[i];
        put_str(&w, t->name);
        put_u32(&w, (uint32_t)t->ndim);
        for (int d = 0; d < t->ndim; d++)
            put_u32(&w, t->dims[d]);
        uint8_t *p = wbuf_grow(&w, t->count * 4);
        for (size_t k = 0; k < t->count; k++)
            bl_put_f32(p + 4 * k, t->data[k]);
    }
    size_t body = w.len - BL_BLM_HEADER_SIZE;
    uint32_t crc = bl_crc32(0, w.p + BL_BLM_HEADER_SIZE, body);
    memcpy(w.p, blm_magic, 4);
    bl_put_u32(w.p + 4, BL_BLM_VERSION);
    bl_put_u64(w.p + 8, body);
    bl_put_u32(w.p + 16, crc);
    bl_put_u32(w.p + 20, 0);
    self->crc = crc;
    *out = w.p;
    *size = w.len;
    return BL_OK;
}

int bl_blm_save(bl_blm *self, const char *path, bl_err *err)
{
    uint8_t *buf;
    size_t size;
    int rc = bl_blm_encode(self, &buf, &size, err);
    if (rc != BL_OK)
        return bl_err_prefix(err, "%s", path);
    char tmp[4096];
    if (!bl_snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid())) {
        free(buf);
        return bl_err_set(err, BL_EINVAL, "%s: path too long", path);
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        rc = bl_err_set(err, BL_EIO, "%s: %s", tmp, strerror(errno));
        free(buf);
        return rc;
    }
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(fd, buf + off, size - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = bl_err_set(err, BL_EIO, "%s: write: %s", tmp, strerror(errno));
            break;
        }
        off += (size_t)n;
    }
    free(buf);
    if (rc == BL_OK && fsync(fd) != 0)
        rc = bl_err_set(err, BL_EIO, "%s: fsync: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == BL_OK)
        rc = bl_err_set(err, BL_EIO, "%s: close: %s", tmp, strerror(errno));
    if (rc == BL_OK && rename(tmp, path) != 0)
        rc = bl_err_set(err, BL_EIO, "%s: rename: %s", path, strerror(errno));
    if (rc != BL_OK)
        unlink(tmp);
    return rc;
}

/* ---- decoding ---------------------------------------------------------- */

typedef struct rcur {
    const uint8_t *p;
    size_t left;
} rcur;

static bool get_u32(rcur *c, uint32_t *v)
{
    if (c->left < 4)
        return false;
    *v = bl_get_u32(c->p);
    c->p += 4;
    c->left -= 4;
    return true;
}

/* A string of at most max-1 bytes into a new NUL-terminated buffer. */
static int get_str(rcur *c, size_t max, char **out, const char *name, const char *what,
                   bl_err *err)
{
    uint32_t n;
    if (!get_u32(c, &n))
        return bl_err_set(err, BL_EFORMAT, "%s: %s: truncated", name, what);
    if (n >= max)
        return bl_err_set(err, BL_ELIMIT, "%s: %s: length %u exceeds %zu", name, what, n,
                          max - 1);
    if (n > c->left)
        return bl_err_set(err, BL_EFORMAT, "%s: %s: truncated", name, what);
    if (memchr(c->p, '\0', n))
        return bl_err_set(err, BL_EFORMAT, "%s: %s: contains NUL", name, what);
    char *s = bl_xmalloc((size_t)n + 1);
    memcpy(s, c->p, n);
    s[n] = '\0';
    c->p += n;
    c->left -= n;
    *out = s;
    return BL_OK;
}

bl_blm *bl_blm_decode(const uint8_t *data, size_t size, const char *name,
                      const char *expected_kind, bl_err *err)
{
    if (size < BL_BLM_HEADER_SIZE) {
        bl_err_set(err, BL_EFORMAT, "%s: truncated (%zu bytes, not a model file?)", name,
                   size);
        return NULL;
    }
    if (memcmp(data, blm_magic, 4) != 0) {
        bl_err_set(err, BL_EFORMAT, "%s: not a blotter model file (bad magic)", name);
        return NULL;
    }
    uint32_t version = bl_get_u32(data + 4);
    if (version != BL_BLM_VERSION) {
        bl_err_set(err, BL_EUNSUP, "%s: model format version %u, this build reads %u", name,
                   version, BL_BLM_VERSION);
        return NULL;
    }
    uint64_t body = bl_get_u64(data + 8);
    if (body != size - BL_BLM_HEADER_SIZE) {
        if (body > size - BL_BLM_HEADER_SIZE)
            bl_err_set(err, BL_EFORMAT, "%s: truncated (%zu of %llu body bytes)", name,
                       size - BL_BLM_HEADER_SIZE, (unsigned long long)body);
        else
            bl_err_set(err, BL_EFORMAT, "%s: %zu trailing bytes after the model", name,
                       (size_t)(size - BL_BLM_HEADER_SIZE - body));
        return NULL;
    }
    if (bl_crc32(0, data + BL_BLM_HEADER_SIZE, (size_t)body) != bl_get_u32(data + 16)) {
        bl_err_set(err, BL_EFORMAT, "%s: checksum mismatch (file corrupt)", name);
        return NULL;
    }

    rcur c = {data + BL_BLM_HEADER_SIZE, (size_t)body};
    bl_blm *m = bl_xcalloc(1, sizeof *m);
    char *kind = NULL, *key = NULL, *value = NULL;
    uint32_t n;
    if (get_str(&c, BL_BLM_MAX_NAME, &kind, name, "kind", err) != BL_OK)
        goto fail;
    bl_strlcpy(m->kind, kind, sizeof m->kind);
    free(kind);
    if (expected_kind && strcmp(m->kind, expected_kind) != 0) {
        bl_err_set(err, BL_EINVAL, "%s: is a '%s' model, expected '%s'", name, m->kind,
                   expected_kind);
        goto fail;
    }
    if (get_str(&c, BL_BLM_MAX_STR, &m->arch, name, "architecture", err) != BL_OK)
        goto fail;
    if (!get_u32(&c, &n)) {
        bl_err_set(err, BL_EFORMAT, "%s: metadata: truncated", name);
        goto fail;
    }
    /* Each pair needs at least 8 bytes, which bounds the count by the file. */
    if (n > BL_BLM_MAX_META || (size_t)n * 8 > c.left) {
        bl_err_set(err, BL_ELIMIT, "%s: %u metadata pairs is absurd", name, n);
        goto fail;
    }
    m->meta = bl_xcalloc(n ? n : 1, sizeof *m->meta);
    for (uint32_t i = 0; i < n; i++) {
        if (get_str(&c, BL_BLM_MAX_STR, &key, name, "metadata key", err) != BL_OK ||
            get_str(&c, BL_BLM_MAX_STR, &value, name, "metadata value", err) != BL_OK)
            goto fail;
        m->meta[m->n_meta].key = key;
        m->meta[m->n_meta].value = value;
        m->n_meta++;
        key = value = NULL;
    }
    if (!get_u32(&c, &n)) {
        bl_err_set(err, BL_EFORMAT, "%s: tensor count: truncated", name);
        goto fail;
    }
    /* A tensor needs at least 4+4+4+4 bytes. */
    if (n > BL_BLM_MAX_TENSORS || (size_t)n * 16 > c.left) {
        bl_err_set(err, BL_ELIMIT, "%s: %u tensors is absurd", name, n);
        goto fail;
    }
    m->tensors = bl_xcalloc(n ? n : 1, sizeof *m->tensors);
    for (uint32_t i = 0; i < n; i++) {
        bl_blm_tensor *t = &m->tensors[m->n_tensors];
        char *tname = NULL;
        if (get_str(&c, BL_BLM_MAX_NAME, &tname, name, "tensor name", err) != BL_OK)
            goto fail;
        bl_strlcpy(t->name, tname, sizeof t->name);
        free(tname);
        if (t->name[0] == '\0' || bl_blm_find(m, t->name)) {
            bl_err_set(err, BL_EFORMAT, "%s: tensor %u: empty or duplicate name '%s'", name,
                       i, t->name);
            goto fail;
        }
        uint32_t ndim;
        if (!get_u32(&c, &ndim)) {
            bl_err_set(err, BL_EFORMAT, "%s: tensor '%s': truncated", name, t->name);
            goto fail;
        }
        if (ndim < 1 || ndim > BL_BLM_MAX_DIMS) {
            bl_err_set(err, BL_EFORMAT, "%s: tensor '%s': %u dimensions (allowed 1..%d)",
                       name, t->name, ndim, BL_BLM_MAX_DIMS);
            goto fail;
        }
        t->ndim = (int)ndim;
        for (uint32_t d = 0; d < ndim; d++) {
            if (!get_u32(&c, &t->dims[d])) {
                bl_err_set(err, BL_EFORMAT, "%s: tensor '%s': truncated", name, t->name);
                goto fail;
            }
        }
        char what[BL_BLM_MAX_NAME + 64];
        bl_snprintf(what, sizeof what, "%s: tensor '%s'", name, t->name);
        if (check_shape(t->ndim, t->dims, &t->count, err, what) != BL_OK)
            goto fail;
        if (t->count > c.left / 4) {
            bl_err_set(err, BL_EFORMAT, "%s: tensor '%s': %zu floats but %zu bytes left",
                       name, t->name, t->count, c.left);
            goto fail;
        }
        t->data = bl_xmalloc(t->count * sizeof(float));
        m->n_tensors++;
        for (size_t k = 0; k < t->count; k++)
            t->data[k] = bl_get_f32(c.p + 4 * k);
        c.p += 4 * t->count;
        c.left -= 4 * t->count;
    }
    if (c.left != 0) {
        bl_err_set(err, BL_EFORMAT, "%s: %zu unparsed bytes at the end of the body", name,
                   c.left);
        goto fail;
    }
    m->crc = bl_get_u32(data + 16);
    return m;
fail:
    free(key);
    free(value);
    bl_blm_destroy(&m);
    return NULL;
}

bl_blm *bl_blm_load(const char *path, const char *expected_kind, bl_err *err)
{
    uint8_t *data;
    size_t size;
    if (bl_file_read_all(path, BL_BLM_MAX_FILE, &data, &size, err) != BL_OK)
        return NULL;
    bl_blm *m = bl_blm_decode(data, size, path, expected_kind, err);
    free(data);
    return m;
}
