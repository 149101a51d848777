/*
 * samples_page: layout, hand-writing and marks of one synthetic page (see
 * the header for what a page holds, samples_scan.h for the scanner).
 *
 * Composition: everything is drawn at the output resolution into an
 * upright ink layer (0 = paper, 255 = full ink) by taking the maximum, the
 * way overlapping strokes of dark ink look on paper. Sizes below are in
 * pixels at 300 dpi and scaled by dpi/300 (S()).
 *
 * Hand-writing: a page has one writer, drawn once: digit height 50-110 px,
 * slant (horizontal shear) -0.15..0.35, pen weight and darkness, spacing.
 * Each digit is an MNIST sample of its class, cropped to its ink and
 * resampled bilinearly straight into the sheared, scaled glyph, then passed
 * through the pen curve (a ramp from `pen_lo` to pen_lo + 70 of MNIST's
 * gray: a high pen_lo gives a thin pen); per digit the height varies
 * +-12%, the width +-10%, the slant +-0.08 and the baseline +-6% of the
 * height. Digits are spaced 8-45% of the height apart, ink box to ink box,
 * so in an ordinary field they never touch; a touching field moves chosen
 * neighbours together row by row until their ink meets and then overlaps
 * by 0-3 px.
 *
 * Layout of a known design (draw_fixed): the design's tables
 * (samples_forms) give every line, guide and label position; the page adds
 * its shift to all of them, writes a random subset of the fields, each
 * fitted into its template box (the digit height reduced for that field
 * when the value would not fit). Layout of an unknown design
 * (draw_flowing): a header (title, department, form number, rule,
 * instructions), then the fields flowed in rows (label left or above; box,
 * underline, comb or free), then the layout's furniture (photograph frame,
 * narrative lines, item table, boilerplate paragraph, signature line).
 * Writing stays at least 230 px from the sheet's edges, so 5 degrees of
 * skew and dark edges never cut it.
 */
#include "blotter/samples_page.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blotter/pen.h"
#include "blotter/samples_forms.h"
#include "blotter/samples_scan.h"

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

/* ---- Options, sizes ------------------------------------------------------ */

void bl_samples_options_default(bl_samples_options *opt)
{
    *opt = (bl_samples_options){.dpi = BL_SAMPLES_DPI,
                                .rotate = 0.10,
                                .skew = 5.0,
                                .noise = 0.50,
                                .blur = 0.25,
                                .stamp = 0.40,
                                .scribble = 0.70,
                                .edges = 0.25,
                                .blank = 0.02,
                                .touching = 0.10,
                                .cross = 0.10,
                                .unlisted = 0.15};
}

void bl_samples_page_size(int dpi, int *width, int *height)
{
    *width = (int)lround(210.0 / 25.4 * dpi);
    *height = (int)lround(297.0 / 25.4 * dpi);
}

