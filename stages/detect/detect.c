/*
 * detect: finds the hand-written numeric fields on a binarised page.
 *
 * Algorithm (a rule-based first version of the region classifier):
 *  1. Connected components of ink (8-connected, bl_image_components).
 *  2. Each component is classified by its geometry alone:
 *     - speck: a few pixels (scanner dust, dots of printed i and colons);
 *     - rule: very long and thin (ruled lines, underlines, box sides);
 *     - frame: large, or with a bounding box that is mostly empty (box
 *       outlines, page frames), or enclosing another digit-sized
 *       component (a box drawn around a field);
 *     - small: shorter than a hand-written digit. Printed labels at 10-12 pt
 *       are about 25-40 px tall at 300 dpi, hand-written digits 50-110 px,
 *       so height alone separates most of them (the size filter of Fletcher
 *       and Kasturi 1988, "A robust algorithm for text string separation
 *       from mixed text/graphics images");
 *     - digit: everything else of digit size.
 *  3. Components are grouped into fields by horizontal proximity and
 *     vertical overlap (union-find over a scan sorted by x): two digit
 *     components belong together when their vertical extents overlap and
 *     the gap between them is below 1.2 times their height (hand-writing
 *     spaces digits closer than that; neighbouring fields are separated by
 *     their labels). A small component links to a digit within half the
 *     digit's height and inside its band, so the pieces of a digit that
 *     broke into short fragments bridge the field instead of cutting it in
 *     two; small components link to each other only when stacked (x
 *     overlap, no vertical gap), so a line of print does not chain.
 *     Groups holding digits are then grouped again by the same rule on
 *     their whole boxes (a digit's fragments may have joined different
 *     neighbours).
 *  4. A field needs two digit components, or one wide enough to be
 *     touching digits; lone blobs are dropped, and so is a row of five or
 *     more components of one height on one baseline, to a pixel (large
 *     print: hand-writing is not that regular).
 *  5. Small components inside a field's columns and near its band are
 *     added to it (the detached top bar of a 5), so the box covers the
 *     whole writing.
 *  6. Boxes come out in reading order: rows (a box belongs to the row of
 *     the first box whose vertical extent contains its centre), top to
 *     bottom, then left to right.
 *
 * Limits: thresholds are in pixels at 300 dpi; pages at other resolutions
 * must be resampled first (ingest does so). Hand-writing smaller than about
 * 40 px or larger than about 180 px is missed; a single-digit field is
 * dropped; printed text as tall as hand-writing (headlines, stamps) is taken
 * for a field; digits crossing a ruled line merge with it and are lost.
 * Later versions replace the rules of step 2 by the stage's trained region
 * classifier.
 */
#include "detect/detect.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>

/* Geometry at 300 dpi. */
enum {
    SPECK_PIXELS = 30,   /* fewer ink pixels: dust, dots */
    SPECK_SIDE = 8,      /* both sides shorter: dust */
    DIGIT_MIN_H = 40,    /* printed 10-12 pt labels stay below */
    DIGIT_MAX_H = 180,   /* hand-writing at most ~110 px plus slant */
    DIGIT_MAX_W = 400,   /* a run of at most a few touching digits */
    RULE_MIN_LEN = 150,  /* a line at least this long ... */
    RULE_ASPECT = 10,    /* ... and this many times longer than thick */
    PRINT_MIN_MEMBERS = 5, /* a row of at least this many glyphs ... */
    PRINT_SPREAD = 1,    /* ... alike in height and baseline to this px */
    STACK_GAP = 10       /* vertical gap between stacked fragments */
};
#define FRAME_MAX_DENSITY 0.10 /* ink share of the box below which it's a frame */
#define GROUP_GAP_RATIO 1.2    /* max gap between digits / their height */
#define GROUP_MIN_OVERLAP 0.3  /* min vertical overlap / smaller height */
#define LONE_MIN_ASPECT 1.2    /* one component field: width / height */
#define ATTACH_BAND 0.3        /* band above/below a field for fragments */
#define BRIDGE_GAP_RATIO 0.5   /* max gap from a digit to a fragment / height */
#define BRIDGE_MIN_OVERLAP 0.5 /* fragment's share inside the digit's band */
#define STACK_MIN_OVERLAP 0.5  /* x overlap / narrower width of stacked ones */

typedef enum { K_SPECK, K_RULE, K_FRAME, K_SMALL, K_DIGIT } kind;

static kind classify(const bl_component *c)
{
    int w = c->box.w, h = c->box.h;
    if (c->pixels < SPECK_PIXELS || (w < SPECK_SIDE && h < SPECK_SIDE))
        return K_SPECK;
    if ((w >= RULE_MIN_LEN && w >= RULE_ASPECT * h) ||
        (h >= RULE_MIN_LEN && h >= RULE_ASPECT * w))
        return K_RULE;
    if (h > DIGIT_MAX_H || w > DIGIT_MAX_W)
        return K_FRAME;
    if (h < DIGIT_MIN_H)
        return K_SMALL;
    /* A hand-written digit's strokes fill a fifth or more of its box; an
     * outline fills a thin rim. Only for boxes big enough that a thin rim
     * is meaningful (a thin '1' is tiny and dense). */
    if (w > 40 && (double)c->pixels < FRAME_MAX_DENSITY * (double)w * h)
        return K_FRAME;
    return K_DIGIT;
}

