/*
 * segment: cutting field crops drawn in the test into digits: separate
 * digits, a broken digit, touching digits, and a neighbour's stray pixels.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "image/image.h"
#include "segment/segment.h"

/* A filled ellipse inside the box (x, y, w, h). */
static void ellipse(bl_image *img, int x, int y, int w, int h)
{
    double rx = w / 2.0, ry = h / 2.0;
    for (int yy = 0; yy < h; yy++)
        for (int xx = 0; xx < w; xx++) {
            double dx = (xx + 0.5 - rx) / rx, dy = (yy + 0.5 - ry) / ry;
            if (dx * dx + dy * dy <= 1.0)
                BL_PIX(img, x + xx, y + yy) = 1;
        }
}

static void fill(bl_image *img, int x, int y, int w, int h)
{
    for (int yy = y; yy < y + h; yy++)
        for (int xx = x; xx < x + w; xx++)
            BL_PIX(img, xx, yy) = 1;
}

static int ink_sum(const uint8_t *px)
{
    int s = 0;
    for (int i = 0; i < BL_MNIST_PIXELS; i++)
        s += px[i];
    return s;
}

Test(segment, separate_blobs_come_out_left_to_right)
{
    bl_image *crop = bl_image_new(320, 100);
    int xs[4] = {220, 10, 150, 80}; /* drawn out of order on purpose */
    for (int i = 0; i < 4; i++)
        ellipse(crop, xs[i], 15, 50, 70);
    fill(crop, 300, 5, 2, 2); /* a speck */

    bl_segment_digit *d = NULL;
    int n = -1;
    bl_err err = {0};
    cr_assert_eq(bl_segment_field(crop, &d, &n, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(n, 4, "got %d digits", n);
    int want_x[4] = {10, 80, 150, 220};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(d[i].box.x, want_x[i], "digit %d at x=%d", i, d[i].box.x);
        cr_assert_eq(d[i].box.w, 50);
        cr_assert_eq(d[i].box.h, 70);
        cr_assert_gt(ink_sum(d[i].pixels), 0);
    }
    free(d);
    bl_image_destroy(&crop);
}

Test(segment, broken_digit_stays_one)
{
    /* A 5 whose top bar came loose: bar above the body, overlapping in x. */
    bl_image *crop = bl_image_new(120, 110);
    fill(crop, 30, 10, 50, 10);
    ellipse(crop, 20, 30, 55, 65);

    bl_segment_digit *d = NULL;
    int n = -1;
    cr_assert_eq(bl_segment_field(crop, &d, &n, NULL), BL_OK);
    cr_assert_eq(n, 1, "got %d digits", n);
    cr_assert_eq(d[0].box.x, 20);
    cr_assert_eq(d[0].box.y, 10);
    cr_assert_eq(d[0].box.w, 60);
    cr_assert_eq(d[0].box.h, 85);
    free(d);
    bl_image_destroy(&crop);
}

Test(segment, touching_blobs_are_split)
{
    /* Two digits touching over a few columns: one component. */
    bl_image *crop = bl_image_new(140, 100);
    ellipse(crop, 10, 15, 55, 70);
    ellipse(crop, 61, 15, 55, 70);

    bl_component *c = NULL;
    int nc = 0;
    cr_assert_eq(bl_image_components(crop, &c, &nc, NULL, NULL), BL_OK);
    cr_assert_eq(nc, 1, "the test's blobs must touch");
    free(c);

    bl_segment_digit *d = NULL;
    int n = -1;
    cr_assert_eq(bl_segment_field(crop, &d, &n, NULL), BL_OK);
    cr_assert_eq(n, 2, "got %d digits", n);
    /* The cut falls where the two ellipses meet, near x = 63. */
    int cut = d[1].box.x;
    cr_assert(cut >= 58 && cut <= 68, "cut at %d", cut);
    cr_assert_eq(d[0].box.x, 10);
    cr_assert_eq(d[1].box.x + d[1].box.w, 116);
    cr_assert_gt(ink_sum(d[0].pixels), 0);
    cr_assert_gt(ink_sum(d[1].pixels), 0);
    free(d);
    bl_image_destroy(&crop);
}

/* A 1 with a foot, so its box has room a neighbour can reach into. */
static void one(bl_image *img)
{
    fill(img, 40, 10, 9, 80);
    fill(img, 40, 84, 31, 6);
}

Test(segment, neighbour_pixels_inside_a_box_are_left_out)
{
    bl_image *alone = bl_image_new(200, 100);
    one(alone);
    bl_image *crowded = bl_image_new(200, 100);
    one(crowded);
    /* The neighbour's tail reaches into the 1's box without touching it. */
    ellipse(crowded, 80, 10, 60, 60);
    fill(crowded, 60, 60, 50, 6);

    bl_segment_digit *a = NULL, *b = NULL;
    int na = 0, nb = 0;
    cr_assert_eq(bl_segment_field(alone, &a, &na, NULL), BL_OK);
    cr_assert_eq(bl_segment_field(crowded, &b, &nb, NULL), BL_OK);
    cr_assert_eq(na, 1);
    cr_assert_eq(nb, 2, "got %d digits", nb);
    cr_assert_eq(b[0].box.x, 40);
    cr_assert_eq(b[0].box.w, 31);
    cr_assert_arr_eq(a[0].pixels, b[0].pixels, BL_MNIST_PIXELS);
    free(a);
    free(b);
    bl_image_destroy(&alone);
    bl_image_destroy(&crowded);
}

Test(segment, empty_crop_has_no_digits)
{
    bl_image *crop = bl_image_new(50, 50);
    bl_segment_digit *d = (bl_segment_digit *)&d;
    int n = -1;
    cr_assert_eq(bl_segment_field(crop, &d, &n, NULL), BL_OK);
    cr_assert_eq(n, 0);
    cr_assert_null(d);
    bl_image_destroy(&crop);
}
