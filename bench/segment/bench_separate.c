/*
 * bench_separate: CPU time of one peel of the digit separator.
 *
 *   bench_separate [--model F] [--data DIR] [--runs N]
 *
 * Draws N runs (default 500) of two touching MNIST test digits as
 * `blotter train segment --separator` does (blotter/touching.h) and times
 * bl_separator_peel on each, the separator of the segment model file F
 * (default models/segment-cuts.blm) on one OpenBLAS thread, as the
 * segment stage runs it. Prints the mean CPU time per peel
 * (CLOCK_PROCESS_CPUTIME_ID, not wall time: the machine is shared), input
 * grid and pixel assignment included. Commands and figures:
 * docs/BENCHMARKS.md, "The digit separator".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blotter/touching.h"
#include "mnist/mnist.h"
#include "nn/nn.h"
#include "segment/segment.h"
#include "segment/separate.h"

static double cpu_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    const char *model = "models/segment-cuts.blm", *data = "data/mnist";
    int runs = 500;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model"))
            model = argv[i + 1];
        else if (!strcmp(argv[i], "--data"))
            data = argv[i + 1];
        else if (!strcmp(argv[i], "--runs"))
            runs = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: bench_separate [--model F] [--data DIR] [--runs N]\n");
            return 2;
        }
    }
    bl_nn_set_threads(1);
    bl_err err = {0};
    bl_blm *m = bl_blm_load(model, BL_SEGMENT_MODEL_KIND, &err);
    bl_separator *sep = NULL;
    if (!m || bl_separator_from_blm(m, model, &sep, &err) != BL_OK || !sep) {
        fprintf(stderr, "bench_separate: %s\n", err.msg[0] ? err.msg : "no separator in the model");
        return 1;
    }
    const char *arch = bl_blm_get_meta(m, "sep_arch");
    bl_mnist *test = bl_mnist_load(data, "test", &err);
    if (!test) {
        fprintf(stderr, "bench_separate: %s\n", err.msg);
        return 1;
    }
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, 99);
    double total = 0, pixels = 0;
    int done = 0;
    while (done < runs) {
        bl_touching_run run;
        if (!bl_touching_run_draw(test, &rng, 2, &run))
            continue;
        uint8_t *left = malloc((size_t)run.w * run.h);
        double t0 = cpu_us();
        bl_separator_peel(sep, run.ink, run.w, run.h, left);
        total += cpu_us() - t0;
        pixels += (double)run.w * run.h;
        free(left);
        bl_touching_run_free(&run);
        done++;
    }
    printf("separator %s: %d peels of runs of 2 test digits (mean %.0f px), %.0f us CPU per peel\n",
           arch ? arch : "?", done, pixels / done, total / done);
    bl_separator_destroy(&sep);
    bl_blm_destroy(&m);
    bl_mnist_destroy(&test);
    return 0;
}
