/*
 * detect: finds the hand-written numeric fields on a binarised page.
 *
 * Algorithm:
 *  1. Form lines are removed in place (bl_detect_remove_lines): the
 *     run-length form of line removal (as in leptonica's
 *     pixRemoveLines / the "horizontal and vertical run" filters of
 *     Yu, Samal and Seth, 1997). Ink runs of at least 120 px along a row
 *     (130 px down a column) mark line pixels. Across the line, at each
 *     column, the marked stretch is the line's thickness there; it is
 *     erased unless ink continues at least 3 px on both sides (a stroke
 *     that crosses the line, which must survive), together with the
 *     1-2 px rim that blur leaves along a line. Stretches thicker than
 *     14 px are solid areas, not lines, and stay. On a page no form
 *     template matches, the thin lines a light scan broke into dashes
 *     (dashes.h) are erased too, with the bars hanging off them.
 *  2. Connected components (8-connected) are typed by geometry: specks;
 *     rules (long and thin) and thin straight bars (the short box sides and
 *     comb teeth the run filter leaves: at most 9 px across with an edge
 *     that wanders at most 2 px from its median on 90% of its length);
 *     frames (large or mostly empty); small (shorter
 *     than a hand-written digit: printed labels at 10-12 pt are 25-40 px
 *     tall at 300 dpi, digits 50-110 px; the size filter of Fletcher and
 *     Kasturi 1988); digit-sized.
 *  3. Grouping (union-find over components sorted by x): two digit-sized
 *     components join when their vertical extents overlap and their gap is
 *     below 1.2 times their height; a small fragment joins a digit inside
 *     its band within half its height; fragments join each other only when
 *     stacked. Groups of digits are then grouped again on their boxes, and
 *     fragments within a group's columns and near its band are added.
 *  4. Each group with a digit-sized member is a candidate region described
 *     by BL_DETECT_FEATURES numbers (region_features): counts, heights and
 *     their spread, baseline and top alignment, widths, gaps, stroke width
 *     from run lengths and its regularity, ink density, position. Print is
 *     regular (one stroke width, one height, one baseline, many glyphs);
 *     hand-writing varies. The region classifier (a small MLP trained by
 *     `blotter train detect`) turns the features into P(field); without a
 *     model, rules decide (step 5).
 *  5. Rules: a field has two or more digit-sized components or one wide
 *     enough to be touching digits, at most 12 components, and is not a
 *     row of five or more glyphs of one height on one baseline (3 px).
 *  6. Reading order: rows (a box belongs to the row of the first box whose
 *     vertical extent contains its centre), top to bottom, then left to
 *     right.
 *
 * Limits: thresholds are in pixels at 300 dpi (ingest resamples). A digit
 * stroke lying along a line (the base of a 2 on an underline) loses the
 * part that coincides with it; a line shorter than 120 px that touches
 * writing stays; a single-digit field is dropped by the rules.
 */
#include "detect/detect.h"
#include "detect/cells.h"
#include "detect/dashes.h"

#include <assert.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blm/blm.h"
#include "image/bitmap.h"
#include "nn/nn.h"

/* Geometry at 300 dpi. */
enum {
    HLINE_MIN = 120,     /* horizontal ink run marking a line */
    VLINE_MIN = 130,     /* vertical one (longer than any digit) */
    LINE_MAX_T = 14,     /* thicker: a solid area, left alone */
    CROSS_CONT = 3,      /* ink beyond the line on both sides: a stroke */
    RIM = 2,             /* blur's rim along a line, erased with it */
    SPECK_PIXELS = 30,   /* fewer ink pixels: dust, dots */
    SPECK_SIDE = 8,      /* both sides shorter: dust */
    DIGIT_MIN_H = 40,    /* printed 10-12 pt labels stay below */
    DIGIT_MAX_H = 180,   /* hand-writing at most ~125 px plus slant */
    DIGIT_MAX_W = 420,   /* a run of at most a few touching digits */
    RULE_MIN_LEN = 150,  /* a line at least this long ... */
    RULE_ASPECT = 10,    /* ... and this many times longer than thick */
    BAR_MAX_T = 9,       /* thin straight bar: at most this thick ... */
    BAR_MIN_LEN = 18,    /* ... at least this long ... */
    BAR_WANDER = 2,      /* ... and its edges move at most this much */
    BAR_REACH = 4,       /* ... and it ends this near an erased line */
    PRINT_MIN_MEMBERS = 5,
    PRINT_SPREAD = 3,    /* one height and baseline to this many px */
    MAX_MEMBERS = 12,    /* more digit-sized glyphs: a line of print */
    STACK_GAP = 10
};
#define FRAME_MAX_DENSITY 0.10
#define BAR_ROUGH 0.1 /* share of a bar's lines whose edge may stray */
#define GROUP_GAP_RATIO 1.7
#define GROUP_MIN_OVERLAP 0.3
#define GROUP_MIN_HRATIO 0.6 /* a printed bracket beside writing is shorter */
#define PRINT_STROKE_RATIO 0.6 /* print beside writing: its stroke at most this of the pen's */
#define LONE_MIN_ASPECT 1.2
#define ATTACH_BAND 0.3
#define ATTACH_TOP 0.15 /* above the writing: a detached bar at most this near */
#define BRIDGE_GAP_RATIO 0.5
#define BRIDGE_MIN_OVERLAP 0.5
#define STACK_MIN_OVERLAP 0.5
#define DIGIT_ASPECT 0.7 /* typical digit pitch / height, for counts */

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }
static int box_right(bl_box b) { return b.x + b.w; }
static int box_bottom(bl_box b) { return b.y + b.h; }

static bl_box box_union(bl_box a, bl_box b)
{
    int x0 = imin(a.x, b.x), y0 = imin(a.y, b.y);
    int x1 = imax(box_right(a), box_right(b));
    int y1 = imax(box_bottom(a), box_bottom(b));
    return (bl_box){x0, y0, x1 - x0, y1 - y0};
}

static int box_contains(bl_box a, bl_box b)
{
    return b.x >= a.x && b.y >= a.y && box_right(b) <= box_right(a) &&
           box_bottom(b) <= box_bottom(a) && (b.w < a.w || b.h < a.h);
}

/* ---- 1. Line removal ----------------------------------------------------- */

/* The page is read whole only once, into a packed bitmap `ink` (bitmap.h)
 * that is kept equal to the page's ink through every erasure. Long runs are
 * found on its words; the byte page is touched only at line pixels and at
 * what is erased, so the cost follows the amount of line, not the page
 * area. */

/* A growable list of horizontal runs [x0, x1) in row y, in row-major
 * order. */
typedef struct hrun {
    int y, x0, x1;
} hrun;

typedef struct hruns {
    hrun *v;
    size_t n, cap;
} hruns;

static void hruns_push(hruns *r, int y, int x0, int x1)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 1024;
        r->v = bl_xrealloc(r->v, sizeof *r->v * r->cap);
    }
    r->v[r->n++] = (hrun){y, x0, x1};
}

/* Marks (value 2) the ink pixels lying in horizontal runs of at least
 * min_len, and lists those runs. */
static void mark_hruns(bl_image *page, const bl_bitmap *ink, int min_len, hruns *out)
{
    for (int y = 0; y < page->height; y++) {
        const uint64_t *bits = BL_BROW(ink, y);
        uint8_t *row = page->data + (size_t)y * (size_t)page->stride;
        int x = 0;
        while ((x = bl_bitmap_next_set(bits, ink->wpl, x)) < ink->width) {
            int end = bl_bitmap_next_clear(bits, ink->wpl, x);
            if (end - x >= min_len) {
                memset(row + x, 2, (size_t)(end - x));
                hruns_push(out, y, x, end);
            }
            x = end;
        }
    }
}

/* The pixels of `ink` lying in vertical runs of at least min_len, as a new
 * bitmap: a pixel is in such a run exactly when some min_len rows in a
 * column, including it, are all ink. An erosion down the columns (AND of
 * min_len rows) followed by the matching dilation (OR), each by doubling
 * windows, on whole words. */
