/*
 * Tests of the bit-packed rasters: every bitmap operation must give exactly
 * what its byte-raster counterpart gives, on random noise (every bit
 * pattern, widths that are and are not multiples of 64) and on page-like
 * images (bands, lines, specks); plus the content hash's stability.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/bitmap.h"
#include "image/image.h"

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Binary noise with ink probability num / 256. */
static bl_image *noise(int w, int h, unsigned num, uint32_t seed)
{
    bl_image *img = bl_image_new(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            BL_PIX(img, x, y) = (lcg(&seed) & 255) < num;
    return img;
}

/* A page-like binary image: dark bands on some sides with ragged inner
 * edges, ruled lines touching them, text-like blocks and specks. */
static bl_image *page_like(int w, int h, int sides, uint32_t seed)
{
    bl_image *img = bl_image_new(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int d_top = 20 + (int)(lcg(&seed) % 5), d_left = 30 + (int)(lcg(&seed) % 4);
            int ink = ((sides & 1) && y < d_top) || ((sides & 8) && x < d_left) ||
                      ((sides & 2) && x >= w - 25) || ((sides & 4) && y >= h - 17);
            if (y % 97 == 50 && x > w / 5)
                ink = 1; /* a ruled line touching the right band */
            if ((x / 13) % 3 == 1 && (y / 31) % 2 == 1 && y % 31 > 8)
                ink = 1; /* letter blocks */
            if ((lcg(&seed) & 1023) == 0)
                ink = 1; /* specks */
            BL_PIX(img, x, y) = (uint8_t)ink;
        }
    return img;
}

static void assert_same(const bl_bitmap *b, const bl_image *img, const char *what)
{
    cr_assert_eq(b->width, img->width, "%s: width", what);
    cr_assert_eq(b->height, img->height, "%s: height", what);
    for (int y = 0; y < img->height; y++) {
        for (int x = 0; x < img->width; x++)
            cr_assert_eq(BL_BGET(b, x, y), BL_PIX(img, x, y) != 0, "%s: pixel %d,%d", what, x,
                         y);
        /* Padding bits stay 0. */
        if (img->width & 63)
            cr_assert_eq(BL_BROW(b, y)[b->wpl - 1] >> (img->width & 63), 0u,
                         "%s: padding of row %d", what, y);
    }
}

static const int sizes[][2] = {{1, 1}, {7, 3}, {63, 5}, {64, 9}, {65, 4}, {130, 70}, {301, 211}};
#define NSIZES (int)(sizeof sizes / sizeof sizes[0])

Test(bitmap, packs_and_unpacks_any_pattern)
{
    for (int i = 0; i < NSIZES; i++) {
        bl_image *img = noise(sizes[i][0], sizes[i][1], 128, 11u + (uint32_t)i);
        /* Nonzero values other than 1 count as ink too. */
        BL_PIX(img, 0, 0) = 200;
        bl_bitmap *b = bl_bitmap_from_binary(img);
        assert_same(b, img, "from_binary");
        bl_image *back = bl_bitmap_to_binary(b);
        for (int y = 0; y < img->height; y++)
            for (int x = 0; x < img->width; x++)
                cr_assert_eq(BL_PIX(back, x, y), BL_PIX(img, x, y) != 0);
        cr_assert_eq(bl_bitmap_ink_count(b), bl_image_ink_count(img));
        bl_image_destroy(&back);
        bl_bitmap_destroy(&b);
        bl_image_destroy(&img);
    }
}

Test(bitmap, threshold_matches_the_byte_threshold)
{
    uint32_t seed = 5;
    bl_image *gray = bl_image_new(203, 17);
    for (int y = 0; y < gray->height; y++)
        for (int x = 0; x < gray->width; x++)
            BL_PIX(gray, x, y) = (uint8_t)lcg(&seed);
    int levels[] = {-1, 0, 48, 127, 128, 254, 255};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        bl_bitmap *b = bl_bitmap_from_gray(gray, levels[i]);
        bl_image *ref = bl_image_binarize(gray, levels[i]);
        assert_same(b, ref, "threshold");
        bl_image_destroy(&ref);
        bl_bitmap_destroy(&b);
    }
    bl_image_destroy(&gray);
}

