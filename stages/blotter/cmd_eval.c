/*
 * cmd_eval: `blotter eval STAGE ...` measures a model (or, later, the
 * whole pipeline). Each stage is one row of the eval_table below; a stage
 * without an evaluator yet gets a clear error and exit status 2.
 *
 *   blotter eval classify --model F [--data DIR] [--split test|train]
 *                         [--threads N] [--confusion-png F.png] [--tta]
 *                         [--pen SEED]
 *
 * runs the model through the pipeline's own path (bl_classifier_load and
 * bl_classifier_run, input scaled exactly as in the stage) over the MNIST
 * test digits and prints, on stdout, `accuracy: 0.xxxx` on its own line,
 * then the per-class accuracy and the confusion matrix (rows true class,
 * columns predicted). Throughput goes to stderr. --confusion-png writes
 * the matrix as a heat map (log-scaled shades, counts in the cells).
 *
 * --tta (test-time augmentation) classifies each digit five times, as
 * given and shifted by one pixel left, right, up and down, and averages
 * the five probability vectors: five times the inference cost for the
 * small gain that docs/BENCHMARKS.md records. Shifts are exact (whole
 * pixels, blank edges filled with paper), so no resampling blurs a view.
 *
 * --pen SEED first draws every digit as a random writer's pen puts it on
 * a page, binarised and normalised the way segment cuts a digit
 * (bl_pen_random_crop, seeded): the classifier on page-like crops, the
 * ones the "page" augmentation of `blotter train classify` teaches.
 */
#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blotter/commands.h"
#include "blotter/eval_detect.h"
#include "blotter/eval_ingest.h"
#include "blotter/eval_pipeline.h"
#include "blotter/pen.h"
#include "blotter/plot.h"
#include "classify/classify.h"
#include "mnist/mnist.h"
#include "nn/nn.h"

#define TTA_VIEWS 5

/* View v of n 28x28 crops: 0 as given, 1..4 shifted by one pixel. */
static void tta_view(uint8_t *dst, const uint8_t *src, size_t n, int v)
{
    static const int dx[TTA_VIEWS] = {0, -1, 1, 0, 0}, dy[TTA_VIEWS] = {0, 0, 0, -1, 1};
    for (size_t i = 0; i < n; i++) {
        const uint8_t *s = src + i * 784;
        uint8_t *d = dst + i * 784;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                int sx = x - dx[v], sy = y - dy[v];
                d[y * 28 + x] = sx >= 0 && sy >= 0 && sx < 28 && sy < 28 ? s[sy * 28 + sx] : 0;
            }
    }
}

/* Classifies n crops, averaging TTA_VIEWS views' probabilities if tta. */
static int classify_all(bl_classifier *clf, const uint8_t *images, size_t n, bool tta,
                        int32_t *cls, float *probs, bl_err *err)
{
    if (!tta)
        return bl_classifier_run(clf, images, n, cls, probs, err);
    enum { CHUNK = 1000 };
    uint8_t *view = bl_xmalloc((size_t)CHUNK * 784);
    float *p = bl_xmalloc((size_t)CHUNK * 10 * sizeof *p);
    int rc = BL_OK;
    for (size_t start = 0; start < n && rc == BL_OK; start += CHUNK) {
        size_t m = n - start < CHUNK ? n - start : CHUNK;
        float *acc = probs + start * 10;
        memset(acc, 0, m * 10 * sizeof *acc);
        for (int v = 0; v < TTA_VIEWS && rc == BL_OK; v++) {
            tta_view(view, images + start * 784, m, v);
            rc = bl_classifier_run(clf, view, m, cls + start, p, err);
            for (size_t k = 0; k < m * 10; k++)
                acc[k] += p[k] * (1.0f / TTA_VIEWS);
        }
        for (size_t i = 0; i < m; i++) {
            int best = 0;
            for (int c = 1; c < 10; c++)
                if (acc[i * 10 + c] > acc[i * 10 + best])
                    best = c;
            cls[start + i] = best;
        }
    }
    free(view);
    free(p);
    return rc;
}

