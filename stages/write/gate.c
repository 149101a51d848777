/*
 * gate: the review gate's features and model (see gate.h). Features are
 * plain numbers of comparable size (probabilities, counts over ten, ratios
 * to the field's height); the trainer standardises them and folds the
 * standardisation into the first layer, so the model file takes them as
 * they are.
 */
#include "write/gate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blm/blm.h"
#include "nn/nn.h"
#include "write/rules.h"

struct bl_gate {
    bl_nn_net *net;
    double threshold;
    double temperature;
    char id[160];
};

/* Value string of the field: classes as characters, '?' unclassified. */
static void field_value(const bl_gate_field *f, char *out, size_t size)
{
    int n = 0;
    for (int k = 0; k < f->ndigits && (size_t)n + 1 < size; k++)
        out[n++] = f->cls[k] >= 0 && f->cls[k] <= 9 ? (char)('0' + f->cls[k]) : '?';
    out[n] = '\0';
}

/* Whether the rule checks one of kinds (BL_RULE_*) and the value passes
 * all of those checked. */
static float passes(const bl_rule_result *r, unsigned kinds)
{
    return (r->checked_mask & kinds) && !(r->failed_mask & kinds) ? 1.0f : 0.0f;
}

void bl_gate_features(const bl_gate_field *f, float out[BL_GATE_FEATURES])
{
    memset(out, 0, sizeof(float) * BL_GATE_FEATURES);
    int n = f->ndigits;
    double h = f->box.h > 0 ? f->box.h : 1;
    double min_top = 1, min2_top = 1, sum_top = 0, sum_log = 0, min_margin = 1;
    int doubtful = 0, unclassified = 0, mended = 0;
    double wsum = 0, wsq = 0, wmax = 0, hmin = 1e9, gap_max = 0, overlap = 0, deepest = 0;
    for (int k = 0; k < n; k++) {
        /* The chosen class's probability, which is not the classifier's
         * top one where the rule mended the reading, and its margin over
         * the likeliest other class (negative then). */
        const float *p = f->prob + 10 * k;
        int chosen = f->cls[k];
        double top = 0, second = 0;
        if (chosen >= 0 && chosen <= 9) {
            top = p[chosen];
            for (int c = 0; c < 10; c++)
                if (c != chosen && p[c] > second)
                    second = p[c];
            mended += second > top;
        } else {
            unclassified++;
        }
        if (top < min_top) {
            min2_top = min_top;
            min_top = top;
        } else if (top < min2_top) {
            min2_top = top;
        }
        sum_top += top;
        sum_log += log(top > 1e-9 ? top : 1e-9);
        if (top - second < min_margin)
            min_margin = top - second;
        doubtful += top < 0.9;
        bl_box b = f->digit_box[k];
        wsum += b.w;
        wsq += (double)b.w * b.w;
        if (b.w > wmax)
            wmax = b.w;
        if (b.h < hmin)
            hmin = b.h;
        if (k > 0) {
            bl_box a = f->digit_box[k - 1];
            double gap = b.x - (a.x + a.w);
            if (gap > gap_max)
                gap_max = gap;
            if (gap < 0) {
                overlap += -gap;
                double narrow = a.w < b.w ? a.w : b.w;
                if (narrow > 0 && -gap / narrow > deepest)
                    deepest = -gap / narrow;
            }
        }
    }
    char value[256];
    field_value(f, value, sizeof value);
    bl_rule_result r;
    bl_rules_check(f->rule, value, &r);
    double wmean = n ? wsum / n : 0;
    double wstd = n ? sqrt(fmax(0, wsq / n - wmean * wmean)) : 0;

    int i = 0;
    out[i++] = n ? (float)min_top : 0;                       /* 0 */
    out[i++] = n ? (float)min2_top : 0;                      /* 1 */
    out[i++] = n ? (float)(sum_top / n) : 0;                 /* 2 */
    out[i++] = n ? (float)fmax(sum_log, -20) / 10.0f : -2;   /* 3 log product */
    out[i++] = n ? (float)min_margin : 0;                    /* 4 */
    out[i++] = (float)n / 10.0f;                             /* 5 */
    out[i++] = (float)doubtful;                              /* 6 */
    out[i++] = (float)unclassified;                          /* 7 */
    out[i++] = n == 0;                                       /* 8 */
    out[i++] = r.checked > 0;                                /* 9 rule present */
    out[i++] = (float)r.failed;                              /* 10 */
    out[i++] = (r.failed_mask & BL_RULE_LEN) != 0;           /* 11 */
    out[i++] = (r.failed_mask & ~(unsigned)BL_RULE_LEN) != 0; /* 12 */
    out[i++] = (float)(f->box.w / h) / 10.0f;                /* 13 aspect */
    out[i++] = (float)(wmean / h);                           /* 14 */
    out[i++] = wmean > 0 ? (float)(wstd / wmean) : 0;        /* 15 */
    out[i++] = wmean > 0 ? (float)(wmax / wmean) : 0;        /* 16 */
    out[i++] = n ? (float)((f->box.w / h) / n) : 0;          /* 17 width per digit */
    out[i++] = n ? (float)(hmin / h) : 0;                    /* 18 */
    out[i++] = (float)((gap_max + overlap) / h);             /* 19 */
    /* A passing check digit, date or range is evidence of its own: a
     * random misreading passes a check digit one time in ten. */
    out[i++] = passes(&r, BL_RULE_CHECK);                    /* 20 */
    out[i++] = passes(&r, BL_RULE_DATE | BL_RULE_TIME);      /* 21 */
    out[i++] = passes(&r, BL_RULE_RANGE);                    /* 22 */
    out[i++] = (float)mended;                                /* 23 digits the rule mended */
    /* Neighbours cut from one touching pair overlap in x far more than
     * slanted writing does, and such cuts are the likeliest misreadings. */
    out[i++] = (float)(overlap / h);                         /* 24 */
    out[i++] = (float)deepest;                               /* 25 deepest overlap / narrower */
}

