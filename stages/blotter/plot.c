/*
 * plot: line charts and heat maps on a gray canvas (see plot.h).
 *
 * Drawing is "darken only": every primitive computes a coverage in [0,1]
 * per pixel and lowers the pixel towards its ink level, never raises it,
 * so overlapping strokes (joints of a polyline, crossing series) do not
 * double their anti-aliased edges. Lines are drawn by distance from each
 * pixel centre to the segment, which gives round caps and joins for free;
 * the dash pattern is measured along the whole polyline's length so dashes
 * run on across vertices.
 *
 * Text: FreeType renders 8-bit coverage bitmaps per glyph, blended in the
 * same darken-only way (lighter ink on dark heat-map cells is the one
 * exception, drawn by lightening). Vertical labels are rendered into a
 * scratch buffer and rotated by 90 degrees.
 *
 * Tick spacing: Heckbert, "Nice numbers for graph labels", Graphics Gems
 * (1990): a step of 1, 2 or 5 times a power of ten giving about five ticks.
 */
#include "blotter/plot.h"

#include <ft2build.h>
#include FT_FREETYPE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INK 0
#define GRID 225   /* gridlines */
#define LINE_W 2.0 /* stroke width of series, pixels */
#define TICK_PX 12 /* text sizes, pixels */
#define LABEL_PX 13
#define TITLE_PX 15

struct bl_plot {
    bl_image *img;
    FT_Library lib;
    FT_Face face;
    bool text;
};

bl_plot *bl_plot_new(int width, int height, bl_err *err)
{
    if (width < 1 || height < 1 || width > BL_PLOT_MAX_SIDE || height > BL_PLOT_MAX_SIDE) {
        bl_err_set(err, BL_EINVAL, "plot: canvas %dx%d out of range 1..%d", width, height,
                   BL_PLOT_MAX_SIDE);
        return NULL;
    }
    bl_plot *self = bl_xcalloc(1, sizeof *self);
    self->img = bl_image_new(width, height);
    for (int y = 0; y < height; y++)
        memset(self->img->data + (size_t)y * self->img->stride, 255, (size_t)width);
    const char *font = getenv("BLOTTER_PLOT_FONT");
    if (!font || !*font)
        font = BL_PLOT_DEFAULT_FONT;
    if (FT_Init_FreeType(&self->lib) == 0) {
        if (FT_New_Face(self->lib, font, 0, &self->face) == 0)
            self->text = true;
        else
            self->face = NULL;
    } else {
        self->lib = NULL;
    }
    return self;
}

void bl_plot_destroy(bl_plot **self)
{
    if (!self || !*self)
        return;
    bl_plot *p = *self;
    if (p->face)
        FT_Done_Face(p->face);
    if (p->lib)
        FT_Done_FreeType(p->lib);
    bl_image_destroy(&p->img);
    free(p);
    *self = NULL;
}

bool bl_plot_has_text(const bl_plot *self) { return self->text; }
const bl_image *bl_plot_image(const bl_plot *self) { return self->img; }

int bl_plot_write_png(const bl_plot *self, const char *path, bl_err *err)
{
    return bl_image_write_png(self->img, path, 96.0, 0, err);
}

/* ---- pixels ------------------------------------------------------------ */

/* Lowers pixel (x, y) towards level by coverage a. */
static void darken(bl_image *img, int x, int y, int level, double a)
{
    if (x < 0 || y < 0 || x >= img->width || y >= img->height || a <= 0.0)
        return;
    if (a > 1.0)
        a = 1.0;
    uint8_t *p = img->data + (size_t)y * img->stride + x;
    double v = *p * (1.0 - a) + level * a;
    if (v < *p)
        *p = (uint8_t)(v + 0.5);
}

