/*
 * bench_classify: the digit classifier's speed, measured the same way as
 * bench/classify/torch_bench.py measures PyTorch on the identical network,
 * so bench/run-classify.sh can print both side by side.
 *
 *   bench_classify [--threads N] [--reps R] [--model F] [--data DIR]
 *                  [--train-digits N] [--skip-train]
 *   bench_classify --rss [--model F] [--data DIR]
 *
 * Measurements (each repeated R times; every repetition is printed and the
 * script keeps the best, because other jobs share the machine):
 *   train   one epoch over the first N (10,000) MNIST training digits,
 *           batch 128, Adam (lr 1e-3, eps 1e-7), categorical cross-entropy,
 *           the default CNN freshly initialised (seed 1), no augmentation,
 *           dropout on; shuffling included, validation not.
 *   infer   the stage's own path, bl_classifier_run on the shipped model
 *           (bytes in, uint8 -> float scaling included), over the MNIST
 *           test digits at batch 1 (2,000 digits) and batch 64 (10,000).
 * Wall time (monotonic clock) and process CPU time (all threads) are both
 * reported: on a busy machine wall time includes other processes' slices,
 * CPU time does not.
 *
 * --rss: a fresh process loads the model and classifies the 10,000 test
 * digits in batches of 64, read from the IDX file 64 at a time as the
 * stage receives them (the data set is never held whole), then reports
 * getrusage's peak resident set size. OpenBLAS is pinned to one thread
 * by bl_nn_set_threads, as the stage does.
 *
 * Output: one `key=value ...` line per measurement on stdout.
 * Speed lives here, never in a unit test (STYLE.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "classify/classify.h"
#include "mnist/mnist.h"
#include "nn/nn.h"

#define ARCH_CNN "conv32x5-pool-conv64x5-pool-dense256-dropout0.5-dense10"
#define PIXELS 784

typedef struct opts {
    int threads, reps, train_digits;
    bool rss, skip_train;
    const char *model;
    char data[4096];
} opts;

static double secs(uint64_t ns) { return (double)ns * 1e-9; }

static void bench_train(const opts *o, const bl_mnist *train)
{
    bl_err err = {0};
    int n = o->train_digits < train->count ? o->train_digits : train->count;
    const int batch = 128;
    float *x = bl_xmalloc((size_t)batch * PIXELS * sizeof *x);
    int32_t *labels = bl_xmalloc((size_t)batch * sizeof *labels);
    int32_t *order = bl_xmalloc((size_t)n * sizeof *order);
    for (int rep = 1; rep <= o->reps; rep++) {
        bl_nn_net *net = bl_nn_net_new(ARCH_CNN, 1, 28, 28, &err);
        if (!net) {
            fprintf(stderr, "bench_classify: %s\n", err.msg);
            exit(1);
        }
        bl_nn_rng rng;
        bl_nn_rng_seed(&rng, 1);
        bl_nn_net_init(net, &rng);
        bl_nn_optim *optim = bl_nn_optim_new(BL_NN_ADAM, bl_nn_net_num_params(net), 1e-3f);
        for (int i = 0; i < n; i++)
            order[i] = i;
        uint64_t t0 = bl_time_mono_ns(), c0 = bl_time_cpu_ns();
        bl_nn_shuffle(order, (size_t)n, &rng);
        double loss_sum = 0.0;
        for (int start = 0; start < n; start += batch) {
            int B = n - start < batch ? n - start : batch;
            for (int r = 0; r < B; r++) {
                const uint8_t *img = train->images + (size_t)order[start + r] * PIXELS;
                for (int p = 0; p < PIXELS; p++)
                    x[(size_t)r * PIXELS + p] = (float)img[p] * (1.0f / 255.0f);
                labels[r] = train->labels[order[start + r]];
            }
            bl_nn_net_forward(net, x, B, true, &rng);
            loss_sum += (double)bl_nn_net_backward(net, labels, BL_NN_LOSS_CCE) * B;
            bl_nn_optim_step(optim, bl_nn_net_params(net), bl_nn_net_grads(net));
        }
        double wall = secs(bl_time_mono_ns() - t0), cpu = secs(bl_time_cpu_ns() - c0);
        printf("impl=blotter what=train threads=%d batch=%d digits=%d rep=%d wall_s=%.3f "
               "cpu_s=%.3f loss=%.4f\n",
               o->threads, batch, n, rep, wall, cpu, loss_sum / n);
        fflush(stdout);
        bl_nn_optim_destroy(&optim);
        bl_nn_net_destroy(&net);
    }
    free(x);
    free(labels);
    free(order);
}

static void bench_infer(const opts *o, bl_classifier *c, const bl_mnist *test, int batch,
                        int digits)
{
    bl_err err = {0};
    int32_t *cls = bl_xmalloc((size_t)batch * sizeof *cls);
    float *probs = bl_xmalloc((size_t)batch * 10 * sizeof *probs);
    /* Warm up: buffers sized, caches and OpenBLAS threads awake. */
    for (int i = 0; i < 5; i++)
        bl_classifier_run(c, test->images, (size_t)batch, cls, probs, &err);
    for (int rep = 1; rep <= o->reps; rep++) {
        long correct = 0;
        uint64_t t0 = bl_time_mono_ns(), c0 = bl_time_cpu_ns();
        for (int start = 0; start + batch <= digits; start += batch) {
            if (bl_classifier_run(c, test->images + (size_t)start * PIXELS, (size_t)batch, cls,
                                  probs, &err) != BL_OK) {
                fprintf(stderr, "bench_classify: %s\n", err.msg);
                exit(1);
            }
            for (int r = 0; r < batch; r++)
                correct += cls[r] == test->labels[start + r];
        }
        double wall = secs(bl_time_mono_ns() - t0), cpu = secs(bl_time_cpu_ns() - c0);
        int done = digits / batch * batch;
        printf("impl=blotter what=infer threads=%d batch=%d digits=%d rep=%d wall_s=%.3f "
               "cpu_s=%.3f digits_per_s=%.0f digits_per_cpu_s=%.0f accuracy=%.4f\n",
               o->threads, batch, done, rep, wall, cpu, done / wall, done / cpu,
               (double)correct / done);
        fflush(stdout);
    }
    free(cls);
    free(probs);
}

