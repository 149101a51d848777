/*
 * blotter samples: the generator is deterministic and its truth matches
 * the pages it writes, on rotated, skewed, 200-dpi, blurred and gray pages.
 * Runs the command in-process (bl_cmd_samples) into private temporary
 * folders and reads the files back through the scan reader; skipped when
 * MNIST is not in data/mnist.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blotter/commands.h"
#include "image/image.h"
#include "util/util.h"
#include "write/rules.h"

#define MNIST_DIR BL_SOURCE_DIR "/data/mnist"
#define TOL 3 /* px: sensor noise flips pixels on the ink's rim */

static void need_mnist(void)
{
    if (access(MNIST_DIR "/t10k-images-idx3-ubyte", R_OK) != 0 ||
        access(MNIST_DIR "/t10k-labels-idx1-ubyte", R_OK) != 0)
        cr_skip_test("MNIST not found in %s (blotter data mnist)", MNIST_DIR);
}

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/bl-test-samples-XXXXXX";
    char *d = mkdtemp(tmpl);
    cr_assert_not_null(d, "mkdtemp");
    return bl_xstrdup(d);
}

static void remove_tree(char *dir)
{
    char cmd[600];
    bl_snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    free(dir);
}

/* Runs `samples --out DIR --pages N --seed S --data MNIST` plus extra
 * arguments (a NULL-terminated list). */
static int run_samples(const char *out, const char *pages, const char *seed, ...)
{
    char *argv[40] = {"samples", "--out", (char *)out, "--pages", (char *)pages,
                      "--seed", (char *)seed, "--data", MNIST_DIR};
    int argc = 9;
    va_list ap;
    va_start(ap, seed);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL && argc < 39;)
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return bl_cmd_samples(argc, argv);
}

static int same_file(const char *dir_a, const char *dir_b, const char *name)
{
    char pa[512], pb[512];
    bl_snprintf(pa, sizeof pa, "%s/%s", dir_a, name);
    bl_snprintf(pb, sizeof pb, "%s/%s", dir_b, name);
    uint8_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    cr_assert_eq(bl_file_read_all(pa, 1u << 30, &a, &na, NULL), BL_OK, "%s", pa);
    cr_assert_eq(bl_file_read_all(pb, 1u << 30, &b, &nb, NULL), BL_OK, "%s", pb);
    int same = na == nb && memcmp(a, b, na) == 0;
    free(a);
    free(b);
    return same;
}

static json_t *load_truth(const char *dir)
{
    char path[512];
    bl_snprintf(path, sizeof path, "%s/truth.json", dir);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    cr_assert_not_null(root, "%s: %s", path, jerr.text);
    return root;
}

