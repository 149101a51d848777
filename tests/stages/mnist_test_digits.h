/*
 * mnist_test_digits: MNIST's test split from the source tree's data/mnist
 * for the tests that classify real digits; NULL (the caller skips) when it
 * has not been fetched. Header only, for the test programs.
 */
#ifndef BL_TEST_MNIST_TEST_DIGITS_H
#define BL_TEST_MNIST_TEST_DIGITS_H

#include <criterion/criterion.h>
#include <sys/stat.h>

#include "mnist/mnist.h"

#define BL_TEST_MNIST_DIR BL_SOURCE_DIR "/data/mnist"

static inline bl_mnist *load_test_digits(void)
{
    struct stat st;
    if (stat(BL_TEST_MNIST_DIR "/t10k-images-idx3-ubyte", &st) != 0)
        return NULL;
    bl_err err = {0};
    bl_mnist *m = bl_mnist_load(BL_TEST_MNIST_DIR, "test", &err);
    cr_assert_not_null(m, "%s", err.msg);
    return m;
}

#endif
