/*
 * Form templates through the real pipeline: blotter-detect loads the
 * configured template directory, names a matching page's fields after the
 * template with their rules, refuses to start on a bad template file, and
 * takes a template added while it runs.
 * The page is drawn here: a test template's lines shifted on the sheet,
 * ring-shaped digits in two of its fields and a note in the margin.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../stages/detect/draw.h"
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

static void digits(bl_image *img, int x, int y, int n)
{
    for (int i = 0; i < n; i++)
        draw_ring(img, x + i * 60, y + (i % 2) * 3, 45, 70);
}

/* The arrest template's page (tests/data/templates/good/a_arrest.ini),
 * shifted by (dx, dy). */
static void write_page(const char *path, int dx, int dy)
{
    bl_image *p = bl_image_new(2480, 3508);
    draw_fill(p, (bl_box){230 + dx, 585 + dy, 2020, 5});
    draw_fill(p, (bl_box){900 + dx, 3100 + dy, 900, 3});
    draw_fill(p, (bl_box){230 + dx, 800 + dy, 820, 4});
    draw_fill(p, (bl_box){230 + dx, 1000 + dy, 820, 4});
    draw_fill(p, (bl_box){230 + dx, 800 + dy, 4, 204});
    draw_fill(p, (bl_box){1046 + dx, 800 + dy, 4, 204});
    draw_fill(p, (bl_box){1150 + dx, 1000 + dy, 500, 4});
    draw_fill(p, (bl_box){1750 + dx, 700 + dy, 500, 4});
    draw_fill(p, (bl_box){1750 + dx, 1316 + dy, 500, 4});
    draw_fill(p, (bl_box){1750 + dx, 700 + dy, 4, 620});
    draw_fill(p, (bl_box){2246 + dx, 700 + dy, 4, 620});
    draw_fill(p, (bl_box){230 + dx, 1600 + dy, 600, 4});
    draw_fill(p, (bl_box){1000 + dx, 1600 + dy, 700, 4});
    digits(p, 300 + dx, 870 + dy, 8);   /* arrest_number */
    digits(p, 1200 + dx, 900 + dy, 6);  /* date */
    digits(p, 300 + dx, 2300 + dy, 4);  /* a margin note: no field */
    bl_err err = {0};
    cr_assert_eq(bl_image_write_png(p, path, 300, 1, &err), BL_OK, "%s", err.msg);
    bl_image_destroy(&p);
}

static void write_conf_extra(const char *templates_dir, const char *extra)
{
    char path[300];
    snprintf(path, sizeof path, "%s/pipeline.conf", tmp);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    /* No orientation model: the drawn page is upright. No region
     * classifier: the drawn rings are no one's hand-writing, and the
     * rules take them for what they are drawn as, rows of digits. */
    fprintf(f, "[pipeline]\ntemplates = %s\n%s[models]\ningest =\ndetect =\n", templates_dir,
            extra);
    fclose(f);
}

static void write_conf(const char *templates_dir) { write_conf_extra(templates_dir, ""); }

/* The field names stored for batch `batch`, in order, joined by ','. */
static void names_of(const char *db_path, const char *batch, char *out, size_t size)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT field_name FROM v_fields WHERE batch = ? "
                                        "ORDER BY field_index", -1, &st, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, batch, -1, SQLITE_STATIC);
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW) {
        size_t n = strlen(out);
        snprintf(out + n, size - n, "%s%s", n ? "," : "", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
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

static int wait_for(const char *path, int seconds)
{
    for (int i = 0; i < seconds * 20; i++) {
        if (access(path, F_OK) == 0)
            return 1;
        usleep(50000);
    }
    return 0;
}

Test(templates, a_template_added_while_running_is_used_without_a_restart)
{
    char cmd[1200], conf[300], run_dir[300], db[300], front[400], up_err[300];
    char in1[300], in2[300], page[400];
    snprintf(conf, sizeof conf, "%s/pipeline.conf", tmp);
    snprintf(run_dir, sizeof run_dir, "%s/run", tmp);
    snprintf(db, sizeof db, "%s/svc.db", tmp);
    snprintf(front, sizeof front, "%s/front", run_dir);
    snprintf(up_err, sizeof up_err, "%s/up.txt", tmp);
    snprintf(in1, sizeof in1, "%s/in1", tmp);
    snprintf(in2, sizeof in2, "%s/in2", tmp);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' '%s' '%s/forms'", in1, in2, tmp);
    cr_assert_eq(system(cmd), 0);
    snprintf(page, sizeof page, "%s/card.png", in1);
    write_page(page, 20, 25);
    snprintf(page, sizeof page, "%s/card.png", in2);
    write_page(page, -30, 12); /* another page: the same one would be a duplicate */
    char extra[400];
    snprintf(extra, sizeof extra, "runtime_dir = %s\n", run_dir);
    write_conf_extra("forms", extra);

    pid_t up = fork();
    cr_assert_geq(up, 0);
    if (up == 0) {
        char *argv[] = {BLOTTER, "up", "--config", conf, "--db", db, NULL};
        _exit(run_cmd(argv, "/dev/null", up_err, 200));
    }
    cr_assert(wait_for(front, 60), "the service never came up:\n%s", slurp(up_err));

    /* No template yet: field_N in reading order. */
    char *feed1[] = {BLOTTER, "feed", "--config", conf, "--wait", "--batch", "before", in1,
                     NULL};
    cr_assert_eq(run_cmd(feed1, "/dev/null", "/dev/null", 120), 0);
    char names[512];
    names_of(db, "before", names, sizeof names);
    cr_expect(strncmp(names, "field_1,field_2", 15) == 0 && !strstr(names, "arrest"),
              "before: %s", names);

    /* The template arrives; the stage looks at most once a second. */
    snprintf(cmd, sizeof cmd, "cp '%s/a_arrest.ini' '%s/forms/'", TEMPLATES, tmp);
    cr_assert_eq(system(cmd), 0);
    sleep(2);
    char *feed2[] = {BLOTTER, "feed", "--config", conf, "--wait", "--batch", "after", in2,
                     NULL};
    cr_assert_eq(run_cmd(feed2, "/dev/null", "/dev/null", 120), 0);
    names_of(db, "after", names, sizeof names);
    cr_expect_str_eq(names, "arrest_number,date");

    char *down[] = {BLOTTER, "down", "--config", conf, NULL};
    cr_assert_eq(run_cmd(down, "/dev/null", "/dev/null", 60), 0);
    int status;
    cr_assert_eq(waitpid(up, &status, 0), up);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "blotter up ended %d:\n%s",
              status, slurp(up_err));
}