Test(samples, same_seed_same_files_other_seed_other_pages)
{
    need_mnist();
    char *a = make_tmpdir(), *b = make_tmpdir(), *c = make_tmpdir();
    cr_assert_eq(run_samples(a, "3", "42", "--format", "mixed", NULL), 0);
    cr_assert_eq(run_samples(b, "3", "42", "--format", "mixed", NULL), 0);
    cr_assert_eq(run_samples(c, "3", "43", "--format", "mixed", NULL), 0);

    /* --pages 3 --format mixed: one G4 page and one two-page G4 file. */
    const char *names[] = {"truth.json", "page-001.tif", "pages-002-003.tif"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cr_assert(same_file(a, b, names[i]), "%s differs between runs", names[i]);
    cr_assert_not(same_file(a, c, "truth.json"), "seeds 42 and 43 gave one truth");
    cr_assert_not(same_file(a, c, "page-001.tif"), "seeds 42 and 43 gave one page");
    remove_tree(a);
    remove_tree(b);
    remove_tree(c);
}

/* An artefact's option changes that artefact only: the same seed with and
 * without rotation writes the same forms and values. */
Test(samples, artefact_options_leave_the_forms_alone)
{
    need_mnist();
    char *a = make_tmpdir(), *b = make_tmpdir();
    cr_assert_eq(run_samples(a, "4", "11", "--rotate", "0", NULL), 0);
    cr_assert_eq(run_samples(b, "4", "11", "--rotate", "1", NULL), 0);
    json_t *ta = load_truth(a), *tb = load_truth(b);
    json_t *pa = json_object_get(ta, "pages"), *pb = json_object_get(tb, "pages");
    cr_assert_eq(json_array_size(pa), 4);
    for (size_t i = 0; i < 4; i++) {
        json_t *x = json_array_get(pa, i), *y = json_array_get(pb, i);
        cr_assert_eq(json_integer_value(json_object_get(x, "rotation")), 0);
        int blank = json_is_true(json_object_get(y, "blank"));
        cr_assert(blank || json_integer_value(json_object_get(y, "rotation")) != 0);
        cr_assert_str_eq(json_string_value(json_object_get(x, "layout")),
                         json_string_value(json_object_get(y, "layout")));
        json_t *fx = json_object_get(x, "fields"), *fy = json_object_get(y, "fields");
        cr_assert_eq(json_array_size(fx), json_array_size(fy));
        for (size_t k = 0; k < json_array_size(fx); k++)
            cr_assert_str_eq(
                json_string_value(json_object_get(json_array_get(fx, k), "value")),
                json_string_value(json_object_get(json_array_get(fy, k), "value")));
    }
    json_decref(ta);
    json_decref(tb);
    remove_tree(a);
    remove_tree(b);
}

static bl_box json_box(json_t *j)
{
    cr_assert(json_is_array(j) && json_array_size(j) == 4, "box is [x, y, w, h]");
    return (bl_box){(int)json_integer_value(json_array_get(j, 0)),
                    (int)json_integer_value(json_array_get(j, 1)),
                    (int)json_integer_value(json_array_get(j, 2)),
                    (int)json_integer_value(json_array_get(j, 3))};
}

static int box_inside(bl_box in, bl_box out)
{
    return in.x >= out.x && in.y >= out.y && in.x + in.w <= out.x + out.w &&
           in.y + in.h <= out.y + out.h;
}

static bl_box grow(bl_box b, int m)
{
    return (bl_box){b.x - m, b.y - m, b.w + 2 * m, b.h + 2 * m};
}

static bl_box unite(bl_box a, bl_box b)
{
    if (a.w <= 0)
        return b;
    int x0 = a.x < b.x ? a.x : b.x, y0 = a.y < b.y ? a.y : b.y;
    int x1 = a.x + a.w > b.x + b.w ? a.x + a.w : b.x + b.w;
    int y1 = a.y + a.h > b.y + b.h ? a.y + a.h : b.y + b.h;
    return (bl_box){x0, y0, x1 - x0, y1 - y0};
}

static int ink_in(const bl_image *bin, int x0, int y0, int x1, int y1)
{
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < bin->height; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x1 && x < bin->width; x++)
            if (BL_PIX(bin, x, y))
                return 1;
    return 0;
}

/* Reads a page back and checks its truth against the ink:
 *  - the file's size and resolution are the truth's;
 *  - each digit box is on ink: ink within TOL px of each of its edges;
 *  - a field box is the union of its digit boxes, inside the page;
 *  - each digit's ink lies in its box: every ink component meeting some
 *    digit boxes of a field lies within the union of those boxes, give or
 *    take TOL (pages made with --cross 0 --noise 0, so no printed line or
 *    speck joins the writing). */
