/*
 * score: measures the whole pipeline against synthetic ground truth: the
 * records in a blotter database (view v_fields) against the truth.json
 * that `blotter samples` wrote (docs/SAMPLES.md).
 *
 * Matching: a stored row belongs to a truth page when its page_index is
 * the page's and its source_path equals the truth "file" or ends with "/"
 * followed by it (truth paths are relative to the truth file's folder; the
 * database stores paths as given to `blotter run`). On each page, stored
 * and true fields are paired one-to-one greedily by best box IoU
 * (intersection over union of [x, y, w, h] in the file's own pixels),
 * pairs below IoU 0.5 never match.
 *
 * Figures (a figure whose denominator is 0 is NAN):
 *  - precision: matched / stored fields on truth pages;
 *  - recall: matched / true fields;
 *  - exact accuracy: matched fields whose value equals the truth, over ALL
 *    true fields (a missed field counts as wrong);
 *  - digit accuracy: 1 - sum of per-field errors / sum of true lengths,
 *    where a matched field's error is its Levenshtein distance to the truth
 *    (capped at the true length) and a missed field's error is its length;
 *  - review gate: the share of wrong matched fields flagged needs_review
 *    (should be high), of right matched fields flagged (should be low) and
 *    of all stored fields flagged; and, whatever the gate's threshold, the
 *    share of matched fields that flagging the least confident first must
 *    flag to catch BL_SCORE_GATE_CATCH (90%) of the wrong ones (ties in
 *    confidence flagged together);
 *  - touching exact accuracy: exact accuracy over the true fields marked
 *    touching.
 * Stored rows whose file and page are not in the truth are counted apart
 * (other_rows) and affect nothing else.
 *
 * Limits: a database holding the same files in several batches counts
 * every batch's rows (choose one with the batch argument); a wrongly split
 * or merged field is simply unmatched (no partial credit below IoU 0.5).
 */
#ifndef BL_SCORE_H
#define BL_SCORE_H

#include "util/util.h"

#define BL_SCORE_IOU_MIN 0.5
#define BL_SCORE_GATE_CATCH 0.9 /* the review target: wrong fields caught */

typedef struct bl_score {
    long truth_pages;       /* pages in the truth file */
    long true_fields;
    long true_digits;
    long stored_fields;     /* rows on truth pages */
    long other_rows;        /* rows on pages the truth does not know */
    long matched;           /* pairs with IoU >= 0.5 */
    long exact;             /* matched with the exact value */
    long digit_errors;      /* summed capped edit distances, misses = length */
    long wrong_matched, wrong_flagged;
    long right_flagged;     /* of the `exact` right fields */
    long flagged;           /* stored fields flagged needs_review */
    long touching_fields, touching_exact;
    double precision, recall, exact_accuracy, digit_accuracy;
    double wrong_flagged_share, right_flagged_share, touching_exact_accuracy;
    double mean_iou;        /* over matched pairs */
    double flagged_share;   /* flagged / stored fields */
    double flag_needed;     /* see above; NAN without wrong fields */
} bl_score;

/* Scores the rows of db_path (opened read-only; batch NULL: all batches)
 * against truth_path. Errors name the file and what is wrong: BL_ENOENT
 * for a missing file, BL_EFORMAT for a malformed truth, BL_EDB. */
int bl_score_pipeline(const char *db_path, const char *truth_path,
                      const char *batch, bl_score *out, bl_err *err);

/* Levenshtein distance between two strings (unit costs). */
int bl_score_edit_distance(const char *a, const char *b);

/* IoU of two boxes [x, y, w, h]; 0 when either is empty. */
double bl_score_iou(int ax, int ay, int aw, int ah, int bx, int by, int bw,
                    int bh);

#endif
