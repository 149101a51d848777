/*
 * cmd_train_separate: `blotter train segment --separator [--runs N]
 *     [--epochs N] [--seed S] [--model F] [--out F] [--data DIR]
 *     [--classify F] [--arch SPEC]`
 *
 * Trains the digit separator of the segment stage (segment/separate.h)
 * and stores it in a segment model file next to its cut scorer. Draws N
 * runs of one to three touching MNIST *train* digits (blotter/touching.h);
 * every run of k digits gives k - 1 examples, the run and what is left of
 * it once its leftmost digits are taken away, each labelled with the ink
 * of its leftmost digit (a single digit labels all of its ink). The
 * network learns, per grid cell, whether the cell's ink is the leftmost
 * digit's (binary cross-entropy over the cells that hold ink).
 *
 * Then it is measured on runs of two and three MNIST *test* digits: the
 * share of ink pixels put on the right side of each peel, and the share
 * of runs whose every digit the classifier reads right once separated,
 * against the same for the best straight cut along any slant (the cut an
 * oracle would choose among all that segmentation's cutting could make).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blm/blm.h"
#include "blotter/touching.h"
#include "classify/classify.h"
#include "image/image.h"
#include "mnist/mnist.h"
#include "nn/nn.h"
#include "segment/segment.h"
#include "segment/separate.h"

#define SEP_ARCH "conv16x5-pool-conv32x3-pool-dense256-dense1152s"
#define BATCH 64
#define EVAL_RUNS 3000

static const char USAGE[] =
    "usage: blotter train segment --separator [--runs N] [--epochs N] [--seed S]\n"
    "         [--model F] [--out F] [--data DIR] [--classify F] [--arch SPEC]\n"
    "Defaults: --runs 200000 --epochs 14 --seed 7 --model models/segment-cuts.blm\n"
    "--out the --model file, --data data/mnist, --classify models/classify-cnn.blm,\n"
    "--arch " SEP_ARCH " (its last layer must be\n"
    "dense1152s: one sigmoid per cell of the 24 x 48 grid).\n"
    "Adds the digit separator, trained on runs of touching MNIST train digits, to\n"
    "the segment model file F (its cut scorer is kept) and measures it on runs of\n"
    "MNIST test digits with the classifier.\n";

typedef struct opts {
    long runs;
    int epochs;
    unsigned long long seed;
    const char *model, *out, *data, *classify, *arch;
} opts;

static int parse(int argc, char **argv, opts *o)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--separator"))
            continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(USAGE, stdout);
            return 1;
        }
        if (!v) {
            fprintf(stderr, "blotter train segment: %s needs a value\n%s", a, USAGE);
            return 2;
        }
        char *end = NULL;
        if (!strcmp(a, "--runs")) {
            o->runs = strtol(v, &end, 10);
            if (*end || o->runs < 100 || o->runs > 10000000) {
                fprintf(stderr, "blotter train segment: --runs must be 100..10000000\n");
                return 2;
            }
        } else if (!strcmp(a, "--epochs")) {
            o->epochs = (int)strtol(v, &end, 10);
            if (*end || o->epochs < 1 || o->epochs > 1000) {
                fprintf(stderr, "blotter train segment: --epochs must be 1..1000\n");
                return 2;
            }
        } else if (!strcmp(a, "--seed")) {
            o->seed = strtoull(v, &end, 10);
            if (*end) {
                fprintf(stderr, "blotter train segment: --seed must be a number\n");
                return 2;
            }
        } else if (!strcmp(a, "--model")) {
            o->model = v;
        } else if (!strcmp(a, "--out")) {
            o->out = v;
        } else if (!strcmp(a, "--data")) {
            o->data = v;
        } else if (!strcmp(a, "--classify")) {
            o->classify = v;
        } else if (!strcmp(a, "--arch")) {
            o->arch = v;
        } else {
            fprintf(stderr, "blotter train segment: unknown option %s\n%s", a, USAGE);
            return 2;
        }
        i++;
    }
    if (!o->out)
        o->out = o->model;
    return 0;
}

/* The examples: grids as bytes (coverage x 255) and cell targets
 * (1, 0, -1 for a cell without ink). */
