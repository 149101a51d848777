/*
 * msg: encoding, decoding and ZeroMQ transport of the messages between
 * stages. This comment is the wire contract; change it only together with
 * BL_MSG_VERSION.
 *
 * All integers are little-endian, floats are IEEE 754 in the same byte
 * order (f32, f64), signed integers are two's complement. A "str" is a u32
 * byte length followed by that many bytes, no terminator; it may not
 * contain NUL bytes and may not be longer than the struct field it fills
 * minus one.
 *
 * Frame 0, every type: the header, exactly 64 bytes.
 *   off  0 u32 magic  0x52544c42 ("BLTR")    off 32 u64 t_origin_ns
 *   off  4 u16 version (2)                   off 40 u64 t_sent_ns
 *   off  6 u16 type (1 FEED .. 4 CONTROL)    off 48 u32 stage (< 6)
 *   off  8 u64 batch_id                      off 52 u32 flags
 *   off 16 u64 doc_id                        off 56 u32 reserved[0] (0)
 *   off 24 u32 page_index                    off 60 u32 reserved[1] (0)
 *   off 28 u32 field_count (WORK: fields carried, else 0)
 * Receivers ignore flags and the reserved words.
 *
 * FEED, EVENT, CONTROL (bl_note): 2 frames.
 *   [0] header
 *   [1] str kind (<= 31), str path (<= 4095), str batch (<= 255),
 *       str text (<= 4095), i64 num[4]; nothing after.
 *
 * WORK (bl_work): 7 frames, always all present, possibly empty.
 *   [0] header; field_count is the number of fields in frame 3.
 *   [1] meta: str batch (<= 255), str source_path (<= 4095),
 *       u32 page_count, i32 src_width, i32 src_height (both >= 0),
 *       f64 dpi_x, f64 dpi_y, f64 a b c d e f (to_source),
 *       f64 rotation_deg, f64 skew_deg, u64 content_hash,
 *       6 x str model id (<= 63, indexed by bl_stage_id),
 *       u32 digit_count; nothing after.
 *   [2] page raster: empty (no page) or one raster (below).
 *   [3] fields table: field_count records of
 *       str name (<= 63), str rule (<= 127),
 *       i32 box x y w h, i32 src_box x y w h
 *       (w, h >= 0), u32 first_digit, u32 digit_count
 *       (first_digit + digit_count <= meta digit_count),
 *       u32 has_crop (0 or 1); nothing after.
 *   [4] field crops: for each field with has_crop = 1, in field order,
 *       u32 size then a raster of exactly that size; nothing after.
 *   [5] digits table: digit_count records of 60 bytes:
 *       i32 box x y w h (w, h >= 0), i32 cls (-1 unclassified, 0..9),
 *       f32 prob[10].
 *   [6] digit pixels: digit_count x 784 bytes (28 x 28, row-major,
 *       0 = paper .. 255 = ink).
 *
 * Raster: u32 width, u32 height (1 .. 2^31-1, width*height <= max_pixels),
 *   u32 depth (1 or 8), u32 stride (bytes per row, exactly ceil(width/8)
 *   at depth 1 and width at depth 8), then stride*height bytes.
 *   Depth 1 is bit-packed, most significant bit first, 1 = ink, each row
 *   padded to whole bytes. The encoder sends a raster at depth 1 whenever
 *   every pixel is 0 or 1 (a binarised page or crop: 8x smaller) and at
 *   depth 8 otherwise, so the round trip is lossless either way.
 *
 * Decoding checks, before allocating anything: the frame count, every
 * frame against max_frame_bytes, every count against bl_msg_limits, every
 * size product for overflow and every length against the bytes left in
 * its frame. A frame with bytes left over is malformed too: a sender that
 * writes more than this layout is not one we understand.
 */
#include "msg.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define WORK_FRAMES 7
#define NOTE_FRAMES 2
#define RASTER_HEADER 16
#define FIELD_RECORD_MIN (4 + 4 + 16 + 16 + 4 + 4 + 4) /* empty name and rule */
#define DIGIT_RECORD (16 + 4 + 40)

/* ---- Stages and limits -------------------------------------------------- */

static const char *const stage_names[BL_STAGE_COUNT] = {
    "front", "ingest", "detect", "segment", "classify", "write"};

const char *bl_stage_name(bl_stage_id id)
{
    if ((int)id < 0 || id >= BL_STAGE_COUNT)
        return "unknown";
    return stage_names[id];
}

int bl_stage_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < BL_STAGE_COUNT; i++)
        if (strcmp(name, stage_names[i]) == 0)
            return i;
    return -1;
}

void bl_msg_limits_default(bl_msg_limits *limits)
{
    limits->max_frame_bytes = (size_t)256 << 20;
    limits->max_fields = 256;
    limits->max_digits = 4096;
    limits->max_pixels = 100000000u;
}

void bl_frames_free(bl_frames *frames)
{
    if (!frames)
        return;
    for (int i = 0; i < frames->count && i < BL_MSG_MAX_FRAMES; i++) {
        free(frames->frame[i].data);
        frames->frame[i].data = NULL;
        frames->frame[i].size = 0;
    }
    frames->count = 0;
}

