/*
 * eval_detect: `blotter eval detect [--pages N] [--seed S] [--model F|none]
 *     [--rotate P] [--templates DIR|none] [--recovery] [--data DIR] [--config F]
 *     [--verbose]`
 *
 * Renders N synthetic pages in-process (MNIST test digits, run seed 5001 by
 * default, never used in training), normalises each with ingest as the
 * stage does, runs detection (the model given, else the configured
 * [models] detect, else the rules) and matches the field boxes, mapped
 * back to the file's pixels, one-to-one with the true fields at IoU >= 0.5
 * (as `blotter eval pipeline` does). Prints precision, recall, mean IoU
 * and detection CPU time per page (line removal and template matching
 * included). With form templates (--templates, else the configured
 * [pipeline] templates) it also reports template identification against
 * each page's true layout and the share of matched true fields on pages
 * of a templated layout that got their true name; --recovery measures the
 * test that recovers rejected candidates in empty template fields, with
 * true field boxes standing in for template boxes. Also the page source
 * shared by the detect and segment commands (eval_detect.h).
 */
#include "blotter/eval_detect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/detect.h"
#include "nn/nn.h"
#include "ingest/ingest.h"

int bl_detgen_parse(int argc, char **argv, const char *cmd, const char *usage,
                    bl_detgen_opts *o)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return 1;
        }
        if (strcmp(a, "--verbose") == 0) {
            o->verbose = 1;
            continue;
        }
        if (strcmp(a, "--recovery") == 0) {
            o->recovery = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "%s: %s needs a value\n%s", cmd, a, usage);
            return 2;
        }
        char *end = NULL;
        if (strcmp(a, "--pages") == 0)
            o->pages = strtol(v, &end, 10);
        else if (strcmp(a, "--seed") == 0)
            o->seed = strtoull(v, &end, 10);
        else if (strcmp(a, "--epochs") == 0)
            o->epochs = (int)strtol(v, &end, 10);
        else if (strcmp(a, "--rotate") == 0)
            o->rotate = strtod(v, &end);
        else if (strcmp(a, "--touching") == 0)
            o->touching = strtod(v, &end);
        else if (strcmp(a, "--data") == 0)
            o->data = v;
        else if (strcmp(a, "--config") == 0)
            o->config = v;
        else if (strcmp(a, "--model") == 0)
            o->model = v;
        else if (strcmp(a, "--classify") == 0)
            o->classify = v;
        else if (strcmp(a, "--out") == 0)
            o->out = v;
        else if (strcmp(a, "--dump") == 0)
            o->dump = v;
        else if (strcmp(a, "--templates") == 0)
            o->templates = v;
        else {
            fprintf(stderr, "%s: unknown option %s\n%s", cmd, a, usage);
            return 2;
        }
        if (end && *end) {
            fprintf(stderr, "%s: %s %s: not a number\n", cmd, a, v);
            return 2;
        }
        i++;
    }
    if (o->pages < 1 || o->pages > 1000000 || !(o->rotate >= 0 && o->rotate <= 1) ||
        !(o->touching >= 0 && o->touching <= 1) || o->epochs < 1 || o->epochs > 100000) {
        fprintf(stderr, "%s: a value is out of range\n%s", cmd, usage);
        return 2;
    }
    return 0;
}

int bl_detgen_open(bl_detgen *g, const char *data_dir, const char *split,
                   const char *config_path, bl_err *err)
{
    memset(g, 0, sizeof *g);
    char path[BL_PATH_MAX];
    bl_conf_defaults(&g->conf);
    bl_conf_locate(config_path, path, sizeof path);
    if (path[0] && bl_conf_load(&g->conf, path, err) != BL_OK)
        return err ? err->code : BL_EINVAL;
    int rc = bl_ingest_gen_open(&g->gen, data_dir, split, err);
    if (rc != BL_OK)
        return rc;
    g->ingest = bl_ingest_new(g->conf.model[BL_STAGE_INGEST], err);
    if (!g->ingest) {
        bl_detgen_close(g);
        return err ? err->code : BL_EIO;
    }
    return BL_OK;
}

