/*
 * segment: cuts a field crop into single digits, left to right, each
 * normalised the MNIST way.
 *
 * Algorithm (connected components with merge and split rules, and
 * recognition-based splitting of touching digits; see Casey and Lecolinet
 * 1996, "A survey of methods and strategies in character segmentation",
 * and Fujisawa, Nakano and Kurino 1992 for the candidate-cut lattice):
 *  1. Connected components of the crop (8-connected), with the label map.
 *     Specks are dropped.
 *  2. The field's slant is estimated as the shear that makes the vertical
 *     projection of its ink sharpest (the sum of squared column counts is
 *     largest, the column analogue of Postl's skew criterion), over
 *     -0.3..0.6 in steps of 0.05. Every later step works in deslanted
 *     columns u = x - slant * (H - 1 - y): slanted writers' neighbouring
 *     digits overlap in x but not in u, and touching digits are cut along
 *     the slant rather than straight down.
 *  3. Broken strokes are merged back: pieces overlapping strongly in u
 *     stack into one digit; then, against the writer's digit height (the
 *     median piece height), a fragment shorter than 0.6 of it joins its
 *     nearest neighbour within 0.3 of it, and pieces whose boxes just meet
 *     join when together no wider than a digit. Pieces left shorter than
 *     0.35 of the digit height (dots, dashes, line remnants) are dropped.
 *  4. A piece wider than one digit height in u may be touching digits.
 *     Candidate cuts are the local minima of its deslanted projection
 *     (at most 10, apart by 0.12 heights), each described by
 *     BL_SEGMENT_CUT_FEATURES numbers (ink on the cut against the stroke
 *     width, position, contour depth, crossings). With the cut scorer (a
 *     tiny MLP, `blotter train segment`) the cuts with P(cut) >= 0.5 are
 *     made, and the digit classifier, when loaded, confirms each split of
 *     a piece no wider than 1.6 heights (the parts must read better than
 *     the whole) and may make the likeliest doubted cut the same way.
 *     Without a scorer, a piece wider than 1.25 heights is cut into
 *     round(width / 0.75 height) parts at the cuts likeliest by their ink
 *     near the nominal boundaries, refused when a part comes out shorter
 *     than a digit; with only the classifier, every part between two cuts
 *     is classified in one batch and a dynamic programme picks the
 *     segmentation that maximises the sum of log P(cut), log of each
 *     part's best class probability and a width prior.
 *  5. When a form template gives the digit count lo..hi and the result of
 *     step 4 falls outside it, the whole field is chosen again at once
 *     (with the classifier): every piece is over-segmented at its candidate
 *     cuts into ordered atoms, each run of consecutive atoms that could be
 *     one digit (a stretch of one piece, or whole neighbouring pieces: a
 *     broken digit) is classified in one batch, and a dynamic programme
 *     picks N digits, N in lo..hi, maximising the sum of each digit's log
 *     P(best class) and width prior, the log odds of the cuts made, less a
 *     cost for each piece joined to another and for each piece or end dash
 *     left out (the level-building search of Rabiner and Levinson 1985,
 *     over the segmentation lattice of Fujisawa et al.). The count is also
 *     fitted greedily (split at the best cut, merge neighbours or drop the
 *     weakest piece, one step at a time); that answer stands instead when
 *     its digits read clearly better (sum of log P(best class) higher by
 *     DP_KEEP_MARGIN), or when there is no classifier or no segmentation
 *     of the atoms fits.
 *  6. Each digit is rebuilt from its own pixels only (its components, and
 *     its stretch of u between cuts) and normalised with
 *     bl_image_mnist_normalize.
 *  7. When the segment model file holds a digit separator (separate.h: a
 *     small network that says, pixel by pixel, which ink of a run of
 *     touching digits is its leftmost digit's) and the classifier is
 *     loaded: with a known count, the field as the separator alone takes
 *     its wide pieces apart stands instead when its count fits and its
 *     digits read better (the sum of log P(best class) over the digits the
 *     two readings do not share); two neighbours cut apart through
 *     connected ink are taken apart again by the separator when its pair
 *     reads better; and a wide digit the separator sees as two becomes two
 *     when the count allows one more and each reads with P >= SEP_SURE.
 *
 * Limits: without a separator, cuts are straight (slanted) lines, so
 * digits that overlap deeply are cut roughly (the global choice of step 5
 * finds the right count more often but cannot cut better than its
 * candidates); a single-digit piece's split depends on the classifier
 * being surer of the parts than of the whole; digits whose boxes meet
 * without touching are merged when together they are no wider than one.
 */
#include "segment/segment.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blm/blm.h"
#include "classify/classify.h"
#include "nn/nn.h"
#include "segment/read_memo.h"
#include "segment/separate.h"

enum {
    SPECK_PIXELS = 6,
    MAX_PARTS = 8,
    MAX_CANDS = 10
};
#define SPECK_RATIO 0.12
#define MERGE_OVERLAP 0.5
#define FRAGMENT_RATIO 0.6
#define FRAGMENT_GAP 0.3
#define ABUT_GAP 1
#define ABUT_OVERLAP 0.1
#define ABUT_MAX_W 1.1      /* merged abutting pieces at most this x height */
#define DOT_RATIO 0.35      /* shorter pieces are dots, dashes, remnants */
#define SPLIT_MIN 1.0       /* u-width / height above which to try cuts */
#define PART_COST 1.5       /* log penalty per extra part (classifier) */
#define DIGIT_WIDTH 0.75    /* digit pitch / height, rules */
#define SPLIT_RULES 1.25    /* u-width / height above which the rules cut */
#define CUT_EDGE 0.12       /* no cut closer to a piece's end (x height) */
#define CUT_SEP 0.12        /* candidate cuts at least this far apart */
#define CUT_SURE 0.5     /* P(cut) above which the scorer's cut is made */
#define MIN_PART 0.3     /* narrowest part a scored cut may leave (x height) */
#define REMNANT_W 1.6    /* line remnants: at most this many strokes wide */
#define REMNANT_FILL 0.7 /* a dashed bar inks less of its box */
#define TOOTH_TOP 0.35   /* a comb tooth starts this far below the digits' top */
#define WIDE_ONE 1.6     /* wider pieces are never one digit (x height) */
#define SPLIT_MARGIN 0.0 /* parts' mean log P over the whole's, to split */
#define CUT_MAYBE 0.05   /* a doubted cut the classifier may still make ... */
#define DOUBT_MARGIN 0.0 /* ... when the parts' mean log P is this much higher */
#define SLANT_LO -0.3
#define SLANT_HI 0.6
#define SLANT_STEP 0.05
#define SEP_PART_MIN 0.1 /* a separated digit holds at least this of the pair */
#define SEP_MARGIN 0.0   /* log P the separated pair must gain */
#define SEP_WIDE 0.8     /* digits this wide (x height) may be two */
#define SEP_SPLIT_MIN 0.2 /* ... when each of the two holds this much ink */
#define SEP_SURE 0.9      /* ... and each reads with this P(best class) */
#define SEP_FIELD_MARGIN 0.0 /* log P the separator's whole field must gain */
#define SEP_FIELD_WIDE 0.8 /* pieces this wide in u (x height) are taken apart */
#define READ_MEMO_CAPACITY 512 /* readings remembered within one field */

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

/* ---- Geometry ------------------------------------------------------------ */

typedef struct geom {
    int W, H;
    double slant;
    int off;      /* added so u >= 0 */
    int U;        /* u range [0, U) */
    const int *labels;
    int *u; /* each pixel's u, W x H: the pixel loops ask for it often */
} geom;

static inline int ucol(const geom *g, int x, int y)
{
    return g->u[(size_t)y * (size_t)g->W + (size_t)x];
}

/* lround(v) without the library call, for |v| < 2^52: v - r is exact. */
static inline int round_half_away(double v)
{
    long r = (long)v;
    double d = v - (double)r;
    return (int)(d >= 0.5 ? r + 1 : d <= -0.5 ? r - 1 : r);
}

static void geom_init(geom *g, int W, int H, double slant, const int *labels)
{
    g->W = W, g->H = H, g->slant = slant, g->labels = labels;
    int span = (int)ceil(fabs(slant) * (H - 1)) + 1;
    g->off = slant > 0 ? span : 0;
    g->U = W + span + 1;
    g->u = bl_xmalloc((size_t)W * (size_t)H * sizeof *g->u + 1);
    for (int y = 0; y < H; y++) {
        double shift = slant * (H - 1 - y);
        for (int x = 0; x < W; x++)
            g->u[(size_t)y * (size_t)W + (size_t)x] = round_half_away(x - shift) + g->off;
    }
}

/* A candidate digit: a set of component labels and a stretch of u. */
typedef struct piece {
    bl_box box;  /* ink box in crop pixels */
    int u0, u1;  /* ink u range [u0, u1) */
    int *labels; /* component labels (1-based) */
    int nlabels;
    int c0, c1;  /* only pixels with c0 <= u < c1 belong to it */
} piece;

static int has_label(const piece *p, int label)
{
    for (int i = 0; i < p->nlabels; i++)
        if (p->labels[i] == label)
            return 1;
    return 0;
}

static int owns(const piece *p, const geom *g, int x, int y)
{
    int l = g->labels[(size_t)y * (size_t)g->W + (size_t)x];
    if (!l || !has_label(p, l))
        return 0;
    int u = ucol(g, x, y);
    return u >= p->c0 && u < p->c1;
}

/* Recomputes p's ink box and u range from its own pixels; box.w = 0 when
 * it owns none. Scans its current box. */
static void piece_refit(piece *p, const geom *g)
{
    int x0 = INT32_MAX, x1 = -1, y0 = INT32_MAX, y1 = -1, u0 = INT32_MAX, u1 = -1;
    for (int y = p->box.y; y < p->box.y + p->box.h; y++)
        for (int x = p->box.x; x < p->box.x + p->box.w; x++)
            if (owns(p, g, x, y)) {
                int u = ucol(g, x, y);
                x0 = imin(x0, x), x1 = imax(x1, x);
                y0 = imin(y0, y), y1 = imax(y1, y);
                u0 = imin(u0, u), u1 = imax(u1, u);
            }
    if (x1 < 0) {
        p->box = (bl_box){0, 0, 0, 0};
        return;
    }
    p->box = (bl_box){x0, y0, x1 - x0 + 1, y1 - y0 + 1};
    p->u0 = u0;
    p->u1 = u1 + 1;
}

/* Marks p's pixels as digit id's in owner (crop-sized). */
static void mark_owner(const piece *p, const geom *g, uint8_t *owner, int id)
{
    for (int y = p->box.y; y < p->box.y + p->box.h; y++)
        for (int x = p->box.x; x < p->box.x + p->box.w; x++)
            if (owns(p, g, x, y))
                owner[(size_t)y * (size_t)g->W + (size_t)x] = (uint8_t)id;
}

