/*
 * cmd_data_digits: `blotter data page-digits --out DIR [--pages N]
 *     [--seed S] [--touching P] [--data DIR] [--config F]`
 *
 * Writes the digits the pipeline itself cuts from generated training pages
 * as an MNIST-style training split, DIR/train-images-idx3-ubyte and
 * DIR/train-labels-idx1-ubyte, for `blotter train classify --extra-data
 * DIR`. Pages are rendered in-process from MNIST *train* digits (run seed
 * 3 by default; evaluation seeds from 5001 on are refused), normalised by
 * ingest, their fields found by detect with the configured model and form
 * templates, and cut by segment with the configured cut scorer and
 * classifier, exactly as the stages do. A field's digits are kept only when
 * segmentation cut it into its true number of digits and every cut digit
 * overlaps one true digit at box IoU >= 0.5, so each crop's label is
 * certain; the crops are the 28 x 28 ones the classifier receives, with
 * whatever the scan, line removal and cutting left in them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blotter/commands.h"
#include "blotter/eval_detect.h"
#include "detect/detect.h"
#include "segment/segment.h"

static const char USAGE[] =
    "usage: blotter data page-digits --out DIR [--pages N] [--seed S] [--touching P]\n"
    "         [--data DIR] [--config F]\n"
    "Defaults: --pages 300 --seed 3 --touching 0.1; MNIST train digits; the models\n"
    "and templates of pipeline.conf. Writes DIR/train-images-idx3-ubyte and\n"
    "DIR/train-labels-idx1-ubyte: the digits segment cut from the pages' fields,\n"
    "labelled from the truth where the cut matches it, for\n"
    "`blotter train classify --extra-data DIR`.\n";

#define FIRST_EVAL_SEED 5001

typedef struct harvest {
    uint8_t *images, *labels;
    size_t n, cap;
} harvest;

static void harvest_add(harvest *h, const uint8_t *pixels, int label)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 4096;
        h->images = bl_xrealloc(h->images, h->cap * BL_MNIST_PIXELS);
        h->labels = bl_xrealloc(h->labels, h->cap);
    }
    memcpy(h->images + h->n * BL_MNIST_PIXELS, pixels, BL_MNIST_PIXELS);
    h->labels[h->n++] = (uint8_t)label;
}

/* The true digit of f each cut digit overlaps at IoU >= 0.5, one to one:
 * 1 and label[q] for every q when all nd of them find theirs. */
static int labels_for(const bl_box *cut, int nd, const bl_samples_field *f, int *label)
{
    int used[BL_SAMPLES_MAX_DIGITS] = {0};
    for (int q = 0; q < nd; q++) {
        int best = -1;
        double best_iou = 0.5;
        for (int j = 0; j < f->ndigits; j++) {
            double o = bl_detgen_iou(cut[q], f->digits[j]);
            if (!used[j] && o >= best_iou)
                best = j, best_iou = o;
        }
        if (best < 0)
            return 0;
        used[best] = 1;
        label[q] = f->value[best] - '0';
    }
    return 1;
}

static void put_be32(FILE *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    fwrite(b, 1, 4, f);
}

/* IDX files (LeCun's format: big-endian magic and sizes, then bytes). */
static int write_idx(const char *dir, const harvest *h, bl_err *err)
{
    char path[BL_PATH_MAX];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    FILE *f = fopen(path, "wb");
    if (!f)
        return bl_err_set(err, BL_EIO, "%s: %s", path, strerror(errno));
    put_be32(f, 0x00000803);
    put_be32(f, (uint32_t)h->n);
    put_be32(f, BL_MNIST_SIDE);
    put_be32(f, BL_MNIST_SIDE);
    fwrite(h->images, BL_MNIST_PIXELS, h->n, f);
    if (fclose(f) != 0)
        return bl_err_set(err, BL_EIO, "%s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte", dir);
    f = fopen(path, "wb");
    if (!f)
        return bl_err_set(err, BL_EIO, "%s: %s", path, strerror(errno));
    put_be32(f, 0x00000801);
    put_be32(f, (uint32_t)h->n);
    fwrite(h->labels, 1, h->n, f);
    if (fclose(f) != 0)
        return bl_err_set(err, BL_EIO, "%s: %s", path, strerror(errno));
    return BL_OK;
}