/* ---- Writing: a growable byte buffer ------------------------------------- */

typedef struct buf {
    uint8_t *data;
    size_t size, cap;
} buf;

static uint8_t *buf_grow(buf *b, size_t n)
{
    size_t need;
    if (!bl_size_add(&need, b->size, n))
        abort(); /* cannot happen with in-memory inputs */
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        b->data = bl_xrealloc(b->data, cap);
        b->cap = cap;
    }
    uint8_t *p = b->data + b->size;
    b->size = need;
    return p;
}

static void put_u32(buf *b, uint32_t v) { bl_put_u32(buf_grow(b, 4), v); }
static void put_i32(buf *b, int32_t v) { bl_put_u32(buf_grow(b, 4), (uint32_t)v); }
static void put_u64(buf *b, uint64_t v) { bl_put_u64(buf_grow(b, 8), v); }
static void put_f64(buf *b, double v) { bl_put_f64(buf_grow(b, 8), v); }

static void put_bytes(buf *b, const void *p, size_t n)
{
    if (n)
        memcpy(buf_grow(b, n), p, n);
}

/* A string from a fixed struct field; BL_EINVAL if it is not terminated
 * inside the field (the receiver could not hold it either). */
static int put_str(buf *b, const char *s, size_t field_size)
{
    size_t n = strnlen(s, field_size);
    if (n == field_size)
        return BL_EINVAL;
    put_u32(b, (uint32_t)n);
    put_bytes(b, s, n);
    return BL_OK;
}

static void put_box(buf *b, bl_box box)
{
    put_i32(b, box.x);
    put_i32(b, box.y);
    put_i32(b, box.w);
    put_i32(b, box.h);
}

/* A page is 8.7 million pixels at 300 dpi: the raster loops below take
 * eight pixels per step (a page costs about 1 ms each way instead of 10 to
 * 20) where the host is little-endian, as every machine this runs on. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define RASTER_WORDS 1
#else
#define RASTER_WORDS 0
#endif

static bool image_is_binary(const bl_image *img)
{
    for (int y = 0; y < img->height; y++) {
        const uint8_t *row = img->data + (size_t)y * (size_t)img->stride;
        int x = 0;
        if (RASTER_WORDS) {
            uint64_t any = 0;
            for (; x + 8 <= img->width; x += 8) {
                uint64_t v;
                memcpy(&v, row + x, 8);
                any |= v;
            }
            if (any & ~0x0101010101010101ull)
                return false;
        }
        for (; x < img->width; x++)
            if (row[x] > 1)
                return false;
    }
    return true;
}

/* Eight 0/1 bytes (pixel k in byte k of a little-endian word) to one byte,
 * pixel 0 in the most significant bit: the multiply moves byte k's bit to
 * bit 63 - k, and no partial sum reaches the top byte otherwise. */
static uint8_t pack8(uint64_t v)
{
    return (uint8_t)((v * 0x8040201008040201ull) >> 56);
}

/* Appends a raster (see the top of the file); returns its byte size. */
static size_t put_raster(buf *b, const bl_image *img)
{
    assert(img->width > 0 && img->height > 0 && img->stride >= img->width);
    size_t start = b->size;
    bool packed = image_is_binary(img);
    uint32_t w = (uint32_t)img->width, h = (uint32_t)img->height;
    uint32_t stride = packed ? (w + 7) / 8 : w;
    put_u32(b, w);
    put_u32(b, h);
    put_u32(b, packed ? 1 : 8);
    put_u32(b, stride);
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *row = img->data + (size_t)y * (size_t)img->stride;
        uint8_t *out = buf_grow(b, stride);
        if (!packed) {
            memcpy(out, row, w);
            continue;
        }
        memset(out, 0, stride);
        uint32_t x = 0;
        if (RASTER_WORDS)
            for (; x + 8 <= w; x += 8) {
                uint64_t v;
                memcpy(&v, row + x, 8);
                out[x >> 3] = pack8(v);
            }
        for (; x < w; x++)
            if (row[x])
                out[x >> 3] |= (uint8_t)(0x80u >> (x & 7));
    }
    return b->size - start;
}

/* Moves a finished buffer into frame slot i (an empty buffer becomes an
 * empty frame with a NULL pointer). */
static void frame_take(bl_frames *out, int i, buf *b)
{
    out->frame[i].data = b->data;
    out->frame[i].size = b->size;
    b->data = NULL;
    b->size = b->cap = 0;
}

/* ---- Reading: a bounds-checked cursor over one frame ---------------------- */

typedef struct cursor {
    const uint8_t *p;
    size_t left;
} cursor;

static bool take(cursor *c, size_t n, const uint8_t **out)
{
    if (c->left < n)
        return false;
    *out = c->p;
    c->p += n;
    c->left -= n;
    return true;
}

static bool get_u32(cursor *c, uint32_t *v)
{
    const uint8_t *p;
    if (!take(c, 4, &p))
        return false;
    *v = bl_get_u32(p);
    return true;
}

static bool get_i32(cursor *c, int32_t *v)
{
    uint32_t u;
    if (!get_u32(c, &u))
        return false;
    *v = (int32_t)u; /* two's complement on every platform we build for */
    return true;
}

