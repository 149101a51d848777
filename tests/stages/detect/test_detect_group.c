/*
 * detect grouping: which digit-sized components end up in one candidate
 * region, on pages drawn in the test. A label printed beside a field must
 * stay out of it; writing that belongs together must stay joined.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "detect/detect.h"
#include "draw.h"
#include "image/image.h"

/* The candidate region holding the centre of `b`, or NULL. */
static const bl_detect_region *region_at(const bl_detect_region *r, int n, bl_box b)
{
    int cx = b.x + b.w / 2, cy = b.y + b.h / 2;
    for (int i = 0; i < n; i++)
        if (cx >= r[i].box.x && cx < r[i].box.x + r[i].box.w && cy >= r[i].box.y &&
            cy < r[i].box.y + r[i].box.h)
            return &r[i];
    return NULL;
}

/* A printed capital 40 px tall (the least digit height) 100 px beside
 * four written digits 110 px tall: close enough for the gap rule of the
 * two groups, too short for the height rule two single digits pass. */
Test(detect_group, a_label_capital_beside_tall_digits_stays_out)
{
    bl_image *page = bl_image_new(1200, 500);
    bl_box field = {0};
    for (int i = 0; i < 4; i++)
        field = draw_union(field, draw_ring(page, 100 + i * 80, 200, 60, 110));
    /* The capital's top half way down the digits, as a label's line sits. */
    bl_box cap = draw_ring(page, field.x + field.w + 100, 240, 34, 40);

    bl_detect_region *r = NULL;
    int n = 0;
    bl_err err = {0};
    cr_assert_eq(bl_detect_candidates(page, &r, &n, &err), BL_OK, "%s", err.msg);
    const bl_detect_region *f = region_at(r, n, field);
    cr_assert_not_null(f);
    draw_assert_box(f->box, field, "the digits' region");
    cr_assert_neq(region_at(r, n, cap), f, "the capital joined the digits");
    free(r);
    bl_image_destroy(&page);
}

/* Two fields side by side, 180 px apart: farther than the grouping gap of
 * the 100 px digits facing each other across it (1.7 x 100), nearer than
 * that of the tallest digit of each (1.7 x (140 + 100) / 2). The tall
 * digit at the far end of the left field does not reach across to the
 * right one. */
Test(detect_group, fields_apart_by_their_facing_digits_stay_apart)
{
    bl_image *page = bl_image_new(1200, 500);
    bl_box left = draw_ring(page, 100, 180, 60, 140);
    for (int i = 1; i < 3; i++)
        left = draw_union(left, draw_ring(page, 100 + i * 80, 200, 60, 100));
    bl_box right = {0};
    for (int i = 0; i < 2; i++)
        right = draw_union(right, draw_ring(page, left.x + left.w + 180 + i * 80, 205, 60, 100));

    bl_detect_region *r = NULL;
    int n = 0;
    cr_assert_eq(bl_detect_candidates(page, &r, &n, NULL), BL_OK);
    const bl_detect_region *a = region_at(r, n, left), *b = region_at(r, n, right);
    cr_assert(a && b);
    draw_assert_box(a->box, left, "the left field");
    draw_assert_box(b->box, right, "the right field");
    free(r);
    bl_image_destroy(&page);
}
