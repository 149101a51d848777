/*
 * samples_text: machine print for synthetic pages, rendered with FreeType
 * from Debian's DejaVu fonts (sans, sans bold, serif).
 *
 * Glyphs are rendered anti-aliased (FT_RENDER_MODE_NORMAL, 8-bit coverage)
 * at a size in pixels and composed into an ink layer (0 = paper,
 * 255 = full ink) by taking the maximum, so print overlapping other ink
 * looks like two inks on paper. Sizes are pixels per em: 12 pt at 300 dpi
 * is 50 px.
 *
 * Limits: Latin-1 characters only (others draw nothing), no kerning, no
 * shaping. Pages are identical across machines only when FreeType and the
 * font files are the same versions (Debian 12's fonts-dejavu-core 2.37 and
 * libfreetype6 2.12 for the shipped samples).
 */
#ifndef BL_SAMPLES_TEXT_H
#define BL_SAMPLES_TEXT_H

#include "image/image.h"
#include "util/util.h"

typedef enum {
    BL_FONT_SANS = 0,      /* DejaVuSans.ttf */
    BL_FONT_SANS_BOLD = 1, /* DejaVuSans-Bold.ttf */
    BL_FONT_SERIF = 2,     /* DejaVuSerif.ttf */
    BL_FONT_COUNT = 3
} bl_font_face;

typedef struct bl_samples_fonts bl_samples_fonts;

/* Where the fonts are looked for when no directory is given:
 * $BLOTTER_FONT_DIR, else /usr/share/fonts/truetype/dejavu. */
const char *bl_samples_fonts_default_dir(void);

/* Loads the three faces from dir (NULL: the default). A missing or bad file
 * fails with BL_ENOENT/BL_EFORMAT and a message naming the file. */
bl_samples_fonts *bl_samples_fonts_new(const char *dir, bl_err *err);
void bl_samples_fonts_destroy(bl_samples_fonts **self);

/* Advance width in pixels of text at size px. */
int bl_samples_text_width(bl_samples_fonts *self, bl_font_face face, int px,
                          const char *text);

/* Draws text with its baseline starting at (x, baseline) into ink
 * (0 = paper, 255 = ink), each pixel's coverage times level/255, clipped to
 * the image. Returns the advance width drawn, in pixels. */
int bl_samples_text_draw(bl_samples_fonts *self, bl_image *ink,
                         bl_font_face face, int px, int x, int baseline,
                         int level, const char *text);

#endif
