/*
 * blm: the model file format shared by every stage (*.blm).
 *
 * A model file is a small fixed header and a checksummed body:
 *
 *   header (24 bytes, little-endian)
 *     0  u8[4]  magic "BLM\x1a"
 *     4  u32    format version (BL_BLM_VERSION)
 *     8  u64    body size in bytes (the rest of the file, exactly)
 *    16  u32    CRC-32 (IEEE) of the body
 *    20  u32    reserved, 0
 *   body
 *     str  kind          stage kind: "classify", "detect", ...
 *     str  arch          architecture spec (see nn/nn.h for the grammar)
 *     u32  n_meta        then n_meta pairs (str key, str value)
 *     u32  n_tensors     then per tensor:
 *          str  name     "conv1.weight"
 *          u32  ndim     1..BL_BLM_MAX_DIMS
 *          u32  dims[ndim]
 *          f32  data[prod(dims)]  little-endian IEEE 754
 *   where str = u32 length + that many bytes (no NUL).
 *
 * Training metadata are string pairs so stages can add keys without a
 * format change; the trainer writes at least data_set, epochs, seed,
 * val_accuracy, test_accuracy, date and recipe.
 *
 * Loading reads the file (bounded by BL_BLM_MAX_FILE), then validates
 * magic, version, exact size, checksum, and every length, count and
 * dimension against the bytes that remain and the limits below before it
 * allocates; a bad file returns NULL with a message naming the file and
 * the reason, never a crash. Whether tensors fit the architecture is the
 * network's check (bl_nn_net_from_blm).
 */
#ifndef BL_BLM_H
#define BL_BLM_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define BL_BLM_VERSION 1u
#define BL_BLM_HEADER_SIZE 24
#define BL_BLM_MAX_FILE (256u << 20)        /* bytes */
#define BL_BLM_MAX_TENSOR_ELEMS (32u << 20) /* floats in one tensor */
#define BL_BLM_MAX_TENSORS 1024
#define BL_BLM_MAX_META 256
#define BL_BLM_MAX_DIMS 4
#define BL_BLM_MAX_NAME 64   /* tensor name and kind, bytes incl. NUL */
#define BL_BLM_MAX_STR 65536 /* arch and metadata strings, bytes */

typedef struct bl_blm_tensor {
    char name[BL_BLM_MAX_NAME];
    int ndim;
    uint32_t dims[BL_BLM_MAX_DIMS];
    size_t count; /* prod(dims) */
    float *data;  /* owned */
} bl_blm_tensor;

typedef struct bl_blm_meta {
    char *key, *value; /* owned */
} bl_blm_meta;

typedef struct bl_blm {
    char kind[BL_BLM_MAX_NAME];
    char *arch; /* owned */
    int n_meta;
    bl_blm_meta *meta;
    int n_tensors;
    bl_blm_tensor *tensors;
    uint32_t crc; /* body checksum as last loaded or saved; 0 before */
} bl_blm;

/* A new empty model of the given kind and architecture (both copied). */
bl_blm *bl_blm_new(const char *kind, const char *arch);
void bl_blm_destroy(bl_blm **self);

/* Adds a tensor (name, shape and data copied). BL_EINVAL on a duplicate
 * name, a name too long, or a bad shape; BL_ELIMIT beyond the limits. */
int bl_blm_add_tensor(bl_blm *self, const char *name, int ndim, const uint32_t *dims,
                      const float *data, bl_err *err);
/* The tensor called name, or NULL. */
const bl_blm_tensor *bl_blm_find(const bl_blm *self, const char *name);

/* Sets (or replaces) a metadata pair; both strings copied. */
void bl_blm_set_meta(bl_blm *self, const char *key, const char *value);
/* The value for key, or NULL. Borrowed. */
const char *bl_blm_get_meta(const bl_blm *self, const char *key);

/* Serialises to a new buffer (caller frees); sets self->crc. */
int bl_blm_encode(bl_blm *self, uint8_t **out, size_t *size, bl_err *err);
/* Writes path atomically (temporary file, fsync, rename). */
int bl_blm_save(bl_blm *self, const char *path, bl_err *err);

/* Parses a model from memory. `name` labels error messages (the path);
 * if expected_kind is non-NULL, a model of another kind is refused:
 * "x.blm: is a 'detect' model, expected 'classify'". */
bl_blm *bl_blm_decode(const uint8_t *data, size_t size, const char *name,
                      const char *expected_kind, bl_err *err);
/* Reads and parses path, as bl_blm_decode. */
bl_blm *bl_blm_load(const char *path, const char *expected_kind, bl_err *err);

#endif
