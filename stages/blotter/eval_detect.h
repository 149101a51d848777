/*
 * eval_detect: `blotter eval detect` (eval_detect.c), `blotter eval
 * segment` (eval_segment.c) and `blotter train detect`
 * (cmd_train_detect.c), and the page source they share: synthetic pages rendered in-process by the sample generator,
 * passed through the ingest normaliser exactly as the pipeline does, with
 * their truth.
 *
 * Seeds: training uses run seed 1 and MNIST train digits by default,
 * evaluation run seed 5001 and MNIST test digits; a page's seed is derived
 * from the run seed and its index, so the two never share a page.
 */
#ifndef BL_EVAL_DETECT_H
#define BL_EVAL_DETECT_H

#include <stdint.h>

#include "blotter/eval_ingest.h"
#include "blotter/samples_page.h"
#include "blotter/samples_text.h"
#include "conf/conf.h"
#include "detect/template.h"
#include "image/image.h"
#include "mnist/mnist.h"
#include "msg/msg.h"

int bl_cmd_eval_detect(int argc, char **argv);   /* eval_detect.c */
int bl_cmd_eval_segment(int argc, char **argv);  /* eval_segment.c */
int bl_cmd_train_detect(int argc, char **argv);  /* cmd_train_detect.c */
int bl_cmd_train_segment(int argc, char **argv); /* cmd_train_segment.c */
int bl_cmd_train_separate(int argc, char **argv); /* cmd_train_separate.c */

typedef struct bl_ingest bl_ingest;

typedef struct bl_detgen {
    bl_ingest_gen gen;      /* the scans; gen.opt may be changed by callers */
    bl_ingest *ingest;      /* with the configured orientation model */
    bl_conf conf;           /* the pipeline configuration found */
} bl_detgen;

/* Common options of the four commands, parsed from argv[2..]:
 *   --pages N --seed S --data DIR --config F --model F|none
 *   --classify F|none --rotate P --touching P --out F --epochs N --verbose
 *   --dump DIR --templates DIR|none */
typedef struct bl_detgen_opts {
    long pages;
    uint64_t seed;
    const char *data, *config, *model, *classify, *out;
    const char *dump;       /* eval segment: folder for the crops of misread fields */
    const char *templates;  /* eval detect: form template directory, "none" */
    double rotate, touching;
    int epochs;
    int verbose;
    int recovery;           /* eval detect: measure the recovery test */
} bl_detgen_opts;

/* Returns 0, 1 after printing help, or 2 after a usage message. */
int bl_detgen_parse(int argc, char **argv, const char *cmd, const char *usage,
                    bl_detgen_opts *o);

/* Loads MNIST `split`, the fonts, the configuration (config_path NULL: the
 * usual search) and ingest with the configured orientation model. */
int bl_detgen_open(bl_detgen *g, const char *data_dir, const char *split,
                   const char *config_path, bl_err *err);
void bl_detgen_close(bl_detgen *g);

/* Page `index` of run `seed` at 300 dpi as a bilevel file decodes, through
 * ingest: a new *work with page and transform, and the truth. */
int bl_detgen_page(bl_detgen *g, uint64_t seed, int index, bl_work **work,
                   bl_samples_page *truth, bl_err *err);

/* The template set to evaluate with: o->templates (a directory, or
 * "none"), else the configured [pipeline] templates (absent: none, said
 * on stderr). *set NULL means none. */
int bl_detgen_templates(const bl_detgen_opts *o, const bl_conf *conf, bl_template_set **set,
                        bl_err *err);

/* One-to-one greedy matching by best IoU >= 0.5 of boxes (file pixels)
 * with the truth's fields: match[i] is a field index or -1, iou[i] its
 * IoU (iou may be NULL). */
void bl_detgen_match(const bl_box *boxes, int n, const bl_samples_page *truth, int *match,
                     double *iou);

double bl_detgen_iou(bl_box a, bl_box b);

#endif

/* Trains a small MLP (spec, e.g. "dense32r-dense2l") on n rows of nf
 * features X with labels y (0/1): features standardised (mean and sd
 * stored as metadata feat_mean, feat_std), Adam at 3e-3, batch 64,
 * `epochs` passes, a seeded 10% validation split reported on stderr. Saves
 * a model of `kind` with the given name, recipe and data description to
 * out. Returns 0 or 1 after printing why. */
int bl_detgen_train_mlp(const float *X, const int32_t *y, long n, int nf, const char *spec,
                        int epochs, uint64_t seed, const char *kind, const char *name,
                        const char *recipe, const char *data_desc, const char *out);
