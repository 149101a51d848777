/*
 * samples_page: one synthetic record-card page and its truth (see the
 * header for what a page holds and its limits).
 *
 * Composition: everything is drawn into an ink layer (0 = paper,
 * 255 = full ink) by taking the maximum, the way overlapping strokes of
 * dark ink look on paper; printed parts are full ink, hand-writing is the
 * MNIST gray level times a per-page pen darkness. The page is binarised at
 * half ink (>= 128), and each digit's truth box is the box of its own
 * pixels at or above that level: the layout keeps every printed element
 * and ruled line at least 15 px away from the writing, so no other source
 * contributes ink inside a digit's box.
 *
 * Digits: an MNIST sample of the wanted class is cropped to its ink and
 * scaled (bl_image_scale) to a height drawn around the page's writer height
 * (50-110 px, +-10% per digit), placed with gaps of 5-25 px between ink
 * boxes and +-4 px of baseline jitter, so in this version digits never
 * touch.
 */
#include "blotter/samples_page.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blotter/samples_font.h"

/* ---- RNG ---------------------------------------------------------------- */

void bl_samples_rng_seed(bl_samples_rng *rng, uint64_t seed)
{
    rng->state = seed;
}

uint64_t bl_samples_rng_next(bl_samples_rng *rng)
{
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int bl_samples_rng_int(bl_samples_rng *rng, int lo, int hi)
{
    assert(lo <= hi);
    uint64_t span = (uint64_t)((int64_t)hi - lo) + 1;
    /* The modulo bias is below 2^-32 for spans this small. */
    return (int)((int64_t)lo + (int64_t)(bl_samples_rng_next(rng) % span));
}

double bl_samples_rng_real(bl_samples_rng *rng, double lo, double hi)
{
    double u = (double)(bl_samples_rng_next(rng) >> 11) * 0x1.0p-53;
    return lo + u * (hi - lo);
}

/* ---- Source ------------------------------------------------------------- */

int bl_samples_source_init(bl_samples_source *self, const bl_mnist *mnist,
                           bl_err *err)
{
    memset(self, 0, sizeof *self);
    self->mnist = mnist;
    for (int i = 0; i < mnist->count; i++)
        if (mnist->labels[i] <= 9)
            self->nby_label[mnist->labels[i]]++;
    for (int d = 0; d < 10; d++) {
        if (self->nby_label[d] == 0) {
            bl_samples_source_free(self);
            return bl_err_set(err, BL_EFORMAT, "mnist: no samples of digit %d",
                              d);
        }
        self->by_label[d] = bl_xmalloc(sizeof(int) * (size_t)self->nby_label[d]);
        self->nby_label[d] = 0;
    }
    for (int i = 0; i < mnist->count; i++) {
        int d = mnist->labels[i];
        if (d <= 9)
            self->by_label[d][self->nby_label[d]++] = i;
    }
    return BL_OK;
}

void bl_samples_source_free(bl_samples_source *self)
{
    for (int d = 0; d < 10; d++) {
        free(self->by_label[d]);
        self->by_label[d] = NULL;
        self->nby_label[d] = 0;
    }
}

/* ---- Drawing ------------------------------------------------------------ */

enum {
    INK_LEVEL = 128,     /* binarisation threshold of the ink layer */
    MARGIN_X = 150,      /* left and right print margins, px */
    LABEL_SCALE = 4,     /* 28 px labels: 10-12 pt print */
    TITLE_SCALE = 5,     /* 35 px title: 14 pt, still below hand-writing */
    SMALL_SCALE = 3,     /* 21 px small print */
    LABEL_GAP = 80,      /* label to first digit */
    FIELD_GAP = 140,     /* a field's end to the next label in a row */
    LINE = 3             /* ruled line thickness */
};

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

static void fill_rect(bl_image *ink, int x, int y, int w, int h)
{
    int x0 = imax(x, 0), y0 = imax(y, 0);
    int x1 = imin(x + w, ink->width), y1 = imin(y + h, ink->height);
    for (int yy = y0; yy < y1; yy++)
        memset(&BL_PIX(ink, x0, yy), 255, (size_t)imax(x1 - x0, 0));
}

static void outline_rect(bl_image *ink, int x, int y, int w, int h, int t)
{
    fill_rect(ink, x, y, w, t);
    fill_rect(ink, x, y + h - t, w, t);
    fill_rect(ink, x, y, t, h);
    fill_rect(ink, x + w - t, y, t, h);
}

static bl_box box_union(bl_box a, bl_box b)
{
    if (a.w == 0)
        return b;
    int x0 = imin(a.x, b.x), y0 = imin(a.y, b.y);
    int x1 = imax(a.x + a.w, b.x + b.w), y1 = imax(a.y + a.h, b.y + b.h);
    return (bl_box){x0, y0, x1 - x0, y1 - y0};
}

/* ---- Layout ------------------------------------------------------------- */

typedef struct field_kind {
    const char *name;
    const char *label;
    int min_digits, max_digits;
} field_kind;

static const field_kind KINDS[] = {
    {"case_number", "CASE NO.", 5, 8},
    {"date", "DATE", 8, 8},
    {"badge_number", "BADGE NO.", 3, 5},
    {"phone", "PHONE", 10, 10},
    {"station", "STATION", 3, 3},
    {"amount", "AMOUNT", 3, 6},
    {"vehicle_reg", "VEHICLE REG.", 4, 7},
    {"postcode", "POSTCODE", 5, 5},
    {"report_number", "REPORT NO.", 6, 9},
    {"officer_id", "OFFICER ID", 4, 6},
};
enum { NKINDS = sizeof KINDS / sizeof KINDS[0] };

typedef struct layout {
    const char *name;
    const char *title;
    int framed;
} layout;

static const layout LAYOUTS[] = {
    {"arrest_record", "ARREST RECORD", 1},
    {"incident_report", "INCIDENT REPORT", 0},
    {"property_receipt", "PROPERTY RECEIPT", 1},
};

static void make_value(bl_samples_rng *rng, const field_kind *k, char *value)
{
    if (strcmp(k->name, "date") == 0) {
        /* DDMMYYYY, a plausible date of the paper archive era. */
        snprintf(value, BL_SAMPLES_MAX_DIGITS + 1, "%02d%02d%04d",
                 bl_samples_rng_int(rng, 1, 28), bl_samples_rng_int(rng, 1, 12),
                 bl_samples_rng_int(rng, 1950, 1999));
        return;
    }
    int n = bl_samples_rng_int(rng, k->min_digits, k->max_digits);
    for (int i = 0; i < n; i++)
        value[i] = (char)('0' + bl_samples_rng_int(rng, 0, 9));
    value[n] = '\0';
}

/* One hand-written digit ready to place: its ink-layer image and the box of
 * the pixels that binarise to ink. */
typedef struct glyph_img {
    bl_image *img;   /* 0 = paper, 255 = ink, already times the pen */
    bl_box ink;      /* in img pixels */
} glyph_img;

/* Scales an MNIST sample of class d to height about `height`; retries with
 * another sample in the rare case nothing reaches the ink level. */
static glyph_img make_digit(const bl_samples_source *src, bl_samples_rng *rng,
                            int d, int height, int pen)
{
    const bl_mnist *m = src->mnist;
    for (;;) {
        int idx = src->by_label[d][bl_samples_rng_int(rng, 0, src->nby_label[d] - 1)];
        const uint8_t *px = m->images + (size_t)idx * (size_t)(m->rows * m->cols);
        int x0 = m->cols, y0 = m->rows, x1 = -1, y1 = -1;
        for (int y = 0; y < m->rows; y++)
            for (int x = 0; x < m->cols; x++)
                if (px[y * m->cols + x] > 0) {
                    x0 = imin(x0, x);
                    x1 = imax(x1, x);
                    y0 = imin(y0, y);
                    y1 = imax(y1, y);
                }
        if (x1 < 0)
            continue;
        bl_image *crop = bl_image_new(x1 - x0 + 1, y1 - y0 + 1);
        for (int y = 0; y < crop->height; y++)
            for (int x = 0; x < crop->width; x++)
                BL_PIX(crop, x, y) = px[(y + y0) * m->cols + x + x0];
        double s = (double)height / crop->height;
        bl_image *img = bl_image_scale(crop, s, s);
        bl_image_destroy(&crop);

        int ix0 = img->width, iy0 = img->height, ix1 = -1, iy1 = -1;
        for (int y = 0; y < img->height; y++)
            for (int x = 0; x < img->width; x++) {
                int v = BL_PIX(img, x, y) * pen / 255;
                BL_PIX(img, x, y) = (uint8_t)v;
                if (v >= INK_LEVEL) {
                    ix0 = imin(ix0, x);
                    ix1 = imax(ix1, x);
                    iy0 = imin(iy0, y);
                    iy1 = imax(iy1, y);
                }
            }
        if (ix1 < 0) {
            bl_image_destroy(&img);
            continue;
        }
        return (glyph_img){img, {ix0, iy0, ix1 - ix0 + 1, iy1 - iy0 + 1}};
    }
}

/* Composes g with its image's top-left at (x, y): ink is the maximum. */
static void stamp(bl_image *ink, const glyph_img *g, int x, int y)
{
    for (int yy = 0; yy < g->img->height; yy++) {
        int py = y + yy;
        if (py < 0 || py >= ink->height)
            continue;
        for (int xx = 0; xx < g->img->width; xx++) {
            int px = x + xx;
            if (px < 0 || px >= ink->width)
                continue;
            uint8_t v = BL_PIX(g->img, xx, yy);
            if (v > BL_PIX(ink, px, py))
                BL_PIX(ink, px, py) = v;
        }
    }
}

bl_image *bl_samples_render_page(const bl_samples_source *src, uint64_t seed,
                                 bl_samples_page *truth)
{
    bl_samples_rng rng;
    bl_samples_rng_seed(&rng, seed);
    memset(truth, 0, sizeof *truth);
    truth->width = BL_SAMPLES_WIDTH;
    truth->height = BL_SAMPLES_HEIGHT;

    bl_image *ink = bl_image_new(BL_SAMPLES_WIDTH, BL_SAMPLES_HEIGHT);
    const layout *lay = &LAYOUTS[bl_samples_rng_int(&rng, 0, 2)];
    bl_strlcpy(truth->layout, lay->name, sizeof truth->layout);
    int right = BL_SAMPLES_WIDTH - MARGIN_X;

    /* Printed header, rule and footer: text 21-35 px tall, not fields. */
    if (lay->framed)
        outline_rect(ink, 90, 90, BL_SAMPLES_WIDTH - 180,
                     BL_SAMPLES_HEIGHT - 180, 4);
    bl_samples_font_draw(ink, MARGIN_X, 160, TITLE_SCALE, lay->title);
    bl_samples_font_draw(ink, MARGIN_X, 230, SMALL_SCALE,
                         "METROPOLITAN POLICE - RECORDS DIVISION");
    fill_rect(ink, MARGIN_X, 290, right - MARGIN_X, 5);
    bl_samples_font_draw(ink, MARGIN_X, 320, SMALL_SCALE,
                         "WRITE IN INK. ONE DIGIT PER POSITION. DO NOT FOLD.");
    char form[48];
    snprintf(form, sizeof form, "FORM %d-%c REV %d",
             bl_samples_rng_int(&rng, 10, 99),
             (char)('A' + bl_samples_rng_int(&rng, 0, 25)),
             bl_samples_rng_int(&rng, 1, 9));
    bl_samples_font_draw(ink, MARGIN_X, BL_SAMPLES_HEIGHT - 220, SMALL_SCALE,
                         form);

    /* The page's writer: one hand, one pen. */
    int writer_h = bl_samples_rng_int(&rng, 50, 110);
    int pen = bl_samples_rng_int(&rng, 215, 255);

    /* Which fields: a random subset, kept in the form's order. */
    int order[NKINDS];
    for (int i = 0; i < NKINDS; i++)
        order[i] = i;
    int nfields = bl_samples_rng_int(&rng, 4, BL_SAMPLES_MAX_FIELDS);
    for (int i = 0; i < nfields; i++) {
        int j = bl_samples_rng_int(&rng, i, NKINDS - 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    int chosen[NKINDS] = {0};
    for (int i = 0; i < nfields; i++)
        chosen[order[i]] = 1;

    int row_top = 480, row_x = -1; /* row_x < 0: the row is empty */
    int row_pitch = (int)(1.1 * writer_h) + 8 + 2 * 30;
    int label_h = BL_SAMPLES_FONT_ROWS * LABEL_SCALE;
    for (int k = 0; k < NKINDS; k++) {
        if (!chosen[k])
            continue;
        const field_kind *kind = &KINDS[k];
        bl_samples_field *f = &truth->fields[truth->nfields];
        bl_strlcpy(f->name, kind->name, sizeof f->name);
        make_value(&rng, kind, f->value);
        int n = (int)strlen(f->value);

        glyph_img g[BL_SAMPLES_MAX_DIGITS];
        int gaps[BL_SAMPLES_MAX_DIGITS], jitter[BL_SAMPLES_MAX_DIGITS];
        int width = 0;
        for (int i = 0; i < n; i++) {
            int h = (int)lround(writer_h * bl_samples_rng_real(&rng, 0.9, 1.1));
            g[i] = make_digit(src, &rng, f->value[i] - '0', h, pen);
            gaps[i] = i > 0 ? bl_samples_rng_int(&rng, 5, 25) : 0;
            jitter[i] = bl_samples_rng_int(&rng, -4, 4);
            width += gaps[i] + g[i].ink.w;
        }
        int decoration = bl_samples_rng_int(&rng, 0, 2); /* box, line, none */
        int margin = bl_samples_rng_int(&rng, 18, 30);

        int label_w = bl_samples_font_width(kind->label, LABEL_SCALE);
        int need = label_w + LABEL_GAP + width + margin + LINE;
        int x;
        if (row_x >= 0 && row_x + FIELD_GAP + need <= right) {
            x = row_x + FIELD_GAP;
        } else {
            if (row_x >= 0)
                row_top += row_pitch + bl_samples_rng_int(&rng, 50, 110);
            x = MARGIN_X;
        }
        int baseline = row_top + 30 + (int)(1.1 * writer_h) + 4;

        bl_samples_font_draw(ink, x, baseline - label_h, LABEL_SCALE,
                             kind->label);
        int pen_x = x + label_w + LABEL_GAP;
        f->box = (bl_box){0, 0, 0, 0};
        for (int i = 0; i < n; i++) {
            pen_x += gaps[i];
            int ox = pen_x - g[i].ink.x;
            int oy = baseline + jitter[i] - (g[i].ink.y + g[i].ink.h);
            stamp(ink, &g[i], ox, oy);
            bl_box b = {ox + g[i].ink.x, oy + g[i].ink.y, g[i].ink.w, g[i].ink.h};
            f->digits[i] = b;
            f->box = box_union(f->box, b);
            pen_x += g[i].ink.w;
            bl_image_destroy(&g[i].img);
        }
        f->ndigits = n;

        bl_box b = f->box;
        if (decoration == 0)
            outline_rect(ink, b.x - margin, b.y - margin, b.w + 2 * margin,
                         b.h + 2 * margin, LINE);
        else if (decoration == 1)
            fill_rect(ink, b.x - 10, b.y + b.h + margin, b.w + 20, LINE);
        row_x = b.x + b.w + margin + LINE;
        truth->nfields++;
    }

    bl_image *bin = bl_image_new(BL_SAMPLES_WIDTH, BL_SAMPLES_HEIGHT);
    for (int y = 0; y < ink->height; y++)
        for (int x = 0; x < ink->width; x++)
            BL_PIX(bin, x, y) = BL_PIX(ink, x, y) >= INK_LEVEL;
    bl_image_destroy(&ink);
    return bin;
}
