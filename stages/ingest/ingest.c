/*
 * ingest: page normalisation.
 *
 * Steps, in order (docs/INGEST.md has the reasons and the limits):
 *  1. resample to 300 dpi (area averaging down, bilinear up), so every later
 *     stage can use physical sizes in pixels;
 *  2. binarise into a bitmap (1 bit per pixel, bitmap.h): Sauvola (2000)
 *     for gray files, whose lighting and paper tone vary, with pixels
 *     darker than half the paper level always ink (a dark lid stays solid);
 *     a fixed threshold at mid-gray for bilevel files, which are already
 *     black and white (a resampled bilevel page is gray only along edges);
 *  3. remove dark scanner edges, then specks (clean.c);
 *  4. blank test: a page whose marks (components of writing size, away
 *     from the border) hold almost no ink is blank and is handed on empty,
 *     so detection finds nothing on it (no message change needed);
 *  5. orientation: a small network (kind "ingest") classifies a 32 x 32
 *     ink-density thumbnail of the page into the 4 quarter turns; without a
 *     model the page is taken as upright;
 *  6. the page is turned upright (exact quarter turn), its skew measured by
 *     Postl's criterion (skew.c) on the 2x reduction within +-12 degrees,
 *     and undone by three shears (Paeth 1986) about the centre, same size,
 *     so a template sees the sheet where the scanner had it; the affine map
 *     from the result back to the file's own pixels is the composition of
 *     the steps' maps, so every box detect finds maps back exactly;
 *  7. the bitmap is unpacked into the byte page the later stages read.
 *
 * Everything after binarisation works on the packed bitmap, and the angle
 * estimates on reductions (2x: 1240 x 1754 for A4): memory traffic, not
 * arithmetic, is the cost of a page.
 */
#include "ingest.h"

#include <math.h>
#include <stdio.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "blm/blm.h"
#include "nn/nn.h"

struct bl_ingest {
    bl_nn_net *net;
    char id[BL_MODEL_ID_MAX];
    float x[BL_INGEST_THUMB * BL_INGEST_THUMB];
};

bl_ingest *bl_ingest_new(const char *model_path, bl_err *err)
{
    bl_ingest *self = bl_xcalloc(1, sizeof *self);
    if (!model_path || !model_path[0])
        return self;
    bl_blm *m = bl_blm_load(model_path, BL_INGEST_MODEL_KIND, err);
    if (!m) {
        bl_ingest_destroy(&self);
        return NULL;
    }
    self->net = bl_nn_net_from_blm(m, 1, BL_INGEST_THUMB, BL_INGEST_THUMB, model_path, err);
    if (self->net && bl_nn_net_classes(self->net) != BL_INGEST_CLASSES) {
        bl_err_set(err, BL_EFORMAT, "%s: model has %d classes, orientation needs %d",
                   model_path, bl_nn_net_classes(self->net), BL_INGEST_CLASSES);
        bl_nn_net_destroy(&self->net);
    }
    if (!self->net) {
        bl_blm_destroy(&m);
        bl_ingest_destroy(&self);
        return NULL;
    }
    /* Provenance id as the classifier makes it: name@version:crc. */
    const char *name = bl_blm_get_meta(m, "name");
    const char *version = bl_blm_get_meta(m, "version");
    snprintf(self->id, sizeof self->id, "%s@%s:%08x", name ? name : "ingest-orient",
             version ? version : "1", m->crc);
    bl_blm_destroy(&m);
    return self;
}

void bl_ingest_destroy(bl_ingest **self)
{
    if (!self || !*self)
        return;
    bl_nn_net_destroy(&(*self)->net);
    free(*self);
    *self = NULL;
}

const char *bl_ingest_model_id(const bl_ingest *self)
{
    return self ? self->id : "";
}

void bl_ingest_orient_input(const bl_image *red, int factor, float *out)
{
    const int T = BL_INGEST_THUMB;
    int W = red->width, H = red->height, S = W > H ? W : H;
    double cell = (double)S / T; /* reduced pixels per thumbnail cell side */
    double ox = (S - W) * 0.5, oy = (S - H) * 0.5;
    memset(out, 0, (size_t)T * T * sizeof *out);
    /* Columns x0[c] .. x0[c + 1] - 1 fall in thumbnail column c; summed as
     * integers per cell and row, which is exact (the sums are far below
     * 2^24), so this is the per-pixel float sum, faster. */
    int x0[BL_INGEST_THUMB + 1];
    for (int c = 0; c <= T; c++)
        x0[c] = c == 0 ? 0 : c == T ? W : -1;
    int prev = -1;
    for (int x = 0; x < W; x++) {
        int c = (int)((x + 0.5 + ox) / cell);
        c = c < 0 ? 0 : c >= T ? T - 1 : c;
        for (int d = prev + 1; d <= c; d++)
            x0[d] = x;
        prev = c;
    }
    for (int d = prev + 1; d < T; d++)
        x0[d] = W;
    for (int y = 0; y < H; y++) {
        int cy = (int)((y + 0.5 + oy) / cell);
        cy = cy < 0 ? 0 : cy >= T ? T - 1 : cy;
        const uint8_t *row = &BL_PIX(red, 0, y);
        float *o = out + (size_t)cy * T;
        for (int c = 0; c < T; c++) {
            unsigned acc = 0;
            for (int x = x0[c]; x < x0[c + 1]; x++)
                acc += row[x];
            o[c] += (float)acc;
        }
    }
    float full = (float)(cell * cell * factor * factor);
    for (int i = 0; i < T * T; i++) {
        float d = out[i] / full;
        out[i] = sqrtf(d > 1 ? 1 : d);
    }
}

