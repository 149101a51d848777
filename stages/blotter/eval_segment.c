/*
 * eval_segment: `blotter eval segment [--pages N] [--seed S] [--model F|none]
 *     [--classify F|none] [--rotate P] [--touching P] [--templates DIR|none]
 *     [--data DIR] [--config F] [--verbose] [--dump DIR]`
 *
 * Renders N synthetic pages in-process (MNIST test digits, run seed 5001 by
 * default), normalises them with ingest and detects their fields as the
 * pipeline does (the configured models and form templates: a field named
 * by a template is cut to the length its rule gives), then segments every
 * detected
 * field that matches a true field (IoU >= 0.5) with the cut scorer given
 * (else [models] segment) and, as the stage does, the classifier of
 * [models] classify checking the scorer's splits (--classify F|none:
 * another or none; without a cut scorer, --classify F chooses the cuts by
 * the classifier-scored lattice instead). Against the truth it reports:
 *   count accuracy: the share of those fields cut into exactly their
 *     number of digits (overall and on touching fields);
 *   digit box accuracy: the share of their true digits matched one-to-one
 *     by a cut digit with box IoU >= 0.5 (file pixels);
 * and, classifying the digits, the end-to-end figures of `blotter eval
 * pipeline` (exact-match over all true fields, digit accuracy, exact-match
 * on touching fields), the misread fields by cause, plus detect + segment
 * CPU time per page.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blotter/eval_detect.h"
#include "blotter/score.h"
#include "classify/classify.h"
#include "detect/detect.h"
#include "nn/nn.h"
#include "segment/segment.h"

static const char USAGE[] =
    "usage: blotter eval segment [--pages N] [--seed S] [--model F|none]\n"
    "         [--classify F|none] [--rotate P] [--touching P] [--data DIR] [--config F]\n"
    "         [--templates DIR|none] [--verbose] [--dump DIR]\n"
    "Defaults: --pages 200 --seed 5001 --rotate 0.1 --touching 0.1, MNIST test digits,\n"
    "the models and templates of pipeline.conf; --classify F|none: the classifier segmentation\n"
    "consults (by default [models] classify when a cut scorer is used).\n"
    "Prints count and digit box accuracy of the segmentation of the detected\n"
    "fields and the end-to-end accuracy. --dump DIR writes each misread field's\n"
    "crop, its cut digits outlined and below it each digit as the classifier saw it,\n"
    "as DIR/pPAGE-NAME-TRUE-READ.png.\n";

static const char *pick(const char *opt, const char *conf)
{
    return opt ? (strcmp(opt, "none") == 0 ? "" : opt) : conf;
}

/* Why a true field was not read exactly, in the order the pipeline loses
 * it: detection (no box at IoU >= 0.5: nothing there, or a box that
 * overlaps it, split or merged with other ink), segmentation (too few or too
 * many digits; the right count but a digit box not matching its true one
 * at IoU >= 0.5) or the classifier (count and boxes right). */
enum { CAUSE_MISSED, CAUSE_SPLIT, CAUSE_UNDER, CAUSE_OVER, CAUSE_CUT, CAUSE_CLASS, CAUSE_N };
static const char *const CAUSE_NAME[CAUSE_N] = {
    "missed (no box overlaps)", "split or merged (IoU < 0.5)", "too few digits",
    "too many digits", "right count, a digit box wrong", "misclassified"};

static int overlapped(const bl_box *boxes, int n, const bl_samples_field *f)
{
    for (int i = 0; i < n; i++)
        if (bl_detgen_iou(boxes[i], f->box) > 0)
            return 1;
    return 0;
}

/* Digits matched one-to-one at IoU >= 0.5, greedily by best IoU. */
static int digits_matched(const bl_box *got, int n, const bl_samples_field *f)
{
    int used_g[64] = {0}, used_t[BL_SAMPLES_MAX_DIGITS] = {0}, m = 0;
    n = n > 64 ? 64 : n;
    for (;;) {
        double best = 0.5;
        int bi = -1, bj = -1;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < f->ndigits && !used_g[i]; j++) {
                if (used_t[j])
                    continue;
                double o = bl_detgen_iou(got[i], f->digits[j]);
                if (o >= best)
                    best = o, bi = i, bj = j;
            }
        if (bi < 0)
            return m;
        used_g[bi] = used_t[bj] = 1;
        m++;
    }
}

/* Writes a misread field's crop (cut digits outlined in gray) and, below
 * it, each digit as the classifier saw it (28 x 28, drawn twice the size)
 * as DIR/pPAGE-NAME-VALUE-READ.png for inspection. */
