/*
 * blm: model files round-trip exactly, and every kind of damaged file is
 * refused with a clear message and without a crash (run this under ASan):
 * truncation at every offset, every single flipped byte, wrong magic,
 * version or kind, absurd counts and sizes behind a valid checksum, and
 * tensors that do not fit the architecture.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blm/blm.h"
#include "nn/nn.h"

#define SPEC "conv2x3-pool-dense4-dense3"

/* A small, valid classify model: SPEC on 1x6x6 inputs. */
static bl_blm *make_model(void)
{
    bl_err err = {0};
    bl_nn_net *net = bl_nn_net_new(SPEC, 1, 6, 6, &err);
    cr_assert_not_null(net, "%s", err.msg);
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 1);
    bl_nn_net_init(net, &rng);
    bl_blm *m = bl_blm_new("classify", bl_nn_net_spec(net));
    bl_blm_set_meta(m, "data_set", "unit test");
    bl_blm_set_meta(m, "test_accuracy", "0.5");
    cr_assert_eq(bl_nn_net_to_blm(net, m, &err), BL_OK, "%s", err.msg);
    bl_nn_net_destroy(&net);
    return m;
}

static uint8_t *encode(bl_blm *m, size_t *size)
{
    uint8_t *buf;
    bl_err err = {0};
    cr_assert_eq(bl_blm_encode(m, &buf, size, &err), BL_OK, "%s", err.msg);
    return buf;
}

/* Rewrites the header's size and checksum after editing the body. */
static void reseal(uint8_t *buf, size_t size)
{
    bl_put_u64(buf + 8, size - BL_BLM_HEADER_SIZE);
    bl_put_u32(buf + 16, bl_crc32(0, buf + BL_BLM_HEADER_SIZE, size - BL_BLM_HEADER_SIZE));
}

Test(blm, round_trips_through_a_file)
{
    bl_blm *m = make_model();
    bl_blm_set_meta(m, "recipe", "blotter train classify --epochs 1");
    bl_blm_set_meta(m, "test_accuracy", "0.75"); /* replaces */
    char path[] = "/tmp/test_blm_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    bl_err err = {0};
    cr_assert_eq(bl_blm_save(m, path, &err), BL_OK, "%s", err.msg);
    bl_blm *r = bl_blm_load(path, "classify", &err);
    unlink(path);
    cr_assert_not_null(r, "%s", err.msg);
    cr_assert_str_eq(r->kind, "classify");
    cr_assert_str_eq(r->arch, m->arch);
    cr_assert_eq(r->crc, m->crc);
    cr_assert_str_eq(bl_blm_get_meta(r, "test_accuracy"), "0.75");
    cr_assert_str_eq(bl_blm_get_meta(r, "recipe"), "blotter train classify --epochs 1");
    cr_assert_null(bl_blm_get_meta(r, "nope"));
    cr_assert_eq(r->n_tensors, m->n_tensors);
    for (int i = 0; i < m->n_tensors; i++) {
        const bl_blm_tensor *a = &m->tensors[i], *b = bl_blm_find(r, a->name);
        cr_assert_not_null(b, "%s", a->name);
        cr_assert_eq(a->ndim, b->ndim);
        cr_assert_arr_eq(a->dims, b->dims, sizeof a->dims);
        cr_assert_arr_eq(a->data, b->data, a->count * sizeof(float));
    }
    /* and the network rebuilt from it computes the same thing */
    bl_nn_net *n1 = bl_nn_net_from_blm(m, 1, 6, 6, "m", &err);
    bl_nn_net *n2 = bl_nn_net_from_blm(r, 1, 6, 6, "r", &err);
    cr_assert(n1 && n2, "%s", err.msg);
    float x[36];
    for (int i = 0; i < 36; i++)
        x[i] = (float)i / 36.0f;
    float p1[3];
    memcpy(p1, bl_nn_net_forward(n1, x, 1, false, NULL), sizeof p1);
    cr_assert_arr_eq(p1, bl_nn_net_forward(n2, x, 1, false, NULL), sizeof p1);
    bl_nn_net_destroy(&n1);
    bl_nn_net_destroy(&n2);
    bl_blm_destroy(&r);
    bl_blm_destroy(&m);
    cr_assert_null(m);
}