static void blend(bl_image *img, int x, int y, int level, double a)
{
    if (x < 0 || y < 0 || x >= img->width || y >= img->height || a <= 0.0)
        return;
    if (a > 1.0)
        a = 1.0;
    uint8_t *p = img->data + (size_t)y * img->stride + x;
    *p = (uint8_t)(*p * (1.0 - a) + level * a + 0.5);
}

static void fill_box(bl_image *img, int x0, int y0, int x1, int y1, int level)
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            if (x >= 0 && y >= 0 && x < img->width && y < img->height)
                img->data[(size_t)y * img->stride + x] = (uint8_t)level;
}

static void hline(bl_image *img, int x0, int x1, int y, int level)
{
    for (int x = x0; x <= x1; x++)
        darken(img, x, y, level, 1.0);
}

static void vline(bl_image *img, int x, int y0, int y1, int level)
{
    for (int y = y0; y <= y1; y++)
        darken(img, x, y, level, 1.0);
}

/* Dash patterns in pixels of arc length: on, then off. */
static void dash_pattern(bl_plot_line line, double *on, double *off)
{
    switch (line) {
    case BL_PLOT_DASHED:
        *on = 9.0;
        *off = 6.0;
        break;
    case BL_PLOT_DOTTED:
        *on = 2.0;
        *off = 4.0;
        break;
    default:
        *on = 1e30;
        *off = 0.0;
        break;
    }
}

/* One segment (ax,ay)-(bx,by) of a polyline whose arc length so far is s0. */
static void segment(bl_image *img, double ax, double ay, double bx, double by, double s0,
                    bl_plot_line line, bl_box clip)
{
    double on, off;
    dash_pattern(line, &on, &off);
    double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    double r = LINE_W * 0.5;
    int x0 = (int)floor(fmin(ax, bx) - r - 1), x1 = (int)ceil(fmax(ax, bx) + r + 1);
    int y0 = (int)floor(fmin(ay, by) - r - 1), y1 = (int)ceil(fmax(ay, by) + r + 1);
    if (x0 < clip.x)
        x0 = clip.x;
    if (y0 < clip.y)
        y0 = clip.y;
    if (x1 > clip.x + clip.w - 1)
        x1 = clip.x + clip.w - 1;
    if (y1 > clip.y + clip.h - 1)
        y1 = clip.y + clip.h - 1;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            double px = x + 0.5, py = y + 0.5;
            double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0.0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double cx = ax + t * dx - px, cy = ay + t * dy - py;
            double d = sqrt(cx * cx + cy * cy);
            double a = r + 0.5 - d;
            if (a <= 0)
                continue;
            if (off > 0) {
                double s = s0 + t * sqrt(len2);
                if (fmod(s, on + off) >= on)
                    continue;
            }
            darken(img, x, y, INK, a);
        }
}

/* ---- text -------------------------------------------------------------- */

/* Next code point of UTF-8 s (advances *s); '?' for malformed bytes. */
static unsigned long utf8_next(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    unsigned long c = p[0];
    int n = c < 0x80 ? 0
            : (c & 0xe0) == 0xc0 ? 1
            : (c & 0xf0) == 0xe0 ? 2
            : (c & 0xf8) == 0xf0 ? 3
                                 : -1;
    if (n < 0) {
        (*s)++;
        return '?';
    }
    if (n > 0)
        c &= 0x3fu >> n;
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            *s += i;
            return '?';
        }
        c = (c << 6) | (p[i] & 0x3f);
    }
    *s += n + 1;
    return c;
}

static int text_width(bl_plot *self, int px, const char *s)
{
    if (!self->text)
        return 0;
    FT_Set_Pixel_Sizes(self->face, 0, (FT_UInt)px);
    long w = 0;
    while (*s) {
        unsigned long c = utf8_next(&s);
        if (FT_Load_Char(self->face, c, FT_LOAD_DEFAULT) == 0)
            w += self->face->glyph->advance.x;
    }
    return (int)(w >> 6);
}

