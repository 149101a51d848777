/*
 * mnist: MD5 against the RFC 1321 test suite, and the IDX reader against
 * small hand-made files: valid, wrong magic, truncated, oversized, count
 * mismatch, bad labels, absurd dimensions. The real set is verified when
 * data/mnist is present.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnist/mnist.h"

Test(mnist, md5_matches_rfc1321_test_suite)
{
    static const struct {
        const char *in, *md5;
    } v[] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"a", "0cc175b9c0f1b6a831c399e269772661"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
         "d174ab98d277d9f5a5611c2c9f419d9f"},
        {"1234567890123456789012345678901234567890123456789012345678901234567890123456789"
         "0",
         "57edf4a22be3c955ac49da2e2107b67a"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char hex[33];
        bl_md5_hex(v[i].in, strlen(v[i].in), hex);
        cr_assert_str_eq(hex, v[i].md5, "MD5(\"%s\")", v[i].in);
    }
}

Test(mnist, md5_handles_every_padding_boundary)
{
    /* 55, 56, 63, 64 and 65 bytes straddle the one/two-block padding cases;
     * compare against sums computed by coreutils md5sum. */
    static const char *want[] = {
        "ef1772b6dff9a122358552954ad0df65", /* 55 x 'a' */
        "3b0c8ac703f828b04c6c197006d17218", /* 56 */
        "b06521f39153d618550606be297466d5", /* 63 */
        "014842d480b571495a4a0363793f7367", /* 64 */
        "c743a45e0d2e6a95cb859adae0248435", /* 65 */
    };
    int lens[] = {55, 56, 63, 64, 65};
    char buf[65];
    memset(buf, 'a', sizeof buf);
    for (int i = 0; i < 5; i++) {
        char hex[33];
        bl_md5_hex(buf, (size_t)lens[i], hex);
        cr_assert_str_eq(hex, want[i], "%d x 'a'", lens[i]);
    }
}

/* ---- hand-made IDX files ----------------------------------------------- */

static char dir[64];

