/*
 * blotter samples: the generator is deterministic and its truth matches
 * the pages it writes. Runs the command in-process (bl_cmd_samples) into
 * private temporary folders; skipped when MNIST is not in data/mnist.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blotter/commands.h"
#include "image/image.h"
#include "util/util.h"

#define MNIST_DIR BL_SOURCE_DIR "/data/mnist"

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

static void remove_tree(const char *dir)
{
    char cmd[600];
    bl_snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static int run_samples(const char *out, const char *seed)
{
    char *argv[] = {"samples", "--out", (char *)out, "--pages", "3",
                    "--seed", (char *)seed, "--data", MNIST_DIR,
                    "--format", "mixed", NULL};
    return bl_cmd_samples(11, argv);
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

Test(samples, same_seed_same_files_other_seed_other_pages)
{
    need_mnist();
    char *a = make_tmpdir(), *b = make_tmpdir(), *c = make_tmpdir();
    cr_assert_eq(run_samples(a, "42"), 0);
    cr_assert_eq(run_samples(b, "42"), 0);
    cr_assert_eq(run_samples(c, "43"), 0);

    /* --pages 3 --format mixed: one G4 page and one two-page G4 file. */
    const char *names[] = {"truth.json", "page-001.tif", "pages-002-003.tif"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cr_assert(same_file(a, b, names[i]), "%s differs between runs", names[i]);
    cr_assert_not(same_file(a, c, "truth.json"), "seeds 42 and 43 gave one truth");
    cr_assert_not(same_file(a, c, "page-001.tif"), "seeds 42 and 43 gave one page");

    remove_tree(a);
    remove_tree(b);
    remove_tree(c);
    free(a);
    free(b);
    free(c);
}

static int box_inside(bl_box in, bl_box out)
{
    return in.x >= out.x && in.y >= out.y && in.x + in.w <= out.x + out.w &&
           in.y + in.h <= out.y + out.h;
}