Test(bitmap, reduce_matches_the_byte_reduction)
{
    for (int i = 0; i < NSIZES; i++) {
        bl_image *img = noise(sizes[i][0], sizes[i][1], 100, 21u + (uint32_t)i);
        bl_bitmap *b = bl_bitmap_from_binary(img);
        bl_image *r1 = bl_image_reduce_ink(img, 2), *r2 = bl_bitmap_reduce_ink2(b);
        cr_assert_eq(r1->width, r2->width);
        cr_assert_eq(r1->height, r2->height);
        for (int y = 0; y < r1->height; y++)
            cr_assert_arr_eq(&BL_PIX(r1, 0, y), &BL_PIX(r2, 0, y), (size_t)r1->width);
        bl_image_destroy(&r1);
        bl_image_destroy(&r2);
        bl_bitmap_destroy(&b);
        bl_image_destroy(&img);
    }
}

Test(bitmap, runs_match_the_byte_runs)
{
    for (int i = 0; i < NSIZES; i++) {
        bl_image *img = noise(sizes[i][0], sizes[i][1], 160, 31u + (uint32_t)i);
        /* Full rows too: runs that reach the right edge. */
        memset(&BL_PIX(img, 0, 0), 1, (size_t)img->width);
        bl_bitmap *b = bl_bitmap_from_binary(img);
        bl_component *c1 = NULL, *c2 = NULL;
        int n1 = 0, n2 = 0;
        /* Components of the unpacked bitmap after a byte despeckle and a
         * bitmap despeckle of the same image must agree. */
        bl_image *d1 = bl_image_crop(img, (bl_box){0, 0, img->width, img->height});
        int r1 = bl_image_despeckle(d1, 6, 3, NULL);
        int r2 = bl_bitmap_despeckle(b, 6, 3, NULL);
        cr_assert_eq(r1, r2, "despeckle removed %d vs %d", r1, r2);
        assert_same(b, d1, "despeckle");
        bl_image *u = bl_bitmap_to_binary(b);
        cr_assert_eq(bl_image_components(u, &c2, &n2, NULL, NULL), BL_OK);
        cr_assert_eq(bl_image_components(d1, &c1, &n1, NULL, NULL) == BL_OK, 1);
        cr_assert_eq(n1, n2);
        free(c1);
        free(c2);
        bl_image_destroy(&u);
        bl_image_destroy(&d1);
        bl_bitmap_destroy(&b);
        bl_image_destroy(&img);
    }
}

Test(bitmap, components_match_the_byte_components)
{
    for (int i = 0; i < NSIZES; i++) {
        bl_image *img = noise(sizes[i][0], sizes[i][1], 110, 61u + (uint32_t)i);
        bl_bitmap *b = bl_bitmap_from_binary(img);
        bl_component *c1 = NULL, *c2 = NULL;
        int n1 = 0, n2 = 0;
        cr_assert_eq(bl_image_components(img, &c1, &n1, NULL, NULL), BL_OK);
        cr_assert_eq(bl_bitmap_components(b, &c2, &n2, NULL), BL_OK);
        cr_assert_eq(n1, n2);
        if (n1)
            cr_assert_eq(memcmp(c1, c2, (size_t)n1 * sizeof *c1), 0);
        free(c1);
        free(c2);
        bl_bitmap_destroy(&b);
        bl_image_destroy(&img);
    }
}

Test(bitmap, despeckle_and_dark_edges_match_on_page_like_images)
{
    int dims[][2] = {{640, 480}, {333, 517}, {128, 128}};
    for (int d = 0; d < 3; d++)
        for (int sides = 0; sides < 16; sides += 3) {
            bl_image *img = page_like(dims[d][0], dims[d][1], sides, 41u + (uint32_t)sides);
            bl_bitmap *b = bl_bitmap_from_binary(img);
            int m1 = bl_image_remove_dark_edges(img);
            int m2 = bl_bitmap_remove_dark_edges(b);
            cr_assert_eq(m1, m2, "sides %d: mask %d vs %d", sides, m1, m2);
            assert_same(b, img, "dark edges");
            int s1 = bl_image_despeckle(img, 30, 8, NULL);
            int s2 = bl_bitmap_despeckle(b, 30, 8, NULL);
            cr_assert_eq(s1, s2);
            cr_assert_gt(s1, 0);
            assert_same(b, img, "despeckle");
            bl_bitmap_destroy(&b);
            bl_image_destroy(&img);
        }
}

