/*
 * template matching and naming on synthetic pages: a 2480 x 3508
 * binarised page carrying one test template's lines (tests/data/templates/
 * good), shifted as a sheet on a scanner bed, with ring-shaped digit blobs
 * written in some of its field boxes.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect.h"
#include "draw.h"
#include "detect/template.h"
#include "image/bitmap.h"

#define GOOD BL_TEST_DATA_DIR "/templates/good"
enum { W = 2480, H = 3508 };

static bl_template_set *set;

static void load(void)
{
    bl_err err = {0};
    cr_assert_eq(bl_template_set_load(GOOD, &set, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(set->count, 3);
}

static void unload(void) { bl_template_set_destroy(&set); }

/* n digits 70 px tall written from (x, y). */
static bl_box digits(bl_image *img, int x, int y, int n)
{
    bl_box b = draw_ring(img, x, y, 45, 70);
    for (int i = 1; i < n; i++)
        b = draw_union(b, draw_ring(img, x + i * 60, y + (i % 2) * 3, 45, 70));
    return b;
}

static const bl_template *find(const char *name)
{
    for (int i = 0; i < set->count; i++)
        if (strcmp(set->t[i].name, name) == 0)
            return &set->t[i];
    cr_assert_fail("no template %s", name);
    return NULL;
}

/* A page with template t's lines shifted by (dx, dy). */
static bl_image *form_page(const bl_template *t, int dx, int dy)
{
    bl_image *page = bl_image_new(W, H);
    for (int i = 0; i < t->nlines; i++) {
        bl_box b = t->lines[i].box;
        draw_fill(page, (bl_box){b.x + dx, b.y + dy, b.w, b.h});
    }
    return page;
}

/* The field's box on a page shifted by (dx, dy). */
static bl_box field_box(const bl_template *t, const char *name, int dx, int dy)
{
    for (int i = 0; i < t->nfields; i++)
        if (strcmp(t->fields[i].name, name) == 0) {
            bl_box b = t->fields[i].box;
            return (bl_box){b.x + dx, b.y + dy, b.w, b.h};
        }
    cr_assert_fail("no field %s", name);
    return (bl_box){0, 0, 0, 0};
}

/* Runs line removal on a copy of page and matches what it erased. */
static bl_template_match match_page(const bl_template_set *s, const bl_image *page)
{
    bl_detect_field *fields = NULL;
    int n = 0;
    bl_template_match m;
    bl_box all = {0, 0, page->width, page->height};
    bl_image *copy = bl_image_crop(page, all);
    bl_err err = {0};
    cr_assert_eq(bl_detect_run_named(NULL, s, copy, &fields, &n, &m, &err), BL_OK, "%s",
                 err.msg);
    free(fields);
    bl_image_destroy(&copy);
    return m;
}

TestSuite(template_match, .init = load, .fini = unload);

Test(template_match, finds_each_template_and_its_shift)
{
    static const int shifts[][2] = {{0, 0}, {37, -52}, {-60, 45}, {58, 60}, {-23, -61}};
    for (int k = 0; k < set->count; k++)
        for (size_t s = 0; s < sizeof shifts / sizeof shifts[0]; s++) {
            int dx = shifts[s][0], dy = shifts[s][1];
            bl_image *page = form_page(&set->t[k], dx, dy);
            /* Some writing in a field, as on a real card. */
            bl_box f = field_box(&set->t[k], set->t[k].fields[0].name, dx, dy);
            digits(page, f.x + 20, f.y + 40, 4);
            bl_template_match m = match_page(set, page);
            cr_expect_eq(m.index, k, "%s shifted %d,%d: matched %d (score %.3f)",
                         set->t[k].name, dx, dy, m.index, m.score);
            cr_expect(abs(m.dx - dx) <= 1 && abs(m.dy - dy) <= 1,
                      "%s: shift %d,%d found as %d,%d", set->t[k].name, dx, dy, m.dx, m.dy);
            cr_expect(m.score >= 0.9f, "%s: score %.3f", set->t[k].name, m.score);
            bl_image_destroy(&page);
        }
}

