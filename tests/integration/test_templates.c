/*
 * Form templates through the real pipeline: blotter-detect loads the
 * configured template directory, names a matching page's fields after the
 * template with their rules, and refuses to start on a bad template file.
 * The page is drawn here: a test template's lines shifted on the sheet,
 * ring-shaped digits in two of its fields and a note in the margin.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "run_cmd.h"

#define BLOTTER BL_BIN_DIR "/blotter"
#define TEMPLATES BL_TEST_DATA_DIR "/templates/good"
#define TIMEOUT_S 240

static char tmp[256];

static void make_tmp(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/blotter-tmpl-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
}

static void remove_tmp(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(templates, .init = make_tmp, .fini = remove_tmp, .timeout = 300);

static void fill(bl_image *img, int x, int y, int w, int h)
{
    for (int yy = y; yy < y + h; yy++)
        for (int xx = x; xx < x + w; xx++)
            BL_PIX(img, xx, yy) = 1;
}

static void ring(bl_image *img, int x, int y, int w, int h)
{
    double rx = w / 2.0, ry = h / 2.0, t = h / 10.0;
    for (int yy = 0; yy < h; yy++)
        for (int xx = 0; xx < w; xx++) {
            double dx = (xx + 0.5 - rx) / rx, dy = (yy + 0.5 - ry) / ry;
            double ix = (xx + 0.5 - rx) / (rx - t), iy = (yy + 0.5 - ry) / (ry - t);
            if (dx * dx + dy * dy <= 1.0 && ix * ix + iy * iy > 1.0)
                BL_PIX(img, x + xx, y + yy) = 1;
        }
}

static void digits(bl_image *img, int x, int y, int n)
{
    for (int i = 0; i < n; i++)
        ring(img, x + i * 60, y + (i % 2) * 3, 45, 70);
}

/* The arrest template's page (tests/data/templates/good/a_arrest.ini),
 * shifted by (dx, dy). */
static void write_page(const char *path, int dx, int dy)
{
    bl_image *p = bl_image_new(2480, 3508);
    fill(p, 230 + dx, 585 + dy, 2020, 5);
    fill(p, 900 + dx, 3100 + dy, 900, 3);
    fill(p, 230 + dx, 800 + dy, 820, 4);
    fill(p, 230 + dx, 1000 + dy, 820, 4);
    fill(p, 230 + dx, 800 + dy, 4, 204);
    fill(p, 1046 + dx, 800 + dy, 4, 204);
    fill(p, 1150 + dx, 1000 + dy, 500, 4);
    fill(p, 1750 + dx, 700 + dy, 500, 4);
    fill(p, 1750 + dx, 1316 + dy, 500, 4);
    fill(p, 1750 + dx, 700 + dy, 4, 620);
    fill(p, 2246 + dx, 700 + dy, 4, 620);
    fill(p, 230 + dx, 1600 + dy, 600, 4);
    fill(p, 1000 + dx, 1600 + dy, 700, 4);
    digits(p, 300 + dx, 870 + dy, 8);   /* arrest_number */
    digits(p, 1200 + dx, 900 + dy, 6);  /* date */
    digits(p, 300 + dx, 2300 + dy, 4);  /* a margin note: no field */
    bl_err err = {0};
    cr_assert_eq(bl_image_write_png(p, path, 300, 1, &err), BL_OK, "%s", err.msg);
    bl_image_destroy(&p);
}

static void write_conf(const char *templates_dir)
{
    char path[300];
    snprintf(path, sizeof path, "%s/pipeline.conf", tmp);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    /* No orientation model: the drawn page is upright. */
    fprintf(f, "[pipeline]\ntemplates = %s\n[models]\ningest =\n", templates_dir);
    fclose(f);
}

Test(templates, detect_names_fields_after_the_matching_template)
{
    char cmd[1024], in[300], db_path[300], conf[300], errf[300];
    snprintf(in, sizeof in, "%s/in", tmp);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' '%s/forms' && cp '%s/a_arrest.ini' '%s/forms/'",
             in, tmp, TEMPLATES, tmp);
    cr_assert_eq(system(cmd), 0);
    char page[400];
    snprintf(page, sizeof page, "%s/card.png", in);
    write_page(page, 41, -33);
    write_conf("forms");
    snprintf(db_path, sizeof db_path, "%s/a.db", tmp);
    snprintf(conf, sizeof conf, "%s/pipeline.conf", tmp);
    snprintf(errf, sizeof errf, "%s/err.txt", tmp);
    char *argv[] = {BLOTTER, "run", "--quiet", "--config", conf, "--db", db_path, in, NULL};
    char outf[300];
    snprintf(outf, sizeof outf, "%s/out.txt", tmp);
    int status = run_cmd(argv, outf, errf, TIMEOUT_S);
    char *err_text = slurp(errf);
    cr_assert_eq(status, 0, "blotter run exited %d:\n%s", status, err_text);
    free(err_text);

    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT field_name, rule FROM fields ORDER BY "
                                        "field_index", -1, &st, NULL), SQLITE_OK);
    const char *want[][2] = {{"arrest_number", "len=8;check=luhn"},
                             {"date", "date=DDMMYYYY"}};
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *rule = (const char *)sqlite3_column_text(st, 1);
        cr_assert_lt(n, 2, "extra field %s", name);
        cr_expect_str_eq(name, want[n][0]);
        cr_expect_str_eq(rule, want[n][1]);
        n++;
    }
    cr_assert_eq(n, 2, "%d fields stored", n);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

Test(templates, a_bad_template_file_stops_the_run_naming_file_and_line)
{
    char cmd[1024], in[300], conf[300], errf[300], db_path[300];
    snprintf(in, sizeof in, "%s/in", tmp);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' '%s/forms' && cp '%s/a_arrest.ini' '%s/forms/' && "
             "printf '[template]\\nname = x\\nwidth = 2480\\nheight = 3508\\n[lines]\\n"
             "line = h 1 2 300 40\\n' > '%s/forms/b_bad.ini'",
             in, tmp, TEMPLATES, tmp, tmp);
    cr_assert_eq(system(cmd), 0);
    char page[400];
    snprintf(page, sizeof page, "%s/card.png", in);
    write_page(page, 0, 0);
    write_conf("forms");
    snprintf(db_path, sizeof db_path, "%s/a.db", tmp);
    snprintf(conf, sizeof conf, "%s/pipeline.conf", tmp);
    snprintf(errf, sizeof errf, "%s/err.txt", tmp);
    char *argv[] = {BLOTTER, "run", "--quiet", "--config", conf, "--db", db_path, in, NULL};
    char outf[300];
    snprintf(outf, sizeof outf, "%s/out.txt", tmp);
    int status = run_cmd(argv, outf, errf, TIMEOUT_S);
    char *err_text = slurp(errf);
    cr_assert_neq(status, 0, "blotter run succeeded:\n%s", err_text);
    char want[400];
    snprintf(want, sizeof want, "%s/forms/b_bad.ini:6: [lines] line: thickness 40", tmp);
    cr_assert(strstr(err_text, want) != NULL, "'%s' not in:\n%s", want, err_text);
    free(err_text);
}