static bool get_u64(cursor *c, uint64_t *v)
{
    const uint8_t *p;
    if (!take(c, 8, &p))
        return false;
    *v = bl_get_u64(p);
    return true;
}

static bool get_f64(cursor *c, double *v)
{
    const uint8_t *p;
    if (!take(c, 8, &p))
        return false;
    *v = bl_get_f64(p);
    return true;
}

/* Reads a str into a fixed field; `what` names it in the error. */
static int get_str(cursor *c, char *dst, size_t dst_size, const char *what,
                   bl_err *err)
{
    uint32_t n;
    const uint8_t *p;
    if (!get_u32(c, &n))
        return bl_err_set(err, BL_EFORMAT, "%s: truncated length", what);
    if (n >= dst_size)
        return bl_err_set(err, BL_EFORMAT, "%s: %u bytes, at most %zu allowed",
                          what, n, dst_size - 1);
    if (!take(c, n, &p))
        return bl_err_set(err, BL_EFORMAT, "%s: %u bytes, only %zu left", what,
                          n, c->left);
    if (n && memchr(p, 0, n))
        return bl_err_set(err, BL_EFORMAT, "%s: embedded NUL byte", what);
    if (n)
        memcpy(dst, p, n);
    dst[n] = '\0';
    return BL_OK;
}

static int get_box(cursor *c, bl_box *box, const char *what, bl_err *err)
{
    int32_t v[4];
    for (int i = 0; i < 4; i++)
        if (!get_i32(c, &v[i]))
            return bl_err_set(err, BL_EFORMAT, "%s: truncated", what);
    if (v[2] < 0 || v[3] < 0)
        return bl_err_set(err, BL_EFORMAT, "%s: negative size %dx%d", what,
                          v[2], v[3]);
    *box = (bl_box){v[0], v[1], v[2], v[3]};
    return BL_OK;
}

/* Decodes one raster occupying exactly data[0..size). */
static int get_raster(const uint8_t *data, size_t size,
                      const bl_msg_limits *limits, const char *what,
                      bl_image **out, bl_err *err)
{
    *out = NULL;
    if (size < RASTER_HEADER)
        return bl_err_set(err, BL_EFORMAT, "%s: %zu bytes, raster header needs "
                          "%d", what, size, RASTER_HEADER);
    uint32_t w = bl_get_u32(data), h = bl_get_u32(data + 4);
    uint32_t depth = bl_get_u32(data + 8), stride = bl_get_u32(data + 12);
    if (w == 0 || h == 0 || w > INT_MAX || h > INT_MAX)
        return bl_err_set(err, BL_EFORMAT, "%s: bad size %ux%u", what, w, h);
    if (depth != 1 && depth != 8)
        return bl_err_set(err, BL_EFORMAT, "%s: depth %u (expected 1 or 8)",
                          what, depth);
    uint64_t pixels = (uint64_t)w * h; /* both < 2^31: cannot overflow */
    if (pixels > limits->max_pixels)
        return bl_err_set(err, BL_ELIMIT, "%s: %ux%u is %llu pixels, above the "
                          "limit of %llu", what, w, h,
                          (unsigned long long)pixels,
                          (unsigned long long)limits->max_pixels);
    uint32_t row = depth == 1 ? (uint32_t)(((uint64_t)w + 7) / 8) : w;
    if (stride != row)
        return bl_err_set(err, BL_EFORMAT, "%s: stride %u for width %u at depth "
                          "%u (expected %u)", what, stride, w, depth, row);
    size_t need;
    if (!bl_size_mul(&need, stride, h) || need != size - RASTER_HEADER)
        return bl_err_set(err, BL_EFORMAT, "%s: %zu data bytes for %ux%u at "
                          "stride %u", what, size - RASTER_HEADER, w, h, stride);

    bl_image *img = bl_image_new((int)w, (int)h);
    const uint8_t *src = data + RASTER_HEADER;
    /* Each packed byte's eight pixels as one little-endian word. */
    uint64_t spread[256];
    for (int b = 0; b < 256 && RASTER_WORDS && depth == 1; b++) {
        spread[b] = 0;
        for (int k = 0; k < 8; k++)
            spread[b] |= (uint64_t)((b >> (7 - k)) & 1) << (8 * k);
    }
    for (uint32_t y = 0; y < h; y++, src += stride) {
        uint8_t *dst = img->data + (size_t)y * (size_t)img->stride;
        if (depth == 8) {
            memcpy(dst, src, w);
            continue;
        }
        uint32_t x = 0;
        if (RASTER_WORDS)
            for (; x + 8 <= w; x += 8)
                memcpy(dst + x, &spread[src[x >> 3]], 8);
        for (; x < w; x++)
            dst[x] = (src[x >> 3] >> (7 - (x & 7))) & 1u;
    }
    *out = img;
    return BL_OK;
}

/* ---- Header ------------------------------------------------------------- */

