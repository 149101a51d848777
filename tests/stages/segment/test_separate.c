/*
 * separate: the digit separator's grid, its place in the segment model
 * file, and the shipped separator on runs of touching MNIST test digits
 * drawn as the sample generator draws them (skipped when data/mnist is
 * absent).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../mnist_test_digits.h"
#include "cuts_only.h"
#include "blotter/touching.h"
#include "classify/classify.h"
#include "image/image.h"
#include "segment/segment.h"
#include "segment/separate.h"

#define CUTS BL_SOURCE_DIR "/models/segment-cuts.blm"
#define CLASSIFY BL_SOURCE_DIR "/models/classify-cnn.blm"
#define ARCH "conv4x5-pool-conv4x3-pool-dense8-dense1152s"

Test(separate, input_keeps_the_aspect_and_labels_follow_the_majority)
{
    enum { W = 100, H = 60 };
    uint8_t ink[W * H] = {0}, left[W * H] = {0};
    /* Two blocks 40 px high: 20..39 and 50..89 wide, the first the left
     * digit's. */
    for (int y = 10; y < 50; y++)
        for (int x = 20; x < 90; x++)
            if (x < 40 || x >= 50) {
                ink[y * W + x] = 1;
                left[y * W + x] = x < 40;
            }
    float grid[BL_SEPARATE_CELLS];
    bl_separate_map map;
    cr_assert(bl_separate_input(ink, W, H, grid, &map));
    /* 40 rows of ink fill 20 of the grid's: half scale. */
    cr_assert_float_eq(map.scale, 0.5, 1e-9);
    int first = bl_separate_cell(&map, 20, 10), last = bl_separate_cell(&map, 89, 49);
    cr_assert_eq(first % BL_SEPARATE_W, 1);
    cr_assert_eq(last % BL_SEPARATE_W, 1 + 34);
    cr_assert_eq(last / BL_SEPARATE_W - first / BL_SEPARATE_W, 19);
    cr_assert_float_eq(grid[first], 1.0f, 1e-6);
    cr_assert_float_eq(grid[bl_separate_cell(&map, 44, 30)], 0.0f, 1e-6);
    int32_t label[BL_SEPARATE_CELLS];
    bl_separate_target(ink, left, W, H, &map, label);
    cr_assert_eq(label[bl_separate_cell(&map, 25, 30)], 1);
    cr_assert_eq(label[bl_separate_cell(&map, 60, 30)], 0);
    /* A very wide run is scaled to fit the grid's width instead. */
    uint8_t wide[300 * 20] = {0};
    for (int x = 0; x < 300; x++)
        wide[10 * 300 + x] = 1;
    cr_assert(bl_separate_input(wide, 300, 20, grid, &map));
    cr_assert_lt(bl_separate_cell(&map, 299, 10) % BL_SEPARATE_W, BL_SEPARATE_W);
    cr_assert_gt(bl_separate_cell(&map, 299, 10) % BL_SEPARATE_W, BL_SEPARATE_W - 3);
    uint8_t none[16] = {0};
    cr_assert_not(bl_separate_input(none, 4, 4, grid, &map));
}

static bl_blm *model_with_separator(const char *arch)
{
    bl_err err = {0};
    bl_blm *m = bl_blm_load(CUTS, BL_SEGMENT_MODEL_KIND, &err);
    cr_assert_not_null(m, "%s", err.msg);
    bl_blm *cuts = bl_separator_strip(m);
    bl_blm_destroy(&m);
    bl_nn_net *net = bl_nn_net_new(arch, 1, BL_SEPARATE_H, BL_SEPARATE_W, &err);
    cr_assert_not_null(net, "%s", err.msg);
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 3);
    bl_nn_net_init(net, &rng);
    cr_assert_eq(bl_separator_store(cuts, net, &err), BL_OK, "%s", err.msg);
    bl_nn_net_destroy(&net);
    return cuts;
}

