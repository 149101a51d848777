/*
 * eval_ingest: `blotter eval ingest --model F [--pages N] [--seed S]
 *     [--skew DEG] [--rotate P] [--data DIR]`
 *
 * Renders N synthetic scans in-process with the sample generator (MNIST
 * test digits; seeds disjoint from training by convention: training uses
 * 1.., evaluation 1001.. by default), runs each through the ingest
 * normaliser exactly as the stage does, and compares with the truth:
 *   accuracy: the fraction of non-blank pages whose quarter turn is right;
 *   skew error: mean and max |measured - true| degrees over those pages;
 *   blank pages recognised, and pages wrongly called blank, with the least
 *   ink the blank test saw on a page with fields (the margin it has).
 * Pages cycle through bilevel and gray and through 200/300/400 dpi
 * (bl_ingest_gen_page). Output on stdout; progress on stderr.
 */
#include "blotter/eval_ingest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

int bl_ingest_gen_open(bl_ingest_gen *g, const char *data_dir, const char *split,
                       bl_err *err)
{
    memset(g, 0, sizeof *g);
    char dir[4096];
    if (data_dir && data_dir[0])
        bl_strlcpy(dir, data_dir, sizeof dir);
    else
        bl_mnist_default_dir(dir, sizeof dir);
    g->mnist = bl_mnist_load(dir, split, err);
    if (!g->mnist)
        return err ? err->code : BL_EIO;
    g->fonts = bl_samples_fonts_new(NULL, err);
    if (!g->fonts || bl_samples_source_init(&g->src, g->mnist, err) != BL_OK) {
        bl_samples_fonts_destroy(&g->fonts);
        bl_mnist_destroy(&g->mnist);
        return err ? err->code : BL_EIO;
    }
    bl_samples_options_default(&g->opt);
    return BL_OK;
}

void bl_ingest_gen_close(bl_ingest_gen *g)
{
    if (g->mnist)
        bl_samples_source_free(&g->src);
    bl_samples_fonts_destroy(&g->fonts);
    bl_mnist_destroy(&g->mnist);
}

bl_image *bl_ingest_gen_page(bl_ingest_gen *g, uint64_t seed, int index, bl_page_info *info,
                             bl_samples_page *truth)
{
    static const int dpis[4] = {300, 300, 200, 400};
    bl_samples_rng r;
    bl_samples_rng_seed(&r, seed * 0x9e3779b97f4a7c15ull + (uint64_t)index);
    uint64_t page_seed = bl_samples_rng_next(&r);
    int gray = index % 3 == 2;
    g->opt.dpi = dpis[(index / 3) % 4];
    bl_image *img = bl_samples_render_page(&g->src, g->fonts, &g->opt, page_seed, gray, truth);
    if (!gray) {
        size_t n = (size_t)img->stride * (size_t)img->height;
        for (size_t i = 0; i < n; i++)
            img->data[i] = img->data[i] ? 0 : 255;
    }
    memset(info, 0, sizeof *info);
    info->dpi_x = info->dpi_y = g->opt.dpi;
    info->bits_per_sample = gray ? 8 : 1;
    info->bilevel = !gray;
    return img;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: blotter eval ingest --model F|none [--pages N] [--seed S] [--skew DEG]\n"
               "         [--rotate P] [--data DIR]\n"
               "Defaults: --pages 200 --seed 1001 --skew 10 --rotate 0.75, MNIST test digits.\n");
}