static bl_bitmap *vrun_mask(const bl_bitmap *ink, int min_len)
{
    int H = ink->height, wpl = ink->wpl;
    bl_bitmap *m = bl_bitmap_new(ink->width, H);
    if (H < min_len)
        return m;
    size_t row_words = (size_t)wpl;
    memcpy(m->data, ink->data, sizeof *m->data * row_words * (size_t)H);
    /* Erosion: after the step with k, row y holds the AND of rows
     * y .. y + 2k - 1 (valid while y + 2k <= H). */
    int span = 1;
    while (2 * span <= min_len) {
        for (int y = 0; y + span < H; y++) {
            uint64_t *a = BL_BROW(m, y);
            const uint64_t *b = BL_BROW(m, y + span);
            for (int j = 0; j < wpl; j++)
                a[j] &= b[j];
        }
        span *= 2;
    }
    int rest = min_len - span; /* 0 <= rest < span: overlapping windows */
    if (rest > 0)
        for (int y = 0; y + rest < H; y++) {
            uint64_t *a = BL_BROW(m, y);
            const uint64_t *b = BL_BROW(m, y + rest);
            for (int j = 0; j < wpl; j++)
                a[j] &= b[j];
        }
    /* Windows that would run past the last row start nowhere. */
    for (int y = H - min_len + 1; y < H; y++)
        memset(BL_BROW(m, y), 0, sizeof *m->data * row_words);
    /* Dilation: row y becomes the OR of window starts y - min_len + 1 .. y. */
    span = 1;
    while (2 * span <= min_len) {
        for (int y = H - 1; y >= span; y--) {
            uint64_t *a = BL_BROW(m, y);
            const uint64_t *b = BL_BROW(m, y - span);
            for (int j = 0; j < wpl; j++)
                a[j] |= b[j];
        }
        span *= 2;
    }
    rest = min_len - span;
    if (rest > 0)
        for (int y = H - 1; y >= rest; y--) {
            uint64_t *a = BL_BROW(m, y);
            const uint64_t *b = BL_BROW(m, y - rest);
            for (int j = 0; j < wpl; j++)
                a[j] |= b[j];
        }
    return m;
}

static inline void bit_clear(bl_bitmap *b, int x, int y)
{
    BL_BROW(b, y)[x >> 6] &= ~(UINT64_C(1) << (x & 63));
}

static inline void bit_set(bl_bitmap *b, int x, int y)
{
    BL_BROW(b, y)[x >> 6] |= UINT64_C(1) << (x & 63);
}

/* Pixel (along, across) of the page: along the line and across it. */
static inline uint8_t *px_at(bl_image *page, int vertical, int along, int across)
{
    return vertical ? &BL_PIX(page, across, along) : &BL_PIX(page, along, across);
}

/* The marked stretch across the line at `along` that starts at a0: erased
 * unless it is thick (a solid area) or ink continues on both sides (a
 * crossing stroke), with the rim blur leaves on a side where no stroke
 * continues. Kept line pixels become 3. Erased pixels are cleared in `ink`
 * and set in `gone`. Returns pixels erased. */
static long settle_stretch(bl_image *page, bl_bitmap *ink, bl_bitmap *gone, int vertical,
                           int along, int a0)
{
    int n_across = vertical ? page->width : page->height;
    int a1 = a0;
    while (a1 < n_across && *px_at(page, vertical, along, a1) == 2)
        a1++;
    int before = 0, after = 0;
    while (before < CROSS_CONT + RIM && a0 - 1 - before >= 0 &&
           *px_at(page, vertical, along, a0 - 1 - before) != 0)
        before++;
    while (after < CROSS_CONT + RIM && a1 + after < n_across &&
           *px_at(page, vertical, along, a1 + after) != 0)
        after++;
    if (a1 - a0 > LINE_MAX_T || (before > RIM && after > RIM)) {
        for (int k = a0; k < a1; k++)
            *px_at(page, vertical, along, k) = 3;
        return 0;
    }
    /* A digit resting on the line keeps its stroke: the rim is taken only
     * on a side where the ink stops within RIM. */
    int lo = before <= RIM ? a0 - before : a0;
    int hi = after <= RIM ? a1 + after : a1;
    long erased = 0;
    for (int k = lo; k < hi; k++) {
        uint8_t *p = px_at(page, vertical, along, k);
        if (*p) {
            *p = 0;
            int x = vertical ? k : along, y = vertical ? along : k;
            bit_clear(ink, x, y);
            bit_set(gone, x, y);
            erased++;
        }
    }
    return erased;
}

/* Settles every marked stretch across the horizontal lines, in memory
 * order: a stretch starts at a marked pixel whose upper neighbour is not
 * marked. Settling only ever unmarks pixels, so visiting the listed runs
 * (with the same tests at visit time) is visiting every marked pixel. The
 * marks are then turned back into ink (1) or paper. */
static long erase_hlines(bl_image *page, bl_bitmap *ink, bl_bitmap *gone, const hruns *r)
{
    long erased = 0;
    for (size_t i = 0; i < r->n; i++) {
        int y = r->v[i].y;
        uint8_t *row = page->data + (size_t)y * (size_t)page->stride;
        const uint8_t *up = y > 0 ? row - page->stride : NULL;
        for (int x = r->v[i].x0; x < r->v[i].x1; x++)
            if (row[x] == 2 && !(up && up[x] == 2))
                erased += settle_stretch(page, ink, gone, 0, x, y);
    }
    for (size_t i = 0; i < r->n; i++) {
        uint8_t *row = page->data + (size_t)r->v[i].y * (size_t)page->stride;
        for (int x = r->v[i].x0; x < r->v[i].x1; x++)
            row[x] = row[x] != 0;
    }
    return erased;
}

/* The same across the vertical lines, whose pixels are the set bits of
 * `mask`: a stretch starts at a marked pixel whose left neighbour is not
 * marked. */
static long erase_vlines(bl_image *page, bl_bitmap *ink, bl_bitmap *gone, const bl_bitmap *mask)
{
    long erased = 0;
    for (int y = 0; y < page->height; y++) {
        const uint64_t *bits = BL_BROW(mask, y);
        uint8_t *row = page->data + (size_t)y * (size_t)page->stride;
        for (int j = 0; j < mask->wpl; j++)
            for (uint64_t w = bits[j]; w; w &= w - 1)
                row[(j << 6) + __builtin_ctzll(w)] = 2;
    }
    for (int y = 0; y < page->height; y++) {
        const uint64_t *bits = BL_BROW(mask, y);
        uint8_t *row = page->data + (size_t)y * (size_t)page->stride;
        for (int j = 0; j < mask->wpl; j++)
            for (uint64_t w = bits[j]; w; w &= w - 1) {
                int x = (j << 6) + __builtin_ctzll(w);
                if (row[x] == 2 && !(x > 0 && row[x - 1] == 2))
                    erased += settle_stretch(page, ink, gone, 1, y, x);
            }
        for (int j = 0; j < mask->wpl; j++)
            for (uint64_t w = bits[j]; w; w &= w - 1) {
                int x = (j << 6) + __builtin_ctzll(w);
                row[x] = row[x] != 0;
            }
    }
    return erased;
}

static long erase_bars(bl_image *page, bl_bitmap *ink, const bl_bitmap *gone,
                       bl_bitmap *bars);

/* dst |= src, two bitmaps of one size. */
static void or_into(bl_bitmap *dst, const bl_bitmap *src)
{
    for (size_t i = 0; i < (size_t)dst->wpl * (size_t)dst->height; i++)
        dst->data[i] |= src->data[i];
}

/* bl_detect_remove_lines on a page whose ink `ink` holds; `ink` follows
 * every erasure. */
static long remove_lines(bl_image *page, bl_bitmap *ink, bl_bitmap **gone_out)
{
    /* Where line pixels were erased: the short bars erased next must hang
     * off one of those lines, and template matching (template.h) aligns
     * the form's lines with them. */
    bl_bitmap *gone = bl_bitmap_new(page->width, page->height);
    hruns runs = {0};
    mark_hruns(page, ink, HLINE_MIN, &runs);
    long erased = erase_hlines(page, ink, gone, &runs);
    free(runs.v);
    bl_bitmap *vmask = vrun_mask(ink, VLINE_MIN);
    erased += erase_vlines(page, ink, gone, vmask);
    bl_bitmap_destroy(&vmask);
    /* The bars are form lines too: what matching aligns with includes
     * them (a line a scan broke into pieces long enough to be rules but
     * too short for the run filter goes this way). */
    bl_bitmap *bars = gone_out ? bl_bitmap_new(page->width, page->height) : NULL;
    erased += erase_bars(page, ink, gone, bars);
    if (bars) {
        or_into(gone, bars);
        bl_bitmap_destroy(&bars);
    }
    if (gone_out)
        *gone_out = gone;
    else
        bl_bitmap_destroy(&gone);
    return erased;
}

