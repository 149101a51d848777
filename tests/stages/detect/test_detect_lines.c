/*
 * detect line removal at its thresholds and at the page's edges: the run
 * filters work on packed words, so runs that end in a row's last word, end
 * at the last row, or are one pixel short of the threshold are where an
 * off-by-one would show.
 */
#include <criterion/criterion.h>

#include "detect/detect.h"
#include "image/image.h"

static void fill(bl_image *img, int x, int y, int w, int h)
{
    for (int yy = y; yy < y + h; yy++)
        for (int xx = x; xx < x + w; xx++)
            BL_PIX(img, xx, yy) = 1;
}

static long ink_in(const bl_image *img, int x, int y, int w, int h)
{
    long n = 0;
    for (int yy = y; yy < y + h; yy++)
        for (int xx = x; xx < x + w; xx++)
            n += BL_PIX(img, xx, yy) != 0;
    return n;
}

/* 130 px down a column is a line, 129 px is not (a free-standing bar of
 * that length is a stroke), at the top and bottom edges and in the last,
 * partly used word of a row. */
Test(detect_lines, vertical_threshold_at_the_page_edges)
{
    bl_image *page = bl_image_new(203, 300);
    fill(page, 200, 0, 3, 130);   /* line: top edge, last columns */
    fill(page, 20, 171, 3, 129);  /* bar: bottom edge */
    fill(page, 100, 170, 3, 130); /* line: bottom edge */
    long erased = bl_detect_remove_lines(page);
    cr_assert_eq(erased, 2 * 3 * 130, "erased %ld", erased);
    cr_assert_eq(ink_in(page, 200, 0, 3, 130), 0);
    cr_assert_eq(ink_in(page, 100, 170, 3, 130), 0);
    cr_assert_eq(ink_in(page, 20, 171, 3, 129), 3 * 129);
    bl_image_destroy(&page);
}

/* 120 px along a row is a line, 119 px is not; a page shorter than a
 * vertical line keeps a column of ink the full height. */
Test(detect_lines, horizontal_threshold_and_a_short_page)
{
    bl_image *page = bl_image_new(250, 100);
    fill(page, 130, 0, 120, 2);  /* line: first rows, ends at the last column */
    fill(page, 0, 98, 119, 2);   /* bar: last rows, from the first column */
    fill(page, 180, 20, 3, 80);  /* column to the bottom edge, too short */
    long erased = bl_detect_remove_lines(page);
    cr_assert_eq(erased, 120 * 2, "erased %ld", erased);
    cr_assert_eq(ink_in(page, 130, 0, 120, 2), 0);
    cr_assert_eq(ink_in(page, 0, 98, 119, 2), 119 * 2);
    cr_assert_eq(ink_in(page, 180, 20, 3, 80), 3 * 80);
    bl_image_destroy(&page);
}

/* Candidates and the whole run agree with line removal done first: a page
 * with lines only has none left and no candidates. */
