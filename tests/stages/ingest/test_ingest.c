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

/* ---- Normalisation ---------------------------------------------------- */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* An upright binary page of text-like lines and one solid 'field' block at
 * (fx, fy, 90 x 50), the largest component, for finding again. */
static bl_image *form_page(int w, int h, int fx, int fy)
{
    bl_image *img = bl_image_new(w, h);
    uint32_t seed = 77;
    for (int base = 150; base < h - 150; base += 60) {
        int x = 120;
        while (x < w - 200) {
            int letters = 2 + (int)(lcg(&seed) % 6);
            for (int l = 0; l < letters; l++) {
                int lw = 12 + (int)(lcg(&seed) % 6), lh = lcg(&seed) % 4 ? 22 : 32;
                for (int j = base - lh; j < base; j++)
                    for (int i = x; i < x + lw - 4; i++)
                        if (i < w && !(i >= fx - 20 && i < fx + 110 && j >= fy - 20 &&
                                       j < fy + 70))
                            BL_PIX(img, i, j) = 1;
                x += lw;
            }
            x += 20 + (int)(lcg(&seed) % 10);
        }
    }
    for (int j = fy; j < fy + 50; j++)
        for (int i = fx; i < fx + 90; i++)
            BL_PIX(img, i, j) = 1;
    return img;
}

static bl_box largest_component(const bl_image *bin)
{
    bl_component *cs = NULL;
    int n = 0;
    cr_assert_eq(bl_image_components(bin, &cs, &n, NULL, NULL), BL_OK);
    int best = 0;
    for (int i = 1; i < n; i++)
        if (cs[i].pixels > cs[best].pixels)
            best = i;
    cr_assert_gt(n, 0);
    bl_box b = cs[best].box;
    free(cs);
    return b;
}

/* The file-coordinate box of a page box: its four corners through t. */
static void map_box(const bl_transform *t, bl_box b, double out[4])
{
    double xs[2] = {b.x, b.x + b.w}, ys[2] = {b.y, b.y + b.h};
    out[0] = out[1] = 1e18;
    out[2] = out[3] = -1e18;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double x = t->a * xs[i] + t->b * ys[j] + t->c;
            double y = t->d * xs[i] + t->e * ys[j] + t->f;
            out[0] = fmin(out[0], x);
            out[1] = fmin(out[1], y);
            out[2] = fmax(out[2], x);
            out[3] = fmax(out[3], y);
        }
}

static bl_image *to_gray(const bl_image *bin)
{
    bl_image *g = bl_image_new(bin->width, bin->height);
    for (int y = 0; y < bin->height; y++)
        for (int x = 0; x < bin->width; x++)
            BL_PIX(g, x, y) = BL_PIX(bin, x, y) ? 0 : 255;
    return g;
}

Test(ingest, levels_a_skewed_page_and_maps_the_field_back_to_the_file)
{
    const double skews[] = {6.0, -3.5};
    for (int s = 0; s < 2; s++) {
        bl_image *upright = form_page(1700, 2200, 900, 700);
        bl_image *turned = bl_image_rotate(upright, skews[s], 1700, 2200, 0, NULL);
        bl_image *file = to_gray(turned);
        /* The file is at 200 dpi, so the scale is in the transform too. */
        bl_page_info info = {.dpi_x = 300, .dpi_y = 300, .bits_per_sample = 1, .bilevel = 1};
        bl_image *small = bl_image_scale(file, 2.0 / 3.0, 2.0 / 3.0);
        info.dpi_x = info.dpi_y = 200;
        bl_work *work = bl_work_new();
        bl_ingest_result res;
        bl_err err = {0};
        cr_assert_eq(bl_ingest_run(NULL, small, &info, work, &res, &err), BL_OK, "%s", err.msg);
        cr_assert_lt(fabs(res.skew - skews[s]), 0.3, "skew %.3f vs %.1f", res.skew, skews[s]);
        cr_assert_eq(res.skew_applied, 1);
        cr_assert_float_eq(work->skew_deg, res.skew, 1e-12);
        cr_assert_eq(work->rotation_deg, 0);
        /* Upright again: the field block is level (its box is 90 x 50 up to
         * the resampling and a pixel of rotation jitter). */
        bl_box pb = largest_component(work->page);
        cr_assert_lt(abs(pb.w - 90), 5, "w %d", pb.w);
        cr_assert_lt(abs(pb.h - 50), 5, "h %d", pb.h);
        /* Its box, mapped through to_source, covers the block in the file. */
        bl_image *fbin = bl_image_binarize(small, 127);
        bl_box fb = largest_component(fbin);
        double m[4];
        map_box(&work->to_source, pb, m);
        cr_assert_lt(fabs(m[0] - fb.x), 4, "x %.1f vs %d", m[0], fb.x);
        cr_assert_lt(fabs(m[1] - fb.y), 4, "y %.1f vs %d", m[1], fb.y);
        cr_assert_lt(fabs(m[2] - (fb.x + fb.w)), 4, "x1 %.1f vs %d", m[2], fb.x + fb.w);
        cr_assert_lt(fabs(m[3] - (fb.y + fb.h)), 4, "y1 %.1f vs %d", m[3], fb.y + fb.h);
        bl_image_destroy(&fbin);
        bl_work_destroy(&work);
        bl_image_destroy(&small);
        bl_image_destroy(&file);
        bl_image_destroy(&turned);
        bl_image_destroy(&upright);
    }
}