long bl_detect_remove_lines(bl_image *page)
{
    assert(page && page->data);
    if (page->width <= 0 || page->height <= 0)
        return 0;
    bl_bitmap *ink = bl_bitmap_from_binary(page);
    long erased = remove_lines(page, ink, NULL);
    bl_bitmap_destroy(&ink);
    return erased;
}

long bl_detect_remove_lines_keep(bl_image *page, bl_bitmap **lines)
{
    assert(page && page->data && lines);
    *lines = NULL;
    if (page->width <= 0 || page->height <= 0)
        return 0;
    bl_bitmap *ink = bl_bitmap_from_binary(page);
    long erased = remove_lines(page, ink, lines);
    bl_bitmap_destroy(&ink);
    return erased;
}

/* 1 when a line pixel was erased within BAR_REACH of either end of the
 * bar in box b (along its length), i.e. the bar hung off a form line. */
static int bar_on_line(const bl_image *page, const bl_bitmap *gone, bl_box b, int vertical)
{
    for (int end = 0; end < 2; end++) {
        bl_box z = b;
        if (vertical) {
            z.y = end ? b.y + b.h - BAR_REACH : b.y - BAR_REACH;
            z.h = 2 * BAR_REACH;
            z.x -= BAR_REACH, z.w += 2 * BAR_REACH;
        } else {
            z.x = end ? b.x + b.w - BAR_REACH : b.x - BAR_REACH;
            z.w = 2 * BAR_REACH;
            z.y -= BAR_REACH, z.h += 2 * BAR_REACH;
        }
        int x0 = imax(0, z.x), y0 = imax(0, z.y);
        int x1 = imin(page->width, z.x + z.w), y1 = imin(page->height, z.y + z.h);
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++)
                if (BL_BGET(gone, x, y))
                    return 1;
    }
    return 0;
}

/* ---- 2. Component types -------------------------------------------------- */

typedef enum { K_SPECK, K_RULE, K_FRAME, K_SMALL, K_DIGIT } kind;

/* A thin straight bar along x (horizontal) or y: each line across it holds
 * at most BAR_MAX_T ink pixels and its first ink lies within BAR_WANDER of
 * the median on all but BAR_ROUGH of the lines (speckle bites into a
 * scanned line's edge). Box sides and comb teeth left by the run filter. */
static int is_bar(const bl_image *page, bl_box b, int vertical)
{
    int len = vertical ? b.h : b.w, thick = vertical ? b.w : b.h;
    if (len < BAR_MIN_LEN || len < 3 * thick)
        return 0;
    if (thick > BAR_MAX_T + 2 * BAR_WANDER + 2)
        return 0;
    int at[BAR_MAX_T + 2 * BAR_WANDER + 3] = {0}; /* lines whose first ink is at j */
    int empty = 0;
    for (int i = 0; i < len; i++) {
        int first = -1, count = 0;
        for (int j = 0; j < thick; j++) {
            int x = vertical ? b.x + j : b.x + i, y = vertical ? b.y + i : b.y + j;
            if (BL_PIX(page, x, y)) {
                if (first < 0)
                    first = j;
                count++;
            }
        }
        if (first < 0) {
            empty++;
            continue;
        }
        if (count > BAR_MAX_T)
            return 0;
        at[first]++;
    }
    int inked = len - empty, median = 0;
    for (int seen = 0; median < thick && (seen += at[median]) * 2 < inked;)
        median++;
    int wander = BAR_WANDER + (len > 150 ? 2 : 0), off = 0;
    for (int j = 0; j < thick; j++)
        if (abs(j - median) > wander)
            off += at[j];
    return empty * 10 < len && off <= BAR_ROUGH * len;
}

/* bars: whether a thin straight bar counts as a rule (when erasing); after
 * erasing, the bars left stand free and are strokes. */
static kind classify_component(const bl_image *page, const bl_component *c, int bars)
{
    int w = c->box.w, h = c->box.h;
    if (c->pixels < SPECK_PIXELS || (w < SPECK_SIDE && h < SPECK_SIDE))
        return K_SPECK;
    if ((w >= RULE_MIN_LEN && w >= RULE_ASPECT * h) ||
        (h >= RULE_MIN_LEN && h >= RULE_ASPECT * w))
        return K_RULE;
    if (bars && is_bar(page, c->box, h > w))
        return K_RULE;
    if (h > DIGIT_MAX_H || w > DIGIT_MAX_W)
        return K_FRAME;
    if (h < DIGIT_MIN_H)
        return K_SMALL;
    if (w > 40 && (double)c->pixels < FRAME_MAX_DENSITY * (double)w * h)
        return K_FRAME;
    return K_DIGIT;
}

/* Erases, by an 8-connected flood fill from its first pixel in the top row
 * of its box, every component that is a rule or a thin straight bar: the
 * short box sides and comb teeth the run filter leaves, which would
 * otherwise sit between the digits of a crop. The pixels erased are set
 * in `bars` when it is not NULL. Returns pixels erased. */
static long erase_bars(bl_image *page, bl_bitmap *ink, const bl_bitmap *gone,
                       bl_bitmap *bars)
{
    bl_component *comps = NULL;
    int n = 0;
    if (bl_bitmap_components(ink, &comps, &n, NULL) < 0)
        return 0;
    long erased = 0;
    size_t cap = 1024, top = 0;
    int *stack = bl_xmalloc(sizeof *stack * 2 * cap);
    for (int i = 0; i < n; i++) {
        if (classify_component(page, &comps[i], 1) != K_RULE)
            continue;
        bl_box b = comps[i].box;
        /* A short bar standing free is a stroke (an upright 1), not what
         * is left of a box side or a comb. */
        int rule_long = (b.w >= RULE_MIN_LEN && b.w >= RULE_ASPECT * b.h) ||
                        (b.h >= RULE_MIN_LEN && b.h >= RULE_ASPECT * b.w);
        if (!rule_long && !bar_on_line(page, gone, b, b.h > b.w))
            continue;
        int sx = -1;
        for (int x = b.x; x < b.x + b.w && sx < 0; x++)
            if (BL_PIX(page, x, b.y))
                sx = x;
        if (sx < 0)
            continue;
        BL_PIX(page, sx, b.y) = 0;
        bit_clear(ink, sx, b.y);
        if (bars)
            bit_set(bars, sx, b.y);
        erased++;
        top = 0;
        stack[top * 2] = sx, stack[top * 2 + 1] = b.y, top++;
        while (top > 0) {
            top--;
            int x = stack[top * 2], y = stack[top * 2 + 1];
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int nx = x + dx, ny = y + dy;
                    if (nx < b.x || ny < b.y || nx >= b.x + b.w || ny >= b.y + b.h ||
                        !BL_PIX(page, nx, ny))
                        continue;
                    BL_PIX(page, nx, ny) = 0;
                    bit_clear(ink, nx, ny);
                    if (bars)
                        bit_set(bars, nx, ny);
                    erased++;
                    if (top == cap) {
                        cap *= 2;
                        stack = bl_xrealloc(stack, sizeof *stack * 2 * cap);
                    }
                    stack[top * 2] = nx, stack[top * 2 + 1] = ny, top++;
                }
        }
    }
    free(stack);
    free(comps);
    return erased;
}

/* ---- 3. Grouping --------------------------------------------------------- */