Test(detect_lines, a_ruled_grid_leaves_nothing)
{
    bl_image *page = bl_image_new(700, 600);
    for (int y = 50; y < 600; y += 100)
        fill(page, 10, y, 680, 3);
    for (int x = 10; x < 700; x += 170)
        fill(page, x, 50, 3, 500);
    bl_box *boxes = NULL;
    int n = -1;
    bl_err err = {0};
    cr_assert_eq(bl_detect_run(NULL, page, &boxes, &n, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 0);
    cr_assert_eq(ink_in(page, 0, 0, 700, 600), 0);
    bl_image_destroy(&page);
}

/* What line removal hands to template matching is every pixel it erased
 * as form line: the long runs, and the bars hanging off them that the run
 * filters cannot see (a comb's teeth, a piece of a broken rule). */
Test(detect_lines, kept_lines_include_the_bars_erased)
{
    bl_image *page = bl_image_new(1200, 600);
    fill(page, 100, 100, 800, 3);   /* a comb's top: a line */
    for (int x = 100; x <= 900; x += 100)
        fill(page, x, 103, 3, 80);  /* its teeth: bars, too short */
    fill(page, 100, 400, 300, 2);   /* a rule broken in two: a line ... */
    fill(page, 402, 401, 200, 2);   /* ... and a rule a pixel lower */
    long ink = ink_in(page, 0, 0, 1200, 600);
    bl_bitmap *lines = NULL;
    long erased = bl_detect_remove_lines_keep(page, &lines);
    cr_assert_not_null(lines);
    cr_expect_eq(erased, ink, "erased %ld of %ld", erased, ink);
    cr_expect_eq(ink_in(page, 0, 0, 1200, 600), 0);
    cr_expect_eq((long)bl_bitmap_ink_count(lines), ink, "%ld line pixels kept of %ld",
                 (long)bl_bitmap_ink_count(lines), ink);
    for (int x = 100; x <= 900; x += 100)
        cr_expect(BL_BGET(lines, x + 1, 150), "tooth at %d not kept", x);
    cr_expect(BL_BGET(lines, 500, 401), "the broken rule's second piece not kept");
    bl_bitmap_destroy(&lines);
    bl_image_destroy(&page);
}

/* A comb tooth whose edge speckle has bitten into (its first ink three
 * pixels in on a few rows) is still a bar hanging off the comb's line and
 * goes with it; a slanted thin stroke resting on the line is writing and
 * stays. */
Test(detect_lines, a_tooth_with_a_bitten_edge_goes_a_slanted_stroke_stays)
{
    bl_image *page = bl_image_new(600, 300);
    fill(page, 50, 200, 500, 3);  /* the comb's base line */
    fill(page, 150, 140, 5, 60);  /* a tooth, 5 px wide, 60 tall */
    for (int y = 145; y < 195; y += 12)
        for (int x = 150; x < 153; x++)
            BL_PIX(page, x, y) = 0; /* bites 3 px deep on 5 rows */
    for (int y = 140; y < 200; y++) /* a stroke leaning 1 px in 8 */
        fill(page, 400 + (200 - y) / 8, y, 4, 1);
    long stroke = ink_in(page, 395, 130, 30, 70);
    bl_detect_remove_lines(page);
    cr_expect_eq(ink_in(page, 140, 130, 30, 70), 0, "%ld pixels of the tooth left",
                 ink_in(page, 140, 130, 30, 70));
    cr_expect_eq(ink_in(page, 395, 130, 30, 70), stroke, "the stroke lost %ld pixels",
                 stroke - ink_in(page, 395, 130, 30, 70));
    bl_image_destroy(&page);
}

/* A box of cells on a form of no known design, drawn by a light scan: its
 * lines broken into dashes too short for the run filter, its cell walls
 * short bars. The lines go, the walls hanging off them go with them, and
 * the digits in the cells stay whole. */
Test(detect_lines, a_dashed_comb_goes_when_no_template_matches)
{
    bl_image *page = bl_image_new(900, 400);
    for (int x = 100; x < 700; x += 40) {
        fill(page, x, 100, 34, 2); /* top, dashes of 34 px to x = 694 */
        fill(page, x, 200, 34, 2); /* bottom */
    }
    static const int walls[] = {100, 220, 340, 460, 580, 692};
    for (int i = 0; i < 6; i++)
        fill(page, walls[i], 102, 2, 98); /* the cell walls */
    fill(page, 150, 120, 12, 60);  /* a 1 and a 7 in two cells */
    fill(page, 270, 125, 40, 10);
    fill(page, 300, 125, 10, 55);
    long one = ink_in(page, 140, 115, 30, 70), seven = ink_in(page, 260, 115, 60, 70);
    bl_box *boxes = NULL;
    int n = -1;
    bl_err err = {0};
    cr_assert_eq(bl_detect_run(NULL, page, &boxes, &n, NULL, &err), 0, "%s", err.msg);
    cr_expect_eq(ink_in(page, 90, 95, 700, 10), 0, "top: %ld pixels left",
                 ink_in(page, 90, 95, 700, 10));
    cr_expect_eq(ink_in(page, 90, 195, 700, 10), 0, "bottom: %ld pixels left",
                 ink_in(page, 90, 195, 700, 10));
    for (int i = 0; i < 6; i++)
        cr_expect_eq(ink_in(page, walls[i] - 3, 105, 8, 90), 0, "the wall at %d stayed",
                     walls[i]);
    cr_expect_eq(ink_in(page, 140, 115, 30, 70), one, "the 1 lost pixels");
    cr_expect_eq(ink_in(page, 260, 115, 60, 70), seven, "the 7 lost pixels");
    free(boxes);
    bl_image_destroy(&page);
}
