/*
 * detect: field finding on pages drawn in the test, so each rule of the
 * detector (specks, rules, frames, printed text, grouping, order) is
 * exercised with known geometry.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect.h"
#include "draw.h"
#include "image/image.h"

Test(detect, finds_two_fields_among_print_rules_and_boxes)
{
    bl_image *page = bl_image_new(1600, 1200);

    /* Printed title row: 20 short glyph-like blobs 28 px tall. */
    for (int i = 0; i < 20; i++)
        draw_fill(page, (bl_box){100 + i * 24, 80, 18, 28});
    /* A long ruled line under it. */
    draw_fill(page, (bl_box){100, 160, 1400, 4});
    /* Specks of dust. */
    draw_fill(page, (bl_box){1300, 500, 3, 3});
    draw_fill(page, (bl_box){200, 1000, 2, 4});

    /* Field 1: a printed label, then five digits 70 px tall. */
    for (int i = 0; i < 5; i++)
        draw_fill(page, (bl_box){100 + i * 22, 342, 16, 28});
    bl_box f1 = draw_ring(page, 300, 300, 45, 70);
    for (int i = 1; i < 5; i++)
        f1 = draw_union(f1, draw_ring(page, 300 + i * 60, 300 + (i % 2) * 4, 45, 70));

    /* Field 2: three digits 90 px tall inside a drawn box (margin 20). */
    bl_box f2 = draw_ring(page, 900, 700, 60, 90);
    f2 = draw_union(f2, draw_ring(page, 975, 702, 55, 90));
    f2 = draw_union(f2, draw_ring(page, 1045, 698, 60, 90));
    draw_fill(page, (bl_box){f2.x - 20, f2.y - 20, f2.w + 40, 3});
    draw_fill(page, (bl_box){f2.x - 20, f2.y + f2.h + 17, f2.w + 40, 3});
    draw_fill(page, (bl_box){f2.x - 20, f2.y - 20, 3, f2.h + 40});
    draw_fill(page, (bl_box){f2.x + f2.w + 17, f2.y - 20, 3, f2.h + 40});

    bl_box *boxes = NULL;
    int n = -1;
    bl_err err = {0};
    cr_assert_eq(bl_detect_fields(page, &boxes, &n, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(n, 2, "found %d fields", n);
    draw_assert_box(boxes[0], f1, "first field");
    draw_assert_box(boxes[1], f2, "second field");
    free(boxes);
    bl_image_destroy(&page);
}

Test(detect, orders_fields_in_a_row_left_to_right)
{
    bl_image *page = bl_image_new(1600, 600);
    /* Right field written slightly higher than the left one. */
    bl_box right = draw_ring(page, 1000, 190, 50, 80);
    right = draw_union(right, draw_ring(page, 1070, 190, 50, 80));
    bl_box left = draw_ring(page, 200, 200, 50, 80);
    left = draw_union(left, draw_ring(page, 270, 200, 50, 80));

    bl_box *boxes = NULL;
    int n = -1;
    cr_assert_eq(bl_detect_fields(page, &boxes, &n, NULL), BL_OK);
    cr_assert_eq(n, 2);
    draw_assert_box(boxes[0], left, "left field");
    draw_assert_box(boxes[1], right, "right field");
    free(boxes);
    bl_image_destroy(&page);
}

Test(detect, empty_page_has_no_fields)
{
    bl_image *page = bl_image_new(2480, 3508);
    bl_box *boxes = (bl_box *)&boxes; /* must be reset */
    int n = -1;
    cr_assert_eq(bl_detect_fields(page, &boxes, &n, NULL), BL_OK);
    cr_assert_eq(n, 0);
    cr_assert_null(boxes);
    bl_image_destroy(&page);
}

Test(detect, removes_an_underline_but_keeps_the_stroke_crossing_it)
{
    bl_image *page = bl_image_new(800, 400);
    draw_fill(page, (bl_box){100, 250, 600, 3});  /* an underline, 3 px */
    draw_ring(page, 300, 190, 60, 100); /* a digit the line crosses below its middle */
    draw_fill(page, (bl_box){500, 200, 40, 10});  /* a bar resting on the line from above */
    long erased = bl_detect_remove_lines(page);
    cr_assert_gt(erased, 0);
    /* The line is gone away from the strokes ... */
    cr_assert_eq(BL_PIX(page, 150, 251), 0);
    cr_assert_eq(BL_PIX(page, 650, 251), 0);
    /* ... the digit's strokes go on through the line, and the line between
     * its strokes (inside the ring) is gone ... */
    for (int y = 249; y < 254; y++) {
        cr_assert_eq(BL_PIX(page, 303, y), 1, "left stroke at y=%d erased", y);
        cr_assert_eq(BL_PIX(page, 356, y), 1, "right stroke at y=%d erased", y);
    }
    cr_assert_eq(BL_PIX(page, 330, 251), 0);
    /* ... and the bar above it keeps its own pixels. */
    cr_assert_eq(BL_PIX(page, 520, 205), 1);
    bl_image_destroy(&page);
}

Test(detect, digits_on_an_underline_and_in_a_comb_are_found_whole)
{
    bl_image *page = bl_image_new(1600, 800);
    /* Field 1: three digits resting on (touching) an underline. */
    bl_box f1 = draw_ring(page, 200, 200, 50, 80);
    f1 = draw_union(f1, draw_ring(page, 270, 202, 50, 80));
    f1 = draw_union(f1, draw_ring(page, 340, 198, 50, 80));
    draw_fill(page, (bl_box){150, 280, 500, 3});
    /* Field 2: two digits in a comb of three cells with short teeth. */
    bl_box f2 = draw_ring(page, 915, 500, 50, 80);
    f2 = draw_union(f2, draw_ring(page, 1015, 500, 50, 80));
    draw_fill(page, (bl_box){900, 600, 303, 3});
    for (int i = 0; i <= 3; i++)
        draw_fill(page, (bl_box){900 + i * 100, 570, 3, 33});

    bl_box *boxes = NULL;
    int n = -1;
    cr_assert_eq(bl_detect_fields(page, &boxes, &n, NULL), BL_OK);
    cr_assert_eq(n, 2, "found %d fields", n);
    /* The rings touching the line lose at most the rim below them. */
    cr_assert(boxes[0].x == f1.x && boxes[0].w == f1.w && boxes[0].y == f1.y &&
                  abs(boxes[0].h - f1.h) <= 3,
              "first field [%d %d %d %d]", boxes[0].x, boxes[0].y, boxes[0].w, boxes[0].h);
    draw_assert_box(boxes[1], f2, "comb field");
    free(boxes);
    bl_image_destroy(&page);
}

Test(detect, runs_without_a_model_and_refuses_a_bad_one)
{
    bl_err err = {0};
    bl_detect *det = bl_detect_new(NULL, &err);
    cr_assert_not_null(det);
    cr_assert_str_eq(bl_detect_model_id(det), "");
    bl_detect_destroy(&det);
    cr_assert_null(det);
    cr_assert_null(bl_detect_new("/nonexistent/detect.blm", &err));
    cr_assert_neq(err.code, 0);
}

Test(detect, shipped_model_loads)
{
    bl_err err = {0};
    bl_detect *det = bl_detect_new(BL_SOURCE_DIR "/models/detect-regions.blm", &err);
    cr_assert_not_null(det, "%s", err.msg);
    cr_assert(strncmp(bl_detect_model_id(det), "detect-regions@", 15) == 0);
    bl_detect_destroy(&det);
}
