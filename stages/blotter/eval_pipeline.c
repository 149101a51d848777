/*
 * eval_pipeline: argument parsing and output of `blotter eval pipeline`;
 * the scoring itself is score.c. Text output is one `name: value` line per
 * figure, the values aligned in one column, figures with four decimals
 * (`n/a` when undefined); --json prints the same as one object (null when
 * undefined), with the counts.
 */
#include "blotter/eval_pipeline.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blotter/score.h"

static void usage(FILE *to)
{
    fprintf(to, "usage: blotter eval pipeline --db F --truth F [--batch NAME] [--json]\n"
                "Scores the fields stored in the database (v_fields) against the\n"
                "truth.json of `blotter samples`: detection precision and recall at\n"
                "IoU >= 0.5, exact-value and digit accuracy, review-gate quality.\n");
}

static void line_fig(const char *name, double v)
{
    char label[40];
    snprintf(label, sizeof label, "%s:", name);
    if (isnan(v))
        printf("%-26s n/a\n", label);
    else
        printf("%-26s %.4f\n", label, v);
}

static void line_count(const char *name, long v)
{
    char label[40];
    snprintf(label, sizeof label, "%s:", name);
    printf("%-26s %ld\n", label, v);
}

static json_t *jfig(double v)
{
    return isnan(v) ? json_null() : json_real(round(v * 1e6) / 1e6);
}

int bl_eval_pipeline(int argc, char **argv)
{
    const char *db = NULL, *truth = NULL, *batch = NULL;
    int as_json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            as_json = 1;
        } else if (strcmp(a, "--db") == 0 && v) {
            db = v;
            i++;
        } else if (strcmp(a, "--truth") == 0 && v) {
            truth = v;
            i++;
        } else if (strcmp(a, "--batch") == 0 && v) {
            batch = v;
            i++;
        } else {
            fprintf(stderr, "blotter eval pipeline: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!db || !truth) {
        fprintf(stderr, "blotter eval pipeline: --db F and --truth F are required\n");
        usage(stderr);
        return 2;
    }
    bl_score s;
    bl_err err = {0};
    if (bl_score_pipeline(db, truth, batch, &s, &err) != BL_OK) {
        fprintf(stderr, "blotter eval pipeline: %s\n", err.msg);
        return 1;
    }
    if (as_json) {
        json_t *o = json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
            "truth_pages", (json_int_t)s.truth_pages, "true_fields",
            (json_int_t)s.true_fields, "true_digits", (json_int_t)s.true_digits,
            "stored_fields", (json_int_t)s.stored_fields, "other_rows",
            (json_int_t)s.other_rows, "matched_fields", (json_int_t)s.matched,
            "exact_fields", (json_int_t)s.exact, "digit_errors",
            (json_int_t)s.digit_errors, "wrong_matched", (json_int_t)s.wrong_matched,
            "wrong_flagged", (json_int_t)s.wrong_flagged, "right_flagged",
            (json_int_t)s.right_flagged, "touching_fields",
            (json_int_t)s.touching_fields, "touching_exact",
            (json_int_t)s.touching_exact);
        json_object_set_new(o, "field_precision", jfig(s.precision));
        json_object_set_new(o, "field_recall", jfig(s.recall));
        json_object_set_new(o, "field_exact_accuracy", jfig(s.exact_accuracy));
        json_object_set_new(o, "digit_accuracy", jfig(s.digit_accuracy));
        json_object_set_new(o, "wrong_flagged_share", jfig(s.wrong_flagged_share));
        json_object_set_new(o, "right_flagged_share", jfig(s.right_flagged_share));
        json_object_set_new(o, "all_flagged_share", jfig(s.flagged_share));
        json_object_set_new(o, "flagged_to_catch_90", jfig(s.flag_needed));
        json_object_set_new(o, "touching_exact_accuracy",
                            jfig(s.touching_exact_accuracy));
        json_object_set_new(o, "mean_iou", jfig(s.mean_iou));
        json_object_set_new(o, "iou_threshold", json_real(BL_SCORE_IOU_MIN));
        char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(o);
        return 0;
    }
    line_count("pages", s.truth_pages);
    line_count("true fields", s.true_fields);
    line_count("stored fields", s.stored_fields);
    line_count("matched fields", s.matched);
    line_fig("field precision", s.precision);
    line_fig("field recall", s.recall);
    line_fig("mean iou", s.mean_iou);
    line_fig("field exact accuracy", s.exact_accuracy);
    line_fig("digit accuracy", s.digit_accuracy);
    line_fig("wrong fields flagged", s.wrong_flagged_share);
    line_fig("right fields flagged", s.right_flagged_share);
    line_fig("all fields flagged", s.flagged_share);
    line_fig("flagged to catch 90%", s.flag_needed);
    line_count("touching fields", s.touching_fields);
    line_fig("touching exact accuracy", s.touching_exact_accuracy);
    if (s.other_rows)
        line_count("rows not in truth", s.other_rows);
    return 0;
}