enum { DUMP_ZOOM = 2, DUMP_CELL = BL_MNIST_SIDE * DUMP_ZOOM + 4 };
static void dump_field(const char *dir, long page, const bl_samples_field *f,
                       const bl_image *clean, const bl_image *raw, bl_box box,
                       const bl_segment_digit *d, int nd, const char *value)
{
    /* Widened by a margin; the ink line removal took shows light gray. */
    int m = 30;
    int x0 = box.x - m < 0 ? 0 : box.x - m, y0 = box.y - m < 0 ? 0 : box.y - m;
    int x1 = box.x + box.w + m, y1 = box.y + box.h + m;
    x1 = x1 > clean->width ? clean->width : x1;
    y1 = y1 > clean->height ? clean->height : y1;
    bl_box wide = {x0, y0, x1 - x0, y1 - y0};
    bl_image *crop = bl_image_crop(clean, wide);
    bl_image *before = bl_image_crop(raw, wide);
    int gw = crop->width > nd * DUMP_CELL ? crop->width : nd * DUMP_CELL;
    bl_image *g = bl_image_new(gw, crop->height + (nd > 0 ? DUMP_CELL : 0));
    memset(g->data, 255, (size_t)g->stride * (size_t)g->height);
    for (int q = 0; q < nd; q++)
        for (int y = 0; y < BL_MNIST_SIDE * DUMP_ZOOM; y++)
            for (int x = 0; x < BL_MNIST_SIDE * DUMP_ZOOM; x++)
                BL_PIX(g, q * DUMP_CELL + x, crop->height + 4 + y) =
                    (uint8_t)(255 - d[q].pixels[(y / DUMP_ZOOM) * BL_MNIST_SIDE + x / DUMP_ZOOM]);
    for (int y = 0; y < crop->height; y++)
        for (int x = 0; x < crop->width; x++)
            BL_PIX(g, x, y) = BL_PIX(crop, x, y) ? 0 : BL_PIX(before, x, y) ? 200 : 255;
    bl_image_destroy(&before);
    for (int q = 0; q < nd; q++) {
        bl_box b = d[q].box;
        b.x += box.x - wide.x;
        b.y += box.y - wide.y;
        for (int x = b.x; x < b.x + b.w; x++) {
            if (BL_PIX(g, x, b.y) == 255)
                BL_PIX(g, x, b.y) = 160;
            if (BL_PIX(g, x, b.y + b.h - 1) == 255)
                BL_PIX(g, x, b.y + b.h - 1) = 160;
        }
        for (int y = b.y; y < b.y + b.h; y++) {
            if (BL_PIX(g, b.x, y) == 255)
                BL_PIX(g, b.x, y) = 160;
            if (BL_PIX(g, b.x + b.w - 1, y) == 255)
                BL_PIX(g, b.x + b.w - 1, y) = 160;
        }
    }
    char path[BL_PATH_MAX];
    snprintf(path, sizeof path, "%s/p%03ld-%s-%s-%s.png", dir, page, f->name, f->value,
             value[0] ? value : "none");
    bl_err err = {0};
    if (bl_image_write_png(g, path, 300, 0, &err) != BL_OK)
        fprintf(stderr, "blotter eval segment: %s\n", err.msg);
    bl_image_destroy(&g);
    bl_image_destroy(&crop);
}