static int check_page(const char *dir, json_t *page, int dpi)
{
    const char *file = json_string_value(json_object_get(page, "file"));
    int index = (int)json_integer_value(json_object_get(page, "page_index"));
    char path[512];
    bl_snprintf(path, sizeof path, "%s/%s", dir, file);
    bl_err err = {0};
    bl_scan *scan = bl_scan_open(path, NULL, &err);
    cr_assert_not_null(scan, "%s", err.msg);
    bl_page_info info;
    bl_image *gray = bl_scan_read_page(scan, index, &info, &err);
    cr_assert_not_null(gray, "%s", err.msg);
    bl_scan_close(&scan);
    cr_assert_eq(gray->width, json_integer_value(json_object_get(page, "width")));
    cr_assert_eq(gray->height, json_integer_value(json_object_get(page, "height")));
    cr_assert_float_eq(info.dpi_x, dpi, 0.01, "%s: %g dpi", path, info.dpi_x);
    int rot = (int)json_integer_value(json_object_get(page, "rotation"));
    int a4w = dpi == 200 ? 1654 : 2480, a4h = dpi == 200 ? 2339 : 3508;
    int quarter = rot == 90 || rot == 270;
    cr_assert(gray->width == (quarter ? a4h : a4w) && gray->height == (quarter ? a4w : a4h),
              "%s: %dx%d for A4 at %d dpi turned %d", path, gray->width, gray->height,
              dpi, rot);
    bl_image *bin = bl_image_binarize(gray, info.bilevel ? 127 : bl_image_otsu_level(gray));
    bl_image_destroy(&gray);

    bl_box page_box = {0, 0, bin->width, bin->height};
    json_t *fields = json_object_get(page, "fields");
    size_t nf = json_array_size(fields);
    int blank = json_is_true(json_object_get(page, "blank"));
    cr_assert(blank ? nf == 0 : nf >= 4 && nf <= 10, "%s: %zu fields", path, nf);

    bl_component *comps = NULL;
    int nc = 0, *labels = NULL;
    cr_assert_eq(bl_image_components(bin, &comps, &nc, &labels, &err), BL_OK, "%s",
                 err.msg);
    for (size_t i = 0; i < nf; i++) {
        json_t *f = json_array_get(fields, i);
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *value = json_string_value(json_object_get(f, "value"));
        cr_assert(name && value);
        json_t *digits = json_object_get(f, "digits");
        size_t nd = json_array_size(digits);
        cr_assert_eq(strlen(value), nd, "%s: one box per digit", name);
        cr_assert(nd >= 2 && nd <= 10);
        bl_box fb = json_box(json_object_get(f, "box"));
        cr_assert(box_inside(fb, page_box), "%s: %s outside the page", path, name);
        bl_box db[10], u = {0, 0, 0, 0};
        for (size_t d = 0; d < nd; d++) {
            bl_box b = db[d] = json_box(json_array_get(digits, d));
            u = unite(u, b);
            /* A 1 is narrow, and on a turned page narrow is short. */
            cr_assert((b.w > b.h ? b.w : b.h) >= 25 * dpi / 300 && b.w >= 2 && b.h >= 2, "%s: %s digit %zu tiny [%d %d %d %d]",
                      path, name, d, b.x, b.y, b.w, b.h);
            cr_assert(ink_in(bin, b.x, b.y, b.x + b.w, b.y + TOL) &&
                          ink_in(bin, b.x, b.y + b.h - TOL, b.x + b.w, b.y + b.h) &&
                          ink_in(bin, b.x, b.y, b.x + TOL, b.y + b.h) &&
                          ink_in(bin, b.x + b.w - TOL, b.y, b.x + b.w, b.y + b.h),
                      "%s: %s digit %zu box [%d %d %d %d] not on ink", path, name, d,
                      b.x, b.y, b.w, b.h);
        }
        cr_assert(u.x == fb.x && u.y == fb.y && u.w == fb.w && u.h == fb.h,
                  "%s: %s box is not the union of its digits", path, name);
        /* Components with a pixel inside some digit box of this field. */
        int *hit = bl_xcalloc((size_t)nc + 1, sizeof *hit);
        bl_box *near = bl_xcalloc((size_t)nc + 1, sizeof *near);
        for (size_t d = 0; d < nd; d++)
            for (int y = db[d].y; y < db[d].y + db[d].h; y++)
                for (int x = db[d].x; x < db[d].x + db[d].w; x++) {
                    int l = labels[(size_t)y * (size_t)bin->width + (size_t)x];
                    if (l > 0 && hit[l] != (int)d + 1) {
                        hit[l] = (int)d + 1;
                        near[l] = unite(near[l], db[d]);
                    }
                }
        for (int c = 0; c < nc; c++) {
            int l = comps[c].label;
            if (!hit[l] || comps[c].pixels < 6)
                continue;
            cr_assert(box_inside(comps[c].box, grow(near[l], TOL)),
                      "%s: %s: ink [%d %d %d %d] outside its digits' boxes [%d %d %d %d]",
                      path, name, comps[c].box.x, comps[c].box.y, comps[c].box.w,
                      comps[c].box.h, near[l].x, near[l].y, near[l].w, near[l].h);
        }
        free(hit);
        free(near);
    }
    free(labels);
    free(comps);
    bl_image_destroy(&bin);
    return rot;
}