static bl_box box_union(bl_box a, bl_box b)
{
    int x0 = imin(a.x, b.x), y0 = imin(a.y, b.y);
    int x1 = imax(a.x + a.w, b.x + b.w), y1 = imax(a.y + a.h, b.y + b.h);
    return (bl_box){x0, y0, x1 - x0, y1 - y0};
}

static void absorb(piece *p, piece *q)
{
    p->labels = bl_xrealloc(p->labels, sizeof *p->labels * (size_t)(p->nlabels + q->nlabels));
    memcpy(p->labels + p->nlabels, q->labels, sizeof *q->labels * (size_t)q->nlabels);
    p->nlabels += q->nlabels;
    p->box = box_union(p->box, q->box);
    p->u0 = imin(p->u0, q->u0);
    p->u1 = imax(p->u1, q->u1);
    free(q->labels);
    q->labels = NULL;
}

/* Gap in u between two pieces (negative when they overlap). */
static int u_gap(const piece *a, const piece *b)
{
    return imax(a->u0, b->u0) - imin(a->u1, b->u1);
}

static int belong_together(const piece *a, const piece *b, int digit_h, int pass)
{
    int gap = u_gap(a, b);
    int wa = a->u1 - a->u0, wb = b->u1 - b->u0;
    if (-gap >= MERGE_OVERLAP * imin(wa, wb))
        return 1;
    if (pass == 0 || digit_h <= 0)
        return 0;
    if ((a->box.h < FRAGMENT_RATIO * digit_h || b->box.h < FRAGMENT_RATIO * digit_h) &&
        gap <= FRAGMENT_GAP * digit_h)
        return 1;
    int uw = imax(a->u1, b->u1) - imin(a->u0, b->u0);
    return gap <= ABUT_GAP && gap >= -ABUT_OVERLAP * digit_h && uw <= ABUT_MAX_W * digit_h;
}

static void merge_pieces(piece *pieces, int *npieces, int digit_h, int pass)
{
    for (;;) {
        int bi = -1, bj = -1, best_gap = 0;
        for (int i = 0; i < *npieces; i++)
            for (int j = i + 1; j < *npieces; j++) {
                if (!belong_together(&pieces[i], &pieces[j], digit_h, pass))
                    continue;
                int gap = u_gap(&pieces[i], &pieces[j]);
                if (bi < 0 || gap < best_gap)
                    bi = i, bj = j, best_gap = gap;
            }
        if (bi < 0)
            return;
        absorb(&pieces[bi], &pieces[bj]);
        pieces[bj] = pieces[--*npieces];
    }
}

static int cmp_int(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    return (a > b) - (a < b);
}

static int median_height(const piece *pieces, int n)
{
    if (n == 0)
        return 0;
    int *h = bl_xmalloc(sizeof *h * (size_t)n);
    for (int i = 0; i < n; i++)
        h[i] = pieces[i].box.h;
    qsort(h, (size_t)n, sizeof *h, cmp_int);
    int m = h[n / 2];
    free(h);
    return m;
}

/* Step 2: the shear that makes the column projection sharpest. */
static double estimate_slant(const bl_image *crop, const int *labels)
{
    int W = crop->width, H = crop->height;
    int span = (int)ceil(fmax(fabs(SLANT_LO), fabs(SLANT_HI)) * H) + 2;
    int n = W + 2 * span;
    /* The ink as horizontal runs, found once: each shear then adds every
     * run to the column counts through a difference array, so a shear
     * costs the runs and the columns, not the crop's area. */
    size_t nruns = 0, cap = 64;
    int *runs = bl_xmalloc(sizeof *runs * 3 * cap); /* y, x0, x1 */
    for (int y = 0; y < H; y++) {
        const int *row = labels + (size_t)y * (size_t)W;
        for (int x = 0; x < W;) {
            if (!row[x]) {
                x++;
                continue;
            }
            int x0 = x;
            while (x < W && row[x])
                x++;
            if (nruns == cap) {
                cap *= 2;
                runs = bl_xrealloc(runs, sizeof *runs * 3 * cap);
            }
            runs[3 * nruns] = y, runs[3 * nruns + 1] = x0, runs[3 * nruns + 2] = x;
            nruns++;
        }
    }
    long *diff = bl_xcalloc((size_t)n + 1, sizeof *diff);
    double best = -1, best_s = 0;
    for (double s = SLANT_LO; s <= SLANT_HI + 1e-9; s += SLANT_STEP) {
        memset(diff, 0, sizeof *diff * ((size_t)n + 1));
        for (size_t r = 0; r < nruns; r++) {
            int shift = (int)lround(-s * (H - 1 - runs[3 * r])) + span;
            diff[runs[3 * r + 1] + shift]++;
            diff[runs[3 * r + 2] + shift]--;
        }
        double score = 0;
        long col = 0;
        for (int i = 0; i < n; i++) {
            col += diff[i];
            score += (double)col * (double)col;
        }
        /* Ties and near-ties go to the smaller shear. */
        if (score > best * (1 + 1e-6) || best < 0 ||
            (fabs(score - best) <= best * 1e-6 && fabs(s) < fabs(best_s))) {
            best = score;
            best_s = s;
        }
    }
    free(diff);
    free(runs);
    return fabs(best_s) < 1e-9 ? 0 : best_s;
}

/* ---- Candidate cuts ------------------------------------------------------ */

typedef struct cutcand {
    int u;
    float feat[BL_SEGMENT_CUT_FEATURES];
    double p; /* P(cut) */
} cutcand;

/* Column profile of a piece in u: ink count, top and bottom ink row and
 * number of vertical ink runs per column, over [p->u0, p->u1). */
typedef struct profile {
    int n;
    int *ink, *top, *bot, *runs;
} profile;

static void profile_build(profile *pr, const piece *p, const geom *g)
{
    pr->n = p->u1 - p->u0;
    pr->ink = bl_xcalloc((size_t)pr->n, sizeof *pr->ink);
    pr->top = bl_xmalloc(sizeof *pr->top * (size_t)pr->n);
    pr->bot = bl_xmalloc(sizeof *pr->bot * (size_t)pr->n);
    pr->runs = bl_xcalloc((size_t)pr->n, sizeof *pr->runs);
    int *last = bl_xmalloc(sizeof *last * (size_t)pr->n);
    for (int i = 0; i < pr->n; i++)
        pr->top[i] = INT32_MAX, pr->bot[i] = -1, last[i] = -2;
    for (int y = p->box.y; y < p->box.y + p->box.h; y++)
        for (int x = p->box.x; x < p->box.x + p->box.w; x++)
            if (owns(p, g, x, y)) {
                int i = ucol(g, x, y) - p->u0;
                if (i < 0 || i >= pr->n)
                    continue;
                pr->ink[i]++;
                pr->top[i] = imin(pr->top[i], y);
                pr->bot[i] = imax(pr->bot[i], y);
                if (last[i] != y - 1)
                    pr->runs[i]++;
                last[i] = y;
            }
    free(last);
}

static void profile_free(profile *pr)
{
    free(pr->ink);
    free(pr->top);
    free(pr->bot);
    free(pr->runs);
}

/* Candidate cuts of piece p: local minima of the smoothed projection. */
static int find_cuts(const piece *p, const geom *g, int digit_h, double stroke, cutcand *out)
{
    profile pr;
    profile_build(&pr, p, g);
    int n = pr.n, edge = (int)(CUT_EDGE * digit_h), sep = imax(2, (int)(CUT_SEP * digit_h));
    double *sm = bl_xmalloc(sizeof *sm * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        int lo = imax(0, i - 1), hi = imin(n - 1, i + 1);
        double s = 0;
        for (int k = lo; k <= hi; k++)
            s += pr.ink[k];
        sm[i] = s / (hi - lo + 1);
    }
    /* Minima: not above either neighbour within 2 columns, scored by value;
     * picked best first, keeping the separation. */
    int cand[512], nc = 0;
    for (int i = edge; i < n - edge && nc < 512; i++) {
        int lo = imax(0, i - 2), hi = imin(n - 1, i + 2), ok = 1;
        for (int k = lo; k <= hi && ok; k++)
            if (sm[k] < sm[i])
                ok = 0;
        if (ok && (nc == 0 || cand[nc - 1] < i - 1))
            cand[nc++] = i;
    }
    int pick[MAX_CANDS], np = 0;
    while (np < MAX_CANDS) {
        int bi = -1;
        for (int k = 0; k < nc; k++) {
            if (cand[k] < 0)
                continue;
            int far = 1;
            for (int m = 0; m < np && far; m++)
                if (abs(cand[k] - pick[m]) < sep)
                    far = 0;
            if (!far) {
                cand[k] = -1;
                continue;
            }
            if (bi < 0 || sm[cand[k]] < sm[cand[bi]])
                bi = k;
        }
        if (bi < 0)
            break;
        pick[np++] = cand[bi];
        cand[bi] = -1;
    }
    qsort(pick, (size_t)np, sizeof *pick, cmp_int);
    double sw = stroke > 0.5 ? stroke : 1;
    for (int k = 0; k < np; k++) {
        int i = pick[k];
        cutcand *c = &out[k];
        c->u = p->u0 + i;
        double lmin = sm[i];
        int wlo = imax(0, i - sep), whi = imin(n - 1, i + sep);
        double lmax = 0, rmax = 0;
        for (int m = wlo; m < i; m++)
            lmax = fmax(lmax, sm[m]);
        for (int m = i + 1; m <= whi; m++)
            rmax = fmax(rmax, sm[m]);
        double h = p->box.h;
        float *f = c->feat;
        f[0] = (float)(pr.ink[i] / sw);
        f[1] = (float)(lmin / sw);
        f[2] = (float)((double)i / n);
        f[3] = (float)((double)i / digit_h);
        f[4] = (float)((double)(n - i) / digit_h);
        f[5] = (float)((double)n / digit_h);
        f[6] = (float)(pr.bot[i] >= 0 ? (pr.top[i] - p->box.y) / h : 1.0);
        f[7] = (float)(pr.bot[i] >= 0 ? (p->box.y + p->box.h - 1 - pr.bot[i]) / h : 1.0);
        f[8] = (float)pr.runs[i];
        f[9] = (float)((fmin(lmax, rmax) - lmin) / sw);
    }
    free(sm);
    profile_free(&pr);
    return np;
}

/* Mean horizontal run length of the crop's ink: the stroke width. */
static double stroke_width(const bl_image *crop)
{
    long runs = 0, ink = 0;
    for (int y = 0; y < crop->height; y++) {
        int prev = 0;
        for (int x = 0; x < crop->width; x++) {
            int v = BL_PIX(crop, x, y) != 0;
            ink += v;
            if (v && !prev)
                runs++;
            prev = v;
        }
    }
    return runs ? (double)ink / (double)runs : 1;
}