Test(ingest, a_blank_page_is_recognised_and_handed_on_empty)
{
    /* Paper with sensor noise, dust specks (2 x 2 at 150 dpi, so 4 x 4 at
     * 300) and a dark scanner edge. */
    bl_image *gray = bl_image_new(1240, 1754);
    uint32_t seed = 5;
    for (int y = 0; y < gray->height; y++)
        for (int x = 0; x < gray->width; x++)
            BL_PIX(gray, x, y) = (uint8_t)(x < 30 ? 15 : 225 + (int)(lcg(&seed) % 21) - 10);
    for (int k = 0; k < 200; k++) {
        int x = 40 + (int)(lcg(&seed) % 1150), y = (int)(lcg(&seed) % 1700);
        for (int j = 0; j < 2; j++)
            for (int i = 0; i < 2; i++)
                BL_PIX(gray, x + i, y + j) = 30;
    }
    bl_page_info info = {.dpi_x = 150, .dpi_y = 150, .bits_per_sample = 8};
    bl_work *work = bl_work_new();
    bl_ingest_result res;
    bl_err err = {0};
    cr_assert_eq(bl_ingest_run(NULL, gray, &info, work, &res, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(res.blank, 1);
    cr_assert_eq(bl_image_ink_count(work->page), 0);
    cr_assert_eq(work->page->width, 2480);
    cr_assert_eq(work->rotation_deg, 0);
    bl_work_destroy(&work);
    bl_image_destroy(&gray);
}

Test(ingest, a_page_with_one_field_is_not_blank)
{
    bl_image *gray = page_with_square(2480, 3508, 1000, 1000, 40);
    bl_page_info info = {.dpi_x = 300, .dpi_y = 300, .bits_per_sample = 8};
    bl_work *work = bl_work_new();
    bl_ingest_result res;
    cr_assert_eq(bl_ingest_run(NULL, gray, &info, work, &res, NULL), BL_OK);
    cr_assert_eq(res.blank, 0);
    cr_assert_eq(bl_image_ink_count(work->page), 1600);
    bl_work_destroy(&work);
    bl_image_destroy(&gray);
}

Test(ingest, a_blank_page_with_dust_a_gray_lid_and_edge_slivers_is_blank)
{
    /* At 300 dpi: a lid of gray 70 (above the library's fixed solid level,
     * so Sauvola alone would hollow it to its outline) along the top,
     * dust blobs of 14 x 14 px (above the speck size) and a sliver of an
     * edge 20 px from the left border. */
    bl_image *gray = bl_image_new(2480, 3508);
    uint32_t seed = 7;
    for (int y = 0; y < gray->height; y++)
        for (int x = 0; x < gray->width; x++)
            BL_PIX(gray, x, y) = (uint8_t)(y < 60 + x / 100 ? 70 : 228 + (int)(lcg(&seed) % 9) - 4);
    for (int k = 0; k < 20; k++) {
        int x = 200 + (int)(lcg(&seed) % 2000), y = 200 + (int)(lcg(&seed) % 3000);
        for (int j = 0; j < 14; j++)
            for (int i = 0; i < 14; i++)
                BL_PIX(gray, x + i, y + j) = 40;
    }
    for (int y = 1500; y < 1700; y++)
        for (int x = 20; x < 32; x++)
            BL_PIX(gray, x, y) = 30;
    bl_page_info info = {.dpi_x = 300, .dpi_y = 300, .bits_per_sample = 8};
    bl_work *work = bl_work_new();
    bl_ingest_result res;
    bl_err err = {0};
    cr_assert_eq(bl_ingest_run(NULL, gray, &info, work, &res, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(res.edges & 1, 1, "the lid is removed as a dark edge");
    cr_assert_gt(res.ink, 0, "the dust and the sliver are still there");
    cr_assert_eq(res.mark_ink, 0);
    cr_assert_eq(res.blank, 1);
    bl_work_destroy(&work);

    /* One hand-written-digit-sized mark (a 6 px stroke 60 px tall)
     * in the middle makes it a page. */
    for (int y = 1700; y < 1760; y++)
        for (int x = 1200; x < 1206 + (y - 1700) / 3; x++)
            BL_PIX(gray, x, y) = 30;
    work = bl_work_new();
    cr_assert_eq(bl_ingest_run(NULL, gray, &info, work, &res, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(res.blank, 0);
    cr_assert_gt(res.mark_ink, BL_INGEST_BLANK_FRACTION);
    bl_work_destroy(&work);
    bl_image_destroy(&gray);
}

Test(ingest, refuses_a_model_of_another_kind_naming_the_file)
{
    bl_err err = {0};
    bl_ingest *self = bl_ingest_new(BL_SOURCE_DIR "/models/classify-cnn.blm", &err);
    cr_assert_null(self);
    cr_assert(strstr(err.msg, "classify-cnn.blm") != NULL, "%s", err.msg);
    self = bl_ingest_new(BL_SOURCE_DIR "/models/no-such.blm", &err);
    cr_assert_null(self);
    self = bl_ingest_new("", &err);
    cr_assert_not_null(self);
    cr_assert_str_eq(bl_ingest_model_id(self), "");
    bl_ingest_destroy(&self);
    cr_assert_null(self);
}

/* Pages from the real generator, turned and skewed: with the shipped model
 * every page comes out upright and level, and every digit's ink, found on
 * the normalised page and mapped through to_source, lands on its true box
 * in the file. */
Test(ingest, generated_turned_and_skewed_pages_come_out_upright, .timeout = 240)
{
    const char *model = BL_SOURCE_DIR "/models/ingest-orient.blm";
    if (access(BL_SOURCE_DIR "/data/mnist/t10k-images-idx3-ubyte", R_OK) != 0)
        cr_skip_test("MNIST not fetched (blotter data mnist)");
    char dir[] = "/tmp/bl-ingest-test-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "'%s/blotter' samples --out '%s' --pages 6 --seed 4242 --rotate 0.9 --skew 9 "
             "--blank 0 --format tiff >/dev/null 2>&1",
             BL_BIN_DIR, dir);
    cr_assert_eq(system(cmd), 0, "blotter samples failed: %s", cmd);
    char path[1200];
    snprintf(path, sizeof path, "%s/truth.json", dir);
    json_t *root = json_load_file(path, 0, NULL);
    cr_assert_not_null(root);
    bl_err err = {0};
    bl_ingest *norm = bl_ingest_new(model, &err);
    cr_assert_not_null(norm, "%s", err.msg);
    json_t *pages = json_object_get(root, "pages");
    int turned = 0, digits = 0, landed = 0;
    for (size_t i = 0; i < json_array_size(pages); i++) {
        json_t *p = json_array_get(pages, i);
        snprintf(path, sizeof path, "%s/%s", dir, json_string_value(json_object_get(p, "file")));
        int index = (int)json_integer_value(json_object_get(p, "page_index"));
        int rotation = (int)json_integer_value(json_object_get(p, "rotation"));
        double skew = json_real_value(json_object_get(p, "skew"));
        bl_scan *scan = bl_scan_open(path, NULL, &err);
        cr_assert_not_null(scan, "%s", err.msg);
        bl_page_info info;
        bl_image *gray = bl_scan_read_page(scan, index, &info, &err);
        cr_assert_not_null(gray, "%s", err.msg);
        bl_work *work = bl_work_new();
        bl_ingest_result res;
        cr_assert_eq(bl_ingest_run(norm, gray, &info, work, &res, &err), BL_OK, "%s", err.msg);
        cr_assert_eq(res.quarter_turns * 90, rotation, "%s: turn %d found %d", path, rotation,
                     res.quarter_turns * 90);
        cr_assert_lt(fabs(res.skew - skew), 0.3, "%s: skew %.2f found %.3f", path, skew, res.skew);
        cr_assert_str_neq(work->model[BL_STAGE_INGEST], "");
        turned += rotation != 0;
        /* Upright: an A4 page is portrait again. */
        cr_assert_lt(work->page->width, work->page->height);
        /* page -> file is affine with determinant +-1 at 300 dpi; its
         * inverse takes a true box into the page. */
        const bl_transform *t = &work->to_source;
        double det = t->a * t->e - t->b * t->d;
        bl_transform inv = {t->e / det, -t->b / det, 0, -t->d / det, t->a / det, 0};
        inv.c = -(inv.a * t->c + inv.b * t->f);
        inv.f = -(inv.d * t->c + inv.e * t->f);
        json_t *fields = json_object_get(p, "fields");
        for (size_t f = 0; f < json_array_size(fields); f++) {
            json_t *ds = json_object_get(json_array_get(fields, f), "digits");
            for (size_t d = 0; d < json_array_size(ds); d++) {
                json_t *b = json_array_get(ds, d);
                bl_box tb = {(int)json_integer_value(json_array_get(b, 0)),
                             (int)json_integer_value(json_array_get(b, 1)),
                             (int)json_integer_value(json_array_get(b, 2)),
                             (int)json_integer_value(json_array_get(b, 3))};
                double pm[4];
                map_box(&inv, tb, pm);
                /* The page box of the digit's ink: the ink bbox inside the
                 * (slightly grown) mapped box. */
                int x0 = (int)pm[0] - 2, y0 = (int)pm[1] - 2, x1 = (int)pm[2] + 2,
                    y1 = (int)pm[3] + 2;
                int ix0 = 1 << 30, iy0 = 1 << 30, ix1 = -1, iy1 = -1;
                for (int y = y0 < 0 ? 0 : y0; y < y1 && y < work->page->height; y++)
                    for (int x = x0 < 0 ? 0 : x0; x < x1 && x < work->page->width; x++)
                        if (BL_PIX(work->page, x, y)) {
                            ix0 = x < ix0 ? x : ix0;
                            iy0 = y < iy0 ? y : iy0;
                            ix1 = x > ix1 ? x : ix1;
                            iy1 = y > iy1 ? y : iy1;
                        }
                digits++;
                if (ix1 < 0)
                    continue;
                double fm[4];
                map_box(t, (bl_box){ix0, iy0, ix1 - ix0 + 1, iy1 - iy0 + 1}, fm);
                /* Within the rotation's corner growth plus a pixel or two. */
                double tol = 4 + 0.2 * (tb.w > tb.h ? tb.w : tb.h);
                if (fabs(fm[0] - tb.x) < tol && fabs(fm[1] - tb.y) < tol &&
                    fabs(fm[2] - (tb.x + tb.w)) < tol && fabs(fm[3] - (tb.y + tb.h)) < tol)
                    landed++;
            }
        }
        bl_work_destroy(&work);
        bl_image_destroy(&gray);
        bl_scan_close(&scan);
    }
    cr_assert_gt(turned, 0, "the seed should give turned pages");
    cr_assert_gt(digits, 20);
    cr_assert_geq(landed * 100, digits * 95, "%d of %d digit boxes landed", landed, digits);
    bl_ingest_destroy(&norm);
    json_decref(root);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
