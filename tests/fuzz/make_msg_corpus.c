/*
 * make_msg_corpus: writes the seed corpus of fuzz_msg (tests/fuzz/corpus/
 * msg): real messages as each stage sends them (a FEED, events, control
 * commands, and a page after ingest, detect, segment and classify), and
 * broken ones made from them: cut short, with frames missing or extra, and
 * with sizes that claim far more than was sent. Rerun by hand to change
 * it (the output is kept in git):
 *
 *   fuzz_make_msg_corpus tests/fuzz/corpus/msg
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "msg/msg.h"
#include "msg_frames.h"

static const char *out_dir;

static void save(const char *name, const bl_frames *frames)
{
    size_t n;
    uint8_t *buf = fuzz_msg_join(frames, &n);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "make_msg_corpus: %s: cannot write\n", path);
        exit(1);
    }
    free(buf);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Saves the message, then broken versions of it. */
static void save_family(const char *name, const bl_frames *good)
{
    char n[256];
    save(name, good);
    bl_frames f = *good;
    /* Cut short: the last frame at half, then the frames one by one. */
    f.frame[f.count - 1].size /= 2;
    snprintf(n, sizeof n, "%s-last-frame-half", name);
    save(n, &f);
    for (int c = good->count - 1; c >= 1; c--) {
        f = *good;
        f.count = c;
        snprintf(n, sizeof n, "%s-frames-%d", name, c);
        save(n, &f);
    }
    /* One frame too many. */
    f = *good;
    if (f.count < BL_MSG_MAX_FRAMES) {
        f.frame[f.count] = f.frame[f.count - 1];
        f.count++;
        snprintf(n, sizeof n, "%s-extra-frame", name);
        save(n, &f);
    }
    /* The header cut, and a header of another version. */
    f = *good;
    f.frame[0].size = 40;
    snprintf(n, sizeof n, "%s-header-40", name);
    save(n, &f);
    f = *good;
    uint8_t hdr[BL_MSG_HEADER_SIZE];
    memcpy(hdr, good->frame[0].data, sizeof hdr);
    hdr[4] = 9;
    f.frame[0].data = hdr;
    snprintf(n, sizeof n, "%s-version-9", name);
    save(n, &f);
    /* The first length of frame 1 claims almost 4 GiB. */
    if (good->count > 1 && good->frame[1].size >= 4) {
        f = *good;
        uint8_t *one = malloc(good->frame[1].size);
        memcpy(one, good->frame[1].data, good->frame[1].size);
        put32(one, 0xfffffff0u);
        f.frame[1].data = one;
        snprintf(n, sizeof n, "%s-str-huge", name);
        save(n, &f);
        free(one);
    }
}

static void note(const char *name, bl_msg_type type, const char *kind,
                 const char *path, const char *batch, const char *text)
{
    bl_msg_header hdr = {.type = type, .doc_id = 7, .stage = BL_STAGE_INGEST,
                         .t_sent_ns = 1700000000000000000ull};
    static bl_note nt;
    memset(&nt, 0, sizeof nt);
    bl_strlcpy(nt.kind, kind, sizeof nt.kind);
    bl_strlcpy(nt.path, path, sizeof nt.path);
    bl_strlcpy(nt.batch, batch, sizeof nt.batch);
    bl_strlcpy(nt.text, text, sizeof nt.text);
    nt.num[0] = 3;
    nt.num[1] = -1;
    bl_frames frames = {0};
    if (bl_msg_encode_note(&hdr, &nt, &frames))
        exit(1);
    save_family(name, &frames);
    bl_frames_free(&frames);
}