Test(separate, lives_in_the_segment_model_file_beside_the_cut_scorer)
{
    bl_err err = {0};
    bl_blm *m = model_with_separator(ARCH);
    bl_separator *sep = NULL;
    cr_assert_eq(bl_separator_from_blm(m, "x.blm", &sep, &err), BL_OK, "%s", err.msg);
    cr_assert_not_null(sep);
    /* The segmenter loads both from the file. */
    char path[] = "/tmp/bl-sep-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(bl_blm_save(m, path, &err), BL_OK, "%s", err.msg);
    bl_segment *seg = bl_segment_new(path, CLASSIFY, &err);
    cr_assert_not_null(seg, "%s", err.msg);
    bl_segment_destroy(&seg);
    /* Stripped, the file is a cut scorer alone again. */
    bl_blm *cuts = bl_separator_strip(m);
    for (int i = 0; i < cuts->n_tensors; i++)
        cr_assert(strncmp(cuts->tensors[i].name, BL_SEPARATE_PREFIX, 4), "%s",
                  cuts->tensors[i].name);
    cr_assert_null(bl_blm_get_meta(cuts, "sep_arch"));
    bl_separator *none = sep;
    cr_assert_eq(bl_separator_from_blm(cuts, "y.blm", &none, &err), BL_OK);
    cr_assert_null(none);
    bl_blm_destroy(&cuts);
    bl_separator_destroy(&sep);
    bl_blm_destroy(&m);
    unlink(path);
    close(fd);
}

Test(separate, a_damaged_separator_is_refused_naming_the_file)
{
    bl_err err = {0};
    /* Tensors without their architecture. */
    bl_blm *m = model_with_separator(ARCH);
    bl_blm *bare = bl_blm_new(m->kind, m->arch);
    for (int i = 0; i < m->n_tensors; i++)
        bl_blm_add_tensor(bare, m->tensors[i].name, m->tensors[i].ndim, m->tensors[i].dims,
                          m->tensors[i].data, NULL);
    bl_separator *sep = NULL;
    cr_assert_eq(bl_separator_from_blm(bare, "bare.blm", &sep, &err), BL_EFORMAT);
    cr_assert(strstr(err.msg, "bare.blm") && strstr(err.msg, "sep_arch"), "%s", err.msg);
    cr_assert_null(sep);
    bl_blm_destroy(&bare);
    /* An architecture its tensors do not fit. */
    bl_blm_set_meta(m, "sep_arch", "conv8x5-pool-conv4x3-pool-dense8-dense1152s");
    cr_assert_neq(bl_separator_from_blm(m, "shape.blm", &sep, &err), BL_OK);
    cr_assert(strstr(err.msg, "shape.blm"), "%s", err.msg);
    bl_blm_destroy(&m);
    /* A softmax head, or another number of cells. */
    m = model_with_separator("conv4x5-pool-dense8-dense1152");
    cr_assert_eq(bl_separator_from_blm(m, "head.blm", &sep, &err), BL_EFORMAT);
    cr_assert(strstr(err.msg, "head.blm") && strstr(err.msg, "sigmoid"), "%s", err.msg);
    bl_blm_destroy(&m);
    m = model_with_separator("conv4x5-pool-dense8-dense10s");
    cr_assert_eq(bl_separator_from_blm(m, "cells.blm", &sep, &err), BL_EFORMAT);
    bl_blm_destroy(&m);
}

static bl_separator *shipped_separator(void)
{
    bl_err err = {0};
    bl_blm *m = bl_blm_load(CUTS, BL_SEGMENT_MODEL_KIND, &err);
    cr_assert_not_null(m, "%s", err.msg);
    bl_separator *sep = NULL;
    cr_assert_eq(bl_separator_from_blm(m, CUTS, &sep, &err), BL_OK, "%s", err.msg);
    cr_assert_not_null(sep, "%s holds no separator", CUTS);
    bl_blm_destroy(&m);
    return sep;
}

