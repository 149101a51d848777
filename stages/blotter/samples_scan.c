/*
 * samples_scan: the scanner model of the sample generator (see the header
 * for the steps and their order).
 *
 * Geometry is one affine map from output pixel centres to upright page
 * coordinates, evaluated incrementally along each row. The Gaussian is
 * applied as two 1-D passes with 16-bit fixed-point weights (kernel radius
 * ceil(3 sigma)). Noise comes from a xorshift64* stream seeded per page, so
 * pages are reproducible and independent of the layout's random stream.
 */
#include "blotter/samples_scan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct affine {
    double a, b, c, d, e, f; /* x' = a x + b y + c, y' = d x + e y + f */
} affine;

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

void bl_samples_scan_size(const bl_samples_scan *sc, int w, int h, int *out_w,
                          int *out_h)
{
    int quarter = sc->rotation == 90 || sc->rotation == 270;
    *out_w = quarter ? h : w;
    *out_h = quarter ? w : h;
}

/* Upright page -> output, in continuous coordinates (pixel (i, j) covers
 * [i, i+1) x [j, j+1)). */
static affine forward_map(const bl_samples_scan *sc, int w, int h)
{
    double t = sc->skew * M_PI / 180.0, cs = cos(t), sn = sin(t);
    double cx = w / 2.0, cy = h / 2.0;
    /* Skew about the centre: u' = cx + cs (u-cx) - sn (v-cy), etc. */
    affine s = {cs, -sn, cx - cs * cx + sn * cy, sn, cs, cy - sn * cx - cs * cy};
    switch (sc->rotation) {
    case 90: /* x = h - v', y = u' */
        return (affine){-s.d, -s.e, h - s.f, s.a, s.b, s.c};
    case 180: /* x = w - u', y = h - v' */
        return (affine){-s.a, -s.b, w - s.c, -s.d, -s.e, h - s.f};
    case 270: /* x = v', y = w - u' */
        return (affine){s.d, s.e, s.f, -s.a, -s.b, w - s.c};
    default:
        return s;
    }
}

static affine invert(affine m)
{
    double det = m.a * m.e - m.b * m.d;
    affine r = {m.e / det, -m.b / det, 0, -m.d / det, m.a / det, 0};
    r.c = -(r.a * m.c + r.b * m.f);
    r.f = -(r.d * m.c + r.e * m.f);
    return r;
}

/* Bilinear sample at continuous (u, v); `outside` beyond the image. */
static int sample(const bl_image *img, double u, double v, int outside)
{
    double x = u - 0.5, y = v - 0.5;
    int x0 = (int)floor(x), y0 = (int)floor(y);
    double fx = x - x0, fy = y - y0;
    int p[4];
    for (int k = 0; k < 4; k++) {
        int xx = x0 + (k & 1), yy = y0 + (k >> 1);
        p[k] = xx >= 0 && yy >= 0 && xx < img->width && yy < img->height
                   ? BL_PIX(img, xx, yy)
                   : outside;
    }
    double top = p[0] + fx * (p[1] - p[0]), bot = p[2] + fx * (p[3] - p[2]);
    return (int)(top + fy * (bot - top) + 0.5);
}

enum { TILE_SHIFT = 4 }; /* 16 x 16 pixel tiles */

/* Tiles of src holding ink, dilated by one tile so that a bilinear sample
 * anywhere in an unmarked tile reads only paper: most of a page is blank,
 * and this lets the warp skip it. */
static uint8_t *ink_tiles(const bl_image *src, int *tw_out, int *th_out)
{
    int tw = (src->width >> TILE_SHIFT) + 1, th = (src->height >> TILE_SHIFT) + 1;
    uint8_t *raw = bl_xcalloc((size_t)tw * (size_t)th, 1);
    for (int y = 0; y < src->height; y++) {
        const uint8_t *row = &BL_PIX(src, 0, y);
        for (int x = 0; x < src->width; x++)
            if (row[x])
                raw[(y >> TILE_SHIFT) * tw + (x >> TILE_SHIFT)] = 1;
    }
    uint8_t *t = bl_xcalloc((size_t)tw * (size_t)th, 1);
    for (int y = 0; y < th; y++)
        for (int x = 0; x < tw; x++)
            if (raw[y * tw + x])
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                        if (y + dy >= 0 && y + dy < th && x + dx >= 0 && x + dx < tw)
                            t[(y + dy) * tw + x + dx] = 1;
    free(raw);
    *tw_out = tw;
    *th_out = th;
    return t;
}

/* Fills out (ow x oh, at offset ox, oy of the full output) from src
 * through the inverse map; src_x/src_y place src on the upright page. */
