/*
 * ingest: turns one decoded scan page into the pipeline's canonical page:
 * 300 dpi, binarised (1 = ink), cleaned, upright and level, with the
 * transform back to the file's own pixels. Pure functions; no sockets.
 * docs/INGEST.md describes the steps and their limits.
 */
#ifndef BL_INGEST_H
#define BL_INGEST_H

#include "image/bitmap.h"
#include "image/image.h"
#include "msg/msg.h"
#include "util/util.h"

#define BL_CANONICAL_DPI 300.0

/* Sauvola window half-side and k at 300 dpi (binarize.c). */
#define BL_INGEST_SAUVOLA_HALF 15
#define BL_INGEST_SAUVOLA_K 0.2
/* Specks: components of at most this many pixels within this box side. */
#define BL_INGEST_SPECK_PIXELS 30
#define BL_INGEST_SPECK_SIDE 8
/* Largest skew searched, degrees either way. */
#define BL_INGEST_MAX_SKEW 12.0
/* Smaller measured skews are recorded but not corrected: a turn by less
 * than this moves no pixel of an A4 page by more than 3 pixels. */
#define BL_INGEST_MIN_SKEW 0.1
/* Gray pages: pixels darker than this fraction of the page's paper level
 * (its median gray) are ink whatever Sauvola's window says, so a dark
 * scanner lid stays solid instead of being hollowed to its outline. */
#define BL_INGEST_SOLID_OF_PAPER 0.5
/* Blank: a page is blank when, after cleaning, the ink of its marks is
 * below BLANK_FRACTION of its area (a hand-written digit alone is about
 * 1e-4 of an A4 page). Marks are components whose box is at least
 * MARK_SIDE px on its longer side (dust and toner dots are smaller) and
 * that do not lie wholly within BLANK_MARGIN px of the page's border
 * (remnants of dark edges). Pages with more than BLANK_CHECK of their area
 * in ink are not blank and are not examined further. */
#define BL_INGEST_BLANK_FRACTION 5e-5
#define BL_INGEST_MARK_SIDE 32
#define BL_INGEST_BLANK_MARGIN 64
#define BL_INGEST_BLANK_CHECK 1e-2

/* The orientation model's input: a THUMB x THUMB ink-density thumbnail of
 * the page (longer side scaled to THUMB, centred), each value the square
 * root of the ink fraction of its cell. Output: 4 classes, the clockwise
 * quarter turns (0, 90, 180, 270) the page has in the file. */
#define BL_INGEST_THUMB 32
#define BL_INGEST_CLASSES 4
#define BL_INGEST_MODEL_KIND "ingest"

/* What ingest found on a page, for tests, eval and logs. */
typedef struct bl_ingest_result {
    int blank;            /* no ink after cleaning: the page is left empty */
    int quarter_turns;    /* 0..3, clockwise turns found in the file */
    double orient_prob;   /* the model's probability for it; 0 without a model */
    double skew;          /* degrees, clockwise positive, measured */
    double skew_conf;     /* Postl criterion best/worst; ~1 = no lines */
    int skew_applied;     /* 1 if the page was turned to undo the skew */
    int edges;            /* dark edge sides removed (clean.c mask) */
    int specks;           /* specks removed */
    double ink;           /* ink left after cleaning, fraction of the page */
    double mark_ink;      /* the part of it in marks (see BLANK_*); 0 when not examined */
} bl_ingest_result;

typedef struct bl_ingest bl_ingest;

/* A normaliser. model_path NULL or "" means no orientation model: every
 * page is taken as upright (quarter_turns 0). A model must be a .blm of
 * kind "ingest" whose network takes 1 x THUMB x THUMB and has 4 classes;
 * otherwise NULL with a message naming the file. */
bl_ingest *bl_ingest_new(const char *model_path, bl_err *err);
void bl_ingest_destroy(bl_ingest **self);
/* "name@version:crc" of the model, or "" without one. Borrowed. */
const char *bl_ingest_model_id(const bl_ingest *self);

/* Process setting for a process that ingests page after page (the stage,
 * its benchmark): the C library keeps freed page-sized buffers for the
 * next page instead of returning them to the kernel, which otherwise hands
 * them back as fresh zeroed pages, one fault per 4 KiB (about a third of a
 * G4 page's CPU time). Peak memory is unchanged; the resident size stays
 * at its peak between pages. A no-op outside glibc. */
void bl_ingest_keep_memory(void);

/* Normalises `gray` (0 black .. 255 white) described by `info` and stores
 * the result in work->page (a new binary page), work->to_source (page
 * points -> file points, composing scale, quarter turn and deskew),
 * rotation_deg (the clockwise turn undone, k * 90), skew_deg (measured),
 * the source size and dpi, the content hash and, with a model,
 * work->model[BL_STAGE_INGEST]. work->page must be NULL on entry. self may
 * be NULL (no model); res may be NULL. */
int bl_ingest_run(bl_ingest *self, const bl_image *gray, const bl_page_info *info,
                  bl_work *work, bl_ingest_result *res, bl_err *err);

/* bl_ingest_run without a model and without a result. */
int bl_ingest_page(const bl_image *gray, const bl_page_info *info, bl_work *work,
                   bl_err *err);

/* ---- The steps, for training and evaluation ----------------------------- */

/* Resamples to 300 dpi and binarises (Sauvola for gray files, a fixed
 * threshold at 128 for bilevel ones), then removes dark edges and specks.
 * *bin is new; *sx, *sy the actual scale factors (page px per file px). */
int bl_ingest_binarize(const bl_image *gray, const bl_page_info *info, bl_image **bin,
                       double *sx, double *sy, bl_ingest_result *res, bl_err *err);

/* The same, leaving the page as a bitmap (what bl_ingest_run works on). */
int bl_ingest_binarize_bits(const bl_image *gray, const bl_page_info *info, bl_bitmap **bin,
                            double *sx, double *sy, bl_ingest_result *res, bl_err *err);

/* The model input from an ink reduction of a binary page by `factor`
 * (bl_image_reduce_ink(bin, factor)). out has THUMB * THUMB floats. */
void bl_ingest_orient_input(const bl_image *red, int factor, float *out);

#endif