Test(bitmap, shear_rotation_matches_the_byte_rotation)
{
    double angles[] = {0.05, -0.3, 1.7, -5.0, 9.9, -30.0, 45.0};
    for (int i = 0; i < 4; i++) {
        int w = (int[]){300, 257, 64, 129}[i], h = (int[]){200, 311, 99, 64}[i];
        bl_image *img = noise(w, h, 90, 51u + (uint32_t)i);
        bl_bitmap *b = bl_bitmap_from_binary(img);
        for (size_t a = 0; a < sizeof angles / sizeof angles[0]; a++) {
            bl_affine m1, m2;
            bl_image *r1 = bl_image_rotate_shear(img, angles[a], &m1);
            bl_bitmap *r2 = bl_bitmap_rotate_shear(b, angles[a], &m2);
            cr_assert_eq(memcmp(&m1, &m2, sizeof m1), 0);
            assert_same(r2, r1, "shear rotation");
            bl_image_destroy(&r1);
            bl_bitmap_destroy(&r2);
        }
        bl_bitmap_destroy(&b);
        bl_image_destroy(&img);
    }
}

Test(bitmap, quarter_turns_match_the_byte_turns)
{
    for (int i = 0; i < NSIZES; i++) {
        bl_image *img = noise(sizes[i][0], sizes[i][1], 120, 71u + (uint32_t)i);
        bl_bitmap *b = bl_bitmap_from_binary(img);
        for (int k = -1; k <= 4; k++) {
            bl_affine m1, m2;
            bl_image *r1 = bl_image_rotate_quarter(img, k, &m1);
            bl_bitmap *r2 = bl_bitmap_rotate_quarter(b, k, &m2);
            cr_assert_eq(memcmp(&m1, &m2, sizeof m1), 0);
            assert_same(r2, r1, "quarter turn");
            bl_image_destroy(&r1);
            bl_bitmap_destroy(&r2);
        }
        bl_bitmap_destroy(&b);
        bl_image_destroy(&img);
    }
}

Test(bitmap, sauvola_bitmap_is_the_byte_binarisation)
{
    uint32_t seed = 9;
    bl_image *gray = bl_image_new(190, 150);
    for (int y = 0; y < gray->height; y++)
        for (int x = 0; x < gray->width; x++) {
            int paper = 230 - x / 3 + (int)(lcg(&seed) % 9);
            int ink = ((x / 7) % 4 == 0 && (y / 20) % 2 == 0) || (x > 150 && y > 120);
            BL_PIX(gray, x, y) = (uint8_t)(!ink ? paper : x > 150 && y > 120 ? 20 : paper / 3);
        }
    bl_bitmap *b = bl_bitmap_binarize_sauvola(gray, 15, 0.2, BL_SAUVOLA_SOLID);
    bl_image *ref = bl_image_binarize_sauvola(gray, 15, 0.2);
    assert_same(b, ref, "sauvola");
    /* And it finds the ink: the solid corner and the stripes, not paper. */
    cr_assert_eq(BL_BGET(b, 170, 140), 1);
    cr_assert_eq(BL_BGET(b, 0, 0), 1);
    cr_assert_eq(BL_BGET(b, 3, 30), 0);
    bl_bitmap_destroy(&b);
    bl_image_destroy(&ref);
    bl_image_destroy(&gray);
}

Test(bitmap, content_hash_is_stable_and_sees_every_byte)
{
    bl_image *a = bl_image_new(13, 5);
    for (int i = 0; i < 13 * 5; i++)
        a->data[i] = (uint8_t)(i * 7);
    /* The documented definition, computed byte by byte here: FNV-1a over
     * width, height and each row's little-endian, zero-padded words. */
    uint64_t h = 0xcbf29ce484222325ull;
    h = (h ^ 13u) * 0x100000001b3ull;
    h = (h ^ 5u) * 0x100000001b3ull;
    for (int y = 0; y < 5; y++)
        for (int w = 0; w < 2; w++) {
            uint64_t v = 0;
            for (int i = 0; i < 8 && 8 * w + i < 13; i++)
                v |= (uint64_t)BL_PIX(a, 8 * w + i, y) << (8 * i);
            h = (h ^ v) * 0x100000001b3ull;
        }
    cr_assert_eq(bl_image_content_hash(a), h);
    /* Every byte matters, including the last of a padded word. */
    for (int i = 0; i < 13 * 5; i++) {
        a->data[i] ^= 1;
        cr_assert_neq(bl_image_content_hash(a), h, "byte %d", i);
        a->data[i] ^= 1;
    }
    /* The same bytes in another shape hash differently. */
    bl_image b = *a;
    b.width = 5;
    b.height = 13;
    b.stride = 5;
    b.owns = 0;
    cr_assert_neq(bl_image_content_hash(&b), h);
    bl_image_destroy(&a);
}
