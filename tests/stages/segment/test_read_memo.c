/*
 * read_memo: the memo answers exactly as the classifier would, reads each
 * distinct crop once, and forgets on clear or when full.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "classify/classify.h"
#include "segment/read_memo.h"

#define CLASSIFY BL_SOURCE_DIR "/models/classify-cnn.blm"
#define N 12

/* Distinct crops: bars of different thickness, slope and place. */
static void draw_crops(uint8_t *crops)
{
    memset(crops, 0, (size_t)N * BL_CLASSIFY_PIXELS);
    for (int k = 0; k < N; k++) {
        uint8_t *c = crops + (size_t)k * BL_CLASSIFY_PIXELS;
        for (int y = 4; y < 24; y++) {
            int x0 = 8 + k % 6 + (k / 6) * (y - 4) / 4;
            for (int x = x0; x < x0 + 2 + k % 3 && x < BL_CLASSIFY_SIDE; x++)
                c[y * BL_CLASSIFY_SIDE + x] = 255;
        }
    }
}

static void assert_same(const int32_t *cls_a, const float *pa, const int32_t *cls_b,
                        const float *pb, int n)
{
    for (int i = 0; i < n; i++) {
        cr_assert_eq(cls_a[i], cls_b[i], "crop %d", i);
        for (int c = 0; c < BL_CLASSIFY_CLASSES; c++)
            cr_assert_float_eq(pa[i * BL_CLASSIFY_CLASSES + c], pb[i * BL_CLASSIFY_CLASSES + c],
                               1e-5, "crop %d class %d", i, c);
    }
}

Test(read_memo, answers_as_the_classifier_and_reads_each_crop_once)
{
    bl_classifier *clf = bl_classifier_load(CLASSIFY, NULL);
    cr_assert_not_null(clf);
    static uint8_t crops[N * BL_CLASSIFY_PIXELS], reversed[N * BL_CLASSIFY_PIXELS];
    draw_crops(crops);
    int32_t want_cls[N], cls[N];
    float want[N * BL_CLASSIFY_CLASSES], probs[N * BL_CLASSIFY_CLASSES];
    cr_assert_eq(bl_classifier_run(clf, crops, N, want_cls, want, NULL), BL_OK);

    bl_read_memo *memo = bl_read_memo_new(clf, 64);
    cr_assert_eq(bl_read_memo_run(memo, crops, N, cls, probs, NULL), BL_OK);
    assert_same(cls, probs, want_cls, want, N);
    long hits, misses;
    bl_read_memo_counts(memo, &hits, &misses);
    cr_assert_eq(hits, 0);
    cr_assert_eq(misses, N);

    /* The same crops in another order come from the memo, in that order. */
    for (int k = 0; k < N; k++)
        memcpy(reversed + (size_t)k * BL_CLASSIFY_PIXELS,
               crops + (size_t)(N - 1 - k) * BL_CLASSIFY_PIXELS, BL_CLASSIFY_PIXELS);
    cr_assert_eq(bl_read_memo_run(memo, reversed, N, cls, probs, NULL), BL_OK);
    for (int k = 0; k < N; k++)
        assert_same(cls + k, probs + k * BL_CLASSIFY_CLASSES, want_cls + (N - 1 - k),
                    want + (N - 1 - k) * BL_CLASSIFY_CLASSES, 1);
    bl_read_memo_counts(memo, &hits, &misses);
    cr_assert_eq(hits, N);
    cr_assert_eq(misses, N);

    /* One pixel more is another crop. */
    reversed[0] = 255;
    cr_assert_eq(bl_read_memo_run(memo, reversed, 1, cls, probs, NULL), BL_OK);
    bl_read_memo_counts(memo, &hits, &misses);
    cr_assert_eq(misses, N + 1);

    /* After a clear everything is read again. */
    bl_read_memo_clear(memo);
    cr_assert_eq(bl_read_memo_run(memo, crops, N, cls, probs, NULL), BL_OK);
    assert_same(cls, probs, want_cls, want, N);
    bl_read_memo_counts(memo, &hits, &misses);
    cr_assert_eq(misses, 2 * N + 1);

    bl_read_memo_destroy(&memo);
    cr_assert_null(memo);
    bl_classifier_destroy(&clf);
}

Test(read_memo, a_full_memo_starts_again_and_stays_right)
{
    bl_classifier *clf = bl_classifier_load(CLASSIFY, NULL);
    cr_assert_not_null(clf);
    static uint8_t crops[N * BL_CLASSIFY_PIXELS];
    draw_crops(crops);
    int32_t want_cls[N], cls[N];
    float want[N * BL_CLASSIFY_CLASSES], probs[N * BL_CLASSIFY_CLASSES];
    cr_assert_eq(bl_classifier_run(clf, crops, N, want_cls, want, NULL), BL_OK);

    /* Room for 4: the twelve crops, twice, one at a time. */
    bl_read_memo *memo = bl_read_memo_new(clf, 4);
    for (int round = 0; round < 2; round++)
        for (int k = 0; k < N; k++) {
            cr_assert_eq(bl_read_memo_run(memo, crops + (size_t)k * BL_CLASSIFY_PIXELS, 1,
                                          cls + k, probs + k * BL_CLASSIFY_CLASSES, NULL),
                         BL_OK);
            assert_same(cls + k, probs + k * BL_CLASSIFY_CLASSES, want_cls + k,
                        want + k * BL_CLASSIFY_CLASSES, 1);
        }
    long hits, misses;
    bl_read_memo_counts(memo, &hits, &misses);
    cr_assert_eq(hits + misses, 2 * N);
    cr_assert_eq(hits, 0, "a memo of 4 cannot hold 12 crops read in turn");

    /* A crop repeated at once is remembered. */
    cr_assert_eq(bl_read_memo_run(memo, crops, 1, cls, probs, NULL), BL_OK);
    cr_assert_eq(bl_read_memo_run(memo, crops, 1, cls, probs, NULL), BL_OK);
    bl_read_memo_counts(memo, &hits, &misses);
    cr_assert_eq(hits, 1);

    cr_assert_eq(bl_read_memo_run(memo, NULL, 1, cls, probs, NULL), BL_EINVAL);
    cr_assert_eq(bl_read_memo_run(memo, NULL, 0, NULL, NULL, NULL), BL_OK);
    bl_read_memo_destroy(&memo);
    bl_classifier_destroy(&clf);
}