static int write_confusion_png(long confusion[10][10], const char *title, const char *path,
                               bl_err *err)
{
    double v[100];
    for (int i = 0; i < 100; i++)
        v[i] = (double)confusion[i / 10][i % 10];
    bl_plot *plot = bl_plot_new(560, 580, err);
    if (!plot)
        return err ? err->code : BL_EINVAL;
    bl_plot_heatmap hm = {title, "predicted", "true class", v, 10, 10, true, true};
    int rc = bl_plot_heatmap_draw(plot, (bl_box){0, 0, 560, 580}, &hm, NULL, err);
    if (rc == BL_OK)
        rc = bl_plot_write_png(plot, path, err);
    bl_plot_destroy(&plot);
    return rc;
}

static int eval_classify(int argc, char **argv)
{
    const char *model_path = NULL, *split = "test", *confusion_png = NULL;
    bool tta = false, pen = false;
    uint64_t pen_seed = 0;
    char dir[4096];
    int threads = 1;
    bl_mnist_default_dir(dir, sizeof dir);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--model") == 0 && v) {
            model_path = v;
            i++;
        } else if (strcmp(a, "--data") == 0 && v) {
            bl_strlcpy(dir, v, sizeof dir);
            i++;
        } else if (strcmp(a, "--confusion-png") == 0 && v) {
            confusion_png = v;
            i++;
        } else if (strcmp(a, "--tta") == 0) {
            tta = true;
        } else if (strcmp(a, "--pen") == 0 && v) {
            char *end;
            pen_seed = strtoull(v, &end, 10);
            if (*end || !*v) {
                fprintf(stderr, "blotter eval: bad --pen seed '%s'\n", v);
                return 2;
            }
            pen = true;
            i++;
        } else if (strcmp(a, "--split") == 0 && v) {
            split = v;
            i++;
        } else if (strcmp(a, "--threads") == 0 && v) {
            threads = atoi(v);
            i++;
            if (threads < 1 || threads > 64) {
                fprintf(stderr, "blotter eval: bad --threads '%s'\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "blotter eval: unknown or incomplete option '%s'\n"
                    "usage: blotter eval classify --model F [--data DIR] [--split test|train] "
                    "[--threads N]\n"
                    "                             [--confusion-png F.png] [--tta] [--pen SEED]\n", a);
            return 2;
        }
    }
    if (!model_path) {
        fprintf(stderr, "blotter eval classify: --model F is required\n");
        return 2;
    }
    bl_nn_set_threads(threads);
    bl_err err = {0};
    bl_classifier *clf = bl_classifier_load(model_path, &err);
    if (!clf) {
        fprintf(stderr, "blotter eval: %s\n", err.msg);
        return 1;
    }
    int status = 1;
    int32_t *cls = NULL;
    float *probs = NULL;
    uint8_t *drawn = NULL;
    bl_mnist *set = bl_mnist_load(dir, split, &err);
    if (!set) {
        fprintf(stderr, "blotter eval: %s (fetch it with `blotter data mnist`)\n", err.msg);
        goto done;
    }
    if (set->rows != 28 || set->cols != 28) {
        fprintf(stderr, "blotter eval: %s: digits are not 28x28\n", dir);
        goto done;
    }
    size_t n = (size_t)set->count;
    cls = bl_xmalloc(n * sizeof *cls);
    probs = bl_xmalloc(n * 10 * sizeof *probs);
    const uint8_t *images = set->images;
    if (pen) {
        drawn = bl_xmalloc(n * 784);
        bl_nn_rng rng;
        bl_nn_rng_seed(&rng, pen_seed);
        size_t kept = 0;
        for (size_t i = 0; i < n; i++)
            if (!bl_pen_random_crop(set->images + i * 784, &rng, drawn + i * 784)) {
                memcpy(drawn + i * 784, set->images + i * 784, 784);
                kept++;
            }
        fprintf(stderr, "digits drawn with random pens (seed %llu); %zu kept as given "
                "(no ink survived their pen)\n", (unsigned long long)pen_seed, kept);
        images = drawn;
    }
    uint64_t t0 = bl_time_mono_ns();
    if (classify_all(clf, images, n, tta, cls, probs, &err) != BL_OK) {
        fprintf(stderr, "blotter eval: %s\n", err.msg);
        goto done;
    }
    double secs = (double)(bl_time_mono_ns() - t0) * 1e-9;
    long confusion[10][10] = {{0}};
    long correct = 0;
    for (size_t i = 0; i < n; i++) {
        confusion[set->labels[i]][cls[i]]++;
        correct += set->labels[i] == cls[i];
    }
    fprintf(stderr, "model %s on %zu %s digits%s%s: %.0f digits/s, %.2f s (%d thread%s)\n",
            bl_classifier_id(clf), n, split, pen ? " drawn with pens" : "",
            tta ? " with 5-view TTA" : "",
            secs > 0 ? (double)n / secs : 0.0, secs, threads, threads == 1 ? "" : "s");
    printf("accuracy: %.4f\n", (double)correct / (double)n);
    printf("\nper-class accuracy:\n");
    for (int c = 0; c < 10; c++) {
        long total = 0;
        for (int p = 0; p < 10; p++)
            total += confusion[c][p];
        printf("  %d: %.4f (%ld/%ld)\n", c, total ? (double)confusion[c][c] / total : 0.0,
               confusion[c][c], total);
    }
    printf("\nconfusion matrix (rows: true class, columns: predicted):\n      ");
    for (int p = 0; p < 10; p++)
        printf("%6d", p);
    printf("\n");
    for (int c = 0; c < 10; c++) {
        printf("  %d: ", c);
        for (int p = 0; p < 10; p++)
            printf("%6ld", confusion[c][p]);
        printf("\n");
    }
    if (confusion_png) {
        char title[256];
        snprintf(title, sizeof title, "%s: %zu %s digits%s, accuracy %.4f%s",
                 bl_classifier_id(clf), n, split, pen ? " drawn with pens" : "",
                 (double)correct / (double)n, tta ? " (TTA)" : "");
        if (write_confusion_png(confusion, title, confusion_png, &err) != BL_OK) {
            fprintf(stderr, "blotter eval: %s\n", err.msg);
            goto done;
        }
        fprintf(stderr, "confusion matrix: %s\n", confusion_png);
    }
    status = 0;
