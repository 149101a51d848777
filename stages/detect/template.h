/*
 * template: form templates, one INI file per known form layout
 * (templates/NAME.ini, read with libinih), and their matching against a
 * page's printed lines. docs/DETECTION.md describes the format, the
 * matching and its limits.
 *
 * Coordinates are pixels of the normalised page detect receives (300 dpi,
 * upright, deskewed), origin top left, on the unshifted sheet; a scanned
 * sheet may sit shifted by some tens of pixels, which matching finds.
 */
#ifndef BL_DETECT_TEMPLATE_H
#define BL_DETECT_TEMPLATE_H

#include <stdint.h>

#include "image/bitmap.h"
#include "msg/msg.h"
#include "util/util.h"

#define BL_TEMPLATE_NAME_MAX 41  /* [a-z0-9_]{1,40} and the NUL */
#define BL_TEMPLATE_TEXT_MAX 128 /* title, label */
#define BL_TEMPLATE_MAX_LINES 512
#define BL_TEMPLATE_MAX_FIELDS 128
#define BL_TEMPLATE_MAX_FILES 256
/* A page matches a template when its score reaches the template's
 * min_score, by default this. */
#define BL_TEMPLATE_MIN_SCORE 0.6f
/* Largest sheet shift searched, in pixels, in x and in y. */
#define BL_TEMPLATE_MAX_SHIFT 100

typedef struct bl_template_line {
    int vertical;  /* 0 = h, 1 = v */
    bl_box box;    /* the line's pixels: h: X Y LENGTH THICKNESS;
                      v: X Y THICKNESS LENGTH */
} bl_template_line;

typedef struct bl_template_field {
    char name[BL_TEMPLATE_NAME_MAX];
    bl_box box;                      /* where its writing lies */
    char rule[BL_RULE_MAX];          /* "" for none */
    char label[BL_TEMPLATE_TEXT_MAX];
} bl_template_field;

typedef struct bl_template {
    char name[BL_TEMPLATE_NAME_MAX];
    char title[BL_TEMPLATE_TEXT_MAX];
    char path[512];                  /* the file, for messages */
    int width, height;
    float min_score;
    bl_template_line *lines;
    int nlines;
    bl_template_field *fields;
    int nfields;
} bl_template;

/* The templates of one directory, sorted by file name. */
typedef struct bl_template_set {
    bl_template *t;
    int count;
} bl_template_set;

/* Loads one template file into *out (freed with bl_template_free). Errors
 * name the file and line: "DIR/x.ini:12: [field date] box: not 4
 * integers: '1 2 3'". */
int bl_template_load(const char *path, bl_template *out, bl_err *err);
void bl_template_free(bl_template *self);

/* Loads every *.ini of dir, sorted by name; all or nothing (the first bad
 * file fails the whole load). Two templates of the same name are an
 * error naming the second file and line. An empty directory gives an empty
 * set. */
int bl_template_set_load(const char *dir, bl_template_set **out, bl_err *err);
void bl_template_set_destroy(bl_template_set **self);

/* A fingerprint of the *.ini files of dir (names, sizes, modification
 * times): it changes when a file is added, removed or changed. 0 when the
 * directory cannot be read. */
uint64_t bl_template_dir_stamp(const char *dir);

/* A template directory kept current while a stage runs: adding, removing
 * or changing a file takes effect without a restart. */
typedef struct bl_template_watch {
    char dir[1024];
    uint64_t stamp;      /* bl_template_dir_stamp at the last read */
    uint64_t checked_ns; /* monotonic time of the last look */
    bl_template_set *set;
    int missing;         /* the directory did not exist at open */
} bl_template_watch;

/* Loads dir ("" = no templates: an empty set that never changes). A bad
 * file fails with FILE:LINE: reason. A directory that does not exist
 * gives an empty set and sets `missing` (the caller warns); it is read
 * when it appears. */
int bl_template_watch_open(bl_template_watch *w, const char *dir, bl_err *err);
/* Looks at the directory when a second has passed since the last look
 * (now_ns: bl_time_mono_ns) and re-reads it when its stamp changed.
 * Returns 1 when a new set replaced w->set, 0 when nothing changed, or an
 * error (FILE:LINE: reason) when the changed directory holds a bad file:
 * the previous set stays, and the same state is not reported again. */
int bl_template_watch_poll(bl_template_watch *w, uint64_t now_ns, bl_err *err);
void bl_template_watch_close(bl_template_watch *w);

/* The result of matching a page. */
typedef struct bl_template_match {
    int index;      /* of the matched template in the set, -1 for none */
    int dx, dy;     /* the sheet's shift: page = template + (dx, dy) */
    float score;    /* of the best template, 0..1 */
    float recall;   /* its lines' length found on the page */
    float precision;/* the page's line pixels its lines explain */
} bl_template_match;

/* Matches the line pixels of a page (`lines`, 1 = a pixel line removal
 * erased) against every template: for each, the shift within
 * +-BL_TEMPLATE_MAX_SHIFT that best aligns its lines with the page's, and
 * a score, min(recall, precision), where recall is the share of the
 * template's line length found on the page within a few pixels and
 * precision the share of the page's line pixels lying on the template's
 * lines. The best template whose score reaches its min_score wins; none
 * gives index -1 (with the best score seen, for logs). */
void bl_template_match_page(const bl_template_set *set, const bl_bitmap *lines,
                            bl_template_match *out);

/* Scores one template at one shift (for tests and the matcher). */
float bl_template_score(const bl_template *t, const bl_bitmap *lines, int dx, int dy,
                        float *recall, float *precision);

#endif