static void check_dir(const char *dir, int npages, int dpi, int *rotated)
{
    json_t *root = load_truth(dir);
    cr_assert_str_eq(json_string_value(json_object_get(root, "generator")),
                     "blotter samples");
    cr_assert_eq(json_integer_value(json_object_get(root, "version")), 2);
    cr_assert_eq(json_integer_value(json_object_get(root, "dpi")), dpi);
    json_t *pages = json_object_get(root, "pages");
    cr_assert_eq(json_array_size(pages), (size_t)npages);
    for (size_t i = 0; i < json_array_size(pages); i++)
        *rotated += check_page(dir, json_array_get(pages, i), dpi) != 0;
    json_decref(root);
}

Test(samples, truth_boxes_hold_their_ink_on_turned_skewed_pages)
{
    need_mnist();
    char *dir = make_tmpdir();
    cr_assert_eq(run_samples(dir, "3", "7", "--rotate", "1", "--skew", "5", "--noise",
                             "0", "--cross", "0", "--blank", "0", "--touching", "0.5",
                             "--format", "multipage", NULL), 0);
    int rotated = 0;
    check_dir(dir, 3, 300, &rotated);
    cr_assert_eq(rotated, 3);
    remove_tree(dir);
}

Test(samples, truth_boxes_hold_their_ink_at_200_dpi_with_blur)
{
    need_mnist();
    char *dir = make_tmpdir();
    cr_assert_eq(run_samples(dir, "3", "8", "--dpi", "200", "--rotate", "0.5", "--blur",
                             "1", "--noise", "0", "--cross", "0", "--blank", "0", NULL),
                 0);
    int rotated = 0;
    check_dir(dir, 3, 200, &rotated);
    remove_tree(dir);
}

Test(samples, truth_boxes_hold_their_ink_on_gray_pages)
{
    need_mnist();
    char *dir = make_tmpdir();
    cr_assert_eq(run_samples(dir, "2", "9", "--format", "png", "--noise", "0", "--cross",
                             "0", "--blank", "0", "--rotate", "0.5", NULL), 0);
    int rotated = 0;
    check_dir(dir, 2, 300, &rotated);
    remove_tree(dir);
}

Test(samples, blank_pages_have_no_fields)
{
    need_mnist();
    char *dir = make_tmpdir();
    cr_assert_eq(run_samples(dir, "2", "3", "--blank", "1", NULL), 0);
    int rotated = 0;
    check_dir(dir, 2, 300, &rotated);
    json_t *root = load_truth(dir);
    json_t *p = json_array_get(json_object_get(root, "pages"), 0);
    cr_assert(json_is_true(json_object_get(p, "blank")));
    cr_assert_str_eq(json_string_value(json_object_get(p, "layout")), "blank");
    json_decref(root);
    remove_tree(dir);
}

Test(samples, rejects_bad_arguments_and_missing_fonts)
{
    char *no_out[] = {"samples", "--pages", "2", NULL};
    cr_assert_eq(bl_cmd_samples(3, no_out), 2);
    char *bad_split[] = {"samples", "--out", "/tmp/x", "--split", "dev", NULL};
    cr_assert_eq(bl_cmd_samples(5, bad_split), 2);
    char *bad_pages[] = {"samples", "--out", "/tmp/x", "--pages", "0", NULL};
    cr_assert_eq(bl_cmd_samples(5, bad_pages), 2);
    char *bad_dpi[] = {"samples", "--out", "/tmp/x", "--dpi", "250", NULL};
    cr_assert_eq(bl_cmd_samples(5, bad_dpi), 2);
    char *bad_p[] = {"samples", "--out", "/tmp/x", "--rotate", "1.5", NULL};
    cr_assert_eq(bl_cmd_samples(5, bad_p), 2);
    char *bad_fmt[] = {"samples", "--out", "/tmp/x", "--format", "jpeg", NULL};
    cr_assert_eq(bl_cmd_samples(5, bad_fmt), 2);
    need_mnist();
    char *dir = make_tmpdir();
    cr_assert_eq(run_samples(dir, "1", "1", "--fonts", "/nonexistent/fonts", NULL), 1);
    remove_tree(dir);
}

