/*
 * segment: cutting field crops drawn in the test into digits: separate
 * digits, a broken digit, touching digits, and a neighbour's stray pixels.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* A slanted bar: a '1' leaning right by `slant` (x grows slant px per px
 * up), w px thick, h tall, bottom-left at (x, y + h). */
static void slanted_one(bl_image *img, int x, int y, int w, int h, double slant)
{
    for (int yy = 0; yy < h; yy++) {
        int x0 = x + (int)(slant * (h - 1 - yy));
        fill(img, x0, y + yy, w, 1);
    }
}

Test(segment, slanted_neighbours_overlapping_in_x_stay_apart)
{
    /* Three leaning strokes whose boxes overlap in x (slant 0.5) but whose
     * ink never touches: three digits, not one merged blob. */
    bl_image *crop = bl_image_new(260, 120);
    for (int i = 0; i < 3; i++)
        slanted_one(crop, 10 + i * 50, 10, 10, 90, 0.5);
    bl_segment_digit *d = NULL;
    int n = -1;
    cr_assert_eq(bl_segment_field(crop, &d, &n, NULL), BL_OK);
    cr_assert_eq(n, 3, "got %d digits", n);
    for (int i = 1; i < 3; i++)
        cr_assert_gt(d[i].box.x, d[i - 1].box.x);
    free(d);
    bl_image_destroy(&crop);
}

Test(segment, dots_and_dashes_are_dropped)
{
    bl_image *crop = bl_image_new(300, 110);
    ellipse(crop, 10, 15, 50, 80);
    ellipse(crop, 200, 15, 50, 80);
    fill(crop, 110, 50, 30, 8);   /* a dash between them */
    fill(crop, 160, 88, 8, 8);    /* a dot */
    bl_segment_digit *d = NULL;
    int n = -1;
    cr_assert_eq(bl_segment_field(crop, &d, &n, NULL), BL_OK);
    cr_assert_eq(n, 2, "got %d digits", n);
    free(d);
    bl_image_destroy(&crop);
}

Test(segment, cut_candidates_lie_inside_a_touching_pair)
{
    bl_image *crop = bl_image_new(140, 100);
    ellipse(crop, 10, 15, 55, 70);
    ellipse(crop, 61, 15, 55, 70);
    double slant = 9, *cuts = NULL;
    float *feats = NULL;
    int n = -1;
    cr_assert_eq(bl_segment_cut_candidates(crop, &slant, &cuts, &feats, &n, NULL), BL_OK);
    cr_assert_gt(n, 0);
    cr_assert_float_eq(slant, 0.0, 1e-9);
    int near = 0;
    for (int i = 0; i < n; i++)
        near += fabs(cuts[i] - 63) <= 5;
    cr_assert_eq(near, 1, "no candidate near the join");
    free(cuts);
    free(feats);
    bl_image_destroy(&crop);
}

Test(segment, refuses_a_missing_cut_model)
{
    bl_err err = {0};
    cr_assert_null(bl_segment_new("/nonexistent/segment.blm", NULL, &err));
    cr_assert_neq(err.code, 0);
    bl_segment *s = bl_segment_new(NULL, NULL, &err);
    cr_assert_not_null(s);
    cr_assert_str_eq(bl_segment_model_id(s), "");
    bl_segment_destroy(&s);
    cr_assert_null(s);
}

Test(segment, box_side_and_comb_tooth_remnants_are_dropped)
{
    bl_image *crop = bl_image_new(260, 110);
    /* A box side broken by the scan at the left end: dashes 4 px wide. */
    for (int y = 0; y < 100; y += 14)
        fill(crop, 0, y, 4, 8);
    ellipse(crop, 30, 15, 50, 80);
    ellipse(crop, 160, 15, 50, 80);
    fill(crop, 115, 70, 4, 30); /* a comb tooth standing between them */
    bl_segment_digit *d = NULL;
    int n = -1;
    cr_assert_eq(bl_segment_field(crop, &d, &n, NULL), BL_OK);
    cr_assert_eq(n, 2, "got %d digits", n);
    cr_assert_eq(d[0].box.x, 30);
    free(d);
    bl_image_destroy(&crop);
}

Test(segment, a_full_height_upright_stroke_is_a_digit)
{
    bl_image *crop = bl_image_new(200, 110);
    fill(crop, 10, 15, 6, 80); /* a ruler-straight 1, solid */
    ellipse(crop, 60, 15, 50, 80);
    bl_segment_digit *d = NULL;
    int n = -1;
    cr_assert_eq(bl_segment_field(crop, &d, &n, NULL), BL_OK);
    cr_assert_eq(n, 2, "got %d digits", n);
    free(d);
    bl_image_destroy(&crop);
}