void bl_msg_header_encode(const bl_msg_header *hdr,
                          uint8_t out[BL_MSG_HEADER_SIZE])
{
    /* The magic and version are the sender's, whatever the struct holds:
     * a header this build writes always speaks this build's format. */
    bl_put_u32(out + 0, BL_MSG_MAGIC);
    bl_put_u16(out + 4, BL_MSG_VERSION);
    bl_put_u16(out + 6, hdr->type);
    bl_put_u64(out + 8, hdr->batch_id);
    bl_put_u64(out + 16, hdr->doc_id);
    bl_put_u32(out + 24, hdr->page_index);
    bl_put_u32(out + 28, hdr->field_count);
    bl_put_u64(out + 32, hdr->t_origin_ns);
    bl_put_u64(out + 40, hdr->t_sent_ns);
    bl_put_u32(out + 48, hdr->stage);
    bl_put_u32(out + 52, hdr->flags);
    bl_put_u32(out + 56, hdr->reserved[0]);
    bl_put_u32(out + 60, hdr->reserved[1]);
}

int bl_msg_header_decode(bl_msg_header *hdr, const uint8_t *data, size_t size,
                         bl_err *err)
{
    if (!data || size != BL_MSG_HEADER_SIZE)
        return bl_err_set(err, BL_EFORMAT, "message header: %zu bytes (expected "
                          "%d)", data ? size : 0, BL_MSG_HEADER_SIZE);
    bl_msg_header h;
    h.magic = bl_get_u32(data + 0);
    h.version = bl_get_u16(data + 4);
    h.type = bl_get_u16(data + 6);
    h.batch_id = bl_get_u64(data + 8);
    h.doc_id = bl_get_u64(data + 16);
    h.page_index = bl_get_u32(data + 24);
    h.field_count = bl_get_u32(data + 28);
    h.t_origin_ns = bl_get_u64(data + 32);
    h.t_sent_ns = bl_get_u64(data + 40);
    h.stage = bl_get_u32(data + 48);
    h.flags = bl_get_u32(data + 52);
    h.reserved[0] = bl_get_u32(data + 56);
    h.reserved[1] = bl_get_u32(data + 60);
    if (h.magic != BL_MSG_MAGIC)
        return bl_err_set(err, BL_EFORMAT, "message header: bad magic 0x%08x",
                          h.magic);
    if (h.version != BL_MSG_VERSION)
        return bl_err_set(err, BL_EFORMAT, "message header: version %u (this "
                          "build speaks %d)", h.version, BL_MSG_VERSION);
    if (h.type < BL_MSG_FEED || h.type > BL_MSG_CONTROL)
        return bl_err_set(err, BL_EFORMAT, "message header: unknown type %u",
                          h.type);
    if (h.stage >= BL_STAGE_COUNT)
        return bl_err_set(err, BL_EFORMAT, "message header: unknown stage %u",
                          h.stage);
    *hdr = h;
    return BL_OK;
}

/* Checks the frame list common to every decode: count, sizes, header. */
static int check_frames(const bl_frames *in, int want, size_t max_frame,
                        bl_msg_header *hdr, bl_err *err)
{
    if (!in || in->count < 1)
        return bl_err_set(err, BL_EFORMAT, "no frames");
    if (in->count > BL_MSG_MAX_FRAMES)
        return bl_err_set(err, BL_EFORMAT, "%d frames (at most %d)", in->count,
                          BL_MSG_MAX_FRAMES);
    for (int i = 0; i < in->count; i++) {
        if (in->frame[i].size > max_frame)
            return bl_err_set(err, BL_ELIMIT, "frame %d: %zu bytes, above the "
                              "limit of %zu", i, in->frame[i].size, max_frame);
        if (in->frame[i].size && !in->frame[i].data)
            return bl_err_set(err, BL_EFORMAT, "frame %d: no data", i);
    }
    int rc = bl_msg_header_decode(hdr, in->frame[0].data, in->frame[0].size, err);
    if (rc)
        return rc;
    if (in->count != want)
        return bl_err_set(err, BL_EFORMAT, "%d frames (expected %d)", in->count,
                          want);
    return BL_OK;
}

/* ---- Notes -------------------------------------------------------------- */

int bl_msg_encode_note(const bl_msg_header *hdr, const bl_note *note,
                       bl_frames *out)
{
    out->count = 0;
    assert(hdr->type == BL_MSG_FEED || hdr->type == BL_MSG_EVENT ||
           hdr->type == BL_MSG_CONTROL);
    bl_msg_header h = *hdr;
    h.field_count = 0;
    buf b = {0};
    int rc = put_str(&b, note->kind, sizeof note->kind);
    if (!rc)
        rc = put_str(&b, note->path, sizeof note->path);
    if (!rc)
        rc = put_str(&b, note->batch, sizeof note->batch);
    if (!rc)
        rc = put_str(&b, note->text, sizeof note->text);
    if (rc) {
        free(b.data);
        return rc;
    }
    for (int i = 0; i < 4; i++)
        put_u64(&b, (uint64_t)note->num[i]);

    out->frame[0].data = bl_xmalloc(BL_MSG_HEADER_SIZE);
    out->frame[0].size = BL_MSG_HEADER_SIZE;
    bl_msg_header_encode(&h, out->frame[0].data);
    frame_take(out, 1, &b);
    out->count = NOTE_FRAMES;
    return BL_OK;
}