/* The heavy hand: marked in the truth, with a digit box per digit, and
 * other pages than the MNIST hand's of the same seed. (Its truth boxes
 * can be a few pixels tighter than the broad strokes after scanning, more
 * than check_page's tolerance, so they are not held to it here.) */
Test(samples, heavy_hand_keeps_truth_boxes_and_is_marked)
{
    need_mnist();
    char *dir = make_tmpdir(), *plain = make_tmpdir();
    cr_assert_eq(run_samples(dir, "1", "12", "--hand", "heavy", "--blank", "0", NULL), 0);
    cr_assert_eq(run_samples(plain, "1", "12", "--blank", "0", NULL), 0);
    json_t *root = load_truth(dir), *ref = load_truth(plain);
    cr_expect_str_eq(json_string_value(json_object_get(root, "hand")), "heavy");
    cr_expect_null(json_object_get(ref, "hand"));
    json_t *p0 = json_array_get(json_object_get(root, "pages"), 0);
    json_t *q0 = json_array_get(json_object_get(ref, "pages"), 0);
    json_t *f = json_object_get(p0, "fields");
    cr_assert_gt(json_array_size(f), 0);
    cr_assert_gt(json_array_size(json_object_get(q0, "fields")), 0);
    for (size_t i = 0; i < json_array_size(f); i++) {
        json_t *fi = json_array_get(f, i);
        cr_expect_eq(strlen(json_string_value(json_object_get(fi, "value"))),
                     json_array_size(json_object_get(fi, "digits")));
    }
    json_decref(root);
    json_decref(ref);
    cr_expect_not(same_file(dir, plain, "page-001.tif"));
    cr_expect_neq(run_samples(dir, "1", "9", "--hand", "thin", NULL), 0);
    remove_tree(dir);
    remove_tree(plain);
}

/* Every value a known form's field gets passes the field's rule (the
 * writer's own checker); unlisted pages have no rules and no shift.
 * 16 pages: about 4 s of CPU in a Release build. */
Test(samples, values_pass_their_rules_unlisted_pages_have_none)
{
    need_mnist();
    char *dir = make_tmpdir();
    cr_assert_eq(run_samples(dir, "16", "21", "--unlisted", "0.3", "--blank", "0",
                             "--noise", "0", NULL), 0);
    json_t *root = load_truth(dir);
    json_t *pages = json_object_get(root, "pages");
    int known = 0, unlisted = 0, checked = 0;
    for (size_t i = 0; i < json_array_size(pages); i++) {
        json_t *page = json_array_get(pages, i);
        const char *layout = json_string_value(json_object_get(page, "layout"));
        json_t *shift = json_object_get(page, "shift");
        cr_assert(json_is_array(shift) && json_array_size(shift) == 2);
        int dx = (int)json_integer_value(json_array_get(shift, 0));
        int dy = (int)json_integer_value(json_array_get(shift, 1));
        int is_unlisted = strncmp(layout, "unlisted", 8) == 0;
        known += !is_unlisted;
        unlisted += is_unlisted;
        if (is_unlisted)
            cr_assert(dx == 0 && dy == 0, "%s: shifted", layout);
        else
            cr_assert(dx >= -50 && dx <= 50 && dy >= -50 && dy <= 50);
        json_t *fields = json_object_get(page, "fields");
        for (size_t k = 0; k < json_array_size(fields); k++) {
            json_t *f = json_array_get(fields, k);
            const char *rule = json_string_value(json_object_get(f, "rule"));
            const char *value = json_string_value(json_object_get(f, "value"));
            cr_assert_not_null(rule);
            if (is_unlisted) {
                cr_assert_str_eq(rule, "");
                continue;
            }
            bl_rule_result r;
            bl_rules_check(rule, value, &r);
            cr_assert(r.checked >= 1 && r.failed == 0 && r.malformed == 0,
                      "%s: %s = %s breaks %s", layout,
                      json_string_value(json_object_get(f, "name")), value, rule);
            checked++;
        }
    }
    cr_assert(known > 0 && unlisted > 0, "%d known, %d unlisted pages", known, unlisted);
    cr_assert_gt(checked, 40);
    json_decref(root);
    remove_tree(dir);
}