Test(blm, refuses_truncation_at_every_offset)
{
    bl_blm *m = make_model();
    size_t size;
    uint8_t *buf = encode(m, &size);
    for (size_t cut = 0; cut < size; cut++) {
        bl_err err = {0};
        /* a fresh copy of exactly `cut` bytes, so ASan sees any overread */
        uint8_t *part = bl_xmalloc(cut ? cut : 1);
        memcpy(part, buf, cut);
        bl_blm *r = bl_blm_decode(part, cut, "x.blm", NULL, &err);
        free(part);
        cr_assert_null(r, "accepted a file cut at %zu of %zu", cut, size);
        cr_assert_eq(err.code, BL_EFORMAT, "cut %zu: %s", cut, err.msg);
        cr_assert_not_null(strstr(err.msg, "truncated"), "cut %zu: %s", cut, err.msg);
    }
    free(buf);
    bl_blm_destroy(&m);
}

Test(blm, refuses_every_single_flipped_byte)
{
    bl_blm *m = make_model();
    size_t size;
    uint8_t *buf = encode(m, &size);
    for (size_t i = 0; i < size; i++) {
        if (i >= 20 && i < 24)
            continue; /* the reserved word is not checked */
        buf[i] ^= 0x5a;
        bl_err err = {0};
        bl_blm *r = bl_blm_decode(buf, size, "x.blm", "classify", &err);
        cr_assert_null(r, "accepted a flip at byte %zu", i);
        cr_assert_neq(err.code, BL_OK);
        if (i >= BL_BLM_HEADER_SIZE || (i >= 16 && i < 20))
            cr_assert_str_eq(err.msg, "x.blm: checksum mismatch (file corrupt)", "byte %zu", i);
        buf[i] ^= 0x5a;
    }
    free(buf);
    bl_blm_destroy(&m);
}

/* ---- the malformed-file table ------------------------------------------ */

/* A body written field by field, so each case can lie in one place and
 * still carry a valid checksum. */
typedef struct body {
    uint8_t p[4096];
    size_t n;
} body;

static void b_u32(body *b, uint32_t v)
{
    bl_put_u32(b->p + b->n, v);
    b->n += 4;
}

static void b_str(body *b, const char *s)
{
    b_u32(b, (uint32_t)strlen(s));
    memcpy(b->p + b->n, s, strlen(s));
    b->n += strlen(s);
}

static void b_f32s(body *b, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        bl_put_f32(b->p + b->n, 0.01f * (float)i);
        b->n += 4;
    }
}

typedef enum {
    C_BAD_MAGIC,
    C_BAD_VERSION,
    C_WRONG_KIND,
    C_TRAILING,
    C_HUGE_TENSOR,
    C_HUGE_TENSOR_COUNT,
    C_HUGE_META_COUNT,
    C_HUGE_STRING,
    C_ZERO_DIMS,
    C_TOO_MANY_DIMS,
    C_ZERO_DIM,
    C_DUP_TENSOR,
    C_TENSOR_PAST_END,
    C_NUL_IN_STRING,
} case_kind;

typedef struct bad_case {
    case_kind kind;
    int code;
    char expect[80]; /* substring of the message */
} bad_case;