static int uf_find(int *parent, int i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static void uf_union(int *parent, int a, int b)
{
    a = uf_find(parent, a);
    b = uf_find(parent, b);
    if (a != b)
        parent[a < b ? b : a] = a < b ? a : b;
}

typedef struct node {
    bl_box box;
    int pixels;
    int digit; /* 1 digit-sized, 0 small, -1 dropped */
    int group;
} node;

static int linked(const node *na, const node *nb)
{
    bl_box a = na->box, b = nb->box;
    int overlap = imin(box_bottom(a), box_bottom(b)) - imax(a.y, b.y);
    int gap = imax(a.x, b.x) - imin(box_right(a), box_right(b));
    if (na->digit && nb->digit)
        return overlap >= GROUP_MIN_OVERLAP * imin(a.h, b.h) &&
               imin(a.h, b.h) >= GROUP_MIN_HRATIO * imax(a.h, b.h) &&
               gap < GROUP_GAP_RATIO * 0.5 * (a.h + b.h);
    if (!na->digit && !nb->digit) {
        int vgap = imax(a.y, b.y) - imin(box_bottom(a), box_bottom(b));
        return -gap >= STACK_MIN_OVERLAP * imin(a.w, b.w) && vgap <= STACK_GAP;
    }
    bl_box d = na->digit ? a : b, sm = na->digit ? b : a;
    return overlap >= BRIDGE_MIN_OVERLAP * sm.h && gap < BRIDGE_GAP_RATIO * d.h;
}

static int cmp_node_x(const void *pa, const void *pb)
{
    const node *a = pa, *b = pb;
    return (a->box.x > b->box.x) - (a->box.x < b->box.x);
}

typedef struct group {
    bl_box box;
    int members, max_h, alive;
    bl_box first, last; /* the digit members reaching farthest left, right */
} group;

static void run_stats(const bl_image *page, bl_box b, double *hmed, double *hcv,
                      double *vmed, double *ink, double *hmean);

/* Median horizontal run (stroke width) of the ink in b. */
static double stroke_width(const bl_image *page, bl_box b)
{
    double hmed, hcv, vmed, ink, hmean;
    run_stats(page, b, &hmed, &hcv, &vmed, &ink, &hmean);
    return hmed;
}

/* Printed letters beside the writing, not more of it: a group shorter than
 * GROUP_MIN_HRATIO of its neighbour's digits, standing clear of it (a
 * broken digit's pieces interleave with their neighbours) and drawn with
 * a stroke at most PRINT_STROKE_RATIO of theirs. A label's capital is as
 * tall as the least digit (40 px) and its print is thinner than a pen's
 * line; a signature's or a small writer's parts share one stroke. */
static int printed_beside(const bl_image *page, const group *a, const group *b, int gap)
{
    const group *lo = a->max_h <= b->max_h ? a : b, *hi = lo == a ? b : a;
    if (gap <= 0 || lo->max_h >= GROUP_MIN_HRATIO * hi->max_h)
        return 0;
    return stroke_width(page, lo->box) <= PRINT_STROKE_RATIO * stroke_width(page, hi->box);
}

/* Groups joined by the digit rule on their whole boxes (a broken digit's
 * fragments may have joined different neighbours), except print beside
 * the writing. The gap is judged by the digits facing each other across
 * it, as two single digits are: one tall digit at the far end of a field
 * does not stretch its reach to the next field. */
static void merge_groups(const bl_image *page, group *g, int ng, int *map)
{
    for (int merged = 1; merged;) {
        merged = 0;
        for (int i = 0; i < ng; i++) {
            if (!g[i].alive || !g[i].members)
                continue;
            for (int j = i + 1; j < ng; j++) {
                if (!g[j].alive || !g[j].members)
                    continue;
                bl_box a = g[i].box, b = g[j].box;
                int overlap = imin(box_bottom(a), box_bottom(b)) - imax(a.y, b.y);
                int gap = imax(a.x, b.x) - imin(box_right(a), box_right(b));
                int facing = a.x <= b.x ? g[i].last.h + g[j].first.h
                                        : g[j].last.h + g[i].first.h;
                if (overlap < GROUP_MIN_OVERLAP * imin(a.h, b.h) ||
                    gap >= GROUP_GAP_RATIO * 0.5 * facing ||
                    printed_beside(page, &g[i], &g[j], gap))
                    continue;
                g[i].box = box_union(a, b);
                g[i].members += g[j].members;
                g[i].max_h = imax(g[i].max_h, g[j].max_h);
                if (g[j].first.x < g[i].first.x)
                    g[i].first = g[j].first;
                if (box_right(g[j].last) > box_right(g[i].last))
                    g[i].last = g[j].last;
                g[j].alive = 0;
                map[j] = i;
                merged = 1;
            }
        }
    }
}

static int resolve(const int *map, int i)
{
    while (map[i] != i)
        i = map[i];
    return i;
}

/* ---- 4. Features --------------------------------------------------------- */

static int cmp_box_x(const void *pa, const void *pb)
{
    const bl_box *a = pa, *b = pb;
    return (a->x > b->x) - (a->x < b->x);
}

static double mean_sd(const double *v, int n, double *sd)
{
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    double m = n ? s / n : 0;
    for (int i = 0; i < n; i++)
        ss += (v[i] - m) * (v[i] - m);
    *sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
    return m;
}

/* Run-length statistics of the ink inside box: median and mean of the
 * horizontal runs, their coefficient of variation, median vertical run,
 * and the ink count. */
static void run_stats(const bl_image *page, bl_box b, double *hmed, double *hcv,
                      double *vmed, double *ink, double *hmean)
{
    enum { MAXL = 64 };
    long hist_h[MAXL + 1] = {0}, hist_v[MAXL + 1] = {0};
    long nh = 0, nv = 0, count = 0;
    double s = 0, ss = 0;
    for (int y = b.y; y < b.y + b.h; y++) {
        const uint8_t *row = page->data + (size_t)y * (size_t)page->stride;
        int run = 0;
        for (int x = b.x; x <= b.x + b.w; x++) {
            if (x < b.x + b.w && row[x]) {
                run++;
                count++;
                continue;
            }
            if (run) {
                hist_h[imin(run, MAXL)]++;
                nh++;
                s += run;
                ss += (double)run * run;
                run = 0;
            }
        }
    }
    /* Vertical runs on every other column keep the cost down. */
    for (int x = b.x; x < b.x + b.w; x += 2) {
        int run = 0;
        for (int y = b.y; y <= b.y + b.h; y++) {
            if (y < b.y + b.h && BL_PIX(page, x, y)) {
                run++;
                continue;
            }
            if (run) {
                hist_v[imin(run, MAXL)]++;
                nv++;
                run = 0;
            }
        }
    }
    long half = (nh + 1) / 2, acc = 0;
    *hmed = 0;
    for (int i = 1; i <= MAXL; i++)
        if ((acc += hist_h[i]) >= half) {
            *hmed = i;
            break;
        }
    half = (nv + 1) / 2, acc = 0;
    *vmed = 0;
    for (int i = 1; i <= MAXL; i++)
        if ((acc += hist_v[i]) >= half) {
            *vmed = i;
            break;
        }
    double m = nh ? s / nh : 0;
    *hmean = m;
    *hcv = nh > 1 && m > 0 ? sqrt(fmax(0, ss / nh - m * m)) / m : 0;
    *ink = (double)count;
}

/* Fills r->feat from the region's digit-sized members (boxes, n >= 1) and
 * its small ones. */
static void region_features(const bl_image *page, bl_detect_region *r, bl_box *mem, int n,
                            int nsmall)
{
    double hs[MAX_MEMBERS * 4], ws[MAX_MEMBERS * 4], bots[MAX_MEMBERS * 4],
        tops[MAX_MEMBERS * 4], gaps[MAX_MEMBERS * 4];
    int cap = MAX_MEMBERS * 4;
    int m = imin(n, cap);
    qsort(mem, (size_t)n, sizeof *mem, cmp_box_x);
    double hmin = DBL_MAX, hmax = 0, bmin = DBL_MAX, bmax = -DBL_MAX, tmin = DBL_MAX,
           tmax = -DBL_MAX, wmax = 0;
    int ng = 0;
    for (int i = 0; i < m; i++) {
        hs[i] = mem[i].h;
        ws[i] = mem[i].w;
        bots[i] = box_bottom(mem[i]);
        tops[i] = mem[i].y;
        hmin = fmin(hmin, hs[i]), hmax = fmax(hmax, hs[i]);
        bmin = fmin(bmin, bots[i]), bmax = fmax(bmax, bots[i]);
        tmin = fmin(tmin, tops[i]), tmax = fmax(tmax, tops[i]);
        wmax = fmax(wmax, ws[i]);
        if (i > 0)
            gaps[ng++] = mem[i].x - box_right(mem[i - 1]);
    }
    double hsd, wsd, gsd;
    double hm = mean_sd(hs, m, &hsd);
    double wm = mean_sd(ws, m, &wsd);
    double gm = mean_sd(gaps, ng, &gsd);
    (void)wm;
    double hmed, hcv, vmed, ink, hmean;
    run_stats(page, r->box, &hmed, &hcv, &vmed, &ink, &hmean);
    bl_box b = r->box;
    float *f = r->feat;
    f[0] = (float)log1p(n);
    f[1] = (float)log1p(nsmall);
    f[2] = (float)(hm / 100.0);
    f[3] = (float)((hmax - hmin) / hm);
    f[4] = (float)(hsd / hm);
    f[5] = (float)((bmax - bmin) / hm);
    f[6] = (float)((tmax - tmin) / hm);
    f[7] = (float)(wsd / hm);
    f[8] = (float)(fmin((double)b.w / b.h, 20.0) / 10.0);
    f[9] = (float)(ink / ((double)b.w * b.h));
    f[10] = (float)(hmed / hm * 10.0);
    f[11] = (float)hcv;
    f[12] = (float)(vmed / hm * 10.0);
    f[13] = (float)(ng ? gm / hm : 0);
    f[14] = (float)(ng ? gsd / hm : 0);
    f[15] = (float)(wmax / hm);
    f[16] = (float)((b.y + b.h / 2.0) / page->height);
    f[17] = (float)((b.x + b.w / 2.0) / page->width);
    f[18] = (float)(hmean / hm * 10.0);
    f[19] = (float)(hmed > 0 ? hmean / hmed : 1.0);
    r->members = n;
    r->est_digits = imax(1, (int)lround(b.w / (DIGIT_ASPECT * hm)));
}

/* Step 5: the rule-based verdict. */
static int rules_accept(const bl_detect_region *r, int max_h)
{
    const float *f = r->feat;
    int n = r->members;
    if (n < 2 && r->box.w < LONE_MIN_ASPECT * r->box.h)
        return 0;
    if (n > MAX_MEMBERS)
        return 0;
    double hm = f[2] * 100.0;
    if (n >= PRINT_MIN_MEMBERS && f[3] * hm <= PRINT_SPREAD && f[5] * hm <= PRINT_SPREAD)
        return 0;
    (void)max_h;
    return 1;
}

/* bl_detect_candidates on a page whose ink `ink` holds. */
static int candidates(const bl_image *page, const bl_bitmap *ink, bl_detect_region **regions,
                      int *count, bl_err *err)
{
    assert(page && regions && count);
    *regions = NULL;
    *count = 0;
    bl_component *comps = NULL;
    int ncomps = 0;
    int rc = bl_bitmap_components(ink, &comps, &ncomps, err);
    if (rc < 0)
        return rc;

    node *nodes = bl_xmalloc(sizeof *nodes * (size_t)(ncomps + 1));
    int nnodes = 0;
    for (int i = 0; i < ncomps; i++) {
        kind k = classify_component(page, &comps[i], 0);
        if (k == K_DIGIT || k == K_SMALL)
            nodes[nnodes++] = (node){comps[i].box, comps[i].pixels, k == K_DIGIT, -1};
    }
    free(comps);
    qsort(nodes, (size_t)nnodes, sizeof *nodes, cmp_node_x);

    /* A digit-sized component enclosing another is a box drawn around
     * writing, not writing. */
    for (int i = 0; i < nnodes; i++)
        for (int j = i + 1; j < nnodes && nodes[j].box.x < box_right(nodes[i].box); j++) {
            if (nodes[i].digit != 1 || nodes[j].digit != 1)
                continue;
            if (box_contains(nodes[i].box, nodes[j].box))
                nodes[i].digit = -1;
            else if (box_contains(nodes[j].box, nodes[i].box))
                nodes[j].digit = -1;
        }
    int kept = 0;
    for (int i = 0; i < nnodes; i++)
        if (nodes[i].digit >= 0)
            nodes[kept++] = nodes[i];
    nnodes = kept;

    int *parent = bl_xmalloc(sizeof *parent * (size_t)(nnodes + 1));
    for (int i = 0; i < nnodes; i++)
        parent[i] = i;
    for (int i = 0; i < nnodes; i++) {
        int reach = box_right(nodes[i].box) + (int)(GROUP_GAP_RATIO * DIGIT_MAX_H) + 1;
        for (int j = i + 1; j < nnodes && nodes[j].box.x < reach; j++)
            if (linked(&nodes[i], &nodes[j]))
                uf_union(parent, i, j);
    }

    group *g = bl_xcalloc((size_t)nnodes + 1, sizeof *g);
    int *map = bl_xmalloc(sizeof *map * (size_t)(nnodes + 1));
    int ng = 0;
    for (int i = 0; i < nnodes; i++) {
        int r = uf_find(parent, i);
        if (r == i) {
            nodes[i].group = ng;
            map[ng] = ng;
            g[ng++] = (group){nodes[i].box, 0, 0, 1, {0, 0, 0, 0}, {0, 0, 0, 0}};
        } else {
            nodes[i].group = nodes[r].group;
            g[nodes[i].group].box = box_union(g[nodes[i].group].box, nodes[i].box);
        }
        if (nodes[i].digit) {
            group *gi = &g[nodes[i].group];
            if (!gi->members || nodes[i].box.x < gi->first.x)
                gi->first = nodes[i].box;
            if (!gi->members || box_right(nodes[i].box) > box_right(gi->last))
                gi->last = nodes[i].box;
            g[nodes[i].group].members++;
            g[nodes[i].group].max_h = imax(g[nodes[i].group].max_h, nodes[i].box.h);
        }
    }
    free(parent);
    merge_groups(page, g, ng, map);
    for (int i = 0; i < nnodes; i++)
        nodes[i].group = resolve(map, nodes[i].group);

    /* Fragments centred within a field's columns and near its band join
     * it (the detached bar of a 5), tested against the field as the digits
     * found it so a fragment cannot chain towards a label. */
    bl_box *grown = bl_xmalloc(sizeof *grown * (size_t)(ng + 1));
    for (int i = 0; i < ng; i++)
        grown[i] = g[i].box;
    for (int i = 0; i < nnodes; i++) {
        if (nodes[i].digit)
            continue;
        bl_box s = nodes[i].box;
        int cx = s.x + s.w / 2;
        for (int k = 0; k < ng; k++) {
            if (!g[k].alive || !g[k].members || k == nodes[i].group)
                continue;
            bl_box fb = g[k].box;
            int band = (int)(ATTACH_BAND * fb.h);
            if (cx < fb.x || cx >= box_right(fb))
                continue;
            if (box_bottom(s) <= fb.y - band || s.y >= box_bottom(fb) + band)
                continue;
            /* Wholly above the writing, only a flat stroke close to it (a
             * 5's detached bar) joins; letters of a label printed above
             * the field are not flat. */
            if (box_bottom(s) <= fb.y + 2 &&
                (s.w < 2 * s.h || box_bottom(s) < fb.y - (int)(ATTACH_TOP * fb.h)))
                continue;
            grown[k] = box_union(grown[k], s);
            nodes[i].group = k;
            break;
        }
    }

    /* Members per group, for the features. */
    int *first = bl_xmalloc(sizeof *first * (size_t)(ng + 1));
    int *next = bl_xmalloc(sizeof *next * (size_t)(nnodes + 1));
    for (int i = 0; i < ng; i++)
        first[i] = -1;
    for (int i = nnodes - 1; i >= 0; i--) {
        next[i] = first[nodes[i].group];
        first[nodes[i].group] = i;
    }
    bl_detect_region *out = bl_xcalloc((size_t)ng + 1, sizeof *out);
    bl_box *mem = bl_xmalloc(sizeof *mem * (size_t)(nnodes + 1));
    int nout = 0;
    for (int k = 0; k < ng; k++) {
        if (!g[k].alive || !g[k].members)
            continue;
        int n = 0, nsmall = 0;
        for (int i = first[k]; i >= 0; i = next[i]) {
            if (nodes[i].digit)
                mem[n++] = nodes[i].box;
            else
                nsmall++;
        }
        bl_detect_region *r = &out[nout++];
        r->box = grown[k];
        region_features(page, r, mem, n, nsmall);
        r->rule_ok = rules_accept(r, g[k].max_h);
        r->score = (float)r->rule_ok;
    }
    free(mem);
    free(first);
    free(next);
    free(grown);
    free(map);
    free(g);
    free(nodes);
    if (nout == 0) {
        free(out);
        out = NULL;
    }
    *regions = out;
    *count = nout;
    return BL_OK;
}

/* ---- The model ----------------------------------------------------------- */

struct bl_detect {
    bl_nn_net *net;
    float mean[BL_DETECT_FEATURES], sd[BL_DETECT_FEATURES];
    char id[BL_MODEL_ID_MAX];
};

int bl_detect_candidates(const bl_image *page, bl_detect_region **regions, int *count,
                         bl_err *err)
{
    assert(page && page->data && regions && count);
    *regions = NULL;
    *count = 0;
    if (page->width <= 0 || page->height <= 0)
        return BL_OK;
    bl_bitmap *ink = bl_bitmap_from_binary(page);
    int rc = candidates(page, ink, regions, count, err);
    bl_bitmap_destroy(&ink);
    return rc;
}

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
    while (s && *s == ' ')
        s++;
    return s && *s ? -1 : 0;
}