typedef struct examples {
    long n, cap;
    uint8_t *grid;
    int8_t *target;
} examples;

static void add_example(examples *e, const uint8_t *ink, const uint8_t *left, int w, int h)
{
    float grid[BL_SEPARATE_CELLS];
    int32_t label[BL_SEPARATE_CELLS];
    bl_separate_map map;
    if (!bl_separate_input(ink, w, h, grid, &map))
        return;
    bl_separate_target(ink, left, w, h, &map, label);
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 4096;
        e->grid = bl_xrealloc(e->grid, (size_t)e->cap * BL_SEPARATE_CELLS);
        e->target = bl_xrealloc(e->target, (size_t)e->cap * BL_SEPARATE_CELLS);
    }
    uint8_t *g = e->grid + (size_t)e->n * BL_SEPARATE_CELLS;
    int8_t *t = e->target + (size_t)e->n * BL_SEPARATE_CELLS;
    for (int i = 0; i < BL_SEPARATE_CELLS; i++) {
        g[i] = (uint8_t)lroundf(grid[i] * 255.0f);
        t[i] = (int8_t)(grid[i] > 0 ? label[i] : -1);
    }
    e->n++;
}

/* The part of run r from digit j on (the ink owned by digits j..k-1) and
 * digit j's own ink. */
static void run_part(const bl_touching_run *r, int j, uint8_t *part, uint8_t *left)
{
    for (size_t i = 0; i < (size_t)r->w * r->h; i++) {
        part[i] = r->ink[i] && (r->own[i] >> j) != 0;
        left[i] = part[i] && (r->own[i] >> j & 1);
    }
}

static int draw_count(bl_nn_rng *rng)
{
    float u = bl_nn_rng_uniform(rng);
    return u < 0.1f ? 1 : u < 0.75f ? 2 : 3;
}

static void make_examples(const bl_mnist *m, long runs, bl_nn_rng *rng, examples *e)
{
    for (long r = 0; r < runs; r++) {
        bl_touching_run run;
        if (!bl_touching_run_draw(m, rng, draw_count(rng), &run))
            continue;
        size_t npx = (size_t)run.w * run.h;
        uint8_t *part = bl_xmalloc(npx), *left = bl_xmalloc(npx);
        for (int j = 0; j < (run.k == 1 ? 1 : run.k - 1); j++) {
            run_part(&run, j, part, left);
            add_example(e, part, left, run.w, run.h);
        }
        free(part);
        free(left);
        bl_touching_run_free(&run);
        if ((r + 1) % 5000 == 0 || r + 1 == runs)
            fprintf(stderr, "\rtrain separator: drew %ld/%ld runs", r + 1, runs);
    }
    fprintf(stderr, "\n");
}

static void to_input(const examples *e, long i, float *x, int32_t *t)
{
    const uint8_t *g = e->grid + (size_t)i * BL_SEPARATE_CELLS;
    const int8_t *tt = e->target + (size_t)i * BL_SEPARATE_CELLS;
    for (int c = 0; c < BL_SEPARATE_CELLS; c++) {
        x[c] = g[c] / 255.0f;
        if (t)
            t[c] = tt[c];
    }
}

/* Share of ink cells of examples [from, to) of idx the net labels right. */
static double cell_accuracy(bl_nn_net *net, const examples *e, const int32_t *idx, long from,
                            long to)
{
    long right = 0, all = 0;
    float x[BL_SEPARATE_CELLS];
    int32_t t[BL_SEPARATE_CELLS];
    for (long s = from; s < to; s++) {
        to_input(e, idx[s], x, t);
        const float *p = bl_nn_net_forward(net, x, 1, false, NULL);
        for (int c = 0; c < BL_SEPARATE_CELLS; c++)
            if (t[c] >= 0) {
                all++;
                right += (p[c] >= 0.5f) == (t[c] == 1);
            }
    }
    return all ? (double)right / (double)all : 0.0;
}

