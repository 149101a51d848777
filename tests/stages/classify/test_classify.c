/*
 * classify: the shipped default model loads and classifies real MNIST test
 * digits (skipped when data/mnist is absent), batching does not change
 * answers, and damaged or foreign model files fail to load with a message.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blm/blm.h"
#include "classify/classify.h"
#include "../mnist_test_digits.h"
#include "mnist/mnist.h"
#include "nn/nn.h"

#define MODEL BL_SOURCE_DIR "/models/classify-cnn.blm"


static void setup(void) { bl_nn_set_threads(1); }

Test(classify, shipped_model_reads_the_first_500_test_digits, .init = setup)
{
    bl_mnist *set = load_test_digits();
    if (!set)
        cr_skip_test("%s absent (run `blotter data mnist`)", BL_TEST_MNIST_DIR);
    bl_err err = {0};
    bl_classifier *c = bl_classifier_load(MODEL, &err);
    cr_assert_not_null(c, "%s", err.msg);
    enum { N = 500 };
    static int32_t cls[N];
    static float probs[N * 10];
    cr_assert_eq(bl_classifier_run(c, set->images, N, cls, probs, &err), BL_OK, "%s", err.msg);
    int correct = 0;
    for (int i = 0; i < N; i++) {
        correct += cls[i] == set->labels[i];
        float sum = 0;
        for (int k = 0; k < 10; k++) {
            cr_assert(probs[i * 10 + k] >= 0.0f && probs[i * 10 + k] <= 1.0f);
            sum += probs[i * 10 + k];
        }
        cr_assert_float_eq(sum, 1.0f, 1e-4);
        for (int k = 0; k < 10; k++)
            cr_assert(probs[i * 10 + cls[i]] >= probs[i * 10 + k]);
    }
    cr_assert_gt(correct, 0.98 * N, "accuracy %d/%d", correct, N);
    bl_classifier_destroy(&c);
    cr_assert_null(c);
    bl_mnist_destroy(&set);
}

Test(classify, batch_size_does_not_change_answers, .init = setup)
{
    bl_mnist *set = load_test_digits();
    if (!set)
        cr_skip_test("%s absent", BL_TEST_MNIST_DIR);
    bl_err err = {0};
    bl_classifier *c = bl_classifier_load(MODEL, &err);
    cr_assert_not_null(c, "%s", err.msg);
    /* 300 > the internal chunk of 256, so chunking is exercised too */
    enum { N = 300 };
    static int32_t all[N], one[1];
    static float pall[N * 10], pone[10];
    cr_assert_eq(bl_classifier_run(c, set->images, N, all, pall, &err), BL_OK);
    for (int i = 0; i < N; i += 37) {
        cr_assert_eq(bl_classifier_run(c, set->images + (size_t)i * 784, 1, one, pone, &err),
                     BL_OK);
        cr_assert_eq(one[0], all[i], "digit %d", i);
        for (int k = 0; k < 10; k++)
            cr_assert_float_eq(pone[k], pall[i * 10 + k], 1e-4);
    }
    cr_assert_eq(bl_classifier_run(c, NULL, 0, NULL, NULL, &err), BL_OK, "empty batch");
    bl_classifier_destroy(&c);
    bl_mnist_destroy(&set);
}

Test(classify, id_names_model_version_and_checksum)
{
    bl_err err = {0};
    bl_classifier *c = bl_classifier_load(MODEL, &err);
    cr_assert_not_null(c, "%s", err.msg);
    const char *id = bl_classifier_id(c);
    const char *at = strchr(id, '@'), *colon = strrchr(id, ':');
    cr_assert(at && colon && colon > at, "id '%s'", id);
    cr_assert_eq(strlen(colon + 1), 8u, "id '%s'", id);
    bl_classifier_destroy(&c);
}

/* Copies the shipped model to a temporary file, flipping one byte. */
static void write_corrupt(char *path, long flip_at)
{
    uint8_t *data;
    size_t size;
    bl_err err = {0};
    cr_assert_eq(bl_file_read_all(MODEL, 64u << 20, &data, &size, &err), BL_OK, "%s", err.msg);
    if (flip_at >= 0)
        data[(size_t)flip_at % size] ^= 0xff;
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, data, size), (ssize_t)size);
    close(fd);
    free(data);
}

Test(classify, corrupt_model_fails_to_load_with_reason)
{
    char path[] = "/tmp/test_classify_XXXXXX";
    write_corrupt(path, 5000);
    bl_err err = {0};
    bl_classifier *c = bl_classifier_load(path, &err);
    cr_assert_null(c);
    char want[256];
    snprintf(want, sizeof want, "%s: checksum mismatch (file corrupt)", path);
    cr_assert_str_eq(err.msg, want);
    unlink(path);
}

Test(classify, model_of_another_kind_is_refused)
{
    char path[] = "/tmp/test_classify_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    bl_blm *m = bl_blm_new("detect", "dense4-dense2");
    bl_err err = {0};
    cr_assert_eq(bl_blm_save(m, path, &err), BL_OK, "%s", err.msg);
    bl_blm_destroy(&m);
    cr_assert_null(bl_classifier_load(path, &err));
    char want[256];
    snprintf(want, sizeof want, "%s: is a 'detect' model, expected 'classify'", path);
    cr_assert_str_eq(err.msg, want);
    unlink(path);
}

Test(classify, model_with_wrong_class_count_is_refused)
{
    char path[] = "/tmp/test_classify_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    bl_err err = {0};
    bl_nn_net *net = bl_nn_net_new("dense3", 1, 28, 28, &err);
    cr_assert_not_null(net, "%s", err.msg);
    bl_blm *m = bl_blm_new("classify", bl_nn_net_spec(net));
    cr_assert_eq(bl_nn_net_to_blm(net, m, &err), BL_OK);
    cr_assert_eq(bl_blm_save(m, path, &err), BL_OK, "%s", err.msg);
    bl_blm_destroy(&m);
    bl_nn_net_destroy(&net);
    cr_assert_null(bl_classifier_load(path, &err));
    cr_assert_not_null(strstr(err.msg, "3 classes"), "%s", err.msg);
    unlink(path);
}

Test(classify, missing_model_names_the_file)
{
    bl_err err = {0};
    cr_assert_null(bl_classifier_load("/nonexistent/m.blm", &err));
    cr_assert_not_null(strstr(err.msg, "/nonexistent/m.blm"), "%s", err.msg);
}
