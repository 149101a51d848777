/*
 * msg: round trips of notes and work items, a table of malformed messages
 * that must each be refused with the right code and reason, seeded random
 * garbage that must never crash (run it under the sanitizer build), and
 * the ZeroMQ glue over a real inproc:// socket pair.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "msg/msg.h"

/* ---- Fixtures ------------------------------------------------------------ */

static uint64_t rng_state;

static uint32_t rnd(void)
{
    /* xorshift64*: deterministic across libcs, unlike rand(). */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static bl_image *image_random(int w, int h, int binary)
{
    bl_image *img = bl_image_new(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            BL_PIX(img, x, y) = (uint8_t)(binary ? rnd() & 1 : rnd() & 0xff);
    return img;
}

/* A page with a binarised raster, 3 fields with crops (two binarised, one
 * gray) and 7 digits: field 0 owns digits 0..2, field 1 digits 3..6,
 * field 2 none. */
static bl_work *work_sample(void)
{
    rng_state = 42;
    bl_work *w = bl_work_new();
    bl_strlcpy(w->batch, "1923-precinct-4", sizeof w->batch);
    bl_strlcpy(w->source_path, "scans/box 7/card-0012.tif", sizeof w->source_path);
    w->page_count = 3;
    w->src_width = 2480;
    w->src_height = 3508;
    w->dpi_x = 300;
    w->dpi_y = 299.5;
    w->to_source = (bl_transform){0.99, -0.02, 12.5, 0.02, 0.99, -7.25};
    w->rotation_deg = 90;
    w->skew_deg = -1.375;
    w->content_hash = 0xfeedfacecafebeefull;
    bl_strlcpy(w->model[BL_STAGE_INGEST], "orient-v3", sizeof w->model[0]);
    bl_strlcpy(w->model[BL_STAGE_CLASSIFY], "cnn-2026.11", sizeof w->model[0]);
    w->page = image_random(37, 23, 1);

    const int crop_w[3] = {10, 12, 9}, crop_h[3] = {7, 5, 9};
    const char *names[3] = {"date", "case_no", NULL};
    for (int i = 0; i < 3; i++) {
        bl_image *crop = image_random(crop_w[i], crop_h[i], i != 1);
        bl_box box = {100 * i, 50 + i, crop_w[i], crop_h[i]};
        bl_work_field *f = bl_work_add_field(w, names[i], box, &crop);
        cr_assert_null(crop, "ownership moved");
        f->src_box = (bl_box){-3, 2 * i, 11, 8};
        if (i == 0)
            bl_strlcpy(f->rule, "len=8;date=DDMMYYYY", sizeof f->rule);
    }
    for (int i = 0; i < 7; i++) {
        bl_work_digit *d = bl_work_add_digit(w, i < 3 ? 0 : 1,
                                             (bl_box){i * 20, 5, 18, 26});
        cr_assert_eq(d->cls, -1);
        d->cls = i == 5 ? -1 : i;
        for (int k = 0; k < 10; k++)
            d->prob[k] = (float)(rnd() % 1000) / 1000.0f;
        for (int p = 0; p < BL_MNIST_PIXELS; p++)
            d->pixels[p] = (uint8_t)rnd();
    }
    return w;
}

static bl_msg_header header_sample(void)
{
    bl_msg_header h = {0};
    h.type = BL_MSG_WORK;
    h.batch_id = 77;
    h.doc_id = 0x123456789abcull;
    h.page_index = 2;
    h.t_origin_ns = 1764406201123000000ull;
    h.t_sent_ns = 1764406202000000001ull;
    h.stage = BL_STAGE_DETECT;
    h.flags = 5;
    return h;
}

static void assert_image_eq(const bl_image *a, const bl_image *b, const char *what)
{
    cr_assert_not_null(a, "%s", what);
    cr_assert_not_null(b, "%s", what);
    cr_assert_eq(a->width, b->width, "%s width", what);
    cr_assert_eq(a->height, b->height, "%s height", what);
    for (int y = 0; y < a->height; y++)
        for (int x = 0; x < a->width; x++)
            cr_assert_eq(BL_PIX(a, x, y), BL_PIX(b, x, y), "%s pixel %d,%d", what,
                         x, y);
}

static void assert_box_eq(bl_box a, bl_box b)
{
    cr_assert(a.x == b.x && a.y == b.y && a.w == b.w && a.h == b.h,
              "box %d,%d %dx%d vs %d,%d %dx%d", a.x, a.y, a.w, a.h, b.x, b.y,
              b.w, b.h);
}

static void assert_work_eq(const bl_work *a, const bl_work *b)
{
    cr_assert_str_eq(a->batch, b->batch);
    cr_assert_str_eq(a->source_path, b->source_path);
    cr_assert_eq(a->page_count, b->page_count);
    cr_assert_eq(a->src_width, b->src_width);
    cr_assert_eq(a->src_height, b->src_height);
    cr_assert_eq(a->dpi_x, b->dpi_x);
    cr_assert_eq(a->dpi_y, b->dpi_y);
    cr_assert_eq(memcmp(&a->to_source, &b->to_source, sizeof a->to_source), 0);
    cr_assert_eq(a->rotation_deg, b->rotation_deg);
    cr_assert_eq(a->skew_deg, b->skew_deg);
    cr_assert_eq(a->content_hash, b->content_hash);
    for (int s = 0; s < BL_STAGE_COUNT; s++)
        cr_assert_str_eq(a->model[s], b->model[s]);
    if (a->page || b->page)
        assert_image_eq(a->page, b->page, "page");
    cr_assert_eq(a->field_count, b->field_count);
    for (uint32_t i = 0; i < a->field_count; i++) {
        const bl_work_field *fa = &a->fields[i], *fb = &b->fields[i];
        cr_assert_str_eq(fa->name, fb->name);
        cr_assert_str_eq(fa->rule, fb->rule);
        assert_box_eq(fa->box, fb->box);
        assert_box_eq(fa->src_box, fb->src_box);
        cr_assert_eq(fa->first_digit, fb->first_digit);
        cr_assert_eq(fa->digit_count, fb->digit_count);
        cr_assert_eq(!fa->crop, !fb->crop);
        if (fa->crop)
            assert_image_eq(fa->crop, fb->crop, fa->name);
    }
    cr_assert_eq(a->digit_count, b->digit_count);
    for (uint32_t i = 0; i < a->digit_count; i++) {
        const bl_work_digit *da = &a->digits[i], *db = &b->digits[i];
        assert_box_eq(da->box, db->box);
        cr_assert_eq(da->cls, db->cls);
        for (int k = 0; k < 10; k++)
            cr_assert_eq(da->prob[k], db->prob[k], "digit %u prob %d", i, k);
        cr_assert_eq(memcmp(da->pixels, db->pixels, BL_MNIST_PIXELS), 0);
    }
}

static void assert_header_eq(const bl_msg_header *a, const bl_msg_header *b)
{
    cr_assert_eq(a->type, b->type);
    cr_assert_eq(a->batch_id, b->batch_id);
    cr_assert_eq(a->doc_id, b->doc_id);
    cr_assert_eq(a->page_index, b->page_index);
    cr_assert_eq(a->t_origin_ns, b->t_origin_ns);
    cr_assert_eq(a->t_sent_ns, b->t_sent_ns);
    cr_assert_eq(a->stage, b->stage);
    cr_assert_eq(a->flags, b->flags);
}

static bl_note note_sample(void)
{
    bl_note n;
    memset(&n, 0, sizeof n);
    bl_strlcpy(n.kind, "page-stored", sizeof n.kind);
    bl_strlcpy(n.path, "scans/a.tif", sizeof n.path);
    bl_strlcpy(n.batch, "b1", sizeof n.batch);
    bl_strlcpy(n.text, "fields=3 flagged=1", sizeof n.text);
    n.num[0] = -1;
    n.num[1] = INT64_MAX;
    n.num[2] = INT64_MIN;
    n.num[3] = 42;
    return n;
}

/* ---- Names, limits, building ---------------------------------------------- */

Test(msg, stage_names_round_trip)
{
    for (int s = 0; s < BL_STAGE_COUNT; s++)
        cr_assert_eq(bl_stage_from_name(bl_stage_name((bl_stage_id)s)), s);
    cr_assert_str_eq(bl_stage_name(BL_STAGE_CLASSIFY), "classify");
    cr_assert_eq(bl_stage_from_name("nope"), -1);
    cr_assert_eq(bl_stage_from_name(NULL), -1);
}

Test(msg, limits_defaults)
{
    bl_msg_limits l;
    bl_msg_limits_default(&l);
    cr_assert_eq(l.max_frame_bytes, (size_t)256 << 20);
    cr_assert_eq(l.max_fields, 256);
    cr_assert_eq(l.max_digits, 4096);
    cr_assert_eq(l.max_pixels, 100000000u);
}

Test(msg, builder_keeps_digits_contiguous)
{
    bl_work *w = work_sample();
    cr_assert_eq(w->field_count, 3);
    cr_assert_eq(w->digit_count, 7);
    cr_assert_eq(w->fields[0].first_digit, 0);
    cr_assert_eq(w->fields[0].digit_count, 3);
    cr_assert_eq(w->fields[1].first_digit, 3);
    cr_assert_eq(w->fields[1].digit_count, 4);
    cr_assert_eq(w->fields[2].digit_count, 0);
    cr_assert_str_eq(w->fields[2].name, "field_2", "unnamed fields get field_N");
    bl_work_destroy(&w);
    cr_assert_null(w);
    bl_work_destroy(&w);
}

/* ---- Round trips ----------------------------------------------------------- */

Test(msg, note_round_trip)
{
    bl_msg_header h = {0}, got;
    h.type = BL_MSG_EVENT;
    h.stage = BL_STAGE_WRITE;
    h.batch_id = 9;
    h.t_sent_ns = 123;
    bl_note n = note_sample(), m;
    bl_frames fr = {0};
    cr_assert_eq(bl_msg_encode_note(&h, &n, &fr), BL_OK);
    cr_assert_eq(fr.count, 2);
    cr_assert_eq(fr.frame[0].size, BL_MSG_HEADER_SIZE);
    bl_err err = {0};
    cr_assert_eq(bl_msg_decode_note(&fr, &got, &m, &err), BL_OK, "%s", err.msg);
    assert_header_eq(&h, &got);
    cr_assert_eq(got.magic, BL_MSG_MAGIC);
    cr_assert_eq(got.version, BL_MSG_VERSION);
    cr_assert_str_eq(m.kind, n.kind);
    cr_assert_str_eq(m.path, n.path);
    cr_assert_str_eq(m.batch, n.batch);
    cr_assert_str_eq(m.text, n.text);
    cr_assert_eq(memcmp(m.num, n.num, sizeof n.num), 0);
    bl_frames_free(&fr);
    cr_assert_eq(fr.count, 0);
}

Test(msg, note_with_longest_strings_round_trips)
{
    bl_msg_header h = {.type = BL_MSG_FEED};
    bl_note n, m;
    memset(&n, 'a', sizeof n);
    n.kind[sizeof n.kind - 1] = n.path[sizeof n.path - 1] = '\0';
    n.batch[sizeof n.batch - 1] = n.text[sizeof n.text - 1] = '\0';
    bl_frames fr = {0};
    cr_assert_eq(bl_msg_encode_note(&h, &n, &fr), BL_OK);
    cr_assert_eq(bl_msg_decode_note(&fr, &h, &m, NULL), BL_OK);
    cr_assert_eq(strlen(m.path), BL_NOTE_TEXT_MAX - 1);
    cr_assert_eq(strlen(m.kind), sizeof m.kind - 1);
    bl_frames_free(&fr);
}

Test(msg, note_encode_refuses_unterminated_string)
{
    bl_msg_header h = {.type = BL_MSG_CONTROL};
    bl_note n = note_sample();
    memset(n.kind, 'k', sizeof n.kind);
    bl_frames fr = {0};
    cr_assert_eq(bl_msg_encode_note(&h, &n, &fr), BL_EINVAL);
    cr_assert_eq(fr.count, 0);
}

Test(msg, work_round_trip)
{
    bl_work *w = work_sample(), *got = NULL;
    bl_msg_header h = header_sample(), gh;
    h.type = 0; /* encode sets it */
    bl_frames fr = {0};
    cr_assert_eq(bl_msg_encode_work(&h, w, &fr), BL_OK);
    cr_assert_eq(fr.count, 7);
    /* The binarised page travels bit-packed: 37 px -> 5 bytes per row. */
    cr_assert_eq(fr.frame[2].size, 16 + 5 * 23);
    cr_assert_eq(bl_get_u32(fr.frame[2].data + 8), 1, "depth 1");
    cr_assert_eq(fr.frame[6].size, 7 * BL_MNIST_PIXELS);

    bl_err err = {0};
    cr_assert_eq(bl_msg_decode_work(&fr, NULL, &gh, &got, &err), BL_OK, "%s",
                 err.msg);
    h.type = BL_MSG_WORK;
    assert_header_eq(&h, &gh);
    cr_assert_eq(gh.field_count, 3);
    assert_work_eq(w, got);
    bl_frames_free(&fr);
    bl_work_destroy(&w);
    bl_work_destroy(&got);
}

Test(msg, work_gray_page_and_empty_work_round_trip)
{
    bl_work *w = bl_work_new(), *got = NULL;
    bl_msg_header h = header_sample(), gh;
    bl_frames fr = {0};
    cr_assert_eq(bl_msg_encode_work(&h, w, &fr), BL_OK);
    cr_assert_eq(fr.frame[2].size, 0, "no page: empty frame");
    cr_assert_eq(bl_msg_decode_work(&fr, NULL, &gh, &got, NULL), BL_OK);
    assert_work_eq(w, got);
    cr_assert_null(got->page);
    bl_frames_free(&fr);
    bl_work_destroy(&got);

    rng_state = 7;
    w->page = image_random(13, 4, 0);
    BL_PIX(w->page, 0, 0) = 200; /* surely gray */
    cr_assert_eq(bl_msg_encode_work(&h, w, &fr), BL_OK);
    cr_assert_eq(bl_get_u32(fr.frame[2].data + 8), 8, "gray stays 8-bit");
    cr_assert_eq(bl_msg_decode_work(&fr, NULL, &gh, &got, NULL), BL_OK);
    assert_work_eq(w, got);
    bl_frames_free(&fr);
    bl_work_destroy(&got);
    bl_work_destroy(&w);
}

Test(msg, decoded_work_can_grow)
{
    bl_work *w = work_sample(), *got = NULL;
    bl_msg_header h = header_sample(), gh;
    bl_frames fr = {0};
    cr_assert_eq(bl_msg_encode_work(&h, w, &fr), BL_OK);
    cr_assert_eq(bl_msg_decode_work(&fr, NULL, &gh, &got, NULL), BL_OK);
    /* Field 1's digits end the array, so it may take more; field 2 has
     * none yet. The arrays must grow without overrunning (ASan). */
    for (int i = 0; i < 20; i++)
        bl_work_add_digit(got, 1, (bl_box){i, 0, 1, 1});
    for (int i = 0; i < 5; i++)
        bl_work_add_digit(got, 2, (bl_box){i, 0, 1, 1});
    for (int i = 0; i < 10; i++)
        bl_work_add_field(got, NULL, (bl_box){0, 0, 1, 1}, NULL);
    cr_assert_eq(got->digit_count, 32);
    cr_assert_eq(got->fields[1].digit_count, 24);
    cr_assert_eq(got->fields[2].first_digit, 27);
    cr_assert_eq(got->field_count, 13);
    cr_assert_str_eq(got->fields[12].name, "field_12");
    bl_frames_free(&fr);
    bl_work_destroy(&w);
    bl_work_destroy(&got);
}

/* ---- Malformed messages ------------------------------------------------------ */

/* Frame helpers for the mutations: replace a frame's size or bytes. */
static void frame_cut(bl_frames *fr, int i, size_t size)
{
    cr_assert(size <= fr->frame[i].size);
    fr->frame[i].size = size;
}

static void frame_set(bl_frames *fr, int i, const void *data, size_t size)
{
    free(fr->frame[i].data);
    fr->frame[i].data = malloc(size ? size : 1);
    memcpy(fr->frame[i].data, data, size);
    fr->frame[i].size = size;
}

/* Offsets into the sample's frames (see the layout in msg.c). Field 0 is
 * named "date" with the rule "len=8;date=DDMMYYYY": 4 + 4 name bytes,
 * 4 + 19 rule bytes, two boxes, then first_digit. */
#define F0_RULE (4 + 4)
#define F0_FIRST_DIGIT (F0_RULE + 4 + 19 + 32)
#define F0_HAS_CROP (F0_FIRST_DIGIT + 8)
#define D2_CLS (2 * 60 + 16)

static void m_no_frames(bl_frames *fr) { bl_frames_free(fr); }
static void m_bad_magic(bl_frames *fr) { fr->frame[0].data[0] ^= 0xff; }
static void m_future_version(bl_frames *fr) { bl_put_u16(fr->frame[0].data + 4, BL_MSG_VERSION + 1); }
static void m_unknown_type(bl_frames *fr) { bl_put_u16(fr->frame[0].data + 6, 9); }
static void m_note_type(bl_frames *fr) { bl_put_u16(fr->frame[0].data + 6, BL_MSG_EVENT); }
static void m_unknown_stage(bl_frames *fr) { bl_put_u32(fr->frame[0].data + 48, 6); }
static void m_long_header(bl_frames *fr)
{
    uint8_t b[65] = {0};
    memcpy(b, fr->frame[0].data, 64);
    frame_set(fr, 0, b, sizeof b);
}
static void m_six_frames(bl_frames *fr)
{
    free(fr->frame[6].data);
    fr->frame[6].data = NULL;
    fr->count = 6;
}
static void m_eight_frames(bl_frames *fr)
{
    fr->frame[7].data = NULL;
    fr->frame[7].size = 0;
    fr->count = 8;
}
static void m_truncated_meta(bl_frames *fr) { frame_cut(fr, 1, fr->frame[1].size - 10); }
static void m_meta_left_over(bl_frames *fr)
{
    uint8_t b[1024];
    size_t n = fr->frame[1].size;
    memcpy(b, fr->frame[1].data, n);
    b[n] = 0;
    frame_set(fr, 1, b, n + 1);
}
static void m_meta_long_batch(bl_frames *fr) { bl_put_u32(fr->frame[1].data, 256); }
static void m_meta_huge_string(bl_frames *fr) { bl_put_u32(fr->frame[1].data + 4 + 15, 0xfffffff0u); }
static void m_meta_nul_in_batch(bl_frames *fr) { fr->frame[1].data[4 + 3] = 0; }
static void m_fields_table_short(bl_frames *fr) { frame_cut(fr, 3, 12); }
static void m_fields_table_cut(bl_frames *fr) { frame_cut(fr, 3, fr->frame[3].size - 3); }
static void m_field_count_over_limit(bl_frames *fr) { bl_put_u32(fr->frame[0].data + 28, 1000); }
static void m_field_count_low(bl_frames *fr) { bl_put_u32(fr->frame[0].data + 28, 2); }
static void m_digit_range(bl_frames *fr) { bl_put_u32(fr->frame[3].data + F0_FIRST_DIGIT, 6); }
static void m_digit_range_wraps(bl_frames *fr)
{
    bl_put_u32(fr->frame[3].data + F0_FIRST_DIGIT, 0xffffffffu);
}
static void m_field_name_nul(bl_frames *fr) { fr->frame[3].data[5] = 0; }
static void m_field_name_long(bl_frames *fr) { bl_put_u32(fr->frame[3].data, 64); }
static void m_field_rule_long(bl_frames *fr) { bl_put_u32(fr->frame[3].data + F0_RULE, 128); }
static void m_negative_box(bl_frames *fr) { bl_put_u32(fr->frame[3].data + F0_RULE + 4 + 19 + 8, (uint32_t)-5); }
static void m_crop_flag(bl_frames *fr) { bl_put_u32(fr->frame[3].data + F0_HAS_CROP, 2); }
static void m_crops_short(bl_frames *fr) { frame_cut(fr, 4, fr->frame[4].size - 1); }
static void m_crop_size_huge(bl_frames *fr) { bl_put_u32(fr->frame[4].data, 0x7fffffffu); }
static void m_raster_pixels(bl_frames *fr)
{
    bl_put_u32(fr->frame[2].data, 100000);
    bl_put_u32(fr->frame[2].data + 4, 100000);
}
static void m_raster_zero_width(bl_frames *fr) { bl_put_u32(fr->frame[2].data, 0); }
static void m_raster_huge_height(bl_frames *fr) { bl_put_u32(fr->frame[2].data + 4, 0x80000000u); }
static void m_raster_stride(bl_frames *fr) { bl_put_u32(fr->frame[2].data + 12, 6); }
static void m_raster_size(bl_frames *fr) { frame_cut(fr, 2, fr->frame[2].size - 1); }
static void m_raster_header(bl_frames *fr) { frame_cut(fr, 2, 15); }
static void m_raster_depth(bl_frames *fr) { bl_put_u32(fr->frame[2].data + 8, 3); }
static void m_cls(bl_frames *fr) { bl_put_u32(fr->frame[5].data + D2_CLS, 12); }
static void m_cls_negative(bl_frames *fr) { bl_put_u32(fr->frame[5].data + D2_CLS, (uint32_t)-2); }
static void m_digits_table_len(bl_frames *fr) { frame_cut(fr, 5, 6 * 60); }
static void m_digit_pixels_len(bl_frames *fr) { frame_cut(fr, 6, 7 * 784 - 1); }
static void m_digit_count_over_limit(bl_frames *fr)
{
    bl_put_u32(fr->frame[1].data + fr->frame[1].size - 4, 5000);
}
static void m_digit_count_huge(bl_frames *fr)
{
    bl_put_u32(fr->frame[1].data + fr->frame[1].size - 4, 0xffffffffu);
}
static void m_nothing(bl_frames *fr) { (void)fr; }

typedef struct bad_case {
    const char *name;
    void (*mutate)(bl_frames *);
    int code;
    const char *reason;       /* expected in the message */
    size_t max_frame_bytes;   /* 0 = default limits */
} bad_case;

/* Criterion runs each parameter in a fresh worker, which may not share this
 * process's address layout: the parameters are plain case numbers and the
 * table (with its pointers) stays here. */
static const bad_case bad_cases[] = {
    {"empty frame list", m_no_frames, BL_EFORMAT, "no frames", 0},
    {"bad magic", m_bad_magic, BL_EFORMAT, "bad magic", 0},
    {"future version", m_future_version, BL_EFORMAT, "version 3", 0},
    {"unknown type", m_unknown_type, BL_EFORMAT, "unknown type 9", 0},
    {"note type", m_note_type, BL_EFORMAT, "not a work message", 0},
    {"unknown stage", m_unknown_stage, BL_EFORMAT, "unknown stage 6", 0},
    {"65-byte header", m_long_header, BL_EFORMAT, "65 bytes", 0},
    {"six frames", m_six_frames, BL_EFORMAT, "6 frames (expected 7)", 0},
    {"eight frames", m_eight_frames, BL_EFORMAT, "8 frames (expected 7)", 0},
    {"truncated meta", m_truncated_meta, BL_EFORMAT, "meta", 0},
    {"meta left over", m_meta_left_over, BL_EFORMAT, "meta: 1 bytes left over", 0},
    {"meta long batch", m_meta_long_batch, BL_EFORMAT, "meta: batch: 256 bytes", 0},
    {"meta huge string", m_meta_huge_string, BL_EFORMAT, "source path", 0},
    {"meta NUL", m_meta_nul_in_batch, BL_EFORMAT, "embedded NUL", 0},
    {"fields table short", m_fields_table_short, BL_EFORMAT,
     "fields table: 12 bytes for 3 fields", 0},
    {"fields table cut", m_fields_table_cut, BL_EFORMAT, "field 2", 0},
    {"field count over limit", m_field_count_over_limit, BL_ELIMIT,
     "1000 fields, above the limit of 256", 0},
    {"field count low", m_field_count_low, BL_EFORMAT, "left over", 0},
    {"digit range", m_digit_range, BL_EFORMAT, "digits 6+3 beyond the 7", 0},
    {"digit range wraps", m_digit_range_wraps, BL_EFORMAT, "beyond", 0},
    {"field name NUL", m_field_name_nul, BL_EFORMAT, "embedded NUL", 0},
    {"field name long", m_field_name_long, BL_EFORMAT, "name: 64 bytes", 0},
    {"field rule long", m_field_rule_long, BL_EFORMAT, "rule: 128 bytes", 0},
    {"negative box", m_negative_box, BL_EFORMAT, "negative size", 0},
    {"crop flag", m_crop_flag, BL_EFORMAT, "crop flag 2", 0},
    {"crops short", m_crops_short, BL_EFORMAT, "field crops", 0},
    {"crop size huge", m_crop_size_huge, BL_EFORMAT, "field crops: field 0", 0},
    {"raster pixels", m_raster_pixels, BL_ELIMIT, "above the limit", 0},
    {"raster zero width", m_raster_zero_width, BL_EFORMAT, "bad size 0x23", 0},
    {"raster huge height", m_raster_huge_height, BL_EFORMAT, "bad size", 0},
    {"raster stride", m_raster_stride, BL_EFORMAT, "stride 6 for width 37", 0},
    {"raster size", m_raster_size, BL_EFORMAT, "data bytes", 0},
    {"raster header", m_raster_header, BL_EFORMAT, "raster header", 0},
    {"depth 3", m_raster_depth, BL_EFORMAT, "depth 3", 0},
    {"cls 12", m_cls, BL_EFORMAT, "class 12", 0},
    {"cls -2", m_cls_negative, BL_EFORMAT, "class -2", 0},
    {"digits table length", m_digits_table_len, BL_EFORMAT,
     "digits table: 360 bytes for 7 digits", 0},
    {"digit pixels length", m_digit_pixels_len, BL_EFORMAT, "digit pixels", 0},
    {"digit count over limit", m_digit_count_over_limit, BL_ELIMIT,
     "5000 digits", 0},
    {"digit count huge", m_digit_count_huge, BL_ELIMIT, "digits", 0},
    {"oversized frame", m_nothing, BL_ELIMIT, "frame 6: 5488 bytes", 5000},
};
#define BAD_CASES ((int)(sizeof bad_cases / sizeof bad_cases[0]))

ParameterizedTestParameters(msg, rejects_malformed_work)
{
    static int index[BAD_CASES];
    for (int i = 0; i < BAD_CASES; i++)
        index[i] = i;
    return cr_make_param_array(int, index, BAD_CASES);
}

ParameterizedTest(int *ci, msg, rejects_malformed_work)
{
    const bad_case *c = &bad_cases[*ci];
    bl_work *w = work_sample(), *got = (bl_work *)&got;
    bl_msg_header h = header_sample(), gh;
    bl_frames fr = {0};
    cr_assert_eq(bl_msg_encode_work(&h, w, &fr), BL_OK);
    c->mutate(&fr);
    bl_msg_limits lim;
    bl_msg_limits_default(&lim);
    if (c->max_frame_bytes)
        lim.max_frame_bytes = c->max_frame_bytes;
    bl_err err = {0};
    int rc = bl_msg_decode_work(&fr, &lim, &gh, &got, &err);
    cr_assert_eq(rc, c->code, "%s: rc %d (%s)", c->name, rc, err.msg);
    cr_assert_eq(err.code, c->code, "%s", c->name);
    cr_assert_null(got, "%s: no work on failure", c->name);
    cr_assert(strstr(err.msg, c->reason), "%s: '%s' lacks '%s'", c->name,
              err.msg, c->reason);
    cr_assert_eq(strncmp(err.msg, "work message: ", 14), 0, "%s", err.msg);
    bl_frames_free(&fr);
    bl_work_destroy(&w);
}

Test(msg, rejects_every_truncated_header)
{
    bl_msg_header h = {.type = BL_MSG_EVENT}, got;
    uint8_t full[BL_MSG_HEADER_SIZE];
    bl_msg_header_encode(&h, full);
    cr_assert_eq(bl_msg_header_decode(&got, full, sizeof full, NULL), BL_OK);
    for (size_t n = 0; n < BL_MSG_HEADER_SIZE; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact size, so ASan sees overreads */
        memcpy(copy, full, n);
        bl_err err = {0};
        cr_assert_eq(bl_msg_header_decode(&got, copy, n, &err), BL_EFORMAT,
                     "length %zu", n);
        cr_assert(strstr(err.msg, "expected 64"), "%s", err.msg);

        bl_frames fr = {.count = 2};
        bl_note note;
        fr.frame[0] = (bl_frame){copy, n};
        cr_assert_eq(bl_msg_decode_note(&fr, &got, &note, NULL), BL_EFORMAT);
        free(copy);
    }
}

static void note_frames(bl_frames *fr)
{
    bl_msg_header h = {.type = BL_MSG_FEED};
    bl_note n = note_sample();
    cr_assert_eq(bl_msg_encode_note(&h, &n, fr), BL_OK);
}

Test(msg, rejects_malformed_notes)
{
    bl_frames fr = {0};
    bl_note note;
    bl_msg_header h;
    bl_err err = {0};

    note_frames(&fr); /* kind too long for its field */
    bl_put_u32(fr.frame[1].data, 32);
    cr_assert_eq(bl_msg_decode_note(&fr, &h, &note, &err), BL_EFORMAT);
    cr_assert(strstr(err.msg, "note message: kind: 32 bytes"), "%s", err.msg);
    bl_frames_free(&fr);

    note_frames(&fr); /* NUL inside the kind */
    fr.frame[1].data[6] = 0;
    cr_assert_eq(bl_msg_decode_note(&fr, &h, &note, &err), BL_EFORMAT);
    cr_assert(strstr(err.msg, "embedded NUL"), "%s", err.msg);
    bl_frames_free(&fr);

    note_frames(&fr); /* numbers cut short */
    fr.frame[1].size -= 1;
    cr_assert_eq(bl_msg_decode_note(&fr, &h, &note, &err), BL_EFORMAT);
    cr_assert(strstr(err.msg, "numbers: truncated"), "%s", err.msg);
    fr.frame[1].size += 1;
    bl_frames_free(&fr);

    note_frames(&fr); /* a third frame */
    fr.frame[2] = (bl_frame){NULL, 0};
    fr.count = 3;
    cr_assert_eq(bl_msg_decode_note(&fr, &h, &note, &err), BL_EFORMAT);
    cr_assert(strstr(err.msg, "3 frames (expected 2)"), "%s", err.msg);
    bl_frames_free(&fr);

    note_frames(&fr); /* a work header */
    bl_put_u16(fr.frame[0].data + 6, BL_MSG_WORK);
    cr_assert_eq(bl_msg_decode_note(&fr, &h, &note, &err), BL_EFORMAT);
    cr_assert(strstr(err.msg, "not a note"), "%s", err.msg);
    bl_frames_free(&fr);

    note_frames(&fr); /* path length beyond the frame */
    bl_put_u32(fr.frame[1].data + 4 + strlen("page-stored"), 4000);
    cr_assert_eq(bl_msg_decode_note(&fr, &h, &note, &err), BL_EFORMAT);
    cr_assert(strstr(err.msg, "path: 4000 bytes, only"), "%s", err.msg);
    bl_frames_free(&fr);
}

/* Garbage must be refused or decoded cleanly, never crash or leak: half
 * the cases are random frame sets (some with a valid header so decoding
 * gets past frame 0), half are valid messages with random bytes flipped,
 * cut or grown. */
Test(msg, survives_random_garbage)
{
    rng_state = 20261129;
    bl_work *sample = work_sample();
    bl_msg_header h = header_sample();
    rng_state = 20261129;
    int decoded = 0;
    for (int iter = 0; iter < 2000; iter++) {
        bl_frames fr = {0};
        if (iter % 2 == 0) {
            fr.count = (int)(rnd() % (BL_MSG_MAX_FRAMES + 1));
            for (int i = 0; i < fr.count; i++) {
                size_t n = rnd() % 4 == 0 ? 0 : rnd() % 400;
                if (i == 0 && rnd() % 2)
                    n = BL_MSG_HEADER_SIZE;
                fr.frame[i].size = n;
                fr.frame[i].data = malloc(n ? n : 1);
                for (size_t k = 0; k < n; k++)
                    fr.frame[i].data[k] = (uint8_t)(rnd() % 4 ? rnd() % 8 : rnd());
            }
            if (fr.count > 0 && fr.frame[0].size == BL_MSG_HEADER_SIZE) {
                bl_msg_header g = {.type = (uint16_t)(1 + rnd() % 4),
                                   .field_count = rnd() % 4};
                bl_msg_header_encode(&g, fr.frame[0].data);
            }
        } else {
            if (rnd() % 3 == 0)
                note_frames(&fr);
            else
                cr_assert_eq(bl_msg_encode_work(&h, sample, &fr), BL_OK);
            int edits = 1 + (int)(rnd() % 6);
            for (int e = 0; e < edits; e++) {
                bl_frame *f = &fr.frame[rnd() % (uint32_t)fr.count];
                if (f->size == 0)
                    continue;
                switch (rnd() % 4) {
                case 0: /* cut */
                    f->size = rnd() % f->size;
                    break;
                case 1: /* grow with junk (realloc to the exact size) */
                {
                    size_t n = f->size + 1 + rnd() % 16;
                    f->data = realloc(f->data, n);
                    for (size_t k = f->size; k < n; k++)
                        f->data[k] = (uint8_t)rnd();
                    f->size = n;
                    break;
                }
                default: /* flip a byte, often a length's low byte */
                    f->data[rnd() % f->size] ^= (uint8_t)(1u << (rnd() % 8));
                }
            }
        }
        bl_err err = {0};
        bl_work *w = NULL;
        bl_msg_header gh;
        int rc = bl_msg_decode_work(&fr, NULL, &gh, &w, &err);
        if (rc == BL_OK) {
            decoded++;
            cr_assert_not_null(w);
            bl_work_destroy(&w);
        } else {
            cr_assert(rc == BL_EFORMAT || rc == BL_ELIMIT, "rc %d", rc);
            cr_assert(err.msg[0], "a reason is given");
            cr_assert_null(w);
        }
        bl_note note;
        rc = bl_msg_decode_note(&fr, &gh, &note, &err);
        cr_assert(rc == BL_OK || rc == BL_EFORMAT || rc == BL_ELIMIT);
        bl_frames_free(&fr);
    }
    cr_log_info("random garbage: %d of 2000 decoded as work", decoded);
    bl_work_destroy(&sample);
}

/* ---- ZeroMQ ---------------------------------------------------------------- */

typedef struct zpair {
    void *ctx, *tx, *rx;
} zpair;

static zpair zpair_open(const char *name)
{
    zpair p;
    p.ctx = zmq_ctx_new();
    cr_assert_not_null(p.ctx);
    p.rx = zmq_socket(p.ctx, ZMQ_PULL);
    p.tx = zmq_socket(p.ctx, ZMQ_PUSH);
    int linger = 0;
    zmq_setsockopt(p.rx, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(p.tx, ZMQ_LINGER, &linger, sizeof linger);
    cr_assert_eq(zmq_bind(p.rx, name), 0, "%s", zmq_strerror(errno));
    cr_assert_eq(zmq_connect(p.tx, name), 0, "%s", zmq_strerror(errno));
    return p;
}

static void zpair_close(zpair *p)
{
    zmq_close(p->tx);
    zmq_close(p->rx);
    zmq_ctx_term(p->ctx);
}

Test(msg, zmq_sends_and_receives_work)
{
    zpair z = zpair_open("inproc://msg-work");
    bl_work *w = work_sample(), *got = NULL;
    bl_msg_header h = header_sample(), gh;
    bl_frames out = {0}, in = {0};
    bl_err err = {0};
    cr_assert_eq(bl_msg_encode_work(&h, w, &out), BL_OK);
    cr_assert_eq(bl_msg_send(z.tx, &out, 0, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(bl_msg_recv(z.rx, &in, 0, 0, &err), BL_OK, "%s", err.msg);
    cr_assert_eq(in.count, out.count);
    for (int i = 0; i < in.count; i++) {
        cr_assert_eq(in.frame[i].size, out.frame[i].size);
        if (in.frame[i].size)
            cr_assert_eq(memcmp(in.frame[i].data, out.frame[i].data,
                                in.frame[i].size), 0);
    }
    cr_assert_eq(bl_msg_decode_work(&in, NULL, &gh, &got, &err), BL_OK, "%s",
                 err.msg);
    assert_work_eq(w, got);

    /* Nothing left: a non-blocking receive says "again". */
    bl_frames none = {0};
    cr_assert_eq(bl_msg_recv(z.rx, &none, 0, ZMQ_DONTWAIT, &err), BL_EAGAIN);
    cr_assert_eq(none.count, 0);

    bl_frames_free(&out);
    bl_frames_free(&in);
    bl_work_destroy(&w);
    bl_work_destroy(&got);
    zpair_close(&z);
}

/* A bad message must be drained whole so the next one is read intact. */
Test(msg, zmq_drains_rejected_messages)
{
    zpair z = zpair_open("inproc://msg-drain");
    bl_err err = {0};
    for (int i = 0; i < 20; i++) {
        uint8_t b = (uint8_t)i;
        cr_assert_eq(zmq_send(z.tx, &b, 1, i < 19 ? ZMQ_SNDMORE : 0), 1);
    }
    uint8_t big[600] = {0};
    cr_assert_eq(zmq_send(z.tx, "x", 1, ZMQ_SNDMORE), 1);
    cr_assert_eq(zmq_send(z.tx, big, sizeof big, ZMQ_SNDMORE), (int)sizeof big);
    cr_assert_eq(zmq_send(z.tx, "y", 1, 0), 1);

    bl_frames out = {0}, in = {0};
    note_frames(&out);
    cr_assert_eq(bl_msg_send(z.tx, &out, 0, &err), BL_OK, "%s", err.msg);

    cr_assert_eq(bl_msg_recv(z.rx, &in, 0, 0, &err), BL_EFORMAT);
    cr_assert(strstr(err.msg, "20 frames"), "%s", err.msg);
    cr_assert_eq(in.count, 0);
    cr_assert_eq(bl_msg_recv(z.rx, &in, 512, 0, &err), BL_ELIMIT);
    cr_assert(strstr(err.msg, "frame 1: 600 bytes"), "%s", err.msg);
    cr_assert_eq(in.count, 0);

    cr_assert_eq(bl_msg_recv(z.rx, &in, 512, 0, &err), BL_OK, "%s", err.msg);
    bl_msg_header h;
    bl_note note;
    cr_assert_eq(bl_msg_decode_note(&in, &h, &note, &err), BL_OK, "%s", err.msg);
    cr_assert_str_eq(note.kind, "page-stored");
    cr_assert_eq(h.type, BL_MSG_FEED);
    bl_frames_free(&in);
    bl_frames_free(&out);
    zpair_close(&z);
}

Test(msg, zmq_send_would_block_is_again)
{
    void *ctx = zmq_ctx_new();
    void *tx = zmq_socket(ctx, ZMQ_PUSH); /* no peer: nowhere to queue */
    int linger = 0;
    zmq_setsockopt(tx, ZMQ_LINGER, &linger, sizeof linger);
    bl_frames out = {0};
    bl_err err = {0};
    note_frames(&out);
    cr_assert_eq(bl_msg_send(tx, &out, ZMQ_DONTWAIT, &err), BL_EAGAIN, "%s",
                 err.msg);
    bl_frames_free(&out);
    zmq_close(tx);
    zmq_ctx_term(ctx);
}