static int boxes_meet(bl_box a, bl_box b)
{
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

static bl_box json_box(json_t *j)
{
    cr_assert(json_is_array(j) && json_array_size(j) == 4, "box is [x, y, w, h]");
    return (bl_box){(int)json_integer_value(json_array_get(j, 0)),
                    (int)json_integer_value(json_array_get(j, 1)),
                    (int)json_integer_value(json_array_get(j, 2)),
                    (int)json_integer_value(json_array_get(j, 3))};
}

static int row_has_ink(const bl_image *bin, int y, int x0, int x1)
{
    for (int x = x0; x < x1; x++)
        if (BL_PIX(bin, x, y))
            return 1;
    return 0;
}

static int col_has_ink(const bl_image *bin, int x, int y0, int y1)
{
    for (int y = y0; y < y1; y++)
        if (BL_PIX(bin, x, y))
            return 1;
    return 0;
}

/* Every digit box is tight around ink (ink on each of its four edges); the
 * field box is their union and inside the page; and no tall ink lies away
 * from the fields (every component 45 px or taller meets a field box: a
 * digit, a box drawn round a field, or the page frame). */
static void check_page(const char *dir, json_t *page)
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
    cr_assert_eq(gray->width, 2480);
    cr_assert_eq(gray->height, 3508);
    bl_image *bin = bl_image_binarize(gray, 127);
    bl_image_destroy(&gray);

    bl_box page_box = {0, 0, bin->width, bin->height};
    json_t *fields = json_object_get(page, "fields");
    size_t nf = json_array_size(fields);
    cr_assert(nf >= 4 && nf <= 8, "%s: %zu fields", path, nf);
    bl_box field_boxes[8];
    for (size_t i = 0; i < nf; i++) {
        json_t *f = json_array_get(fields, i);
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *value = json_string_value(json_object_get(f, "value"));
        cr_assert(name && value);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(name, json_string_value(json_object_get(
                                        json_array_get(fields, j), "name")));
        json_t *digits = json_object_get(f, "digits");
        size_t nd = json_array_size(digits);
        cr_assert_eq(strlen(value), nd, "%s: one box per digit", name);
        cr_assert(nd >= 3 && nd <= 10);
        bl_box fb = json_box(json_object_get(f, "box"));
        cr_assert(box_inside(fb, page_box), "%s: %s outside the page", path, name);
        field_boxes[i] = fb;

        int x0 = fb.x + fb.w, y0 = fb.y + fb.h, x1 = fb.x, y1 = fb.y;
        for (size_t d = 0; d < nd; d++) {
            cr_assert(value[d] >= '0' && value[d] <= '9');
            bl_box b = json_box(json_array_get(digits, d));
            cr_assert(box_inside(b, fb), "%s: digit %zu outside its field", name, d);
            cr_assert(b.w > 0 && b.h >= 40, "%s: digit %zu too small", name, d);
            cr_assert(row_has_ink(bin, b.y, b.x, b.x + b.w) &&
                          row_has_ink(bin, b.y + b.h - 1, b.x, b.x + b.w) &&
                          col_has_ink(bin, b.x, b.y, b.y + b.h) &&
                          col_has_ink(bin, b.x + b.w - 1, b.y, b.y + b.h),
                      "%s: %s digit %zu box not tight on ink", path, name, d);
            if (d > 0)
                cr_assert_not(boxes_meet(b, json_box(json_array_get(digits, d - 1))),
                              "%s: digits %zu and %zu overlap", name, d - 1, d);
            x0 = b.x < x0 ? b.x : x0;
            y0 = b.y < y0 ? b.y : y0;
            x1 = b.x + b.w > x1 ? b.x + b.w : x1;
            y1 = b.y + b.h > y1 ? b.y + b.h : y1;
        }
        cr_assert(fb.x == x0 && fb.y == y0 && fb.w == x1 - x0 && fb.h == y1 - y0,
                  "%s: field box is not the union of its digits", name);
    }

    bl_component *comps = NULL;
    int nc = 0;
    cr_assert_eq(bl_image_components(bin, &comps, &nc, NULL, &err), BL_OK, "%s",
                 err.msg);
    for (int i = 0; i < nc; i++) {
        if (comps[i].box.h < 45)
            continue;
        int meets = 0;
        for (size_t f = 0; f < nf && !meets; f++)
            meets = boxes_meet(comps[i].box, field_boxes[f]);
        cr_assert(meets, "%s: tall ink at [%d %d %d %d] outside every field", path,
                  comps[i].box.x, comps[i].box.y, comps[i].box.w, comps[i].box.h);
    }
    free(comps);
    bl_image_destroy(&bin);
}

Test(samples, truth_boxes_hold_their_ink)
{
    need_mnist();
    char *dir = make_tmpdir();
    cr_assert_eq(run_samples(dir, "7"), 0);

    char path[512];
    bl_snprintf(path, sizeof path, "%s/truth.json", dir);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    cr_assert_not_null(root, "%s: %s", path, jerr.text);
    cr_assert_str_eq(json_string_value(json_object_get(root, "generator")),
                     "blotter samples");
    cr_assert_eq(json_integer_value(json_object_get(root, "version")), 1);
    cr_assert_eq(json_integer_value(json_object_get(root, "seed")), 7);
    cr_assert_str_eq(json_string_value(json_object_get(root, "split")), "test");
    cr_assert_eq(json_integer_value(json_object_get(root, "dpi")), 300);
    json_t *pages = json_object_get(root, "pages");
    cr_assert_eq(json_array_size(pages), 3);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(pages, 2), "file")),
                     "pages-002-003.tif");
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(pages, 2),
                                                    "page_index")), 1);
    for (size_t i = 0; i < json_array_size(pages); i++)
        check_page(dir, json_array_get(pages, i));
    json_decref(root);
    remove_tree(dir);
    free(dir);
}

Test(samples, rejects_bad_arguments)
{
    char *no_out[] = {"samples", "--pages", "2", NULL};
    cr_assert_eq(bl_cmd_samples(3, no_out), 2);
    char *bad_split[] = {"samples", "--out", "/tmp/x", "--split", "dev", NULL};
    cr_assert_eq(bl_cmd_samples(5, bad_split), 2);
    char *bad_pages[] = {"samples", "--out", "/tmp/x", "--pages", "0", NULL};
    cr_assert_eq(bl_cmd_samples(5, bad_pages), 2);
}