void bl_detgen_close(bl_detgen *g)
{
    bl_ingest_gen_close(&g->gen);
    bl_ingest_destroy(&g->ingest);
}

int bl_detgen_page(bl_detgen *g, uint64_t seed, int index, bl_work **work,
                   bl_samples_page *truth, bl_err *err)
{
    bl_samples_rng r;
    bl_samples_rng_seed(&r, seed * 0xd1b54a32d192ed03ull + (uint64_t)index);
    uint64_t page_seed = bl_samples_rng_next(&r);
    g->gen.opt.dpi = 300;
    bl_image *img = bl_samples_render_page(&g->gen.src, g->gen.fonts, &g->gen.opt, page_seed, 0, truth);
    size_t n = (size_t)img->stride * (size_t)img->height;
    for (size_t i = 0; i < n; i++)
        img->data[i] = img->data[i] ? 0 : 255;
    bl_page_info info;
    memset(&info, 0, sizeof info);
    info.dpi_x = info.dpi_y = 300;
    info.bits_per_sample = 1;
    info.bilevel = 1;
    *work = bl_work_new();
    int rc = bl_ingest_run(g->ingest, img, &info, *work, NULL, err);
    bl_image_destroy(&img);
    if (rc)
        bl_work_destroy(work);
    return rc;
}

double bl_detgen_iou(bl_box a, bl_box b)
{
    double x0 = fmax(a.x, b.x), y0 = fmax(a.y, b.y);
    double x1 = fmin(a.x + a.w, b.x + b.w), y1 = fmin(a.y + a.h, b.y + b.h);
    double inter = fmax(0, x1 - x0) * fmax(0, y1 - y0);
    double uni = (double)a.w * a.h + (double)b.w * b.h - inter;
    return uni > 0 ? inter / uni : 0;
}

void bl_detgen_match(const bl_box *boxes, int n, const bl_samples_page *truth, int *match,
                     double *iou)
{
    int taken[BL_SAMPLES_MAX_FIELDS] = {0};
    for (int i = 0; i < n; i++) {
        match[i] = -1;
        if (iou)
            iou[i] = 0;
    }
    for (;;) {
        double best = 0.5;
        int bi = -1, bj = -1;
        for (int i = 0; i < n; i++) {
            if (match[i] >= 0)
                continue;
            for (int j = 0; j < truth->nfields; j++) {
                if (taken[j])
                    continue;
                double o = bl_detgen_iou(boxes[i], truth->fields[j].box);
                if (o >= best) {
                    best = o;
                    bi = i;
                    bj = j;
                }
            }
        }
        if (bi < 0)
            return;
        match[bi] = bj;
        taken[bj] = 1;
        if (iou)
            iou[bi] = best;
    }
}

static const char USAGE[] =
    "usage: blotter eval detect [--pages N] [--seed S] [--model F|none] [--rotate P]\n"
    "         [--templates DIR|none] [--recovery] [--data DIR] [--config F] [--verbose]\n"
    "Defaults: --pages 200 --seed 5001 --rotate 0.1, MNIST test digits, the model\n"
    "of [models] detect (none: the rules), the templates of [pipeline] templates.\n"
    "Prints precision and recall at IoU >= 0.5, template identification and naming.\n";

int bl_detgen_templates(const bl_detgen_opts *o, const bl_conf *conf, bl_template_set **set,
                        bl_err *err)
{
    *set = NULL;
    const char *dir = o->templates ? o->templates : conf->templates;
    if (strcmp(dir, "none") == 0 || !dir[0])
        return BL_OK;
    if (!o->templates && access(dir, F_OK) != 0) {
        fprintf(stderr, "blotter eval: no template directory %s: no templates\n", dir);
        return BL_OK;
    }
    return bl_template_set_load(dir, set, err);
}

