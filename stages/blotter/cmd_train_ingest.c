/*
 * cmd_train_ingest: `blotter train ingest [--pages N] [--seed S] [--out F]
 *     [--epochs N] [--skew DEG] [--threads N] [--data DIR]`
 *
 * Trains the page orientation classifier (kind "ingest"): a small CNN over
 * the 32 x 32 ink-density thumbnail that ingest computes
 * (bl_ingest_orient_input), with 4 classes, the clockwise quarter turns.
 *
 * Data: N upright synthetic pages rendered in-process by the sample
 * generator from MNIST *training* digits (seeds derived from --seed; eval
 * uses other seeds and the test digits), each skewed within +-skew degrees
 * and carrying the generator's other artefacts (noise, blur, stamps, dark
 * edges, 200/300/400 dpi, bilevel and gray). Each page goes through the
 * same binarisation and cleaning as the stage, and its 2x reduction is
 * turned by all four quarter turns, so every page gives four examples with
 * exact labels. A tenth of the pages (never their turns) are held out for
 * validation; the epoch with the best validation accuracy is kept.
 *
 * Determinism: pages depend on --seed only; initialisation, shuffles and
 * the split come from xoshiro streams of --seed; so --seed and --threads
 * reproduce a model bit for bit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blm/blm.h"
#include "blotter/eval_ingest.h"
#include "ingest/ingest.h"
#include "nn/nn.h"

#define ARCH "conv8x5-pool-conv16x5-pool-dense32-dense4"
#define FEAT (BL_INGEST_THUMB * BL_INGEST_THUMB)

static void usage(FILE *f)
{
    fprintf(f, "usage: blotter train ingest [--pages N] [--seed S] [--out F.blm] [--epochs N]\n"
               "         [--skew DEG] [--threads N] [--data DIR]\n"
               "Defaults: --pages 600 --seed 1 --out ingest-orient.blm --epochs 40 --skew 10\n"
               "--threads 1, MNIST training digits. Architecture: %s\n",
               ARCH);
}

/* Accuracy of net on n examples. */
static double accuracy(bl_nn_net *net, const float *x, const int32_t *y, int n)
{
    int right = 0;
    for (int s = 0; s < n; s += 256) {
        int B = n - s < 256 ? n - s : 256;
        const float *p = bl_nn_net_forward(net, x + (size_t)s * FEAT, B, false, NULL);
        for (int b = 0; b < B; b++) {
            int best = 0;
            for (int c = 1; c < BL_INGEST_CLASSES; c++)
                if (p[b * BL_INGEST_CLASSES + c] > p[b * BL_INGEST_CLASSES + best])
                    best = c;
            right += best == y[s + b];
        }
    }
    return n ? (double)right / n : 0;
}