static int decode_note(const bl_frames *in, bl_msg_header *hdr, bl_note *note,
                       bl_err *err)
{
    bl_msg_limits lim;
    bl_msg_limits_default(&lim);
    int rc = check_frames(in, NOTE_FRAMES, lim.max_frame_bytes, hdr, err);
    if (rc)
        return rc;
    if (hdr->type == BL_MSG_WORK)
        return bl_err_set(err, BL_EFORMAT, "a work message, not a note");
    if (hdr->field_count != 0)
        return bl_err_set(err, BL_EFORMAT, "header: field count %u in a note",
                          hdr->field_count);
    cursor c = {in->frame[1].data, in->frame[1].size};
    memset(note, 0, sizeof *note);
    if ((rc = get_str(&c, note->kind, sizeof note->kind, "kind", err)) ||
        (rc = get_str(&c, note->path, sizeof note->path, "path", err)) ||
        (rc = get_str(&c, note->batch, sizeof note->batch, "batch", err)) ||
        (rc = get_str(&c, note->text, sizeof note->text, "text", err)))
        return rc;
    for (int i = 0; i < 4; i++) {
        uint64_t v;
        if (!get_u64(&c, &v))
            return bl_err_set(err, BL_EFORMAT, "numbers: truncated");
        note->num[i] = (int64_t)v;
    }
    if (c.left)
        return bl_err_set(err, BL_EFORMAT, "%zu bytes after the numbers", c.left);
    return BL_OK;
}

int bl_msg_decode_note(const bl_frames *in, bl_msg_header *hdr, bl_note *note,
                       bl_err *err)
{
    bl_msg_header h;
    int rc = decode_note(in, &h, note, err);
    if (rc) {
        if (err)
            bl_err_prefix(err, "note message");
        memset(note, 0, sizeof *note);
        return rc;
    }
    *hdr = h;
    return BL_OK;
}

/* ---- Work --------------------------------------------------------------- */

/* The fields and digits arrays hold a power-of-two number of slots, so the
 * add functions can grow them by doubling without a capacity member in
 * bl_work; decode allocates by the same rule. */
static uint32_t slots_for(uint32_t n)
{
    uint32_t cap = 1;
    if (n == 0)
        return 0;
    while (cap < n)
        cap *= 2;
    return cap;
}

bl_work *bl_work_new(void)
{
    bl_work *w = bl_xcalloc(1, sizeof *w);
    w->to_source = (bl_transform){1, 0, 0, 0, 1, 0};
    return w;
}

void bl_work_destroy(bl_work **self)
{
    if (!self || !*self)
        return;
    bl_work *w = *self;
    bl_image_destroy(&w->page);
    for (uint32_t i = 0; i < w->field_count; i++)
        bl_image_destroy(&w->fields[i].crop);
    free(w->fields);
    free(w->digits);
    free(w);
    *self = NULL;
}

bl_work_field *bl_work_add_field(bl_work *self, const char *name, bl_box box,
                                 bl_image **crop)
{
    uint32_t n = self->field_count;
    assert(n < UINT32_MAX / 2);
    if ((n & (n - 1)) == 0) /* full: n is 0 or a power of two */
        self->fields = bl_xrealloc(self->fields,
                                   (size_t)slots_for(n + 1) * sizeof *self->fields);
    bl_work_field *f = &self->fields[n];
    memset(f, 0, sizeof *f);
    if (name && name[0])
        bl_strlcpy(f->name, name, sizeof f->name);
    else
        bl_snprintf(f->name, sizeof f->name, "field_%u", n);
    f->box = box;
    f->src_box = box;
    f->first_digit = self->digit_count;
    if (crop) {
        f->crop = *crop;
        *crop = NULL;
    }
    self->field_count = n + 1;
    return f;
}

bl_work_digit *bl_work_add_digit(bl_work *self, uint32_t field_index, bl_box box)
{
    assert(field_index < self->field_count);
    bl_work_field *f = &self->fields[field_index];
    uint32_t n = self->digit_count;
    /* A field's digits are contiguous: only the field whose run ends at
     * the end of the array (or one without digits) may grow. */
    if (f->digit_count == 0)
        f->first_digit = n;
    assert(f->first_digit + f->digit_count == n);
    assert(n < UINT32_MAX / 2);
    if ((n & (n - 1)) == 0)
        self->digits = bl_xrealloc(self->digits,
                                   (size_t)slots_for(n + 1) * sizeof *self->digits);
    bl_work_digit *d = &self->digits[n];
    memset(d, 0, sizeof *d);
    d->box = box;
    d->cls = -1;
    f->digit_count++;
    self->digit_count = n + 1;
    return d;
}

