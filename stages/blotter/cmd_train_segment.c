/*
 * cmd_train_segment: `blotter train segment [--pages N] [--seed S]
 *     [--epochs N] [--touching P] [--out F] [--data DIR] [--config F]`
 *
 * Trains the cut scorer of the segment stage. Renders N synthetic training
 * pages in-process (MNIST *train* digits, run seed 2 by default, upright,
 * a third of the fields with touching digits), normalises them with ingest
 * and detects their fields with the configured detect model as the
 * pipeline does, and collects, for every detected field that matches a
 * true one, the candidate cuts segmentation considers
 * (bl_segment_cut_candidates) with their features. A cut is right
 * (label 1) when, at the field's middle row and mapped to the file's
 * pixels, it lies within 0.15 digit heights of the boundary between two
 * neighbouring true digits (the middle of the gap or overlap of their
 * boxes). A small MLP (dense16r-dense8r-dense2l) learns P(cut) from the
 * standardised features.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blotter/eval_detect.h"
#include "detect/detect.h"
#include "nn/nn.h"
#include "segment/segment.h"
#include "segment/separate.h"

#define CUT_TOL 0.15 /* x digit height: a cut this near a boundary is right */

static const char USAGE[] =
    "usage: blotter train segment [--pages N] [--seed S] [--epochs N] [--touching P]\n"
    "         [--out F] [--data DIR] [--config F]\n"
    "Defaults: --pages 300 --seed 2 --epochs 40 --touching 0.35\n"
    "--out models/segment-cuts.blm, MNIST train digits, upright pages, every other\n"
    "artefact at the generator's default; fields found with the configured\n"
    "detect model.\n"
    "blotter train segment --separator ...: the digit separator instead (--separator\n"
    "--help says more).\n";

/* 1 when source x `x` lies within tol of a boundary between neighbouring
 * digits of f (digits taken left to right by their centres). */
static int on_boundary(const bl_samples_field *f, double x, double tol)
{
    int order[BL_SAMPLES_MAX_DIGITS];
    int n = f->ndigits;
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0; j--) {
            const bl_box *a = &f->digits[order[j - 1]], *b = &f->digits[order[j]];
            if (2 * a->x + a->w <= 2 * b->x + b->w)
                break;
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int i = 0; i + 1 < n; i++) {
        const bl_box *a = &f->digits[order[i]], *b = &f->digits[order[i + 1]];
        double mid = 0.5 * ((a->x + a->w) + b->x);
        if (fabs(x - mid) <= tol)
            return 1;
    }
    return 0;
}

/* Copies the separator's tensors and metadata of before into the cut
 * scorer just written to out. */
