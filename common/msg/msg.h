/*
 * msg: the wire format between stages.
 *
 * Every message is a multipart ZeroMQ message. Frame 0 is a fixed 64-byte,
 * little-endian header (bl_msg_header). The remaining frames depend on the
 * type and are described in msg.c. Decoding checks every length against
 * the frame it came from and against bl_msg_limits before allocating; a
 * malformed message yields BL_EFORMAT or BL_ELIMIT with a reason, never a
 * crash.
 *
 * The unit of work that flows through the pipeline is one page
 * (bl_work): ingest fills the page raster; detect adds fields (with their
 * crops); segment adds digits (with their 28x28 crops) and drops the page
 * raster; classify fills the digits' classes; the writer stores it all in
 * one transaction.
 */
#ifndef BL_MSG_H
#define BL_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "image/image.h"
#include "util/util.h"

#define BL_MSG_MAGIC 0x52544c42u /* "BLTR" little-endian */
#define BL_MSG_VERSION 2
#define BL_MSG_HEADER_SIZE 64

typedef enum {
    BL_MSG_FEED = 1,   /* front end -> ingest: a file to read (bl_note) */
    BL_MSG_WORK = 2,   /* stage -> stage: one page of work (bl_work) */
    BL_MSG_EVENT = 3,  /* any stage -> front end / writer (bl_note) */
    BL_MSG_CONTROL = 4 /* front end -> stage: commands (bl_note) */
} bl_msg_type;

typedef struct bl_msg_header {
    uint32_t magic;
    uint16_t version;
    uint16_t type;        /* bl_msg_type */
    uint64_t batch_id;
    uint64_t doc_id;      /* one input file */
    uint32_t page_index;  /* 0-based page within the file */
    uint32_t field_count; /* WORK: fields carried; others: 0 */
    uint64_t t_origin_ns; /* wall clock when the work entered the pipeline */
    uint64_t t_sent_ns;   /* wall clock when this hop sent it */
    uint32_t stage;       /* bl_stage_id of the sender */
    uint32_t flags;
    uint32_t reserved[2];
} bl_msg_header;

/* Stage ids, also used as array indices. */
typedef enum {
    BL_STAGE_FRONT = 0,
    BL_STAGE_INGEST = 1,
    BL_STAGE_DETECT = 2,
    BL_STAGE_SEGMENT = 3,
    BL_STAGE_CLASSIFY = 4,
    BL_STAGE_WRITE = 5,
    BL_STAGE_COUNT = 6
} bl_stage_id;

const char *bl_stage_name(bl_stage_id id); /* "ingest", ... */
/* Returns the id for a name, or -1. */
int bl_stage_from_name(const char *name);

typedef struct bl_msg_limits {
    size_t max_frame_bytes;  /* default 256 MiB */
    uint32_t max_fields;     /* per page; default 256 */
    uint32_t max_digits;     /* per page; default 4096 */
    uint64_t max_pixels;     /* per raster; default 100,000,000 */
} bl_msg_limits;

void bl_msg_limits_default(bl_msg_limits *limits);

/* A frame as bytes: encode produces these (malloc'd data the caller frees
 * with bl_frames_free); decode borrows them. */
typedef struct bl_frame {
    uint8_t *data;
    size_t size;
} bl_frame;

#define BL_MSG_MAX_FRAMES 16

typedef struct bl_frames {
    int count;
    bl_frame frame[BL_MSG_MAX_FRAMES];
} bl_frames;

void bl_frames_free(bl_frames *frames);

/* Header: encode into 64 bytes; decode validates magic, version, type. */
void bl_msg_header_encode(const bl_msg_header *hdr, uint8_t out[BL_MSG_HEADER_SIZE]);
int bl_msg_header_decode(bl_msg_header *hdr, const uint8_t *data, size_t size,
                         bl_err *err);

/* ---- Notes: FEED, EVENT, CONTROL -----------------------------------------
 * A note carries a kind word and a few strings and numbers. Used for: FEED
 * (kind "file", path, batch), EVENT (kind "ready" / "page-stored" /
 * "file-pages" / "error" / "stats"), CONTROL (kind "stop" / "swap", path).
 */
#define BL_NOTE_TEXT_MAX 4096