/* ---- The models ---------------------------------------------------------- */

struct bl_segment {
    bl_nn_net *cut;
    float mean[BL_SEGMENT_CUT_FEATURES], sd[BL_SEGMENT_CUT_FEATURES];
    bl_classifier *clf;
    bl_read_memo *memo; /* the classifier's readings of this field's crops */
    bl_separator *sep; /* NULL: the model file holds none */
    char id[64];
};

static int parse_floats(const char *s, float *out, int n)
{
    for (int i = 0; i < n; i++) {
        char *end = NULL;
        if (!s)
            return -1;
        double v = strtod(s, &end);
        if (end == s || !isfinite(v))
            return -1;
        out[i] = (float)v;
        s = end;
    }
    while (*s == ' ')
        s++;
    return *s ? -1 : 0;
}

bl_segment *bl_segment_new(const char *cut_model, const char *classify_model, bl_err *err)
{
    bl_segment *self = bl_xcalloc(1, sizeof *self);
    if (cut_model && cut_model[0]) {
        bl_blm *m = bl_blm_load(cut_model, BL_SEGMENT_MODEL_KIND, err);
        if (!m)
            goto fail;
        if (bl_separator_from_blm(m, cut_model, &self->sep, err) != BL_OK) {
            bl_blm_destroy(&m);
            goto fail;
        }
        bl_blm *cuts_only = bl_separator_strip(m);
        self->cut = bl_nn_net_from_blm(cuts_only, 1, 1, BL_SEGMENT_CUT_FEATURES, cut_model, err);
        bl_blm_destroy(&cuts_only);
        if (self->cut && bl_nn_net_classes(self->cut) != 2) {
            bl_err_set(err, BL_EFORMAT, "%s: model has %d classes, a cut scorer needs 2",
                       cut_model, bl_nn_net_classes(self->cut));
            bl_nn_net_destroy(&self->cut);
        }
        if (self->cut &&
            (parse_floats(bl_blm_get_meta(m, "feat_mean"), self->mean,
                          BL_SEGMENT_CUT_FEATURES) ||
             parse_floats(bl_blm_get_meta(m, "feat_std"), self->sd, BL_SEGMENT_CUT_FEATURES))) {
            bl_err_set(err, BL_EFORMAT,
                       "%s: metadata feat_mean and feat_std must hold %d numbers each",
                       cut_model, BL_SEGMENT_CUT_FEATURES);
            bl_nn_net_destroy(&self->cut);
        }
        if (self->cut) {
            const char *name = bl_blm_get_meta(m, "name");
            const char *version = bl_blm_get_meta(m, "version");
            snprintf(self->id, sizeof self->id, "%s@%s:%08x", name ? name : "segment-cuts",
                     version ? version : "1", m->crc);
        }
        bl_blm_destroy(&m);
        if (!self->cut)
            goto fail;
        for (int i = 0; i < BL_SEGMENT_CUT_FEATURES; i++)
            if (!(self->sd[i] > 0))
                self->sd[i] = 1;
    }
    if (classify_model && classify_model[0]) {
        self->clf = bl_classifier_load(classify_model, err);
        if (!self->clf)
            goto fail;
        self->memo = bl_read_memo_new(self->clf, READ_MEMO_CAPACITY);
    }
    return self;
fail:
    bl_nn_net_destroy(&self->cut);
    bl_separator_destroy(&self->sep);
    free(self);
    return NULL;
}

void bl_segment_destroy(bl_segment **self)
{
    if (!self || !*self)
        return;
    bl_nn_net_destroy(&(*self)->cut);
    bl_separator_destroy(&(*self)->sep);
    bl_read_memo_destroy(&(*self)->memo);
    bl_classifier_destroy(&(*self)->clf);
    free(*self);
    *self = NULL;
}

const char *bl_segment_model_id(const bl_segment *self) { return self ? self->id : ""; }

static void score_cuts(const bl_segment *self, cutcand *c, int n)
{
    if (self && self->cut && n > 0) {
        float x[MAX_CANDS * BL_SEGMENT_CUT_FEATURES];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < BL_SEGMENT_CUT_FEATURES; j++)
                x[i * BL_SEGMENT_CUT_FEATURES + j] = (c[i].feat[j] - self->mean[j]) / self->sd[j];
        const float *p = bl_nn_net_forward(self->cut, x, n, false, NULL);
        for (int i = 0; i < n; i++)
            c[i].p = fmin(fmax(p[i * 2 + 1], 1e-4), 1 - 1e-4);
        return;
    }
    /* No model: a cut through little ink (against the stroke) is likely. */
    for (int i = 0; i < n; i++)
        c[i].p = 1.0 / (1.0 + exp(2.0 * (c[i].feat[0] - 1.0)));
}

/* ---- Splitting ----------------------------------------------------------- */

/* Renders the part of p between u-cuts [c0, c1) as a binary image of its
 * box and normalises it; returns 0 when it owns no ink. */
static int part_digit(const piece *p, const geom *g, int c0, int c1, piece *part,
                      uint8_t out[BL_MNIST_PIXELS])
{
    *part = *p;
    part->c0 = imax(p->c0, c0);
    part->c1 = imin(p->c1, c1);
    piece_refit(part, g);
    if (part->box.w == 0)
        return 0;
    bl_image *img = bl_image_new(part->box.w, part->box.h);
    for (int y = 0; y < part->box.h; y++)
        for (int x = 0; x < part->box.w; x++)
            if (owns(part, g, part->box.x + x, part->box.y + y))
                BL_PIX(img, x, y) = 1;
    int rc = bl_image_mnist_normalize(img, 1, out);
    bl_image_destroy(&img);
    return rc == BL_OK;
}

/* Width prior of a part, in log units: free inside [0.1, 1.1] heights. */
static double width_prior(double w, double h)
{
    double r = w / h;
    if (r < 0.1)
        return -3 * pow((0.1 - r) / 0.05, 2);
    if (r > 1.1)
        return -3 * pow((r - 1.1) / 0.2, 2);
    return 0;
}

/* Cuts piece p by the classifier: returns the cut positions (u) chosen. */
static int split_by_classifier(bl_segment *self, const piece *p, const geom *g, int digit_h,
                               const cutcand *c, int nc, int *chosen)
{
    int nn = nc + 2;
    int node[MAX_CANDS + 2];
    node[0] = p->u0;
    for (int i = 0; i < nc; i++)
        node[i + 1] = c[i].u;
    node[nn - 1] = p->u1;
    int npairs = nn * (nn - 1) / 2;
    uint8_t *crops = bl_xmalloc((size_t)npairs * BL_MNIST_PIXELS);
    double *part_score = bl_xmalloc(sizeof *part_score * (size_t)npairs);
    int *slot = bl_xmalloc(sizeof *slot * (size_t)npairs);
    int nb = 0;
    for (int i = 0; i < nn; i++)
        for (int j = i + 1; j < nn; j++) {
            int k = i * nn + j - (i + 1) * (i + 2) / 2;
            piece part;
            slot[k] = -1;
            part_score[k] = -1e9;
            double w = node[j] - node[i];
            if (w > 1.6 * digit_h)
                continue;
            if (!part_digit(p, g, node[i], node[j], &part, crops + (size_t)nb * BL_MNIST_PIXELS))
                continue;
            double s = width_prior(part.u1 - part.u0, digit_h);
            if (part.box.h < 0.5 * digit_h)
                s -= 3;
            part_score[k] = s;
            slot[k] = nb++;
        }
    int32_t *cls = bl_xmalloc(sizeof *cls * (size_t)(nb + 1));
    float *probs = bl_xmalloc(sizeof *probs * (size_t)(nb + 1) * 10);
    int ok = nb > 0 && bl_read_memo_run(self->memo, crops, (size_t)nb, cls, probs, NULL) == BL_OK;
    for (int k = 0; k < npairs && ok; k++)
        if (slot[k] >= 0)
            part_score[k] += log(fmax(probs[(size_t)slot[k] * 10 + cls[slot[k]]], 1e-6));
    free(cls);
    free(probs);
    free(crops);
    free(slot);
    if (!ok) {
        free(part_score);
        return 0;
    }
    double best[MAX_CANDS + 2];
    int from[MAX_CANDS + 2];
    best[0] = 0;
    for (int j = 1; j < nn; j++) {
        best[j] = -1e18;
        from[j] = -1;
        /* Against a base of no cuts at all (the sum of log(1 - p)), making
         * the cut at node j adds its log odds. */
        double cut = j < nn - 1 ? log(c[j - 1].p / (1 - c[j - 1].p)) - PART_COST : 0;
        for (int i = 0; i < j; i++) {
            int k = i * nn + j - (i + 1) * (i + 2) / 2;
            if (best[i] < -1e17 || part_score[k] < -1e8)
                continue;
            double v = best[i] + part_score[k] + cut;
            if (v > best[j])
                best[j] = v, from[j] = i;
        }
    }
    free(part_score);
    int path[MAX_CANDS + 2], np = 0;
    for (int j = nn - 1; j > 0 && from[j] >= 0; j = from[j])
        path[np++] = j;
    int n = 0;
    for (int k = np - 1; k >= 1; k--)
        chosen[n++] = node[path[k]];
    return n;
}

/* Cuts piece p by the rules: round(w / DIGIT_WIDTH h) parts at the likeliest
 * cuts near the nominal boundaries. */
static int split_by_rules(const piece *p, int digit_h, const cutcand *c, int nc, int *chosen)
{
    int w = p->u1 - p->u0;
    int parts = (int)lround(w / (DIGIT_WIDTH * digit_h));
    parts = imin(parts, MAX_PARTS);
    if (parts < 2)
        return 0;
    int n = 0;
    double part_w = (double)w / parts;
    for (int k = 1; k < parts; k++) {
        double nominal = p->u0 + k * part_w;
        int bi = -1;
        double bs = -1e9;
        for (int i = 0; i < nc; i++) {
            if (n > 0 && c[i].u <= chosen[n - 1])
                continue;
            double d = fabs(c[i].u - nominal) / part_w;
            if (d > 0.35)
                continue;
            double s = log(c[i].p) - 4 * d * d;
            if (s > bs)
                bs = s, bi = i;
        }
        if (bi >= 0)
            chosen[n++] = c[bi].u;
    }
    return n;
}

/* Cuts piece p where the cut scorer is sure: candidates taken likeliest
 * first while P(cut) >= CUT_SURE and every part stays at least MIN_PART
 * digit heights wide in u. */