/* Reads the binary mask (w x h) as one digit; -1 when it holds no ink. */
static int read_mask(bl_classifier *clf, const uint8_t *mask, int w, int h)
{
    bl_image *img = bl_image_new(w, h);
    for (int y = 0; y < h; y++)
        memcpy(&BL_PIX(img, 0, y), mask + (size_t)y * w, (size_t)w);
    uint8_t crop[BL_MNIST_PIXELS];
    int rc = bl_image_mnist_normalize(img, 1, crop);
    bl_image_destroy(&img);
    if (rc != BL_OK)
        return -1;
    int32_t cls;
    float probs[10];
    return bl_classifier_run(clf, crop, 1, &cls, probs, NULL) == BL_OK ? cls : -1;
}

/* The best straight cut of part (any slant -0.3..0.7): the mask of
 * the ink on its left that puts the fewest pixels on the wrong side of
 * digit j's boundary. */
static void oracle_cut(const uint8_t *part, const uint8_t *left, int w, int h, uint8_t *cut)
{
    int span = w + 2 * h + 2;
    int *lft = bl_xcalloc((size_t)span, sizeof *lft), *rgt = bl_xcalloc((size_t)span, sizeof *rgt);
    long best = -1;
    double best_s = 0;
    int best_c = 0;
    for (int si = -3; si <= 7; si++) {
        double s = si / 10.0;
        memset(lft, 0, sizeof *lft * (size_t)span);
        memset(rgt, 0, sizeof *rgt * (size_t)span);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if (part[(size_t)y * w + x]) {
                    int u = (int)lround(x - s * (h - 1 - y)) + h + 1;
                    u = u < 0 ? 0 : u >= span ? span - 1 : u;
                    if (left[(size_t)y * w + x])
                        lft[u]++;
                    else
                        rgt[u]++;
                }
        /* Cut before column c: wrong = left ink at u >= c + right ink at u < c. */
        long left_after = 0;
        for (int u = 0; u < span; u++)
            left_after += lft[u];
        long right_before = 0;
        for (int c = 0; c <= span; c++) {
            long wrong = left_after + right_before;
            if (best < 0 || wrong < best)
                best = wrong, best_s = s, best_c = c;
            if (c < span)
                left_after -= lft[c], right_before += rgt[c];
        }
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int u = (int)lround(x - best_s * (h - 1 - y)) + h + 1;
            u = u < 0 ? 0 : u >= span ? span - 1 : u;
            cut[(size_t)y * w + x] = part[(size_t)y * w + x] && u < best_c;
        }
    free(lft);
    free(rgt);
}