static int keep_separator(const bl_blm *before, const char *out)
{
    bl_err err = {0};
    bl_blm *m = bl_blm_load(out, BL_SEGMENT_MODEL_KIND, &err);
    int rc = m ? BL_OK : err.code;
    for (int i = 0; rc == BL_OK && i < before->n_tensors; i++) {
        const bl_blm_tensor *t = &before->tensors[i];
        if (!strncmp(t->name, BL_SEPARATE_PREFIX, strlen(BL_SEPARATE_PREFIX)))
            rc = bl_blm_add_tensor(m, t->name, t->ndim, t->dims, t->data, &err);
    }
    for (int i = 0; rc == BL_OK && i < before->n_meta; i++)
        if (!strncmp(before->meta[i].key, "sep_", 4))
            bl_blm_set_meta(m, before->meta[i].key, before->meta[i].value);
    if (rc == BL_OK)
        rc = bl_blm_save(m, out, &err);
    bl_blm_destroy(&m);
    if (rc != BL_OK) {
        fprintf(stderr, "blotter train segment: keeping the digit separator: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr, "kept the digit separator of the file replaced\n");
    return 0;
}

int bl_cmd_train_segment(int argc, char **argv)
{
    bl_detgen_opts o = {.pages = 300, .seed = 2, .rotate = 0, .touching = 0.35, .epochs = 40,
                        .out = "models/segment-cuts.blm"};
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--separator"))
            return bl_cmd_train_separate(argc, argv);
    int prc = bl_detgen_parse(argc, argv, "blotter train segment", USAGE, &o);
    if (prc)
        return prc == 1 ? 0 : 2;
    bl_nn_set_threads(1);
    bl_err err = {0};
    bl_detgen g;
    if (bl_detgen_open(&g, o.data, "train", o.config, &err) != BL_OK) {
        fprintf(stderr, "blotter train segment: %s\n", err.msg);
        return 1;
    }
    g.gen.opt.rotate = o.rotate;
    g.gen.opt.touching = o.touching;
    long cap = 4096, n = 0, pos = 0;
    float *X = bl_xmalloc(sizeof *X * (size_t)cap * BL_SEGMENT_CUT_FEATURES);
    int32_t *y = bl_xmalloc(sizeof *y * (size_t)cap);
    int status = 1;
    bl_detect *det = bl_detect_new(g.conf.model[BL_STAGE_DETECT], &err);
    if (!det) {
        fprintf(stderr, "blotter train segment: %s\n", err.msg);
        goto done;
    }
    for (long k = 0; k < o.pages; k++) {
        bl_work *work = NULL;
        bl_samples_page truth;
        if (bl_detgen_page(&g, o.seed, (int)k, &work, &truth, &err)) {
            fprintf(stderr, "blotter train segment: page %ld: %s\n", k, err.msg);
            goto done;
        }
        bl_box *boxes = NULL;
        int nb = 0;
        if (bl_detect_run(det, work->page, &boxes, &nb, NULL, &err)) {
            fprintf(stderr, "blotter train segment: page %ld: %s\n", k, err.msg);
            bl_work_destroy(&work);
            goto done;
        }
        bl_box *src = bl_xmalloc(sizeof *src * (size_t)(nb + 1));
        int *match = bl_xmalloc(sizeof *match * (size_t)(nb + 1));
        for (int i = 0; i < nb; i++)
            src[i] = bl_detect_box_to_source(&work->to_source, work->src_width,
                                             work->src_height, boxes[i]);
        bl_detgen_match(src, nb, &truth, match, NULL);
        for (int i = 0; i < nb; i++) {
            if (match[i] < 0)
                continue;
            const bl_samples_field *f = &truth.fields[match[i]];
            bl_image *crop = bl_image_crop(work->page, boxes[i]);
            double slant = 0, *cuts = NULL;
            float *feats = NULL;
            int nc = 0;
            int rc = bl_segment_cut_candidates(crop, &slant, &cuts, &feats, &nc, &err);
            int ch = crop->height;
            bl_image_destroy(&crop);
            if (rc) {
                fprintf(stderr, "blotter train segment: page %ld: %s\n", k, err.msg);
                continue;
            }
            double tol = CUT_TOL * src[i].h;
            for (int c = 0; c < nc; c++) {
                double ym = 0.5 * (ch - 1);
                double xm = cuts[c] + slant * ((ch - 1) - ym);
                bl_box pt = {boxes[i].x + (int)lround(xm), boxes[i].y + (int)lround(ym), 1, 1};
                bl_box s = bl_detect_box_to_source(&work->to_source, work->src_width,
                                                   work->src_height, pt);
                if (n == cap) {
                    cap *= 2;
                    X = bl_xrealloc(X, sizeof *X * (size_t)cap * BL_SEGMENT_CUT_FEATURES);
                    y = bl_xrealloc(y, sizeof *y * (size_t)cap);
                }
                memcpy(X + (size_t)n * BL_SEGMENT_CUT_FEATURES,
                       feats + (size_t)c * BL_SEGMENT_CUT_FEATURES,
                       sizeof *X * BL_SEGMENT_CUT_FEATURES);
                y[n] = on_boundary(f, s.x + 0.5 * s.w, tol);
                pos += y[n];
                n++;
            }
            free(cuts);
            free(feats);
        }
        free(src);
        free(match);
        free(boxes);
        bl_work_destroy(&work);
        if ((k + 1) % 20 == 0 || k + 1 == o.pages)
            fprintf(stderr, "\rtrain segment: %ld/%ld pages, %ld cuts (%ld right)", k + 1,
                    o.pages, n, pos);
    }
    fprintf(stderr, "\n");
    if (n < 10 || pos == 0 || pos == n) {
        fprintf(stderr, "blotter train segment: too few cuts of each kind to learn from\n");
        goto done;
    }
    char recipe[512], data[256];
    snprintf(recipe, sizeof recipe,
             "blotter train segment --pages %ld --seed %llu --epochs %d --touching %g --out %s",
             o.pages, (unsigned long long)o.seed, o.epochs, o.touching, o.out);
    snprintf(data, sizeof data,
             "%ld generated pages (blotter samples defaults, touching %g, MNIST train), "
             "%ld candidate cuts, %ld right",
             o.pages, o.touching, n, pos);
    /* A digit separator in the file being replaced is kept. */
    bl_blm *before = bl_blm_load(o.out, BL_SEGMENT_MODEL_KIND, NULL);
    status = bl_detgen_train_mlp(X, y, n, BL_SEGMENT_CUT_FEATURES, "dense16r-dense8r-dense2l",
                                 o.epochs, o.seed, BL_SEGMENT_MODEL_KIND, "segment-cuts",
                                 recipe, data, o.out);
    if (status == 0 && before && bl_blm_get_meta(before, "sep_arch"))
        status = keep_separator(before, o.out);
    bl_blm_destroy(&before);
done:
    bl_detect_destroy(&det);
    free(X);
    free(y);
    bl_detgen_close(&g);
    return status;
}