static int split_by_scores(const piece *p, int digit_h, const cutcand *c, int nc, int *chosen)
{
    int used[MAX_CANDS] = {0}, n = 0;
    int min_w = (int)(MIN_PART * digit_h);
    for (;;) {
        int bi = -1;
        for (int i = 0; i < nc; i++) {
            if (used[i] || c[i].p < CUT_SURE || (bi >= 0 && c[i].p <= c[bi].p))
                continue;
            if (c[i].u - p->u0 < min_w || p->u1 - c[i].u < min_w)
                continue;
            int ok = 1;
            for (int k = 0; k < n && ok; k++)
                ok = abs(c[i].u - chosen[k]) >= min_w;
            if (ok)
                bi = i;
        }
        if (bi < 0 || n == MAX_PARTS - 1)
            break;
        used[bi] = 1;
        chosen[n++] = c[bi].u;
    }
    qsort(chosen, (size_t)n, sizeof *chosen, cmp_int);
    return n;
}

/* The classifier's say on a split: the piece whole and its parts are
 * read; the split stands when the parts are read with more confidence
 * (mean log P of their best class) than the whole by SPLIT_MARGIN, or when
 * the piece is too wide for one digit. Returns the cuts kept (all or
 * none). */
static int check_split(bl_segment *self, const piece *p, const geom *g, int digit_h,
                       const int *chosen, int nch, double margin)
{
    if (nch == 0 || p->u1 - p->u0 > WIDE_ONE * digit_h)
        return nch;
    uint8_t crops[(MAX_PARTS + 1) * BL_MNIST_PIXELS];
    int nb = 0;
    piece part;
    if (!part_digit(p, g, p->c0, p->c1, &part, crops))
        return nch;
    nb++;
    for (int k = 0; k <= nch; k++) {
        int c0 = k == 0 ? p->c0 : chosen[k - 1], c1 = k == nch ? p->c1 : chosen[k];
        if (part_digit(p, g, c0, c1, &part, crops + (size_t)nb * BL_MNIST_PIXELS))
            nb++;
    }
    if (nb < 3)
        return nch;
    int32_t cls[MAX_PARTS + 1];
    float probs[(MAX_PARTS + 1) * 10];
    if (bl_read_memo_run(self->memo, crops, (size_t)nb, cls, probs, NULL) != BL_OK)
        return nch;
    double whole = log(fmax(probs[cls[0]], 1e-6)), parts = 0;
    for (int k = 1; k < nb; k++)
        parts += log(fmax(probs[k * 10 + cls[k]], 1e-6));
    parts /= nb - 1;
    return parts > whole + margin ? nch : 0;
}

static int cmp_piece_u(const void *pa, const void *pb)
{
    const piece *a = pa, *b = pb;
    double ca = a->u0 + a->u1, cb = b->u0 + b->u1;
    return (ca > cb) - (ca < cb);
}

/* Steps 1-3: components, slant, pieces merged and cleaned. */
typedef struct prepared {
    bl_component *comps;
    int ncomps;
    int *labels;
    geom g;
    piece *pieces;
    int npieces;
    int digit_h;
    double stroke;
} prepared;

/* Drops what form-line removal left of a box or comb: upright bars about
 * one line thick (narrower than REMNANT_W strokes), either dashed (several
 * stacked pieces, or under REMNANT_FILL of their box inked) at the crop's
 * left or right end (a box side broken by the scan), or short and standing
 * in the lower part of the writing (a comb tooth). A hand-written 1 is
 * slanted or solid and as tall as the other digits. */
static void drop_remnants(prepared *pp, int W)
{
    int mh = median_height(pp->pieces, pp->npieces);
    if (mh <= 0)
        return;
    int top = INT32_MAX;
    for (int i = 0; i < pp->npieces; i++)
        if (pp->pieces[i].box.h >= FRAGMENT_RATIO * mh)
            top = imin(top, pp->pieces[i].box.y);
    int kept = 0;
    for (int i = 0; i < pp->npieces; i++) {
        piece *p = &pp->pieces[i];
        long px = 0;
        for (int k = 0; k < p->nlabels; k++)
            px += pp->comps[p->labels[k] - 1].pixels;
        int thin = p->box.w <= REMNANT_W * pp->stroke + 2 && p->box.h >= 4 * p->box.w;
        int dashed = p->nlabels >= 2 && (double)px < REMNANT_FILL * p->box.w * p->box.h;
        int at_end = p->box.x <= 1 || p->box.x + p->box.w >= W - 1;
        int tooth = p->box.h < FRAGMENT_RATIO * mh && top != INT32_MAX &&
                    p->box.y >= top + TOOTH_TOP * mh;
        if (thin && ((dashed && at_end) || tooth)) {
            free(p->labels);
            continue;
        }
        pp->pieces[kept++] = *p;
    }
    pp->npieces = kept;
}

static int prepare(const bl_image *crop, prepared *pp, bl_err *err)
{
    memset(pp, 0, sizeof *pp);
    int rc = bl_image_components(crop, &pp->comps, &pp->ncomps, &pp->labels, err);
    if (rc < 0)
        return rc;
    int tallest = 0;
    for (int i = 0; i < pp->ncomps; i++)
        tallest = imax(tallest, pp->comps[i].box.h);
    /* Specks leave the label map, so slant and ownership ignore them. */
    int *keep = bl_xcalloc((size_t)pp->ncomps + 2, sizeof *keep);
    for (int i = 0; i < pp->ncomps; i++) {
        const bl_component *c = &pp->comps[i];
        keep[c->label] = !(c->pixels < SPECK_PIXELS || (c->box.w < SPECK_RATIO * tallest &&
                                                        c->box.h < SPECK_RATIO * tallest));
    }
    size_t npx = (size_t)crop->width * (size_t)crop->height;
    for (size_t i = 0; i < npx; i++)
        if (pp->labels[i] && !keep[pp->labels[i]])
            pp->labels[i] = 0;
    double slant = estimate_slant(crop, pp->labels);
    geom_init(&pp->g, crop->width, crop->height, slant, pp->labels);
    pp->pieces = bl_xcalloc((size_t)pp->ncomps + 1, sizeof *pp->pieces);
    for (int i = 0; i < pp->ncomps; i++) {
        const bl_component *c = &pp->comps[i];
        if (!keep[c->label])
            continue;
        piece *p = &pp->pieces[pp->npieces];
        p->box = c->box;
        p->labels = bl_xmalloc(sizeof *p->labels);
        p->labels[0] = c->label;
        p->nlabels = 1;
        p->c0 = 0;
        p->c1 = pp->g.U;
        piece_refit(p, &pp->g);
        if (p->box.w == 0) {
            free(p->labels);
            continue;
        }
        pp->npieces++;
    }
    free(keep);
    merge_pieces(pp->pieces, &pp->npieces, 0, 0);
    pp->stroke = stroke_width(crop);
    drop_remnants(pp, crop->width);
    int mh = median_height(pp->pieces, pp->npieces);
    merge_pieces(pp->pieces, &pp->npieces, mh, 1);
    mh = median_height(pp->pieces, pp->npieces);
    /* Dots, dashes, line remnants. */
    int kept = 0;
    for (int i = 0; i < pp->npieces; i++) {
        if (pp->pieces[i].box.h < DOT_RATIO * mh) {
            free(pp->pieces[i].labels);
            continue;
        }
        pp->pieces[kept++] = pp->pieces[i];
    }
    pp->npieces = kept;
    pp->digit_h = median_height(pp->pieces, pp->npieces);
    return BL_OK;
}

static void prepared_free(prepared *pp)
{
    for (int i = 0; i < pp->npieces; i++)
        free(pp->pieces[i].labels);
    free(pp->pieces);
    free(pp->labels);
    free(pp->g.u);
    free(pp->comps);
}

/* ---- An expected digit count --------------------------------------------- */

/* When a form template gives the field's length (len=, or a date or time
 * format), a segmentation with too few digits is split further and one
 * with too many is merged or thinned, one step at a time, each step the
 * one that costs the reading least. A reading's score is the sum over its
 * digits of log P(best class) (the classifier's; 0 without one) plus the
 * width prior; a split also pays the cut scorer's log P(cut), a dropped
 * piece DROP_COST per digit height it stands. */
#define DROP_COST 4.0
#define FIT_STEPS 10
#define FIT_WIDEST 3 /* pieces a split may cut */

/* Score of every piece as one digit: log P(best class) + width prior. */
static void score_pieces(bl_segment *self, const geom *g, const piece *ps, int n, int digit_h,
                         double *score)
{
    uint8_t *crops = bl_xcalloc((size_t)n + 1, BL_MNIST_PIXELS);
    int32_t *cls = bl_xmalloc(sizeof *cls * ((size_t)n + 1));
    float *probs = bl_xmalloc(sizeof *probs * ((size_t)n + 1) * 10);
    piece tmp;
    for (int i = 0; i < n; i++) {
        part_digit(&ps[i], g, ps[i].c0, ps[i].c1, &tmp, crops + (size_t)i * BL_MNIST_PIXELS);
        score[i] = width_prior(ps[i].u1 - ps[i].u0, digit_h);
    }
    if (self && self->clf && n > 0 &&
        bl_read_memo_run(self->memo, crops, (size_t)n, cls, probs, NULL) == BL_OK)
        for (int i = 0; i < n; i++)
            score[i] += log(fmax(probs[(size_t)i * 10 + cls[i]], 1e-6));
    free(crops);
    free(cls);
    free(probs);
}

static piece piece_copy(const piece *p)
{
    piece q = *p;
    q.labels = bl_xmalloc(sizeof *q.labels * (size_t)p->nlabels);
    memcpy(q.labels, p->labels, sizeof *q.labels * (size_t)p->nlabels);
    return q;
}