/* Separator and oracle cut on runs of test digits. */
static void measure(bl_separator *sep, bl_classifier *clf, const bl_mnist *test,
                    unsigned long long seed)
{
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, seed ^ 0x5eu);
    long runs[BL_TOUCHING_MAX + 1] = {0}, sep_read[BL_TOUCHING_MAX + 1] = {0},
         cut_read[BL_TOUCHING_MAX + 1] = {0};
    long px = 0, sep_px = 0, cut_px = 0;
    for (int r = 0; r < EVAL_RUNS; r++) {
        int k = r < 2 * EVAL_RUNS / 3 ? 2 : 3;
        bl_touching_run run;
        if (!bl_touching_run_draw(test, &rng, k, &run))
            continue;
        size_t npx = (size_t)run.w * run.h;
        uint8_t *rest_sep = bl_xmalloc(npx), *rest_cut = bl_xmalloc(npx);
        uint8_t *part = bl_xmalloc(npx), *left = bl_xmalloc(npx), *mask = bl_xmalloc(npx);
        uint8_t *tmp = bl_xmalloc(npx);
        for (size_t i = 0; i < npx; i++)
            rest_sep[i] = rest_cut[i] = run.ink[i];
        int ok_sep = 1, ok_cut = 1;
        for (int j = 0; j < k; j++) {
            run_part(&run, j, part, left);
            if (j == k - 1) {
                ok_sep &= read_mask(clf, rest_sep, run.w, run.h) == run.digit[j];
                ok_cut &= read_mask(clf, rest_cut, run.w, run.h) == run.digit[j];
                break;
            }
            /* Pixel accuracy of this peel, on the true remainder. */
            bl_separator_peel(sep, part, run.w, run.h, mask);
            oracle_cut(part, left, run.w, run.h, tmp);
            for (size_t i = 0; i < npx; i++)
                if (part[i]) {
                    px++;
                    sep_px += mask[i] == left[i];
                    cut_px += tmp[i] == left[i];
                }
            /* Reading: each method peels its own remainder. */
            bl_separator_peel(sep, rest_sep, run.w, run.h, mask);
            ok_sep &= read_mask(clf, mask, run.w, run.h) == run.digit[j];
            for (size_t i = 0; i < npx; i++)
                rest_sep[i] = rest_sep[i] && !mask[i];
            for (size_t i = 0; i < npx; i++)
                left[i] = rest_cut[i] && (run.own[i] >> j & 1);
            oracle_cut(rest_cut, left, run.w, run.h, mask);
            ok_cut &= read_mask(clf, mask, run.w, run.h) == run.digit[j];
            for (size_t i = 0; i < npx; i++)
                rest_cut[i] = rest_cut[i] && !mask[i];
        }
        runs[k]++;
        sep_read[k] += ok_sep;
        cut_read[k] += ok_cut;
        free(rest_sep);
        free(rest_cut);
        free(part);
        free(left);
        free(mask);
        free(tmp);
        bl_touching_run_free(&run);
    }
    printf("ink pixels on the right side of a peel: separator %.4f, best straight cut %.4f "
           "(%ld pixels)\n",
           px ? (double)sep_px / px : 0.0, px ? (double)cut_px / px : 0.0, px);
    for (int k = 2; k <= BL_TOUCHING_MAX; k++)
        printf("runs of %d test digits read right: separator %.4f, best straight cut %.4f "
               "(%ld runs)\n",
               k, runs[k] ? (double)sep_read[k] / runs[k] : 0.0,
               runs[k] ? (double)cut_read[k] / runs[k] : 0.0, runs[k]);
}

