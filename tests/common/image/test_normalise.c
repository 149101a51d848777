/*
 * Tests of the page normalisation operations: Sauvola binarisation,
 * despeckling, dark edge removal, skew estimation, rotation.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

/* Deterministic small generator for the synthetic pages. */
static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static void fill_rect(bl_image *img, int x, int y, int w, int h, uint8_t v)
{
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w; i++)
            if (i >= 0 && j >= 0 && i < img->width && j < img->height)
                BL_PIX(img, i, j) = v;
}

/* A binary page of text-like lines whose baselines descend to the right
 * with slope tan(deg): words are runs of letter blocks of x-height with
 * some ascenders, the way printed lines look at 300 dpi. */
static bl_image *text_page(int w, int h, double deg, uint32_t seed)
{
    bl_image *img = bl_image_new(w, h);
    double t = tan(deg * 3.14159265358979 / 180.0);
    for (int base = 200; base < h - 200; base += 50) {
        int x = 150 + (int)(lcg(&seed) % 40);
        while (x < w - 200) {
            int letters = 2 + (int)(lcg(&seed) % 7);
            for (int l = 0; l < letters; l++) {
                int lw = 10 + (int)(lcg(&seed) % 8);
                int lh = lcg(&seed) % 4 == 0 ? 30 : 20;
                for (int i = x; i < x + lw - 3; i++) {
                    int y0 = base - lh + (int)lround((i - w / 2) * t);
                    for (int j = y0; j < y0 + lh; j++)
                        if (j >= 0 && j < h)
                            BL_PIX(img, i, j) = 1;
                }
                x += lw;
            }
            x += 15 + (int)(lcg(&seed) % 10);
        }
    }
    return img;
}

/* ---- binarisation ------------------------------------------------------ */

Test(normalise, sauvola_beats_otsu_under_a_lighting_gradient)
{
    /* Paper goes from 250 at the left to 90 at the right (a lamp on one
     * side); ink is 100 levels darker than the paper around it. */
    int W = 800, H = 400;
    bl_image *truth = text_page(W, H, 0, 7);
    bl_image *gray = bl_image_new(W, H);
    uint32_t seed = 3;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int paper = 250 - 160 * x / (W - 1);
            int v = BL_PIX(truth, x, y) ? paper - 100 : paper;
            v += (int)(lcg(&seed) % 9) - 4;
            BL_PIX(gray, x, y) = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    bl_image *sauvola = bl_image_binarize_sauvola(gray, 15, 0.2);
    bl_image *otsu = bl_image_binarize(gray, bl_image_otsu_level(gray));
    long err_s = 0, err_o = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            err_s += BL_PIX(sauvola, x, y) != BL_PIX(truth, x, y);
            err_o += BL_PIX(otsu, x, y) != BL_PIX(truth, x, y);
        }
    cr_assert_lt(err_s * 10, err_o, "sauvola %ld errors, otsu %ld", err_s, err_o);
    cr_assert_lt(err_s, W * H / 100, "sauvola %ld errors", err_s);
    bl_image_destroy(&sauvola);
    bl_image_destroy(&otsu);
    bl_image_destroy(&gray);
    bl_image_destroy(&truth);
}

Test(normalise, sauvola_keeps_solid_dark_areas_solid_and_clean_paper_clean)
{
    bl_image *gray = bl_image_new(300, 200);
    memset(gray->data, 235, 300 * 200);
    uint32_t seed = 11;
    for (int y = 0; y < 200; y++)
        for (int x = 0; x < 300; x++) {
            int v = x < 60 ? 20 : 235;
            BL_PIX(gray, x, y) = (uint8_t)(v + (int)(lcg(&seed) % 11) - 5);
        }
    bl_image *bin = bl_image_binarize_sauvola(gray, 15, 0.2);
    for (int y = 0; y < 200; y++) {
        for (int x = 0; x < 55; x++)
            cr_assert_eq(BL_PIX(bin, x, y), 1, "dark band hollow at %d,%d", x, y);
        for (int x = 80; x < 300; x++)
            cr_assert_eq(BL_PIX(bin, x, y), 0, "noise became ink at %d,%d", x, y);
    }
    bl_image_destroy(&bin);
    bl_image_destroy(&gray);
}