static void warp(bl_image *out, int ox, int oy, const bl_image *src, int src_x,
                 int src_y, affine inv, int outside)
{
    int tw, th;
    uint8_t *tiles = ink_tiles(src, &tw, &th);
    double W = src->width, H = src->height;
    for (int y = 0; y < out->height; y++) {
        double py = oy + y + 0.5, px = ox + 0.5;
        double u = inv.a * px + inv.b * py + inv.c - src_x;
        double v = inv.d * px + inv.e * py + inv.f - src_y;
        uint8_t *row = &BL_PIX(out, 0, y);
        for (int x = 0; x < out->width; x++, u += inv.a, v += inv.d) {
            if (u >= 1 && v >= 1 && u < W - 1 && v < H - 1 &&
                !tiles[((int)v >> TILE_SHIFT) * tw + ((int)u >> TILE_SHIFT)])
                row[x] = 0;
            else
                row[x] = (uint8_t)sample(src, u, v, outside);
        }
    }
    free(tiles);
}

/* In-place separable Gaussian blur; edges replicate. The vertical pass
 * accumulates whole rows, so both passes walk memory in order. */
static void blur(bl_image *img, double sigma)
{
    if (sigma < 0.2)
        return;
    int r = (int)ceil(3 * sigma);
    if (r > 31)
        r = 31;
    int k[64], sum = 0;
    for (int i = -r; i <= r; i++) {
        k[i + r] = (int)lround(4096.0 * exp(-(double)(i * i) / (2 * sigma * sigma)));
        sum += k[i + r];
    }
    int w = img->width, h = img->height;
    int *line = bl_xmalloc(sizeof(int) * (size_t)(w + 2 * r));
    for (int y = 0; y < h; y++) {
        uint8_t *row = &BL_PIX(img, 0, y);
        int any = 0;
        for (int i = -r; i < w + r; i++) {
            int v = row[imin(imax(i, 0), w - 1)];
            line[i + r] = v;
            any |= v;
        }
        if (!any)
            continue; /* blank paper stays blank */
        for (int x = 0; x < w; x++) {
            int acc = 0;
            for (int t = 0; t <= 2 * r; t++)
                acc += k[t] * line[x + t];
            row[x] = (uint8_t)((acc + sum / 2) / sum);
        }
    }
    free(line);

    bl_image *src = bl_image_crop(img, (bl_box){0, 0, w, h});
    uint8_t *blank = bl_xcalloc((size_t)w, 1);
    int *acc = bl_xmalloc(sizeof(int) * (size_t)w);
    for (int y = 0; y < h; y++) {
        memset(acc, 0, sizeof(int) * (size_t)w);
        int any = 0;
        for (int t = 0; t <= 2 * r; t++) {
            const uint8_t *s = &BL_PIX(src, 0, imin(imax(y + t - r, 0), h - 1));
            if (memcmp(s, blank, (size_t)w) == 0)
                continue;
            any = 1;
            for (int x = 0; x < w; x++)
                acc[x] += k[t] * s[x];
        }
        uint8_t *row = &BL_PIX(img, 0, y);
        if (!any) {
            memset(row, 0, (size_t)w);
            continue;
        }
        for (int x = 0; x < w; x++)
            row[x] = (uint8_t)((acc[x] + sum / 2) / sum);
    }
    free(acc);
    free(blank);
    bl_image_destroy(&src);
}

static uint64_t xs_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

static double xs_real(uint64_t *s, double lo, double hi)
{
    return lo + (double)(xs_next(s) >> 11) * 0x1.0p-53 * (hi - lo);
}

static void disc(bl_image *img, double cx, double cy, double r, int level)
{
    int x0 = imax((int)floor(cx - r), 0), x1 = imin((int)ceil(cx + r), img->width - 1);
    int y0 = imax((int)floor(cy - r), 0), y1 = imin((int)ceil(cy + r), img->height - 1);
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
            if (dx * dx + dy * dy <= r * r && BL_PIX(img, x, y) < level)
                BL_PIX(img, x, y) = (uint8_t)level;
        }
}

/* Dark band along one edge with a ragged inner border (a random walk). */
static void dark_edge(bl_image *img, int side, int width, uint64_t *s)
{
    int len = side == 0 || side == 2 ? img->width : img->height;
    double w = xs_real(s, 0.4, 1.0) * width;
    for (int i = 0; i < len; i++) {
        w += xs_real(s, -1.0, 1.0);
        if (w < 2)
            w = 2;
        if (w > width)
            w = width;
        for (int d = 0; d < (int)w; d++) {
            int x, y;
            switch (side) {
            case 0: x = i; y = d; break;
            case 1: x = img->width - 1 - d; y = i; break;
            case 2: x = i; y = img->height - 1 - d; break;
            default: x = d; y = i; break;
            }
            if (x >= 0 && y >= 0 && x < img->width && y < img->height)
                BL_PIX(img, x, y) = 255;
        }
    }
}

