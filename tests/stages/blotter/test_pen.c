/*
 * pen: a sample drawn as a writer's pen draws it, and the binarised,
 * normalised crop the classifier's page augmentation trains on.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "blotter/pen.h"

/* A "1": a vertical bar 4 px wide from row 4 to row 23, with soft edges
 * like MNIST's gray. */
static void draw_one(uint8_t px[784])
{
    memset(px, 0, 784);
    for (int y = 4; y <= 23; y++) {
        px[y * 28 + 12] = 120;
        px[y * 28 + 13] = 255;
        px[y * 28 + 14] = 255;
        px[y * 28 + 15] = 120;
    }
}

static int ink_count(const bl_image *img, int level)
{
    int n = 0;
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++)
            n += BL_PIX(img, x, y) >= level;
    return n;
}

/* Mean x of the ink in row y, or -1. */
static double row_centre(const bl_image *img, int y)
{
    double sum = 0;
    int n = 0;
    for (int x = 0; x < img->width; x++)
        if (BL_PIX(img, x, y) >= BL_PEN_INK_LEVEL)
            sum += x, n++;
    return n ? sum / n : -1;
}

Test(pen, draws_the_sample_at_the_height_asked)
{
    uint8_t px[784];
    draw_one(px);
    bl_pen pen = {.h = 60, .wscale = 1, .slant = 0, .pen_lo = 40, .pen = 255};
    bl_box ink;
    bl_image *g = bl_pen_glyph(px, &pen, &ink);
    cr_assert_not_null(g);
    cr_expect(ink.h >= 56 && ink.h <= 62, "ink height %d for 60", ink.h);
    cr_expect(ink.w >= 6 && ink.w <= 16, "a 4 px bar three times larger, got %d", ink.w);
    bl_image_destroy(&g);
}

Test(pen, slant_moves_the_top_to_the_right)
{
    uint8_t px[784];
    draw_one(px);
    bl_pen pen = {.h = 60, .wscale = 1, .slant = 0.5, .pen_lo = 40, .pen = 255};
    bl_box ink;
    bl_image *g = bl_pen_glyph(px, &pen, &ink);
    cr_assert_not_null(g);
    double top = row_centre(g, ink.y + 2), bottom = row_centre(g, ink.y + ink.h - 3);
    cr_assert(top >= 0 && bottom >= 0);
    cr_expect(top - bottom > 0.4 * ink.h, "shift %.1f over %d rows", top - bottom, ink.h);
    bl_image_destroy(&g);
}

Test(pen, a_higher_pen_start_draws_thinner)
{
    uint8_t px[784];
    draw_one(px);
    bl_pen thick = {.h = 60, .wscale = 1, .slant = 0, .pen_lo = 10, .pen = 255};
    bl_pen thin = thick;
    thin.pen_lo = 130;
    bl_box a, b;
    bl_image *ga = bl_pen_glyph(px, &thick, &a), *gb = bl_pen_glyph(px, &thin, &b);
    cr_assert(ga && gb);
    cr_expect_gt(ink_count(ga, BL_PEN_INK_LEVEL), ink_count(gb, BL_PEN_INK_LEVEL));
    bl_image_destroy(&ga);
    bl_image_destroy(&gb);
}

Test(pen, a_blank_sample_draws_nothing)
{
    uint8_t px[784] = {0};
    bl_pen pen = {.h = 60, .wscale = 1, .slant = 0, .pen_lo = 40, .pen = 255};
    bl_box ink;
    cr_expect_null(bl_pen_glyph(px, &pen, &ink));
    uint8_t out[784];
    cr_expect_eq(bl_pen_mnist_crop(px, &pen, 0, 128, out), 0);
}

Test(pen, the_heavy_pen_broadens_within_the_glyph)
{
    uint8_t px[784];
    draw_one(px);
    bl_pen pen = {.h = 60, .wscale = 1, .slant = 0, .pen_lo = 40, .pen = 255};
    bl_box ink;
    bl_image *g = bl_pen_glyph(px, &pen, &ink);
    cr_assert_not_null(g);
    int before = ink_count(g, BL_PEN_INK_LEVEL), w = ink.w;
    bl_pen_heavy(g, &ink, 3);
    cr_expect_gt(ink_count(g, BL_PEN_INK_LEVEL), before);
    cr_expect_gt(ink.w, w, "the bar grows sideways");
    cr_expect(ink.x >= 0 && ink.x + ink.w <= g->width, "clipped to the glyph");
    bl_image_destroy(&g);
}

Test(pen, the_crop_is_binarised_and_normalised_like_a_cut_digit)
{
    uint8_t px[784];
    draw_one(px);
    bl_pen pen = {.h = 80, .wscale = 1, .slant = 0.3, .pen_lo = 40, .pen = 255};
    uint8_t out[784];
    cr_assert_eq(bl_pen_mnist_crop(px, &pen, 0, 128, out), 1);
    /* MNIST's way: the longer side 20 px, the centre of mass at the
     * centre of the 28 x 28 field. */
    int y0 = 28, y1 = -1;
    double mass = 0, mx = 0, my = 0;
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++)
            if (out[y * 28 + x]) {
                y0 = y < y0 ? y : y0;
                y1 = y;
                mass += out[y * 28 + x];
                mx += out[y * 28 + x] * x;
                my += out[y * 28 + x] * y;
            }
    cr_expect_eq(y1 - y0 + 1, 20);
    cr_expect(fabs(mx / mass - 14) < 1.0 && fabs(my / mass - 14) < 1.0, "centre %.1f,%.1f",
              mx / mass, my / mass);
    /* A threshold above the pen's darkness leaves no ink. */
    pen.pen = 100;
    cr_expect_eq(bl_pen_mnist_crop(px, &pen, 0, 128, out), 0);
}

Test(pen, random_crops_follow_the_seed_and_vary)
{
    uint8_t px[784], a[784], b[784], c[784];
    draw_one(px);
    bl_nn_rng r1, r2;
    bl_nn_rng_seed(&r1, 7);
    bl_nn_rng_seed(&r2, 7);
    int made = 0, differ = 0;
    for (int i = 0; i < 50; i++) {
        int ok1 = bl_pen_random_crop(px, &r1, a), ok2 = bl_pen_random_crop(px, &r2, b);
        cr_assert_eq(ok1, ok2);
        if (!ok1)
            continue;
        cr_assert_eq(memcmp(a, b, 784), 0, "the same seed draws the same crop");
        if (made && memcmp(a, c, 784) != 0)
            differ++;
        memcpy(c, a, 784);
        made++;
    }
    cr_expect_gt(made, 40, "a solid stroke survives almost every draw (%d of 50)", made);
    cr_expect_gt(differ, made / 2, "writers differ from draw to draw");
}