/* How the recovery test of empty template fields (detect.h,
 * bl_detect_run_named) would do on today's pages, with each true field's
 * box grown by 60 px standing in for its template box: the candidates the
 * classifier rejected that lie mostly inside the grown box of a true field
 * no kept box matched; per test, the fields where it takes some, and
 * those where the union of what it takes (detect merges a field's parts)
 * matches the field at IoU >= 0.5. Tests: 0 the rules, 1 score >= 0.2,
 * 2 one digit-sized component, 3 any of them (what detect does). */
typedef struct recovery_stats {
    long considered, fields, taken[4], taken_true[4];
} recovery_stats;

static void measure_recovery(bl_detect *det, const bl_image *page, const bl_work *work,
                             const bl_samples_page *truth, const int *hit,
                             recovery_stats *rs)
{
    bl_box all = {0, 0, page->width, page->height};
    bl_image *c = bl_image_crop(page, all);
    bl_detect_remove_lines(c);
    bl_detect_region *r = NULL;
    int n = 0;
    if (bl_detect_candidates(c, &r, &n, NULL) == BL_OK)
        bl_detect_score(det, r, n);
    bl_box un[4][BL_SAMPLES_MAX_FIELDS];
    int has[4][BL_SAMPLES_MAX_FIELDS] = {{0}}, any[BL_SAMPLES_MAX_FIELDS] = {0};
    for (int i = 0; i < n; i++) {
        if (r[i].score >= 0.5f)
            continue;
        bl_box b = bl_detect_box_to_source(&work->to_source, work->src_width,
                                           work->src_height, r[i].box);
        for (int j = 0; j < truth->nfields; j++) {
            if (hit[j])
                continue;
            bl_box f = truth->fields[j].box;
            bl_box g = {f.x - 60, f.y - 60, f.w + 120, f.h + 120};
            double x0 = fmax(g.x, b.x), y0 = fmax(g.y, b.y);
            double x1 = fmin(g.x + g.w, b.x + b.w), y1 = fmin(g.y + g.h, b.y + b.h);
            double inside = fmax(0, x1 - x0) * fmax(0, y1 - y0);
            if (inside < 0.5 * (double)b.w * (double)b.h)
                continue;
            int t[4] = {r[i].rule_ok, r[i].score >= 0.2f, r[i].members == 1, 0};
            t[3] = t[0] || t[1] || t[2];
            rs->considered++;
            any[j] = 1;
            for (int k = 0; k < 4; k++) {
                if (!t[k])
                    continue;
                if (!has[k][j]) {
                    un[k][j] = b;
                } else {
                    bl_box u = un[k][j];
                    int ux = u.x < b.x ? u.x : b.x, uy = u.y < b.y ? u.y : b.y;
                    int ur = u.x + u.w > b.x + b.w ? u.x + u.w : b.x + b.w;
                    int ub = u.y + u.h > b.y + b.h ? u.y + u.h : b.y + b.h;
                    un[k][j] = (bl_box){ux, uy, ur - ux, ub - uy};
                }
                has[k][j] = 1;
            }
            break;
        }
    }
    for (int j = 0; j < truth->nfields; j++) {
        rs->fields += any[j];
        for (int k = 0; k < 4; k++)
            if (has[k][j]) {
                rs->taken[k]++;
                rs->taken_true[k] += bl_detgen_iou(un[k][j], truth->fields[j].box) >= 0.5;
            }
    }
    free(r);
    bl_image_destroy(&c);
}

static int layout_template(const bl_template_set *set, const char *layout)
{
    for (int i = 0; set && i < set->count; i++)
        if (strcmp(set->t[i].name, layout) == 0)
            return i;
    return -1;
}