/* One more digit: the best cut over all pieces. Returns 0 when none. */
static int fit_split(bl_segment *self, const prepared *pp, piece **cut, int *ncut, int *cap)
{
    const geom *g = &pp->g;
    int mh = pp->digit_h, min_w = (int)(MIN_PART * mh);
    int n = *ncut;
    /* Candidate parts (left, right) of every admissible cut, scored in one
     * batch together with the pieces themselves. */
    int maxc = n * MAX_CANDS;
    piece *parts = bl_xcalloc((size_t)n + 2 * (size_t)maxc + 1, sizeof *parts);
    int *owner = bl_xmalloc(sizeof *owner * ((size_t)maxc + 1));
    double *logp_cut = bl_xmalloc(sizeof *logp_cut * ((size_t)maxc + 1));
    memcpy(parts, *cut, sizeof *parts * (size_t)n);
    /* Only the widest pieces hold touching digits worth the classifier's
     * time. */
    int widest[FIT_WIDEST], nw = 0; /* piece indices, widest first */
    for (int i = 0; i < n; i++) {
        int w = (*cut)[i].u1 - (*cut)[i].u0, k;
        if (nw < FIT_WIDEST)
            k = nw++;
        else if (w > (*cut)[widest[FIT_WIDEST - 1]].u1 - (*cut)[widest[FIT_WIDEST - 1]].u0)
            k = FIT_WIDEST - 1;
        else
            continue;
        for (; k > 0 && w > (*cut)[widest[k - 1]].u1 - (*cut)[widest[k - 1]].u0; k--)
            widest[k] = widest[k - 1];
        widest[k] = i;
    }
    int m = 0;
    for (int wi = 0; wi < nw; wi++) {
        int i = widest[wi];
        const piece *p = &(*cut)[i];
        if (p->u1 - p->u0 < 2 * min_w)
            continue;
        cutcand c[MAX_CANDS];
        int nc = find_cuts(p, g, mh, pp->stroke, c);
        score_cuts(self, c, nc);
        for (int k = 0; k < nc; k++) {
            if (c[k].u - p->u0 < min_w || p->u1 - c[k].u < min_w)
                continue;
            piece a = *p, b = *p;
            a.c1 = imin(p->c1, c[k].u);
            b.c0 = imax(p->c0, c[k].u);
            piece_refit(&a, g);
            piece_refit(&b, g);
            if (a.box.w == 0 || b.box.w == 0)
                continue;
            parts[n + 2 * m] = a;
            parts[n + 2 * m + 1] = b;
            owner[m] = i;
            logp_cut[m] = log(c[k].p);
            m++;
        }
    }
    int done = 0;
    if (m > 0) {
        double *score = bl_xmalloc(sizeof *score * ((size_t)n + 2 * (size_t)m));
        score_pieces(self, g, parts, n + 2 * m, mh, score);
        int bk = -1;
        double best = -1e18;
        for (int k = 0; k < m; k++) {
            double s = logp_cut[k] + score[n + 2 * k] + score[n + 2 * k + 1] - score[owner[k]];
            if (s > best)
                best = s, bk = k;
        }
        free(score);
        int i = owner[bk];
        if (*ncut == *cap) {
            *cap *= 2;
            *cut = bl_xrealloc(*cut, sizeof **cut * (size_t)*cap);
        }
        piece right = piece_copy(&parts[n + 2 * bk + 1]);
        piece *p = &(*cut)[i];
        p->c0 = parts[n + 2 * bk].c0, p->c1 = parts[n + 2 * bk].c1;
        piece_refit(p, g);
        (*cut)[(*ncut)++] = right;
        qsort(*cut, (size_t)*ncut, sizeof **cut, cmp_piece_u);
        done = 1;
    }
    free(parts);
    free(owner);
    free(logp_cut);
    return done;
}

/* Two neighbours may become one digit when they are parts of one piece
 * (the same components, next to each other in u) or both whole pieces. */
static int mergeable(const piece *a, const piece *b, const geom *g)
{
    if (a->c0 == 0 && a->c1 == g->U && b->c0 == 0 && b->c1 == g->U)
        return 1;
    if (a->nlabels != b->nlabels || a->c1 != b->c0)
        return 0;
    for (int k = 0; k < a->nlabels; k++)
        if (!has_label(b, a->labels[k]))
            return 0;
    return 1;
}

static piece merged(const piece *a, const piece *b, const geom *g)
{
    piece m = piece_copy(a);
    if (a->c0 == 0 && a->c1 == g->U) { /* two whole pieces */
        m.labels = bl_xrealloc(m.labels, sizeof *m.labels * (size_t)(a->nlabels + b->nlabels));
        memcpy(m.labels + a->nlabels, b->labels, sizeof *b->labels * (size_t)b->nlabels);
        m.nlabels = a->nlabels + b->nlabels;
    } else { /* the parts of one piece, rejoined */
        m.c1 = b->c1;
    }
    m.box = box_union(a->box, b->box);
    piece_refit(&m, g);
    return m;
}

/* One digit fewer: the best merge of neighbours or drop of a piece. */
static void fit_merge(bl_segment *self, const prepared *pp, piece *cut, int *ncut)
{
    const geom *g = &pp->g;
    int n = *ncut, mh = pp->digit_h;
    piece *all = bl_xcalloc(2 * (size_t)n + 1, sizeof *all);
    memcpy(all, cut, sizeof *all * (size_t)n);
    int *pair = bl_xmalloc(sizeof *pair * ((size_t)n + 1));
    int m = 0;
    for (int i = 0; i + 1 < n; i++)
        if (mergeable(&cut[i], &cut[i + 1], g)) {
            all[n + m] = merged(&cut[i], &cut[i + 1], g);
            pair[m++] = i;
        }
    double *score = bl_xmalloc(sizeof *score * ((size_t)n + (size_t)m));
    score_pieces(self, g, all, n + m, mh, score);
    int best_merge = -1, best_drop = -1;
    double best = -1e18;
    for (int k = 0; k < m; k++) {
        int i = pair[k];
        double s = score[n + k] - score[i] - score[i + 1];
        if (s > best)
            best = s, best_merge = k;
    }
    for (int i = 0; i < n; i++) {
        double s = -score[i] - DROP_COST * cut[i].box.h / fmax(mh, 1);
        if (s > best)
            best = s, best_drop = i, best_merge = -1;
    }
    if (best_merge >= 0) {
        int i = pair[best_merge];
        free(cut[i].labels);
        free(cut[i + 1].labels);
        cut[i] = all[n + best_merge];
        all[n + best_merge].labels = NULL;
        memmove(&cut[i + 1], &cut[i + 2], sizeof *cut * (size_t)(n - i - 2));
        (*ncut)--;
    } else if (best_drop >= 0) {
        free(cut[best_drop].labels);
        memmove(&cut[best_drop], &cut[best_drop + 1], sizeof *cut * (size_t)(n - best_drop - 1));
        (*ncut)--;
    }
    for (int k = 0; k < m; k++)
        free(all[n + k].labels);
    free(all);
    free(pair);
    free(score);
}

/* Brings the count of the pieces (sorted in u) into [lo, hi]. */
static void fit_count(bl_segment *self, const prepared *pp, piece **cut, int *ncut, int *cap,
                      int lo, int hi)
{
    if (pp->digit_h <= 0 || *ncut == 0)
        return;
    for (int step = 0; step < FIT_STEPS && lo > 0 && *ncut < lo; step++)
        if (!fit_split(self, pp, cut, ncut, cap))
            break;
    for (int step = 0; step < FIT_STEPS && hi > 0 && *ncut > hi; step++)
        fit_merge(self, pp, *cut, ncut);
}

/* ---- A known count: the whole field chosen at once ------------------------ */

/* With the classifier and a known count lo..hi the field's segmentation can
 * be chosen globally rather than one greedy step at a time. Every piece is
 * over-segmented at its candidate cuts into ordered atoms; a digit is a run
 * of consecutive atoms: a stretch of one piece between two cuts (or its
 * ends), or several whole neighbouring pieces (a broken digit). A dynamic
 * programme over the atoms picks N digits, N in lo..hi, maximising the sum
 * over digits of log P(best class) + the width prior, plus the log odds of
 * every cut made, less DP_JOIN_COST per whole piece joined to another and
 * DROP_COST per digit height of each piece, or dash at a piece's end, left
 * out. All candidate digits are read in one batch. Made only when the
 * greedy steps miss the count, and kept unless the greedy fit reads
 * clearly better: on every field it read fewer fields right
 * (the greedy split check and the cut scorer know when a wide digit is one
 * digit; the classifier alone is too sure of the halves of a 0). */
#define DP_SPLIT_MIN 0.6 /* pieces at least this wide (x height) are cut */
#define DP_FLOOR 0.01    /* candidate cuts less likely than this are not */
#define DP_MAX_ATOMS 64
#define DP_MAX_DIGITS 32
#define DP_JOIN_MAX 1.3  /* whole pieces joined at most this wide (x height) */
#define DP_JOIN_COST 4.0 /* log penalty per extra whole piece in one digit */
#define DP_KEEP_MARGIN 1.0 /* the greedy fit must read this much better */

typedef struct atom {
    piece part;    /* a stretch of one piece: its labels, borrowed */
    int piece;     /* index into the sorted pieces */
    int first;     /* the piece's first atom */
    int last;      /* the piece's last atom */
    double cut;    /* log odds of the cut at its right end; 0 at a piece's end */
} atom;

typedef struct dp_group {
    int a, b;      /* atoms [a, b) */
    int slot;      /* its crop in the batch */
    double score;
} dp_group;

/* Renders atoms [a, b) as one binary image of their union box. */
static bl_image *render_atoms(const atom *at, int a, int b, const geom *g, bl_box *box)
{
    bl_box u = at[a].part.box;
    for (int k = a + 1; k < b; k++)
        u = box_union(u, at[k].part.box);
    bl_image *img = bl_image_new(u.w, u.h);
    for (int k = a; k < b; k++) {
        const piece *p = &at[k].part;
        for (int y = p->box.y; y < p->box.y + p->box.h; y++)
            for (int x = p->box.x; x < p->box.x + p->box.w; x++)
                if (owns(p, g, x, y))
                    BL_PIX(img, x - u.x, y - u.y) = 1;
    }
    *box = u;
    return img;
}

static double whole_prior(double w, double h)
{
    double r = w / h;
    return r > WIDE_ONE ? -3 * pow((r - WIDE_ONE) / 0.2, 2) : 0;
}

static int cmp_piece_ptr_u(const void *pa, const void *pb)
{
    return cmp_piece_u(*(const piece *const *)pa, *(const piece *const *)pb);
}

/* The best segmentation of pp into lo..hi digits; returns its count (0
 * when there is none) with *digits (free()), each digit's pixels marked
 * with its number (1-based) in owner unless it is NULL. */