bl_detect *bl_detect_new(const char *model_path, bl_err *err)
{
    bl_detect *self = bl_xcalloc(1, sizeof *self);
    if (!model_path || !model_path[0])
        return self;
    bl_blm *m = bl_blm_load(model_path, BL_DETECT_MODEL_KIND, err);
    if (!m) {
        free(self);
        return NULL;
    }
    self->net = bl_nn_net_from_blm(m, 1, 1, BL_DETECT_FEATURES, model_path, err);
    if (self->net && bl_nn_net_classes(self->net) != 2) {
        bl_err_set(err, BL_EFORMAT, "%s: model has %d classes, a region classifier needs 2",
                   model_path, bl_nn_net_classes(self->net));
        bl_nn_net_destroy(&self->net);
    }
    if (self->net && (parse_floats(bl_blm_get_meta(m, "feat_mean"), self->mean,
                                   BL_DETECT_FEATURES) ||
                      parse_floats(bl_blm_get_meta(m, "feat_std"), self->sd,
                                   BL_DETECT_FEATURES))) {
        bl_err_set(err, BL_EFORMAT,
                   "%s: metadata feat_mean and feat_std must hold %d numbers each",
                   model_path, BL_DETECT_FEATURES);
        bl_nn_net_destroy(&self->net);
    }
    if (!self->net) {
        bl_blm_destroy(&m);
        free(self);
        return NULL;
    }
    const char *name = bl_blm_get_meta(m, "name");
    const char *version = bl_blm_get_meta(m, "version");
    snprintf(self->id, sizeof self->id, "%s@%s:%08x", name ? name : "detect-regions",
             version ? version : "1", m->crc);
    bl_blm_destroy(&m);
    for (int i = 0; i < BL_DETECT_FEATURES; i++)
        if (!(self->sd[i] > 0))
            self->sd[i] = 1;
    return self;
}