/* Renders s with its baseline at (x, base) into the canvas (buf NULL:
 * darkened towards level, or lightened when lighten is set) or into a
 * scratch coverage buffer of bw x bh (0 none, 255 full). */
static void text_raster(bl_plot *self, int px, const char *s, int x, int base, uint8_t *buf,
                        int bw, int bh, int level, bool lighten)
{
    FT_Set_Pixel_Sizes(self->face, 0, (FT_UInt)px);
    long pen = (long)x << 6;
    while (*s) {
        unsigned long c = utf8_next(&s);
        if (FT_Load_Char(self->face, c, FT_LOAD_RENDER) != 0)
            continue;
        FT_GlyphSlot g = self->face->glyph;
        const FT_Bitmap *bm = &g->bitmap;
        int gx = (int)(pen >> 6) + g->bitmap_left, gy = base - g->bitmap_top;
        for (unsigned r = 0; r < bm->rows; r++)
            for (unsigned q = 0; q < bm->width; q++) {
                double a = bm->buffer[(size_t)r * (size_t)bm->pitch + q] / 255.0;
                int tx = gx + (int)q, ty = gy + (int)r;
                if (buf) {
                    if (tx >= 0 && ty >= 0 && tx < bw && ty < bh) {
                        uint8_t *p = buf + (size_t)ty * bw + tx;
                        int v = (int)(a * 255.0 + 0.5);
                        if (v > *p)
                            *p = (uint8_t)v;
                    }
                } else if (lighten) {
                    blend(self->img, tx, ty, level, a);
                } else {
                    darken(self->img, tx, ty, level, a);
                }
            }
        pen += g->advance.x;
    }
}

/* The baseline that centres digits and capitals of size px on y. */
static int centred_base(int y, int px) { return y + (int)lround(0.36 * px); }

static void text_at(bl_plot *self, int x, int y, int px, int align, const char *s, int level,
                    bool lighten)
{
    if (!self->text || !s || !*s)
        return;
    int w = text_width(self, px, s);
    int left = align < 0 ? x : align > 0 ? x - w : x - w / 2;
    text_raster(self, px, s, left, centred_base(y, px), NULL, 0, 0, level, lighten);
}

void bl_plot_text(bl_plot *self, int x, int y, int px, int align, const char *s)
{
    text_at(self, x, y, px, align, s, INK, false);
}

/* Text rotated 90 degrees counter-clockwise, centred on (x, y). */
static void text_vertical(bl_plot *self, int x, int y, int px, const char *s)
{
    if (!self->text || !s || !*s)
        return;
    int w = text_width(self, px, s) + 2, h = px * 2;
    uint8_t *buf = bl_xcalloc((size_t)w * (size_t)h, 1);
    text_raster(self, px, s, 1, centred_base(h / 2, px), buf, w, h, INK, false);
    /* Scratch (tx, ty) goes to canvas (x - h/2 + ty, y + w/2 - tx). */
    for (int ty = 0; ty < h; ty++)
        for (int tx = 0; tx < w; tx++)
            darken(self->img, x - h / 2 + ty, y + w / 2 - tx, INK,
                   buf[(size_t)ty * w + tx] / 255.0);
    free(buf);
}

/* ---- ticks ------------------------------------------------------------- */

/* Heckbert's nice number: 1, 2, 5 or 10 times a power of ten near x. */
static double nice(double x, bool round_it)
{
    double e = floor(log10(x)), f = x / pow(10.0, e), nf;
    if (round_it)
        nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    else
        nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return nf * pow(10.0, e);
}

/* Widens [*lo, *hi] to whole steps; returns the step. */
static double nice_range(double *lo, double *hi, int ticks, bool integer)
{
    if (!(*hi > *lo)) {
        double pad = fabs(*lo) > 0 ? fabs(*lo) * 0.05 : 0.5;
        *lo -= pad;
        *hi += pad;
    }
    double step = nice(nice(*hi - *lo, false) / (ticks - 1), true);
    if (integer && step < 1)
        step = 1;
    *lo = floor(*lo / step) * step;
    *hi = ceil(*hi / step) * step;
    return step;
}

