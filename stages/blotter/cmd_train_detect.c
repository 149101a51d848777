/*
 * cmd_train_detect: `blotter train detect [--pages N] [--seed S]
 *     [--epochs N] [--out F] [--data DIR] [--config F]`
 *
 * Trains the region classifier of the detect stage. Renders N synthetic
 * training pages in-process (MNIST *train* digits, run seed 1 by default,
 * upright, every other artefact at its default), normalises them with ingest as the
 * pipeline does, removes their form lines and collects every candidate
 * region (bl_detect_candidates) with its features; a region is a field
 * (label 1) when its box, mapped to the file's pixels, has IoU >= 0.5
 * with a true field. A small MLP (dense32r-dense16r-dense2l) learns
 * P(field) from the standardised features. Also the MLP trainer both
 * training commands share (bl_detgen_train_mlp).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blm/blm.h"
#include "blotter/eval_detect.h"
#include "detect/detect.h"
#include "nn/nn.h"

int bl_detgen_train_mlp(const float *X, const int32_t *y, long n, int nf, const char *spec,
                        int epochs, uint64_t seed, const char *kind, const char *name,
                        const char *recipe, const char *data_desc, const char *out)
{
    bl_err err = {0};
    float *mean = bl_xcalloc((size_t)nf, sizeof *mean), *sd = bl_xcalloc((size_t)nf, sizeof *sd);
    for (long i = 0; i < n; i++)
        for (int j = 0; j < nf; j++)
            mean[j] += X[i * nf + j] / (float)n;
    for (long i = 0; i < n; i++)
        for (int j = 0; j < nf; j++) {
            float d = X[i * nf + j] - mean[j];
            sd[j] += d * d / (float)n;
        }
    for (int j = 0; j < nf; j++)
        sd[j] = sd[j] > 1e-12f ? sqrtf(sd[j]) : 1.0f;
    float *Z = bl_xmalloc(sizeof *Z * (size_t)n * (size_t)nf);
    for (long i = 0; i < n; i++)
        for (int j = 0; j < nf; j++)
            Z[i * nf + j] = (X[i * nf + j] - mean[j]) / sd[j];

    int status = 1;
    bl_nn_optim *opt = NULL;
    bl_blm *model = NULL;
    int32_t *idx = bl_xmalloc(sizeof *idx * (size_t)n);
    float *xb = bl_xmalloc(sizeof *xb * 64 * (size_t)nf);
    int32_t yb[64];
    bl_nn_net *net = bl_nn_net_new(spec, 1, 1, nf, &err);
    if (!net) {
        fprintf(stderr, "train: %s\n", err.msg);
        goto done;
    }
    bl_nn_rng rng;
    bl_nn_rng_seed(&rng, seed);
    bl_nn_net_init(net, &rng);
    opt = bl_nn_optim_new(BL_NN_ADAM, bl_nn_net_num_params(net), 3e-3f);
    for (long i = 0; i < n; i++)
        idx[i] = (int32_t)i;
    bl_nn_shuffle(idx, (size_t)n, &rng);
    long nval = n / 10, ntrain = n - nval;
    for (int ep = 0; ep < epochs; ep++) {
        bl_nn_shuffle(idx + nval, (size_t)ntrain, &rng);
        double loss = 0;
        long batches = 0;
        for (long s = nval; s < n; s += 64) {
            int B = (int)(n - s < 64 ? n - s : 64);
            for (int b = 0; b < B; b++) {
                memcpy(xb + (size_t)b * nf, Z + (size_t)idx[s + b] * nf, sizeof *xb * (size_t)nf);
                yb[b] = y[idx[s + b]];
            }
            bl_nn_net_forward(net, xb, B, true, &rng);
            loss += bl_nn_net_backward(net, yb, BL_NN_LOSS_CCE);
            bl_nn_optim_step(opt, bl_nn_net_params(net), bl_nn_net_grads(net));
            batches++;
        }
        if (ep == epochs - 1 || (ep + 1) % 10 == 0) {
            long right = 0;
            for (long s = 0; s < nval; s++) {
                const float *p = bl_nn_net_forward(net, Z + (size_t)idx[s] * nf, 1, false, NULL);
                right += (p[1] >= 0.5f) == (y[idx[s]] == 1);
            }
            fprintf(stderr, "epoch %d: loss %.4f, validation accuracy %.4f (%ld)\n", ep + 1,
                    batches ? loss / (double)batches : 0.0,
                    nval ? (double)right / (double)nval : 0.0, nval);
        }
    }
    model = bl_blm_new(kind, bl_nn_net_spec(net));
    char buf[4096], num[32];
    size_t len = 0;
    buf[0] = '\0';
    for (int j = 0; j < nf; j++) {
        snprintf(num, sizeof num, "%s%.7g", j ? " " : "", (double)mean[j]);
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s", num);
    }
    bl_blm_set_meta(model, "feat_mean", buf);
    len = 0;
    buf[0] = '\0';
    for (int j = 0; j < nf; j++) {
        snprintf(num, sizeof num, "%s%.7g", j ? " " : "", (double)sd[j]);
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s", num);
    }
    bl_blm_set_meta(model, "feat_std", buf);
    bl_blm_set_meta(model, "name", name);
    bl_blm_set_meta(model, "version", "1");
    bl_blm_set_meta(model, "recipe", recipe);
    bl_blm_set_meta(model, "data_set", data_desc);
    snprintf(buf, sizeof buf, "%d", epochs);
    bl_blm_set_meta(model, "epochs", buf);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)seed);
    bl_blm_set_meta(model, "seed", buf);
    if (bl_nn_net_to_blm(net, model, &err) != BL_OK || bl_blm_save(model, out, &err) != BL_OK) {
        fprintf(stderr, "train: %s\n", err.msg);
        goto done;
    }
    fprintf(stderr, "wrote %s\n", out);
    status = 0;
done:
    bl_blm_destroy(&model);
    bl_nn_optim_destroy(&opt);
    bl_nn_net_destroy(&net);
    free(idx);
    free(xb);
    free(Z);
    free(mean);
    free(sd);
    return status;
}

static const char USAGE[] =
    "usage: blotter train detect [--pages N] [--seed S] [--epochs N] [--rotate P]\n"
    "         [--out F] [--data DIR] [--config F]\n"
    "Defaults: --pages 300 --seed 1 --epochs 30 --rotate 0\n"
    "--out models/detect-regions.blm, MNIST train digits, every other artefact at\n"
    "the generator's default (upright pages, so no region is mislabelled when\n"
    "ingest misjudges a turn).\n";

int bl_cmd_train_detect(int argc, char **argv)
{
    bl_detgen_opts o = {.pages = 300, .seed = 1, .rotate = 0, .touching = 0.1, .epochs = 30,
                        .out = "models/detect-regions.blm"};
    int prc = bl_detgen_parse(argc, argv, "blotter train detect", USAGE, &o);
    if (prc)
        return prc == 1 ? 0 : 2;
    bl_nn_set_threads(1);
    bl_err err = {0};
    bl_detgen g;
    if (bl_detgen_open(&g, o.data, "train", o.config, &err) != BL_OK) {
        fprintf(stderr, "blotter train detect: %s\n", err.msg);
        return 1;
    }
    g.gen.opt.rotate = o.rotate;
    g.gen.opt.touching = o.touching;
    long cap = 4096, n = 0, pos = 0;
    float *X = bl_xmalloc(sizeof *X * (size_t)cap * BL_DETECT_FEATURES);
    int32_t *y = bl_xmalloc(sizeof *y * (size_t)cap);
    int status = 1;
    for (long k = 0; k < o.pages; k++) {
        bl_work *work = NULL;
        bl_samples_page truth;
        if (bl_detgen_page(&g, o.seed, (int)k, &work, &truth, &err)) {
            fprintf(stderr, "blotter train detect: page %ld: %s\n", k, err.msg);
            goto done;
        }
        bl_detect_remove_lines(work->page);
        bl_detect_region *r = NULL;
        int nr = 0;
        if (bl_detect_candidates(work->page, &r, &nr, &err)) {
            fprintf(stderr, "blotter train detect: page %ld: %s\n", k, err.msg);
            bl_work_destroy(&work);
            goto done;
        }
        bl_box *src = bl_xmalloc(sizeof *src * (size_t)(nr + 1));
        int *match = bl_xmalloc(sizeof *match * (size_t)(nr + 1));
        for (int i = 0; i < nr; i++)
            src[i] = bl_detect_box_to_source(&work->to_source, work->src_width,
                                             work->src_height, r[i].box);
        bl_detgen_match(src, nr, &truth, match, NULL);
        for (int i = 0; i < nr; i++) {
            if (n == cap) {
                cap *= 2;
                X = bl_xrealloc(X, sizeof *X * (size_t)cap * BL_DETECT_FEATURES);
                y = bl_xrealloc(y, sizeof *y * (size_t)cap);
            }
            memcpy(X + (size_t)n * BL_DETECT_FEATURES, r[i].feat, sizeof r[i].feat);
            y[n] = match[i] >= 0;
            pos += y[n];
            n++;
        }
        free(src);
        free(match);
        free(r);
        bl_work_destroy(&work);
        if ((k + 1) % 20 == 0 || k + 1 == o.pages)
            fprintf(stderr, "\rtrain detect: %ld/%ld pages, %ld regions (%ld fields)", k + 1,
                    o.pages, n, pos);
    }
    fprintf(stderr, "\n");
    char recipe[512], data[256];
    snprintf(recipe, sizeof recipe,
             "blotter train detect --pages %ld --seed %llu --epochs %d --rotate %g --out %s",
             o.pages, (unsigned long long)o.seed, o.epochs, o.rotate, o.out);
    snprintf(data, sizeof data,
             "%ld generated pages (blotter samples defaults, MNIST train), %ld regions, %ld fields",
             o.pages, n, pos);
    status = bl_detgen_train_mlp(X, y, n, BL_DETECT_FEATURES, "dense32r-dense16r-dense2l",
                                 o.epochs, o.seed, BL_DETECT_MODEL_KIND, "detect-regions", recipe,
                                 data, o.out);
done:
    free(X);
    free(y);
    bl_detgen_close(&g);
    return status;
}
