/*
 * bench_templates: CPU time of form template matching in detect, per page.
 *
 *   bench_templates --templates DIR [--repeat N] [--ingest-model F] FILE...
 *
 * Pages: every page of each FILE, normalised by ingest (bl_ingest_run,
 * with the orientation model F if given) as the pipeline does; and one
 * synthetic page per template of DIR (its lines drawn shifted by 23,-41
 * px on a blank 2480 x 3508 sheet, as tests/stages/detect draws them),
 * which that template matches. For each page, the best over N repeats
 * (default 5) of:
 *   match:   bl_template_match_page against every template of DIR, on the
 *            line pixels line removal erased;
 *   detect:  bl_detect_run_named without templates, and with DIR's
 *            (rules, no region model: the model's cost is the same in
 *            both);
 * printed as means per page. CPU time (CLOCK_PROCESS_CPUTIME_ID), not wall
 * time: the machine is shared. Commands and figures: docs/BENCHMARKS.md,
 * section "Form template matching".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detect/detect.h"
#include "detect/template.h"
#include "image/image.h"
#include "ingest/ingest.h"

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

typedef struct totals {
    double match, plain, named;
    int pages, matched;
} totals;

static bl_image *copy_of(const bl_image *page)
{
    bl_box all = {0, 0, page->width, page->height};
    return bl_image_crop(page, all);
}

static void bench_page(const bl_template_set *set, const bl_image *page, int repeat, totals *t)
{
    double best_match = 1e30, best_plain = 1e30, best_named = 1e30;
    int matched = 0;
    bl_err err = {0};
    for (int r = 0; r < repeat; r++) {
        bl_image *c = copy_of(page);
        bl_bitmap *lines = NULL;
        bl_detect_remove_lines_keep(c, &lines);
        bl_template_match m;
        double t0 = cpu_ms();
        bl_template_match_page(set, lines, &m);
        double t1 = cpu_ms();
        if (t1 - t0 < best_match)
            best_match = t1 - t0;
        matched = m.index >= 0;
        bl_bitmap_destroy(&lines);
        bl_image_destroy(&c);

        bl_detect_field *f = NULL;
        int n = 0;
        c = copy_of(page);
        t0 = cpu_ms();
        bl_detect_run_named(NULL, NULL, c, &f, &n, NULL, &err);
        t1 = cpu_ms();
        free(f);
        bl_image_destroy(&c);
        if (t1 - t0 < best_plain)
            best_plain = t1 - t0;

        c = copy_of(page);
        t0 = cpu_ms();
        bl_detect_run_named(NULL, set, c, &f, &n, NULL, &err);
        t1 = cpu_ms();
        free(f);
        bl_image_destroy(&c);
        if (t1 - t0 < best_named)
            best_named = t1 - t0;
    }
    t->match += best_match;
    t->plain += best_plain;
    t->named += best_named;
    t->pages++;
    t->matched += matched;
}

static void report(const char *what, const totals *t, int ntemplates)
{
    if (!t->pages)
        return;
    printf("%s: %d page(s), %d matched; match %.2f ms CPU per page (%.2f per template); "
           "detect %.2f ms without templates, %.2f with\n",
           what, t->pages, t->matched, t->match / t->pages, t->match / t->pages / ntemplates,
           t->plain / t->pages, t->named / t->pages);
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *ingest_model = NULL;
    int repeat = 5, first = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--templates") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--ingest-model") == 0 && i + 1 < argc)
            ingest_model = argv[++i];
        else {
            first = i;
            break;
        }
    }
    if (!dir || repeat < 1) {
        fprintf(stderr, "usage: bench_templates --templates DIR [--repeat N] "
                        "[--ingest-model F] FILE...\n");
        return 2;
    }
    bl_err err = {0};
    bl_template_set *set = NULL;
    if (bl_template_set_load(dir, &set, &err) != BL_OK || set->count == 0) {
        fprintf(stderr, "bench_templates: %s\n", set ? "no templates" : err.msg);
        return 1;
    }
    bl_ingest *norm = bl_ingest_new(ingest_model, &err);
    if (!norm) {
        fprintf(stderr, "bench_templates: %s\n", err.msg);
        return 1;
    }
    totals files = {0}, synth = {0};
    for (int i = first; i < argc; i++) {
        bl_scan *scan = bl_scan_open(argv[i], NULL, &err);
        if (!scan) {
            fprintf(stderr, "bench_templates: %s\n", err.msg);
            continue;
        }
        for (int p = 0; p < bl_scan_page_count(scan); p++) {
            bl_page_info info;
            bl_image *gray = bl_scan_read_page(scan, p, &info, &err);
            if (!gray) {
                fprintf(stderr, "bench_templates: %s\n", err.msg);
                continue;
            }
            bl_work *work = bl_work_new();
            if (bl_ingest_run(norm, gray, &info, work, NULL, &err) == BL_OK && work->page)
                bench_page(set, work->page, repeat, &files);
            else if (!work->page)
                fprintf(stderr, "bench_templates: %s page %d: blank or failed\n", argv[i], p);
            bl_work_destroy(&work);
            bl_image_destroy(&gray);
        }
        bl_scan_close(&scan);
    }
    for (int k = 0; k < set->count; k++) {
        const bl_template *t = &set->t[k];
        bl_image *page = bl_image_new(t->width, t->height);
        for (int i = 0; i < t->nlines; i++) {
            bl_box b = t->lines[i].box;
            for (int y = b.y - 41; y < b.y - 41 + b.h; y++)
                for (int x = b.x + 23; x < b.x + 23 + b.w; x++)
                    if (x >= 0 && y >= 0 && x < page->width && y < page->height)
                        BL_PIX(page, x, y) = 1;
        }
        bench_page(set, page, repeat, &synth);
        bl_image_destroy(&page);
    }
    printf("templates: %d from %s; best of %d runs per page\n", set->count, dir, repeat);
    report("scanned pages (FILE...)", &files, set->count);
    report("synthetic template pages", &synth, set->count);
    bl_ingest_destroy(&norm);
    bl_template_set_destroy(&set);
    return 0;
}