int bl_cmd_train_separate(int argc, char **argv)
{
    opts o = {.runs = 200000, .epochs = 14, .seed = 7, .model = "models/segment-cuts.blm",
              .data = "data/mnist", .classify = "models/classify-cnn.blm", .arch = SEP_ARCH};
    int prc = parse(argc, argv, &o);
    if (prc)
        return prc == 1 ? 0 : 2;
    bl_nn_set_threads(2);
    bl_err err = {0};
    int status = 1;
    bl_mnist *train = NULL, *test = NULL;
    bl_blm *model = NULL, *stripped = NULL, *check = NULL;
    bl_nn_net *net = NULL;
    bl_nn_optim *opt = NULL;
    bl_classifier *clf = NULL;
    bl_separator *sep = NULL;
    examples e = {0};
    int32_t *idx = NULL, *tb = NULL;
    float *xb = NULL;
    model = bl_blm_load(o.model, BL_SEGMENT_MODEL_KIND, &err);
    if (!model)
        goto fail;
    clf = bl_classifier_load(o.classify, &err);
    if (!clf)
        goto fail;
    train = bl_mnist_load(o.data, "train", &err);
    if (!train)
        goto fail;
    test = bl_mnist_load(o.data, "test", &err);
    if (!test)
        goto fail;
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, o.seed);
    make_examples(train, o.runs, &rng, &e);
    net = bl_nn_net_new(o.arch, 1, BL_SEPARATE_H, BL_SEPARATE_W, &err);
    if (!net)
        goto fail;
    if (bl_nn_net_softmax_head(net) || bl_nn_net_classes(net) != BL_SEPARATE_CELLS) {
        bl_err_set(&err, BL_EINVAL, "--arch %s: the last layer must be dense%ds", o.arch,
                   BL_SEPARATE_CELLS);
        goto fail;
    }
    bl_nn_net_init(net, &rng);
    opt = bl_nn_optim_new(BL_NN_ADAM, bl_nn_net_num_params(net), 1e-3f);
    idx = bl_xmalloc(sizeof *idx * (size_t)e.n);
    for (long i = 0; i < e.n; i++)
        idx[i] = (int32_t)i;
    bl_nn_shuffle(idx, (size_t)e.n, &rng);
    long nval = e.n / 20, ntrain = e.n - nval;
    fprintf(stderr, "train separator: %s, %zu parameters, %ld examples (%ld held out)\n",
            bl_nn_net_spec(net), bl_nn_net_num_params(net), e.n, nval);
    xb = bl_xmalloc(sizeof *xb * BATCH * BL_SEPARATE_CELLS);
    tb = bl_xmalloc(sizeof *tb * BATCH * BL_SEPARATE_CELLS);
    for (int ep = 0; ep < o.epochs; ep++) {
        time_t t0 = time(NULL);
        bl_nn_shuffle(idx + nval, (size_t)ntrain, &rng);
        double loss = 0;
        long batches = 0;
        for (long s = nval; s < e.n; s += BATCH) {
            int B = (int)(e.n - s < BATCH ? e.n - s : BATCH);
            for (int b = 0; b < B; b++)
                to_input(&e, idx[s + b], xb + (size_t)b * BL_SEPARATE_CELLS,
                         tb + (size_t)b * BL_SEPARATE_CELLS);
            bl_nn_net_forward(net, xb, B, true, &rng);
            loss += bl_nn_net_backward(net, tb, BL_NN_LOSS_BCE_MULTI);
            bl_nn_optim_step(opt, bl_nn_net_params(net), bl_nn_net_grads(net));
            batches++;
        }
        fprintf(stderr, "epoch %d: loss %.5f, held-out ink cells right %.4f (%lds)\n", ep + 1,
                batches ? loss / (double)batches : 0.0, cell_accuracy(net, &e, idx, 0, nval),
                (long)(time(NULL) - t0));
    }
    stripped = bl_separator_strip(model);
    if (bl_separator_store(stripped, net, &err) != BL_OK)
        goto fail;
    char buf[512];
    snprintf(buf, sizeof buf,
             "blotter train segment --separator --runs %ld --epochs %d --seed %llu --arch %s",
             o.runs, o.epochs, o.seed, bl_nn_net_spec(net));
    bl_blm_set_meta(stripped, "sep_recipe", buf);
    snprintf(buf, sizeof buf, "%ld runs of 1-3 touching MNIST train digits, %ld examples",
             o.runs, e.n);
    bl_blm_set_meta(stripped, "sep_data_set", buf);
    if (bl_blm_save(stripped, o.out, &err) != BL_OK)
        goto fail;
    fprintf(stderr, "wrote %s\n", o.out);
    /* Measured as the stage will load it. */
    check = bl_blm_load(o.out, BL_SEGMENT_MODEL_KIND, &err);
    if (!check || bl_separator_from_blm(check, o.out, &sep, &err) != BL_OK || !sep)
        goto fail;
    measure(sep, clf, test, o.seed);
    status = 0;
    goto done;
fail:
    fprintf(stderr, "blotter train segment: %s\n", err.msg[0] ? err.msg : "no separator stored");
done:
    bl_separator_destroy(&sep);
    bl_blm_destroy(&check);
    bl_blm_destroy(&stripped);
    bl_blm_destroy(&model);
    bl_nn_optim_destroy(&opt);
    bl_nn_net_destroy(&net);
    bl_classifier_destroy(&clf);
    bl_mnist_destroy(&train);
    bl_mnist_destroy(&test);
    free(e.grid);
    free(e.target);
    free(idx);
    free(xb);
    free(tb);
    return status;
}