/* ---- cleaning ---------------------------------------------------------- */

Test(normalise, despeckle_removes_small_specks_and_keeps_strokes)
{
    bl_image *bin = bl_image_new(200, 200);
    fill_rect(bin, 20, 20, 3, 3, 1);    /* 9 px speck */
    fill_rect(bin, 60, 60, 5, 5, 1);    /* 25 px speck */
    fill_rect(bin, 100, 20, 2, 60, 1);  /* a thin stroke: long box */
    fill_rect(bin, 150, 150, 12, 12, 1); /* a blob */
    BL_PIX(bin, 5, 190) = 1;            /* a lone pixel */
    bl_err err = {0};
    int removed = bl_image_despeckle(bin, 30, 8, &err);
    cr_assert_eq(removed, 3, "removed %d (%s)", removed, err.msg);
    cr_assert_eq(BL_PIX(bin, 21, 21), 0);
    cr_assert_eq(BL_PIX(bin, 62, 62), 0);
    cr_assert_eq(BL_PIX(bin, 5, 190), 0);
    cr_assert_eq(bl_image_ink_count(bin), 2 * 60 + 144);
    bl_image_destroy(&bin);
}

Test(normalise, despeckle_counts_diagonal_neighbours_as_one_component)
{
    bl_image *bin = bl_image_new(50, 50);
    /* A diagonal of 20 single pixels: one 8-connected component of 20
     * pixels whose box is 20 x 20, too big to be a speck. */
    for (int i = 0; i < 20; i++)
        BL_PIX(bin, 10 + i, 10 + i) = 1;
    cr_assert_eq(bl_image_despeckle(bin, 30, 8, NULL), 0);
    cr_assert_eq(bl_image_ink_count(bin), 20);
    bl_image_destroy(&bin);
}

Test(normalise, removes_a_ragged_dark_edge_but_not_the_line_touching_it)
{
    int W = 400, H = 300;
    bl_image *bin = bl_image_new(W, H);
    uint32_t seed = 5;
    /* Left band 20..30 px deep, ragged. */
    for (int y = 0; y < H; y++)
        fill_rect(bin, 0, y, 20 + (int)(lcg(&seed) % 11), 1, 1);
    /* A ruled line that touches the band, and text well inside. */
    fill_rect(bin, 0, 150, 300, 3, 1);
    fill_rect(bin, 100, 50, 30, 40, 1);
    /* A stroke that touches the top border only at one place. */
    fill_rect(bin, 200, 0, 3, 40, 1);
    int sides = bl_image_remove_dark_edges(bin);
    cr_assert_eq(sides, 8, "sides %d", sides);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < 20; x++)
            if (y < 150 || y > 152)
                cr_assert_eq(BL_PIX(bin, x, y), 0, "band left at %d,%d", x, y);
    /* The ruled line survives beyond the band's edge. */
    for (int x = 40; x < 300; x++)
        cr_assert_eq(BL_PIX(bin, x, 151), 1, "line cut at %d", x);
    cr_assert_eq(BL_PIX(bin, 110, 60), 1);
    cr_assert_eq(BL_PIX(bin, 201, 20), 1, "a stroke touching the top is kept");
    bl_image_destroy(&bin);
}

Test(normalise, clean_page_has_no_dark_edges)
{
    bl_image *bin = text_page(600, 500, 0, 1);
    uint64_t before = bl_image_ink_count(bin);
    cr_assert_eq(bl_image_remove_dark_edges(bin), 0);
    cr_assert_eq(bl_image_ink_count(bin), before);
    bl_image_destroy(&bin);
}

/* ---- skew -------------------------------------------------------------- */

Test(normalise, reduce_ink_counts_blocks)
{
    bl_image *bin = bl_image_new(5, 3);
    BL_PIX(bin, 0, 0) = BL_PIX(bin, 1, 1) = BL_PIX(bin, 4, 2) = BL_PIX(bin, 3, 0) = 1;
    bl_image *r = bl_image_reduce_ink(bin, 2);
    cr_assert_eq(r->width, 3);
    cr_assert_eq(r->height, 2);
    cr_assert_eq(BL_PIX(r, 0, 0), 2);
    cr_assert_eq(BL_PIX(r, 1, 0), 1);
    cr_assert_eq(BL_PIX(r, 2, 1), 1);
    cr_assert_eq(BL_PIX(r, 0, 1), 0);
    bl_image_destroy(&r);
    bl_image_destroy(&bin);
}