/* Writes kind, arch, meta and then what the case wants. */
static size_t build(case_kind k, uint8_t *out)
{
    body b = {.n = 0};
    b_str(&b, k == C_WRONG_KIND ? "detect" : "classify");
    if (k == C_HUGE_STRING) {
        b_u32(&b, 0xfffffff0u);
        goto seal;
    }
    b_str(&b, "dense3");
    if (k == C_HUGE_META_COUNT) {
        b_u32(&b, 0x7fffffffu);
        goto seal;
    }
    b_u32(&b, 1);
    b_str(&b, "data_set");
    if (k == C_NUL_IN_STRING) {
        b_u32(&b, 3);
        memcpy(b.p + b.n, "a\0b", 3);
        b.n += 3;
    } else {
        b_str(&b, "mnist");
    }
    if (k == C_HUGE_TENSOR_COUNT) {
        b_u32(&b, 0xffffffffu);
        goto seal;
    }
    b_u32(&b, k == C_DUP_TENSOR ? 2 : 1);
    b_str(&b, "dense1.weight");
    switch (k) {
    case C_HUGE_TENSOR:
        b_u32(&b, 2);
        b_u32(&b, 65536);
        b_u32(&b, 65536);
        b_f32s(&b, 4);
        goto seal;
    case C_ZERO_DIMS:
        b_u32(&b, 0);
        goto seal;
    case C_TOO_MANY_DIMS:
        b_u32(&b, 9);
        for (int i = 0; i < 9; i++)
            b_u32(&b, 1);
        goto seal;
    case C_ZERO_DIM:
        b_u32(&b, 2);
        b_u32(&b, 3);
        b_u32(&b, 0);
        goto seal;
    case C_TENSOR_PAST_END:
        b_u32(&b, 2);
        b_u32(&b, 30);
        b_u32(&b, 30);
        b_f32s(&b, 5);
        goto seal;
    default:
        break;
    }
    b_u32(&b, 2);
    b_u32(&b, 3);
    b_u32(&b, 4);
    b_f32s(&b, 12);
    if (k == C_DUP_TENSOR) {
        b_str(&b, "dense1.weight");
        b_u32(&b, 1);
        b_u32(&b, 3);
        b_f32s(&b, 3);
    }
seal:;
    size_t size = BL_BLM_HEADER_SIZE + b.n;
    memcpy(out, "BLM\x1a", 4);
    bl_put_u32(out + 4, k == C_BAD_VERSION ? 99 : BL_BLM_VERSION);
    bl_put_u32(out + 20, 0);
    memcpy(out + BL_BLM_HEADER_SIZE, b.p, b.n);
    reseal(out, size);
    if (k == C_BAD_MAGIC)
        memcpy(out, "PK\x03\x04", 4);
    if (k == C_TRAILING) {
        /* append garbage after a sealed file: size no longer matches */
        memset(out + size, 0, 8);
        size += 8;
    }
    return size;
}