static int dp_segment(bl_segment *self, const prepared *pp, int lo, int hi,
                      bl_segment_digit **digits, uint8_t *owner)
{
    const geom *g = &pp->g;
    int mh = pp->digit_h, np = pp->npieces;
    *digits = NULL;
    if (mh <= 0 || np == 0 || lo < 1 || lo > DP_MAX_DIGITS)
        return 0;
    hi = imin(hi, DP_MAX_DIGITS);
    int min_w = (int)(MIN_PART * mh);
    const piece **order = bl_xmalloc(sizeof *order * (size_t)np);
    for (int i = 0; i < np; i++)
        order[i] = &pp->pieces[i];
    qsort(order, (size_t)np, sizeof *order, cmp_piece_ptr_u);
    atom *at = bl_xcalloc(DP_MAX_ATOMS, sizeof *at);
    int na = 0, ok = 1;
    double base = 0; /* every candidate left uncut: sum of log(1 - p) */
    for (int i = 0; i < np && ok; i++) {
        const piece *p = order[i];
        int cuts[MAX_CANDS], ncut = 0;
        double lo_p[MAX_CANDS];
        if (p->u1 - p->u0 >= DP_SPLIT_MIN * mh) {
            cutcand c[MAX_CANDS];
            int nc = find_cuts(p, g, mh, pp->stroke, c);
            score_cuts(self, c, nc);
            for (int k = 0; k < nc; k++)
                if (c[k].p >= DP_FLOOR && c[k].u - p->u0 >= min_w / 2 &&
                    p->u1 - c[k].u >= min_w / 2) {
                    cuts[ncut] = c[k].u;
                    lo_p[ncut++] = c[k].p;
                }
        }
        int first = na;
        int c0 = p->c0;
        for (int k = 0; k <= ncut; k++) {
            int c1 = k == ncut ? p->c1 : cuts[k];
            if (na == DP_MAX_ATOMS) {
                ok = 0;
                break;
            }
            atom *a = &at[na];
            a->part = *p;
            a->part.c0 = c0, a->part.c1 = c1;
            piece_refit(&a->part, g);
            if (a->part.box.w == 0) /* no ink between two cuts: one less */
                continue;
            a->piece = i;
            a->first = first;
            a->cut = 0;
            if (k < ncut) {
                a->cut = log(lo_p[k] / (1 - lo_p[k]));
                base += log(1 - lo_p[k]);
            }
            c0 = c1;
            na++;
        }
        if (na > first)
            at[na - 1].cut = 0;
        for (int k = first; k < na; k++)
            at[k].last = na - 1;
    }
    free(order);
    if (!ok || na == 0) {
        free(at);
        return 0;
    }
    /* Candidate digits: runs of atoms. */
    int maxg = na * 8 + 1, ng = 0;
    dp_group *grp = bl_xmalloc(sizeof *grp * (size_t)maxg);
    uint8_t *crops = bl_xmalloc((size_t)maxg * BL_MNIST_PIXELS);
    for (int a = 0; a < na; a++)
        for (int b = a + 1; b <= na; b++) {
            int same = at[a].piece == at[b - 1].piece;
            int whole_ends = at[a].first == a && at[b - 1].last == b - 1;
            int u0 = INT32_MAX, u1 = INT32_MIN;
            for (int k = a; k < b; k++)
                u0 = imin(u0, at[k].part.u0), u1 = imax(u1, at[k].part.u1);
            int w = u1 - u0;
            if (!same && w > DP_JOIN_MAX * mh)
                break;
            if (same ? !whole_ends && (w > WIDE_ONE * mh || w < min_w) : !whole_ends)
                continue;
            if (ng == maxg) {
                maxg *= 2;
                grp = bl_xrealloc(grp, sizeof *grp * (size_t)maxg);
                crops = bl_xrealloc(crops, (size_t)maxg * BL_MNIST_PIXELS);
            }
            bl_box box;
            bl_image *img = render_atoms(at, a, b, g, &box);
            int rc = bl_image_mnist_normalize(img, 1, crops + (size_t)ng * BL_MNIST_PIXELS);
            bl_image_destroy(&img);
            if (rc != BL_OK)
                continue;
            /* A piece kept whole is one connected stroke: as the greedy
             * steps, it stands as one digit up to WIDE_ONE heights. */
            double s = same && whole_ends ? whole_prior(w, mh) : width_prior(w, mh);
            if (box.h < 0.5 * mh)
                s -= 3;
            if (!same)
                s -= DP_JOIN_COST * (at[b - 1].piece - at[a].piece);
            grp[ng] = (dp_group){a, b, ng, s};
            ng++;
        }
    int32_t *cls = bl_xmalloc(sizeof *cls * ((size_t)ng + 1));
    float *probs = bl_xmalloc(sizeof *probs * ((size_t)ng + 1) * 10);
    ok = ng > 0 && bl_read_memo_run(self->memo, crops, (size_t)ng, cls, probs, NULL) == BL_OK;
    for (int k = 0; k < ng && ok; k++)
        grp[k].score += log(fmax(probs[(size_t)k * 10 + cls[k]], 1e-6));
    free(probs);
    int n = 0;
    if (ok) {
        /* best[j * (hi + 1) + k]: atoms [0, j) as k digits. */
        size_t cells = (size_t)(na + 1) * (size_t)(hi + 1);
        double *best = bl_xmalloc(sizeof *best * cells);
        int *from = bl_xmalloc(sizeof *from * cells); /* group, or -2 - start of a drop */
        for (size_t c = 0; c < cells; c++)
            best[c] = -1e18, from[c] = -1;
        best[0] = base;
        /* Groups are in order of a, then b: sweep by end atom instead. */
        for (int j = 1; j <= na; j++) {
            for (int gi = 0; gi < ng; gi++) {
                const dp_group *q = &grp[gi];
                if (q->b != j)
                    continue;
                double s = q->score + at[j - 1].cut;
                for (int k = 1; k <= hi; k++) {
                    double v = best[(size_t)q->a * (size_t)(hi + 1) + (size_t)(k - 1)];
                    if (v < -1e17)
                        continue;
                    size_t c = (size_t)j * (size_t)(hi + 1) + (size_t)k;
                    if (v + s > best[c])
                        best[c] = v + s, from[c] = gi;
                }
            }
            /* A dash at a piece's start or end left out. */
            for (int a = at[j - 1].first; a < j; a++) {
                if (a == at[j - 1].first && j - 1 == at[j - 1].last)
                    break;
                if (a != at[j - 1].first && j - 1 != at[j - 1].last)
                    continue;
                bl_box pb = at[a].part.box;
                for (int k = a + 1; k < j; k++)
                    pb = box_union(pb, at[k].part.box);
                if (pb.h >= DOT_RATIO * mh)
                    continue;
                double s = -DROP_COST * pb.h / (double)mh + at[j - 1].cut;
                for (int k = 0; k <= hi; k++) {
                    double v = best[(size_t)a * (size_t)(hi + 1) + (size_t)k];
                    size_t c = (size_t)j * (size_t)(hi + 1) + (size_t)k;
                    if (v > -1e17 && v + s > best[c])
                        best[c] = v + s, from[c] = -2 - a;
                }
            }
            /* A whole piece left out. */
            if (at[j - 1].last == j - 1) {
                int a = at[j - 1].first;
                bl_box pb = at[a].part.box;
                for (int k = a + 1; k < j; k++)
                    pb = box_union(pb, at[k].part.box);
                double s = -DROP_COST * pb.h / (double)mh;
                for (int k = 0; k <= hi; k++) {
                    double v = best[(size_t)a * (size_t)(hi + 1) + (size_t)k];
                    size_t c = (size_t)j * (size_t)(hi + 1) + (size_t)k;
                    if (v > -1e17 && v + s > best[c])
                        best[c] = v + s, from[c] = -2 - a;
                }
            }
        }
        int bn = -1; /* the best count in lo..hi */
        double bs = -1e18;
        for (int k = lo; k <= hi; k++) {
            double v = best[(size_t)na * (size_t)(hi + 1) + (size_t)k];
            if (v > bs)
                bs = v, bn = k;
        }
        if (bn > 0) {
            bl_segment_digit *out = bl_xcalloc((size_t)bn, sizeof *out);
            int j = na, k = bn;
            while (j > 0) {
                int f = from[(size_t)j * (size_t)(hi + 1) + (size_t)k];
                if (f <= -2) {
                    j = -2 - f;
                    continue;
                }
                const dp_group *q = &grp[f];
                k--;
                memcpy(out[k].pixels, crops + (size_t)q->slot * BL_MNIST_PIXELS,
                       BL_MNIST_PIXELS);
                bl_image *img = render_atoms(at, q->a, q->b, g, &out[k].box);
                bl_image_destroy(&img);
                for (int t = q->a; owner && t < q->b && k < 253; t++)
                    mark_owner(&at[t].part, g, owner, k + 1);
                j = q->a;
            }
            assert(k == 0);
            *digits = out;
            n = bn;
        }
        free(best);
        free(from);
    }
    free(cls);
    free(grp);
    free(crops);
    free(at);
    return n;
}

int bl_segment_cut_candidates(const bl_image *crop, double *slant, double **cuts,
                              float **feats, int *n, bl_err *err)
{
    assert(crop && slant && cuts && feats && n);
    *cuts = NULL;
    *feats = NULL;
    *n = 0;
    *slant = 0;
    prepared pp;
    int rc = prepare(crop, &pp, err);
    if (rc < 0)
        return rc;
    *slant = pp.g.slant;
    int cap = pp.npieces * MAX_CANDS + 1, m = 0;
    double *cu = bl_xmalloc(sizeof *cu * (size_t)cap);
    float *fe = bl_xmalloc(sizeof *fe * (size_t)cap * BL_SEGMENT_CUT_FEATURES);
    for (int i = 0; i < pp.npieces; i++) {
        piece *p = &pp.pieces[i];
        if (pp.digit_h <= 0 || p->u1 - p->u0 <= SPLIT_MIN * pp.digit_h)
            continue;
        cutcand c[MAX_CANDS];
        int nc = find_cuts(p, &pp.g, pp.digit_h, pp.stroke, c);
        for (int k = 0; k < nc; k++) {
            cu[m] = c[k].u - pp.g.off;
            memcpy(fe + (size_t)m * BL_SEGMENT_CUT_FEATURES, c[k].feat, sizeof c[k].feat);
            m++;
        }
    }
    prepared_free(&pp);
    if (m == 0) {
        free(cu);
        free(fe);
        return BL_OK;
    }
    *cuts = cu;
    *feats = fe;
    *n = m;
    return BL_OK;
}

/* How much better readings a (na digits) reads than b: the difference of
 * their sums of log P(best class), over the digits one has and the other
 * does not (the same box and pixels in both cancel out and are not read). */
static double reading_gain(bl_segment *self, const bl_segment_digit *a, int na,
                           const bl_segment_digit *b, int nb)
{
    int n = na + nb, m = 0;
    int *sign = bl_xmalloc(sizeof *sign * (size_t)(n + 1));
    uint8_t *px = bl_xmalloc((size_t)(n + 1) * BL_MNIST_PIXELS);
    for (int side = 0; side < 2; side++) {
        const bl_segment_digit *x = side ? b : a, *y = side ? a : b;
        int nx = side ? nb : na, ny = side ? na : nb;
        for (int i = 0; i < nx; i++) {
            int shared = 0;
            for (int j = 0; j < ny && !shared; j++)
                shared = !memcmp(&x[i].box, &y[j].box, sizeof x[i].box) &&
                         !memcmp(x[i].pixels, y[j].pixels, BL_MNIST_PIXELS);
            if (shared)
                continue;
            memcpy(px + (size_t)m * BL_MNIST_PIXELS, x[i].pixels, BL_MNIST_PIXELS);
            sign[m++] = side ? -1 : 1;
        }
    }
    double gain = 0;
    if (m > 0) {
        int32_t *cls = bl_xmalloc(sizeof *cls * (size_t)m);
        float *pr = bl_xmalloc(sizeof *pr * (size_t)m * 10);
        if (bl_read_memo_run(self->memo, px, (size_t)m, cls, pr, NULL) == BL_OK)
            for (int q = 0; q < m; q++)
                gain += sign[q] * log(fmax(pr[q * 10 + cls[q]], 1e-6));
        free(cls);
        free(pr);
    }
    free(px);
    free(sign);
    return gain;
}