Test(normalise, deskew_recovers_known_angles_within_0_3_degrees)
{
    const double angles[] = {0.0, 0.5, -0.5, 3.0, -3.0, 9.5, -9.5};
    for (size_t i = 0; i < sizeof angles / sizeof angles[0]; i++) {
        bl_image *page = text_page(2480, 3508, angles[i], (uint32_t)(100 + i));
        bl_skew_est est;
        cr_assert_eq(bl_image_find_skew(page, 12, &est), BL_OK);
        cr_assert_lt(fabs(est.angle - angles[i]), 0.3, "true %.2f found %.3f", angles[i],
                     est.angle);
        cr_assert_gt(est.conf, 2.0, "conf %.2f at %.1f", est.conf, angles[i]);
        bl_image_destroy(&page);
    }
}

Test(normalise, deskew_sign_matches_rotate)
{
    /* A level page turned clockwise by 4 degrees measures +4. */
    bl_image *level = text_page(1600, 2000, 0, 9);
    bl_image *turned = bl_image_rotate(level, 4.0, 1600, 2000, 0, NULL);
    bl_skew_est est;
    cr_assert_eq(bl_image_find_skew(turned, 12, &est), BL_OK);
    cr_assert_lt(fabs(est.angle - 4.0), 0.3, "found %.3f", est.angle);
    bl_image_destroy(&turned);
    bl_image_destroy(&level);
}

Test(normalise, skew_of_an_empty_page_is_enoent)
{
    bl_image *page = bl_image_new(300, 300);
    bl_skew_est est;
    cr_assert_eq(bl_image_find_skew(page, 10, &est), BL_ENOENT);
    cr_assert_eq(est.conf, 0);
    bl_image_destroy(&page);
}

/* ---- rotation ---------------------------------------------------------- */

Test(normalise, quarter_turns_move_pixels_and_maps_agree)
{
    bl_image *img = bl_image_new(7, 4);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 7; x++)
            BL_PIX(img, x, y) = (uint8_t)(y * 7 + x);
    for (int k = 0; k < 4; k++) {
        bl_affine m;
        bl_image *r = bl_image_rotate_quarter(img, k, &m);
        cr_assert_eq(r->width, k % 2 ? 4 : 7);
        for (int y = 0; y < r->height; y++)
            for (int x = 0; x < r->width; x++) {
                double sx, sy;
                bl_affine_apply(m, x + 0.5, y + 0.5, &sx, &sy);
                int ix = (int)floor(sx), iy = (int)floor(sy);
                cr_assert_eq(BL_PIX(r, x, y), BL_PIX(img, ix, iy), "k %d at %d,%d", k, x, y);
            }
        /* The general rotation by k * 90 is the same permutation. */
        bl_image *g = bl_image_rotate(img, 90.0 * k, r->width, r->height, 255, NULL);
        cr_assert_eq(memcmp(g->data, r->data, (size_t)r->width * (size_t)r->height), 0);
        bl_image_destroy(&g);
        bl_image_destroy(&r);
    }
    /* Clockwise: the top-left pixel goes to the top-right corner. */
    bl_image *r = bl_image_rotate_quarter(img, 1, NULL);
    cr_assert_eq(BL_PIX(r, 3, 0), 0);
    cr_assert_eq(BL_PIX(r, 0, 0), 21);
    bl_image_destroy(&r);
    bl_image_destroy(&img);
}

