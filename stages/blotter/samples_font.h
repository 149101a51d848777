/*
 * samples_font: a built-in 5x7 block font for the printed parts of
 * synthetic pages (titles, labels, form numbers).
 *
 * Glyphs are the classic 5x7 dot-matrix shapes, each dot drawn as a
 * scale x scale square, so a label at scale 4 is 28 px tall: the height of
 * 10-12 pt print at 300 dpi. Built in rather than FreeType so the generator
 * needs no fonts installed and its pages stay identical across machines.
 * Limits: upper case, digits and a few marks only (others draw as space);
 * no kerning, no anti-aliasing.
 */
#ifndef BL_SAMPLES_FONT_H
#define BL_SAMPLES_FONT_H

#include "image/image.h"

#define BL_SAMPLES_FONT_ROWS 7

/* Width in pixels of `text` drawn at `scale`. */
int bl_samples_font_width(const char *text, int scale);

/* Draws `text` with its top-left corner at (x, y) into an ink layer
 * (0 = paper, 255 = ink), clipped to the image. Returns the width drawn. */
int bl_samples_font_draw(bl_image *ink, int x, int y, int scale,
                         const char *text);

#endif