/* ---- The separator ------------------------------------------------------- */

/* Renders the pixels of map (rows of stride bytes) marked id within box
 * as a binary image and normalises it; *ink gets their box in map's
 * coordinates. Returns 0 when there are none. */
static int owned_digit(const uint8_t *map, int stride, bl_box box, int id, bl_box *ink,
                       uint8_t out[BL_MNIST_PIXELS])
{
    int x0 = INT32_MAX, y0 = INT32_MAX, x1 = -1, y1 = -1;
    for (int y = box.y; y < box.y + box.h; y++)
        for (int x = box.x; x < box.x + box.w; x++)
            if (map[(size_t)y * stride + x] == id) {
                x0 = imin(x0, x), x1 = imax(x1, x);
                y0 = imin(y0, y), y1 = imax(y1, y);
            }
    if (x1 < 0)
        return 0;
    *ink = (bl_box){x0, y0, x1 - x0 + 1, y1 - y0 + 1};
    bl_image *img = bl_image_new(ink->w, ink->h);
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            BL_PIX(img, x - x0, y - y0) = map[(size_t)y * stride + x] == id;
    int rc = bl_image_mnist_normalize(img, 1, out);
    bl_image_destroy(&img);
    return rc == BL_OK;
}

/* The two digits of a peel within box: left (box-sized, 1 = the leftmost
 * digit's) and the rest of ink, as normalised crops with their boxes in
 * the crop's pixels. Returns 0 when either has no ink. */
static int peeled_pair(const uint8_t *ink, const uint8_t *left, bl_box box,
                       uint8_t crops[2 * BL_MNIST_PIXELS], bl_box nb[2])
{
    size_t n = (size_t)box.w * box.h;
    uint8_t *side = bl_xmalloc(n);
    for (size_t i = 0; i < n; i++)
        side[i] = ink[i] ? (left[i] ? 1 : 2) : 0;
    bl_box all = {0, 0, box.w, box.h};
    int ok = owned_digit(side, box.w, all, 1, &nb[0], crops) &&
             owned_digit(side, box.w, all, 2, &nb[1], crops + BL_MNIST_PIXELS);
    free(side);
    for (int k = 0; k < 2; k++)
        nb[k].x += box.x, nb[k].y += box.y;
    return ok;
}

/* The pixels of owner ids a and b within box as a box-sized mask (1 =
 * theirs); returns how many. a == b takes one digit. */
static int owner_mask(const uint8_t *owner, const geom *g, bl_box box, int a, int b,
                      uint8_t *ink)
{
    int total = 0;
    for (int y = 0; y < box.h; y++)
        for (int x = 0; x < box.w; x++) {
            uint8_t o = owner[(size_t)(box.y + y) * g->W + box.x + x];
            ink[(size_t)y * box.w + x] = o == a || o == b;
            total += o == a || o == b;
        }
    return total;
}

/* Gives the mask's pixels within box to a where left marks them, else b. */
static void owner_assign(uint8_t *owner, const geom *g, bl_box box, const uint8_t *ink,
                         const uint8_t *left, int a, int b)
{
    for (int y = 0; y < box.h; y++)
        for (int x = 0; x < box.w; x++)
            if (ink[(size_t)y * box.w + x])
                owner[(size_t)(box.y + y) * g->W + box.x + x] =
                    (uint8_t)(left[(size_t)y * box.w + x] ? a : b);
}

/* Whether digits a and b (owner ids) were cut out of one connected piece
 * of ink: a pixel of each touch within one component. */
static int share_ink(const uint8_t *owner, const geom *g, bl_box box, int a, int b)
{
    for (int y = box.y; y < box.y + box.h; y++)
        for (int x = box.x; x < box.x + box.w; x++) {
            size_t i = (size_t)y * g->W + x;
            if (owner[i] != a || !g->labels[i])
                continue;
            /* A neighbour of b's with the same label: a and b touch. */
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= g->W || yy >= g->H)
                        continue;
                    size_t j = (size_t)yy * g->W + xx;
                    if (owner[j] == b && g->labels[j] == g->labels[i])
                        return 1;
                }
        }
    return 0;
}

/* Step 7 for touching neighbours: wherever two consecutive digits were cut
 * apart through connected ink, the separator takes the two apart again
 * pixel by pixel (its leftmost digit and the rest), and its pair stands
 * when the classifier reads it with more confidence (the sum of log P of
 * the best classes) than the cut's. */
static void separate_pairs(bl_segment *self, const geom *g, uint8_t *owner,
                           bl_segment_digit *d, int n)
{
    for (int i = 0; i + 1 < n && i + 2 < 254; i++) {
        int a = i + 1, b = i + 2;
        bl_box box = box_union(d[i].box, d[i + 1].box);
        if (!share_ink(owner, g, box, a, b))
            continue;
        uint8_t *ink = bl_xmalloc((size_t)box.w * box.h);
        uint8_t *left = bl_xmalloc((size_t)box.w * box.h);
        int total = owner_mask(owner, g, box, a, b, ink);
        int got = bl_separator_peel(self->sep, ink, box.w, box.h, left);
        if (got < SEP_PART_MIN * total || got > (1 - SEP_PART_MIN) * total) {
            free(ink);
            free(left);
            continue;
        }
        uint8_t crops[4 * BL_MNIST_PIXELS];
        bl_box nb[2];
        memcpy(crops, d[i].pixels, BL_MNIST_PIXELS);
        memcpy(crops + BL_MNIST_PIXELS, d[i + 1].pixels, BL_MNIST_PIXELS);
        int32_t cls[4];
        float probs[40];
        if (peeled_pair(ink, left, box, crops + 2 * BL_MNIST_PIXELS, nb) &&
            bl_read_memo_run(self->memo, crops, 4, cls, probs, NULL) == BL_OK) {
            double old = log(fmax(probs[cls[0]], 1e-6)) + log(fmax(probs[10 + cls[1]], 1e-6));
            double sep = log(fmax(probs[20 + cls[2]], 1e-6)) + log(fmax(probs[30 + cls[3]], 1e-6));
            if (sep > old + SEP_MARGIN) {
                memcpy(d[i].pixels, crops + 2 * BL_MNIST_PIXELS, BL_MNIST_PIXELS);
                memcpy(d[i + 1].pixels, crops + 3 * BL_MNIST_PIXELS, BL_MNIST_PIXELS);
                d[i].box = nb[0];
                d[i + 1].box = nb[1];
                owner_assign(owner, g, box, ink, left, a, b);
            }
        }
        free(ink);
        free(left);
    }
}

/* Too few digits for the separator's eye: a digit at least SEP_WIDE digit
 * heights wide (in x, and in u along the slant) that the separator takes
 * apart (its leftmost digit holding SEP_SPLIT_MIN..1 - SEP_SPLIT_MIN of
 * the ink) becomes two when the count allows one more (below hi, or no
 * hi) and the classifier reads each of the two with P(best class) >=
 * SEP_SURE. *d grows as needed. */
static int separate_wide(bl_segment *self, const geom *g, int digit_h, uint8_t *owner,
                         bl_segment_digit **d, int n, int hi)
{
    for (int i = 0; i < n && n < 252 && (hi <= 0 || n < hi); i++) {
        bl_segment_digit *cur = &(*d)[i];
        if (cur->box.w < SEP_WIDE * digit_h)
            continue;
        int id = i + 1;
        bl_box box = cur->box;
        /* Its width along the slant, as the cuts measure pieces. */
        int u0 = INT32_MAX, u1 = INT32_MIN;
        for (int y = box.y; y < box.y + box.h; y++)
            for (int x = box.x; x < box.x + box.w; x++)
                if (owner[(size_t)y * g->W + x] == id) {
                    int u = ucol(g, x, y);
                    u0 = imin(u0, u), u1 = imax(u1, u);
                }
        if (u1 < u0 || u1 - u0 + 1 < SEP_WIDE * digit_h)
            continue;
        uint8_t *ink = bl_xmalloc((size_t)box.w * box.h);
        uint8_t *left = bl_xmalloc((size_t)box.w * box.h);
        int total = owner_mask(owner, g, box, id, id, ink);
        int got = bl_separator_peel(self->sep, ink, box.w, box.h, left);
        uint8_t crops[2 * BL_MNIST_PIXELS];
        bl_box nb[2];
        int32_t cls[2];
        float probs[20];
        /* The whole is no judge here: squeezed into one digit's frame, two
         * touching digits often read as one with confidence. */
        if (got >= SEP_SPLIT_MIN * total && got <= (1 - SEP_SPLIT_MIN) * total &&
            peeled_pair(ink, left, box, crops, nb) &&
            bl_read_memo_run(self->memo, crops, 2, cls, probs, NULL) == BL_OK &&
            probs[cls[0]] >= SEP_SURE && probs[10 + cls[1]] >= SEP_SURE) {
            /* Ids after i move up by one to make room. */
            for (size_t k = 0; k < (size_t)g->W * g->H; k++)
                if (owner[k] > id && owner[k] < 254)
                    owner[k]++;
            owner_assign(owner, g, box, ink, left, id, id + 1);
            *d = bl_xrealloc(*d, sizeof **d * (size_t)(n + 1));
            memmove(*d + i + 2, *d + i + 1, sizeof **d * (size_t)(n - i - 1));
            memcpy((*d)[i].pixels, crops, BL_MNIST_PIXELS);
            memcpy((*d)[i + 1].pixels, crops + BL_MNIST_PIXELS, BL_MNIST_PIXELS);
            (*d)[i].box = nb[0];
            (*d)[i + 1].box = nb[1];
            n++;
        }
        free(ink);
        free(left);
    }
    return n;
}

/* The whole field taken apart by the separator alone: every piece wider
 * than SEP_FIELD_WIDE digit heights in u split into its digits
 * (bl_separator_split), the others one digit each, left to right.
 * Returns the count with *digits (free()) and each digit's pixels marked
 * in owner. */