Test(normalise, rotation_round_trips)
{
    bl_image *page = text_page(800, 600, 0, 21);
    bl_affine there, back;
    bl_image *turned = bl_image_rotate(page, 7.0, 800, 600, 0, &there);
    bl_image *again = bl_image_rotate(turned, -7.0, 800, 600, 0, &back);
    /* The composed maps are the identity. */
    bl_affine id = bl_affine_compose(there, back);
    cr_assert_float_eq(id.a, 1.0, 1e-12);
    cr_assert_float_eq(id.b, 0.0, 1e-12);
    cr_assert_float_eq(id.c, 0.0, 1e-9);
    cr_assert_float_eq(id.d, 0.0, 1e-12);
    cr_assert_float_eq(id.e, 1.0, 1e-12);
    cr_assert_float_eq(id.f, 0.0, 1e-9);
    /* Pixels away from the cut corners come back, up to a one-pixel
     * jitter along edges from the two nearest-neighbour steps. */
    long same = 0, total = 0;
    for (int y = 100; y < 500; y++)
        for (int x = 100; x < 700; x++) {
            total++;
            same += BL_PIX(again, x, y) == BL_PIX(page, x, y);
        }
    cr_assert_gt((double)same / (double)total, 0.97, "%ld of %ld", same, total);
    bl_image_destroy(&again);
    bl_image_destroy(&turned);
    bl_image_destroy(&page);
}

Test(normalise, rotation_map_sends_a_point_where_the_pixel_went)
{
    bl_image *img = bl_image_new(300, 200);
    fill_rect(img, 250, 30, 4, 4, 1);
    bl_affine m;
    bl_image *r = bl_image_rotate(img, -6.0, 320, 240, 0, &m);
    /* Find the dot in the result and map its centre back. */
    double sx = 0, sy = 0, n = 0;
    for (int y = 0; y < r->height; y++)
        for (int x = 0; x < r->width; x++)
            if (BL_PIX(r, x, y)) {
                sx += x + 0.5;
                sy += y + 0.5;
                n++;
            }
    cr_assert_gt(n, 0);
    double ox, oy;
    bl_affine_apply(m, sx / n, sy / n, &ox, &oy);
    cr_assert_lt(fabs(ox - 252), 1.0, "x %.2f", ox);
    cr_assert_lt(fabs(oy - 32), 1.0, "y %.2f", oy);
    bl_image_destroy(&r);
    bl_image_destroy(&img);
}

Test(normalise, transpose_swaps_axes)
{
    bl_image *img = bl_image_new(130, 70);
    BL_PIX(img, 129, 3) = 9;
    bl_image *t = bl_image_transpose(img);
    cr_assert_eq(t->width, 70);
    cr_assert_eq(t->height, 130);
    cr_assert_eq(BL_PIX(t, 3, 129), 9);
    bl_image_destroy(&t);
    bl_image_destroy(&img);
}

Test(normalise, shear_rotation_agrees_with_the_rotation_map)
{
    const double angles[] = {-9.5, -3.0, 0.4, 6.0};
    for (int i = 0; i < 4; i++) {
        bl_image *page = text_page(900, 700, 0, 31);
        bl_affine ms, mr;
        bl_image *sh = bl_image_rotate_shear(page, angles[i], &ms);
        bl_image *rm = bl_image_rotate(page, angles[i], 900, 700, 0, &mr);
        cr_assert_eq(memcmp(&ms, &mr, sizeof ms), 0, "the same map is reported");
        long same = 0, total = 0;
        for (int y = 150; y < 550; y++)
            for (int x = 150; x < 750; x++) {
                total++;
                same += BL_PIX(sh, x, y) == BL_PIX(rm, x, y);
            }
        cr_assert_gt((double)same / (double)total, 0.93, "%.1f deg: %ld of %ld", angles[i],
                     same, total);
        cr_assert_eq(bl_image_ink_count(sh) > 0, 1);
        bl_image_destroy(&rm);
        bl_image_destroy(&sh);
        bl_image_destroy(&page);
    }
    /* A dot lands within 1.5 pixels of where the map says. */
    bl_image *img = bl_image_new(300, 200);
    fill_rect(img, 250, 30, 4, 4, 1);
    bl_affine m;
    bl_image *r = bl_image_rotate_shear(img, -7.0, &m);
    double sx = 0, sy = 0, n = 0;
    for (int y = 0; y < r->height; y++)
        for (int x = 0; x < r->width; x++)
            if (BL_PIX(r, x, y)) {
                sx += x + 0.5;
                sy += y + 0.5;
                n++;
            }
    cr_assert_gt(n, 0);
    double ox, oy;
    bl_affine_apply(m, sx / n, sy / n, &ox, &oy);
    cr_assert_lt(hypot(ox - 252, oy - 32), 1.5, "%.2f, %.2f", ox, oy);
    bl_image_destroy(&r);
    bl_image_destroy(&img);
}