static void make_dir(void)
{
    strcpy(dir, "/tmp/test_mnist_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    const char *names[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    for (int i = 0; i < 4; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void write_file(const char *name, const uint8_t *data, size_t n)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* images: magic, count, rows, cols, then pixels (extra bytes appended or
 * cut by `delta`); labels: magic, count, labels. */
static void write_images(uint32_t magic, uint32_t count, uint32_t rows, uint32_t cols,
                         long delta)
{
    size_t n = 16 + (size_t)count * rows * cols;
    if (count > 100 || rows > 100 || cols > 100)
        n = 16 + 64; /* the header lies about an absurd size */
    n = (size_t)((long)n + delta);
    uint8_t *buf = calloc(1, n > 16 ? n : 16);
    put_be32(buf, magic);
    put_be32(buf + 4, count);
    put_be32(buf + 8, rows);
    put_be32(buf + 12, cols);
    for (size_t i = 16; i < n; i++)
        buf[i] = (uint8_t)(i * 7);
    write_file("train-images-idx3-ubyte", buf, n);
    free(buf);
}

static void write_labels(uint32_t magic, uint32_t count, uint8_t first_label)
{
    uint8_t buf[8 + 16];
    put_be32(buf, magic);
    put_be32(buf + 4, count);
    for (uint32_t i = 0; i < count && i < 16; i++)
        buf[8 + i] = (uint8_t)(i % 10);
    buf[8] = first_label;
    write_file("train-labels-idx1-ubyte", buf, 8 + (count < 16 ? count : 16));
}

static void expect_fail(int code, const char *substr)
{
    bl_err err = {0};
    bl_mnist *m = bl_mnist_load(dir, "train", &err);
    cr_assert_null(m, "accepted");
    cr_assert_eq(err.code, code, "code %d: %s", err.code, err.msg);
    cr_assert_not_null(strstr(err.msg, substr), "'%s' lacks '%s'", err.msg, substr);
}

Test(mnist, reads_a_valid_idx_pair, .init = make_dir, .fini = remove_dir)
{
    write_images(0x803, 3, 4, 5, 0);
    write_labels(0x801, 3, 7);
    bl_err err = {0};
    bl_mnist *m = bl_mnist_load(dir, "train", &err);
    cr_assert_not_null(m, "%s", err.msg);
    cr_assert_eq(m->count, 3);
    cr_assert_eq(m->rows, 4);
    cr_assert_eq(m->cols, 5);
    cr_assert_eq(m->labels[0], 7);
    cr_assert_eq(m->labels[2], 2);
    cr_assert_eq(m->images[0], (uint8_t)(16 * 7));
    cr_assert_eq(m->images[59], (uint8_t)(75 * 7));
    bl_mnist_destroy(&m);
    cr_assert_null(m);
    bl_mnist_destroy(&m); /* NULL is fine */
}

Test(mnist, rejects_wrong_magic, .init = make_dir, .fini = remove_dir)
{
    write_images(0x801, 3, 4, 5, 0);
    write_labels(0x801, 3, 0);
    expect_fail(BL_EFORMAT, "bad IDX magic 0x00000801, expected 0x00000803");
}

Test(mnist, rejects_wrong_label_magic, .init = make_dir, .fini = remove_dir)
{
    write_images(0x803, 3, 4, 5, 0);
    write_labels(0x08030000, 3, 0);
    expect_fail(BL_EFORMAT, "bad IDX magic");
}

Test(mnist, rejects_truncated_images, .init = make_dir, .fini = remove_dir)
{
    write_images(0x803, 3, 4, 5, -1);
    write_labels(0x801, 3, 0);
    expect_fail(BL_EFORMAT, "header implies");
}

Test(mnist, rejects_truncated_header, .init = make_dir, .fini = remove_dir)
{
    uint8_t head[6] = {0, 0, 8, 3, 0, 0};
    write_file("train-images-idx3-ubyte", head, sizeof head);
    write_labels(0x801, 3, 0);
    expect_fail(BL_EFORMAT, "truncated IDX header");
}

Test(mnist, rejects_trailing_bytes, .init = make_dir, .fini = remove_dir)
{
    write_images(0x803, 3, 4, 5, 10);
    write_labels(0x801, 3, 0);
    expect_fail(BL_EFORMAT, "header implies");
}

Test(mnist, rejects_count_mismatch, .init = make_dir, .fini = remove_dir)
{
    write_images(0x803, 3, 4, 5, 0);
    write_labels(0x801, 2, 0);
    expect_fail(BL_EFORMAT, "2 labels for 3 images");
}

Test(mnist, rejects_label_out_of_range, .init = make_dir, .fini = remove_dir)
{
    write_images(0x803, 3, 4, 5, 0);
    write_labels(0x801, 3, 12);
    expect_fail(BL_EFORMAT, "label 0 is 12");
}

Test(mnist, rejects_absurd_dimensions_before_allocating, .init = make_dir, .fini = remove_dir)
{
    write_images(0x803, 0xffffffffu, 28, 28, 0);
    write_labels(0x801, 3, 0);
    expect_fail(BL_ELIMIT, "dimension 0");
    write_images(0x803, 3, 100000, 28, 0);
    expect_fail(BL_ELIMIT, "dimension 1");
    write_images(0x803, 0, 28, 28, 0);
    expect_fail(BL_ELIMIT, "dimension 0 is 0");
}

Test(mnist, reports_missing_files_and_bad_split, .init = make_dir, .fini = remove_dir)
{
    expect_fail(BL_ENOENT, "train-images-idx3-ubyte");
    bl_err err = {0};
    cr_assert_null(bl_mnist_load(dir, "validation", &err));
    cr_assert_eq(err.code, BL_EINVAL);
    cr_assert_eq(bl_mnist_verify(dir, &err), BL_ENOENT);
}

Test(mnist, verify_rejects_wrong_contents, .init = make_dir, .fini = remove_dir)
{
    write_images(0x803, 3, 4, 5, 0);
    bl_err err = {0};
    cr_assert_eq(bl_mnist_verify(dir, &err), BL_EFORMAT);
    cr_assert_not_null(strstr(err.msg, "expected 6bbc9ace898e44ae57da46a324031adb"), "%s",
                       err.msg);
}

Test(mnist, default_dir_honours_blotter_data)
{
    char out[256];
    setenv("BLOTTER_DATA", "/srv/archive", 1);
    bl_mnist_default_dir(out, sizeof out);
    cr_assert_str_eq(out, "/srv/archive/mnist");
    unsetenv("BLOTTER_DATA");
    bl_mnist_default_dir(out, sizeof out);
    cr_assert_str_eq(out, BL_SOURCE_DIR "/data/mnist");
}

/* ---- the real set, when present ---------------------------------------- */

Test(mnist, real_set_verifies_and_loads)
{
    char real[4096];
    snprintf(real, sizeof real, "%s/data/mnist", BL_SOURCE_DIR);
    struct stat st;
    if (stat(real, &st) != 0)
        cr_skip_test("%s absent (run `blotter data mnist`)", real);
    bl_err err = {0};
    cr_assert_eq(bl_mnist_verify(real, &err), BL_OK, "%s", err.msg);
    bl_mnist *test = bl_mnist_load(real, "test", &err);
    cr_assert_not_null(test, "%s", err.msg);
    cr_assert_eq(test->count, 10000);
    cr_assert_eq(test->rows, 28);
    cr_assert_eq(test->labels[0], 7); /* the famous first test digit */
    bl_mnist_destroy(&test);
}
