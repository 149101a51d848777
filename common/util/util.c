/*
 * util: error slots, checked allocation, size arithmetic, clocks,
 * little-endian codecs, whole-file reads, hashes.
 */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int bl_err_set(bl_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int bl_err_prefix(bl_err *err, const char *fmt, ...)
{
    if (!err)
        return BL_EINTERNAL;
    char prefix[BL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[BL_ERR_MSG_MAX];
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    return err->code;
}

void bl_err_clear(bl_err *err)
{
    if (err) {
        err->code = BL_OK;
        err->msg[0] = '\0';
    }
}

const char *bl_err_code_name(int code)
{
    switch (code) {
    case BL_OK: return "ok";
    case BL_EINVAL: return "invalid";
    case BL_EIO: return "io";
    case BL_EFORMAT: return "format";
    case BL_ELIMIT: return "limit";
    case BL_EUNSUP: return "unsupported";
    case BL_EDB: return "database";
    case BL_ENOENT: return "not-found";
    case BL_EAGAIN: return "again";
    default: return "internal";
    }
}

static void out_of_memory(size_t size)
{
    fprintf(stderr, "blotter: out of memory allocating %zu bytes\n", size);
    abort();
}

void *bl_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        out_of_memory(size);
    return p;
}

void *bl_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory(count * size);
    return p;
}

void *bl_xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        out_of_memory(size);
    return p;
}

char *bl_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = bl_xmalloc(n);
    memcpy(p, s, n);
    return p;
}

bool bl_size_mul(size_t *out, size_t a, size_t b)
{
    size_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}

bool bl_size_add(size_t *out, size_t a, size_t b)
{
    size_t r;
    if (__builtin_add_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t bl_time_mono_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
uint64_t bl_time_wall_ns(void) { return clock_ns(CLOCK_REALTIME); }
uint64_t bl_time_cpu_ns(void) { return clock_ns(CLOCK_PROCESS_CPUTIME_ID); }

bool bl_strlcpy(char *dst, const char *src, size_t dst_size)
{
    size_t n = strlen(src);
    if (dst_size == 0)
        return n == 0;
    size_t k = n < dst_size - 1 ? n : dst_size - 1;
    memcpy(dst, src, k);
    dst[k] = '\0';
    return k == n;
}

bool bl_snprintf(char *dst, size_t dst_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, dst_size, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < dst_size;
}

void bl_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void bl_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void bl_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

uint16_t bl_get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

uint32_t bl_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

uint64_t bl_get_u64(const uint8_t *p)
{
    return (uint64_t)bl_get_u32(p) | ((uint64_t)bl_get_u32(p + 4) << 32);
}

void bl_put_f32(uint8_t *p, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    bl_put_u32(p, u);
}

float bl_get_f32(const uint8_t *p)
{
    uint32_t u = bl_get_u32(p);
    float v;
    memcpy(&v, &u, 4);
    return v;
}

void bl_put_f64(uint8_t *p, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    bl_put_u64(p, u);
}

double bl_get_f64(const uint8_t *p)
{
    uint64_t u = bl_get_u64(p);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

int bl_file_read_all(const char *path, size_t max_bytes, uint8_t **data,
                     size_t *size, bl_err *err)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return bl_err_set(err, errno == ENOENT ? BL_ENOENT : BL_EIO, "%s: %s",
                          path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return bl_err_set(err, BL_EIO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_bytes) {
        fclose(f);
        return bl_err_set(err, BL_ELIMIT, "%s: %lld bytes exceeds the limit of %zu",
                          path, (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = bl_xmalloc(n + 1);
    size_t got = fread(buf, 1, n, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != n) {
        free(buf);
        return bl_err_set(err, BL_EIO, "%s: short read", path);
    }
    buf[n] = 0;
    *data = buf;
    *size = n;
    return BL_OK;
}

uint64_t bl_hash_fnv1a64(const void *data, size_t size, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (size_t i = 0; i < size; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint32_t bl_crc32(uint32_t crc, const void *data, size_t size)
{
    static uint32_t table[256];
    static bool ready;
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = true;
    }
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < size; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}