/* A page with t's lines as a scan gives them: rotated by `deg` about the
 * page centre (what deskewing leaves), a pixel thicker, broken by gaps. */
static bl_image *worn_page(const bl_template *t, int dx, int dy, double deg)
{
    bl_image *page = bl_image_new(W, H);
    double a = deg * 3.14159265358979 / 180.0, ca = cos(a), sa = sin(a);
    for (int i = 0; i < t->nlines; i++) {
        bl_box b = t->lines[i].box;
        for (int y = b.y - 1; y < b.y + b.h; y++)
            for (int x = b.x; x < b.x + b.w + 1; x++) {
                int along = t->lines[i].vertical ? y - b.y : x - b.x;
                if (along % 300 < 12)
                    continue; /* a gap every 300 px */
                double cx = x - W / 2.0, cy = y - H / 2.0;
                int px = (int)lround(W / 2.0 + ca * cx - sa * cy) + dx;
                int py = (int)lround(H / 2.0 + sa * cx + ca * cy) + dy;
                if (px >= 0 && py >= 0 && px < W && py < H)
                    BL_PIX(page, px, py) = 1;
            }
    }
    return page;
}

Test(template_match, tolerates_worn_lines_and_a_residual_skew)
{
    for (int k = 0; k < set->count; k++) {
        bl_image *page = worn_page(&set->t[k], -35, 48, 0.08);
        bl_template_match m = match_page(set, page);
        cr_expect_eq(m.index, k, "%s: matched %d (score %.3f)", set->t[k].name, m.index,
                     m.score);
        cr_expect(abs(m.dx + 35) <= 3 && abs(m.dy - 48) <= 3, "%s: shift %d,%d",
                  set->t[k].name, m.dx, m.dy);
        cr_expect(m.score >= 0.8f, "%s: score %.3f", set->t[k].name, m.score);
        bl_image_destroy(&page);
    }
}

/* A page with t's lines as a light scan of a skewed sheet leaves them
 * after deskewing: a pixel thick, in dashes of 62 px with gaps of 13,
 * stepping a pixel across every 50 px. No run is long enough for line
 * removal (120 px), so only the broken lines (dashes.h) show the form. */
static bl_image *light_page(const bl_template *t, int dx, int dy)
{
    bl_image *page = bl_image_new(W, H);
    for (int i = 0; i < t->nlines; i++) {
        bl_box b = t->lines[i].box;
        int v = t->lines[i].vertical, len = v ? b.h : b.w;
        for (int a = 0; a < len; a++) {
            if (a % 75 >= 62)
                continue;
            int jog = (a / 50) % 2;
            int x = v ? b.x + b.w / 2 + jog : b.x + a, y = v ? b.y + a : b.y + b.h / 2 + jog;
            if (x + dx >= 0 && y + dy >= 0 && x + dx < W && y + dy < H)
                BL_PIX(page, x + dx, y + dy) = 1;
        }
    }
    return page;
}

Test(template_match, finds_a_template_whose_lines_a_light_scan_broke)
{
    for (int k = 0; k < set->count; k++) {
        bl_image *page = light_page(&set->t[k], 41, -27);
        bl_box f = field_box(&set->t[k], set->t[k].fields[0].name, 41, -27);
        digits(page, f.x + 20, f.y + 40, 4);
        bl_template_match m = match_page(set, page);
        cr_expect_eq(m.index, k, "%s: matched %d (score %.3f)", set->t[k].name, m.index,
                     m.score);
        cr_expect(abs(m.dx - 41) <= 2 && abs(m.dy + 27) <= 2, "%s: shift %d,%d",
                  set->t[k].name, m.dx, m.dy);
        cr_expect(m.score >= 0.8f, "%s: score %.3f", set->t[k].name, m.score);
        /* Against the other layouts alone: none. */
        for (int j = 0; j < set->count; j++) {
            if (j == k)
                continue;
            bl_template_set one = {&set->t[j], 1};
            bl_template_match o = match_page(&one, page);
            cr_expect_eq(o.index, -1, "%s page taken for %s (score %.3f)", set->t[k].name,
                         set->t[j].name, o.score);
        }
        bl_image_destroy(&page);
    }
}