static bl_image *ink(int w, int h, int gray)
{
    bl_image *img = bl_image_new(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            BL_PIX(img, x, y) = gray ? (uint8_t)((x * 7 + y * 13) & 255)
                                     : (uint8_t)(((x / 3 + y / 2) % 5) == 0);
    return img;
}

/* A page as it leaves `stage` (1 ingest .. 4 classify). */
static bl_work *page_after(int stage, int gray)
{
    bl_work *w = bl_work_new();
    bl_strlcpy(w->batch, "cards-1987", sizeof w->batch);
    bl_strlcpy(w->source_path, "/scans/box-3/card-0042.tif", sizeof w->source_path);
    w->page_count = 2;
    w->src_width = 2480;
    w->src_height = 3508;
    w->dpi_x = w->dpi_y = 300;
    w->to_source = (bl_transform){1, 0, 4, 0, 1, -2};
    w->skew_deg = 0.4;
    w->content_hash = 0x1234567890abcdefull;
    bl_strlcpy(w->model[BL_STAGE_INGEST], "ingest-orient@1a2b", BL_MODEL_ID_MAX);
    if (stage == 1) {
        w->page = ink(96, 64, gray);
        return w;
    }
    bl_strlcpy(w->model[BL_STAGE_DETECT], "detect-regions@3c4d", BL_MODEL_ID_MAX);
    for (int i = 0; i < 2; i++) {
        bl_image *crop = stage == 2 ? ink(30 + i, 12, gray) : NULL;
        bl_work_field *f = bl_work_add_field(
            w, i ? "case_number" : "date", (bl_box){10 + 40 * i, 20, 30 + i, 12},
            &crop);
        f->src_box = (bl_box){12 + 40 * i, 18, 31, 13};
        bl_strlcpy(f->rule, i ? "len=6;check=luhn" : "date=DDMMYYYY", BL_RULE_MAX);
        if (stage >= 3)
            for (int d = 0; d < 3; d++) {
                bl_work_digit *dg = bl_work_add_digit(
                    w, (uint32_t)i, (bl_box){10 + 40 * i + 9 * d, 20, 8, 12});
                for (int p = 0; p < BL_MNIST_PIXELS; p++)
                    dg->pixels[p] = (uint8_t)((p * (d + 3)) & 255);
                if (stage == 4) {
                    dg->cls = (d * 3 + i) % 10;
                    for (int c = 0; c < 10; c++)
                        dg->prob[c] = c == dg->cls ? 0.91f : 0.01f;
                }
            }
    }
    if (stage == 4)
        bl_strlcpy(w->model[BL_STAGE_CLASSIFY], "classify-cnn@5e6f", BL_MODEL_ID_MAX);
    return w;
}

static void work(const char *name, int stage, int gray)
{
    bl_work *w = page_after(stage, gray);
    bl_msg_header hdr = {.type = BL_MSG_WORK, .doc_id = 9, .page_index = 1,
                         .field_count = w->field_count, .stage = (uint32_t)stage};
    bl_frames frames = {0};
    if (bl_msg_encode_work(&hdr, w, &frames))
        exit(1);
    save_family(name, &frames);

    char n[256];
    bl_frames f = frames;
    uint8_t hdr_bytes[BL_MSG_HEADER_SIZE];
    /* The header claims a billion fields. */
    memcpy(hdr_bytes, frames.frame[0].data, sizeof hdr_bytes);
    put32(hdr_bytes + 28, 1000000000u);
    f.frame[0].data = hdr_bytes;
    snprintf(n, sizeof n, "%s-field-count-huge", name);
    save(n, &f);
    /* The meta frame's digit count (its last word) claims 4 G digits. */
    f = frames;
    uint8_t *meta = malloc(frames.frame[1].size);
    memcpy(meta, frames.frame[1].data, frames.frame[1].size);
    put32(meta + frames.frame[1].size - 4, 0xffffffffu);
    f.frame[1].data = meta;
    snprintf(n, sizeof n, "%s-digit-count-huge", name);
    save(n, &f);
    free(meta);
    /* A raster that claims 2^31-1 x 2^31-1 pixels. */
    int rf = frames.frame[2].size ? 2 : (frames.frame[4].size ? 4 : -1);
    if (rf > 0) {
        f = frames;
        uint8_t *r = malloc(frames.frame[rf].size);
        memcpy(r, frames.frame[rf].data, frames.frame[rf].size);
        size_t at = rf == 4 ? 4 : 0; /* crops start with their size */
        put32(r + at, 0x7fffffffu);
        put32(r + at + 4, 0x7fffffffu);
        f.frame[rf].data = r;
        snprintf(n, sizeof n, "%s-raster-huge", name);
        save(n, &f);
        free(r);
    }
    bl_frames_free(&frames);
    bl_work_destroy(&w);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_msg_corpus DIR\n");
        return 2;
    }
    out_dir = argv[1];
    mkdir(out_dir, 0755);
    note("feed", BL_MSG_FEED, "file", "/scans/box-3/card-0042.tif", "cards-1987", "");
    note("event-metrics", BL_MSG_EVENT, "metrics", "", "",
         "p50_ms=1.250 p95_ms=3.500 model=classify-cnn@5e6f");
    note("control-swap", BL_MSG_CONTROL, "swap", "/models/classify-new.blm", "",
         "classify");
    work("work-ingest", 1, 0);
    work("work-ingest-gray", 1, 1);
    work("work-detect", 2, 0);
    work("work-segment", 3, 0);
    work("work-classify", 4, 0);
    /* Nothing at all, and a lone empty frame. */
    bl_frames none = {0};
    save("empty", &none);
    bl_frames one = {.count = 1};
    save("one-empty-frame", &one);
    return 0;
}
