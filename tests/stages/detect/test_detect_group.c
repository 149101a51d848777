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
