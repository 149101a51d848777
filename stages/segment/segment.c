/*
 * segment: cuts a field crop into single digits, left to right, each
 * normalised the MNIST way.
 *
 * Algorithm (connected components with merge and split rules, the classic
 * first stage of numeral-string segmentation; see Casey and Lecolinet 1996,
 * "A survey of methods and strategies in character segmentation"):
 *  1. Connected components of the crop (8-connected), with the label map.
 *  2. Specks are dropped: a few pixels, or tiny in both directions
 *     compared with the tallest component.
 *  3. Broken strokes are merged back, in two passes. First, pieces that
 *     overlap strongly in x (by half the narrower one) stack into one
 *     digit: a 5 whose top bar came loose, a 4 drawn in two strokes. Then,
 *     against the writer's digit height (the median piece height), a
 *     fragment shorter than 0.6 of it joins its nearest neighbour within
 *     0.3 of it, and pieces whose boxes just meet join when together they
 *     are no wider than a digit (a 0 broken into two halves).
 *  4. A piece wider than 1.35 times the digit height is taken for touching
 *     digits (a single hand-written digit is that wide about once in a
 *     hundred) and cut into round(width / 0.75 height) parts, each cut at
 *     the column of least ink within the middle half of the nominal part
 *     boundary (the vertical projection "drop" cut). A cut that leaves a
 *     part shorter than a digit is refused: it went through one wide digit
 *     (a flat 2, a 5's long bar), not between two.
 *  5. Each digit is rebuilt from its own components only (through the
 *     label map, so a neighbour's stray pixels inside its box are left out)
 *     and normalised with bl_image_mnist_normalize.
 *
 * Limits: two narrow digits touching (11, 17) stay one piece and a very
 * wide single digit may still be cut; cuts are vertical, so slanted
 * touching strokes are cut roughly; digits that overlap in x without
 * touching (a 7's bar over a 1) or whose boxes meet are merged. The
 * stage's trained cut/merge scorer replaces these rules later.
 */
#include "segment/segment.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    SPECK_PIXELS = 6,   /* fewer ink pixels: dust */
    MAX_PARTS = 8       /* most digits one touching piece is cut into */
};
#define SPECK_RATIO 0.12     /* speck: both sides below this x tallest height */
#define MERGE_OVERLAP 0.5    /* x overlap / narrower width that merges */
#define FRAGMENT_RATIO 0.6   /* shorter than this x digit height: a fragment */
#define FRAGMENT_GAP 0.3     /* ... merged across at most this x height */
#define ABUT_GAP 1           /* boxes this close (px) ... */
#define ABUT_OVERLAP 0.1     /* ... or overlapping this little x height */
#define SPLIT_RATIO 1.35     /* width / digit height above which to cut */
#define DIGIT_WIDTH 0.75     /* typical digit width / height, for the count */
#define CUT_WINDOW 0.25      /* search half-window / nominal part width */

/* A candidate digit: a set of component labels and a column range. */
typedef struct piece {
    bl_box box;     /* ink box in crop pixels */
    int *labels;    /* component labels (1-based) making up the piece */
    int nlabels;
    int x0, x1;     /* only columns x0 <= x < x1 belong to it */
} piece;

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

static bl_box box_union(bl_box a, bl_box b)
{
    int x0 = imin(a.x, b.x), y0 = imin(a.y, b.y);
    int x1 = imax(a.x + a.w, b.x + b.w), y1 = imax(a.y + a.h, b.y + b.h);
    return (bl_box){x0, y0, x1 - x0, y1 - y0};
}

static int cmp_piece_x(const void *pa, const void *pb)
{
    const piece *a = pa, *b = pb;
    if (a->box.x != b->box.x)
        return (a->box.x > b->box.x) - (a->box.x < b->box.x);
    return (a->box.y > b->box.y) - (a->box.y < b->box.y);
}

static int cmp_int(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    return (a > b) - (a < b);
}

static int has_label(const piece *p, int label)
{
    for (int i = 0; i < p->nlabels; i++)
        if (p->labels[i] == label)
            return 1;
    return 0;
}

/* Does pixel (x, y) of the crop belong to piece p? */
static int owns(const piece *p, const int *labels, int width, int x, int y)
{
    int l = labels[(size_t)y * (size_t)width + (size_t)x];
    return l != 0 && x >= p->x0 && x < p->x1 && has_label(p, l);
}

