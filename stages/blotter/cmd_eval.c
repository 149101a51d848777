/*
 * cmd_eval: `blotter eval STAGE ...` measures a model (or, later, the
 * whole pipeline). Each stage is one row of the eval_table below; a stage
 * without an evaluator yet gets a clear error and exit status 2.
 *
 *   blotter eval classify --model F [--data DIR] [--split test|train]
 *                         [--threads N]
 *
 * runs the model through the pipeline's own path (bl_classifier_load and
 * bl_classifier_run, input scaled exactly as in the stage) over the MNIST
 * test digits and prints, on stdout, `accuracy: 0.xxxx` on its own line,
 * then the per-class accuracy and the confusion matrix (rows true class,
 * columns predicted). Throughput goes to stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blotter/commands.h"
#include "classify/classify.h"
#include "mnist/mnist.h"
#include "nn/nn.h"

static int eval_classify(int argc, char **argv)
{
    const char *model_path = NULL, *split = "test";
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
                    "[--threads N]\n", a);
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
    uint64_t t0 = bl_time_mono_ns();
    if (bl_classifier_run(clf, set->images, n, cls, probs, &err) != BL_OK) {
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
    fprintf(stderr, "model %s on %zu %s digits: %.0f digits/s (%d thread%s)\n",
            bl_classifier_id(clf), n, split, secs > 0 ? (double)n / secs : 0.0, threads,
            threads == 1 ? "" : "s");
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
    status = 0;
done:
    free(cls);
    free(probs);
    bl_mnist_destroy(&set);
    bl_classifier_destroy(&clf);
    return status;
}

/* Stage -> evaluator. Add a row (e.g. "pipeline") to extend. */
static const struct {
    const char *stage;
    int (*fn)(int argc, char **argv);
} eval_table[] = {
    {"classify", eval_classify},
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
