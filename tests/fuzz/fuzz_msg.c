/*
 * fuzz_msg: message decoding under arbitrary bytes, as a stage meets them
 * on its input socket.
 *
 * One input is one multipart message, cut into frames as msg_frames.h
 * says. Every decoder a stage or the front end runs gets it: the header,
 * the note decoder (FEED, EVENT, CONTROL) and the work decoder (a page
 * with its fields and digits), under tight limits (4 megapixels, 64
 * fields, 512 digits, 1 MiB frames) so that a lying size is refused by the
 * checks rather than exhausting the fuzzer's memory. What a decoder
 * accepts must survive a round trip: encoded again and decoded again it
 * gives the same bytes, and every pixel of its rasters can be read
 * (ASan catches a short buffer). A refusal must carry a negative code and
 * a reason.
 *
 * Built like fuzz_scan: as a libFuzzer target by scripts/fuzz.sh, and as
 * a plain program (BL_FUZZ_REPLAY) that ctest runs over corpus/msg.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "msg/msg.h"
#include "msg_frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_refusal(int rc, const bl_err *err)
{
    if (rc >= 0 || !err->msg[0])
        abort();
}

static int frames_equal(const bl_frames *a, const bl_frames *b)
{
    if (a->count != b->count)
        return 0;
    for (int i = 0; i < a->count; i++)
        if (a->frame[i].size != b->frame[i].size ||
            (a->frame[i].size &&
             memcmp(a->frame[i].data, b->frame[i].data, a->frame[i].size) != 0))
            return 0;
    return 1;
}

static unsigned touch(const bl_image *img)
{
    unsigned sum = 0;
    if (!img)
        return 0;
    if (img->width <= 0 || img->height <= 0 || img->stride < img->width)
        abort();
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++)
            sum += BL_PIX(img, x, y);
    return sum;
}

static void work_round_trip(const bl_msg_header *hdr, const bl_work *work,
                            const bl_msg_limits *limits)
{
    volatile unsigned sum = touch(work->page);
    for (uint32_t i = 0; i < work->field_count; i++) {
        const bl_work_field *f = &work->fields[i];
        if ((uint64_t)f->first_digit + f->digit_count > work->digit_count)
            abort();
        sum += touch(f->crop);
    }
    (void)sum;
    bl_frames once = {0}, twice = {0};
    bl_msg_header hdr2;
    bl_work *again = NULL;
    bl_err err = {0};
    if (bl_msg_encode_work(hdr, work, &once) != BL_OK)
        abort();
    if (bl_msg_decode_work(&once, limits, &hdr2, &again, &err) != BL_OK)
        abort(); /* what we send, we must read back */
    if (bl_msg_encode_work(&hdr2, again, &twice) != BL_OK || !frames_equal(&once, &twice))
        abort();
    bl_work_destroy(&again);
    bl_frames_free(&once);
    bl_frames_free(&twice);
}

static void note_round_trip(const bl_msg_header *hdr, const bl_note *note)
{
    bl_frames once = {0};
    bl_msg_header hdr2;
    static bl_note again;
    bl_err err = {0};
    if (bl_msg_encode_note(hdr, note, &once) != BL_OK)
        abort();
    if (bl_msg_decode_note(&once, &hdr2, &again, &err) != BL_OK ||
        hdr2.type != hdr->type || hdr2.doc_id != hdr->doc_id ||
        hdr2.page_index != hdr->page_index || strcmp(again.kind, note->kind) ||
        strcmp(again.path, note->path) || strcmp(again.batch, note->batch) ||
        strcmp(again.text, note->text) || memcmp(again.num, note->num, sizeof note->num))
        abort();
    bl_frames_free(&once);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bl_frames frames;
    fuzz_msg_split(data, size, &frames);
    bl_msg_limits limits = {.max_frame_bytes = 1u << 20, .max_fields = 64,
                            .max_digits = 512, .max_pixels = 4u << 20};
    bl_msg_header hdr;
    bl_err err = {0};
    int rc;
    if (frames.count >= 1) {
        rc = bl_msg_header_decode(&hdr, frames.frame[0].data,
                                  frames.frame[0].size, &err);
        if (rc != BL_OK)
            check_refusal(rc, &err);
    }

    static bl_note note;
    memset(&note, 0, sizeof note);
    memset(&err, 0, sizeof err);
    rc = bl_msg_decode_note(&frames, &hdr, &note, &err);
    if (rc == BL_OK)
        note_round_trip(&hdr, &note);
    else
        check_refusal(rc, &err);

    bl_work *work = NULL;
    memset(&err, 0, sizeof err);
    rc = bl_msg_decode_work(&frames, &limits, &hdr, &work, &err);
    if (rc == BL_OK) {
        if (!work)
            abort();
        work_round_trip(&hdr, work, &limits);
    } else {
        check_refusal(rc, &err);
        if (work)
            abort(); /* a refusal leaves nothing to free */
    }
    bl_work_destroy(&work);
    return 0;
}

#ifdef BL_FUZZ_REPLAY
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_msg: %s: cannot open\n", path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0, got;
    uint8_t *buf = bl_xmalloc(cap);
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
            fprintf(stderr, "fuzz_msg: %s: no such file or directory\n", argv[i]);
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
    printf("fuzz_msg: replayed %d files\n", files);
    return bad || files == 0;
}
#endif