int bl_cmd_data_page_digits(int argc, char **argv)
{
    bl_detgen_opts o = {.pages = 300, .seed = 3, .rotate = 0.1, .touching = 0.1, .epochs = 1};
    int prc = bl_detgen_parse(argc, argv, "blotter data page-digits", USAGE, &o);
    if (prc)
        return prc == 1 ? 0 : 2;
    if (!o.out) {
        fprintf(stderr, "blotter data page-digits: --out DIR is required\n%s", USAGE);
        return 2;
    }
    if (o.seed + (uint64_t)o.pages > FIRST_EVAL_SEED) {
        fprintf(stderr, "blotter data page-digits: seeds from %d on are the evaluation "
                "pages; choose a lower --seed\n", FIRST_EVAL_SEED);
        return 2;
    }
    if (mkdir(o.out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "blotter data page-digits: %s: %s\n", o.out, strerror(errno));
        return 1;
    }
    bl_err err = {0};
    bl_detgen g;
    if (bl_detgen_open(&g, o.data, "train", o.config, &err) != BL_OK) {
        fprintf(stderr, "blotter data page-digits: %s\n", err.msg);
        return 1;
    }
    g.gen.opt.rotate = o.rotate;
    g.gen.opt.touching = o.touching;
    int status = 1;
    harvest h = {0};
    long fields = 0, kept_fields = 0;
    bl_template_set *tset = NULL;
    bl_detect *det = bl_detect_new(g.conf.model[BL_STAGE_DETECT], &err);
    bl_segment *seg = det ? bl_segment_new(g.conf.model[BL_STAGE_SEGMENT],
                                           g.conf.model[BL_STAGE_CLASSIFY], &err)
                          : NULL;
    if (!det || !seg || bl_detgen_templates(&o, &g.conf, &tset, &err) != BL_OK) {
        fprintf(stderr, "blotter data page-digits: %s\n", err.msg);
        goto done;
    }
    for (long k = 0; k < o.pages; k++) {
        bl_work *work = NULL;
        bl_samples_page truth;
        bl_detect_field *named = NULL;
        int n = 0;
        if (bl_detgen_page(&g, o.seed, (int)k, &work, &truth, &err) != BL_OK ||
            bl_detect_run_named(det, tset, work->page, &named, &n, NULL, &err) != BL_OK) {
            fprintf(stderr, "blotter data page-digits: page %ld: %s\n", k, err.msg);
            bl_work_destroy(&work);
            goto done;
        }
        bl_box *src = bl_xmalloc(sizeof *src * (size_t)(n + 1));
        int *match = bl_xmalloc(sizeof *match * (size_t)(n + 1));
        for (int i = 0; i < n; i++)
            src[i] = bl_detect_box_to_source(&work->to_source, work->src_width,
                                             work->src_height, named[i].box);
        bl_detgen_match(src, n, &truth, match, NULL);
        fields += truth.nfields;
        for (int i = 0; i < n; i++) {
            if (match[i] < 0)
                continue;
            const bl_samples_field *f = &truth.fields[match[i]];
            bl_image *crop = bl_image_crop(work->page, named[i].box);
            bl_segment_digit *d = NULL;
            int nd = 0, lo, hi;
            bl_segment_expected_len(named[i].rule, &lo, &hi);
            int rc = bl_segment_run_expect(seg, crop, lo, hi, &d, &nd, &err);
            bl_image_destroy(&crop);
            if (rc == BL_OK && nd == f->ndigits) {
                bl_box cut[BL_SAMPLES_MAX_DIGITS];
                int label[BL_SAMPLES_MAX_DIGITS];
                for (int q = 0; q < nd; q++) {
                    bl_box b = d[q].box;
                    b.x += named[i].box.x;
                    b.y += named[i].box.y;
                    cut[q] = bl_detect_box_to_source(&work->to_source, work->src_width,
                                                     work->src_height, b);
                }
                if (labels_for(cut, nd, f, label)) {
                    for (int q = 0; q < nd; q++)
                        harvest_add(&h, d[q].pixels, label[q]);
                    kept_fields++;
                }
            }
            free(d);
        }
        free(src);
        free(match);
        free(named);
        bl_work_destroy(&work);
        if ((k + 1) % 20 == 0 || k + 1 == o.pages)
            fprintf(stderr, "\rpage-digits: %ld/%ld pages, %zu digits", k + 1, o.pages, h.n);
    }
    fprintf(stderr, "\n");
    if (write_idx(o.out, &h, &err) != BL_OK) {
        fprintf(stderr, "blotter data page-digits: %s\n", err.msg);
        goto done;
    }
    printf("page-digits: %ld pages, %ld of %ld true fields cut right, %zu digits -> %s\n",
           o.pages, kept_fields, fields, h.n, o.out);
    status = 0;
done:
    free(h.images);
    free(h.labels);
    bl_template_set_destroy(&tset);
    bl_segment_destroy(&seg);
    bl_detect_destroy(&det);
    bl_detgen_close(&g);
    return status;
}