static int bench_rss(const opts *o)
{
    bl_nn_set_threads(1);
    bl_err err = {0};
    bl_classifier *c = bl_classifier_load(o->model, &err);
    if (!c) {
        fprintf(stderr, "bench_classify: %s\n", err.msg);
        return 1;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", o->data);
    FILE *f = fopen(path, "rb");
    if (!f || fseek(f, 16, SEEK_SET) != 0) {
        fprintf(stderr, "bench_classify: %s: %s\n", path, strerror(errno));
        if (f)
            fclose(f);
        bl_classifier_destroy(&c);
        return 1;
    }
    enum { BATCH = 64 };
    static uint8_t crops[BATCH * PIXELS];
    int32_t cls[BATCH];
    float probs[BATCH * 10];
    long digits = 0;
    size_t got;
    while ((got = fread(crops, PIXELS, BATCH, f)) > 0) {
        if (bl_classifier_run(c, crops, got, cls, probs, &err) != BL_OK) {
            fprintf(stderr, "bench_classify: %s\n", err.msg);
            break;
        }
        digits += (long)got;
    }
    fclose(f);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("impl=blotter what=rss threads=1 batch=%d digits=%ld max_rss_kib=%ld\n", BATCH,
           digits, ru.ru_maxrss);
    bl_classifier_destroy(&c);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_classify [--threads N] [--reps R] [--model F] [--data DIR]\n"
               "                      [--train-digits N] [--skip-train]\n"
               "       bench_classify --rss [--model F] [--data DIR]\n");
}

int main(int argc, char **argv)
{
    opts o = {.threads = 1, .reps = 3, .train_digits = 10000, .model = NULL};
    bl_mnist_default_dir(o.data, sizeof o.data);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--rss") == 0)
            o.rss = true;
        else if (strcmp(a, "--skip-train") == 0)
            o.skip_train = true;
        else if (strcmp(a, "--threads") == 0 && v && (o.threads = atoi(v)) >= 1 && ++i)
            continue;
        else if (strcmp(a, "--reps") == 0 && v && (o.reps = atoi(v)) >= 1 && ++i)
            continue;
        else if (strcmp(a, "--train-digits") == 0 && v && (o.train_digits = atoi(v)) >= 1 && ++i)
            continue;
        else if (strcmp(a, "--model") == 0 && v && ++i)
            o.model = v;
        else if (strcmp(a, "--data") == 0 && v && ++i)
            bl_strlcpy(o.data, v, sizeof o.data);
        else {
            usage(stderr);
            return 2;
        }
    }
    if (!o.model)
        o.model = "models/classify-cnn.blm"; /* run from the source tree */
    if (o.rss)
        return bench_rss(&o);

    bl_nn_set_threads(o.threads);
    bl_err err = {0};
    bl_mnist *train = NULL, *test = bl_mnist_load(o.data, "test", &err);
    if (test && !o.skip_train)
        train = bl_mnist_load(o.data, "train", &err);
    if (!test || (!train && !o.skip_train)) {
        fprintf(stderr, "bench_classify: %s\n", err.msg);
        return 1;
    }
    bl_classifier *c = bl_classifier_load(o.model, &err);
    if (!c) {
        fprintf(stderr, "bench_classify: %s\n", err.msg);
        return 1;
    }
    if (!o.skip_train)
        bench_train(&o, train);
    bench_infer(&o, c, test, 1, 2000);
    bench_infer(&o, c, test, 64, 10000);
    bl_classifier_destroy(&c);
    bl_mnist_destroy(&train);
    bl_mnist_destroy(&test);
    return 0;
}
