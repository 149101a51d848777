/*
 * skew.c: measuring how far a page is turned from level, from its lines.
 *
 * Algorithm: Postl, "Detection of linear oblique structures and skew scan
 * in digitized documents", ICPR 1986, in the form of leptonica's skew.c
 * (Bloomberg, Kopec and Dasari, "Measuring document image skew and
 * orientation", SPIE 2422, 1995). For a candidate angle a, every ink pixel
 * (x, y) is projected onto the row r = y - x tan(a) (a vertical shear, which
 * for small angles is a rotation to first order) and the criterion is the
 * sum over r of (h[r+1] - h[r])^2, the squared differences of adjacent
 * projected row sums. Text lines, ruled lines and form boxes make sharp
 * steps in h exactly when they are level, so the criterion peaks at the
 * page's skew.
 *
 * Search: a sweep over [-max, +max] in 0.5 degree steps on the page reduced
 * by 8 (each reduced pixel holds the ink count of its 8x8 block, so thin
 * strokes still weigh in), then steps of 0.1 degrees over +-0.6 degrees
 * around the best on the page reduced by 4, and a parabola through the
 * best step and its neighbours. (Leptonica sweeps at 4x and searches at
 * 2x; one level coarser each halves the cost, and on A4 pages at 300 dpi
 * the error stays in hundredths of a degree.) Only nonzero reduced pixels are visited,
 * from a list built once per reduction, so an A4 page at 300 dpi costs a
 * few milliseconds. Accuracy on pages of text or forms is a few hundredths
 * of a degree; the tests hold it to 0.3.
 *
 * Limits: needs horizontal structure (text lines, rules); a page of
 * scattered marks gives conf near 1 and an arbitrary angle. The sign
 * convention: a positive angle is a page turned clockwise as displayed
 * (y down), whose lines descend to the right. Beyond about 20 degrees the
 * shear stops approximating a rotation; ingest asks for at most 12.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/image_internal.h"

#define DEG (3.14159265358979323846 / 180.0)

bl_image *bl_image_reduce_ink(const bl_image *bin, int factor)
{
    assert(bin && bin->data && factor >= 1 && factor <= 15);
    int W = bin->width, H = bin->height;
    int ow = (W + factor - 1) / factor, oh = (H + factor - 1) / factor;
    bl_image *out = bl_image_new(ow, oh);
    if (factor == 2) {
        /* Two rows at a time, each output written once: the loop the
         * compiler vectorises, and the one every page goes through. */
        int ew = W & ~1;
        for (int y = 0; y < H; y += 2) {
            const uint8_t *r0 = &BL_PIX(bin, 0, y);
            const uint8_t *r1 = y + 1 < H ? &BL_PIX(bin, 0, y + 1) : NULL;
            uint8_t *dst = &BL_PIX(out, 0, y / 2);
            if (r1) {
                for (int x = 0; x < ew; x += 2)
                    dst[x >> 1] = (uint8_t)((r0[x] != 0) + (r0[x + 1] != 0) + (r1[x] != 0) +
                                            (r1[x + 1] != 0));
                if (ew < W)
                    dst[ew >> 1] = (uint8_t)((r0[ew] != 0) + (r1[ew] != 0));
            } else {
                for (int x = 0; x < W; x++)
                    dst[x >> 1] += r0[x] != 0;
            }
        }
        return out;
    }
    for (int y = 0; y < H; y++) {
        const uint8_t *row = &BL_PIX(bin, 0, y);
        uint8_t *dst = &BL_PIX(out, 0, y / factor);
        for (int x = 0; x < W; x++)
            dst[x / factor] += row[x] != 0;
    }
    return out;
}

bl_image *bl_image_transpose(const bl_image *src)
{
    assert(src && src->data);
    bl_image *out = bl_image_new(src->height, src->width);
    /* Blocks of 64 x 64 keep both sides in cache. */
    for (int by = 0; by < src->height; by += 64)
        for (int bx = 0; bx < src->width; bx += 64) {
            int ey = by + 64 < src->height ? by + 64 : src->height;
            int ex = bx + 64 < src->width ? bx + 64 : src->width;
            for (int y = by; y < ey; y++)
                for (int x = bx; x < ex; x++)
                    BL_PIX(out, y, x) = BL_PIX(src, x, y);
        }
    return out;
}

/* The nonzero pixels of a count image, row by row. */
typedef struct ink_list {
    int W, H;
    int *row_start; /* H + 1 */
    int *x;
    float *v;
    double total;
} ink_list;

static void ink_list_build(ink_list *l, const bl_image *cnt)
{
    l->W = cnt->width;
    l->H = cnt->height;
    l->row_start = bl_xmalloc(((size_t)l->H + 1) * sizeof *l->row_start);
    size_t n = 0;
    for (int y = 0; y < l->H; y++) {
        const uint8_t *row = &BL_PIX(cnt, 0, y);
        for (int x = 0; x < l->W; x++)
            n += row[x] != 0;
    }
    l->x = bl_xmalloc((n ? n : 1) * sizeof *l->x);
    l->v = bl_xmalloc((n ? n : 1) * sizeof *l->v);
    l->total = 0;
    size_t i = 0;
    for (int y = 0; y < l->H; y++) {
        l->row_start[y] = (int)i;
        const uint8_t *row = &BL_PIX(cnt, 0, y);
        for (int x = 0; x < l->W; x++)
            if (row[x]) {
                l->x[i] = x;
                l->v[i] = row[x];
                l->total += row[x];
                i++;
            }
    }
    l->row_start[l->H] = (int)i;
}