static void tick_label(char *buf, size_t size, double v, double step)
{
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (fabs(v) < step * 1e-6)
        v = 0.0; /* no "-0.00" */
    snprintf(buf, size, "%.*f", dec, v);
}

/* ---- charts ------------------------------------------------------------ */

void bl_plot_axes_map(const bl_plot_axes *a, double x, double y, double *px, double *py)
{
    *px = a->frame.x + (x - a->x0) / (a->x1 - a->x0) * (a->frame.w - 1);
    *py = a->frame.y + (a->frame.h - 1) - (y - a->y0) / (a->y1 - a->y0) * (a->frame.h - 1);
}

static long ink_in(const bl_image *img, bl_box b)
{
    long n = 0;
    for (int y = b.y; y < b.y + b.h; y++)
        for (int x = b.x; x < b.x + b.w; x++)
            if (x >= 0 && y >= 0 && x < img->width && y < img->height &&
                img->data[(size_t)y * img->stride + x] < 200)
                n++;
    return n;
}

/* Legend in the corner of the frame where it covers the least ink, with
 * a margin around it so that it does not butt against a line either;
 * ties go to the upper right, then upper left, lower right, lower left. */
static void legend(bl_plot *self, const bl_plot_chart *c, bl_box f)
{
    if (!self->text)
        return;
    int wmax = 0;
    for (int i = 0; i < c->nseries; i++) {
        int w = c->series[i].label ? text_width(self, LABEL_PX, c->series[i].label) : 0;
        wmax = w > wmax ? w : wmax;
    }
    int row = LABEL_PX + 6, sample = 34;
    int lw = sample + 10 + wmax + 14, lh = row * c->nseries + 8;
    bl_box best = {0};
    long best_ink = -1;
    static const int order[4] = {1, 0, 3, 2}; /* bit 0 right, bit 1 bottom */
    for (int k = 0; k < 4; k++) {
        int corner = order[k];
        bl_box b = {corner & 1 ? f.x + f.w - lw - 8 : f.x + 8,
                    corner & 2 ? f.y + f.h - lh - 8 : f.y + 8, lw, lh};
        long ink = ink_in(self->img, (bl_box){b.x - 12, b.y - 12, b.w + 24, b.h + 24});
        if (best_ink < 0 || ink < best_ink) {
            best_ink = ink;
            best = b;
        }
    }
    fill_box(self->img, best.x, best.y, best.x + best.w, best.y + best.h, 255);
    hline(self->img, best.x, best.x + best.w - 1, best.y, 160);
    hline(self->img, best.x, best.x + best.w - 1, best.y + best.h - 1, 160);
    vline(self->img, best.x, best.y, best.y + best.h - 1, 160);
    vline(self->img, best.x + best.w - 1, best.y, best.y + best.h - 1, 160);
    for (int i = 0; i < c->nseries; i++) {
        int y = best.y + 4 + row * i + row / 2;
        segment(self->img, best.x + 7, y + 0.5, best.x + 7 + sample, y + 0.5, 0.0,
                c->series[i].line, best);
        text_at(self, best.x + sample + 17, y, LABEL_PX, -1, c->series[i].label, INK, false);
    }
}