/* A template's field boxes, read from DIR/LAYOUT.ini ("box = X Y W H"
 * after "[field NAME]"). Returns the count. */
static int read_template(const char *dir, const char *layout, char names[][48],
                         bl_box *boxes, int max, int *nlines)
{
    char path[512], line[256], name[48] = "";
    bl_snprintf(path, sizeof path, "%s/%s.ini", dir, layout);
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp, "%s", path);
    int n = 0;
    *nlines = 0;
    while (fgets(line, sizeof line, fp)) {
        char dir_c;
        int x, y, w, h;
        cr_assert(strlen(line) <= 198, "%s: long line", path);
        if (sscanf(line, "[field %47[a-z0-9_]]", name) == 1)
            continue;
        if (sscanf(line, "line = %c %d %d %d %d", &dir_c, &x, &y, &w, &h) == 5) {
            cr_assert(w >= 120, "%s: line of %d px", path, w);
            (*nlines)++;
        }
        if (sscanf(line, "box = %d %d %d %d", &x, &y, &w, &h) == 4) {
            cr_assert(n < max && name[0]);
            bl_strlcpy(names[n], name, 48);
            boxes[n++] = (bl_box){x, y, w, h};
            cr_assert(x >= 280 && y >= 280 && x + w <= 2200 && y + h <= 3228,
                      "%s: %s box too near the edge", path, name);
        }
    }
    fclose(fp);
    return n;
}

/* On upright, unskewed 300-dpi pages every written field lies inside its
 * template box moved by the page's shift. 9 pages: about 2 s of CPU in a
 * Release build. */
Test(samples, writing_lies_in_its_template_box)
{
    need_mnist();
    char *dir = make_tmpdir(), *tpl = make_tmpdir();
    char *targv[] = {"samples", "--templates", tpl, NULL};
    cr_assert_eq(bl_cmd_samples(3, targv), 0);
    cr_assert_eq(run_samples(dir, "9", "31", "--rotate", "0", "--skew", "0", "--unlisted",
                             "0", "--blank", "0", "--touching", "0.3", "--cross", "0.5",
                             "--blur", "0.5", NULL), 0);
    json_t *root = load_truth(dir);
    json_t *pages = json_object_get(root, "pages");
    int nfields = 0;
    for (size_t i = 0; i < json_array_size(pages); i++) {
        json_t *page = json_array_get(pages, i);
        const char *layout = json_string_value(json_object_get(page, "layout"));
        char names[32][48];
        bl_box boxes[32];
        int nlines = 0;
        int nt = read_template(tpl, layout, names, boxes, 32, &nlines);
        cr_assert(nt >= 8 && nlines >= 10, "%s: %d fields, %d lines", layout, nt, nlines);
        json_t *shift = json_object_get(page, "shift");
        int dx = (int)json_integer_value(json_array_get(shift, 0));
        int dy = (int)json_integer_value(json_array_get(shift, 1));
        json_t *fields = json_object_get(page, "fields");
        for (size_t k = 0; k < json_array_size(fields); k++) {
            json_t *f = json_array_get(fields, k);
            const char *name = json_string_value(json_object_get(f, "name"));
            bl_box fb = json_box(json_object_get(f, "box"));
            int t = 0;
            while (t < nt && strcmp(names[t], name) != 0)
                t++;
            cr_assert(t < nt, "%s: %s not in the template", layout, name);
            bl_box tb = {boxes[t].x + dx, boxes[t].y + dy, boxes[t].w, boxes[t].h};
            cr_assert(box_inside(fb, tb), "%s: %s [%d %d %d %d] outside [%d %d %d %d]",
                      layout, name, fb.x, fb.y, fb.w, fb.h, tb.x, tb.y, tb.w, tb.h);
            nfields++;
        }
    }
    cr_assert_gt(nfields, 40);
    json_decref(root);
    remove_tree(dir);
    remove_tree(tpl);
}
