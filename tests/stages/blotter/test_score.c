/*
 * blotter eval pipeline: the scorer (stages/blotter/score.c) and its
 * front end (eval_pipeline.c) on hand-made cases: a tiny truth.json and a
 * tiny database written through bl_db_store_page, with exact expected
 * figures for a perfect page, a missed field, a spurious field, a wrong
 * digit, a touching field and the review flags.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blotter/eval_pipeline.h"
#include "blotter/score.h"
#include "db/db.h"
#include "msg/msg.h"

enum { MAXF = 8, MAXD = 64 };

typedef struct row {
    const char *value;
    bl_box box;
    int review;
    double conf; /* 0: 0.4 if flagged, else 0.99 */
} row;

static char dir[256], db_path[300], truth_path[300];

static void setup(void)
{
    bl_strlcpy(dir, "/tmp/bl-test-score-XXXXXX", sizeof dir);
    cr_assert_not_null(mkdtemp(dir));
    bl_snprintf(db_path, sizeof db_path, "%s/t.db", dir);
    bl_snprintf(truth_path, sizeof truth_path, "%s/truth.json", dir);
}

static void teardown(void)
{
    char cmd[400];
    bl_snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* Stores one page of fields as the writer would. */
static void store(const char *batch, const char *path, uint32_t page, int n,
                  const row *rows)
{
    bl_err err = {0};
    bl_db *db = bl_db_open(db_path, &err);
    cr_assert_not_null(db, "%s", err.msg);
    bl_work w;
    bl_work_field fields[MAXF];
    bl_work_digit digits[MAXD];
    double conf[MAXF];
    int review[MAXF];
    memset(&w, 0, sizeof w);
    memset(fields, 0, sizeof fields);
    memset(digits, 0, sizeof digits);
    bl_strlcpy(w.batch, batch, sizeof w.batch);
    bl_strlcpy(w.source_path, path, sizeof w.source_path);
    w.page_count = page + 1;
    w.src_width = 2480;
    w.src_height = 3508;
    w.dpi_x = w.dpi_y = 300;
    w.to_source = (bl_transform){1, 0, 0, 0, 1, 0};
    w.fields = fields;
    w.digits = digits;
    for (int i = 0; i < n; i++) {
        bl_work_field *f = &fields[i];
        snprintf(f->name, sizeof f->name, "field_%d", i);
        f->src_box = f->box = rows[i].box;
        f->first_digit = w.digit_count;
        for (const char *v = rows[i].value; *v; v++) {
            bl_work_digit *d = &digits[w.digit_count++];
            d->cls = *v - '0';
            d->prob[d->cls] = 1;
            f->digit_count++;
        }
        conf[i] = rows[i].conf > 0 ? rows[i].conf : rows[i].review ? 0.4 : 0.99;
        review[i] = rows[i].review;
    }
    w.field_count = (uint32_t)n;
    cr_assert_eq(bl_db_store_page(db, &w, page, conf, review, &err), BL_OK, "%s",
                 err.msg);
    bl_db_close(&db);
}

static void write_truth(const char *text)
{
    FILE *f = fopen(truth_path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* Two pages: a.tif page 0 with three fields (the second touching), and
 * page 1 of multi.tif with one. */
static const char TRUTH[] =
    "{\"pages\": ["
    " {\"file\": \"a.tif\", \"page_index\": 0, \"fields\": ["
    "  {\"name\": \"case\", \"value\": \"12345\", \"box\": [100, 100, 300, 80],"
    "   \"touching\": false},"
    "  {\"name\": \"badge\", \"value\": \"678\", \"box\": [100, 300, 200, 80],"
    "   \"touching\": true},"
    "  {\"name\": \"date\", \"value\": \"9999\", \"box\": [500, 500, 200, 80]}]},"
    " {\"file\": \"multi.tif\", \"page_index\": 1, \"fields\": ["
    "  {\"name\": \"phone\", \"value\": \"4242\", \"box\": [100, 100, 200, 80]}]}"
    "]}";

TestSuite(score, .init = setup, .fini = teardown);

Test(score, perfect_pages_score_one)
{
    write_truth(TRUTH);
    store("b", "/scans/a.tif", 0, 3,
          (row[]){{"12345", {100, 100, 300, 80}, 0, 0},
                  {"678", {100, 300, 200, 80}, 0, 0},
                  {"9999", {500, 500, 200, 80}, 0, 0}});
    store("b", "multi.tif", 1, 1, (row[]){{"4242", {100, 100, 200, 80}, 0, 0}});
    bl_score s;
    bl_err err = {0};
    cr_assert_eq(bl_score_pipeline(db_path, truth_path, NULL, &s, &err), BL_OK, "%s",
                 err.msg);
    cr_assert_eq(s.truth_pages, 2);
    cr_assert_eq(s.true_fields, 4);
    cr_assert_eq(s.true_digits, 16);
    cr_assert_eq(s.stored_fields, 4);
    cr_assert_eq(s.matched, 4);
    cr_assert_eq(s.exact, 4);
    cr_assert_float_eq(s.precision, 1.0, 1e-12);
    cr_assert_float_eq(s.recall, 1.0, 1e-12);
    cr_assert_float_eq(s.exact_accuracy, 1.0, 1e-12);
    cr_assert_float_eq(s.digit_accuracy, 1.0, 1e-12);
    cr_assert_float_eq(s.right_flagged_share, 0.0, 1e-12);
    cr_assert(isnan(s.wrong_flagged_share), "no wrong fields: undefined");
    cr_assert_eq(s.touching_fields, 1);
    cr_assert_float_eq(s.touching_exact_accuracy, 1.0, 1e-12);
    cr_assert_float_eq(s.mean_iou, 1.0, 1e-12);
}

/* Missed "9999", spurious "77", a wrong digit in the touching "678", a
 * dropped digit in "4242"; rows of other files and pages are set apart. */
static void store_mixed_case(void)
{
    write_truth(TRUTH);
    store("b", "/x/y/a.tif", 0, 3,
          (row[]){{"12345", {102, 98, 300, 82}, 0, 0},
                  {"618", {100, 300, 200, 80}, 1, 0},
                  {"77", {1500, 1500, 100, 50}, 0, 0}});
    store("b", "multi.tif", 1, 1, (row[]){{"424", {110, 100, 200, 80}, 0, 0}});
    store("b", "xa.tif", 0, 1, (row[]){{"12345", {100, 100, 300, 80}, 0, 0}});
    store("b", "/x/y/a.tif", 1, 1, (row[]){{"1", {100, 100, 300, 80}, 0, 0}});
}

Test(score, counts_misses_spurious_and_wrong_digits)
{
    store_mixed_case();
    bl_score s;
    bl_err err = {0};
    cr_assert_eq(bl_score_pipeline(db_path, truth_path, NULL, &s, &err), BL_OK, "%s",
                 err.msg);
    cr_assert_eq(s.stored_fields, 4);
    cr_assert_eq(s.other_rows, 2);
    cr_assert_eq(s.matched, 3);
    cr_assert_eq(s.exact, 1);
    cr_assert_float_eq(s.precision, 0.75, 1e-12);
    cr_assert_float_eq(s.recall, 0.75, 1e-12);
    cr_assert_float_eq(s.exact_accuracy, 0.25, 1e-12);
    /* Errors: 0 + 1 (substitution) + 4 (missed) + 1 (deletion) of 16. */
    cr_assert_eq(s.digit_errors, 6);
    cr_assert_float_eq(s.digit_accuracy, 1.0 - 6.0 / 16.0, 1e-12);
    cr_assert_eq(s.wrong_matched, 2);
    cr_assert_eq(s.wrong_flagged, 1);
    cr_assert_float_eq(s.wrong_flagged_share, 0.5, 1e-12);
    cr_assert_float_eq(s.right_flagged_share, 0.0, 1e-12);
    cr_assert_eq(s.touching_fields, 1);
    cr_assert_eq(s.touching_exact, 0);
    cr_assert_float_eq(s.touching_exact_accuracy, 0.0, 1e-12);
}

Test(score, flags_on_right_fields_count_against_the_gate)
{
    write_truth(TRUTH);
    store("b", "a.tif", 0, 2,
          (row[]){{"12345", {100, 100, 300, 80}, 1, 0}, {"678", {100, 300, 200, 80}, 0, 0}});
    bl_score s;
    cr_assert_eq(bl_score_pipeline(db_path, truth_path, NULL, &s, NULL), BL_OK);
    cr_assert_eq(s.exact, 2);
    cr_assert_eq(s.right_flagged, 1);
    cr_assert_float_eq(s.right_flagged_share, 0.5, 1e-12);
}

Test(score, measures_the_gate_without_its_threshold)
{
    write_truth(TRUTH);
    /* Right 12345 at 0.5 and 4242 at 0.95; wrong 618 at 0.3 (flagged) and
     * 9990 at 0.7 (not flagged); the spurious 77 flagged. Catching 90% of
     * the two wrong fields, least confident first, flags 618, 12345 and
     * 9990: 3 of the 4 matched. */
    store("b", "a.tif", 0, 4,
          (row[]){{"12345", {100, 100, 300, 80}, 0, 0.5},
                  {"618", {100, 300, 200, 80}, 1, 0.3},
                  {"9990", {500, 500, 200, 80}, 0, 0.7},
                  {"77", {1500, 1500, 100, 50}, 1, 0.2}});
    store("b", "multi.tif", 1, 1, (row[]){{"4242", {100, 100, 200, 80}, 0, 0.95}});
    bl_score s;
    cr_assert_eq(bl_score_pipeline(db_path, truth_path, NULL, &s, NULL), BL_OK);
    cr_assert_eq(s.stored_fields, 5);
    cr_assert_eq(s.flagged, 2);
    cr_assert_float_eq(s.flagged_share, 0.4, 1e-12);
    cr_assert_float_eq(s.flag_needed, 0.75, 1e-12);
    cr_assert_float_eq(s.wrong_flagged_share, 0.5, 1e-12);
}

Test(score, no_wrong_fields_leave_the_gate_measure_undefined)
{
    write_truth(TRUTH);
    store("b", "a.tif", 0, 1, (row[]){{"12345", {100, 100, 300, 80}, 0, 0}});
    bl_score s;
    cr_assert_eq(bl_score_pipeline(db_path, truth_path, NULL, &s, NULL), BL_OK);
    cr_assert(isnan(s.flag_needed));
    cr_assert_float_eq(s.flagged_share, 0.0, 1e-12);
}

Test(score, matches_one_to_one_by_best_iou)
{
    write_truth(TRUTH);
    /* Two rows over "12345": the better one matches, the other is spurious;
     * a row at IoU below 0.5 never matches. */
    store("b", "a.tif", 0, 3,
          (row[]){{"12340", {130, 100, 300, 80}, 0, 0},
                  {"12345", {101, 100, 300, 80}, 0, 0},
                  {"678", {100, 300, 80, 80}, 0, 0}});
    bl_score s;
    cr_assert_eq(bl_score_pipeline(db_path, truth_path, NULL, &s, NULL), BL_OK);
    cr_assert_eq(s.stored_fields, 3);
    cr_assert_eq(s.matched, 1);
    cr_assert_eq(s.exact, 1);
    cr_assert_float_eq(s.precision, 1.0 / 3.0, 1e-12);
}

Test(score, batch_selects_rows)
{
    write_truth(TRUTH);
    store("good", "a.tif", 0, 1, (row[]){{"12345", {100, 100, 300, 80}, 0, 0}});
    store("bad", "a.tif", 0, 1, (row[]){{"99999", {100, 100, 300, 80}, 0, 0}});
    bl_score s;
    cr_assert_eq(bl_score_pipeline(db_path, truth_path, "good", &s, NULL), BL_OK);
    cr_assert_eq(s.stored_fields, 1);
    cr_assert_eq(s.exact, 1);
    cr_assert_eq(bl_score_pipeline(db_path, truth_path, NULL, &s, NULL), BL_OK);
    cr_assert_eq(s.stored_fields, 2);
    cr_assert_eq(s.matched, 1);
}

Test(score, refuses_malformed_truth_and_missing_files)
{
    store("b", "a.tif", 0, 1, (row[]){{"1", {1, 1, 1, 1}, 0, 0}});
    bl_score s;
    bl_err err = {0};
    write_truth("{\"pages\": [{\"file\": \"a.tif\", \"page_index\": 0, \"fields\": "
                "[{\"value\": \"12\", \"box\": [1, 2, 3]}]}]}");
    cr_assert_eq(bl_score_pipeline(db_path, truth_path, NULL, &s, &err), BL_EFORMAT);
    cr_assert(strstr(err.msg, "truth.json") && strstr(err.msg, "box"), "%s", err.msg);
    write_truth("{\"pages\": 3}");
    cr_assert_eq(bl_score_pipeline(db_path, truth_path, NULL, &s, &err), BL_EFORMAT);
    write_truth(TRUTH);
    cr_assert_neq(bl_score_pipeline("/nonexistent/x.db", truth_path, NULL, &s, &err),
                  BL_OK);
    cr_assert_neq(bl_score_pipeline(db_path, "/nonexistent/truth.json", NULL, &s, &err),
                  BL_OK);
}

Test(score, edit_distance_and_iou)
{
    cr_assert_eq(bl_score_edit_distance("", ""), 0);
    cr_assert_eq(bl_score_edit_distance("123", "123"), 0);
    cr_assert_eq(bl_score_edit_distance("123", "13"), 1);
    cr_assert_eq(bl_score_edit_distance("123", "1243"), 1);
    cr_assert_eq(bl_score_edit_distance("123", "321"), 2);
    cr_assert_eq(bl_score_edit_distance("", "12"), 2);
    cr_assert_float_eq(bl_score_iou(0, 0, 10, 10, 0, 0, 10, 10), 1.0, 1e-12);
    cr_assert_float_eq(bl_score_iou(0, 0, 10, 10, 5, 0, 10, 10), 50.0 / 150.0, 1e-12);
    cr_assert_float_eq(bl_score_iou(0, 0, 10, 10, 10, 0, 10, 10), 0.0, 1e-12);
    cr_assert_float_eq(bl_score_iou(0, 0, 0, 10, 0, 0, 10, 10), 0.0, 1e-12);
}

/* Runs the command with stdout in a file; returns its status and the text. */
static int run_cmd(int argc, char **argv, char *out, size_t out_size)
{
    char path[320];
    bl_snprintf(path, sizeof path, "%s/stdout", dir);
    fflush(stdout);
    int saved = dup(1);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert(saved >= 0 && fd >= 0);
    dup2(fd, 1);
    close(fd);
    int rc = bl_eval_pipeline(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    FILE *f = fopen(path, "r");
    size_t n = fread(out, 1, out_size - 1, f);
    out[n] = '\0';
    fclose(f);
    return rc;
}

Test(score, command_prints_text_and_json)
{
    store_mixed_case();
    char out[4096];
    char *argv[] = {"pipeline", "--db", db_path, "--truth", truth_path, NULL};
    cr_assert_eq(run_cmd(5, argv, out, sizeof out), 0);
    cr_assert(strstr(out, "field recall:              0.7500\n"), "%s", out);
    cr_assert(strstr(out, "field precision:           0.7500\n"), "%s", out);
    cr_assert(strstr(out, "field exact accuracy:      0.2500\n"), "%s", out);
    cr_assert(strstr(out, "digit accuracy:            0.6250\n"), "%s", out);
    cr_assert(strstr(out, "wrong fields flagged:      0.5000\n"), "%s", out);
    cr_assert(strstr(out, "all fields flagged:        0.2500\n"), "%s", out);
    /* 618 at 0.4, then 424 tied with the right 12345 at 0.99: all three. */
    cr_assert(strstr(out, "flagged to catch 90%:      1.0000\n"), "%s", out);
    cr_assert(strstr(out, "touching exact accuracy:   0.0000\n"), "%s", out);

    char *jargv[] = {"pipeline", "--db", db_path, "--truth", truth_path, "--json",
                     "--batch", "b", NULL};
    cr_assert_eq(run_cmd(8, jargv, out, sizeof out), 0);
    json_error_t jerr;
    json_t *o = json_loads(out, 0, &jerr);
    cr_assert_not_null(o, "%s: %s", jerr.text, out);
    cr_assert_float_eq(json_real_value(json_object_get(o, "field_recall")), 0.75, 1e-9);
    cr_assert_float_eq(json_real_value(json_object_get(o, "digit_accuracy")), 0.625, 1e-9);
    cr_assert_eq(json_integer_value(json_object_get(o, "matched_fields")), 3);
    cr_assert_float_eq(json_real_value(json_object_get(o, "all_flagged_share")), 0.25, 1e-9);
    cr_assert_float_eq(json_real_value(json_object_get(o, "flagged_to_catch_90")), 1.0, 1e-9);
    cr_assert_eq(json_integer_value(json_object_get(o, "true_fields")), 4);
    json_decref(o);

    char *bad[] = {"pipeline", "--db", db_path, NULL};
    cr_assert_eq(run_cmd(3, bad, out, sizeof out), 2);
    char *missing[] = {"pipeline", "--db", "/nonexistent.db", "--truth", truth_path, NULL};
    cr_assert_eq(run_cmd(5, missing, out, sizeof out), 1);
}