int bl_plot_chart_draw(bl_plot *self, bl_box area, const bl_plot_chart *c, bl_plot_axes *axes,
                       bl_err *err)
{
    if (c->nseries < 1 || c->nseries > BL_PLOT_MAX_SERIES)
        return bl_err_set(err, BL_EINVAL, "plot: %d series (1..%d)", c->nseries,
                          BL_PLOT_MAX_SERIES);
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int i = 0; i < c->nseries; i++)
        for (int k = 0; k < c->series[i].n; k++) {
            double x = c->series[i].x[k], y = c->series[i].y[k];
            if (!isfinite(x) || !isfinite(y))
                continue;
            x0 = fmin(x0, x);
            x1 = fmax(x1, x);
            y0 = fmin(y0, y);
            y1 = fmax(y1, y);
        }
    if (!isfinite(x0))
        return bl_err_set(err, BL_EINVAL, "plot: '%s' has no finite points",
                          c->title ? c->title : "chart");
    double xstep = nice_range(&x0, &x1, 6, c->integer_x);
    double ystep = nice_range(&y0, &y1, 6, false);

    /* Margins leave room for tick labels, axis labels and the title. */
    int left = self->text ? 62 : 12, bottom = self->text ? 44 : 12;
    int top = self->text && c->title ? 30 : 12, right = 16;
    bl_box f = {area.x + left, area.y + top, area.w - left - right, area.h - top - bottom};
    if (f.w < 20 || f.h < 20)
        return bl_err_set(err, BL_EINVAL, "plot: area %dx%d too small for a chart", area.w,
                          area.h);
    bl_plot_axes a = {f, x0, x1, y0, y1};
    bl_image *img = self->img;
    char buf[64];

    /* Gridlines and ticks. */
    for (double v = y0; v <= y1 + ystep * 1e-6; v += ystep) {
        double px, py;
        bl_plot_axes_map(&a, x0, v, &px, &py);
        int yy = (int)lround(py);
        hline(img, f.x + 1, f.x + f.w - 2, yy, GRID);
        hline(img, f.x - 5, f.x - 1, yy, INK);
        tick_label(buf, sizeof buf, v, ystep);
        text_at(self, f.x - 8, yy, TICK_PX, 1, buf, INK, false);
    }
    for (double v = x0; v <= x1 + xstep * 1e-6; v += xstep) {
        double px, py;
        bl_plot_axes_map(&a, v, y0, &px, &py);
        int xx = (int)lround(px);
        vline(img, xx, f.y + 1, f.y + f.h - 2, GRID);
        vline(img, xx, f.y + f.h, f.y + f.h + 4, INK);
        tick_label(buf, sizeof buf, v, xstep);
        text_at(self, xx, f.y + f.h + 14, TICK_PX, 0, buf, INK, false);
    }
    /* Frame. */
    hline(img, f.x, f.x + f.w - 1, f.y, INK);
    hline(img, f.x, f.x + f.w - 1, f.y + f.h - 1, INK);
    vline(img, f.x, f.y, f.y + f.h - 1, INK);
    vline(img, f.x + f.w - 1, f.y, f.y + f.h - 1, INK);

    /* Series, clipped to the frame's inside. */
    bl_box inside = {f.x + 1, f.y + 1, f.w - 2, f.h - 2};
    for (int i = 0; i < c->nseries; i++) {
        const bl_plot_series *s = &c->series[i];
        double s0 = 0.0, lx = 0, ly = 0;
        bool have = false;
        for (int k = 0; k < s->n; k++) {
            if (!isfinite(s->x[k]) || !isfinite(s->y[k])) {
                have = false;
                continue;
            }
            double px, py;
            bl_plot_axes_map(&a, s->x[k], s->y[k], &px, &py);
            px += 0.5; /* pixel centres */
            py += 0.5;
            if (have) {
                segment(img, lx, ly, px, py, s0, s->line, inside);
                s0 += hypot(px - lx, py - ly);
            } else if (s->n == 1 || k + 1 >= s->n || !isfinite(s->y[k + 1])) {
                segment(img, px, py, px, py, 0.0, BL_PLOT_SOLID, inside); /* a lone point */
            }
            lx = px;
            ly = py;
            have = true;
        }
    }
    legend(self, c, f);

    text_at(self, f.x + f.w / 2, area.y + 14, TITLE_PX, 0, c->title, INK, false);
    text_at(self, f.x + f.w / 2, f.y + f.h + 34, LABEL_PX, 0, c->xlabel, INK, false);
    text_vertical(self, area.x + 12, f.y + f.h / 2, LABEL_PX, c->ylabel);
    if (axes)
        *axes = a;
    return BL_OK;
}

