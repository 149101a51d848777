/*
 * bench_ingest: CPU time per page of scan ingest (decode + normalisation),
 * and peak memory while streaming a long multi-page file.
 *
 *   bench_ingest [--model F] [--repeat N] FILE...
 *       per file: the best over N repeats (default 7) of the CPU time to
 *       decode each page (bl_scan_read_page), normalise it (bl_ingest_run)
 *       and encode the message the stage sends (bl_msg_encode_work), per
 *       page, with the part spent in binarising and
 *       cleaning (bl_ingest_binarize_bits) shown separately;
 *       --fresh-memory: without bl_ingest_keep_memory (every page's
 *       buffers faulted in afresh), to show what the setting saves;
 *   bench_ingest --stream FILE [--model F]
 *       decodes, normalises and encodes every page once, one page in memory at a
 *       time as the stage does, and prints pages, CPU ms per page and the
 *       process's peak resident set (getrusage ru_maxrss);
 *   bench_ingest --make-multipage OUT N PAGE.tif
 *       writes page 0 of PAGE.tif N times into one G4 TIFF (for --stream).
 *
 * CPU time (CLOCK_PROCESS_CPUTIME_ID), not wall time, because the machine
 * is shared; OpenBLAS is pinned to one thread and freed page buffers are
 * kept for reuse (bl_ingest_keep_memory) as in the stage; run under
 * `taskset -c 0` for one core. Commands and figures: docs/BENCHMARKS.md,
 * section "Scan ingest".
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "image/image.h"
#include "ingest/ingest.h"

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int bench_file(bl_ingest *norm, const char *path, int repeat)
{
    bl_err err = {0};
    double best_total = 1e30, best_read = 0, best_bin = 0, best_enc = 0;
    int pages = 0;
    for (int r = 0; r < repeat; r++) {
        bl_scan *scan = bl_scan_open(path, NULL, &err);
        if (!scan) {
            fprintf(stderr, "bench_ingest: %s\n", err.msg);
            return 1;
        }
        pages = bl_scan_page_count(scan);
        double t_read = 0, t_bin = 0, t_total = 0, t_enc = 0;
        for (int i = 0; i < pages; i++) {
            bl_page_info info;
            double t0 = cpu_ms();
            bl_image *gray = bl_scan_read_page(scan, i, &info, &err);
            double t1 = cpu_ms();
            if (!gray) {
                fprintf(stderr, "bench_ingest: %s\n", err.msg);
                bl_scan_close(&scan);
                return 1;
            }
            bl_work *work = bl_work_new();
            if (bl_ingest_run(norm, gray, &info, work, NULL, &err) != BL_OK) {
                fprintf(stderr, "bench_ingest: %s: %s\n", path, err.msg);
                return 1;
            }
            double t_run = cpu_ms();
            /* The message the stage sends: the page bit-packed. */
            bl_msg_header hdr = {.type = BL_MSG_WORK};
            bl_frames frames = {0};
            if (bl_msg_encode_work(&hdr, work, &frames) != BL_OK) {
                fprintf(stderr, "bench_ingest: %s: cannot encode the page\n", path);
                return 1;
            }
            bl_frames_free(&frames);
            double t2 = cpu_ms();
            t_enc += t2 - t_run;
            bl_work_destroy(&work);
            /* The binarise-and-clean part alone, timed apart. */
            bl_bitmap *bin = NULL;
            double sx, sy, t3 = cpu_ms();
            bl_ingest_binarize_bits(gray, &info, &bin, &sx, &sy, NULL, &err);
            t_bin += cpu_ms() - t3;
            bl_bitmap_destroy(&bin);
            bl_image_destroy(&gray);
            t_read += t1 - t0;
            t_total += t2 - t0;
        }
        bl_scan_close(&scan);
        if (t_total < best_total) {
            best_total = t_total;
            best_read = t_read;
            best_bin = t_bin;
            best_enc = t_enc;
        }
    }
    printf("%s: %d page(s), best of %d: %.1f ms CPU per page (decode %.1f, binarise+clean "
           "%.1f, blank test+orientation+turn+deskew+unpack+hash %.1f, message encoding %.1f)\n",
           path, pages, repeat, best_total / pages, best_read / pages, best_bin / pages,
           (best_total - best_read - best_bin - best_enc) / pages, best_enc / pages);
    return 0;
}