static void ink_list_free(ink_list *l)
{
    free(l->row_start);
    free(l->x);
    free(l->v);
}

/* Postl's criterion at angle deg, per unit of ink. hist has nbins entries,
 * shift scratch W entries; off is the bin of row 0 at x = 0. */
static double postl(const ink_list *l, double deg, float *hist, int nbins, int off, int *shift)
{
    double t = tan(deg * DEG);
    for (int x = 0; x < l->W; x++)
        shift[x] = off - (int)lround(x * t);
    memset(hist, 0, (size_t)nbins * sizeof *hist);
    for (int y = 0; y < l->H; y++)
        for (int i = l->row_start[y]; i < l->row_start[y + 1]; i++)
            hist[y + shift[l->x[i]]] += l->v[i];
    double s = 0;
    for (int r = 0; r + 1 < nbins; r++) {
        double d = (double)hist[r + 1] - hist[r];
        s += d * d;
    }
    return s / l->total;
}

/* Sums 2x2 blocks of a count image (a reduction by 2 of a reduction),
 * saturating at 255. */
static void sum2_row(uint8_t *restrict dst, const uint8_t *restrict r0,
                     const uint8_t *restrict r1, int w)
{
    int ew = w & ~1;
    for (int x = 0; x < ew; x += 2) {
        unsigned v = (unsigned)r0[x] + r0[x + 1] + r1[x] + r1[x + 1];
        dst[x >> 1] = (uint8_t)(v > 255 ? 255 : v);
    }
    if (ew < w) {
        unsigned v = (unsigned)r0[ew] + r1[ew];
        dst[ew >> 1] = (uint8_t)(v > 255 ? 255 : v);
    }
}

static bl_image *reduce_sum2(const bl_image *cnt)
{
    int ow = (cnt->width + 1) / 2, oh = (cnt->height + 1) / 2;
    bl_image *out = bl_image_new(ow, oh);
    uint8_t *zero = bl_xcalloc((size_t)cnt->width, 1);
    for (int y = 0; y < cnt->height; y += 2) {
        const uint8_t *r1 = y + 1 < cnt->height ? &BL_PIX(cnt, 0, y + 1) : zero;
        sum2_row(&BL_PIX(out, 0, y / 2), &BL_PIX(cnt, 0, y), r1, cnt->width);
    }
    free(zero);
    return out;
}

typedef struct search {
    ink_list l;
    float *hist;
    int *shift;
    int nbins, off;
} search;

static void search_init(search *s, const bl_image *cnt, double max_deg)
{
    ink_list_build(&s->l, cnt);
    s->off = (int)ceil(cnt->width * tan(max_deg * DEG)) + 2;
    s->nbins = cnt->height + 2 * s->off + 2;
    s->hist = bl_xmalloc((size_t)s->nbins * sizeof *s->hist);
    s->shift = bl_xmalloc((size_t)cnt->width * sizeof *s->shift);
}

static void search_free(search *s)
{
    ink_list_free(&s->l);
    free(s->hist);
    free(s->shift);
}

static double search_score(search *s, double deg)
{
    return postl(&s->l, deg, s->hist, s->nbins, s->off, s->shift);
}

int bl_image_skew_from_reduced(const bl_image *red2, double max_deg, bl_skew_est *est)
{
    assert(red2 && red2->data && est);
    assert(max_deg >= 0 && max_deg <= 45);
    memset(est, 0, sizeof *est);
    bl_image *red4 = reduce_sum2(red2);
    bl_image *red8 = reduce_sum2(red4);
    search coarse;
    search_init(&coarse, red8, max_deg + 0.5);
    bl_image_destroy(&red8);
    if (coarse.l.total <= 0) {
        search_free(&coarse);
        bl_image_destroy(&red4);
        return BL_ENOENT;
    }
    int steps = (int)ceil(max_deg / 0.5);
    double best = -1, worst = -1, best_deg = 0;
    /* From 0 outwards, so that on a plateau (too little structure to tell
     * the angles apart) the smallest angle wins. */
    for (int j = 0; j <= 2 * steps; j++) {
        int i = j % 2 ? (j + 1) / 2 : -(j / 2);
        double deg = i * 0.5;
        double sc = search_score(&coarse, deg);
        if (sc > best) {
            best = sc;
            best_deg = deg;
        }
        if (worst < 0 || sc < worst)
            worst = sc;
    }
    search_free(&coarse);

    search fine;
    search_init(&fine, red4, fabs(best_deg) + 0.7);
    bl_image_destroy(&red4);
    double sc[13];
    int bi = 6;
    for (int j = 0; j < 13; j++) {
        int i = 6 + (j % 2 ? (j + 1) / 2 : -(j / 2));
        sc[i] = search_score(&fine, best_deg + (i - 6) * 0.1);
        if (sc[i] > sc[bi])
            bi = i;
    }
    double angle = best_deg + (bi - 6) * 0.1;
    if (bi > 0 && bi < 12) {
        /* Vertex of the parabola through the best step and its neighbours. */
        double a = sc[bi - 1], b = sc[bi], c = sc[bi + 1];
        double den = a - 2 * b + c;
        if (den < 0)
            angle += 0.1 * 0.5 * (a - c) / den;
    }
    est->angle = angle;
    est->score = sc[bi];
    est->conf = worst > 0 ? best / worst : 0;
    search_free(&fine);
    return BL_OK;
}

int bl_image_find_skew(const bl_image *bin, double max_deg, bl_skew_est *est)
{
    bl_image *red2 = bl_image_reduce_ink(bin, 2);
    int rc = bl_image_skew_from_reduced(red2, max_deg, est);
    bl_image_destroy(&red2);
    return rc;
}
