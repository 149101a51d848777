#include <criterion/criterion.h>
#include <string.h>

#include "ingest/ingest.h"

/* A gray page with a dark square at (x, y) of side s. */
static bl_image *page_with_square(int w, int h, int x, int y, int s)
{
    bl_image *img = bl_image_new(w, h);
    memset(img->data, 230, (size_t)img->stride * (size_t)h);
    for (int j = y; j < y + s; j++)
        for (int i = x; i < x + s; i++)
            BL_PIX(img, i, j) = 20;
    return img;
}

Test(ingest, keeps_a_300_dpi_page_as_is_and_binarises_it)
{
    bl_image *gray = page_with_square(300, 400, 100, 120, 50);
    bl_page_info info = {.dpi_x = 300, .dpi_y = 300, .bits_per_sample = 8};
    bl_work *work = bl_work_new();
    bl_err err = {0};
    cr_assert_eq(bl_ingest_page(gray, &info, work, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(work->page->width, 300);
    cr_assert_eq(work->page->height, 400);
    cr_assert_eq(BL_PIX(work->page, 110, 130), 1, "ink is 1");
    cr_assert_eq(BL_PIX(work->page, 10, 10), 0, "paper is 0");
    cr_assert_float_eq(work->to_source.a, 1.0, 1e-9);
    cr_assert_float_eq(work->to_source.e, 1.0, 1e-9);
    cr_assert_eq(work->src_width, 300);
    bl_work_destroy(&work);
    bl_image_destroy(&gray);
}

Test(ingest, resamples_600_dpi_to_300_and_maps_back)
{
    bl_image *gray = page_with_square(1200, 800, 400, 200, 100);
    bl_page_info info = {.dpi_x = 600, .dpi_y = 600, .bits_per_sample = 8};
    bl_work *work = bl_work_new();
    bl_err err = {0};
    cr_assert_eq(bl_ingest_page(gray, &info, work, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(work->page->width, 600);
    cr_assert_eq(work->page->height, 400);
    /* The square is now at (200, 100) with side 50 ... */
    cr_assert_eq(BL_PIX(work->page, 225, 125), 1);
    cr_assert_eq(BL_PIX(work->page, 190, 90), 0);
    /* ... and the transform takes page pixels back to the file's. */
    const bl_transform *t = &work->to_source;
    cr_assert_float_eq(t->a * 200 + t->b * 100 + t->c, 400.0, 1e-6);
    cr_assert_float_eq(t->d * 200 + t->e * 100 + t->f, 200.0, 1e-6);
    bl_work_destroy(&work);
    bl_image_destroy(&gray);
}

Test(ingest, refuses_an_implausible_resolution)
{
    bl_image *gray = page_with_square(100, 100, 10, 10, 10);
    bl_page_info info = {.dpi_x = 0, .dpi_y = 300};
    bl_work *work = bl_work_new();
    bl_err err = {0};
    cr_assert_eq(bl_ingest_page(gray, &info, work, &err), BL_EFORMAT);
    cr_assert(strstr(err.msg, "resolution") != NULL, "%s", err.msg);
    cr_assert_null(work->page);
    bl_work_destroy(&work);
    bl_image_destroy(&gray);
}

Test(ingest, same_pixels_give_the_same_content_hash)
{
    bl_image *a = page_with_square(200, 200, 50, 50, 20);
    bl_image *b = page_with_square(200, 200, 50, 50, 20);
    bl_image *c = page_with_square(200, 200, 51, 50, 20);
    bl_page_info info = {.dpi_x = 300, .dpi_y = 300};
    bl_work *wa = bl_work_new(), *wb = bl_work_new(), *wc = bl_work_new();
    cr_assert_eq(bl_ingest_page(a, &info, wa, NULL), BL_OK);
    cr_assert_eq(bl_ingest_page(b, &info, wb, NULL), BL_OK);
    cr_assert_eq(bl_ingest_page(c, &info, wc, NULL), BL_OK);
    cr_assert_eq(wa->content_hash, wb->content_hash);
    cr_assert_neq(wa->content_hash, wc->content_hash);
    bl_work_destroy(&wa);
    bl_work_destroy(&wb);
    bl_work_destroy(&wc);
    bl_image_destroy(&a);
    bl_image_destroy(&b);
    bl_image_destroy(&c);
}