static int box_right(bl_box b) { return b.x + b.w; }
static int box_bottom(bl_box b) { return b.y + b.h; }
static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

static bl_box box_union(bl_box a, bl_box b)
{
    int x0 = imin(a.x, b.x), y0 = imin(a.y, b.y);
    int x1 = imax(box_right(a), box_right(b));
    int y1 = imax(box_bottom(a), box_bottom(b));
    return (bl_box){x0, y0, x1 - x0, y1 - y0};
}

/* a strictly contains b (b inside a, and a larger). */
static int box_contains(bl_box a, bl_box b)
{
    return b.x >= a.x && b.y >= a.y && box_right(b) <= box_right(a) &&
           box_bottom(b) <= box_bottom(a) && (b.w < a.w || b.h < a.h);
}

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
    int digit; /* 1 digit-sized, 0 small, -1 dropped */
} node;

/* Two components belong to one field: two digits overlapping vertically
 * and closer than GROUP_GAP_RATIO of their height; a small fragment
 * within a digit's band and closer than BRIDGE_GAP_RATIO of its height; or
 * two small fragments stacked on each other (the halves of one broken
 * digit, each linked to a different neighbour). Small ones side by side
 * never link, so a line of print does not chain into a field. */
static int linked(const node *na, const node *nb)
{
    bl_box a = na->box, b = nb->box;
    int overlap = imin(box_bottom(a), box_bottom(b)) - imax(a.y, b.y);
    int gap = imax(a.x, b.x) - imin(box_right(a), box_right(b));
    if (na->digit && nb->digit)
        return overlap >= GROUP_MIN_OVERLAP * imin(a.h, b.h) &&
               gap < GROUP_GAP_RATIO * 0.5 * (a.h + b.h);
    if (!na->digit && !nb->digit) {
        /* Two fragments of one digit stack: strong x overlap, no gap. */
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

typedef struct field {
    bl_box box;
    int members;              /* digit-sized components */
    int min_h, max_h;         /* their heights ... */
    int min_bottom, max_bottom; /* ... and baselines */
    int row;
} field;

static int cmp_field_y(const void *pa, const void *pb)
{
    const field *a = pa, *b = pb;
    if (a->box.y != b->box.y)
        return (a->box.y > b->box.y) - (a->box.y < b->box.y);
    return (a->box.x > b->box.x) - (a->box.x < b->box.x);
}

static int cmp_field_reading(const void *pa, const void *pb)
{
    const field *a = pa, *b = pb;
    if (a->row != b->row)
        return (a->row > b->row) - (a->row < b->row);
    return (a->box.x > b->box.x) - (a->box.x < b->box.x);
}

/* Groups of one field can stay apart when a digit broke into fragments that
 * each joined a different neighbour; with the fragments in their boxes the
 * groups touch, so groups holding digits are grouped once more by the rule
 * for digits, on their whole boxes and tallest digits. */
static void merge_fields(field *fields, int *nfields)
{
    for (int merged = 1; merged;) {
        merged = 0;
        for (int i = 0; i < *nfields && !merged; i++)
            for (int j = i + 1; j < *nfields && !merged; j++) {
                field *a = &fields[i], *b = &fields[j];
                if (a->members == 0 || b->members == 0)
                    continue;
                int overlap = imin(box_bottom(a->box), box_bottom(b->box)) -
                              imax(a->box.y, b->box.y);
                int gap = imax(a->box.x, b->box.x) -
                          imin(box_right(a->box), box_right(b->box));
                if (overlap < GROUP_MIN_OVERLAP * imin(a->box.h, b->box.h) ||
                    gap >= GROUP_GAP_RATIO * 0.5 * (a->max_h + b->max_h))
                    continue;
                a->box = box_union(a->box, b->box);
                a->members += b->members;
                a->min_h = imin(a->min_h, b->min_h);
                a->max_h = imax(a->max_h, b->max_h);
                a->min_bottom = imin(a->min_bottom, b->min_bottom);
                a->max_bottom = imax(a->max_bottom, b->max_bottom);
                fields[j] = fields[--*nfields];
                merged = 1;
            }
    }
}

int bl_detect_fields(const bl_image *page, bl_box **boxes, int *count,
                     bl_err *err)
{
    assert(page && boxes && count);
    *boxes = NULL;
    *count = 0;

    bl_component *comps = NULL;
    int ncomps = 0;
    int rc = bl_image_components(page, &comps, &ncomps, NULL, err);
    if (rc < 0)
        return rc;

    /* Nodes of the grouping graph: digit-sized components and the small
     * ones that may bridge them (fragments of broken digits). */
    node *nodes = bl_xmalloc(sizeof *nodes * (size_t)(ncomps + 1));
    bl_box *small = bl_xmalloc(sizeof *small * (size_t)(ncomps + 1));
    int nnodes = 0, nsmall = 0;
    for (int i = 0; i < ncomps; i++) {
        kind k = classify(&comps[i]);
        if (k == K_DIGIT || k == K_SMALL)
            nodes[nnodes++] = (node){comps[i].box, k == K_DIGIT};
        if (k == K_SMALL)
            small[nsmall++] = comps[i].box;
    }
    free(comps);

    /* Sorting by x lets the pair scans stop once the gap is too wide. */
    qsort(nodes, (size_t)nnodes, sizeof *nodes, cmp_node_x);

    /* A digit-sized component that encloses another is a small box drawn
     * around writing, not writing. */
    for (int i = 0; i < nnodes; i++)
        for (int j = i + 1; j < nnodes && nodes[j].box.x < box_right(nodes[i].box);
             j++) {
            if (!nodes[i].digit || !nodes[j].digit)
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
        int reach = box_right(nodes[i].box) +
                    (int)(GROUP_GAP_RATIO * DIGIT_MAX_H) + 1;
        for (int j = i + 1; j < nnodes && nodes[j].box.x < reach; j++)
            if (linked(&nodes[i], &nodes[j]))
                uf_union(parent, i, j);
    }

    /* Roots come first in index order (union keeps the smaller index), so
     * one pass collects each group into the slot of its root. */
    field *fields = bl_xcalloc((size_t)nnodes + 1, sizeof *fields);
    int *slot = bl_xmalloc(sizeof *slot * (size_t)(nnodes + 1));
    int nfields = 0;
    for (int i = 0; i < nnodes; i++) {
        int r = uf_find(parent, i);
        field *f;
        if (r == i) {
            slot[i] = nfields;
            f = &fields[nfields++];
            f->box = nodes[i].box;
            f->min_h = f->min_bottom = INT_MAX;
            f->max_h = f->max_bottom = INT_MIN;
        } else {
            f = &fields[slot[r]];
            f->box = box_union(f->box, nodes[i].box);
        }
        if (nodes[i].digit) {
            bl_box b = nodes[i].box;
            f->members++;
            f->min_h = imin(f->min_h, b.h);
            f->max_h = imax(f->max_h, b.h);
            f->min_bottom = imin(f->min_bottom, box_bottom(b));
            f->max_bottom = imax(f->max_bottom, box_bottom(b));
        }
    }
    free(slot);
    free(parent);
    free(nodes);

    merge_fields(fields, &nfields);

    kept = 0;
    for (int i = 0; i < nfields; i++) {
        const field *f = &fields[i];
        if (f->members == 0)
            continue; /* print and fragments only */
        if (f->members < 2 && f->box.w < LONE_MIN_ASPECT * f->box.h)
            continue; /* a lone blob */
        if (f->members >= PRINT_MIN_MEMBERS &&
            f->max_h - f->min_h <= PRINT_SPREAD &&
            f->max_bottom - f->min_bottom <= PRINT_SPREAD)
            continue; /* one height on one baseline: large print */
        fields[kept++] = *f;
    }
    nfields = kept;

    /* Fragments of broken strokes: centred within a field's columns and
     * close to its band. Tested against the field as found by the digits,
     * so a fragment cannot chain a field towards a neighbouring label. */
    for (int i = 0; i < nfields; i++) {
        bl_box fb = fields[i].box, grown = fb;
        int band = (int)(ATTACH_BAND * fb.h);
        for (int j = 0; j < nsmall; j++) {
            bl_box s = small[j];
            int cx = s.x + s.w / 2;
            if (cx < fb.x || cx >= box_right(fb))
                continue;
            if (box_bottom(s) <= fb.y - band || s.y >= box_bottom(fb) + band)
                continue;
            grown = box_union(grown, s);
        }
        fields[i].box = grown;
    }
    free(small);

    /* Reading order: rows by the first box whose extent holds the centre. */
    qsort(fields, (size_t)nfields, sizeof *fields, cmp_field_y);
    int row = -1, row_bottom = -1;
    for (int i = 0; i < nfields; i++) {
        int cy = fields[i].box.y + fields[i].box.h / 2;
        if (row < 0 || cy >= row_bottom) {
            row++;
            row_bottom = box_bottom(fields[i].box);
        }
        fields[i].row = row;
    }
    qsort(fields, (size_t)nfields, sizeof *fields, cmp_field_reading);

    if (nfields > 0) {
        *boxes = bl_xmalloc(sizeof **boxes * (size_t)nfields);
        for (int i = 0; i < nfields; i++)
            (*boxes)[i] = fields[i].box;
    }
    *count = nfields;
    free(fields);
    return BL_OK;
}
