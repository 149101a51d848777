/*
 * bench_classify: inference throughput of a classify model through the
 * stage's own path (bl_classifier_run), on the MNIST test digits, at a
 * given batch size and OpenBLAS thread count. Prints one line per setting:
 *
 *   model=... batch=64 threads=1 digits_per_s=... ms_per_batch=...
 *
 * Build (from a build dir holding the libraries, e.g. build/):
 *   cc -O2 -I common -I stages bench/bench_classify.c <build>/libbl_stage_classify.a \
 *      <build>/common/{nn,blm,mnist,util}/libbl_*.a -lopenblas -lm
 * Run: bench_classify [MODEL] [DATA_DIR] [SECONDS]
 * digits_per_cpu_s divides by process CPU time instead of wall time: on a
 * busy machine it is the fairer one-thread figure.
 * Speed lives here, never in a unit test (STYLE.md).
 */
#include <stdio.h>
#include <stdlib.h>

#include "classify/classify.h"
#include "mnist/mnist.h"
#include "nn/nn.h"

static void run(bl_classifier *c, const bl_mnist *set, int batch, int threads, double secs)
{
    bl_nn_set_threads(threads);
    int32_t *cls = bl_xmalloc((size_t)batch * sizeof *cls);
    float *probs = bl_xmalloc((size_t)batch * 10 * sizeof *probs);
    bl_err err = {0};
    /* warm up: buffers sized, caches and OpenBLAS threads awake */
    for (int i = 0; i < 3; i++)
        bl_classifier_run(c, set->images, (size_t)batch, cls, probs, &err);
    long digits = 0, calls = 0;
    uint64_t t0 = bl_time_mono_ns(), c0 = bl_time_cpu_ns(), t;
    int start = 0;
    do {
        if (start + batch > set->count)
            start = 0;
        bl_classifier_run(c, set->images + (size_t)start * 784, (size_t)batch, cls, probs, &err);
        start += batch;
        digits += batch;
        calls++;
        t = bl_time_mono_ns();
    } while ((double)(t - t0) * 1e-9 < secs);
    double el = (double)(t - t0) * 1e-9;
    double cpu = (double)(bl_time_cpu_ns() - c0) * 1e-9;
    /* On a shared machine wall time includes other processes' slices;
     * process CPU time does not (meaningful at one thread). */
    printf("model=%s batch=%d threads=%d digits_per_s=%.0f ms_per_batch=%.3f "
           "digits_per_cpu_s=%.0f\n",
           bl_classifier_id(c), batch, threads, (double)digits / el, 1e3 * el / (double)calls,
           (double)digits / cpu);
    free(cls);
    free(probs);
}

int main(int argc, char **argv)
{
    const char *model = argc > 1 ? argv[1] : "models/classify-cnn.blm";
    char dir[4096];
    if (argc > 2)
        bl_strlcpy(dir, argv[2], sizeof dir);
    else
        bl_mnist_default_dir(dir, sizeof dir);
    double secs = argc > 3 ? atof(argv[3]) : 3.0;
    bl_err err = {0};
    bl_classifier *c = bl_classifier_load(model, &err);
    if (!c) {
        fprintf(stderr, "bench_classify: %s\n", err.msg);
        return 1;
    }
    bl_mnist *set = bl_mnist_load(dir, "test", &err);
    if (!set) {
        fprintf(stderr, "bench_classify: %s\n", err.msg);
        return 1;
    }
    int batches[] = {1, 64};
    for (int t = 1; t <= 2; t++)
        for (int b = 0; b < 2; b++)
            run(c, set, batches[b], t, secs);
    bl_mnist_destroy(&set);
    bl_classifier_destroy(&c);
    return 0;
}
