/*
 * segment: the whole-field choice of a template's digit count
 * (dynamic programme over over-segmented pieces, with the shipped cut
 * scorer and classifier) on crops composed of real MNIST test digits,
 * scaled 3x: a touching pair the scorer keeps whole is cut where the two
 * digits meet when the template says how many digits there are (the cut
 * scorer alone, without the segment model file's separator). Skipped
 * when data/mnist is absent.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "image/image.h"
#include "../mnist_test_digits.h"
#include "mnist/mnist.h"
#include "cuts_only.h"
#include "segment/segment.h"

#define CUTS BL_SOURCE_DIR "/models/segment-cuts.blm"
#define CLASSIFY BL_SOURCE_DIR "/models/classify-cnn.blm"
enum { SCALE = 3, SIDE = BL_MNIST_SIDE * SCALE };


static const uint8_t *digit(const bl_mnist *m, int i) { return m->images + (size_t)i * 784; }

/* First (right = 0) or last (right = 1) inked column of a 28 x 28 digit. */
static int ink_col(const uint8_t *px, int right)
{
    int best = right ? -1 : BL_MNIST_SIDE;
    for (int y = 0; y < BL_MNIST_SIDE; y++)
        for (int x = 0; x < BL_MNIST_SIDE; x++)
            if (px[y * BL_MNIST_SIDE + x] > 127)
                best = right ? (x > best ? x : best) : (x < best ? x : best);
    return best;
}

/* ORs digit px, scaled SCALE times and thresholded, in at (x0, y0); returns
 * its ink columns [*ix, *ix + *iw) in the crop. */
static void put(bl_image *img, const uint8_t *px, int x0, int y0, int *ix, int *iw)
{
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++)
            if (px[(y / SCALE) * BL_MNIST_SIDE + x / SCALE] > 127)
                BL_PIX(img, x0 + x, y0 + y) = 1;
    *ix = x0 + ink_col(px, 0) * SCALE;
    *iw = (ink_col(px, 1) - ink_col(px, 0) + 1) * SCALE;
}

/* Overlap in x of two column ranges over their union. */
static double x_iou(int a, int aw, int b, int bw)
{
    int lo = a > b ? a : b, hi = a + aw < b + bw ? a + aw : b + bw;
    int u = (a + aw > b + bw ? a + aw : b + bw) - (a < b ? a : b);
    return hi > lo ? (double)(hi - lo) / u : 0;
}

Test(segment_dp, a_touching_pair_is_cut_where_the_digits_meet)
{
    bl_mnist *m = load_test_digits();
    if (!m)
        cr_skip_test("%s absent (run `blotter data mnist`)", BL_TEST_MNIST_DIR);
    bl_err err = {0};
    /* The cut scorer alone: the separator (test_separate) would take the
     * pair apart before the count is fitted. */
    char path[] = "/tmp/bl-cuts-XXXXXX";
    write_cuts_only(CUTS, path);
    bl_segment *s = bl_segment_new(path, CLASSIFY, &err);
    cr_assert_not_null(s, "%s", err.msg);
    unlink(path);
    /* Test digits 39 (a 1), 37 and 38 (a 1 and a 2, the 2's ink reaching
     * 6 px into the 1's) and 40 (a 1): four digits, the middle two one
     * component. */
    bl_image *crop = bl_image_new(4 * SIDE + 60, SIDE + 10);
    int x[4], w[4];
    put(crop, digit(m, 39), 5, 5, &x[0], &w[0]);
    int xa = 5 + SIDE + 10;
    put(crop, digit(m, 37), xa, 5, &x[1], &w[1]);
    int xb = xa + (ink_col(digit(m, 37), 1) - ink_col(digit(m, 38), 0) + 1) * SCALE - 6;
    put(crop, digit(m, 38), xb, 5, &x[2], &w[2]);
    put(crop, digit(m, 40), xb + SIDE + 10, 5, &x[3], &w[3]);
    cr_assert(m->labels[37] == 1 && m->labels[38] == 2, "test digits changed");

    bl_segment_digit *d = NULL;
    int n = -1;
    cr_assert_eq(bl_segment_run(s, crop, &d, &n, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(n, 3, "the scorer alone keeps the pair whole (got %d digits)", n);
    free(d);
    cr_assert_eq(bl_segment_run_expect(s, crop, 4, 4, &d, &n, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(n, 4, "got %d digits", n);
    for (int i = 0; i < 4; i++) {
        double o = x_iou(d[i].box.x, d[i].box.w, x[i], w[i]);
        cr_assert(o >= 0.5, "digit %d at x %d+%d, true %d+%d (overlap %.2f)", i, d[i].box.x,
                  d[i].box.w, x[i], w[i], o);
    }
    free(d);
    bl_image_destroy(&crop);
    bl_segment_destroy(&s);
    bl_mnist_destroy(&m);
}
