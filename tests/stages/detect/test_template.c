/*
 * template: parsing of form template files (the good fixtures in
 * tests/data/templates/good, and one bad file per kind of mistake, each
 * giving FILE:LINE and its reason) and the directory watch that re-reads
 * templates while the stage runs.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/template.h"

#define GOOD BL_TEST_DATA_DIR "/templates/good"

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bl-template-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static void copy_good(const char *name, const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cp '%s/%s' '%s/'", GOOD, name, dir);
    cr_assert_eq(system(cmd), 0);
}

Test(template, loads_the_good_directory_sorted_by_file_name)
{
    bl_template_set *set = NULL;
    bl_err err = {0};
    cr_assert_eq(bl_template_set_load(GOOD, &set, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(set->count, 3);
    cr_assert_str_eq(set->t[0].name, "arrest_record");
    cr_assert_str_eq(set->t[1].name, "incident_report");
    cr_assert_str_eq(set->t[2].name, "property_receipt");
    const bl_template *a = &set->t[0];
    cr_assert_str_eq(a->title, "ARREST RECORD");
    cr_assert_eq(a->width, 2480);
    cr_assert_eq(a->height, 3508);
    cr_assert_float_eq(a->min_score, BL_TEMPLATE_MIN_SCORE, 1e-6);
    cr_assert_float_eq(set->t[1].min_score, 0.65f, 1e-6);
    cr_assert_eq(a->nlines, 13);
    /* h X Y LENGTH THICKNESS and v X Y LENGTH THICKNESS as boxes. */
    cr_assert(a->lines[0].vertical == 0 && a->lines[0].box.x == 230 &&
              a->lines[0].box.y == 585 && a->lines[0].box.w == 2020 && a->lines[0].box.h == 5);
    cr_assert(a->lines[4].vertical == 1 && a->lines[4].box.x == 230 &&
              a->lines[4].box.y == 800 && a->lines[4].box.w == 4 && a->lines[4].box.h == 204);
    cr_assert_eq(a->nfields, 5);
    cr_assert_str_eq(a->fields[0].name, "arrest_number");
    cr_assert_str_eq(a->fields[0].rule, "len=8;check=luhn");
    cr_assert_str_eq(a->fields[0].label, "Arrest No.");
    cr_assert(a->fields[0].box.x == 240 && a->fields[0].box.y == 810 &&
              a->fields[0].box.w == 800 && a->fields[0].box.h == 185);
    /* An inline comment after a value is not part of it. */
    cr_assert_eq(a->fields[2].box.h, 170);
    cr_assert_str_eq(a->fields[4].rule, "");
    bl_template_set_destroy(&set);
    cr_assert_null(set);
}

typedef struct bad_case {
    const char *text;
    int line;
    const char *reason;
} bad_case;

#define HEAD "[template]\nname = t\nwidth = 2480\nheight = 3508\n"
#define LINES "[lines]\nline = h 100 100 500 4\n"
#define FIELD "[field f]\nbox = 100 200 300 100\n"

static const bad_case BAD[] = {
    {HEAD LINES FIELD "[field g]\nbox = 1 2 3\n", 10, "[field g] box: '1 2 3': expected X Y W H"},
    {HEAD LINES FIELD "[field g]\nbox = 2400 3400 100 50\n", 9, "leaves the 2480x3508 sheet"},
    {HEAD LINES FIELD "[field Bad-Name]\nbox = 1 2 3 4\n", 9, "a field name is 1-40 of"},
    {HEAD LINES FIELD "[field f]\nbox = 1 2 3 4\n", 9, "field 'f' appears twice (first on line 7)"},
    {HEAD LINES FIELD "rule = len=8;check=luhn;len=1;range=1-2;date=DDMMYY;time=HHMM;"
                      "check=mod11;len=3;range=10-20;date=DDMMYYYY;len=4-5;range=30-40;len=12;range=100-200\n",
     9, "rule: 139 bytes, at most 127"},
    {HEAD LINES FIELD "rule = len=abc\n", 9, "rule: len=abc: bad value"},
    {HEAD LINES FIELD "rule = colour=red\n", 9, "rule: unknown key 'colour'"},
    {HEAD LINES FIELD "rule = len=4;years=1900-2029\n", 9,
     "rule: years= narrows a date= the rule does not have"},
    {HEAD LINES FIELD "rule = date=DDMMYYYY;years=1900\n", 9, "rule: years=1900: bad value"},
    {HEAD LINES FIELD "rule = len=10;prefix=+44\n", 9, "rule: prefix=+44: bad value"},
    {HEAD LINES FIELD "colour = red\n", 9, "[field f] colour: unknown key"},
    {HEAD LINES FIELD "[signature]\n", 9, "unknown section [signature]"},
    {HEAD "[lines]\nline = d 1 2 300 4\n", 6, "expected h|v X Y LENGTH THICKNESS"},
    {HEAD "[lines]\nline = h 1 2 100 4\n", 6, "length 100: a form line is at least 120 px"},
    {HEAD "[lines]\nline = h 1 2 300 20\n", 6, "thickness 20: must be 1..14"},
    {HEAD "[lines]\nline = h 2000 2 600 4\n" FIELD, 5, "line 1 (h 2000 2 ...) leaves the"},
    {HEAD "[lines]\n" FIELD, 5, "no form lines"},
    {HEAD LINES, 1, "no [field NAME] section"},
    {HEAD LINES "[field f]\nrule = len=3\n", 7, "[field f] box: missing"},
    {"[template]\nname = Arrest Record\n", 2, "[template] name: 'Arrest Record'"},
    {"[template]\nname = a\nname = b\n", 3, "[template] name: set twice (first on line 2)"},
    {"[template]\nwidth = -5\n", 2, "[template] width: not a positive integer: '-5'"},
    {"[template]\nmin_score = 2\n", 2, "min_score: not a number in (0, 1]"},
    {"[template]\nname = a\nwidth = 10\n", 1, "[template] height: missing"},
    {"name = a\n", 1, "name: key outside a section"},
    {LINES FIELD, 1, "no [template] section"},
    {HEAD "just words\n", 5, "syntax error"},
    {HEAD " indented = 1\n", 5, "indented line"},
    {HEAD "title = "
          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
          "xxxxxxxxxxxxxxxxxxxxxx\n",
     5, "line longer than 198 characters"},
};