Test(segment, shipped_cut_scorer_loads_and_splits_a_touching_pair)
{
    bl_err err = {0};
    bl_segment *s = bl_segment_new(BL_SOURCE_DIR "/models/segment-cuts.blm", NULL, &err);
    cr_assert_not_null(s, "%s", err.msg);
    cr_assert(strncmp(bl_segment_model_id(s), "segment-cuts@", 13) == 0);
    bl_image *crop = bl_image_new(320, 110);
    ellipse(crop, 10, 15, 55, 80);
    ellipse(crop, 62, 15, 55, 80); /* touches the first */
    ellipse(crop, 200, 15, 55, 80);
    bl_segment_digit *d = NULL;
    int n = -1;
    cr_assert_eq(bl_segment_run(s, crop, &d, &n, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(n, 3, "got %d digits", n);
    free(d);
    bl_image_destroy(&crop);
    bl_segment_destroy(&s);
}

Test(segment, refuses_a_model_of_another_kind)
{
    bl_err err = {0};
    cr_assert_null(bl_segment_new(BL_SOURCE_DIR "/models/detect-regions.blm", NULL, &err));
    cr_assert(strstr(err.msg, "detect-regions.blm") != NULL, "%s", err.msg);
}

Test(segment, a_rule_gives_the_expected_length)
{
    int lo, hi;
    cr_assert_eq(bl_segment_expected_len("len=8;date=DDMMYYYY", &lo, &hi), 1);
    cr_assert(lo == 8 && hi == 8);
    cr_assert_eq(bl_segment_expected_len("range=1-99;len=2-3", &lo, &hi), 1);
    cr_assert(lo == 2 && hi == 3);
    cr_assert_eq(bl_segment_expected_len("date=DDMMYY", &lo, &hi), 1);
    cr_assert(lo == 6 && hi == 6);
    cr_assert_eq(bl_segment_expected_len("time=HHMM;check=luhn", &lo, &hi), 1);
    cr_assert(lo == 4 && hi == 4);
    cr_assert_eq(bl_segment_expected_len("", &lo, &hi), 0);
    cr_assert_eq(bl_segment_expected_len("len=x;lenx=3;range=1-5", &lo, &hi), 0);
    cr_assert(lo == 0 && hi == 0);
    cr_assert_eq(bl_segment_expected_len(NULL, &lo, &hi), 0);
}

Test(segment, an_expected_length_splits_a_wide_join_the_rules_keep)
{
    /* Two blobs merged over a long stretch: too solid a join for the
     * rules to cut, until the template says the field has 2 digits. */
    bl_image *crop = bl_image_new(150, 100);
    ellipse(crop, 10, 15, 50, 70);
    ellipse(crop, 45, 15, 50, 70);
    bl_segment_digit *d = NULL;
    int n = -1;
    cr_assert_eq(bl_segment_field(crop, &d, &n, NULL), BL_OK);
    cr_assert_eq(n, 1, "the rules alone keep the join (got %d)", n);
    free(d);
    cr_assert_eq(bl_segment_run_expect(NULL, crop, 2, 2, &d, &n, NULL), BL_OK);
    cr_assert_eq(n, 2, "got %d digits", n);
    int cut = d[1].box.x;
    cr_assert(cut >= 42 && cut <= 62, "cut at %d", cut);
    free(d);
    bl_image_destroy(&crop);
}

Test(segment, an_expected_length_merges_or_drops_extra_pieces)
{
    /* A digit in two pieces side by side and a stray blob, where the
     * template says 2 digits: the 4 pieces become 2. */
    bl_image *crop = bl_image_new(260, 100);
    ellipse(crop, 10, 15, 50, 70);
    fill(crop, 90, 15, 12, 70);
    fill(crop, 110, 15, 12, 70);
    ellipse(crop, 180, 15, 50, 70);
    bl_segment_digit *d = NULL;
    int n = -1;
    cr_assert_eq(bl_segment_field(crop, &d, &n, NULL), BL_OK);
    cr_assert_eq(n, 4, "the rules alone give 4 pieces (got %d)", n);
    free(d);
    cr_assert_eq(bl_segment_run_expect(NULL, crop, 3, 3, &d, &n, NULL), BL_OK);
    cr_assert_eq(n, 3, "got %d digits", n);
    cr_assert_eq(d[1].box.x, 90, "the two bars joined (x=%d)", d[1].box.x);
    cr_assert_eq(d[1].box.w, 32);
    free(d);
    bl_image_destroy(&crop);
}