int bl_cmd_eval_detect(int argc, char **argv)
{
    bl_detgen_opts o = {.pages = 200, .seed = 5001, .rotate = 0.1, .touching = 0.1,
                        .epochs = 1};
    int prc = bl_detgen_parse(argc, argv, "blotter eval detect", USAGE, &o);
    if (prc)
        return prc == 1 ? 0 : 2;
    /* One thread, as the stage processes run: the CPU per page is theirs,
     * not OpenBLAS's worker threads waiting on small products. */
    bl_nn_set_threads(1);
    bl_err err = {0};
    bl_detgen g;
    if (bl_detgen_open(&g, o.data, "test", o.config, &err) != BL_OK) {
        fprintf(stderr, "blotter eval detect: %s\n", err.msg);
        return 1;
    }
    g.gen.opt.rotate = o.rotate;
    g.gen.opt.touching = o.touching;
    const char *model = o.model ? (strcmp(o.model, "none") == 0 ? "" : o.model)
                                : g.conf.model[BL_STAGE_DETECT];
    bl_detect *det = bl_detect_new(model, &err);
    if (!det) {
        fprintf(stderr, "blotter eval detect: %s\n", err.msg);
        bl_detgen_close(&g);
        return 1;
    }
    bl_template_set *tset = NULL;
    if (bl_detgen_templates(&o, &g.conf, &tset, &err) != BL_OK) {
        fprintf(stderr, "blotter eval detect: %s\n", err.msg);
        bl_detect_destroy(&det);
        bl_detgen_close(&g);
        return 1;
    }
    /* Template identification: pages whose layout has a template (right,
     * wrong, missed), pages whose layout has none (wrongly matched);
     * naming: matched true fields on the former, right names. */
    long t_pages = 0, t_right = 0, t_wrong = 0, t_missed = 0, u_pages = 0, u_matched = 0;
    long name_fields = 0, name_right = 0, recovered = 0, recovered_true = 0;
    recovery_stats rs = {0};
    long true_fields = 0, found = 0, matched = 0, touching = 0, touching_found = 0;
    long by_style[4] = {0}, by_style_found[4] = {0};
    double iou_sum = 0;
    uint64_t cpu = 0;
    int status = 1;
    for (long k = 0; k < o.pages; k++) {
        bl_work *work = NULL;
        bl_samples_page truth;
        if (bl_detgen_page(&g, o.seed, (int)k, &work, &truth, &err)) {
            fprintf(stderr, "blotter eval detect: page %ld: %s\n", k, err.msg);
            goto done;
        }
        bl_detect_field *boxes = NULL;
        int n = 0;
        bl_template_match m;
        uint64_t t0 = bl_time_cpu_ns();
        int rc = bl_detect_run_named(det, tset, work->page, &boxes, &n, &m, &err);
        cpu += bl_time_cpu_ns() - t0;
        if (rc) {
            fprintf(stderr, "blotter eval detect: page %ld: %s\n", k, err.msg);
            bl_work_destroy(&work);
            goto done;
        }
        int want = layout_template(tset, truth.layout);
        if (want >= 0) {
            t_pages++;
            t_right += m.index == want;
            t_wrong += m.index >= 0 && m.index != want;
            t_missed += m.index < 0;
        } else {
            u_pages++;
            u_matched += m.index >= 0;
        }
        if (o.verbose && tset && (m.index >= 0 || want >= 0) && m.index != want)
            fprintf(stderr, "page %ld: layout %s taken for %s (score %.3f, shift %d,%d)\n", k,
                    truth.layout, m.index >= 0 ? tset->t[m.index].name : "none",
                    (double)m.score, m.dx, m.dy);
        bl_box *src = bl_xmalloc(sizeof *src * (size_t)(n + 1));
        for (int i = 0; i < n; i++)
            src[i] = bl_detect_box_to_source(&work->to_source, work->src_width,
                                             work->src_height, boxes[i].box);
        int *match = bl_xmalloc(sizeof *match * (size_t)(n + 1));
        double *iou = bl_xmalloc(sizeof *iou * (size_t)(n + 1));
        bl_detgen_match(src, n, &truth, match, iou);
        int hit[BL_SAMPLES_MAX_FIELDS] = {0};
        for (int i = 0; i < n; i++) {
            recovered += boxes[i].recovered;
            recovered_true += boxes[i].recovered && match[i] >= 0;
            if (match[i] >= 0) {
                hit[match[i]] = 1;
                matched++;
                iou_sum += iou[i];
                if (want >= 0) {
                    name_fields++;
                    name_right += strcmp(boxes[i].name, truth.fields[match[i]].name) == 0;
                }
            } else if (o.verbose) {
                fprintf(stderr, "page %ld: spurious [%d %d %d %d]\n", k, src[i].x, src[i].y,
                        src[i].w, src[i].h);
            }
        }
        for (int j = 0; j < truth.nfields; j++) {
            const bl_samples_field *f = &truth.fields[j];
            by_style[f->style]++;
            by_style_found[f->style] += hit[j];
            touching += f->touching;
            touching_found += f->touching && hit[j];
            if (!hit[j] && o.verbose)
                fprintf(stderr, "page %ld (rot %d): missed %s '%s' %s [%d %d %d %d]\n", k,
                        truth.rotation, f->name, f->value, bl_samples_style_name(f->style),
                        f->box.x, f->box.y, f->box.w, f->box.h);
        }
        if (o.recovery) {
            /* The page as ingest left it is gone (cleaned in place):
             * render it again. */
            bl_work *again = NULL;
            bl_samples_page t2;
            if (bl_detgen_page(&g, o.seed, (int)k, &again, &t2, &err) == BL_OK)
                measure_recovery(det, again->page, again, &t2, hit, &rs);
            bl_work_destroy(&again);
        }
        true_fields += truth.nfields;
        found += n;
        free(src);
        free(match);
        free(iou);
        free(boxes);
        bl_work_destroy(&work);
        if ((k + 1) % 20 == 0 || k + 1 == o.pages)
            fprintf(stderr, "\reval detect: %ld/%ld pages", k + 1, o.pages);
    }
    fprintf(stderr, "\n");
    printf("model: %s\n", bl_detect_model_id(det)[0] ? bl_detect_model_id(det) : "none (rules)");
    printf("pages: %ld, true fields: %ld, detected: %ld, matched: %ld\n", o.pages, true_fields,
           found, matched);
    printf("precision: %.4f\n", found ? (double)matched / (double)found : 0.0);
    printf("recall: %.4f\n", true_fields ? (double)matched / (double)true_fields : 0.0);
    printf("mean iou: %.4f\n", matched ? iou_sum / (double)matched : 0.0);
    printf("recall by style:");
    for (int s = 0; s < 4; s++)
        printf(" %s %.4f (%ld)", bl_samples_style_name((bl_samples_style)s),
               by_style[s] ? (double)by_style_found[s] / (double)by_style[s] : 0.0, by_style[s]);
    printf("\nrecall on touching fields: %.4f (%ld)\n",
           touching ? (double)touching_found / (double)touching : 0.0, touching);
    printf("cpu per page: %.1f ms\n", (double)cpu / 1e6 / (double)o.pages);
    printf("templates: %d", tset ? tset->count : 0);
    for (int i = 0; tset && i < tset->count; i++)
        printf("%s%s", i ? ", " : " (", tset->t[i].name);
    printf("%s\n", tset && tset->count ? ")" : "");
    printf("template pages: %ld, identified right: %ld, wrong: %ld, missed: %ld\n", t_pages,
           t_right, t_wrong, t_missed);
    printf("pages of layouts without a template: %ld, wrongly matched: %ld\n", u_pages,
           u_matched);
    printf("naming: %.4f (%ld of %ld matched true fields on template pages)\n",
           name_fields ? (double)name_right / (double)name_fields : 0.0, name_right,
           name_fields);
    printf("recovered in empty template fields: %ld, of them true fields: %ld\n", recovered,
           recovered_true);
    if (o.recovery) {
        static const char *const TEST[] = {"rules", "score >= 0.2", "one component",
                                           "any (detect's)"};
        printf("recovery proxy: %ld rejected candidates in the boxes (+60 px) of %ld missed "
               "true fields\n", rs.considered, rs.fields);
        for (int k = 0; k < 4; k++)
            printf("  %-15s takes candidates in %ld fields, the union right (IoU >= 0.5) in "
                   "%ld\n", TEST[k], rs.taken[k], rs.taken_true[k]);
    }
    status = 0;
done:
    bl_template_set_destroy(&tset);
    bl_detect_destroy(&det);
    bl_detgen_close(&g);
    return status;
}