int bl_cmd_train_ingest(int argc, char **argv)
{
    const char *out = "ingest-orient.blm", *data = NULL;
    long pages = 600, epochs = 40, threads = 1;
    uint64_t seed = 1;
    double skew = 10;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            usage(stderr);
            return 2;
        }
        char *end = NULL;
        if (strcmp(a, "--out") == 0)
            out = v;
        else if (strcmp(a, "--data") == 0)
            data = v;
        else if (strcmp(a, "--pages") == 0)
            pages = strtol(v, &end, 10);
        else if (strcmp(a, "--epochs") == 0)
            epochs = strtol(v, &end, 10);
        else if (strcmp(a, "--threads") == 0)
            threads = strtol(v, &end, 10);
        else if (strcmp(a, "--seed") == 0)
            seed = strtoull(v, &end, 10);
        else if (strcmp(a, "--skew") == 0)
            skew = strtod(v, &end);
        else {
            fprintf(stderr, "blotter train ingest: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
        if (end && *end) {
            fprintf(stderr, "blotter train ingest: %s %s: not a number\n", a, v);
            return 2;
        }
        i++;
    }
    if (pages < 10 || pages > 100000 || epochs < 1 || epochs > 10000 || threads < 1 ||
        threads > 64 || !(skew >= 0 && skew <= 12)) {
        usage(stderr);
        return 2;
    }
    bl_nn_set_threads((int)threads);
    bl_err err = {0};
    bl_ingest_gen gen;
    if (bl_ingest_gen_open(&gen, data, "train", &err) != BL_OK) {
        fprintf(stderr, "blotter train ingest: %s\n", err.msg);
        return 1;
    }
    gen.opt.rotate = 0; /* the turns are made below, four per page */
    gen.opt.skew = skew;
    gen.opt.blank = 0;

    int n = (int)pages * 4;
    float *x = bl_xmalloc((size_t)n * FEAT * sizeof *x);
    int32_t *y = bl_xmalloc((size_t)n * sizeof *y);
    int status = 1;
    bl_nn_net *net = NULL;
    bl_nn_optim *opt = NULL;
    bl_blm *model = NULL;
    float *best = NULL, *batch = NULL;
    for (long k = 0; k < pages; k++) {
        bl_page_info info;
        bl_samples_page truth;
        bl_image *gray = bl_ingest_gen_page(&gen, seed, (int)k, &info, &truth);
        bl_image *bin = NULL;
        double sx, sy;
        int rc = bl_ingest_binarize(gray, &info, &bin, &sx, &sy, NULL, &err);
        bl_image_destroy(&gray);
        if (rc) {
            fprintf(stderr, "blotter train ingest: page %ld: %s\n", k, err.msg);
            goto done;
        }
        bl_image *red2 = bl_image_reduce_ink(bin, 2);
        bl_image_destroy(&bin);
        for (int q = 0; q < 4; q++) {
            bl_image *turned = bl_image_rotate_quarter(red2, q, NULL);
            bl_ingest_orient_input(turned, 2, x + (size_t)(k * 4 + q) * FEAT);
            y[k * 4 + q] = q;
            bl_image_destroy(&turned);
        }
        bl_image_destroy(&red2);
        if ((k + 1) % 20 == 0 || k + 1 == pages)
            fprintf(stderr, "\rtrain ingest: rendered %ld/%ld pages", k + 1, pages);
    }
    fprintf(stderr, "\n");

    /* Split by page: the last tenth of the pages, all four turns each. */
    int nval = ((int)pages / 10) * 4, ntrain = n - nval;
    net = bl_nn_net_new(ARCH, 1, BL_INGEST_THUMB, BL_INGEST_THUMB, &err);
    if (!net) {
        fprintf(stderr, "blotter train ingest: %s\n", err.msg);
        goto done;
    }
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, seed);
    bl_nn_net_init(net, &rng);
    size_t np = bl_nn_net_num_params(net);
    opt = bl_nn_optim_new(BL_NN_ADAM, np, 2e-3f);
    best = bl_xmalloc(np * sizeof *best);
    memcpy(best, bl_nn_net_params(net), np * sizeof *best);
    const int B = 32;
    batch = bl_xmalloc((size_t)B * FEAT * sizeof *batch);
    int32_t *order = bl_xmalloc((size_t)ntrain * sizeof *order);
    int32_t labels[32];
    for (int i = 0; i < ntrain; i++)
        order[i] = i;
    double best_val = -1, best_train = 0;
    long best_epoch = 0;
    for (long e = 1; e <= epochs; e++) {
        bl_nn_shuffle(order, (size_t)ntrain, &rng);
        double loss = 0;
        int steps = 0;
        for (int s = 0; s + B <= ntrain; s += B) {
            for (int b = 0; b < B; b++) {
                memcpy(batch + (size_t)b * FEAT, x + (size_t)order[s + b] * FEAT,
                       FEAT * sizeof *batch);
                labels[b] = y[order[s + b]];
            }
            bl_nn_net_forward(net, batch, B, true, &rng);
            loss += bl_nn_net_backward(net, labels, BL_NN_LOSS_CCE);
            bl_nn_optim_step(opt, bl_nn_net_params(net), bl_nn_net_grads(net));
            steps++;
        }
        opt->lr *= 0.95f;
        double tr = accuracy(net, x, y, ntrain);
        double va = nval ? accuracy(net, x + (size_t)ntrain * FEAT, y + ntrain, nval) : tr;
        fprintf(stderr, "epoch %ld: loss %.4f train %.4f val %.4f\n", e,
                steps ? loss / steps : 0.0, tr, va);
        if (va > best_val || (va == best_val && tr > best_train)) {
            best_val = va;
            best_train = tr;
            best_epoch = e;
            memcpy(best, bl_nn_net_params(net), np * sizeof *best);
        }
    }
    free(order);
    memcpy(bl_nn_net_params(net), best, np * sizeof *best);

    model = bl_blm_new(BL_INGEST_MODEL_KIND, bl_nn_net_spec(net));
    if (bl_nn_net_to_blm(net, model, &err) != BL_OK) {
        fprintf(stderr, "blotter train ingest: %s\n", err.msg);
        goto done;
    }
    char buf[1024];
    bl_blm_set_meta(model, "name", "ingest-orient");
    bl_blm_set_meta(model, "version", "1");
    bl_blm_set_meta(model, "data_set", "blotter samples (in-process), MNIST train digits");
    snprintf(buf, sizeof buf, "%ld", pages);
    bl_blm_set_meta(model, "pages", buf);
    snprintf(buf, sizeof buf, "%ld", best_epoch);
    bl_blm_set_meta(model, "epochs", buf);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)seed);
    bl_blm_set_meta(model, "seed", buf);
    snprintf(buf, sizeof buf, "%.4f", best_val);
    bl_blm_set_meta(model, "val_accuracy", buf);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    bl_blm_set_meta(model, "date", buf);
    /* argv[0] is "train", argv[1] "ingest": the recipe is the command. */
    size_t len = (size_t)snprintf(buf, sizeof buf, "blotter train");
    for (int i = 1; i < argc && len + 2 < sizeof buf; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, " %s", argv[i]);
    bl_blm_set_meta(model, "recipe", buf);
    if (bl_blm_save(model, out, &err) != BL_OK) {
        fprintf(stderr, "blotter train ingest: %s\n", err.msg);
        goto done;
    }
    printf("model: %s (%s, %zu parameters)\n", out, bl_nn_net_spec(net), np);
    printf("val_accuracy: %.4f (epoch %ld, %d pages x 4 turns held out)\n", best_val,
           best_epoch, nval / 4);
    status = 0;
done:
    free(batch);
    free(best);
    bl_blm_destroy(&model);
    bl_nn_optim_destroy(&opt);
    bl_nn_net_destroy(&net);
    free(y);
    free(x);
    bl_ingest_gen_close(&gen);
    return status;
}
