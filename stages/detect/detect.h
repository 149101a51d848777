/*
 * detect: finds the hand-written numeric fields on a normalised page.
 * Pure functions: page in, boxes out; no sockets. docs/DETECTION.md
 * describes the steps, the model and their limits.
 *
 * Steps: (1) form lines are removed from the page in place (ruled lines,
 * underlines, box and comb borders) without eating the strokes that cross
 * them; (2) connected components are grouped into candidate regions, each
 * described by a feature vector; (3) each candidate is accepted or
 * rejected, by the stage's region classifier (a model of kind "detect")
 * or, without one, by rules; (4) accepted boxes come out in reading order
 * and, when a form template matches the page (template.h), with the
 * template's field names.
 */
#ifndef BL_DETECT_H
#define BL_DETECT_H

#include "detect/template.h"
#include "image/bitmap.h"
#include "image/image.h"
#include "msg/msg.h"
#include "util/util.h"

#define BL_DETECT_MODEL_KIND "detect"
/* Features of one candidate region (the model's input width). */
#define BL_DETECT_FEATURES 20

typedef struct bl_detect_region {
    bl_box box;                       /* page pixels */
    float feat[BL_DETECT_FEATURES];   /* see detect.c, region_features */
    int rule_ok;                      /* the rule-based verdict, 0/1 */
    float score;                      /* P(field): the model's, or rule_ok */
    int members;                      /* digit-sized components */
    int est_digits;                   /* estimated digit count */
} bl_detect_region;

typedef struct bl_detect bl_detect;

/* A detector. model_path NULL or "" means rules only. A model must be a
 * .blm of kind "detect" whose network takes 1 x 1 x BL_DETECT_FEATURES
 * and has 2 classes, with metadata "feat_mean" and "feat_std"
 * (BL_DETECT_FEATURES numbers each); otherwise NULL with a message naming
 * the file. */
bl_detect *bl_detect_new(const char *model_path, bl_err *err);
void bl_detect_destroy(bl_detect **self);
/* "name@version:crc" of the model, or "" without one. Borrowed. */
const char *bl_detect_model_id(const bl_detect *self);

/* Removes form lines in place from a binarised 300-dpi page (1 = ink):
 * horizontal runs of at least 120 px and vertical runs of at least 130 px
 * are line candidates; in each column (row) crossing such a line, the
 * line's pixels are erased unless ink continues at least 3 px both above
 * and below it (a stroke crossing the line), and thicker stretches
 * (over 14 px, solid areas) are left alone. Returns the number of pixels
 * erased. */
long bl_detect_remove_lines(bl_image *page);
/* The same, giving the pixels erased as lines (the runs and the bars
 * hanging off them) as a new bitmap *lines (what template matching aligns
 * with; bl_bitmap_destroy). */
long bl_detect_remove_lines_keep(bl_image *page, bl_bitmap **lines);

/* Candidate regions of a line-cleaned page with their features and rule
 * verdicts (score = rule_ok), in no particular order. *regions is a new
 * array (free()); none gives NULL and 0. */
int bl_detect_candidates(const bl_image *clean, bl_detect_region **regions,
                         int *count, bl_err *err);

/* Sets each region's score as bl_detect_run does: the model's P(field),
 * or without a model the rule verdict already there. */
void bl_detect_score(bl_detect *self, bl_detect_region *regions, int count);

/* The stage's work: removes the lines of `page` in place (so crops cut from
 * it afterwards are clean), finds the candidates, keeps those the model
 * (score >= 0.5) or the rules accept, and returns their boxes in reading
 * order (top to bottom by rows, then left to right). *boxes is a new array
 * (free()); self may be NULL (rules). regions_out, if non-NULL, receives
 * the kept regions in the same order (free()). */
int bl_detect_run(bl_detect *self, bl_image *page, bl_box **boxes, int *count,
                  bl_detect_region **regions_out, bl_err *err);

/* A field found on a page, named. */
typedef struct bl_detect_field {
    bl_box box;                 /* page pixels */
    char name[BL_NAME_MAX];     /* the template field's, or "field_N" */
    char rule[BL_RULE_MAX];     /* the template field's, or "" */
    float score;                /* P(field) of its likeliest part */
    int recovered;              /* taken although the classifier rejected
                                   it: it lies in an empty template field */
} bl_detect_field;

/* bl_detect_run with form templates (templates NULL or empty: none). When
 * the page matches one (template.h), each kept box takes the name and rule
 * of the template field (shifted with the sheet, grown by 15 px) holding
 * most of its area; boxes in no field are dropped (stamps, signatures,
 * notes); boxes in one field are merged into their union, and a box
 * reaching outside its field loses the components centred outside it (a
 * label's letters beside the field); a candidate the
 * classifier rejected is taken in a field where nothing else was found,
 * whatever its score (without a classifier: when it is a single
 * digit-sized component), and a comb field where nothing was found
 * takes the ink in its cells when three or more are written (cells.h).
 * A page whose unbroken lines match no template is matched again with the
 * lines a light scan broke into dashes (dashes.h). Without a match the
 * boxes are bl_detect_run's, named field_1, field_2, ... with empty rules.
 * Fields come out in reading order; *fields is a new array (free()).
 * match, if non-NULL, receives the matching's result (index -1: none). */
int bl_detect_run_named(bl_detect *self, const bl_template_set *templates, bl_image *page,
                        bl_detect_field **fields, int *count, bl_template_match *match,
                        bl_err *err);

/* Rules only on a copy of a page: bl_detect_run(NULL, copy, ...). */
int bl_detect_fields(const bl_image *page, bl_box **boxes, int *count,
                     bl_err *err);

/* Maps a page box back to the source file: the bounding box of its four
 * corners pushed through t, clipped to src_w x src_h. */
bl_box bl_detect_box_to_source(const bl_transform *t, int src_w, int src_h,
                               bl_box b);

#endif
