/*
 * Tests of the plot renderer: a chart and a heat map are drawn, and ink is
 * looked for where the data says lines and dark cells must be (and its
 * absence where they must not), rather than comparing golden images,
 * which would pin the font's rasterisation.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "blotter/plot.h"

static int pixel(const bl_image *img, int x, int y)
{
    cr_assert(x >= 0 && y >= 0 && x < img->width && y < img->height, "(%d,%d) off canvas", x, y);
    return img->data[(size_t)y * img->stride + x];
}

/* Darkest pixel within r of (x, y). */
static int darkest_near(const bl_image *img, double x, double y, int r)
{
    int best = 255;
    for (int dy = -r; dy <= r; dy++)
        for (int dx = -r; dx <= r; dx++) {
            int v = pixel(img, (int)floor(x) + dx, (int)floor(y) + dy);
            best = v < best ? v : best;
        }
    return best;
}

static const double xs[5] = {1, 2, 3, 4, 5};
static const double rising[5] = {0.0, 1.0, 2.0, 3.0, 4.0};
static const double level[5] = {3.5, 3.5, 3.5, 3.5, 3.5};

Test(plot, chart_has_the_canvas_size_and_ink_along_its_lines)
{
    bl_err err = {0};
    bl_plot *p = bl_plot_new(400, 300, &err);
    cr_assert_not_null(p, "%s", err.msg);
    bl_plot_series s[2] = {{"rising", xs, rising, 5, BL_PLOT_SOLID},
                           {"level", xs, level, 5, BL_PLOT_DASHED}};
    bl_plot_chart c = {"title", "x", "y", s, 2, true};
    bl_plot_axes a;
    cr_assert_eq(bl_plot_chart_draw(p, (bl_box){0, 0, 400, 300}, &c, &a, &err), BL_OK, "%s",
                 err.msg);
    const bl_image *img = bl_plot_image(p);
    cr_assert_eq(img->width, 400);
    cr_assert_eq(img->height, 300);
    cr_assert(a.x0 <= 1 && a.x1 >= 5 && a.y0 <= 0 && a.y1 >= 4, "range %g..%g x %g..%g", a.x0,
              a.x1, a.y0, a.y1);
    /* The solid line is inked all along, midway between data points too. */
    for (double x = 1.25; x <= 4.75; x += 0.5) {
        double px, py;
        bl_plot_axes_map(&a, x, x - 1.0, &px, &py);
        cr_assert_lt(darkest_near(img, px, py, 1), 100, "no ink on the solid line at x=%g", x);
    }
    /* The dashed line has ink and gaps: sample it densely, away from the
     * legend and the crossing with the rising line. */
    int inked = 0, gaps = 0;
    double p0x, p0y, p1x, p1y;
    bl_plot_axes_map(&a, 1.0, 3.5, &p0x, &p0y);
    bl_plot_axes_map(&a, 4.0, 3.5, &p1x, &p1y);
    for (double x = p0x + 4; x < p1x - 30; x += 1.0) {
        int v = pixel(img, (int)x, (int)p0y);
        inked += v < 100;
        gaps += v > 200;
    }
    cr_assert_gt(inked, 10, "dashed line has no dashes");
    cr_assert_gt(gaps, 5, "dashed line has no gaps");
    /* Between the lines, clear of the legend (which takes the empty
     * bottom-right corner), there is no ink. */
    double qx, qy;
    bl_plot_axes_map(&a, 1.6, 2.2, &qx, &qy);
    cr_assert_gt(darkest_near(img, qx, qy, 2), 200, "stray ink at (1.6, 2.2)");
    bl_plot_destroy(&p);
    cr_assert_null(p);
}

Test(plot, heatmap_shades_cells_by_value)
{
    bl_err err = {0};
    bl_plot *p = bl_plot_new(300, 320, &err);
    cr_assert_not_null(p, "%s", err.msg);
    double v[9] = {100, 0, 3, 0, 50, 0, 0, 0, 100};
    bl_plot_heatmap hm = {"m", "predicted", "true", v, 3, 3, true, true};
    bl_box cell;
    cr_assert_eq(bl_plot_heatmap_draw(p, (bl_box){0, 0, 300, 320}, &hm, &cell, &err), BL_OK, "%s",
                 err.msg);
    const bl_image *img = bl_plot_image(p);
    cr_assert_eq(img->width, 300);
    cr_assert_eq(img->height, 320);
    cr_assert_gt(cell.w, 10);
    /* Sample near each cell's corner, clear of its printed value. */
    int shade[9];
    for (int i = 0; i < 9; i++)
        shade[i] = pixel(img, cell.x + (i % 3) * cell.w + 3, cell.y + (i / 3) * cell.h + 3);
    cr_assert_lt(shade[0], 60, "largest value is not dark: %d", shade[0]);
    cr_assert_eq(shade[0], shade[8], "equal values, unequal shades");
    cr_assert_eq(shade[1], 255, "zero is not white: %d", shade[1]);
    cr_assert(shade[0] < shade[4] && shade[4] < shade[2] && shade[2] < 255,
              "shades not ordered by value: %d %d %d", shade[0], shade[4], shade[2]);
    bl_plot_destroy(&p);
}