int bl_cmd_eval_segment(int argc, char **argv)
{
    bl_detgen_opts o = {.pages = 200, .seed = 5001, .rotate = 0.1, .touching = 0.1,
                        .epochs = 1};
    int prc = bl_detgen_parse(argc, argv, "blotter eval segment", USAGE, &o);
    if (prc)
        return prc == 1 ? 0 : 2;
    /* One thread, as the stage processes run: the CPU per page is theirs,
     * not OpenBLAS's worker threads waiting on small products. */
    bl_nn_set_threads(1);
    if (o.dump && mkdir(o.dump, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "blotter eval segment: %s: %s\n", o.dump, strerror(errno));
        return 1;
    }
    bl_err err = {0};
    bl_detgen g;
    if (bl_detgen_open(&g, o.data, "test", o.config, &err) != BL_OK) {
        fprintf(stderr, "blotter eval segment: %s\n", err.msg);
        return 1;
    }
    g.gen.opt.rotate = o.rotate;
    g.gen.opt.touching = o.touching;
    int status = 1;
    bl_detect *det = NULL;
    bl_segment *seg = NULL;
    bl_classifier *clf = NULL;
    bl_template_set *tset = NULL;
    /* As the stage: with a cut scorer, the classifier of [models] classify
     * checks its splits (--classify F|none overrides). */
    const char *cut_path = pick(o.model, g.conf.model[BL_STAGE_SEGMENT]);
    const char *clf_path =
        o.classify ? pick(o.classify, "") : (cut_path[0] ? g.conf.model[BL_STAGE_CLASSIFY] : "");
    det = bl_detect_new(g.conf.model[BL_STAGE_DETECT], &err);
    if (det)
        seg = bl_segment_new(cut_path, clf_path, &err);
    /* The digits are read with the pipeline's classifier whatever
     * segmentation itself was given. */
    const char *read_path = g.conf.model[BL_STAGE_CLASSIFY];
    if (seg && read_path[0])
        clf = bl_classifier_load(read_path, &err);
    if (!det || !seg || (read_path[0] && !clf) ||
        bl_detgen_templates(&o, &g.conf, &tset, &err) != BL_OK) {
        fprintf(stderr, "blotter eval segment: %s\n", err.msg);
        goto done;
    }
    long true_fields = 0, true_digits = 0, seg_fields = 0, count_ok = 0, touch_fields = 0,
         touch_seg = 0, touch_count_ok = 0, seg_digits = 0, box_ok = 0;
    long exact = 0, digit_err = 0, touch_exact = 0, cause[CAUSE_N] = {0},
         touch_cause[CAUSE_N] = {0};
    uint64_t cpu = 0;
    for (long k = 0; k < o.pages; k++) {
        bl_work *work = NULL;
        bl_samples_page truth;
        if (bl_detgen_page(&g, o.seed, (int)k, &work, &truth, &err)) {
            fprintf(stderr, "blotter eval segment: page %ld: %s\n", k, err.msg);
            goto done;
        }
        bl_detect_field *named = NULL;
        int n = 0;
        /* The page before line removal, for the dumps. */
        bl_image *raw = o.dump ? bl_image_crop(work->page, (bl_box){0, 0, work->page->width,
                                                                    work->page->height})
                               : NULL;
        uint64_t t0 = bl_time_cpu_ns();
        int rc = bl_detect_run_named(det, tset, work->page, &named, &n, NULL, &err);
        cpu += bl_time_cpu_ns() - t0;
        if (rc) {
            bl_work_destroy(&work);
            fprintf(stderr, "blotter eval segment: page %ld: %s\n", k, err.msg);
            goto done;
        }
        bl_box *boxes = bl_xmalloc(sizeof *boxes * (size_t)(n + 1));
        for (int i = 0; i < n; i++)
            boxes[i] = named[i].box;
        bl_box *src = bl_xmalloc(sizeof *src * (size_t)(n + 1));
        int *match = bl_xmalloc(sizeof *match * (size_t)(n + 1));
        for (int i = 0; i < n; i++)
            src[i] = bl_detect_box_to_source(&work->to_source, work->src_width,
                                             work->src_height, boxes[i]);
        bl_detgen_match(src, n, &truth, match, NULL);
        int field_err[BL_SAMPLES_MAX_FIELDS], field_exact[BL_SAMPLES_MAX_FIELDS] = {0};
        int field_cause[BL_SAMPLES_MAX_FIELDS];
        for (int j = 0; j < truth.nfields; j++)
            field_cause[j] = overlapped(src, n, &truth.fields[j]) ? CAUSE_SPLIT : CAUSE_MISSED;
        for (int j = 0; j < truth.nfields; j++)
            field_err[j] = truth.fields[j].ndigits;
        for (int i = 0; i < n; i++) {
            bl_image *crop = bl_image_crop(work->page, boxes[i]);
            bl_segment_digit *d = NULL;
            int nd = 0;
            t0 = bl_time_cpu_ns();
            int lo, hi;
            bl_segment_expected_len(named[i].rule, &lo, &hi);
            rc = bl_segment_run_expect(seg, crop, lo, hi, &d, &nd, &err);
            cpu += bl_time_cpu_ns() - t0;
            bl_image_destroy(&crop);
            if (rc || match[i] < 0) {
                free(d);
                continue;
            }
            const bl_samples_field *f = &truth.fields[match[i]];
            seg_fields++;
            count_ok += nd == f->ndigits;
            touch_seg += f->touching;
            touch_count_ok += f->touching && nd == f->ndigits;
            bl_box *db = bl_xmalloc(sizeof *db * (size_t)(nd + 1));
            for (int q = 0; q < nd; q++) {
                bl_box b = d[q].box;
                b.x += boxes[i].x;
                b.y += boxes[i].y;
                db[q] = bl_detect_box_to_source(&work->to_source, work->src_width,
                                                work->src_height, b);
            }
            seg_digits += f->ndigits;
            int dm = digits_matched(db, nd, f);
            box_ok += dm;
            field_cause[match[i]] = nd < f->ndigits   ? CAUSE_UNDER
                                    : nd > f->ndigits ? CAUSE_OVER
                                    : dm < f->ndigits ? CAUSE_CUT
                                                      : CAUSE_CLASS;
            free(db);
            char value[80] = "";
            if (clf && nd > 0 && nd < 64) {
                uint8_t *px = bl_xmalloc((size_t)nd * BL_MNIST_PIXELS);
                int32_t *cls = bl_xmalloc(sizeof *cls * (size_t)nd);
                float *pr = bl_xmalloc(sizeof *pr * (size_t)nd * 10);
                for (int q = 0; q < nd; q++)
                    memcpy(px + (size_t)q * BL_MNIST_PIXELS, d[q].pixels, BL_MNIST_PIXELS);
                if (bl_classifier_run(clf, px, (size_t)nd, cls, pr, NULL) == BL_OK)
                    for (int q = 0; q < nd; q++)
                        value[q] = (char)('0' + cls[q]);
                value[nd] = '\0';
                free(px);
                free(cls);
                free(pr);
                int e = bl_score_edit_distance(value, f->value);
                field_err[match[i]] = e < f->ndigits ? e : f->ndigits;
                field_exact[match[i]] = strcmp(value, f->value) == 0;
            }
            if (o.verbose && (nd != f->ndigits || (clf && !field_exact[match[i]])))
                fprintf(stderr, "page %ld: %s '%s' %s%s: %d digits '%s' (%s)\n", k, f->name,
                        f->value, bl_samples_style_name(f->style),
                        f->touching ? " touching" : "", nd, value,
                        CAUSE_NAME[field_cause[match[i]]]);
            if (o.dump && (nd != f->ndigits || (clf && !field_exact[match[i]])))
                dump_field(o.dump, k, f, work->page, raw, boxes[i], d, nd, value);
            free(d);
        }
        for (int j = 0; j < truth.nfields; j++) {
            const bl_samples_field *f = &truth.fields[j];
            true_fields++;
            true_digits += f->ndigits;
            touch_fields += f->touching;
            exact += field_exact[j];
            if (!field_exact[j] && clf) {
                cause[field_cause[j]]++;
                touch_cause[field_cause[j]] += f->touching;
            }
            touch_exact += f->touching && field_exact[j];
            digit_err += field_err[j];
        }
        free(src);
        free(match);
        free(boxes);
        free(named);
        bl_image_destroy(&raw);
        bl_work_destroy(&work);
        if ((k + 1) % 20 == 0 || k + 1 == o.pages)
            fprintf(stderr, "\reval segment: %ld/%ld pages", k + 1, o.pages);
    }
    fprintf(stderr, "\n");
    printf("models: detect %s, segment %s, classify %s\n",
           bl_detect_model_id(det)[0] ? bl_detect_model_id(det) : "none",
           bl_segment_model_id(seg)[0] ? bl_segment_model_id(seg) : "none",
           clf ? bl_classifier_id(clf) : "none");
    printf("pages: %ld, true fields: %ld, segmented (detected) fields: %ld\n", o.pages,
           true_fields, seg_fields);
    printf("count accuracy: %.4f\n", seg_fields ? (double)count_ok / (double)seg_fields : 0.0);
    printf("count accuracy on touching fields: %.4f (%ld)\n",
           touch_seg ? (double)touch_count_ok / (double)touch_seg : 0.0, touch_seg);
    printf("digit box accuracy: %.4f\n", seg_digits ? (double)box_ok / (double)seg_digits : 0.0);
    if (clf) {
        printf("exact accuracy: %.4f\n", true_fields ? (double)exact / (double)true_fields : 0.0);
        printf("digit accuracy: %.4f\n",
               true_digits ? 1.0 - (double)digit_err / (double)true_digits : 0.0);
        printf("touching exact accuracy: %.4f (%ld)\n",
               touch_fields ? (double)touch_exact / (double)touch_fields : 0.0, touch_fields);
    }
    if (clf && true_fields > exact) {
        printf("misread fields by cause (share of all true fields; touching ones):\n");
        for (int c = 0; c < CAUSE_N; c++)
            printf("  %-34s %5ld  %.4f  %5ld\n", CAUSE_NAME[c], cause[c],
                   (double)cause[c] / (double)true_fields, touch_cause[c]);
    }
    printf("cpu per page (detect + segment): %.1f ms\n", (double)cpu / 1e6 / (double)o.pages);
    status = 0;
done:
    bl_template_set_destroy(&tset);
    bl_classifier_destroy(&clf);
    bl_segment_destroy(&seg);
    bl_detect_destroy(&det);
    bl_detgen_close(&g);
    return status;
}