Test(template_match, rejects_a_page_of_another_layout)
{
    /* Only the arrest and receipt templates known; an incident report
     * shares their header rule and signature line. */
    bl_template_set partial = {set->t, 1};
    bl_template two[2] = {set->t[0], set->t[2]};
    partial.t = two;
    partial.count = 2;
    for (int k = 0; k < 3; k++) {
        bl_image *page = form_page(&set->t[k], 31, -17);
        bl_template_match m = match_page(&partial, page);
        if (k == 1)
            cr_expect_eq(m.index, -1, "incident page matched %d (score %.3f)", m.index,
                         m.score);
        else
            cr_expect_eq(m.index, k == 0 ? 0 : 1, "%s page: index %d score %.3f",
                         set->t[k].name, m.index, m.score);
        /* Each layout against each other one, at the best shift. */
        for (int j = 0; j < 3; j++) {
            if (j == k)
                continue;
            bl_template_set one = {&set->t[j], 1};
            bl_template_match o = match_page(&one, page);
            cr_expect_eq(o.index, -1, "%s page taken for %s (score %.3f)", set->t[k].name,
                         set->t[j].name, o.score);
            cr_expect(o.score < 0.5f, "%s page as %s: score %.3f", set->t[k].name,
                      set->t[j].name, o.score);
        }
        bl_image_destroy(&page);
    }
}

Test(template_match, rejects_an_unknown_form_with_lines_of_its_own)
{
    bl_image *page = bl_image_new(W, H);
    /* The same header rule as every known layout, then a grid of boxes
     * and ruled lines of another design. */
    draw_fill(page, (bl_box){230, 585, 2020, 5});
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 3; c++) {
            int x = 260 + c * 700, y = 900 + r * 400;
            draw_fill(page, (bl_box){x, y, 600, 4});
            draw_fill(page, (bl_box){x, y + 250, 600, 4});
            draw_fill(page, (bl_box){x, y, 4, 254});
            draw_fill(page, (bl_box){x + 596, y, 4, 254});
        }
    for (int i = 0; i < 5; i++)
        draw_fill(page, (bl_box){230, 2700 + i * 90, 2020, 2});
    bl_template_match m = match_page(set, page);
    cr_expect_eq(m.index, -1, "matched %d, score %.3f", m.index, m.score);
    cr_expect(m.score < 0.5f, "score %.3f", m.score);
    bl_image_destroy(&page);

    /* A page with no lines at all matches nothing. */
    page = bl_image_new(W, H);
    digits(page, 500, 500, 3);
    m = match_page(set, page);
    cr_expect_eq(m.index, -1);
    bl_image_destroy(&page);
}

static const bl_detect_field *by_name(const bl_detect_field *f, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(f[i].name, name) == 0)
            return &f[i];
    return NULL;
}