Test(plot, writes_a_png_and_rejects_bad_input)
{
    bl_err err = {0};
    cr_assert_null(bl_plot_new(0, 10, &err));
    cr_assert_eq(err.code, BL_EINVAL);
    bl_plot *p = bl_plot_new(200, 200, &err);
    cr_assert_not_null(p);
    double nan_y[2] = {NAN, NAN};
    bl_plot_series s = {"none", xs, nan_y, 2, BL_PLOT_SOLID};
    bl_plot_chart c = {NULL, NULL, NULL, &s, 1, false};
    cr_assert_eq(bl_plot_chart_draw(p, (bl_box){0, 0, 200, 200}, &c, NULL, &err), BL_EINVAL);
    double neg[1] = {-1};
    bl_plot_heatmap hm = {NULL, NULL, NULL, neg, 1, 1, false, false};
    cr_assert_eq(bl_plot_heatmap_draw(p, (bl_box){0, 0, 200, 200}, &hm, NULL, &err), BL_EINVAL);
    char path[] = "/tmp/test_plot_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(bl_plot_write_png(p, path, &err), BL_OK, "%s", err.msg);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    unsigned char sig[8] = {0};
    cr_assert_eq(fread(sig, 1, 8, f), 8u);
    fclose(f);
    unlink(path);
    cr_assert_eq(sig[1], 'P');
    cr_assert_eq(sig[2], 'N');
    cr_assert_eq(sig[3], 'G');
    bl_plot_destroy(&p);
}

Test(plot, draws_without_a_font)
{
    setenv("BLOTTER_PLOT_FONT", "/nonexistent/font.ttf", 1);
    bl_err err = {0};
    bl_plot *p = bl_plot_new(200, 150, &err);
    cr_assert_not_null(p);
    cr_assert_not(bl_plot_has_text(p));
    bl_plot_series s = {"rising", xs, rising, 5, BL_PLOT_SOLID};
    bl_plot_chart c = {"t", "x", "y", &s, 1, true};
    bl_plot_axes a;
    cr_assert_eq(bl_plot_chart_draw(p, (bl_box){0, 0, 200, 150}, &c, &a, &err), BL_OK, "%s",
                 err.msg);
    double px, py;
    bl_plot_axes_map(&a, 3.0, 2.0, &px, &py);
    cr_assert_lt(darkest_near(bl_plot_image(p), px, py, 1), 100);
    bl_plot_destroy(&p);
    unsetenv("BLOTTER_PLOT_FONT");
}

/* The front end's `train classify --plot-only`: curves from an existing
 * CSV log; a log without the needed columns is refused. Runs the built
 * binary (a build dependency of this test). */
Test(plot, train_plot_only_draws_curves_from_a_csv_log)
{
    const char *bin = BL_BIN_DIR "/blotter";
    cr_assert_eq(access(bin, X_OK), 0, "%s not built", bin);
    char dir[] = "/tmp/test_plot_cli_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char csv[128], png[128], bad[128], cmd[512];
    snprintf(csv, sizeof csv, "%s/log.csv", dir);
    snprintf(png, sizeof png, "%s/log.png", dir);
    snprintf(bad, sizeof bad, "%s/bad.csv", dir);
    FILE *f = fopen(csv, "w");
    cr_assert_not_null(f);
    fprintf(f, "epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds\n"
               "1,0.001,0.5,0.85,0.3,0.9,1.0\n2,0.001,0.2,0.93,0.15,0.95,1.0\n"
               "3,0.001,0.1,0.97,0.1,0.97,1.0\n");
    fclose(f);
    f = fopen(bad, "w");
    cr_assert_not_null(f);
    fprintf(f, "epoch,loss\n1,0.5\n");
    fclose(f);
    /* Default output: the CSV's path with .png. */
    snprintf(cmd, sizeof cmd, "%s train classify --plot-only %s >/dev/null", bin, csv);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    cr_assert_eq(access(png, R_OK), 0, "no %s", png);
    snprintf(cmd, sizeof cmd, "%s train classify --plot-only %s --plot %s/b.png 2>/dev/null",
             bin, bad, dir);
    cr_assert_neq(system(cmd), 0, "a log without val_loss was plotted");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