void bl_detect_destroy(bl_detect **self)
{
    if (!self || !*self)
        return;
    bl_nn_net_destroy(&(*self)->net);
    free(*self);
    *self = NULL;
}

const char *bl_detect_model_id(const bl_detect *self) { return self ? self->id : ""; }

static void score_regions(bl_detect *self, bl_detect_region *r, int n)
{
    if (!self || !self->net || n == 0)
        return;
    float *x = bl_xmalloc(sizeof *x * (size_t)n * BL_DETECT_FEATURES);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < BL_DETECT_FEATURES; j++)
            x[(size_t)i * BL_DETECT_FEATURES + j] =
                (r[i].feat[j] - self->mean[j]) / self->sd[j];
    const float *p = bl_nn_net_forward(self->net, x, n, false, NULL);
    for (int i = 0; i < n; i++)
        r[i].score = p[(size_t)i * 2 + 1];
    free(x);
}

void bl_detect_score(bl_detect *self, bl_detect_region *regions, int count)
{
    score_regions(self, regions, count);
}

/* ---- 6. Templates, reading order and the stage --------------------------- */

/* Naming on a matched page: a template field's box, shifted with the
 * sheet, grows by FIELD_TOL px on each side (writing spills a little over
 * the box the form leaves), and a detected box belongs to the field
 * holding most of its area, at least FIELD_MIN_INSIDE of it. */
enum { FIELD_TOL = 15 };
#define FIELD_MIN_INSIDE 0.5
/* A candidate the region classifier rejected, lying in a template field
 * nothing else was found in, is taken whatever its score (without a
 * classifier: when it is one digit-sized component, a one-digit entry,
 * which the rules refuse). The template says writing belongs there, and
 * once the form's lines are gone (guided line removal) what is left in an
 * empty field is writing: on 600 evaluation pages (seeds 5001, 7001, 9001)
 * a floor on the score of 0.2 recovered 33 candidates, 31 of them fields,
 * and no floor 41, 40 of them fields (recall 0.9928 to 0.9950 on seed 5001,
 * precision unchanged or higher on each seed); floors of 0.1, 0.05 and
 * 0.01 lost some of those fields, one of them scored below 0.01. A page of
 * unknown design matches no template and takes nothing this way. */

typedef struct ordered {
    bl_detect_region r;
    int field;     /* template field, -1 for none */
    int recovered;
    int row;
} ordered;

static int cmp_y(const void *pa, const void *pb)
{
    const ordered *a = pa, *b = pb;
    if (a->r.box.y != b->r.box.y)
        return (a->r.box.y > b->r.box.y) - (a->r.box.y < b->r.box.y);
    return (a->r.box.x > b->r.box.x) - (a->r.box.x < b->r.box.x);
}

static int cmp_reading(const void *pa, const void *pb)
{
    const ordered *a = pa, *b = pb;
    if (a->row != b->row)
        return (a->row > b->row) - (a->row < b->row);
    return (a->r.box.x > b->r.box.x) - (a->r.box.x < b->r.box.x);
}

/* Rows (a box belongs to the row of the first box whose vertical extent
 * contains its centre), top to bottom, then left to right. */
static void reading_order(ordered *o, int n)
{
    qsort(o, (size_t)n, sizeof *o, cmp_y);
    int row = -1, row_bottom = -1;
    for (int i = 0; i < n; i++) {
        int cy = o[i].r.box.y + o[i].r.box.h / 2;
        if (row < 0 || cy >= row_bottom) {
            row++;
            row_bottom = box_bottom(o[i].r.box);
        }
        o[i].row = row;
    }
    qsort(o, (size_t)n, sizeof *o, cmp_reading);
}

static long overlap_area(bl_box a, bl_box b)
{
    long w = imin(box_right(a), box_right(b)) - imax(a.x, b.x);
    long h = imin(box_bottom(a), box_bottom(b)) - imax(a.y, b.y);
    return w > 0 && h > 0 ? w * h : 0;
}

/* The template field (shifted by dx, dy) holding most of box b, or -1. */
static int field_of(const bl_template *t, int dx, int dy, bl_box b)
{
    double need = FIELD_MIN_INSIDE * (double)b.w * (double)b.h;
    long best = 0;
    int bi = -1;
    for (int i = 0; i < t->nfields; i++) {
        bl_box f = t->fields[i].box;
        f = (bl_box){f.x + dx - FIELD_TOL, f.y + dy - FIELD_TOL, f.w + 2 * FIELD_TOL,
                     f.h + 2 * FIELD_TOL};
        long a = overlap_area(f, b);
        if (a > best && (double)a >= need) {
            best = a;
            bi = i;
        }
    }
    return bi;
}

/* Keeps the regions of a page matched to template t: accepted regions
 * inside a field, rejected ones that look like writing inside a field
 * nothing else was found in, one merged region per field. Returns the
 * count written to o. */