done:
    free(cls);
    free(probs);
    free(drawn);
    bl_mnist_destroy(&set);
    bl_classifier_destroy(&clf);
    return status;
}

/* eval_pipeline.c takes its arguments from the stage word on. */
static int eval_pipeline(int argc, char **argv)
{
    return bl_eval_pipeline(argc - 1, argv + 1);
}

/* Stage -> evaluator (each gets `eval STAGE ...` as argv). */
static const struct {
    const char *stage;
    int (*fn)(int argc, char **argv);
} eval_table[] = {
    {"classify", eval_classify},
    {"ingest", bl_cmd_eval_ingest},
    {"detect", bl_cmd_eval_detect},
    {"segment", bl_cmd_eval_segment},
    {"pipeline", eval_pipeline},
};

static const char *const known_stages[] = {"ingest", "detect", "segment", "classify",
                                           "write", "pipeline"};

int bl_cmd_eval(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: blotter eval STAGE ...   (e.g. blotter eval classify --model F "
                "--data DIR)\n");
        return 2;
    }
    /* One OpenBLAS thread, as in the stage processes, so CPU times are
     * the stages' own and not spent by idle BLAS threads spinning;
     * `eval classify --threads N` sets its own. */
    openblas_set_num_threads(1);
    for (size_t i = 0; i < sizeof eval_table / sizeof eval_table[0]; i++)
        if (strcmp(argv[1], eval_table[i].stage) == 0)
            return eval_table[i].fn(argc, argv);
    bool known = false;
    for (size_t i = 0; i < sizeof known_stages / sizeof known_stages[0]; i++)
        known = known || strcmp(argv[1], known_stages[i]) == 0;
    if (known)
        fprintf(stderr, "blotter eval: evaluation is not available for %s yet\n", argv[1]);
    else
        fprintf(stderr, "blotter eval: unknown stage '%s'\n", argv[1]);
    return 2;
}
