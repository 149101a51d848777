/*
 * gate: the writer's review gate. For each field it gives a calibrated
 * confidence (the probability that the stored value is exactly right) and
 * decides needs_review (confidence below the model's threshold).
 *
 * The model (a *.blm of kind "write", models/write-gate.blm) is a small
 * network over BL_GATE_FEATURES numbers computed from what the writer has
 * of a field: the digits' class probabilities (top probability, margin to
 * the second, their product), the digit count, box geometry (the field's
 * aspect, digit widths and gaps relative to the field's height, and how
 * deeply neighbouring digits' boxes overlap: digits cut from one touching
 * pair overlap far more than slanted writing does),
 * whether the field's validation rule (rules.h) passes, which of its
 * strong parts (check digit, date or time, range) it passes, and how many
 * digits the rule mended (bl_rules_best_reading). Its head is a
 * two-way softmax (wrong, right); the confidence is the "right"
 * probability with its logit divided by the model's temperature (meta
 * "temperature", fitted on held-out pages: Guo et al. 2017). The flagging
 * threshold is meta "threshold". Both default to 1 and 0.5.
 *
 * Without a model the writer uses bl_gate_baseline: the product of the
 * digits' top probabilities (exact if the classifier were calibrated and
 * its errors independent), zero when a rule fails, flagged below 0.9.
 */
#ifndef BL_WRITE_GATE_H
#define BL_WRITE_GATE_H

#include "image/image.h"
#include "msg/msg.h"
#include "util/util.h"

#define BL_GATE_FEATURES 26
#define BL_GATE_BASELINE_THRESHOLD 0.9

/* A field as the gate sees it (all borrowed). Boxes in normalised-page
 * pixels; prob holds ndigits rows of 10; cls -1 marks an unclassified
 * digit. */
typedef struct bl_gate_field {
    const char *rule;
    bl_box box;
    int ndigits;
    const float *prob;
    const int *cls;
    const bl_box *digit_box;
} bl_gate_field;

/* The feature vector (its meaning is the order in gate.c). */
void bl_gate_features(const bl_gate_field *f, float out[BL_GATE_FEATURES]);

/* The rule without a model (see above). */
double bl_gate_baseline(const bl_gate_field *f);

typedef struct bl_gate bl_gate;

/* Loads a "write" model: BL_EFORMAT naming the file when it is not one or
 * its network does not take BL_GATE_FEATURES inputs to 2 classes. */
bl_gate *bl_gate_load(const char *path, bl_err *err);
void bl_gate_destroy(bl_gate **self);
/* "<name>@<version>:<crc32 hex>", as the other stages' ids. */
const char *bl_gate_id(const bl_gate *self);
double bl_gate_threshold(const bl_gate *self);

/* Calibrated probability that the field's value is exactly right. */
double bl_gate_confidence(bl_gate *self, const bl_gate_field *f);

/* The same from a feature vector, with the temperature given: the trainer
 * uses it before the model has its final temperature. net is a bl_nn_net. */
double bl_gate_confidence_raw(void *net, const float x[BL_GATE_FEATURES],
                              double temperature);

/* Decides every field of a page: confidence[i] and needs_review[i] for
 * work->field_count fields. self NULL: the baseline rule. */
void bl_gate_page(bl_gate *self, const bl_work *work, double *confidence,
                  int *needs_review);

#endif
