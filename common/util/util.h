/*
 * util: the bottom of the tree. Error reporting, checked allocation,
 * overflow-checked size arithmetic, clocks and small string helpers.
 *
 * Out-of-memory aborts (as redis does): a pipeline stage that cannot
 * allocate a few megabytes has nothing useful left to do, and limping on
 * would only corrupt work. Sizes that come from files or messages are
 * checked with bl_size_mul/bl_size_add and the configured limits *before*
 * they reach an allocator, so an abort here never stems from hostile input.
 */
#ifndef BL_UTIL_H
#define BL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Failure codes. Negative, so functions can return them directly. */
enum {
    BL_OK = 0,
    BL_EINVAL = -1,   /* bad argument or bad value (config, CLI) */
    BL_EIO = -2,      /* read/write failed (file, socket) */
    BL_EFORMAT = -3,  /* malformed or corrupt input (file, message, model) */
    BL_ELIMIT = -4,   /* input exceeds a configured or sanity limit */
    BL_EUNSUP = -5,   /* well-formed but unsupported (compression, type) */
    BL_EDB = -6,      /* database failure */
    BL_ENOENT = -7,   /* no such file, key or record */
    BL_EAGAIN = -8,   /* transient: try again */
    BL_EINTERNAL = -9 /* environment failure (socket, fork, clock) */
};

#define BL_ERR_MSG_MAX 512

/* An error slot filled by the function that failed: the code plus a message
 * naming the object and the reason ("scans/p3.tif: page 2: unsupported
 * compression 7"). Callers may pass NULL when they do not care. */
typedef struct bl_err {
    int code;
    char msg[BL_ERR_MSG_MAX];
} bl_err;

/* Sets err (if non-NULL) and returns code, so callers can write
 * `return bl_err_set(err, BL_EFORMAT, "%s: truncated", path);` */
int bl_err_set(bl_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes an existing message: "ctx: old message". Returns err->code. */
int bl_err_prefix(bl_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void bl_err_clear(bl_err *err);

/* Short name of a code ("format", "limit", ...). */
const char *bl_err_code_name(int code);

/* Checked allocation: abort with a message on out-of-memory. */
void *bl_xmalloc(size_t size);
void *bl_xcalloc(size_t count, size_t size);
void *bl_xrealloc(void *ptr, size_t size);
char *bl_xstrdup(const char *s);

/* *out = a * b (or a + b); false on overflow, *out untouched. */
bool bl_size_mul(size_t *out, size_t a, size_t b);
bool bl_size_add(size_t *out, size_t a, size_t b);

/* Monotonic and wall clocks in nanoseconds; process CPU time in ns. */
uint64_t bl_time_mono_ns(void);
uint64_t bl_time_wall_ns(void);
uint64_t bl_time_cpu_ns(void);

/* Bounded copy that always NUL-terminates; returns false if truncated. */
bool bl_strlcpy(char *dst, const char *src, size_t dst_size);

/* snprintf into a fixed buffer; false if the output did not fit. */
bool bl_snprintf(char *dst, size_t dst_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Little-endian stores and loads, independent of host order and alignment. */
void bl_put_u16(uint8_t *p, uint16_t v);
void bl_put_u32(uint8_t *p, uint32_t v);
void bl_put_u64(uint8_t *p, uint64_t v);
uint16_t bl_get_u16(const uint8_t *p);
uint32_t bl_get_u32(const uint8_t *p);
uint64_t bl_get_u64(const uint8_t *p);
void bl_put_f32(uint8_t *p, float v);
float bl_get_f32(const uint8_t *p);
void bl_put_f64(uint8_t *p, double v);
double bl_get_f64(const uint8_t *p);

/* Reads a whole file (at most max_bytes) into a new buffer. */
int bl_file_read_all(const char *path, size_t max_bytes, uint8_t **data,
                     size_t *size, bl_err *err);

/* FNV-1a 64-bit, for content hashes that need not be cryptographic. */
uint64_t bl_hash_fnv1a64(const void *data, size_t size, uint64_t seed);

/* CRC-32 (IEEE 802.3 polynomial), the checksum of model files. */
uint32_t bl_crc32(uint32_t crc, const void *data, size_t size);

#endif