ParameterizedTestParameters(blm, refuses_malformed_files)
{
    static bad_case cases[] = {
        {C_BAD_MAGIC, BL_EFORMAT, "x.blm: not a blotter model file (bad magic)"},
        {C_BAD_VERSION, BL_EUNSUP, "format version 99"},
        {C_WRONG_KIND, BL_EINVAL, "x.blm: is a 'detect' model, expected 'classify'"},
        {C_TRAILING, BL_EFORMAT, "trailing bytes"},
        {C_HUGE_TENSOR, BL_ELIMIT, "dense1.weight"},
        {C_HUGE_TENSOR_COUNT, BL_ELIMIT, "tensors is absurd"},
        {C_HUGE_META_COUNT, BL_ELIMIT, "metadata pairs is absurd"},
        {C_HUGE_STRING, BL_ELIMIT, "architecture: length"},
        {C_ZERO_DIMS, BL_EFORMAT, "0 dimensions"},
        {C_TOO_MANY_DIMS, BL_EFORMAT, "9 dimensions"},
        {C_ZERO_DIM, BL_EFORMAT, "dimension 1 is 0"},
        {C_DUP_TENSOR, BL_EFORMAT, "duplicate name"},
        {C_TENSOR_PAST_END, BL_EFORMAT, "900 floats"},
        {C_NUL_IN_STRING, BL_EFORMAT, "contains NUL"},
    };
    return cr_make_param_array(bad_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bad_case *c, blm, refuses_malformed_files)
{
    static uint8_t buf[8192];
    size_t size = build(c->kind, buf);
    /* exact-size copy so ASan catches any read past the end */
    uint8_t *copy = bl_xmalloc(size);
    memcpy(copy, buf, size);
    bl_err err = {0};
    bl_blm *m = bl_blm_decode(copy, size, "x.blm", "classify", &err);
    free(copy);
    cr_assert_null(m, "case %d accepted", c->kind);
    cr_assert_eq(err.code, c->code, "case %d: code %d (%s)", c->kind, err.code, err.msg);
    cr_assert_not_null(strstr(err.msg, c->expect), "case %d: '%s' lacks '%s'", c->kind,
                       err.msg, c->expect);
}

Test(blm, a_well_formed_handmade_file_is_accepted)
{
    /* The builder's baseline is valid, so the table's failures are the
     * lies each case tells and not the builder. */
    static uint8_t buf[8192];
    size_t size = build((case_kind)-1, buf);
    bl_err err = {0};
    bl_blm *m = bl_blm_decode(buf, size, "x.blm", "classify", &err);
    cr_assert_not_null(m, "%s", err.msg);
    cr_assert_eq(m->n_tensors, 1);
    cr_assert_eq(m->tensors[0].count, 12u);
    cr_assert_str_eq(bl_blm_get_meta(m, "data_set"), "mnist");
    bl_blm_destroy(&m);
}

/* ---- tensors against the architecture ---------------------------------- */

static void expect_arch_error(bl_blm *m, const char *expect)
{
    bl_err err = {0};
    bl_nn_net *n = bl_nn_net_from_blm(m, 1, 6, 6, "x.blm", &err);
    cr_assert_null(n, "mismatch accepted");
    cr_assert_not_null(strstr(err.msg, expect), "'%s' lacks '%s'", err.msg, expect);
    cr_assert_eq(strncmp(err.msg, "x.blm: ", 7), 0, "%s", err.msg);
}

Test(blm, refuses_tensor_with_wrong_shape)
{
    bl_blm *m = make_model();
    /* dense2.weight should be 3x4; rename the real one away and add a 3x5 */
    bl_blm_tensor *t = (bl_blm_tensor *)bl_blm_find(m, "dense2.weight");
    cr_assert_not_null(t);
    t->dims[1] = 5;
    expect_arch_error(m, "tensor 'dense2.weight' is 3x5, architecture needs 3x4");
    t->dims[1] = 4;
    bl_blm_destroy(&m);
}

Test(blm, refuses_missing_and_extra_tensors)
{
    bl_blm *m = make_model();
    bl_blm_tensor *t = (bl_blm_tensor *)bl_blm_find(m, "conv1.bias");
    bl_strlcpy(t->name, "conv9.bias", sizeof t->name);
    expect_arch_error(m, "tensor 'conv1.bias' (2) missing");
    bl_strlcpy(t->name, "conv1.bias", sizeof t->name);
    float z[2] = {0, 0};
    uint32_t d = 2;
    cr_assert_eq(bl_blm_add_tensor(m, "extra", 1, &d, z, NULL), BL_OK);
    expect_arch_error(m, "7 tensors, the architecture");
    bl_blm_destroy(&m);
}

Test(blm, refuses_unparsable_architecture)
{
    bl_blm *m = make_model();
    free(m->arch);
    m->arch = bl_xstrdup("conv2x3-warp9-dense3");
    expect_arch_error(m, "unknown token 'warp9'");
    bl_blm_destroy(&m);
}

Test(blm, add_tensor_rejects_duplicates_and_absurd_shapes)
{
    bl_blm *m = bl_blm_new("classify", "dense3");
    float z[4] = {0};
    uint32_t d[2] = {2, 2};
    bl_err err = {0};
    cr_assert_eq(bl_blm_add_tensor(m, "a", 2, d, z, &err), BL_OK);
    cr_assert_eq(bl_blm_add_tensor(m, "a", 2, d, z, &err), BL_EINVAL);
    uint32_t huge[2] = {1u << 20, 1u << 20};
    cr_assert_eq(bl_blm_add_tensor(m, "b", 2, huge, z, &err), BL_ELIMIT);
    cr_assert_eq(bl_blm_add_tensor(m, "c", 0, d, z, &err), BL_EFORMAT);
    bl_blm_destroy(&m);
}

Test(blm, load_reports_missing_file)
{
    bl_err err = {0};
    cr_assert_null(bl_blm_load("/nonexistent/x.blm", NULL, &err));
    cr_assert_eq(err.code, BL_ENOENT);
    cr_assert_not_null(strstr(err.msg, "/nonexistent/x.blm"));
}