static int name_regions(const bl_template *t, const bl_template_match *m,
                        const bl_detect_region *regs, int n, int scored, ordered *o)
{
    int *fld = bl_xmalloc(sizeof *fld * (size_t)(n + 1));
    int *slot = bl_xmalloc(sizeof *slot * (size_t)(t->nfields + 1));
    char *filled = bl_xcalloc((size_t)t->nfields + 1, 1);
    for (int i = 0; i < n; i++) {
        fld[i] = field_of(t, m->dx, m->dy, regs[i].box);
        if (fld[i] >= 0 && regs[i].score >= 0.5f)
            filled[fld[i]] = 1;
    }
    for (int f = 0; f < t->nfields; f++)
        slot[f] = -1;
    int no = 0;
    for (int i = 0; i < n; i++) {
        int f = fld[i];
        if (f < 0)
            continue; /* outside every field: a stamp, a signature, a note */
        int recovered = 0;
        if (regs[i].score < 0.5f) {
            int looks = scored || regs[i].members == 1;
            if (filled[f] || !looks)
                continue;
            recovered = 1;
        }
        if (slot[f] < 0) {
            slot[f] = no;
            o[no++] = (ordered){regs[i], f, recovered, 0};
            continue;
        }
        /* The template says it is one field: one box for all its parts,
         * the features of the likeliest part. */
        ordered *k = &o[slot[f]];
        bl_box u = box_union(k->r.box, regs[i].box);
        if (regs[i].score > k->r.score)
            k->r = regs[i];
        k->r.box = u;
        k->recovered = k->recovered && recovered;
    }
    free(fld);
    free(slot);
    free(filled);
    return no;
}

/* ---- 5b. What a matched template adds ---------------------------------- */

/* Comb fields nothing was found in, written cell by cell (cells.h): each
 * becomes a field of its own, recovered, after the no entries of o.
 * Returns the new count. */
static int add_comb_entries(const bl_template *t, const bl_template_match *m,
                            const bl_image *page, ordered *o, int no)
{
    int start = no;
    for (int f = 0; f < t->nfields; f++) {
        int found = 0;
        for (int i = 0; i < start && !found; i++)
            found = o[i].field == f;
        bl_box b;
        if (found || !bl_cells_gather(page, t, &t->fields[f], m->dx, m->dy, &b))
            continue;
        bl_detect_region r;
        memset(&r, 0, sizeof r);
        r.box = b;
        o[no++] = (ordered){r, f, 1, 0};
    }
    return no;
}

/* A template knows every printed line of the form, also the ones a scan
 * broke into dashes too short for line removal (comb walls, thin rules):
 * the pixels of each template line (shifted with the sheet, TLINE_TOL px
 * of slack across it) are erased, except where a stroke crosses it (ink
 * TLINE_CROSS px beyond the band on both sides), the rule of step 1. */
enum { TLINE_TOL = 3, TLINE_CROSS = 3 };

static int ink_at(const bl_image *page, int x, int y)
{
    return x >= 0 && y >= 0 && x < page->width && y < page->height && BL_PIX(page, x, y);
}

static void erase_template_lines(const bl_template *t, int dx, int dy, bl_image *page,
                                 bl_bitmap *ink)
{
    for (int i = 0; i < t->nlines; i++) {
        const bl_template_line *l = &t->lines[i];
        int vertical = l->vertical;
        /* along: the line's length; across: its thickness, with slack. */
        int a0 = (vertical ? l->box.y + dy : l->box.x + dx) - TLINE_TOL;
        int a1 = (vertical ? l->box.y + l->box.h + dy : l->box.x + l->box.w + dx) + TLINE_TOL;
        int c0 = (vertical ? l->box.x + dx : l->box.y + dy) - TLINE_TOL;
        int c1 = (vertical ? l->box.x + l->box.w + dx : l->box.y + l->box.h + dy) + TLINE_TOL;
        for (int a = a0; a < a1; a++) {
            int before = 0, after = 0;
            for (int k = 1; k <= TLINE_CROSS; k++) {
                before += vertical ? ink_at(page, c0 - k, a) : ink_at(page, a, c0 - k);
                after += vertical ? ink_at(page, c1 - 1 + k, a) : ink_at(page, a, c1 - 1 + k);
            }
            if (before == TLINE_CROSS && after == TLINE_CROSS)
                continue; /* a stroke crosses here */
            for (int c = c0; c < c1; c++) {
                int x = vertical ? c : a, y = vertical ? a : c;
                if (ink_at(page, x, y)) {
                    BL_PIX(page, x, y) = 0;
                    bit_clear(ink, x, y);
                }
            }
        }
    }
}

/* Erases the broken lines bl_dashes_mark found (set in `dashes`) and the
 * thin bars hanging off them. */
static void erase_dashes(bl_image *page, bl_bitmap *ink, bl_bitmap *dashes)
{
    for (int y = 0; y < page->height; y++) {
        const uint64_t *bits = BL_BROW(dashes, y);
        for (int j = 0; j < dashes->wpl; j++)
            for (uint64_t w = bits[j]; w; w &= w - 1) {
                int x = (j << 6) + __builtin_ctzll(w);
                if (x < page->width) {
                    BL_PIX(page, x, y) = 0;
                    bit_clear(ink, x, y);
                }
            }
    }
    erase_bars(page, ink, dashes, NULL);
}

/* A named field's box: the regions found in it, cut back to the ink that
 * belongs to the field and grown by the digit-sized ink beside them inside
 * its template box (shifted with the sheet and grown by FIELD_TOL).
 * Cut back: a region reaching outside that area loses its components whose
 * centre lies outside it. The letters of the label printed beside a field
 * can be as tall as small writing (an ascender of 11-12 pt print is 40 px,
 * the least digit height) and close enough to join it in grouping; the
 * template says where the writing is, and the label is printed outside it.
 * Grown: a component of at least FIELD_MIN_PIXELS, 0.5 to 1.5 times the
 * box's height, on the same line (half its height within the box's rows),
 * and not a thin upright bar at the template box's side (what is left of a
 * printed box). A faint digit the classifier left out of the field, or one
 * the grouping cut off, comes back this way. */
enum { FIELD_MIN_PIXELS = 12, FIELD_SIDE = 8 };

static int box_inside(bl_box outer, bl_box b)
{
    return b.x >= outer.x && b.y >= outer.y && box_right(b) <= box_right(outer) &&
           box_bottom(b) <= box_bottom(outer);
}

/* The components of page within box (clipped to the page), in page
 * pixels; their count, or -1. *comps is a new array (free()). */
static int components_in(const bl_image *page, bl_box box, bl_component **comps)
{
    *comps = NULL;
    int x0 = imax(box.x, 0), y0 = imax(box.y, 0);
    int x1 = imin(box_right(box), page->width), y1 = imin(box_bottom(box), page->height);
    if (x1 <= x0 || y1 <= y0)
        return -1;
    bl_image *crop = bl_image_crop(page, (bl_box){x0, y0, x1 - x0, y1 - y0});
    int n = 0;
    int rc = bl_image_components(crop, comps, &n, NULL, NULL);
    bl_image_destroy(&crop);
    if (rc != BL_OK) {
        free(*comps);
        *comps = NULL;
        return -1;
    }
    for (int i = 0; i < n; i++) {
        (*comps)[i].box.x += x0;
        (*comps)[i].box.y += y0;
    }
    return n;
}

/* b without its components whose centre lies outside area (b itself when
 * none is left or none goes). */
static bl_box trim_to_area(const bl_image *page, bl_box area, bl_box b)
{
    if (box_inside(area, b))
        return b;
    bl_component *comps = NULL;
    int nc = components_in(page, b, &comps);
    bl_box kept = {0, 0, 0, 0};
    for (int i = 0; i < nc; i++) {
        bl_box c = comps[i].box;
        int cx = c.x + c.w / 2, cy = c.y + c.h / 2;
        if (cx >= area.x && cx < box_right(area) && cy >= area.y && cy < box_bottom(area))
            kept = kept.w > 0 ? box_union(kept, c) : c;
    }
    free(comps);
    return kept.w > 0 ? kept : b;
}