static int stream(bl_ingest *norm, const char *path)
{
    bl_err err = {0};
    double t0 = cpu_ms();
    bl_scan *scan = bl_scan_open(path, NULL, &err);
    if (!scan) {
        fprintf(stderr, "bench_ingest: %s\n", err.msg);
        return 1;
    }
    int pages = bl_scan_page_count(scan);
    for (int i = 0; i < pages; i++) {
        bl_page_info info;
        bl_image *gray = bl_scan_read_page(scan, i, &info, &err);
        if (!gray) {
            fprintf(stderr, "bench_ingest: %s\n", err.msg);
            continue;
        }
        bl_work *work = bl_work_new();
        if (bl_ingest_run(norm, gray, &info, work, NULL, &err) == BL_OK) {
            bl_msg_header hdr = {.type = BL_MSG_WORK};
            bl_frames frames = {0};
            bl_msg_encode_work(&hdr, work, &frames);
            bl_frames_free(&frames);
        }
        bl_work_destroy(&work);
        bl_image_destroy(&gray);
    }
    bl_scan_close(&scan);
    double t = cpu_ms() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%s: %d pages streamed, %.1f ms CPU per page, peak RSS %.1f MiB\n", path, pages,
           t / pages, (double)ru.ru_maxrss / 1024.0);
    return 0;
}

static int make_multipage(const char *out, int n, const char *src)
{
    bl_err err = {0};
    bl_scan *scan = bl_scan_open(src, NULL, &err);
    if (!scan) {
        fprintf(stderr, "bench_ingest: %s\n", err.msg);
        return 1;
    }
    bl_page_info info;
    bl_image *gray = bl_scan_read_page(scan, 0, &info, &err);
    bl_scan_close(&scan);
    if (!gray) {
        fprintf(stderr, "bench_ingest: %s\n", err.msg);
        return 1;
    }
    bl_image *bin = bl_image_binarize(gray, 127);
    const bl_image **pages = bl_xmalloc((size_t)n * sizeof *pages);
    for (int i = 0; i < n; i++)
        pages[i] = bin;
    int rc = bl_image_write_tiff(pages, n, out, info.dpi_x, 1, &err);
    if (rc)
        fprintf(stderr, "bench_ingest: %s\n", err.msg);
    else
        printf("%s: %d G4 pages\n", out, n);
    free(pages);
    bl_image_destroy(&bin);
    bl_image_destroy(&gray);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    openblas_set_num_threads(1);
    const char *model = NULL;
    int repeat = 7, status = 0, files = 0, keep = 1;
    if (argc == 5 && strcmp(argv[1], "--make-multipage") == 0)
        return make_multipage(argv[2], atoi(argv[3]), argv[4]);
    const char *stream_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc)
            model = argv[++i];
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--stream") == 0 && i + 1 < argc)
            stream_path = argv[++i];
        else if (strcmp(argv[i], "--fresh-memory") == 0)
            keep = 0;
        else
            files++;
    }
    if (keep)
        bl_ingest_keep_memory(); /* as the stage does */
    if ((!files && !stream_path) || repeat < 1) {
        fprintf(stderr, "usage: bench_ingest [--model F] [--repeat N] [--fresh-memory] FILE...\n"
                        "       bench_ingest --stream FILE [--model F]\n"
                        "       bench_ingest --make-multipage OUT N PAGE.tif\n");
        return 2;
    }
    bl_err err = {0};
    bl_ingest *norm = bl_ingest_new(model, &err);
    if (!norm) {
        fprintf(stderr, "bench_ingest: %s\n", err.msg);
        return 1;
    }
    if (stream_path) {
        status = stream(norm, stream_path);
    } else {
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--model") == 0 || strcmp(argv[i], "--repeat") == 0) {
                i++;
                continue;
            }
            if (strcmp(argv[i], "--fresh-memory") == 0)
                continue;
            status |= bench_file(norm, argv[i], repeat);
        }
    }
    bl_ingest_destroy(&norm);
    return status;
}