void bl_ingest_keep_memory(void)
{
#ifdef __GLIBC__
    /* Buffers up to 32 MiB (glibc's largest setting: an A4 page at 600 dpi
     * in gray is above it and still mapped apart) come from the heap, and
     * the heap's free top is kept up to 256 MiB rather than trimmed. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

/* Gray below which a pixel is ink whatever its Sauvola window says: a
 * fraction of the paper level, the median gray (paper is most of any
 * page), from every 8th row; never below the library's fixed level. */
static int solid_level(const bl_image *gray)
{
    uint32_t hist[256] = {0};
    uint64_t n = 0;
    for (int y = 0; y < gray->height; y += 8) {
        const uint8_t *row = &BL_PIX(gray, 0, y);
        for (int x = 0; x < gray->width; x++)
            hist[row[x]]++;
        n += (uint64_t)gray->width;
    }
    uint64_t acc = 0;
    int median = 255;
    for (int v = 0; v < 256; v++) {
        acc += hist[v];
        if (2 * acc >= n) {
            median = v;
            break;
        }
    }
    int solid = (int)(BL_INGEST_SOLID_OF_PAPER * median);
    return solid > BL_SAUVOLA_SOLID ? solid : BL_SAUVOLA_SOLID;
}

/* The ink of the page's marks (BL_INGEST_MARK_SIDE, BL_INGEST_BLANK_MARGIN
 * in ingest.h), in pixels. */
static int mark_ink(const bl_bitmap *bits, uint64_t *ink, bl_err *err)
{
    bl_component *cs = NULL;
    int n = 0;
    int rc = bl_bitmap_components(bits, &cs, &n, err);
    if (rc)
        return rc;
    const int M = BL_INGEST_BLANK_MARGIN, W = bits->width, H = bits->height;
    *ink = 0;
    for (int i = 0; i < n; i++) {
        bl_box b = cs[i].box;
        if (b.w < BL_INGEST_MARK_SIDE && b.h < BL_INGEST_MARK_SIDE)
            continue;
        if (b.x + b.w <= M || b.y + b.h <= M || b.x >= W - M || b.y >= H - M)
            continue;
        *ink += (uint64_t)cs[i].pixels;
    }
    free(cs);
    return BL_OK;
}

int bl_ingest_binarize_bits(const bl_image *gray, const bl_page_info *info, bl_bitmap **bin,
                            double *sx_out, double *sy_out, bl_ingest_result *res, bl_err *err)
{
    *bin = NULL;
    if (!(info->dpi_x > 0 && info->dpi_y > 0) || info->dpi_x > 10000 || info->dpi_y > 10000)
        return bl_err_set(err, BL_EFORMAT, "implausible resolution %gx%g dpi", info->dpi_x,
                          info->dpi_y);
    double sx = BL_CANONICAL_DPI / info->dpi_x;
    double sy = BL_CANONICAL_DPI / info->dpi_y;
    bl_image *scaled = NULL;
    const bl_image *src = gray;
    /* Within half a percent of 300 dpi a resample would only blur. */
    if (fabs(sx - 1.0) > 0.005 || fabs(sy - 1.0) > 0.005) {
        double w = gray->width * sx, h = gray->height * sy;
        if (w < 1 || h < 1 || w * h > 4e8)
            return bl_err_set(err, BL_ELIMIT,
                              "page of %dx%d px at %gx%g dpi is out of range at 300 dpi",
                              gray->width, gray->height, info->dpi_x, info->dpi_y);
        scaled = bl_image_scale(gray, sx, sy);
        if (!scaled)
            return bl_err_set(err, BL_ELIMIT, "page too large to resample");
        src = scaled;
        /* The scaled image's real factors, after rounding to whole pixels. */
        sx = (double)src->width / gray->width;
        sy = (double)src->height / gray->height;
    } else {
        sx = sy = 1.0;
    }
    bl_bitmap *b = info->bilevel
                       ? bl_bitmap_from_gray(src, 127)
                       : bl_bitmap_binarize_sauvola(src, BL_INGEST_SAUVOLA_HALF,
                                                    BL_INGEST_SAUVOLA_K, solid_level(src));
    bl_image_destroy(&scaled);
    int edges = bl_bitmap_remove_dark_edges(b);
    int specks = bl_bitmap_despeckle(b, BL_INGEST_SPECK_PIXELS, BL_INGEST_SPECK_SIDE, err);
    if (specks < 0) {
        bl_bitmap_destroy(&b);
        return specks;
    }
    if (res) {
        res->edges = edges;
        res->specks = specks;
    }
    *bin = b;
    *sx_out = sx;
    *sy_out = sy;
    return BL_OK;
}

int bl_ingest_binarize(const bl_image *gray, const bl_page_info *info, bl_image **bin,
                       double *sx_out, double *sy_out, bl_ingest_result *res, bl_err *err)
{
    bl_bitmap *b = NULL;
    *bin = NULL;
    int rc = bl_ingest_binarize_bits(gray, info, &b, sx_out, sy_out, res, err);
    if (rc)
        return rc;
    *bin = bl_bitmap_to_binary(b);
    bl_bitmap_destroy(&b);
    return BL_OK;
}

/* The clockwise quarter turns the model sees in the page, 0 without one. */
static int find_orientation(bl_ingest *self, const bl_image *red2, double *prob)
{
    *prob = 0;
    if (!self || !self->net)
        return 0;
    bl_ingest_orient_input(red2, 2, self->x);
    const float *p = bl_nn_net_forward(self->net, self->x, 1, false, NULL);
    int best = 0;
    for (int c = 1; c < BL_INGEST_CLASSES; c++)
        if (p[c] > p[best])
            best = c;
    *prob = p[best];
    return best;
}

int bl_ingest_run(bl_ingest *self, const bl_image *gray, const bl_page_info *info,
                  bl_work *work, bl_ingest_result *res, bl_err *err)
{
    bl_ingest_result scratch;
    if (!res)
        res = &scratch;
    memset(res, 0, sizeof *res);
    double sx, sy;
    bl_bitmap *bits = NULL;
    int rc = bl_ingest_binarize_bits(gray, info, &bits, &sx, &sy, res, err);
    if (rc)
        return rc;
    /* page point -> file point, extended by each step below. */
    bl_affine to_file = {1.0 / sx, 0, 0, 0, 1.0 / sy, 0};
    bl_image *page = NULL;
    uint64_t area = (uint64_t)bits->width * (uint64_t)bits->height;
    uint64_t ink = bl_bitmap_ink_count(bits);
    res->ink = (double)ink / (double)area;
    if (res->ink < BL_INGEST_BLANK_CHECK) {
        uint64_t marks = 0;
        rc = mark_ink(bits, &marks, err);
        if (rc) {
            bl_bitmap_destroy(&bits);
            return rc;
        }
        res->mark_ink = (double)marks / (double)area;
        res->blank = res->mark_ink < BL_INGEST_BLANK_FRACTION;
    }
    if (res->blank) {
        page = bl_image_new(bits->width, bits->height);
    } else {
        bl_image *red2 = bl_bitmap_reduce_ink2(bits);
        int k = find_orientation(self, red2, &res->orient_prob);
        res->quarter_turns = k;
        if (k) {
            /* Turned upright on the bitmap (cheaper than turning the byte
             * reduction) and reduced again. */
            bl_affine m;
            bl_bitmap *up = bl_bitmap_rotate_quarter(bits, -k, &m);
            bl_bitmap_destroy(&bits);
            bits = up;
            to_file = bl_affine_compose(to_file, m);
            bl_image_destroy(&red2);
            red2 = bl_bitmap_reduce_ink2(bits);
        }
        bl_skew_est est;
        if (bl_image_skew_from_reduced(red2, BL_INGEST_MAX_SKEW, &est) == BL_OK) {
            res->skew = est.angle;
            res->skew_conf = est.conf;
        }
        bl_image_destroy(&red2);
        /* A criterion without a clear peak (conf near 1: no lines) gives an
         * arbitrary angle; turning by it would only do harm. */
        if (fabs(res->skew) >= BL_INGEST_MIN_SKEW && res->skew_conf >= 1.5) {
            bl_affine m;
            bl_bitmap *level = bl_bitmap_rotate_shear(bits, -res->skew, &m);
            bl_bitmap_destroy(&bits);
            bits = level;
            to_file = bl_affine_compose(to_file, m);
            res->skew_applied = 1;
        }
        page = bl_bitmap_to_binary(bits);
    }
    bl_bitmap_destroy(&bits);
    work->page = page;
    work->src_width = gray->width;
    work->src_height = gray->height;
    work->dpi_x = info->dpi_x;
    work->dpi_y = info->dpi_y;
    work->to_source = (bl_transform){to_file.a, to_file.b, to_file.c,
                                     to_file.d, to_file.e, to_file.f};
    work->rotation_deg = 90.0 * res->quarter_turns;
    work->skew_deg = res->skew;
    if (self && self->net)
        bl_strlcpy(work->model[BL_STAGE_INGEST], self->id, sizeof work->model[BL_STAGE_INGEST]);
    work->content_hash = bl_image_content_hash(gray);
    return BL_OK;
}

int bl_ingest_page(const bl_image *gray, const bl_page_info *info, bl_work *work,
                   bl_err *err)
{
    return bl_ingest_run(NULL, gray, info, work, NULL, err);
}
