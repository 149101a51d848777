/*
 * separate: the digit separator kept in the segment model file
 * (separate.h).
 */
#include "segment/separate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

/* Rows the run's ink box fills in the grid when it is not too wide. */
#define SEP_INK_H 20
#define SEP_WHOLE 0.9  /* a peel taking this share of the rest: one digit */
#define SEP_SPECK 0.08 /* a peel taking less is no digit */
#define SEP_ONE_W 0.7  /* what is left, narrower than this x its height, is one digit */

struct bl_separator {
    bl_nn_net *net;
};

static int is_sep_tensor(const char *name)
{
    return strncmp(name, BL_SEPARATE_PREFIX, strlen(BL_SEPARATE_PREFIX)) == 0;
}

static int is_sep_meta(const char *key) { return strncmp(key, "sep_", 4) == 0; }

/* The separator's network as a model of its own: its arch and its tensors
 * without the prefix. */
static bl_blm *sep_part(const bl_blm *model, const char *arch)
{
    bl_blm *part = bl_blm_new(model->kind, arch);
    size_t skip = strlen(BL_SEPARATE_PREFIX);
    for (int i = 0; i < model->n_tensors; i++) {
        const bl_blm_tensor *t = &model->tensors[i];
        if (is_sep_tensor(t->name) &&
            bl_blm_add_tensor(part, t->name + skip, t->ndim, t->dims, t->data, NULL) != BL_OK) {
            bl_blm_destroy(&part);
            return NULL;
        }
    }
    return part;
}

int bl_separator_from_blm(const bl_blm *model, const char *name, bl_separator **out,
                          bl_err *err)
{
    *out = NULL;
    const char *arch = bl_blm_get_meta(model, "sep_arch");
    if (!arch) {
        for (int i = 0; i < model->n_tensors; i++)
            if (is_sep_tensor(model->tensors[i].name))
                return bl_err_set(err, BL_EFORMAT, "%s: tensor '%s' but no sep_arch metadata",
                                  name, model->tensors[i].name);
        return BL_OK;
    }
    bl_blm *part = sep_part(model, arch);
    if (!part)
        return bl_err_set(err, BL_EFORMAT, "%s: the separator's tensors do not form a model",
                          name);
    bl_nn_net *net = bl_nn_net_from_blm(part, 1, BL_SEPARATE_H, BL_SEPARATE_W, name, err);
    bl_blm_destroy(&part);
    if (!net)
        return err ? err->code : BL_EFORMAT;
    if (bl_nn_net_softmax_head(net) || bl_nn_net_classes(net) != BL_SEPARATE_CELLS) {
        bl_err_set(err, BL_EFORMAT, "%s: the separator needs %d sigmoid outputs, it has %d%s",
                   name, BL_SEPARATE_CELLS, bl_nn_net_classes(net),
                   bl_nn_net_softmax_head(net) ? " under a softmax" : "");
        bl_nn_net_destroy(&net);
        return BL_EFORMAT;
    }
    bl_separator *self = bl_xcalloc(1, sizeof *self);
    self->net = net;
    *out = self;
    return BL_OK;
}

void bl_separator_destroy(bl_separator **self)
{
    if (!self || !*self)
        return;
    bl_nn_net_destroy(&(*self)->net);
    free(*self);
    *self = NULL;
}

bl_blm *bl_separator_strip(const bl_blm *model)
{
    bl_blm *copy = bl_blm_new(model->kind, model->arch);
    for (int i = 0; i < model->n_meta; i++)
        if (!is_sep_meta(model->meta[i].key))
            bl_blm_set_meta(copy, model->meta[i].key, model->meta[i].value);
    for (int i = 0; i < model->n_tensors; i++) {
        const bl_blm_tensor *t = &model->tensors[i];
        if (!is_sep_tensor(t->name))
            bl_blm_add_tensor(copy, t->name, t->ndim, t->dims, t->data, NULL);
    }
    return copy;
}

int bl_separator_store(bl_blm *model, const bl_nn_net *net, bl_err *err)
{
    bl_blm *part = bl_blm_new(model->kind, bl_nn_net_spec(net));
    int rc = bl_nn_net_to_blm(net, part, err);
    for (int i = 0; rc == BL_OK && i < part->n_tensors; i++) {
        const bl_blm_tensor *t = &part->tensors[i];
        char name[128];
        snprintf(name, sizeof name, "%s%s", BL_SEPARATE_PREFIX, t->name);
        rc = bl_blm_add_tensor(model, name, t->ndim, t->dims, t->data, err);
    }
    if (rc == BL_OK)
        bl_blm_set_meta(model, "sep_arch", bl_nn_net_spec(net));
    bl_blm_destroy(&part);
    return rc;
}

/* The box of the set pixels of ink (w x h); w = 0 when there are none. */
static bl_box ink_box(const uint8_t *ink, int w, int h)
{
    int x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (ink[(size_t)y * w + x]) {
                x0 = x < x0 ? x : x0;
                x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0;
                y1 = y > y1 ? y : y1;
            }
    return x1 < 0 ? (bl_box){0, 0, 0, 0} : (bl_box){x0, y0, x1 - x0 + 1, y1 - y0 + 1};
}

/* The grid column of each pixel column x0 .. x0 + n - 1 under map
 * (free()); a cell's column depends on x alone, its row on y alone. */