bl_image *bl_samples_scan_page(const bl_image *ink, const bl_samples_scan *sc,
                               int gray_out, uint64_t seed)
{
    int ow, oh;
    bl_samples_scan_size(sc, ink->width, ink->height, &ow, &oh);
    affine inv = invert(forward_map(sc, ink->width, ink->height));
    bl_image *b = bl_image_new(ow, oh);
    warp(b, 0, 0, ink, 0, 0, inv, sc->edges ? 255 : 0);
    blur(b, sc->blur_sigma);

    uint64_t s = seed | 1;
    for (int side = 0; side < 4; side++)
        if (sc->edges & (1 << side))
            dark_edge(b, side, sc->edge_width, &s);
    for (int i = 0; i < sc->specks; i++) {
        double cx = xs_real(&s, 0, ow), cy = xs_real(&s, 0, oh);
        double r = xs_real(&s, 0.5, sc->speck_radius);
        /* Dirt clusters: a few specks around one spot. */
        int cluster = (xs_next(&s) % 8) == 0 ? (int)(xs_next(&s) % 6) + 2 : 1;
        for (int c = 0; c < cluster; c++)
            disc(b, cx + xs_real(&s, -4 * r, 4 * r), cy + xs_real(&s, -4 * r, 4 * r),
                 r, (int)xs_real(&s, 160, 256));
    }

    /* Sensor noise: triangular, +-noise_amp; a gray output keeps the gray
     * levels, a bilevel one is thresholded. */
    int amp = sc->noise_amp;
    for (int y = 0; y < oh; y++) {
        uint8_t *row = &BL_PIX(b, 0, y);
        for (int x = 0; x < ow; x += 4) {
            uint64_t r = xs_next(&s);
            for (int k = 0; k < 4 && x + k < ow; k++, r >>= 16) {
                int n = amp ? (int)((r & 0xff) + ((r >> 8) & 0xff)) - 255 : 0;
                n = n * amp / 255;
                int v = row[x + k];
                if (gray_out) {
                    /* Noise on the ink's blurred rim only: flat paper and
                     * saturated black keep a gray PNG small. */
                    int g = sc->paper - (sc->paper - sc->ink) * v / 255 +
                            (v > 0 && v < 255 ? n / 2 : 0);
                    row[x + k] = (uint8_t)imin(imax(g, 0), 255);
                } else {
                    row[x + k] = v + n > sc->threshold;
                }
            }
        }
    }
    return b;
}

bl_box bl_samples_scan_glyph_box(const bl_image *glyph, int gx, int gy,
                                 int page_w, int page_h,
                                 const bl_samples_scan *sc, int level)
{
    affine fw = forward_map(sc, page_w, page_h), inv = invert(fw);
    double xs[4] = {gx, gx + glyph->width, gx, gx + glyph->width};
    double ys[4] = {gy, gy, gy + glyph->height, gy + glyph->height};
    double x0 = 1e18, y0 = 1e18, x1 = -1e18, y1 = -1e18;
    for (int k = 0; k < 4; k++) {
        double x = fw.a * xs[k] + fw.b * ys[k] + fw.c;
        double y = fw.d * xs[k] + fw.e * ys[k] + fw.f;
        x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
    }
    int m = (int)ceil(3 * sc->blur_sigma) + 2;
    int ow, oh;
    bl_samples_scan_size(sc, page_w, page_h, &ow, &oh);
    int rx0 = imax((int)floor(x0) - m, 0), ry0 = imax((int)floor(y0) - m, 0);
    int rx1 = imin((int)ceil(x1) + m, ow), ry1 = imin((int)ceil(y1) + m, oh);
    bl_box box = {0, 0, 0, 0};
    if (rx1 <= rx0 || ry1 <= ry0)
        return box;
    bl_image *local = bl_image_new(rx1 - rx0, ry1 - ry0);
    warp(local, rx0, ry0, glyph, gx, gy, inv, 0);
    blur(local, sc->blur_sigma);
    int bx0 = INT32_MAX, by0 = INT32_MAX, bx1 = -1, by1 = -1;
    for (int y = 0; y < local->height; y++)
        for (int x = 0; x < local->width; x++)
            if (BL_PIX(local, x, y) > level) {
                bx0 = imin(bx0, x), bx1 = imax(bx1, x);
                by0 = imin(by0, y), by1 = imax(by1, y);
            }
    bl_image_destroy(&local);
    if (bx1 >= 0)
        box = (bl_box){rx0 + bx0, ry0 + by0, bx1 - bx0 + 1, by1 - by0 + 1};
    return box;
}
