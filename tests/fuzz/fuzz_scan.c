/*
 * fuzz_scan: the scan readers (TIFF through libtiff, PNG through libpng)
 * under arbitrary bytes.
 *
 * One input is one file: it is written to a private temporary file (the
 * readers take paths, as the stage does), opened with bl_scan_open and
 * every page is decoded; small pages also go through the ingest
 * normalisation, which must accept whatever a reader returns. Limits are
 * tightened (16 megapixels, 64 pages, 4 MiB) so a lying header is refused
 * by the limit checks instead of exhausting the fuzzer's memory, which is
 * the behaviour under test: sizes from the file are checked before
 * anything is allocated.
 *
 * Built two ways (tests/fuzz/CMakeLists.txt, scripts/fuzz.sh):
 *  - with clang -fsanitize=fuzzer,address: a libFuzzer target
 *    (LLVMFuzzerTestOneInput), run over tests/fuzz/corpus/tiff and
 *    corpus/png by scripts/fuzz.sh;
 *  - as a plain program (BL_FUZZ_REPLAY): replays every file of the
 *    directories or files named on its command line, as ctest does in the
 *    normal and sanitizer builds, so every corpus file and every crash
 *    once found stays a regression test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "ingest/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char tmp_path[64];

static void remove_tmp(void)
{
    if (tmp_path[0])
        unlink(tmp_path);
}

static int write_tmp(const uint8_t *data, size_t size)
{
    if (!tmp_path[0]) {
        bl_strlcpy(tmp_path, "/tmp/bl-fuzz-scan-XXXXXX", sizeof tmp_path);
        int fd = mkstemp(tmp_path);
        if (fd < 0) {
            tmp_path[0] = '\0';
            return -1;
        }
        close(fd);
        atexit(remove_tmp);
    }
    FILE *f = fopen(tmp_path, "wb");
    if (!f)
        return -1;
    size_t n = size ? fwrite(data, 1, size, f) : 0;
    int bad = fclose(f) != 0 || n != size;
    return bad ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (write_tmp(data, size) != 0)
        return 0;
    bl_image_limits limits = {
        .max_pixels = 16u << 20, .max_pages = 64, .max_file_bytes = 4u << 20};
    bl_err err = {0};
    bl_scan *scan = bl_scan_open(tmp_path, &limits, &err);
    if (!scan) {
        /* A refusal must say why. */
        if (!err.msg[0] || err.code >= 0)
            abort();
        return 0;
    }
    int pages = bl_scan_page_count(scan);
    for (int i = 0; i < pages; i++) {
        bl_page_info info;
        bl_image *img = bl_scan_read_page(scan, i, &info, &err);
        if (!img) {
            if (!err.msg[0] || err.code >= 0)
                abort();
            continue;
        }
        if (img->width <= 0 || img->height <= 0 || img->stride < img->width)
            abort();
        /* Touch every pixel: a short buffer shows up under ASan. */
        unsigned sum = 0;
        for (int y = 0; y < img->height; y++)
            for (int x = 0; x < img->width; x++)
                sum += BL_PIX(img, x, y);
        (void)sum;
        if ((uint64_t)img->width * (uint64_t)img->height <= 1u << 20) {
            bl_work *work = bl_work_new();
            bl_ingest_page(img, &info, work, &err);
            bl_work_destroy(&work);
        }
        bl_image_destroy(&img);
    }
    bl_scan_close(&scan);
    return 0;
}

#ifdef BL_FUZZ_REPLAY
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_scan: %s: cannot open\n", path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = bl_xmalloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = bl_xrealloc(buf, cap *= 2);
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "fuzz_scan: %s: no such file or directory\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            bad |= replay_file(argv[i]);
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d)
            return 1;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            bad |= replay_file(path);
            files++;
        }
        closedir(d);
    }
    printf("fuzz_scan: replayed %d files\n", files);
    return bad || files == 0;
}
#endif