static int *grid_columns(const bl_separate_map *map, int x0, int n)
{
    int *col = bl_xmalloc(sizeof *col * (size_t)n);
    for (int x = 0; x < n; x++)
        col[x] = bl_separate_cell(map, x0 + x, map->y0) % BL_SEPARATE_W;
    return col;
}

/* The first cell of the grid row of pixel row y under map. */
static int grid_row(const bl_separate_map *map, int y)
{
    return bl_separate_cell(map, map->x0, y) / BL_SEPARATE_W * BL_SEPARATE_W;
}

int bl_separate_input(const uint8_t *ink, int w, int h, float grid[BL_SEPARATE_CELLS],
                      bl_separate_map *map)
{
    memset(grid, 0, sizeof(float) * BL_SEPARATE_CELLS);
    bl_box b = ink_box(ink, w, h);
    if (b.w == 0)
        return 0;
    double s = (double)SEP_INK_H / b.h;
    if (b.w * s > BL_SEPARATE_W - 2)
        s = (double)(BL_SEPARATE_W - 2) / b.w;
    map->scale = s;
    map->x0 = b.x;
    map->y0 = b.y;
    map->ox = 1;
    map->oy = (BL_SEPARATE_H - (int)ceil(b.h * s)) / 2;
    /* Each cell holds its share of inked pixels (1 when full). */
    float per_pixel = (float)(s * s);
    int *col = grid_columns(map, b.x, b.w);
    for (int y = b.y; y < b.y + b.h; y++) {
        int row = grid_row(map, y);
        const uint8_t *line = ink + (size_t)y * w + b.x;
        for (int x = 0; x < b.w; x++)
            if (line[x])
                grid[row + col[x]] += per_pixel;
    }
    free(col);
    for (int i = 0; i < BL_SEPARATE_CELLS; i++)
        grid[i] = grid[i] > 1 ? 1 : grid[i];
    return 1;
}

int bl_separate_cell(const bl_separate_map *map, int x, int y)
{
    int cx = (int)floor((x - map->x0) * map->scale) + map->ox;
    int cy = (int)floor((y - map->y0) * map->scale) + map->oy;
    cx = cx < 0 ? 0 : cx >= BL_SEPARATE_W ? BL_SEPARATE_W - 1 : cx;
    cy = cy < 0 ? 0 : cy >= BL_SEPARATE_H ? BL_SEPARATE_H - 1 : cy;
    return cy * BL_SEPARATE_W + cx;
}

void bl_separate_target(const uint8_t *ink, const uint8_t *left, int w, int h,
                        const bl_separate_map *map, int32_t labels[BL_SEPARATE_CELLS])
{
    int total[BL_SEPARATE_CELLS] = {0}, mine[BL_SEPARATE_CELLS] = {0};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (ink[(size_t)y * w + x]) {
                int c = bl_separate_cell(map, x, y);
                total[c]++;
                mine[c] += left[(size_t)y * w + x] != 0;
            }
    for (int i = 0; i < BL_SEPARATE_CELLS; i++)
        labels[i] = total[i] > 0 && 2 * mine[i] >= total[i];
}

int bl_separator_peel(bl_separator *self, const uint8_t *ink, int w, int h, uint8_t *left)
{
    float grid[BL_SEPARATE_CELLS];
    bl_separate_map map;
    memset(left, 0, (size_t)w * h);
    if (!bl_separate_input(ink, w, h, grid, &map))
        return 0;
    const float *p = bl_nn_net_forward(self->net, grid, 1, false, NULL);
    int n = 0;
    int *col = grid_columns(&map, 0, w);
    for (int y = 0; y < h; y++) {
        const float *row = p + grid_row(&map, y);
        for (int x = 0; x < w; x++)
            if (ink[(size_t)y * w + x] && row[col[x]] >= 0.5f) {
                left[(size_t)y * w + x] = 1;
                n++;
            }
    }
    free(col);
    return n;
}

/* Whether the ink of rest is narrower than SEP_ONE_W of its height: one
 * digit, not worth another peel. */
static int narrow(const uint8_t *rest, int w, int h)
{
    bl_box b = ink_box(rest, w, h);
    return b.w == 0 || b.w < SEP_ONE_W * b.h;
}

int bl_separator_split(bl_separator *self, const uint8_t *ink, int w, int h, int max_parts,
                       uint8_t *owner)
{
    size_t npx = (size_t)w * h;
    uint8_t *rest = bl_xmalloc(npx), *left = bl_xmalloc(npx);
    int total = 0;
    for (size_t i = 0; i < npx; i++) {
        rest[i] = ink[i] != 0;
        owner[i] = 0;
        total += rest[i];
    }
    int n = 0, left_n = total;
    while (left_n > 0 && n < max_parts - 1 && (n == 0 || !narrow(rest, w, h))) {
        int got = bl_separator_peel(self, rest, w, h, left);
        if (got >= SEP_WHOLE * left_n || got < SEP_SPECK * left_n)
            break;
        n++;
        for (size_t i = 0; i < npx; i++)
            if (left[i]) {
                owner[i] = (uint8_t)n;
                rest[i] = 0;
            }
        left_n -= got;
    }
    if (left_n > 0) {
        n++;
        for (size_t i = 0; i < npx; i++)
            if (rest[i])
                owner[i] = (uint8_t)n;
    }
    free(rest);
    free(left);
    return n;
}