const char *bl_samples_style_name(bl_samples_style style)
{
    static const char *const names[] = {"box", "underline", "comb", "free"};
    return style >= 0 && style <= BL_STYLE_FREE ? names[style] : "?";
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

/* ---- Page context and drawing ------------------------------------------- */

enum {
    EDGE = 230,          /* writing keeps this far from the sheet's edges */
    INK_LEVEL = BL_PEN_INK_LEVEL, /* a glyph pixel at or above this is its ink */
    MAX_GLYPHS = BL_SAMPLES_MAX_FIELDS * BL_SAMPLES_MAX_DIGITS,
    MAX_KEEP = 64
};

typedef struct glyph {
    bl_image *img;  /* ink layer, 0..255 */
    bl_box ink;     /* pixels >= INK_LEVEL, in img coordinates */
    int x, y;       /* img's top-left, relative to its field, then page */
} glyph;

typedef struct writer {
    double h;        /* digit height, px at the page's dpi */
    double slant;    /* shear: x shift per px of height above the base */
    int pen_lo;      /* pen curve start on MNIST's gray */
    int pen;         /* darkness 0..255 */
    double space_lo, space_hi; /* gap range, times h */
} writer;

typedef struct ctx {
    bl_samples_rng rng;
    const bl_samples_source *src;
    bl_samples_fonts *fonts;
    const bl_samples_options *opt;
    double f;              /* dpi / 300 */
    bl_image *ink;         /* the upright layer */
    bl_samples_page *truth;
    writer w;
    glyph glyphs[MAX_GLYPHS];
    int glyph_field[MAX_GLYPHS], nglyphs;
    bl_box keep[MAX_KEEP]; /* writing areas that marks must avoid */
    int nkeep;
    int label_px, print;   /* label size, print darkness */
    int x0, x1;            /* writing column, page pixels */
    int sx, sy;            /* fixed forms: sheet shift, px at 300 dpi */
} ctx;

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

static int S(const ctx *c, double v) { return (int)lround(v * c->f); }
static int R(ctx *c, int lo, int hi) { return bl_samples_rng_int(&c->rng, lo, hi); }
static double U(ctx *c, double lo, double hi) { return bl_samples_rng_real(&c->rng, lo, hi); }

static void fill_rect(bl_image *ink, int x, int y, int w, int h, int level)
{
    int x0 = imax(x, 0), y0 = imax(y, 0);
    int x1 = imin(x + w, ink->width), y1 = imin(y + h, ink->height);
    for (int yy = y0; yy < y1; yy++)
        for (int xx = x0; xx < x1; xx++)
            if (BL_PIX(ink, xx, yy) < level)
                BL_PIX(ink, xx, yy) = (uint8_t)level;
}

static void outline_rect(bl_image *ink, int x, int y, int w, int h, int t,
                         int level)
{
    fill_rect(ink, x, y, w, t, level);
    fill_rect(ink, x, y + h - t, w, t, level);
    fill_rect(ink, x, y, t, h, level);
    fill_rect(ink, x + w - t, y, t, h, level);
}

static void hline(ctx *c, int x, int y, int w, int t) { fill_rect(c->ink, x, y, w, t, c->print); }
static void vline(ctx *c, int x, int y, int h, int t) { fill_rect(c->ink, x, y, t, h, c->print); }

static void text(ctx *c, bl_font_face face, int px, int x, int base, const char *s)
{
    bl_samples_text_draw(c->fonts, c->ink, face, px, x, base, c->print, s);
}

static int text_w(ctx *c, bl_font_face face, int px, const char *s)
{
    return bl_samples_text_width(c->fonts, face, px, s);
}

/* Composes src (an ink image) at (x, y), optionally scaled by level/255. */
static void compose(bl_image *ink, const bl_image *src, int x, int y, int level)
{
    for (int yy = 0; yy < src->height; yy++) {
        int py = y + yy;
        if (py < 0 || py >= ink->height)
            continue;
        for (int xx = 0; xx < src->width; xx++) {
            int px = x + xx;
            if (px < 0 || px >= ink->width)
                continue;
            int v = BL_PIX(src, xx, yy) * level / 255;
            if (v > BL_PIX(ink, px, py))
                BL_PIX(ink, px, py) = (uint8_t)v;
        }
    }
}

/* Composes src rotated by deg about its centre, centred at (cx, cy). */
static void compose_rotated(bl_image *ink, const bl_image *src, int cx, int cy,
                            double deg, int level)
{
    double t = deg * M_PI / 180, cs = cos(t), sn = sin(t);
    int r = (int)ceil(hypot(src->width, src->height) / 2) + 1;
    double scx = src->width / 2.0, scy = src->height / 2.0;
    for (int y = imax(cy - r, 0); y < imin(cy + r, ink->height); y++)
        for (int x = imax(cx - r, 0); x < imin(cx + r, ink->width); x++) {
            double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
            double u = cs * dx + sn * dy + scx - 0.5, v = -sn * dx + cs * dy + scy - 0.5;
            int u0 = (int)floor(u), v0 = (int)floor(v);
            if (u0 < -1 || v0 < -1 || u0 >= src->width || v0 >= src->height)
                continue;
            double fu = u - u0, fv = v - v0, acc = 0;
            for (int k = 0; k < 4; k++) {
                int uu = u0 + (k & 1), vv = v0 + (k >> 1);
                if (uu < 0 || vv < 0 || uu >= src->width || vv >= src->height)
                    continue;
                acc += BL_PIX(src, uu, vv) * ((k & 1) ? fu : 1 - fu) *
                       ((k >> 1) ? fv : 1 - fv);
            }
            int val = (int)(acc * level / 255);
            if (val > BL_PIX(ink, x, y))
                BL_PIX(ink, x, y) = (uint8_t)val;
        }
}

static void brush(bl_image *ink, double cx, double cy, double r, int level)
{
    for (int y = imax((int)floor(cy - r - 1), 0); y <= imin((int)ceil(cy + r + 1), ink->height - 1); y++)
        for (int x = imax((int)floor(cx - r - 1), 0); x <= imin((int)ceil(cx + r + 1), ink->width - 1); x++) {
            double d = hypot(x + 0.5 - cx, y + 0.5 - cy);
            double cov = fmin(fmax(r + 0.5 - d, 0), 1);
            int v = (int)(cov * level);
            if (v > BL_PIX(ink, x, y))
                BL_PIX(ink, x, y) = (uint8_t)v;
        }
}

static int boxes_meet(bl_box a, bl_box b)
{
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

static bl_box grow(bl_box b, int m) { return (bl_box){b.x - m, b.y - m, b.w + 2 * m, b.h + 2 * m}; }

static int is_free(const ctx *c, bl_box b)
{
    for (int i = 0; i < c->nkeep; i++)
        if (boxes_meet(b, c->keep[i]))
            return 0;
    return 1;
}

/* ---- Hand-writing -------------------------------------------------------- */

/* An MNIST sample of class d as a sheared, scaled glyph of ink height about
 * h (pen.h). Retries with another sample when nothing reaches the ink
 * level or the strokes would not survive the scanner. */
static glyph make_digit(ctx *c, int d, double h, double wscale, double slant)
{
    const bl_mnist *m = c->src->mnist;
    bl_pen pen = {h, wscale, slant, c->w.pen_lo, c->w.pen};
    for (;;) {
        int idx = c->src->by_label[d][R(c, 0, c->src->nby_label[d] - 1)];
        const uint8_t *px = m->images + (size_t)idx * (size_t)(m->rows * m->cols);
        bl_box ink;
        bl_image *img = bl_pen_glyph(px, &pen, &ink);
        if (!img)
            continue;
        if (ink.w == 0 || !bl_pen_solid_enough(img, h)) {
            bl_image_destroy(&img);
            continue;
        }
        if (c->opt->hand == BL_HAND_HEAVY)
            bl_pen_heavy(img, &ink, (int)lround(h / 20.0));
        return (glyph){img, ink, 0, 0};
    }
}

/* Smallest horizontal ink distance from a's right side to b's left side
 * (bl_pen_ink_gap), or INT32_MAX. */
static int ink_gap(const glyph *a, const glyph *b)
{
    return bl_pen_ink_gap(a->img, a->x, a->y, b->img, b->x, b->y);
}

/* ---- Fields -------------------------------------------------------------- */

typedef enum { V_PLAIN, V_DATE, V_TIME, V_PHONE, V_AMOUNT } value_kind;

typedef struct field_kind {
    const char *name, *label;
    int min_digits, max_digits;
    value_kind kind;
} field_kind;

static void make_value(ctx *c, const field_kind *k, char *value)
{
    switch (k->kind) {
    case V_DATE: /* DDMMYYYY or DDMMYY, a date of the paper archive era */
        if (k->max_digits == 6)
            snprintf(value, BL_SAMPLES_MAX_DIGITS + 1, "%02d%02d%02d", R(c, 1, 28),
                     R(c, 1, 12), R(c, 50, 99));
        else
            snprintf(value, BL_SAMPLES_MAX_DIGITS + 1, "%02d%02d%04d", R(c, 1, 28),
                     R(c, 1, 12), R(c, 1950, 1999));
        return;
    case V_TIME:
        snprintf(value, BL_SAMPLES_MAX_DIGITS + 1, "%02d%02d", R(c, 0, 23), R(c, 0, 59));
        return;
    case V_PHONE: { /* a leading 0 then area code and number */
        value[0] = '0';
        for (int i = 1; i < 10; i++)
            value[i] = (char)('0' + R(c, i == 1 ? 1 : 0, 9));
        value[10] = '\0';
        return;
    }
    default: {
        int n = R(c, k->min_digits, k->max_digits);
        for (int i = 0; i < n; i++)
            value[i] = (char)('0' + R(c, i == 0 && k->kind == V_AMOUNT ? 1 : 0, 9));
        value[n] = '\0';
    }
    }
}

/* A field laid out relative to its origin (the writing baseline's left
 * end), before it is placed on the page. */
typedef struct field_plan {
    bl_samples_field *truth;
    glyph g[BL_SAMPLES_MAX_DIGITS];
    int n;
    bl_box writing;      /* union of ink boxes */
    bl_box extent;       /* everything drawn: label, guides, writing */
    int label_x, label_base, label_above;
    const char *label;
    /* guides */
    bl_box box;          /* BOX: the printed box */
    int line_y, line_x0, line_x1; /* UNDERLINE */
    int cells, cell_w, cell_x0, cell_top, cell_bottom, teeth; /* COMB */
} field_plan;

static bl_box box_union(bl_box a, bl_box b)
{
    if (a.w <= 0)
        return b;
    int x0 = imin(a.x, b.x), y0 = imin(a.y, b.y);
    int x1 = imax(a.x + a.w, b.x + b.w), y1 = imax(a.y + a.h, b.y + b.h);
    return (bl_box){x0, y0, x1 - x0, y1 - y0};
}

/* The union of a plan's glyph ink boxes. */
static bl_box glyphs_box(const field_plan *p)
{
    bl_box wr = {0, 0, 0, 0};
    for (int i = 0; i < p->n; i++) {
        const glyph *g = &p->g[i];
        wr = box_union(wr, (bl_box){g->x + g->ink.x, g->y + g->ink.y, g->ink.w, g->ink.h});
    }
    return wr;
}

/* Makes the digits of value at base height hb with the writer's per-digit
 * variation, each on the baseline with its jitter and, unless comb (the
 * caller puts them in cells), laid out left to right from the baseline's
 * left end, touching neighbours moved together; p->writing is their
 * union. All the randomness is drawn first, the same whatever the style. */
static void lay_digits(ctx *c, const char *value, double hb, int touching, int comb,
                       field_plan *p)
{
    p->n = (int)strlen(value);
    double h[BL_SAMPLES_MAX_DIGITS], ws[BL_SAMPLES_MAX_DIGITS], sl[BL_SAMPLES_MAX_DIGITS];
    double jit[BL_SAMPLES_MAX_DIGITS], gap[BL_SAMPLES_MAX_DIGITS];
    int touch_pair[BL_SAMPLES_MAX_DIGITS], overlap[BL_SAMPLES_MAX_DIGITS];
    int forced = p->n > 1 ? R(c, 1, p->n - 1) : 0;
    for (int i = 0; i < p->n; i++) {
        h[i] = hb * U(c, 0.88, 1.12);
        ws[i] = U(c, 0.9, 1.1);
        sl[i] = c->w.slant + U(c, -0.08, 0.08);
        jit[i] = hb * U(c, -0.06, 0.06);
        gap[i] = hb * U(c, c->w.space_lo, c->w.space_hi);
        touch_pair[i] = i > 0 && (i == forced || U(c, 0, 1) < 0.3);
        overlap[i] = R(c, 0, S(c, 3));
    }
    for (int i = 0; i < p->n; i++)
        p->g[i] = make_digit(c, value[i] - '0', h[i], ws[i], sl[i]);
    for (int i = 0; i < p->n; i++)
        p->g[i].y = (int)lround(jit[i]) - (p->g[i].ink.y + p->g[i].ink.h);
    int pen_x = 0;
    for (int i = 0; i < p->n && !comb; i++) {
        glyph *g = &p->g[i];
        if (i == 0) {
            g->x = -g->ink.x;
        } else {
            g->x = pen_x + imax((int)lround(gap[i]), S(c, 8)) - g->ink.x;
            if (touching && touch_pair[i]) {
                int d = ink_gap(&p->g[i - 1], g);
                if (d != INT32_MAX)
                    g->x -= d + 1 + overlap[i];
            }
        }
        pen_x = imax(pen_x, g->x + g->ink.x + g->ink.w);
    }
    p->truth->touching = 0;
    if (touching && !comb)
        for (int i = 1; i < p->n; i++)
            if (touch_pair[i] && ink_gap(&p->g[i - 1], &p->g[i]) <= 0)
                p->truth->touching = 1;
    p->writing = glyphs_box(p);
}

static void plan_field(ctx *c, const field_kind *k, bl_samples_style style,
                       int touching, int crossing, field_plan *p)
{
    bl_samples_field *t = p->truth;
    bl_strlcpy(t->name, k->name, sizeof t->name);
    make_value(c, k, t->value);
    p->n = t->ndigits = (int)strlen(t->value);
    t->style = style;
    p->label = k->label;

    lay_digits(c, t->value, c->w.h, touching, style == BL_STYLE_COMB, p);
    int pad = S(c, U(c, 18, 40));
    if (style == BL_STYLE_COMB) {
        int maxw = 0;
        for (int i = 0; i < p->n; i++)
            maxw = imax(maxw, p->g[i].ink.w);
        p->cell_w = imax(maxw + 2 * S(c, 12), (int)(0.8 * c->w.h)) + S(c, U(c, 0, 20));
        p->cells = p->n + R(c, 0, 2);
        p->teeth = R(c, 0, 1);
        for (int i = 0; i < p->n; i++) {
            glyph *g = &p->g[i];
            int cx = i * p->cell_w + p->cell_w / 2 + S(c, U(c, -5, 5));
            int lx = cx - g->ink.w / 2;
            lx = imax(lx, i * p->cell_w + S(c, 8));
            lx = imin(lx, (i + 1) * p->cell_w - S(c, 8) - g->ink.w);
            g->x = lx - g->ink.x;
        }
        p->writing = glyphs_box(p);
    }
    bl_box wr = p->writing;
    bl_box ext = wr;
    int lt = S(c, 3);
    switch (style) {
    case BL_STYLE_BOX:
        p->box = (bl_box){wr.x - pad, wr.y - pad, wr.w + 2 * pad + S(c, U(c, 0, 160)),
                          wr.h + 2 * pad};
        ext = box_union(ext, p->box);
        break;
    case BL_STYLE_UNDERLINE:
        p->line_y = crossing ? wr.y + wr.h - (int)(wr.h * U(c, 0.12, 0.3))
                             : wr.y + wr.h + S(c, U(c, 6, 22));
        p->line_x0 = wr.x - S(c, U(c, 10, 50));
        p->line_x1 = wr.x + wr.w + S(c, U(c, 30, 260));
        ext = box_union(ext, (bl_box){p->line_x0, p->line_y, p->line_x1 - p->line_x0, lt});
        t->crossing = crossing;
        break;
    case BL_STYLE_COMB:
        p->cell_x0 = 0;
        p->cell_top = wr.y - pad;
        p->cell_bottom = wr.y + wr.h + pad;
        ext = box_union(ext, (bl_box){0, p->cell_top, p->cells * p->cell_w + lt,
                                      p->cell_bottom - p->cell_top + lt});
        break;
    default:
        break;
    }
    /* The label: left of the guides, or above them. */
    int lw = text_w(c, BL_FONT_SANS, c->label_px, p->label);
    p->label_above = U(c, 0, 1) < 0.3;
    if (p->label_above) {
        p->label_x = ext.x;
        p->label_base = ext.y - S(c, 22);
        ext = box_union(ext, (bl_box){ext.x, p->label_base - c->label_px, lw, c->label_px});
    } else {
        p->label_x = ext.x - S(c, U(c, 35, 70)) - lw;
        p->label_base = style == BL_STYLE_UNDERLINE && !crossing ? p->line_y
                                                                 : wr.y + wr.h;
        ext = box_union(ext, (bl_box){p->label_x, p->label_base - c->label_px, lw,
                                      c->label_px + S(c, 12)});
    }
    p->extent = ext;
}

/* Draws a planned field with its origin at (ox, oy) and keeps its glyphs. */
static void place_field(ctx *c, field_plan *p, int ox, int oy, int field_index)
{
    int lt = S(c, 3);
    text(c, BL_FONT_SANS, c->label_px, ox + p->label_x, oy + p->label_base, p->label);
    switch (p->truth->style) {
    case BL_STYLE_BOX:
        outline_rect(c->ink, ox + p->box.x, oy + p->box.y, p->box.w, p->box.h, lt, c->print);
        break;
    case BL_STYLE_UNDERLINE:
        hline(c, ox + p->line_x0, oy + p->line_y, p->line_x1 - p->line_x0, lt);
        break;
    case BL_STYLE_COMB: {
        int y0 = oy + p->cell_top, y1 = oy + p->cell_bottom;
        int tooth = p->teeth ? (y1 - y0) / 3 : y1 - y0;
        hline(c, ox, y1, p->cells * p->cell_w + lt, lt);
        if (!p->teeth)
            hline(c, ox, y0, p->cells * p->cell_w + lt, lt);
        for (int i = 0; i <= p->cells; i++)
            vline(c, ox + i * p->cell_w, y1 - tooth, tooth + lt, lt);
        break;
    }
    default:
        break;
    }
    for (int i = 0; i < p->n; i++) {
        glyph *g = &p->g[i];
        g->x += ox;
        g->y += oy;
        compose(c->ink, g->img, g->x, g->y, 255);
        c->glyphs[c->nglyphs] = *g;
        c->glyph_field[c->nglyphs++] = field_index;
        g->img = NULL;
    }
    bl_box wr = {ox + p->writing.x, oy + p->writing.y, p->writing.w, p->writing.h};
    if (c->nkeep < MAX_KEEP)
        c->keep[c->nkeep++] = grow(wr, S(c, 40));
}

static void free_plan(field_plan *p)
{
    for (int i = 0; i < p->n; i++)
        bl_image_destroy(&p->g[i].img);
}

/* ---- Layouts ------------------------------------------------------------- */

static const field_kind ARREST[] = {
    {"arrest_number", "Arrest No.", 6, 8, V_PLAIN},
    {"case_number", "Case No.", 5, 8, V_PLAIN},
    {"date_of_arrest", "Date of arrest", 8, 8, V_DATE},
    {"time_of_arrest", "Time", 4, 4, V_TIME},
    {"date_of_birth", "Date of birth", 6, 6, V_DATE},
    {"badge_number", "Arresting officer, badge", 3, 5, V_PLAIN},
    {"booking_number", "Booking No.", 5, 7, V_PLAIN},
    {"phone", "Telephone", 10, 10, V_PHONE},
    {"cell_number", "Cell", 2, 3, V_PLAIN},
    {"bail_amount", "Bail", 3, 6, V_AMOUNT},
    {"height_cm", "Height (cm)", 3, 3, V_PLAIN},
    {"precinct", "Precinct", 2, 3, V_PLAIN},
};
static const field_kind INCIDENT[] = {
    {"report_number", "Report No.", 6, 9, V_PLAIN},
    {"case_number", "Case No.", 5, 8, V_PLAIN},
    {"date", "Date of incident", 8, 8, V_DATE},
    {"time", "Time", 4, 4, V_TIME},
    {"badge_number", "Badge No.", 3, 5, V_PLAIN},
    {"officer_id", "Officer ID", 4, 6, V_PLAIN},
    {"phone", "Complainant tel.", 10, 10, V_PHONE},
    {"vehicle_reg", "Vehicle reg.", 4, 7, V_PLAIN},
    {"postcode", "Postcode", 5, 5, V_PLAIN},
    {"damage_amount", "Estimated damage", 3, 6, V_AMOUNT},
    {"unit", "Unit", 2, 3, V_PLAIN},
};
static const field_kind RECEIPT[] = {
    {"receipt_number", "Receipt No.", 6, 8, V_PLAIN},
    {"case_number", "Case No.", 5, 8, V_PLAIN},
    {"date", "Date received", 8, 8, V_DATE},
    {"badge_number", "Received by, badge", 3, 5, V_PLAIN},
    {"owner_phone", "Owner tel.", 10, 10, V_PHONE},
    {"locker", "Locker No.", 2, 4, V_PLAIN},
    {"total_amount", "Total value", 3, 6, V_AMOUNT},
    {"officer_id", "Officer ID", 4, 6, V_PLAIN},
};

typedef enum { L_ARREST, L_INCIDENT, L_RECEIPT } layout_id;

typedef struct layout {
    const char *name, *title;
    const field_kind *kinds;
    int nkinds;
} layout;

static const layout LAYOUTS[] = {
    {"unlisted_arrest_card", "ARREST CARD", ARREST, sizeof ARREST / sizeof ARREST[0]},
    {"unlisted_incident_sheet", "OCCURRENCE SHEET", INCIDENT,
     sizeof INCIDENT / sizeof INCIDENT[0]},
    {"unlisted_property_list", "PROPERTY LIST", RECEIPT, sizeof RECEIPT / sizeof RECEIPT[0]},
};

static const char *const DEPARTMENTS[] = {
    "Metropolitan Police - Records Division", "County Constabulary - Central Records",
    "City Police Department - Bureau of Records", "Borough Police - Criminal Records Office"};
static const char *const INSTRUCTIONS[] = {
    "Write in ink. One digit per position. Do not fold.",
    "Complete in block figures. Entries must be legible.",
    "To be completed by the reporting officer and filed within 24 hours.",
    "Dates as day, month, year. Strike out errors; do not erase."};
static const char *const BOILER[] = {
    "I certify that the particulars given above are true to the best of my knowledge",
    "and belief, and that the property described was received by me on the date shown.",
    "This record is the property of the department and may not be removed from the",
    "station. Any alteration must be initialled by the officer in charge of records.",
    "Particulars of the offence and the circumstances of the arrest are to be entered",
    "in the occurrence book and cross-referenced by case number on this card."};
static const char *const ITEMS[] = {
    "Wallet, brown leather", "Wrist watch, steel", "Bicycle, blue, gents",
    "Keys on ring (3)", "Cash in envelope", "Handbag, black", "Radio, portable",
    "Spectacles in case", "Camera with strap", "Umbrella, folding"};

/* A stamp (ring or double rectangle with text) somewhere clear of the
 * writing, tilted and in lighter ink. */
static void draw_stamp(ctx *c, int y_lo, int y_hi)
{
    static const char *const WORDS[] = {"RECEIVED", "FILED", "CHECKED", "COPY",
                                        "ENTERED", "VERIFIED"};
    int ring = R(c, 0, 1);
    const char *word = WORDS[R(c, 0, 5)];
    double angle = U(c, -35, 35);
    int level = R(c, 130, 220);
    int px = S(c, U(c, 36, 50));
    int tw = text_w(c, BL_FONT_SANS_BOLD, px, word);
    int wd = ring ? S(c, U(c, 300, 400)) : tw + S(c, U(c, 60, 120));
    int ht = ring ? wd : S(c, U(c, 130, 190));
    int tries = 30, cx = 0, cy = 0, ok = 0;
    int half = (int)ceil(hypot(wd, ht) / 2);
    while (tries-- > 0 && !ok) {
        cx = R(c, c->x0 + half / 2, imax(c->x1 - half / 2, c->x0 + half / 2));
        cy = R(c, y_lo, imax(y_hi, y_lo));
        ok = is_free(c, (bl_box){cx - half, cy - half, 2 * half, 2 * half});
    }
    if (!ok)
        return;
    bl_image *st = bl_image_new(wd, ht);
    int t = S(c, U(c, 5, 9));
    if (ring) {
        double r0 = wd / 2.0 - 1, r1 = r0 * U(c, 0.72, 0.82);
        for (int y = 0; y < ht; y++)
            for (int x = 0; x < wd; x++) {
                double d = hypot(x + 0.5 - wd / 2.0, y + 0.5 - ht / 2.0);
                if ((d <= r0 && d >= r0 - t) || (d <= r1 && d >= r1 - t * 0.6))
                    BL_PIX(st, x, y) = 255;
            }
        px = imin(px, (int)(px * 1.5 * r1 / imax(tw, 1)));
        tw = text_w(c, BL_FONT_SANS_BOLD, px, word);
    } else {
        outline_rect(st, 0, 0, wd, ht, t, 255);
        outline_rect(st, 2 * t, 2 * t, wd - 4 * t, ht - 4 * t, imax(t / 2, 1), 255);
    }
    bl_samples_text_draw(c->fonts, st, BL_FONT_SANS_BOLD, px, (wd - tw) / 2,
                         ht / 2 + px * 36 / 100, 255, word);
    /* Uneven pressure: a gradient from full ink to 60%. */
    for (int y = 0; y < ht; y++)
        for (int x = 0; x < wd; x++)
            BL_PIX(st, x, y) = (uint8_t)(BL_PIX(st, x, y) * (1.0 - 0.4 * x / wd));
    compose_rotated(c->ink, st, cx, cy, angle, level);
    bl_image_destroy(&st);
}

/* A signature: a smooth pen path of loops (sums of sinusoids) drawn with
 * a round brush, starting at (x, base). */
static void draw_scribble(ctx *c, int x, int base, int max_w)
{
    double len = S(c, U(c, 280, 520));
    if (len > max_w)
        len = max_w;
    double amp = S(c, U(c, 25, 55)), r = S(c, U(c, 1.5, 3.2)) + 0.5;
    double a[3], w[3], p[3], b[3], v[3], q[3];
    for (int k = 0; k < 3; k++) {
        a[k] = amp * U(c, 0.1, 0.5);
        w[k] = U(c, 2, 10);
        p[k] = U(c, 0, 6.283);
        b[k] = amp * U(c, 0.2, 0.7);
        v[k] = U(c, 2, 12);
        q[k] = U(c, 0, 6.283);
    }
    int level = c->w.pen;
    double px = -1, py = -1;
    int steps = (int)(len * 6);
    for (int i = 0; i <= steps; i++) {
        double t = (double)i / steps, X = x + len * t, Y = base - amp;
        for (int k = 0; k < 3; k++) {
            X += a[k] * sin(6.283 * w[k] * t + p[k]);
            Y += b[k] * sin(6.283 * v[k] * t + q[k]);
        }
        if (px < 0 || hypot(X - px, Y - py) >= r * 0.5) {
            brush(c->ink, X, Y, r, level);
            px = X, py = Y;
        }
    }
}

static void draw_paragraph(ctx *c, int y, int lines)
{
    int px = S(c, U(c, 30, 36)), first = 2 * R(c, 0, 2); /* a sentence start */
    for (int i = 0; i < lines; i++)
        text(c, BL_FONT_SERIF, px, c->x0, y + i * (int)(px * 1.45),
             BOILER[(first + i) % 6]);
}

/* Lays out and draws a form of unknown design: a random subset of the
 * fields flowed in rows with random styles; fills truth->fields and
 * c->glyphs. */
static void draw_flowing(ctx *c, int page_w, int page_h, double u_stamp,
                      double u_scribble)
{
    layout_id lid = (layout_id)R(c, 0, 2);
    const layout *lay = &LAYOUTS[lid];
    bl_samples_page *truth = c->truth;
    bl_strlcpy(truth->layout, lay->name, sizeof truth->layout);
    c->print = R(c, 225, 255);
    c->label_px = S(c, U(c, 38, 48));
    c->x0 = S(c, EDGE);
    c->x1 = page_w - S(c, EDGE);

    /* Header: title, department, form number, rule, instructions. */
    int title_px = S(c, U(c, 56, 70));
    int y = S(c, U(c, 280, 330));
    text(c, BL_FONT_SANS_BOLD, title_px, c->x0, y, lay->title);
    char form[64];
    snprintf(form, sizeof form, "Form %c%c %d (Rev. %d/%02d)", "MPCB"[R(c, 0, 3)],
             "RFDP"[R(c, 0, 3)], R(c, 10, 99), R(c, 1, 12), R(c, 55, 85));
    int form_px = S(c, 32);
    int form_top = R(c, 0, 1);
    if (form_top)
        text(c, BL_FONT_SANS, form_px, c->x1 - text_w(c, BL_FONT_SANS, form_px, form), y, form);
    y += S(c, 70);
    text(c, BL_FONT_SANS, S(c, 38), c->x0, y, DEPARTMENTS[R(c, 0, 3)]);
    y += S(c, 35);
    hline(c, c->x0, y, c->x1 - c->x0, S(c, 5));
    y += S(c, 70);
    text(c, BL_FONT_SERIF, S(c, 33), c->x0, y, INSTRUCTIONS[R(c, 0, 3)]);
    int body_top = y + S(c, 90);
    int body_bottom = page_h - S(c, 380);

    /* The writer. */
    c->w.h = S(c, R(c, 50, 110));
    c->w.slant = U(c, -0.15, 0.35);
    c->w.pen_lo = R(c, 40, 130);
    c->w.pen = R(c, 200, 255);
    if (c->opt->hand == BL_HAND_HEAVY) {
        /* Drawn after the usual writer, so MNIST pages keep their stream. */
        c->w.slant = U(c, 0.45, 0.6);
        c->w.pen_lo = R(c, 10, 30);
        c->w.pen = 255;
    }
    c->w.space_lo = U(c, 0.08, 0.2);
    c->w.space_hi = c->w.space_lo + U(c, 0.05, 0.25);

    /* Which fields: a random subset kept in the form's order; the receipt's
     * item table takes 1-3 amount fields of its own. */
    int nitems = lid == L_RECEIPT ? R(c, 1, 3) : 0;
    int want = R(c, BL_SAMPLES_MIN_FIELDS, BL_SAMPLES_MAX_FIELDS) - nitems;
    want = imin(imax(want, BL_SAMPLES_MIN_FIELDS - nitems), lay->nkinds);
    int order[16], chosen[16] = {0};
    for (int i = 0; i < lay->nkinds; i++)
        order[i] = i;
    for (int i = 0; i < want; i++) {
        int j = R(c, i, lay->nkinds - 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
        chosen[order[i]] = 1;
    }

    /* Arrest records keep a photograph frame top right. */
    bl_box photo = {0, 0, 0, 0};
    if (lid == L_ARREST) {
        photo = (bl_box){c->x1 - S(c, 500), body_top, S(c, 500), S(c, 620)};
        outline_rect(c->ink, photo.x, photo.y, photo.w, photo.h, S(c, 4), c->print);
        const char *ph = "PHOTOGRAPH";
        int pw = text_w(c, BL_FONT_SANS, S(c, 34), ph);
        text(c, BL_FONT_SANS, S(c, 34), photo.x + (photo.w - pw) / 2,
             photo.y + photo.h / 2, ph);
    }

    /* Flow the fields in rows. */
    int row_top = body_top, row_bottom = body_top, row_x = -1;
    double style_u[16], touch_u[16], cross_u[16];
    for (int k = 0; k < lay->nkinds; k++) {
        style_u[k] = U(c, 0, 1);
        touch_u[k] = U(c, 0, 1);
        cross_u[k] = U(c, 0, 1);
    }
    for (int k = 0; k < lay->nkinds && truth->nfields < BL_SAMPLES_MAX_FIELDS; k++) {
        if (!chosen[k])
            continue;
        const field_kind *kind = &lay->kinds[k];
        bl_samples_style style = style_u[k] < 0.35   ? BL_STYLE_BOX
                                 : style_u[k] < 0.65 ? BL_STYLE_UNDERLINE
                                 : style_u[k] < 0.82 ? BL_STYLE_COMB
                                                     : BL_STYLE_FREE;
        int touching = touch_u[k] < c->opt->touching;
        int crossing = cross_u[k] < c->opt->cross;
        if (crossing)
            style = BL_STYLE_UNDERLINE;
        if (touching && style == BL_STYLE_COMB)
            style = BL_STYLE_BOX;
        field_plan p;
        memset(&p, 0, sizeof p);
        p.truth = &truth->fields[truth->nfields];
        memset(p.truth, 0, sizeof *p.truth);
        plan_field(c, kind, style, touching, crossing, &p);
        int gapx = S(c, U(c, 90, 160));
        int right = row_top < photo.y + photo.h && photo.w ? photo.x - S(c, 60) : c->x1;
        int x;
        if (row_x >= 0 && row_x + gapx + p.extent.w <= right) {
            x = row_x + gapx;
        } else {
            if (row_x >= 0)
                row_top = row_bottom + S(c, U(c, 50, 120));
            right = row_top < photo.y + photo.h && photo.w ? photo.x - S(c, 60) : c->x1;
            x = c->x0;
        }
        if (x + p.extent.w > right || row_top + p.extent.h > body_bottom) {
            free_plan(&p); /* does not fit this page: leave it out */
            continue;
        }
        int ox = x - p.extent.x, oy = row_top - p.extent.y;
        place_field(c, &p, ox, oy, truth->nfields);
        truth->nfields++;
        row_x = x + p.extent.w;
        row_bottom = imax(row_bottom, row_top + p.extent.h);
    }
    int y_free = imax(row_bottom, photo.w ? photo.y + photo.h : 0) + S(c, 100);

    /* Furniture after the fields. */
    if (lid == L_RECEIPT) {
        int rh = (int)(c->w.h * 1.6) + S(c, 40), hdr = S(c, 70);
        int cols[5] = {c->x0, c->x0 + S(c, 140), c->x0 + S(c, 1150), c->x0 + S(c, 1350),
                       c->x1};
        int rows = nitems + R(c, 0, 1); /* sometimes an unused row */
        if (y_free + hdr + rows * rh < body_bottom) {
            int lt = S(c, 3);
            static const char *const HEADS[] = {"Item", "Description", "Qty", "Value"};
            for (int i = 0; i < 4; i++)
                text(c, BL_FONT_SANS_BOLD, S(c, 36), cols[i] + S(c, 15),
                     y_free + hdr - S(c, 20), HEADS[i]);
            for (int r = 0; r <= rows + 1; r++)
                hline(c, c->x0, y_free + (r == 0 ? 0 : hdr + (r - 1) * rh), c->x1 - c->x0, lt);
            for (int i = 0; i < 5; i++)
                vline(c, cols[i], y_free, hdr + rows * rh + lt, lt);
            for (int r = 0; r < rows; r++) {
                int top = y_free + hdr + r * rh;
                char num[16];
                snprintf(num, sizeof num, "%d", r + 1);
                text(c, BL_FONT_SERIF, S(c, 36), cols[0] + S(c, 30), top + rh / 2 + S(c, 12), num);
                text(c, BL_FONT_SERIF, S(c, 36), cols[1] + S(c, 20), top + rh / 2 + S(c, 12),
                     ITEMS[R(c, 0, 9)]);
                char qty[8];
                snprintf(qty, sizeof qty, "%d", R(c, 1, 3));
                text(c, BL_FONT_SERIF, S(c, 36), cols[2] + S(c, 40), top + rh / 2 + S(c, 12), qty);
                if (r >= nitems || truth->nfields >= BL_SAMPLES_MAX_FIELDS)
                    continue;
                /* The value, written in its cell: the cell is its box. */
                field_kind k = {"", "", 2, 5, V_AMOUNT};
                char name[BL_SAMPLES_NAME_MAX];
                snprintf(name, sizeof name, "item_%d_value", r + 1);
                k.name = name;
                field_plan p;
                memset(&p, 0, sizeof p);
                p.truth = &truth->fields[truth->nfields];
                memset(p.truth, 0, sizeof *p.truth);
                plan_field(c, &k, BL_STYLE_FREE, 0, 0, &p);
                p.truth->style = BL_STYLE_BOX;
                p.label = "";
                int cw = cols[4] - cols[3];
                if (p.writing.w + S(c, 60) > cw || p.writing.h + S(c, 30) > rh) {
                    free_plan(&p);
                    continue;
                }
                int ox = cols[3] + R(c, S(c, 25), cw - p.writing.w - S(c, 25)) - p.writing.x;
                int oy = top + (rh - p.writing.h) / 2 - p.writing.y;
                place_field(c, &p, ox, oy, truth->nfields);
                truth->nfields++;
            }
            y_free += hdr + rows * rh + S(c, 80);
        }
    } else if (lid == L_INCIDENT) {
        int gap = S(c, U(c, 90, 130));
        if (y_free + S(c, 60) + 3 * gap < body_bottom) {
            text(c, BL_FONT_SANS_BOLD, S(c, 40), c->x0, y_free + S(c, 40),
                 "Narrative of incident");
            int n = imin((body_bottom - y_free - S(c, 300)) / gap, 8);
            for (int i = 1; i <= n; i++)
                hline(c, c->x0, y_free + S(c, 40) + i * gap, c->x1 - c->x0, S(c, 2));
            y_free += S(c, 40) + imax(n, 0) * gap + S(c, 80);
        }
    }
    if (y_free + S(c, 200) < body_bottom) {
        draw_paragraph(c, y_free + S(c, 40), R(c, 2, 3));
        y_free += S(c, 200);
    }
    /* Signature line, with a scribble on it. */
    int sig_y = imax(y_free + S(c, 180), page_h - S(c, 520));
    if (sig_y < page_h - S(c, 300)) {
        const char *sl = lid == L_ARREST ? "Signature of arresting officer"
                                         : "Signature";
        int lw = text_w(c, BL_FONT_SANS, c->label_px, sl);
        text(c, BL_FONT_SANS, c->label_px, c->x0, sig_y, sl);
        int lx = c->x0 + lw + S(c, 40);
        hline(c, lx, sig_y + S(c, 5), S(c, 900), S(c, 3));
        if (u_scribble < c->opt->scribble)
            draw_scribble(c, lx + S(c, 60), sig_y + S(c, 15), S(c, 780));
    }
    if (!form_top)
        text(c, BL_FONT_SANS, form_px, c->x0, page_h - S(c, 250), form);
    if (u_stamp < c->opt->stamp)
        draw_stamp(c, body_top + S(c, 150), page_h - S(c, 400));
}

/* ---- Fixed form designs --------------------------------------------------- */

/* Page pixels of a 300-dpi design coordinate on the shifted sheet. */
static int PX(const ctx *c, int v) { return S(c, v + c->sx); }
static int PY(const ctx *c, int v) { return S(c, v + c->sy); }

static bl_box page_box(const ctx *c, bl_box b)
{
    return (bl_box){PX(c, b.x), PY(c, b.y), S(c, b.w), S(c, b.h)};
}

/* Writes field f of the design inside its template box (on the shifted
 * page): the writer's height, reduced until the value fits. Returns 0, or
 * -1 when it cannot be made to fit (the field is then left empty). */
static int write_fixed_field(ctx *c, const bl_samples_form_field *f, double touch_u,
                             double cross_u, int field_index)
{
    bl_samples_field *t = &c->truth->fields[field_index];
    memset(t, 0, sizeof *t);
    bl_strlcpy(t->name, f->name, sizeof t->name);
    bl_strlcpy(t->rule, f->rule, sizeof t->rule);
    bl_samples_form_make_value(f, &c->rng, t->value);
    t->ndigits = (int)strlen(t->value);
    t->style = f->style;
    int comb = f->style == BL_STYLE_COMB;
    int touching = !comb && touch_u < c->opt->touching;
    int crossing = f->style == BL_STYLE_UNDERLINE && cross_u < c->opt->cross;
    bl_box area = page_box(c, bl_samples_form_field_box(f));
    int m = S(c, 12), cm = S(c, 8);
    int line_y = PY(c, f->y), bottom = 0;
    double low = U(c, 0.12, 0.3); /* crossing: share of the digits below the line */
    int tw, th;
    if (comb) {
        tw = S(c, f->w - 3) - 2 * cm;
        th = S(c, f->h - 3) - 2 * cm;
    } else if (f->style == BL_STYLE_UNDERLINE) {
        tw = area.w - 2 * m;
        bottom = line_y - S(c, U(c, 6, 18));
        th = crossing ? S(c, 135) : bottom - (area.y + m);
    } else {
        tw = area.w - 2 * m;
        th = area.h - 2 * m;
    }
    field_plan p;
    memset(&p, 0, sizeof p);
    p.truth = t;
    double hb = fmin(c->w.h, th / 1.2);
    for (int iter = 0;; iter++) {
        lay_digits(c, t->value, hb, touching, comb, &p);
        double fit;
        if (comb) {
            fit = 1e9;
            for (int i = 0; i < p.n; i++)
                fit = fmin(fit, fmin((double)tw / p.g[i].ink.w, (double)th / p.g[i].ink.h));
        } else {
            fit = fmin((double)tw / p.writing.w, (double)th / p.writing.h);
        }
        if (fit >= 1)
            break;
        free_plan(&p);
        if (iter == 8)
            return -1;
        hb *= fit * 0.95;
    }
    if (comb) {
        for (int i = 0; i < p.n; i++) {
            glyph *g = &p.g[i];
            int ix = PX(c, f->x + i * f->w + 3) + cm, iy = PY(c, f->y + 3) + cm;
            int lx = ix + (tw - g->ink.w) / 2 + R(c, -S(c, 5), S(c, 5));
            lx = imin(imax(lx, ix), ix + tw - g->ink.w);
            int ly = iy + th - g->ink.h - R(c, 0, (th - g->ink.h) / 3);
            g->x = lx - g->ink.x;
            g->y = ly - g->ink.y;
        }
    } else {
        bl_box wr = p.writing;
        int ox = area.x + m + R(c, 0, imin(tw - wr.w, S(c, 80))) - wr.x;
        int oy;
        if (f->style == BL_STYLE_UNDERLINE) {
            if (crossing)
                bottom = line_y + (int)(wr.h * low);
            oy = bottom - (wr.y + wr.h);
        } else {
            oy = area.y + m + (int)((th - wr.h) * U(c, 0.3, 0.7)) - wr.y;
        }
        for (int i = 0; i < p.n; i++) {
            p.g[i].x += ox;
            p.g[i].y += oy;
        }
        t->crossing = crossing;
    }
    for (int i = 0; i < p.n; i++) {
        compose(c->ink, p.g[i].img, p.g[i].x, p.g[i].y, 255);
        c->glyphs[c->nglyphs] = p.g[i];
        c->glyph_field[c->nglyphs++] = field_index;
    }
    return 0;
}

/* Draws a page of one of the known designs (samples_forms): everything at
 * its design position plus the page's shift; a random subset of 4-10
 * fields written, the others left empty. */
static void draw_fixed(ctx *c, int page_w, int page_h, double u_stamp, double u_scribble)
{
    (void)page_w;
    const bl_samples_form *form = bl_samples_form_get(R(c, 0, BL_FORM_COUNT - 1));
    bl_samples_page *truth = c->truth;
    bl_strlcpy(truth->layout, form->name, sizeof truth->layout);
    c->sx = R(c, -BL_FORM_SHIFT, BL_FORM_SHIFT);
    c->sy = R(c, -BL_FORM_SHIFT, BL_FORM_SHIFT);
    truth->shift_x = c->sx;
    truth->shift_y = c->sy;
    c->print = R(c, 225, 255);
    c->label_px = S(c, 42);
    c->x0 = PX(c, 230);
    c->x1 = PX(c, 2250);

    /* Header: title, form number, department, rule (a line), instructions. */
    text(c, BL_FONT_SANS_BOLD, S(c, 64), c->x0, PY(c, 300), form->title);
    char number[64];
    snprintf(number, sizeof number, "Form %c%c %d (Rev. %d/%02d)", "MPCB"[R(c, 0, 3)],
             "RFDP"[R(c, 0, 3)], R(c, 10, 99), R(c, 1, 12), R(c, 55, 85));
    text(c, BL_FONT_SANS, S(c, 32), c->x1 - text_w(c, BL_FONT_SANS, S(c, 32), number),
         PY(c, 300), number);
    text(c, BL_FONT_SANS, S(c, 38), c->x0, PY(c, 370), DEPARTMENTS[R(c, 0, 3)]);
    text(c, BL_FONT_SERIF, S(c, 33), c->x0, PY(c, 475), INSTRUCTIONS[R(c, 0, 3)]);

    bl_samples_line lines[BL_FORM_MAX_LINES];
    int nlines = bl_samples_form_lines(form, lines, BL_FORM_MAX_LINES);
    for (int i = 0; i < nlines; i++) {
        const bl_samples_line *l = &lines[i];
        int t = imax(S(c, l->t), 1);
        if (l->dir == 'h')
            hline(c, PX(c, l->x), PY(c, l->y), S(c, l->len), t);
        else
            vline(c, PX(c, l->x), PY(c, l->y), S(c, l->len), t);
    }
    if (form->photo) {
        const char *ph = "PHOTOGRAPH";
        int pw = text_w(c, BL_FONT_SANS, S(c, 34), ph);
        text(c, BL_FONT_SANS, S(c, 34), PX(c, 1950) - pw / 2, PY(c, 870), ph);
    }
    for (int i = 0; i < form->nfields; i++) {
        const bl_samples_form_field *f = &form->fields[i];
        if (f->in_table)
            continue;
        int lw = text_w(c, BL_FONT_SANS, c->label_px, f->label);
        if (!f->label_left)
            text(c, BL_FONT_SANS, c->label_px, PX(c, f->x), PY(c, f->y - 20), f->label);
        else
            text(c, BL_FONT_SANS, c->label_px, PX(c, f->x - 30) - lw,
                 f->style == BL_STYLE_UNDERLINE ? PY(c, f->y - 4)
                                                : PY(c, f->y + f->h - 40),
                 f->label);
    }

    /* The writer, as on flowing pages. */
    c->w.h = S(c, R(c, 50, 110));
    c->w.slant = U(c, -0.15, 0.35);
    c->w.pen_lo = R(c, 40, 130);
    c->w.pen = R(c, 200, 255);
    if (c->opt->hand == BL_HAND_HEAVY) {
        c->w.slant = U(c, 0.45, 0.6);
        c->w.pen_lo = R(c, 10, 30);
        c->w.pen = 255;
    }
    c->w.space_lo = U(c, 0.08, 0.2);
    c->w.space_hi = c->w.space_lo + U(c, 0.05, 0.25);

    /* Which fields: a random subset of 4-10, written in the design's order. */
    int nk = form->nfields;
    int want = R(c, BL_SAMPLES_MIN_FIELDS, imin(BL_SAMPLES_MAX_FIELDS, nk));
    int order[32], chosen[32] = {0};
    double touch_u[32], cross_u[32];
    for (int i = 0; i < nk; i++) {
        order[i] = i;
        touch_u[i] = U(c, 0, 1);
        cross_u[i] = U(c, 0, 1);
    }
    for (int i = 0; i < want; i++) {
        int j = R(c, i, nk - 1), tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
        chosen[order[i]] = 1;
    }

    /* Item table: row numbers always; description and quantity on the rows
     * in use (a written value, or now and then an item without one). */
    for (int r = 0; r < form->table_rows; r++) {
        static const char *const HEADS[] = {"Item", "Description", "Qty", "Value"};
        if (r == 0)
            for (int i = 0; i < 4; i++)
                text(c, BL_FONT_SANS_BOLD, S(c, 36), PX(c, bl_samples_table_cols[i] + 15),
                     PY(c, BL_TABLE_TOP + BL_TABLE_HEAD - 20), HEADS[i]);
        int base = BL_TABLE_TOP + BL_TABLE_HEAD + r * BL_TABLE_ROW + BL_TABLE_ROW / 2 + 12;
        char num[16], name[BL_SAMPLES_NAME_MAX];
        snprintf(num, sizeof num, "%d", r + 1);
        text(c, BL_FONT_SERIF, S(c, 36), PX(c, bl_samples_table_cols[0] + 30), PY(c, base), num);
        snprintf(name, sizeof name, "item_%d_value", r + 1);
        int used = R(c, 0, 3) == 0;
        for (int k = 0; k < nk; k++)
            used |= chosen[k] && strcmp(form->fields[k].name, name) == 0;
        const char *item = ITEMS[R(c, 0, 9)];
        snprintf(num, sizeof num, "%d", R(c, 1, 3));
        if (!used)
            continue;
        text(c, BL_FONT_SERIF, S(c, 36), PX(c, bl_samples_table_cols[1] + 20), PY(c, base), item);
        text(c, BL_FONT_SERIF, S(c, 36), PX(c, bl_samples_table_cols[2] + 40), PY(c, base), num);
    }
    if (form->narrative_lines > 0)
        text(c, BL_FONT_SANS_BOLD, S(c, 40), c->x0, PY(c, 2160), "Narrative of incident");
    draw_paragraph(c, PY(c, form->photo ? 2300 : form->table_rows ? 2530 : 2900), R(c, 2, 3));

    /* Marks keep clear of every field, written or not. */
    for (int k = 0; k < nk && c->nkeep < MAX_KEEP; k++)
        c->keep[c->nkeep++] =
            grow(page_box(c, bl_samples_form_field_box(&form->fields[k])), S(c, 40));
    for (int k = 0; k < nk && truth->nfields < BL_SAMPLES_MAX_FIELDS; k++)
        if (chosen[k] && write_fixed_field(c, &form->fields[k], touch_u[k], cross_u[k],
                                           truth->nfields) == 0)
            truth->nfields++;

    text(c, BL_FONT_SANS, c->label_px, c->x0, PY(c, 3050),
         form->photo ? "Signature of arresting officer" : "Signature");
    if (u_scribble < c->opt->scribble)
        draw_scribble(c, PX(c, 1060), PY(c, 3070), S(c, 780));
    if (u_stamp < c->opt->stamp)
        draw_stamp(c, PY(c, 700), page_h - S(c, 400));
}

/* ---- The page ------------------------------------------------------------ */

static uint64_t sub_seed(uint64_t seed, uint64_t salt)
{
    bl_samples_rng r;
    bl_samples_rng_seed(&r, seed ^ salt);
    return bl_samples_rng_next(&r);
}

bl_image *bl_samples_render_page(const bl_samples_source *src,
                                 bl_samples_fonts *fonts,
                                 const bl_samples_options *opt, uint64_t seed,
                                 int gray_out, bl_samples_page *truth)
{
    memset(truth, 0, sizeof *truth);
    ctx c;
    memset(&c, 0, sizeof c);
    c.src = src;
    c.fonts = fonts;
    c.opt = opt;
    c.f = opt->dpi / 300.0;
    c.truth = truth;
    bl_samples_rng_seed(&c.rng, sub_seed(seed, 0x6c61796f7574ull));

    /* The artefacts: every draw made whatever the options. */
    bl_samples_rng a;
    bl_samples_rng_seed(&a, sub_seed(seed, 0x7363616e6e6572ull));
    double u_blank = bl_samples_rng_real(&a, 0, 1);
    double u_rot = bl_samples_rng_real(&a, 0, 1);
    int quarter = bl_samples_rng_int(&a, 1, 3);
    double skew = bl_samples_rng_real(&a, -1, 1) * opt->skew;
    double u_noise = bl_samples_rng_real(&a, 0, 1);
    double u_blur = bl_samples_rng_real(&a, 0, 1);
    int fat = bl_samples_rng_int(&a, 0, 1);
    double u_edges = bl_samples_rng_real(&a, 0, 1);
    int edge_sides = bl_samples_rng_int(&a, 1, 15);
    double u_stamp = bl_samples_rng_real(&a, 0, 1);
    double u_scribble = bl_samples_rng_real(&a, 0, 1);

    bl_samples_scan sc = {0};
    sc.rotation = u_rot < opt->rotate ? 90 * quarter : 0;
    sc.skew = round(skew * 100) / 100; /* as written to truth.json */
    sc.paper = bl_samples_rng_int(&a, 212, 250);
    sc.ink = bl_samples_rng_int(&a, 15, 80);
    sc.noise_amp = bl_samples_rng_int(&a, 4, 24);
    sc.threshold = bl_samples_rng_int(&a, 105, 150);
    sc.blur_sigma = bl_samples_rng_real(&a, 0.5, 1.1) * c.f;
    double strong_sigma = bl_samples_rng_real(&a, 1.3, 2.2) * c.f;
    double thin_frac = bl_samples_rng_real(&a, 0.45, 0.6);
    int fat_t = bl_samples_rng_int(&a, 45, 80);
    int specks = bl_samples_rng_int(&a, 150, 3000);
    double speck_r = bl_samples_rng_real(&a, 1.0, 3.0);
    if (u_noise < opt->noise) {
        sc.specks = (int)(specks * c.f * c.f);
        sc.speck_radius = speck_r * c.f;
    }
    sc.edge_width = (int)lround(bl_samples_rng_real(&a, 10, 45) * c.f);
    if (u_edges < opt->edges)
        sc.edges = edge_sides;
    uint64_t noise_seed = bl_samples_rng_next(&a);
    /* Its own stream, so the other draws stay as they were. */
    bl_samples_rng ul;
    bl_samples_rng_seed(&ul, sub_seed(seed, 0x756e6c6973746564ull));
    double u_unlisted = bl_samples_rng_real(&ul, 0, 1);

    int pw, ph;
    bl_samples_page_size(opt->dpi, &pw, &ph);
    c.ink = bl_image_new(pw, ph);
    truth->blank = u_blank < opt->blank;
    if (truth->blank)
        bl_strlcpy(truth->layout, "blank", sizeof truth->layout);
    else if (u_unlisted < opt->unlisted)
        draw_flowing(&c, pw, ph, u_stamp, u_scribble);
    else
        draw_fixed(&c, pw, ph, u_stamp, u_scribble);
    /* Strong blur: a low threshold fattens strokes, a high one (relative to
     * the pen, so the writing thins and breaks but survives) thins them. */
    if (u_blur < opt->blur) {
        sc.blur_sigma = strong_sigma;
        sc.threshold = fat ? fat_t : (int)(thin_frac * (c.w.pen ? c.w.pen : 255));
    }

    truth->dpi = opt->dpi;
    truth->rotation = sc.rotation;
    truth->skew = sc.skew;
    bl_samples_scan_size(&sc, pw, ph, &truth->width, &truth->height);
    bl_image *out = bl_samples_scan_page(c.ink, &sc, gray_out, noise_seed);

    /* Truth in the output file's pixels. */
    int next_digit[BL_SAMPLES_MAX_FIELDS] = {0};
    for (int i = 0; i < c.nglyphs; i++) {
        bl_samples_field *f = &truth->fields[c.glyph_field[i]];
        int d = next_digit[c.glyph_field[i]]++;
        int level = gray_out ? 127 : sc.threshold;
        bl_box b = bl_samples_scan_glyph_box(c.glyphs[i].img, c.glyphs[i].x,
                                             c.glyphs[i].y, pw, ph, &sc, level);
        /* A digit the threshold erased keeps the box of its faint ink. */
        for (int l = level / 2; b.w == 0 && l > 0; l /= 2)
            b = bl_samples_scan_glyph_box(c.glyphs[i].img, c.glyphs[i].x,
                                          c.glyphs[i].y, pw, ph, &sc, l);
        f->digits[d] = b;
        f->box = d == 0 ? b : box_union(f->box, b);
        bl_image_destroy(&c.glyphs[i].img);
    }
    bl_image_destroy(&c.ink);
    return out;
}