static int encode_meta(buf *b, const bl_work *w)
{
    int rc;
    if ((rc = put_str(b, w->batch, sizeof w->batch)) ||
        (rc = put_str(b, w->source_path, sizeof w->source_path)))
        return rc;
    put_u32(b, w->page_count);
    put_i32(b, w->src_width);
    put_i32(b, w->src_height);
    put_f64(b, w->dpi_x);
    put_f64(b, w->dpi_y);
    const bl_transform *t = &w->to_source;
    const double tv[6] = {t->a, t->b, t->c, t->d, t->e, t->f};
    for (int i = 0; i < 6; i++)
        put_f64(b, tv[i]);
    put_f64(b, w->rotation_deg);
    put_f64(b, w->skew_deg);
    put_u64(b, w->content_hash);
    for (int s = 0; s < BL_STAGE_COUNT; s++)
        if ((rc = put_str(b, w->model[s], sizeof w->model[s])))
            return rc;
    put_u32(b, w->digit_count);
    return BL_OK;
}

int bl_msg_encode_work(const bl_msg_header *hdr, const bl_work *work,
                       bl_frames *out)
{
    out->count = 0;
    buf b[WORK_FRAMES] = {{0}};
    int rc = encode_meta(&b[1], work);
    if (rc)
        goto done;
    if (work->page)
        put_raster(&b[2], work->page);
    for (uint32_t i = 0; i < work->field_count; i++) {
        const bl_work_field *f = &work->fields[i];
        if ((uint64_t)f->first_digit + f->digit_count > work->digit_count) {
            rc = BL_EINVAL;
            goto done;
        }
        if ((rc = put_str(&b[3], f->name, sizeof f->name)) ||
            (rc = put_str(&b[3], f->rule, sizeof f->rule)))
            goto done;
        put_box(&b[3], f->box);
        put_box(&b[3], f->src_box);
        put_u32(&b[3], f->first_digit);
        put_u32(&b[3], f->digit_count);
        put_u32(&b[3], f->crop ? 1 : 0);
        if (f->crop) {
            size_t at = b[4].size;
            put_u32(&b[4], 0); /* patched once the raster's size is known */
            size_t n = put_raster(&b[4], f->crop);
            if (n > UINT32_MAX) {
                rc = BL_ELIMIT;
                goto done;
            }
            bl_put_u32(b[4].data + at, (uint32_t)n);
        }
    }
    for (uint32_t i = 0; i < work->digit_count; i++) {
        const bl_work_digit *d = &work->digits[i];
        put_box(&b[5], d->box);
        put_i32(&b[5], d->cls);
        uint8_t *p = buf_grow(&b[5], 40);
        for (int k = 0; k < 10; k++)
            bl_put_f32(p + 4 * k, d->prob[k]);
        put_bytes(&b[6], d->pixels, BL_MNIST_PIXELS);
    }

    bl_msg_header h = *hdr;
    h.type = BL_MSG_WORK;
    h.field_count = work->field_count;
    bl_msg_header_encode(&h, buf_grow(&b[0], BL_MSG_HEADER_SIZE));
    for (int i = 0; i < WORK_FRAMES; i++)
        frame_take(out, i, &b[i]);
    out->count = WORK_FRAMES;
done:
    for (int i = 0; i < WORK_FRAMES; i++)
        free(b[i].data);
    return rc;
}

static int decode_meta(const bl_frame *fr, bl_work *w, uint32_t *digit_count,
                       bl_err *err)
{
    cursor c = {fr->data, fr->size};
    int rc;
    if ((rc = get_str(&c, w->batch, sizeof w->batch, "meta: batch", err)) ||
        (rc = get_str(&c, w->source_path, sizeof w->source_path,
                      "meta: source path", err)))
        return rc;
    double tv[6];
    bool ok = get_u32(&c, &w->page_count) && get_i32(&c, &w->src_width) &&
              get_i32(&c, &w->src_height) && get_f64(&c, &w->dpi_x) &&
              get_f64(&c, &w->dpi_y);
    for (int i = 0; ok && i < 6; i++)
        ok = get_f64(&c, &tv[i]);
    ok = ok && get_f64(&c, &w->rotation_deg) && get_f64(&c, &w->skew_deg) &&
         get_u64(&c, &w->content_hash);
    if (!ok)
        return bl_err_set(err, BL_EFORMAT, "meta: truncated after %zu bytes",
                          fr->size);
    w->to_source = (bl_transform){tv[0], tv[1], tv[2], tv[3], tv[4], tv[5]};
    if (w->src_width < 0 || w->src_height < 0)
        return bl_err_set(err, BL_EFORMAT, "meta: negative source size %dx%d",
                          w->src_width, w->src_height);
    for (int s = 0; s < BL_STAGE_COUNT; s++) {
        char what[48];
        snprintf(what, sizeof what, "meta: %s model id", stage_names[s]);
        if ((rc = get_str(&c, w->model[s], sizeof w->model[s], what, err)))
            return rc;
    }
    if (!get_u32(&c, digit_count))
        return bl_err_set(err, BL_EFORMAT, "meta: truncated digit count");
    if (c.left)
        return bl_err_set(err, BL_EFORMAT, "meta: %zu bytes left over", c.left);
    return BL_OK;
}