/* Tight ink box of p within its column range; w = 0 when it has no ink. */
static bl_box piece_ink_box(const piece *p, const int *labels, int width)
{
    int x0 = p->x1, x1 = p->x0 - 1, y0 = p->box.y + p->box.h, y1 = p->box.y - 1;
    for (int y = p->box.y; y < p->box.y + p->box.h; y++)
        for (int x = imax(p->x0, p->box.x);
             x < imin(p->x1, p->box.x + p->box.w); x++)
            if (owns(p, labels, width, x, y)) {
                x0 = imin(x0, x);
                x1 = imax(x1, x);
                y0 = imin(y0, y);
                y1 = imax(y1, y);
            }
    if (x1 < x0)
        return (bl_box){0, 0, 0, 0};
    return (bl_box){x0, y0, x1 - x0 + 1, y1 - y0 + 1};
}

/* Cuts piece p into `parts` pieces at the columns of least ink near the
 * nominal boundaries. Appends the new pieces to out (capacity checked by
 * the caller) and returns how many it appended. */
static int split_piece(const piece *p, int parts, const int *labels,
                       int width, piece *out)
{
    int *ink = bl_xcalloc((size_t)p->box.w, sizeof *ink);
    for (int y = p->box.y; y < p->box.y + p->box.h; y++)
        for (int x = p->box.x; x < p->box.x + p->box.w; x++)
            if (owns(p, labels, width, x, y))
                ink[x - p->box.x]++;

    double part_w = (double)p->box.w / parts;
    int half = (int)(CUT_WINDOW * part_w);
    int cuts[MAX_PARTS + 1];
    cuts[0] = p->box.x;
    for (int c = 1; c < parts; c++) {
        int nominal = (int)lround(c * part_w);
        int best = nominal, best_ink = -1;
        int lo = imax(nominal - half, cuts[c - 1] - p->box.x + 1);
        int hi = imin(nominal + half, p->box.w - 1);
        for (int x = lo; x <= hi; x++) {
            int dist = abs(x - nominal), best_dist = abs(best - nominal);
            if (best_ink < 0 || ink[x] < best_ink ||
                (ink[x] == best_ink && dist < best_dist)) {
                best = x;
                best_ink = ink[x];
            }
        }
        cuts[c] = p->box.x + best;
    }
    cuts[parts] = p->box.x + p->box.w;
    free(ink);

    int made = 0;
    for (int c = 0; c < parts; c++) {
        piece q = *p;
        q.x0 = imax(p->x0, cuts[c]);
        q.x1 = imin(p->x1, cuts[c + 1]);
        if (q.x1 <= q.x0)
            continue;
        q.box = piece_ink_box(&q, labels, width);
        if (q.box.w == 0)
            continue;
        q.labels = bl_xmalloc(sizeof *q.labels * (size_t)p->nlabels);
        memcpy(q.labels, p->labels, sizeof *q.labels * (size_t)p->nlabels);
        out[made++] = q;
    }
    return made;
}

/* Moves q's labels into p; the box becomes the union. */
static void absorb(piece *p, piece *q)
{
    p->labels = bl_xrealloc(p->labels, sizeof *p->labels *
                            (size_t)(p->nlabels + q->nlabels));
    memcpy(p->labels + p->nlabels, q->labels,
           sizeof *q->labels * (size_t)q->nlabels);
    p->nlabels += q->nlabels;
    p->box = box_union(p->box, q->box);
    free(q->labels);
    q->labels = NULL;
}

/* Horizontal gap between two boxes (negative when they overlap in x). */
static int x_gap(bl_box a, bl_box b)
{
    return imax(a.x, b.x) - imin(a.x + a.w, b.x + b.w);
}

/* Should pieces a and b be one digit? Pass 0 knows no digit height and
 * merges only strong x-overlap; pass 1 also merges a fragment (shorter than
 * FRAGMENT_RATIO of the digit height) into a neighbour within FRAGMENT_GAP
 * of that height, and pieces whose boxes just meet (a stroke broken side by
 * side) when their union is not wider than a digit. */
static int belong_together(bl_box a, bl_box b, int digit_h, int pass)
{
    int gap = x_gap(a, b);
    if (-gap >= MERGE_OVERLAP * imin(a.w, b.w))
        return 1;
    if (pass == 0 || digit_h <= 0)
        return 0;
    if ((a.h < FRAGMENT_RATIO * digit_h || b.h < FRAGMENT_RATIO * digit_h) &&
        gap <= FRAGMENT_GAP * digit_h)
        return 1;
    bl_box u = box_union(a, b);
    return gap <= ABUT_GAP && gap >= -ABUT_OVERLAP * digit_h &&
           u.w <= SPLIT_RATIO * digit_h;
}

/* Merges pieces until no pair belongs together, nearest pairs first so a
 * fragment joins the closer of its neighbours. */
