/*
 * separate: the digit separator, a second small network kept in the
 * segment model file, that takes touching digits apart pixel by pixel
 * instead of along a cut.
 *
 * Cutting along a line cannot part digits whose boxes interlock (a 7's bar
 * reaching over the 8 before it, a 5's hook under the 9 after it): some
 * ink of one is always left on the other's side. The separator looks at a
 * run of touching digits whole and says, for every ink pixel, whether it
 * belongs to the leftmost digit; the rest is the run's remainder, which is
 * peeled again when it holds more digits.
 *
 * The run is scaled (aspect kept) so that its ink box is SEP_INK_H rows
 * high, or narrower when it is very wide, into a BL_SEPARATE_H x
 * BL_SEPARATE_W grid whose cells hold their ink coverage; the network
 * (convolutions, then dense layers ending in one sigmoid per cell) gives
 * each cell the probability that its ink is the leftmost digit's, and each
 * ink pixel takes its cell's answer.
 *
 * Its tensors are stored in the segment model file with the prefix
 * "sep." and its architecture in the metadata key sep_arch, so that a
 * segment model swaps as one file; a file without them has no separator.
 */
#ifndef BL_SEGMENT_SEPARATE_H
#define BL_SEGMENT_SEPARATE_H

#include <stdint.h>

#include "blm/blm.h"
#include "nn/nn.h"
#include "util/util.h"

#define BL_SEPARATE_H 24
#define BL_SEPARATE_W 48
#define BL_SEPARATE_CELLS (BL_SEPARATE_H * BL_SEPARATE_W)
#define BL_SEPARATE_PREFIX "sep."

typedef struct bl_separator bl_separator;

/* How a region's pixels map onto the grid: cell = floor((p - origin) *
 * scale) + offset. */
typedef struct bl_separate_map {
    double scale;
    int x0, y0; /* the region's ink box origin */
    int ox, oy;
} bl_separate_map;

/* The separator held by a segment model file: *out stays NULL when the
 * file holds none. BL_EFORMAT naming the file when its separator tensors
 * or metadata are damaged. */
int bl_separator_from_blm(const bl_blm *model, const char *name, bl_separator **out,
                          bl_err *err);
void bl_separator_destroy(bl_separator **self);

/* A copy of model without the separator's tensors and metadata. */
bl_blm *bl_separator_strip(const bl_blm *model);

/* Adds a trained separator network's tensors (prefixed) and sep_arch to
 * model. */
int bl_separator_store(bl_blm *model, const bl_nn_net *net, bl_err *err);

/* The grid of a binary region ink (w x h, row stride w, 1 = ink) and its
 * map. Returns 0 when the region holds no ink. */
int bl_separate_input(const uint8_t *ink, int w, int h, float grid[BL_SEPARATE_CELLS],
                      bl_separate_map *map);

/* The cell of pixel (x, y) under map, clamped to the grid. */
int bl_separate_cell(const bl_separate_map *map, int x, int y);

/* For training: each cell's label, 1 when at least half of its ink pixels
 * are the leftmost digit's (left, same layout as ink), else 0. */
void bl_separate_target(const uint8_t *ink, const uint8_t *left, int w, int h,
                        const bl_separate_map *map, int32_t labels[BL_SEPARATE_CELLS]);

/* Peels the leftmost digit of region ink: left[i] = 1 for its ink pixels,
 * 0 elsewhere. Returns the number of ink pixels given to it. */
int bl_separator_peel(bl_separator *self, const uint8_t *ink, int w, int h, uint8_t *left);

/* Takes region ink apart into its digits, left to right, by peeling the
 * leftmost until what is left is one digit (the peel takes at least
 * SEP_WHOLE of it, or after a first peel it is narrower than SEP_ONE_W of
 * its height) or max_parts are made; a peel that takes less than
 * SEP_SPECK of what is left ends the splitting too. owner[i] = 1..n for
 * each ink pixel's digit, 0 off the ink. Returns n (0 without ink). */
int bl_separator_split(bl_separator *self, const uint8_t *ink, int w, int h, int max_parts,
                       uint8_t *owner);

#endif