static int decode_fields(const bl_frames *in, const bl_msg_limits *limits,
                         uint32_t count, bl_work *w, bl_err *err)
{
    const bl_frame *table = &in->frame[3], *crops = &in->frame[4];
    if (count > limits->max_fields)
        return bl_err_set(err, BL_ELIMIT, "%u fields, above the limit of %u",
                          count, limits->max_fields);
    size_t min;
    if (!bl_size_mul(&min, count, FIELD_RECORD_MIN) || table->size < min)
        return bl_err_set(err, BL_EFORMAT, "fields table: %zu bytes for %u "
                          "fields", table->size, count);
    if (count == 0 && crops->size)
        return bl_err_set(err, BL_EFORMAT, "field crops: %zu bytes for no "
                          "fields", crops->size);
    if (count == 0)
        return BL_OK;

    w->fields = bl_xcalloc(slots_for(count), sizeof *w->fields);
    w->field_count = count; /* zeroed slots: destroy is safe from here on */
    cursor c = {table->data, table->size};
    cursor cc = {crops->data, crops->size};
    for (uint32_t i = 0; i < count; i++) {
        bl_work_field *f = &w->fields[i];
        char what[64];
        uint32_t has_crop;
        int rc;
        snprintf(what, sizeof what, "fields table: field %u: name", i);
        if ((rc = get_str(&c, f->name, sizeof f->name, what, err)))
            return rc;
        snprintf(what, sizeof what, "fields table: field %u: rule", i);
        if ((rc = get_str(&c, f->rule, sizeof f->rule, what, err)))
            return rc;
        snprintf(what, sizeof what, "fields table: field %u: box", i);
        if ((rc = get_box(&c, &f->box, what, err)) ||
            (rc = get_box(&c, &f->src_box, what, err)))
            return rc;
        if (!get_u32(&c, &f->first_digit) || !get_u32(&c, &f->digit_count) ||
            !get_u32(&c, &has_crop))
            return bl_err_set(err, BL_EFORMAT, "fields table: field %u: "
                              "truncated", i);
        if ((uint64_t)f->first_digit + f->digit_count > w->digit_count)
            return bl_err_set(err, BL_EFORMAT, "fields table: field %u: digits "
                              "%u+%u beyond the %u digits", i, f->first_digit,
                              f->digit_count, w->digit_count);
        if (has_crop > 1)
            return bl_err_set(err, BL_EFORMAT, "fields table: field %u: crop "
                              "flag %u", i, has_crop);
        if (!has_crop)
            continue;
        uint32_t size;
        const uint8_t *p;
        if (!get_u32(&cc, &size) || !take(&cc, size, &p))
            return bl_err_set(err, BL_EFORMAT, "field crops: field %u: "
                              "truncated", i);
        snprintf(what, sizeof what, "field crops: field %u", i);
        if ((rc = get_raster(p, size, limits, what, &f->crop, err)))
            return rc;
    }
    if (c.left)
        return bl_err_set(err, BL_EFORMAT, "fields table: %zu bytes left over",
                          c.left);
    if (cc.left)
        return bl_err_set(err, BL_EFORMAT, "field crops: %zu bytes left over",
                          cc.left);
    return BL_OK;
}

static int decode_digits(const bl_frames *in, const bl_msg_limits *limits,
                         uint32_t count, bl_work *w, bl_err *err)
{
    const bl_frame *table = &in->frame[5], *pix = &in->frame[6];
    if (count > limits->max_digits)
        return bl_err_set(err, BL_ELIMIT, "%u digits, above the limit of %u",
                          count, limits->max_digits);
    size_t need;
    if (!bl_size_mul(&need, count, DIGIT_RECORD) || table->size != need)
        return bl_err_set(err, BL_EFORMAT, "digits table: %zu bytes for %u "
                          "digits", table->size, count);
    if (!bl_size_mul(&need, count, BL_MNIST_PIXELS) || pix->size != need)
        return bl_err_set(err, BL_EFORMAT, "digit pixels: %zu bytes for %u "
                          "digits", pix->size, count);
    if (count == 0)
        return BL_OK;
    w->digits = bl_xcalloc(slots_for(count), sizeof *w->digits);
    w->digit_count = count;
    cursor c = {table->data, table->size};
    for (uint32_t i = 0; i < count; i++) {
        bl_work_digit *d = &w->digits[i];
        char what[48];
        snprintf(what, sizeof what, "digits table: digit %u: box", i);
        int rc = get_box(&c, &d->box, what, err);
        if (rc)
            return rc;
        const uint8_t *p;
        if (!get_i32(&c, &d->cls) || !take(&c, 40, &p))
            return bl_err_set(err, BL_EFORMAT, "digits table: digit %u: "
                              "truncated", i); /* unreachable: size checked */
        if (d->cls < -1 || d->cls > 9)
            return bl_err_set(err, BL_EFORMAT, "digits table: digit %u: class "
                              "%d (expected -1..9)", i, d->cls);
        for (int k = 0; k < 10; k++)
            d->prob[k] = bl_get_f32(p + 4 * k);
        memcpy(d->pixels, pix->data + (size_t)i * BL_MNIST_PIXELS,
               BL_MNIST_PIXELS);
    }
    return BL_OK;
}