Test(template, each_bad_file_names_file_line_and_reason)
{
    make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/bad.ini", tmpdir);
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        write_file(path, BAD[i].text);
        bl_template t;
        bl_err err = {0};
        int rc = bl_template_load(path, &t, &err);
        cr_expect_neq(rc, BL_OK, "case %zu: loaded", i);
        char want[600];
        snprintf(want, sizeof want, "%s:%d: ", path, BAD[i].line);
        cr_expect(strncmp(err.msg, want, strlen(want)) == 0, "case %zu: '%s' does not start '%s'",
                  i, err.msg, want);
        cr_expect(strstr(err.msg, BAD[i].reason) != NULL, "case %zu: '%s' lacks '%s'", i,
                  err.msg, BAD[i].reason);
    }
    /* The minimal file the cases are built from is good. */
    write_file(path, HEAD LINES FIELD);
    bl_template t;
    bl_err err = {0};
    cr_assert_eq(bl_template_load(path, &t, &err), BL_OK, "%s", err.msg);
    bl_template_free(&t);
    remove_tmpdir();
}

Test(template, two_templates_of_one_name_are_refused)
{
    make_tmpdir();
    copy_good("a_arrest.ini", tmpdir);
    char path[512];
    snprintf(path, sizeof path, "%s/z.ini", tmpdir);
    write_file(path, "# copy\n[template]\nwidth = 2480\nheight = 3508\nname = arrest_record\n" LINES
                     FIELD);
    bl_template_set *set = NULL;
    bl_err err = {0};
    cr_assert_neq(bl_template_set_load(tmpdir, &set, &err), BL_OK);
    cr_assert_null(set);
    char want[600];
    snprintf(want, sizeof want, "%s:5: template name 'arrest_record' is already used by", path);
    cr_assert(strstr(err.msg, want) == err.msg, "%s", err.msg);
    remove_tmpdir();
}

Test(template, missing_directory_is_an_error)
{
    bl_template_set *set = NULL;
    bl_err err = {0};
    cr_assert_neq(bl_template_set_load("/nonexistent/templates", &set, &err), BL_OK);
    cr_assert(strstr(err.msg, "/nonexistent/templates") != NULL, "%s", err.msg);
}

Test(template, watch_rereads_a_directory_when_a_file_is_added_changed_or_bad)
{
    make_tmpdir();
    copy_good("a_arrest.ini", tmpdir);
    bl_template_watch w;
    bl_err err = {0};
    cr_assert_eq(bl_template_watch_open(&w, tmpdir, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(w.set->count, 1);
    uint64_t now = w.checked_ns;
    /* Nothing changed. */
    cr_assert_eq(bl_template_watch_poll(&w, now + 2000000000ull, &err), 0);
    now += 2000000000ull;

    /* A file added: seen at the next look, not within the same second. */
    copy_good("b_incident.ini", tmpdir);
    cr_assert_eq(bl_template_watch_poll(&w, now + 500000000ull, &err), 0);
    cr_assert_eq(w.set->count, 1);
    cr_assert_eq(bl_template_watch_poll(&w, now + 1000000000ull, &err), 1, "%s", err.msg);
    now += 1000000000ull;
    cr_assert_eq(w.set->count, 2);
    cr_assert_str_eq(w.set->t[1].name, "incident_report");

    /* A bad file: an error naming it, the previous set kept, reported once. */
    char path[512];
    snprintf(path, sizeof path, "%s/c_bad.ini", tmpdir);
    write_file(path, HEAD "[lines]\nline = h 1 2 100 4\n");
    now += 1000000000ull;
    int rc = bl_template_watch_poll(&w, now, &err);
    cr_assert(rc < 0, "rc %d", rc);
    char want[600];
    snprintf(want, sizeof want, "%s:6: ", path);
    cr_assert(strstr(err.msg, want) == err.msg, "%s", err.msg);
    cr_assert_eq(w.set->count, 2);
    now += 1000000000ull;
    cr_assert_eq(bl_template_watch_poll(&w, now, &err), 0);

    /* Fixed (a change of size): read again. */
    write_file(path, HEAD LINES FIELD);
    now += 1000000000ull;
    cr_assert_eq(bl_template_watch_poll(&w, now, &err), 1, "%s", err.msg);
    cr_assert_eq(w.set->count, 3);

    /* Removed. */
    cr_assert_eq(unlink(path), 0);
    now += 1000000000ull;
    cr_assert_eq(bl_template_watch_poll(&w, now, &err), 1, "%s", err.msg);
    cr_assert_eq(w.set->count, 2);
    bl_template_watch_close(&w);
    remove_tmpdir();
}

Test(template, empty_directory_setting_means_no_templates)
{
    bl_template_watch w;
    bl_err err = {0};
    cr_assert_eq(bl_template_watch_open(&w, "", &err), BL_OK, "%s", err.msg);
    cr_assert_eq(w.set->count, 0);
    cr_assert_eq(bl_template_watch_poll(&w, w.checked_ns + 5000000000ull, &err), 0);
    bl_template_watch_close(&w);
}