Test(separate, shipped_separator_takes_touching_test_digits_apart)
{
    bl_mnist *m = load_test_digits();
    if (!m)
        cr_skip_test("%s absent (run `blotter data mnist`)", BL_TEST_MNIST_DIR);
    bl_separator *sep = shipped_separator();
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 11);
    enum { RUNS = 60 };
    long px = 0, right = 0;
    int two = 0, one = 0, singles = 0;
    for (int r = 0; r < RUNS; r++) {
        int k = r % 3 == 2 ? 1 : 2;
        bl_touching_run run;
        while (!bl_touching_run_draw(m, &rng, k, &run))
            ;
        size_t npx = (size_t)run.w * run.h;
        uint8_t *left = malloc(npx), *owner = malloc(npx);
        bl_separator_peel(sep, run.ink, run.w, run.h, left);
        for (size_t i = 0; i < npx; i++)
            if (run.ink[i] && k == 2) {
                px++;
                right += left[i] == (run.own[i] & 1);
            }
        int n = bl_separator_split(sep, run.ink, run.w, run.h, 8, owner);
        if (k == 2)
            two += n == 2;
        else
            one += n == 1, singles++;
        free(left);
        free(owner);
        bl_touching_run_free(&run);
    }
    /* Measured: 0.987 of the pixels, 40 of 40 pairs, 20 of 20 singles. */
    cr_assert_gt((double)right / px, 0.95, "%ld of %ld pixels", right, px);
    cr_assert_geq(two, 34, "%d of 40 pairs in two", two);
    cr_assert_geq(one, singles - 3, "%d of %d single digits whole", one, singles);
    bl_separator_destroy(&sep);
    bl_mnist_destroy(&m);
}

/* Of RUNS touching pairs of test digits, how many segmentation with the
 * segment model file cuts into two digits read right. */
static int pairs_read(const char *cuts, int runs)
{
    bl_mnist *m = load_test_digits();
    bl_err err = {0};
    bl_segment *seg = bl_segment_new(cuts, CLASSIFY, &err);
    cr_assert_not_null(seg, "%s", err.msg);
    bl_classifier *clf = bl_classifier_load(CLASSIFY, &err);
    cr_assert_not_null(clf, "%s", err.msg);
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 23);
    int read = 0;
    for (int r = 0; r < runs; r++) {
        bl_touching_run run;
        while (!bl_touching_run_draw(m, &rng, 2, &run))
            ;
        bl_image *crop = bl_image_new(run.w + 20, run.h + 20);
        for (int y = 0; y < run.h; y++)
            for (int x = 0; x < run.w; x++)
                BL_PIX(crop, x + 10, y + 10) = run.ink[(size_t)y * run.w + x];
        bl_segment_digit *d = NULL;
        int n = 0;
        cr_assert_eq(bl_segment_run(seg, crop, &d, &n, &err), BL_OK, "%s", err.msg);
        if (n == 2) {
            uint8_t px[2 * BL_MNIST_PIXELS];
            int32_t cls[2];
            float probs[20];
            memcpy(px, d[0].pixels, BL_MNIST_PIXELS);
            memcpy(px + BL_MNIST_PIXELS, d[1].pixels, BL_MNIST_PIXELS);
            cr_assert_eq(bl_classifier_run(clf, px, 2, cls, probs, NULL), BL_OK);
            read += cls[0] == run.digit[0] && cls[1] == run.digit[1];
        }
        free(d);
        bl_image_destroy(&crop);
        bl_touching_run_free(&run);
    }
    bl_classifier_destroy(&clf);
    bl_segment_destroy(&seg);
    bl_mnist_destroy(&m);
    return read;
}

Test(separate, segment_reads_more_touching_pairs_with_it)
{
    bl_mnist *m = load_test_digits();
    if (!m)
        cr_skip_test("%s absent (run `blotter data mnist`)", BL_TEST_MNIST_DIR);
    bl_mnist_destroy(&m);
    /* The same segment model file without its separator. */
    char path[] = "/tmp/bl-cuts-XXXXXX";
    write_cuts_only(CUTS, path);
    enum { RUNS = 40 };
    int with = pairs_read(CUTS, RUNS), without = pairs_read(path, RUNS);
    /* Measured: 35 of 40 with the separator, 19 without. */
    cr_assert_geq(with, 30, "%d of %d touching pairs read right", with, RUNS);
    cr_assert_geq(with, without + 8, "%d with the separator, %d without", with, without);
    unlink(path);
}