static void merge_pieces(piece *pieces, int *npieces, int digit_h, int pass)
{
    for (;;) {
        int bi = -1, bj = -1, best_gap = 0;
        for (int i = 0; i < *npieces; i++)
            for (int j = i + 1; j < *npieces; j++) {
                bl_box a = pieces[i].box, b = pieces[j].box;
                if (!belong_together(a, b, digit_h, pass))
                    continue;
                int gap = x_gap(a, b);
                if (bi < 0 || gap < best_gap) {
                    bi = i;
                    bj = j;
                    best_gap = gap;
                }
            }
        if (bi < 0)
            return;
        absorb(&pieces[bi], &pieces[bj]);
        pieces[bj] = pieces[--*npieces];
    }
}

/* The median piece height stands for the writer's digit height. */
static int median_height(const piece *pieces, int npieces)
{
    if (npieces == 0)
        return 0;
    int *heights = bl_xmalloc(sizeof *heights * (size_t)npieces);
    for (int i = 0; i < npieces; i++)
        heights[i] = pieces[i].box.h;
    qsort(heights, (size_t)npieces, sizeof *heights, cmp_int);
    int m = heights[npieces / 2];
    free(heights);
    return m;
}

/* Renders piece p as a binary image of its box, its own pixels only. */
static bl_image *piece_image(const piece *p, const int *labels, int width)
{
    bl_image *img = bl_image_new(p->box.w, p->box.h);
    for (int y = 0; y < p->box.h; y++)
        for (int x = 0; x < p->box.w; x++)
            if (owns(p, labels, width, p->box.x + x, p->box.y + y))
                BL_PIX(img, x, y) = 1;
    return img;
}

int bl_segment_field(const bl_image *crop, bl_segment_digit **digits,
                     int *count, bl_err *err)
{
    assert(crop && digits && count);
    *digits = NULL;
    *count = 0;

    bl_component *comps = NULL;
    int ncomps = 0;
    int *labels = NULL;
    int rc = bl_image_components(crop, &comps, &ncomps, &labels, err);
    if (rc < 0)
        return rc;

    piece *pieces = bl_xcalloc((size_t)ncomps + 1, sizeof *pieces);
    piece *cut = bl_xcalloc((size_t)ncomps * MAX_PARTS + 1, sizeof *cut);
    int npieces = 0;

    int tallest = 0;
    for (int i = 0; i < ncomps; i++)
        tallest = imax(tallest, comps[i].box.h);
    for (int i = 0; i < ncomps; i++) {
        const bl_component *c = &comps[i];
        if (c->pixels < SPECK_PIXELS ||
            (c->box.w < SPECK_RATIO * tallest && c->box.h < SPECK_RATIO * tallest))
            continue;
        piece *p = &pieces[npieces++];
        p->box = c->box;
        p->labels = bl_xmalloc(sizeof *p->labels);
        p->labels[0] = c->label;
        p->nlabels = 1;
        p->x0 = 0;
        p->x1 = crop->width;
    }

    /* Broken strokes: first pieces stacked in x, then, against the
     * writer's digit height, fragments too short to be a digit and pieces
     * whose boxes abut without making a piece wider than a digit. */
    merge_pieces(pieces, &npieces, 0, 0);
    int median_h = median_height(pieces, npieces);
    merge_pieces(pieces, &npieces, median_h, 1);
    median_h = median_height(pieces, npieces);

    int ncut = 0;
    for (int i = 0; i < npieces; i++) {
        piece *p = &pieces[i];
        if (p->box.w > SPLIT_RATIO * median_h && median_h > 0) {
            int parts = (int)lround(p->box.w / (DIGIT_WIDTH * median_h));
            parts = imin(imax(parts, 2), MAX_PARTS);
            int made = split_piece(p, parts, labels, crop->width, cut + ncut);
            /* Touching digits are each of full height; a cut that leaves a
             * short part went through one wide digit (a flat 2, a 5's bar). */
            int full = made > 1;
            for (int k = 0; k < made; k++)
                if (cut[ncut + k].box.h < FRAGMENT_RATIO * median_h)
                    full = 0;
            if (full) {
                ncut += made;
                free(p->labels);
                continue;
            }
            for (int k = 0; k < made; k++)
                free(cut[ncut + k].labels);
        }
        cut[ncut++] = *p;
    }
    free(pieces);
    qsort(cut, (size_t)ncut, sizeof *cut, cmp_piece_x);

    bl_segment_digit *out = NULL;
    int nout = 0;
    if (ncut > 0)
        out = bl_xcalloc((size_t)ncut, sizeof *out);
    for (int i = 0; i < ncut; i++) {
        bl_image *img = piece_image(&cut[i], labels, crop->width);
        if (bl_image_mnist_normalize(img, 1, out[nout].pixels) == BL_OK) {
            out[nout].box = cut[i].box;
            nout++;
        }
        bl_image_destroy(&img);
        free(cut[i].labels);
    }
    free(cut);
    free(labels);
    free(comps);

    if (nout == 0) {
        free(out);
        out = NULL;
    }
    *digits = out;
    *count = nout;
    return BL_OK;
}