Test(template_match, names_merges_drops_and_recovers_fields)
{
    const bl_template *a = find("arrest_record");
    int dx = -44, dy = 53;
    bl_image *page = form_page(a, dx, dy);
    /* arrest_number: written in two groups far apart (two candidates,
     * one field). */
    bl_box an = field_box(a, "arrest_number", dx, dy);
    bl_box g1 = digits(page, an.x + 30, an.y + 60, 3);
    bl_box g2 = digits(page, an.x + 500, an.y + 62, 3);
    /* date: an ordinary field. */
    bl_box d = field_box(a, "date", dx, dy);
    bl_box date = digits(page, d.x + 40, d.y + 50, 6);
    /* age: one digit, which the rules alone refuse; the empty template
     * field takes it. */
    bl_box ag = field_box(a, "age", dx, dy);
    bl_box age = draw_ring(page, ag.x + 100, ag.y + 50, 45, 70);
    /* Writing in no field (a margin note) and a lone digit outside any
     * field: neither is a field. */
    digits(page, 300, 2300, 4);
    draw_ring(page, 1500, 2600, 45, 70);
    /* height and badge are left empty. */

    bl_err err = {0};
    bl_detect_field *f = NULL;
    int n = 0;
    bl_template_match m;
    cr_assert_eq(bl_detect_run_named(NULL, set, page, &f, &n, &m, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(m.index, 0);
    cr_assert_eq(n, 3, "%d fields", n);
    /* Reading order: arrest_number and date share a row, age below. */
    cr_assert_str_eq(f[0].name, "arrest_number");
    cr_assert_str_eq(f[1].name, "date");
    cr_assert_str_eq(f[2].name, "age");
    draw_assert_box(f[0].box, draw_union(g1, g2), "arrest_number");
    cr_assert_str_eq(f[0].rule, "len=8;check=luhn");
    cr_assert_eq(f[0].recovered, 0);
    draw_assert_box(f[1].box, date, "date");
    cr_assert_str_eq(f[1].rule, "date=DDMMYYYY");
    draw_assert_box(f[2].box, age, "age");
    cr_assert_str_eq(f[2].rule, "range=10-99");
    cr_assert_eq(f[2].recovered, 1);
    cr_assert_null(by_name(f, n, "height"));
    free(f);
    bl_image_destroy(&page);
}

Test(template_match, unmatched_page_keeps_field_n_and_the_plain_boxes)
{
    bl_image *page = bl_image_new(W, H);
    draw_fill(page, (bl_box){300, 400, 1500, 4});
    bl_box b1 = digits(page, 400, 700, 3);
    bl_box b2 = digits(page, 1200, 1500, 4);
    draw_ring(page, 600, 2000, 45, 70); /* one digit: the rules refuse it */
    bl_box all = {0, 0, W, H};
    bl_image *copy = bl_image_crop(page, all);
    bl_err err = {0};
    bl_detect_field *f = NULL;
    int n = 0;
    bl_template_match m;
    cr_assert_eq(bl_detect_run_named(NULL, set, page, &f, &n, &m, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(m.index, -1);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(f[0].name, "field_1");
    cr_assert_str_eq(f[1].name, "field_2");
    cr_assert_str_eq(f[0].rule, "");
    draw_assert_box(f[0].box, b1, "field_1");
    draw_assert_box(f[1].box, b2, "field_2");
    /* The same boxes as bl_detect_run, and the same cleaned page. */
    bl_box *boxes = NULL;
    int nb = 0;
    cr_assert_eq(bl_detect_run(NULL, copy, &boxes, &nb, NULL, &err), BL_OK);
    cr_assert_eq(nb, n);
    for (int i = 0; i < n; i++)
        draw_assert_box(boxes[i], f[i].box, "bl_detect_run");
    cr_assert_eq(memcmp(copy->data, page->data, (size_t)page->stride * H), 0);
    free(boxes);
    free(f);
    bl_image_destroy(&copy);
    bl_image_destroy(&page);
}

/* The candidates of a line-cleaned copy of page, scored by det. */
static bl_detect_region *scored_candidates(bl_detect *det, const bl_image *page, int *n)
{
    bl_box all = {0, 0, page->width, page->height};
    bl_image *c = bl_image_crop(page, all);
    bl_detect_remove_lines(c);
    bl_detect_region *r = NULL;
    cr_assert_eq(bl_detect_candidates(c, &r, n, NULL), BL_OK);
    bl_detect_score(det, r, *n);
    bl_image_destroy(&c);
    return r;
}

static float score_of(const bl_detect_region *r, int n, bl_box b)
{
    for (int i = 0; i < n; i++)
        if (r[i].box.x == b.x && r[i].box.y == b.y && r[i].box.w == b.w && r[i].box.h == b.h)
            return r[i].score;
    cr_assert_fail("no candidate [%d %d %d %d]", b.x, b.y, b.w, b.h);
    return 1;
}

Test(template_match, recovers_what_the_classifier_rules_out_only_in_empty_fields)
{
    bl_err err = {0};
    bl_detect *det = bl_detect_new(BL_SOURCE_DIR "/models/detect-regions.blm", &err);
    cr_assert_not_null(det, "%s", err.msg);
    const bl_template *a = find("arrest_record");
    int dx = 23, dy = -38;
    bl_image *page = form_page(a, dx, dy);
    /* age: one digit; date: two; the region classifier gives both
     * almost nothing (rings are not hand-writing to it). */
    bl_box ag = field_box(a, "age", dx, dy);
    bl_box age = draw_ring(page, ag.x + 100, ag.y + 50, 45, 70);
    bl_box d = field_box(a, "date", dx, dy);
    bl_box date = digits(page, d.x + 40, d.y + 50, 2);
    /* A lone digit in no field: still not a field. */
    bl_box note = draw_ring(page, 1500, 2600, 45, 70);
    int n = 0;
    bl_detect_region *r = scored_candidates(det, page, &n);
    cr_assert(score_of(r, n, age) < 0.05f, "age scores %.4f", (double)score_of(r, n, age));
    cr_assert(score_of(r, n, date) < 0.05f, "date scores %.4f", (double)score_of(r, n, date));
    cr_assert(score_of(r, n, note) < 0.5f);
    free(r);

    bl_detect_field *f = NULL;
    bl_template_match m;
    cr_assert_eq(bl_detect_run_named(det, set, page, &f, &n, &m, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(m.index, 0);
    cr_assert_eq(n, 2, "%d fields", n);
    cr_assert_str_eq(f[0].name, "date");
    draw_assert_box(f[0].box, date, "date");
    cr_assert_eq(f[0].recovered, 1);
    cr_assert_str_eq(f[1].name, "age");
    draw_assert_box(f[1].box, age, "age");
    cr_assert_eq(f[1].recovered, 1);
    free(f);
    bl_image_destroy(&page);
    bl_detect_destroy(&det);
}

Test(template_match, a_label_beside_a_field_stays_out_of_its_box)
{
    const bl_template *a = find("arrest_record");
    int dx = 31, dy = -22;
    bl_image *page = form_page(a, dx, dy);
    /* badge: three digits, and left of the field's box two letters of
     * its label as tall as small writing (45 px to the digits' 70), on
     * the digits' baseline and close enough to group with them. */
    bl_box bd = field_box(a, "badge", dx, dy);
    bl_box badge = digits(page, bd.x + 20, bd.y + 60, 3);
    bl_box label = draw_ring(page, bd.x - 100, bd.y + 85, 28, 45);
    label = draw_union(label, draw_ring(page, bd.x - 65, bd.y + 85, 28, 45));
    /* Without a template they are one field. */
    bl_box all = {0, 0, W, H};
    bl_image *copy = bl_image_crop(page, all);
    bl_box *boxes = NULL;
    int n = 0;
    bl_err err = {0};
    cr_assert_eq(bl_detect_run(NULL, copy, &boxes, &n, NULL, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(n, 1, "%d boxes", n);
    draw_assert_box(boxes[0], draw_union(label, badge), "label and badge");
    free(boxes);
    bl_image_destroy(&copy);
    /* The template says where the writing is. */
    bl_detect_field *f = NULL;
    bl_template_match m;
    cr_assert_eq(bl_detect_run_named(NULL, set, page, &f, &n, &m, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(m.index, 0);
    cr_assert_eq(n, 1, "%d fields", n);
    cr_assert_str_eq(f[0].name, "badge");
    draw_assert_box(f[0].box, badge, "badge");
    free(f);
    bl_image_destroy(&page);
}