int bl_cmd_eval_ingest(int argc, char **argv)
{
    const char *model = NULL, *data = NULL;
    long pages = 200;
    uint64_t seed = 1001;
    double skew = 10, rotate = 0.75;
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
        if (strcmp(a, "--model") == 0)
            model = v;
        else if (strcmp(a, "--data") == 0)
            data = v;
        else if (strcmp(a, "--pages") == 0)
            pages = strtol(v, &end, 10);
        else if (strcmp(a, "--seed") == 0)
            seed = strtoull(v, &end, 10);
        else if (strcmp(a, "--skew") == 0)
            skew = strtod(v, &end);
        else if (strcmp(a, "--rotate") == 0)
            rotate = strtod(v, &end);
        else {
            fprintf(stderr, "blotter eval ingest: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
        if (end && *end) {
            fprintf(stderr, "blotter eval ingest: %s %s: not a number\n", a, v);
            return 2;
        }
        i++;
    }
    if (!model || pages < 1 || pages > 1000000 || !(skew >= 0 && skew <= 12) ||
        !(rotate >= 0 && rotate <= 1)) {
        usage(stderr);
        return 2;
    }
    bl_err err = {0};
    bl_ingest_keep_memory(); /* as the stage does, for its CPU figure */
    bl_ingest *norm = bl_ingest_new(strcmp(model, "none") == 0 ? NULL : model, &err);
    if (!norm) {
        fprintf(stderr, "blotter eval ingest: %s\n", err.msg);
        return 1;
    }
    bl_ingest_gen gen;
    if (bl_ingest_gen_open(&gen, data, "test", &err) != BL_OK) {
        fprintf(stderr, "blotter eval ingest: %s\n", err.msg);
        bl_ingest_destroy(&norm);
        return 1;
    }
    gen.opt.rotate = rotate;
    gen.opt.skew = skew;
    long upright_ok = 0, nonblank = 0, blanks = 0, blank_found = 0, false_blank = 0;
    double skew_sum = 0, skew_max = 0, least_ink = 1;
    uint64_t cpu = 0;
    int status = 1;
    for (long k = 0; k < pages; k++) {
        bl_page_info info;
        bl_samples_page truth;
        bl_image *gray = bl_ingest_gen_page(&gen, seed, (int)k, &info, &truth);
        bl_work *work = bl_work_new();
        bl_ingest_result res;
        uint64_t t0 = bl_time_cpu_ns();
        int rc = bl_ingest_run(norm, gray, &info, work, &res, &err);
        cpu += bl_time_cpu_ns() - t0;
        bl_work_destroy(&work);
        bl_image_destroy(&gray);
        if (rc) {
            fprintf(stderr, "blotter eval ingest: page %ld: %s\n", k, err.msg);
            goto done;
        }
        if (truth.blank) {
            blanks++;
            blank_found += res.blank;
            if (!res.blank)
                fprintf(stderr, "page %ld: blank, not recognised: ink %.2g (marks %.2g) of the page, edges %d\n",
                        k, res.ink, res.mark_ink, res.edges);
        } else {
            nonblank++;
            false_blank += res.blank;
            /* What the blank test weighed: the marks' ink where it looked
             * at them, else all the ink (more than enough). */
            double weighed = res.ink < BL_INGEST_BLANK_CHECK ? res.mark_ink : res.ink;
            if (weighed < least_ink)
                least_ink = weighed;
            int right = !res.blank && res.quarter_turns * 90 == truth.rotation;
            upright_ok += right;
            double e = fabs(res.skew - truth.skew);
            skew_sum += e;
            if (e > skew_max)
                skew_max = e;
            if (!right || e > 0.3)
                fprintf(stderr, "page %ld: rotation %d found %d (p %.3f), skew %.2f found %.2f%s\n",
                        k, truth.rotation, res.quarter_turns * 90, res.orient_prob, truth.skew,
                        res.skew, res.blank ? " (called blank)" : "");
        }
        if ((k + 1) % 20 == 0 || k + 1 == pages)
            fprintf(stderr, "\reval ingest: %ld/%ld pages", k + 1, pages);
    }
    fprintf(stderr, "\n");
    printf("model: %s\n", bl_ingest_model_id(norm)[0] ? bl_ingest_model_id(norm) : "none");
    printf("pages: %ld (%ld blank)\n", pages, blanks);
    printf("accuracy: %.4f\n", nonblank ? (double)upright_ok / (double)nonblank : 0.0);
    printf("skew error: mean %.3f max %.3f degrees\n", nonblank ? skew_sum / (double)nonblank : 0.0,
           skew_max);
    printf("blank recognised: %ld/%ld, pages wrongly called blank: %ld\n", blank_found, blanks,
           false_blank);
    printf("least ink on a page with fields: %.2g of the page (blank below %.2g)\n", least_ink,
           BL_INGEST_BLANK_FRACTION);
    printf("cpu per page: %.1f ms\n", (double)cpu / 1e6 / (double)pages);
    status = 0;
done:
    bl_ingest_gen_close(&gen);
    bl_ingest_destroy(&norm);
    return status;
}