static int decode_work(const bl_frames *in, const bl_msg_limits *limits,
                       bl_msg_header *hdr, bl_work *w, bl_err *err)
{
    int rc = check_frames(in, WORK_FRAMES, limits->max_frame_bytes, hdr, err);
    if (rc)
        return rc;
    if (hdr->type != BL_MSG_WORK)
        return bl_err_set(err, BL_EFORMAT, "type %u, not a work message",
                          hdr->type);
    uint32_t digit_count = 0;
    if ((rc = decode_meta(&in->frame[1], w, &digit_count, err)))
        return rc;
    /* Digits first: the fields table refers to them by index. */
    if ((rc = decode_digits(in, limits, digit_count, w, err)))
        return rc;
    if (in->frame[2].size &&
        (rc = get_raster(in->frame[2].data, in->frame[2].size, limits,
                         "page raster", &w->page, err)))
        return rc;
    return decode_fields(in, limits, hdr->field_count, w, err);
}

int bl_msg_decode_work(const bl_frames *in, const bl_msg_limits *limits,
                       bl_msg_header *hdr, bl_work **out, bl_err *err)
{
    bl_msg_limits defaults;
    if (!limits) {
        bl_msg_limits_default(&defaults);
        limits = &defaults;
    }
    *out = NULL;
    bl_msg_header h;
    bl_work *w = bl_work_new();
    int rc = decode_work(in, limits, &h, w, err);
    if (rc) {
        if (err)
            bl_err_prefix(err, "work message");
        bl_work_destroy(&w);
        return rc;
    }
    *hdr = h;
    *out = w;
    return BL_OK;
}

/* ---- ZeroMQ glue -------------------------------------------------------- */

int bl_msg_send(void *socket, const bl_frames *frames, int flags, bl_err *err)
{
    assert(frames->count >= 1 && frames->count <= BL_MSG_MAX_FRAMES);
    for (int i = 0; i < frames->count; i++) {
        const bl_frame *fr = &frames->frame[i];
        zmq_msg_t m;
        if (zmq_msg_init_size(&m, fr->size) != 0)
            return bl_err_set(err, BL_EIO, "zmq_msg_init_size: %s",
                              zmq_strerror(errno));
        if (fr->size)
            memcpy(zmq_msg_data(&m), fr->data, fr->size);
        /* ZeroMQ accepts or refuses a multipart message as a whole at its
         * first part, so only that part may honour ZMQ_DONTWAIT; later
         * parts are queued and must not be abandoned halfway. */
        int f = i == 0 ? flags : flags & ~ZMQ_DONTWAIT;
        if (i + 1 < frames->count)
            f |= ZMQ_SNDMORE;
        int r;
        while ((r = zmq_msg_send(&m, socket, f)) < 0 && i > 0 && errno == EINTR)
            ;
        if (r < 0) {
            int e = errno;
            zmq_msg_close(&m);
            if (i == 0 && e == EAGAIN)
                return bl_err_set(err, BL_EAGAIN, "send: would block");
            return bl_err_set(err, BL_EIO, "send frame %d: %s", i,
                              zmq_strerror(e));
        }
    }
    return BL_OK;
}

int bl_msg_recv(void *socket, bl_frames *frames, size_t max_frame_bytes,
                int flags, bl_err *err)
{
    if (max_frame_bytes == 0) {
        bl_msg_limits lim;
        bl_msg_limits_default(&lim);
        max_frame_bytes = lim.max_frame_bytes;
    }
    frames->count = 0;
    int rc = BL_OK, parts = 0;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        /* Parts after the first are already here (multipart messages
         * arrive whole), so only the first may be non-blocking. */
        int r;
        while ((r = zmq_msg_recv(&m, socket, parts ? flags & ~ZMQ_DONTWAIT
                                                    : flags)) < 0 &&
               parts > 0 && errno == EINTR)
            ;
        if (r < 0) {
            int e = errno;
            zmq_msg_close(&m);
            bl_frames_free(frames);
            if (parts == 0 && e == EAGAIN)
                return bl_err_set(err, BL_EAGAIN, "receive: nothing waiting");
            return bl_err_set(err, BL_EIO, "receive frame %d: %s", parts,
                              zmq_strerror(e));
        }
        size_t size = zmq_msg_size(&m);
        int more = zmq_msg_more(&m);
        parts++;
        /* After a fault keep reading (and dropping) the rest of the
         * message: the next receive must start at a message boundary. */
        if (rc == BL_OK && parts > BL_MSG_MAX_FRAMES) {
            rc = BL_EFORMAT;
        } else if (rc == BL_OK && size > max_frame_bytes) {
            rc = bl_err_set(err, BL_ELIMIT, "received frame %d: %zu bytes, "
                            "above the limit of %zu", parts - 1, size,
                            max_frame_bytes);
        } else if (rc == BL_OK) {
            bl_frame *fr = &frames->frame[frames->count++];
            fr->size = size;
            fr->data = bl_xmalloc(size);
            if (size)
                memcpy(fr->data, zmq_msg_data(&m), size);
        }
        zmq_msg_close(&m);
        if (!more)
            break;
    }
    if (rc == BL_EFORMAT)
        bl_err_set(err, rc, "received message of %d frames (at most %d)", parts,
                   BL_MSG_MAX_FRAMES);
    if (rc)
        bl_frames_free(frames);
    return rc;
}