typedef struct bl_note {
    char kind[32];
    char path[BL_NOTE_TEXT_MAX];   /* file path, model path */
    char batch[256];               /* batch name */
    char text[BL_NOTE_TEXT_MAX];   /* human-readable message / key=value list */
    int64_t num[4];                /* kind-specific numbers */
} bl_note;

int bl_msg_encode_note(const bl_msg_header *hdr, const bl_note *note,
                       bl_frames *out);
int bl_msg_decode_note(const bl_frames *in, bl_msg_header *hdr, bl_note *note,
                       bl_err *err);

/* ---- Work: one page ----------------------------------------------------- */

/* Affine map from normalised-page pixels to the input file's own pixels:
 *   src_x = a*x + b*y + c,  src_y = d*x + e*y + f. */
typedef struct bl_transform {
    double a, b, c, d, e, f;
} bl_transform;

#define BL_NAME_MAX 64
#define BL_MODEL_ID_MAX 64
#define BL_RULE_MAX 128

/* A field's validation rule travels from the form template that named the
 * field to the writer's review gate, as a ';'-separated list of key=value
 * hints ("len=8;date=DDMMYYYY"); empty when no template matched. The
 * writer interprets it; the stages in between only carry it. */
typedef struct bl_work_field {
    char name[BL_NAME_MAX];   /* template name or "field_N" */
    char rule[BL_RULE_MAX];   /* validation hints, "" for none */
    bl_box box;               /* in normalised-page pixels */
    bl_box src_box;           /* in the input file's pixels */
    bl_image *crop;           /* binarised crop (1 = ink) or NULL */
    uint32_t first_digit;     /* index into digits[] */
    uint32_t digit_count;
} bl_work_field;

typedef struct bl_work_digit {
    bl_box box;                         /* in normalised-page pixels */
    uint8_t pixels[BL_MNIST_PIXELS];    /* MNIST-normalised crop */
    int32_t cls;                        /* -1 until classified */
    float prob[10];                     /* class probabilities */
} bl_work_digit;

typedef struct bl_work {
    char batch[256];
    char source_path[BL_NOTE_TEXT_MAX];
    uint32_t page_count;       /* pages in the source file */
    int32_t src_width, src_height;
    double dpi_x, dpi_y;       /* the source page's resolution */
    bl_transform to_source;
    double rotation_deg;       /* applied by ingest */
    double skew_deg;           /* measured by ingest */
    uint64_t content_hash;
    char model[BL_STAGE_COUNT][BL_MODEL_ID_MAX]; /* model id per stage */
    bl_image *page;            /* binarised page (1 = ink) or NULL */
    uint32_t field_count;
    bl_work_field *fields;
    uint32_t digit_count;
    bl_work_digit *digits;
} bl_work;

bl_work *bl_work_new(void);
void bl_work_destroy(bl_work **self);
/* Appends a field (takes ownership of *crop, which is set to NULL). */
bl_work_field *bl_work_add_field(bl_work *self, const char *name, bl_box box,
                                 bl_image **crop);
bl_work_digit *bl_work_add_digit(bl_work *self, uint32_t field_index, bl_box box);

/* Encodes the header (type WORK) and the work into frames. Rasters are sent
 * bit-packed when binarised. */
int bl_msg_encode_work(const bl_msg_header *hdr, const bl_work *work,
                       bl_frames *out);
/* Decodes into a new bl_work (*out), validating every count and size. */
int bl_msg_decode_work(const bl_frames *in, const bl_msg_limits *limits,
                       bl_msg_header *hdr, bl_work **out, bl_err *err);

/* ---- ZeroMQ glue -------------------------------------------------------- */

/* Sends frames as one multipart message (the frames stay owned by the
 * caller). Returns BL_OK, BL_EAGAIN (would block with ZMQ_DONTWAIT) or
 * BL_EIO. */
int bl_msg_send(void *socket, const bl_frames *frames, int flags, bl_err *err);

/* Receives one multipart message into frames (bl_frames_free after).
 * A message with more than BL_MSG_MAX_FRAMES frames or a frame above
 * max_frame_bytes is drained and rejected with BL_EFORMAT/BL_ELIMIT. */
int bl_msg_recv(void *socket, bl_frames *frames, size_t max_frame_bytes,
                int flags, bl_err *err);

#endif