static bl_box field_ink_box(const bl_image *page, const bl_template_field *f, int dx, int dy,
                            bl_box b)
{
    bl_box tb = {f->box.x + dx, f->box.y + dy, f->box.w, f->box.h};
    bl_box area = {tb.x - FIELD_TOL, tb.y - FIELD_TOL, tb.w + 2 * FIELD_TOL, tb.h + 2 * FIELD_TOL};
    b = trim_to_area(page, area, b);
    if (b.h <= 0)
        return b;
    bl_component *comps = NULL;
    int nc = components_in(page, area, &comps);
    bl_box u = b;
    for (int i = 0; i < nc; i++) {
        bl_box c = comps[i].box;
        if (comps[i].pixels < FIELD_MIN_PIXELS || c.h < b.h / 2 || 2 * c.h > 3 * b.h)
            continue;
        int rows = imin(box_bottom(c), box_bottom(b)) - imax(c.y, b.y);
        if (2 * rows < imin(c.h, b.h))
            continue;
        int thin = 4 * c.w <= c.h;
        int at_side = c.x <= tb.x + FIELD_SIDE || box_right(c) >= box_right(tb) - FIELD_SIDE;
        if (thin && at_side)
            continue;
        u = box_union(u, c);
    }
    free(comps);
    return u;
}

/* A named comb field's box b widened across to the cells written in it
 * (cells.h): the last digit of a small hand stands a cell's width from the
 * others and can be left out of the found box, and segment would then cut
 * another digit in two to reach the template's count. Only across, and
 * only within the field's own box (FIELD_TOL of slack), so that the ink of
 * a neighbouring field or of the line above or below is not taken in. */
static bl_box widen_to_cells(const bl_image *page, const bl_template *t,
                             const bl_template_field *f, int dx, int dy, bl_box b)
{
    bl_box cells;
    if (!bl_cells_gather(page, t, f, dx, dy, &cells))
        return b;
    int x0 = imax(imin(b.x, cells.x), f->box.x + dx - FIELD_TOL);
    int x1 = imin(imax(box_right(b), box_right(cells)), f->box.x + dx + f->box.w + FIELD_TOL);
    if (x0 > b.x || x1 < box_right(b))
        return b; /* the found box already reaches past the field's own */
    return (bl_box){x0, b.y, x1 - x0, b.h};
}

/* Both entry points: line removal (keeping its line pixels for matching
 * and for the broken lines' bars), matching, candidates, verdicts, naming,
 * order. */
static int detect_page(bl_detect *self, const bl_template_set *templates, bl_image *page,
                       ordered **out, int *nout, bl_template_match *match, bl_err *err)
{
    *out = NULL;
    *nout = 0;
    bl_template_match m;
    memset(&m, 0, sizeof m);
    m.index = -1;
    if (match)
        *match = m;
    if (page->width <= 0 || page->height <= 0)
        return BL_OK;
    /* One packed copy of the page's ink serves every step. */
    bl_bitmap *ink = bl_bitmap_from_binary(page);
    bl_bitmap *lines = NULL;
    int with_templates = templates && templates->count > 0;
    remove_lines(page, ink, &lines);
    if (with_templates)
        bl_template_match_page(templates, lines, &m);
    if (m.index < 0) {
        /* No template found the page's unbroken lines: a light scan may
         * have broken them into dashes, which a template can still match
         * and which are erased otherwise, with the bars hanging off them
         * (the walls of a comb's cells). */
        bl_bitmap *dashes = bl_bitmap_new(page->width, page->height);
        if (bl_dashes_mark(dashes, ink) > 0) {
            or_into(lines, dashes);
            if (with_templates)
                bl_template_match_page(templates, lines, &m);
            if (m.index < 0)
                erase_dashes(page, ink, dashes);
        }
        bl_bitmap_destroy(&dashes);
    }
    bl_bitmap_destroy(&lines);
    if (m.index >= 0)
        erase_template_lines(&templates->t[m.index], m.dx, m.dy, page, ink);
    if (match)
        *match = m;
    bl_detect_region *regs = NULL;
    int n = 0;
    int rc = candidates(page, ink, &regs, &n, err);
    bl_bitmap_destroy(&ink);
    if (rc < 0)
        return rc;
    score_regions(self, regs, n);
    int room = n + 1 + (m.index >= 0 ? templates->t[m.index].nfields : 0);
    ordered *o = bl_xcalloc((size_t)room, sizeof *o);
    int no = 0;
    if (m.index >= 0) {
        const bl_template *t = &templates->t[m.index];
        no = name_regions(t, &m, regs, n, self && self->net, o);
        no = add_comb_entries(t, &m, page, o, no);
        for (int i = 0; i < no; i++) {
            const bl_template_field *f = &t->fields[o[i].field];
            o[i].r.box = field_ink_box(page, f, m.dx, m.dy, o[i].r.box);
            o[i].r.box = widen_to_cells(page, t, f, m.dx, m.dy, o[i].r.box);
        }
    } else {
        for (int i = 0; i < n; i++)
            if (regs[i].score >= 0.5f)
                o[no++] = (ordered){regs[i], -1, 0, 0};
    }
    free(regs);
    reading_order(o, no);
    *out = o;
    *nout = no;
    return BL_OK;
}

int bl_detect_run(bl_detect *self, bl_image *page, bl_box **boxes, int *count,
                  bl_detect_region **regions_out, bl_err *err)
{
    assert(page && boxes && count);
    *boxes = NULL;
    *count = 0;
    if (regions_out)
        *regions_out = NULL;
    ordered *o = NULL;
    int no = 0;
    int rc = detect_page(self, NULL, page, &o, &no, NULL, err);
    if (rc < 0)
        return rc;
    if (no > 0) {
        *boxes = bl_xmalloc(sizeof **boxes * (size_t)no);
        for (int i = 0; i < no; i++)
            (*boxes)[i] = o[i].r.box;
        if (regions_out) {
            *regions_out = bl_xmalloc(sizeof **regions_out * (size_t)no);
            for (int i = 0; i < no; i++)
                (*regions_out)[i] = o[i].r;
        }
    }
    *count = no;
    free(o);
    return BL_OK;
}

int bl_detect_run_named(bl_detect *self, const bl_template_set *templates, bl_image *page,
                        bl_detect_field **fields, int *count, bl_template_match *match,
                        bl_err *err)
{
    assert(page && fields && count);
    *fields = NULL;
    *count = 0;
    ordered *o = NULL;
    int no = 0;
    bl_template_match m;
    int rc = detect_page(self, templates, page, &o, &no, &m, err);
    if (match)
        *match = m;
    if (rc < 0)
        return rc;
    if (no > 0) {
        *fields = bl_xcalloc((size_t)no, sizeof **fields);
        for (int i = 0; i < no; i++) {
            bl_detect_field *f = &(*fields)[i];
            f->box = o[i].r.box;
            f->score = o[i].r.score;
            f->recovered = o[i].recovered;
            if (m.index >= 0) {
                const bl_template_field *tf = &templates->t[m.index].fields[o[i].field];
                bl_strlcpy(f->name, tf->name, sizeof f->name);
                bl_strlcpy(f->rule, tf->rule, sizeof f->rule);
            } else {
                snprintf(f->name, sizeof f->name, "field_%d", i + 1);
            }
        }
    }
    *count = no;
    free(o);
    return BL_OK;
}

int bl_detect_fields(const bl_image *page, bl_box **boxes, int *count, bl_err *err)
{
    assert(page && boxes && count);
    bl_box all = {0, 0, page->width, page->height};
    bl_image *copy = bl_image_crop(page, all);
    int rc = bl_detect_run(NULL, copy, boxes, count, NULL, err);
    bl_image_destroy(&copy);
    return rc;
}

bl_box bl_detect_box_to_source(const bl_transform *t, int src_w, int src_h, bl_box b)
{
    double xs[2] = {b.x, (double)b.x + b.w}, ys[2] = {b.y, (double)b.y + b.h};
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double sx = t->a * xs[i] + t->b * ys[j] + t->c;
            double sy = t->d * xs[i] + t->e * ys[j] + t->f;
            x0 = fmin(x0, sx), x1 = fmax(x1, sx);
            y0 = fmin(y0, sy), y1 = fmax(y1, sy);
        }
    x0 = fmax(0, floor(x0)), y0 = fmax(0, floor(y0));
    x1 = fmin(src_w, ceil(x1)), y1 = fmin(src_h, ceil(y1));
    return (bl_box){(int)x0, (int)y0, (int)fmax(0, x1 - x0), (int)fmax(0, y1 - y0)};
}