double bl_gate_baseline(const bl_gate_field *f)
{
    if (f->ndigits == 0)
        return 0.0;
    double c = 1.0;
    for (int k = 0; k < f->ndigits; k++)
        c *= f->cls[k] >= 0 && f->cls[k] <= 9 ? f->prob[10 * k + f->cls[k]] : 0.0;
    char value[256];
    field_value(f, value, sizeof value);
    bl_rule_result r;
    bl_rules_check(f->rule, value, &r);
    return r.failed ? 0.0 : c;
}

bl_gate *bl_gate_load(const char *path, bl_err *err)
{
    bl_blm *m = bl_blm_load(path, "write", err);
    if (!m)
        return NULL;
    bl_nn_net *net = bl_nn_net_from_blm(m, 1, 1, BL_GATE_FEATURES, path, err);
    if (!net) {
        bl_blm_destroy(&m);
        return NULL;
    }
    if (bl_nn_net_classes(net) != 2 || !bl_nn_net_softmax_head(net)) {
        bl_err_set(err, BL_EFORMAT, "%s: a review gate needs a 2-way softmax head", path);
        bl_nn_net_destroy(&net);
        bl_blm_destroy(&m);
        return NULL;
    }
    bl_gate *self = bl_xcalloc(1, sizeof *self);
    self->net = net;
    const char *t = bl_blm_get_meta(m, "threshold");
    const char *temp = bl_blm_get_meta(m, "temperature");
    self->threshold = t ? atof(t) : 0.5;
    self->temperature = temp && atof(temp) > 0 ? atof(temp) : 1.0;
    const char *name = bl_blm_get_meta(m, "name");
    const char *version = bl_blm_get_meta(m, "version");
    snprintf(self->id, sizeof self->id, "%s@%s:%08x", name ? name : "write-gate",
             version ? version : "1", m->crc);
    bl_blm_destroy(&m);
    return self;
}

void bl_gate_destroy(bl_gate **self)
{
    if (!self || !*self)
        return;
    bl_nn_net_destroy(&(*self)->net);
    free(*self);
    *self = NULL;
}

const char *bl_gate_id(const bl_gate *self)
{
    return self->id;
}

double bl_gate_threshold(const bl_gate *self)
{
    return self->threshold;
}

double bl_gate_confidence_raw(void *net, const float x[BL_GATE_FEATURES],
                              double temperature)
{
    const float *p = bl_nn_net_forward(net, x, 1, false, NULL);
    double right = fmin(fmax(p[1], 1e-7), 1 - 1e-7);
    double logit = log(right / (1 - right)) / temperature;
    return 1.0 / (1.0 + exp(-logit));
}

double bl_gate_confidence(bl_gate *self, const bl_gate_field *f)
{
    float x[BL_GATE_FEATURES];
    bl_gate_features(f, x);
    return bl_gate_confidence_raw(self->net, x, self->temperature);
}

void bl_gate_page(bl_gate *self, const bl_work *work, double *confidence,
                  int *needs_review)
{
    for (uint32_t i = 0; i < work->field_count; i++) {
        const bl_work_field *wf = &work->fields[i];
        int n = (int)wf->digit_count;
        float *prob = bl_xcalloc((size_t)(n ? n : 1) * 10, sizeof *prob);
        int *cls = bl_xcalloc((size_t)(n ? n : 1), sizeof *cls);
        bl_box *boxes = bl_xcalloc((size_t)(n ? n : 1), sizeof *boxes);
        for (int k = 0; k < n; k++) {
            const bl_work_digit *d = &work->digits[wf->first_digit + (uint32_t)k];
            memcpy(prob + 10 * k, d->prob, sizeof d->prob);
            cls[k] = d->cls;
            boxes[k] = d->box;
        }
        char rule[BL_RULE_MAX];
        bl_strlcpy(rule, wf->rule, sizeof rule); /* terminated whatever came in */
        bl_gate_field f = {rule, wf->box, n, prob, cls, boxes};
        if (self) {
            confidence[i] = bl_gate_confidence(self, &f);
            needs_review[i] = confidence[i] < self->threshold;
        } else {
            confidence[i] = bl_gate_baseline(&f);
            needs_review[i] = confidence[i] < BL_GATE_BASELINE_THRESHOLD;
        }
        free(prob);
        free(cls);
        free(boxes);
    }
}