/* ---- heat maps --------------------------------------------------------- */

int bl_plot_heatmap_draw(bl_plot *self, bl_box area, const bl_plot_heatmap *hm, bl_box *cells,
                         bl_err *err)
{
    if (hm->rows < 1 || hm->cols < 1)
        return bl_err_set(err, BL_EINVAL, "plot: empty %dx%d matrix", hm->rows, hm->cols);
    double vmax = 0.0;
    for (int i = 0; i < hm->rows * hm->cols; i++) {
        if (!(hm->v[i] >= 0.0) || !isfinite(hm->v[i]))
            return bl_err_set(err, BL_EINVAL, "plot: matrix value %d is %g, not >= 0", i,
                              hm->v[i]);
        vmax = fmax(vmax, hm->v[i]);
    }
    int left = self->text ? 56 : 8, top = self->text ? (hm->title ? 70 : 44) : 8;
    int right = 8, bottom = 8;
    int cw = (area.w - left - right) / hm->cols, ch = (area.h - top - bottom) / hm->rows;
    int side = cw < ch ? cw : ch;
    if (side < 4)
        return bl_err_set(err, BL_EINVAL, "plot: area %dx%d too small for a %dx%d matrix",
                          area.w, area.h, hm->rows, hm->cols);
    int gw = side * hm->cols, gh = side * hm->rows;
    int gx = area.x + left + (area.w - left - right - gw) / 2, gy = area.y + top;
    bl_image *img = self->img;
    int vpx = side >= 40 ? TICK_PX : side * 3 / 10;
    char buf[64];
    for (int r = 0; r < hm->rows; r++)
        for (int c = 0; c < hm->cols; c++) {
            double v = hm->v[(size_t)r * hm->cols + c];
            double t = vmax <= 0 ? 0 : hm->log_scale ? log1p(v) / log1p(vmax) : v / vmax;
            /* 255 (white) for zero down to 30 for the largest value. */
            int level = (int)lround(255.0 - t * 225.0);
            int x = gx + c * side, y = gy + r * side;
            fill_box(img, x, y, x + side, y + side, level);
            if (hm->show_values && vpx >= 6 && v > 0) {
                snprintf(buf, sizeof buf, "%.0f", v);
                text_at(self, x + side / 2, y + side / 2, vpx, 0, buf, level < 128 ? 255 : INK,
                        level < 128);
            }
        }
    /* Cell borders and the outer frame. */
    for (int r = 0; r <= hm->rows; r++)
        hline(img, gx, gx + gw, gy + r * side, r == 0 || r == hm->rows ? INK : 200);
    for (int c = 0; c <= hm->cols; c++)
        vline(img, gx + c * side, gy, gy + gh, c == 0 || c == hm->cols ? INK : 200);
    for (int r = 0; r < hm->rows; r++) {
        snprintf(buf, sizeof buf, "%d", r);
        text_at(self, gx - 8, gy + r * side + side / 2, TICK_PX, 1, buf, INK, false);
    }
    for (int c = 0; c < hm->cols; c++) {
        snprintf(buf, sizeof buf, "%d", c);
        text_at(self, gx + c * side + side / 2, gy - 10, TICK_PX, 0, buf, INK, false);
    }
    if (hm->title)
        text_at(self, gx + gw / 2, area.y + 12, TITLE_PX, 0, hm->title, INK, false);
    text_at(self, gx + gw / 2, gy - 31, LABEL_PX, 0, hm->xlabel, INK, false);
    text_vertical(self, gx - 38, gy + gh / 2, LABEL_PX, hm->ylabel);
    if (cells)
        *cells = (bl_box){gx, gy, side, side};
    return BL_OK;
}