static int separate_field(bl_segment *self, const prepared *pp, uint8_t *owner,
                          bl_segment_digit **digits)
{
    const geom *g = &pp->g;
    int np = pp->npieces, id = 0;
    *digits = NULL;
    const piece **order = bl_xmalloc(sizeof *order * (size_t)(np + 1));
    bl_box where[241]; /* where each digit's pixels lie */
    for (int i = 0; i < np; i++)
        order[i] = &pp->pieces[i];
    qsort(order, (size_t)np, sizeof *order, cmp_piece_ptr_u);
    for (int i = 0; i < np && id < 240; i++) {
        const piece *p = order[i];
        if (p->u1 - p->u0 <= SEP_FIELD_WIDE * pp->digit_h) {
            mark_owner(p, g, owner, ++id);
            where[id] = p->box;
            continue;
        }
        int w = p->box.w, h = p->box.h;
        uint8_t *ink = bl_xcalloc((size_t)w * h, 1), *own = bl_xmalloc((size_t)w * h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                ink[(size_t)y * w + x] = (uint8_t)owns(p, g, p->box.x + x, p->box.y + y);
        int n = bl_separator_split(self->sep, ink, w, h, imin(8, 240 - id), own);
        for (int k = 1; k <= n; k++)
            where[id + k] = p->box;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if (own[(size_t)y * w + x])
                    owner[(size_t)(p->box.y + y) * g->W + p->box.x + x] =
                        (uint8_t)(id + own[(size_t)y * w + x]);
        id += n;
        free(ink);
        free(own);
    }
    free(order);
    bl_segment_digit *d = bl_xcalloc((size_t)id + 1, sizeof *d);
    int nd = 0;
    for (int k = 1; k <= id; k++)
        if (owned_digit(owner, g->W, where[k], k, &d[nd].box, d[nd].pixels))
            nd++;
    *digits = d;
    return nd;
}

int bl_segment_run_expect(bl_segment *self, const bl_image *crop, int lo, int hi,
                          bl_segment_digit **digits, int *count, bl_err *err)
{
    assert(crop && digits && count);
    *digits = NULL;
    *count = 0;
    bl_read_memo_clear(self ? self->memo : NULL);
    prepared pp;
    int rc = prepare(crop, &pp, err);
    if (rc < 0)
        return rc;
    const geom *g = &pp.g;
    int mh = pp.digit_h;

    /* The global choice of dp_segment needs the pieces as prepared; the
     * greedy steps below consume them. */
    piece *saved = NULL;
    int nsaved = 0;
    if (self && self->clf && lo > 0 && mh > 0) {
        nsaved = pp.npieces;
        saved = bl_xcalloc((size_t)nsaved + 1, sizeof *saved);
        for (int i = 0; i < nsaved; i++)
            saved[i] = piece_copy(&pp.pieces[i]);
    }
    int cap = pp.npieces * MAX_PARTS + 1;
    piece *cut = bl_xcalloc((size_t)cap, sizeof *cut);
    int ncut = 0;
    for (int i = 0; i < pp.npieces; i++) {
        piece *p = &pp.pieces[i];
        int chosen[MAX_CANDS + 2], nch = 0;
        if (mh > 0 && p->u1 - p->u0 > SPLIT_MIN * mh) {
            cutcand c[MAX_CANDS];
            int nc = find_cuts(p, g, mh, pp.stroke, c);
            score_cuts(self, c, nc);
            if (self && self->cut)
                nch = split_by_scores(p, mh, c, nc, chosen);
            else if (self && self->clf)
                nch = split_by_classifier(self, p, g, mh, c, nc, chosen);
            if (nch == 0 && !(self && self->clf && !self->cut) &&
                p->u1 - p->u0 > SPLIT_RULES * mh)
                nch = split_by_rules(p, mh, c, nc, chosen);
            if (self && self->cut && self->clf) {
                nch = check_split(self, p, g, mh, chosen, nch, SPLIT_MARGIN);
                /* A join the scorer doubts: its likeliest cut is made only
                 * when the classifier reads the halves far better. */
                if (nch == 0) {
                    int bi = -1, min_w = (int)(MIN_PART * mh);
                    for (int k = 0; k < nc; k++)
                        if (c[k].p >= CUT_MAYBE && c[k].u - p->u0 >= min_w &&
                            p->u1 - c[k].u >= min_w && (bi < 0 || c[k].p > c[bi].p))
                            bi = k;
                    if (bi >= 0) {
                        chosen[0] = c[bi].u;
                        nch = check_split(self, p, g, mh, chosen, 1, DOUBT_MARGIN);
                    }
                }
            }
        }
        nch = imin(nch, MAX_PARTS - 1);
        if (nch > 0) {
            int start = ncut, full = 1;
            for (int k = 0; k <= nch; k++) {
                piece q = *p;
                q.c0 = k == 0 ? p->c0 : chosen[k - 1];
                q.c1 = k == nch ? p->c1 : chosen[k];
                piece_refit(&q, g);
                if (q.box.w == 0)
                    continue;
                if (q.box.h < FRAGMENT_RATIO * mh)
                    full = 0;
                q.labels = bl_xmalloc(sizeof *q.labels * (size_t)p->nlabels);
                memcpy(q.labels, p->labels, sizeof *q.labels * (size_t)p->nlabels);
                cut[ncut++] = q;
            }
            /* The rules refuse a cut that leaves a short part: it went
             * through one wide digit (a flat 2, a 5's bar), not between
             * two. The classifier has weighed that already. */
            if ((full || (self && self->clf && !self->cut)) && ncut - start > 1) {
                free(p->labels);
                continue;
            }
            for (int k = start; k < ncut; k++)
                free(cut[k].labels);
            ncut = start;
        }
        cut[ncut++] = *p;
    }
    pp.npieces = 0; /* labels moved into cut[] */
    qsort(cut, (size_t)ncut, sizeof *cut, cmp_piece_u);
    /* A count outside the template's range: the whole field is chosen
     * again at once (dp_segment) and fitted step by step; the greedy fit
     * stands only when its digits read clearly better. */
    bl_segment_digit *dp = NULL;
    int ndp = 0;
    size_t npx = (size_t)g->W * (size_t)g->H;
    /* Which digit owns each pixel, for step 7 (only with a separator). */
    int use_sep = self && self->sep && self->clf;
    uint8_t *owner = use_sep ? bl_xcalloc(npx, 1) : NULL, *owner_dp = NULL;
    if (saved && (ncut < lo || (hi > 0 && ncut > hi))) {
        prepared q = pp;
        q.pieces = saved;
        q.npieces = nsaved;
        owner_dp = use_sep ? bl_xcalloc(npx, 1) : NULL;
        ndp = dp_segment(self, &q, lo, hi, &dp, owner_dp);
    }
    /* With a known count, the separator's own reading of the field is
     * weighed against the cuts' (below). */
    bl_segment_digit *sd = NULL;
    int nsd = 0;
    uint8_t *owner_sd = NULL;
    int suspect = 0;
    for (int i = 0; use_sep && i < nsaved; i++)
        suspect |= saved[i].u1 - saved[i].u0 > SPLIT_MIN * mh;
    if (saved && suspect) {
        prepared q = pp;
        q.pieces = saved;
        q.npieces = nsaved;
        owner_sd = bl_xcalloc(npx, 1);
        nsd = separate_field(self, &q, owner_sd, &sd);
    }
    for (int i = 0; i < nsaved; i++)
        free(saved[i].labels);
    free(saved);
    fit_count(self, &pp, &cut, &ncut, &cap, lo, hi);
    bl_segment_digit *out = ncut ? bl_xcalloc((size_t)ncut, sizeof *out) : NULL;
    int nout = 0;
    for (int i = 0; i < ncut; i++) {
        piece tmp;
        if (part_digit(&cut[i], g, cut[i].c0, cut[i].c1, &tmp, out[nout].pixels)) {
            out[nout].box = tmp.box;
            if (owner && nout < 253)
                mark_owner(&cut[i], g, owner, nout + 1);
            nout++;
        }
    }
    if (ndp > 0) {
        if (nout >= lo && nout <= hi &&
            reading_gain(self, out, nout, dp, ndp) > DP_KEEP_MARGIN) {
            free(dp);
        } else {
            free(out);
            out = dp;
            nout = ndp;
            uint8_t *t = owner;
            owner = owner_dp;
            owner_dp = t;
        }
    }
    if (use_sep && nout > 0)
        separate_pairs(self, g, owner, out, nout);
    if (nsd >= lo && nsd <= hi && nsd > 0 &&
        (nout < lo || nout > hi ||
         reading_gain(self, sd, nsd, out, nout) > SEP_FIELD_MARGIN)) {
        free(out);
        out = sd;
        nout = nsd;
        free(owner);
        owner = owner_sd;
        sd = NULL;
        owner_sd = NULL;
    }
    free(sd);
    free(owner_sd);
    if (use_sep && nout > 0 && mh > 0)
        nout = separate_wide(self, g, mh, owner, &out, nout, hi);
    free(owner);
    free(owner_dp);
    for (int i = 0; i < ncut; i++)
        free(cut[i].labels);
    free(cut);
    prepared_free(&pp);
    if (nout == 0) {
        free(out);
        out = NULL;
    }
    *digits = out;
    *count = nout;
    return BL_OK;
}

int bl_segment_run(bl_segment *self, const bl_image *crop, bl_segment_digit **digits,
                   int *count, bl_err *err)
{
    return bl_segment_run_expect(self, crop, 0, 0, digits, count, err);
}

int bl_segment_expected_len(const char *rule, int *lo, int *hi)
{
    *lo = *hi = 0;
    if (!rule)
        return 0;
    for (const char *s = rule; *s;) {
        const char *end = strchr(s, ';');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        int a, b, used = 0;
        char fmt[16];
        if (n < 64) {
            char item[64];
            memcpy(item, s, n);
            item[n] = '\0';
            if (sscanf(item, "len=%d-%d%n", &a, &b, &used) == 2 && (size_t)used == n &&
                a >= 1 && b >= a && b <= 64)
                *lo = a, *hi = b;
            else if (sscanf(item, "len=%d%n", &a, &used) == 1 && (size_t)used == n && a >= 1 &&
                     a <= 64)
                *lo = *hi = a;
            else if (!*lo && sscanf(item, "date=%15s", fmt) == 1 &&
                     (!strcmp(fmt, "DDMMYYYY") || !strcmp(fmt, "DDMMYY")))
                *lo = *hi = (int)strlen(fmt);
            else if (!*lo && !strcmp(item, "time=HHMM"))
                *lo = *hi = 4;
        }
        s += n;
        if (*s == ';')
            s++;
    }
    return *lo > 0;
}

int bl_segment_field(const bl_image *crop, bl_segment_digit **digits, int *count, bl_err *err)
{
    return bl_segment_run(NULL, crop, digits, count, err);
}
