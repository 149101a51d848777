/*
 * samples_text: FreeType rendering of machine print (see the header).
 *
 * One FT_Library and one FT_Face per style, loaded once per run. Sizes
 * change often (labels, titles, small print), so FT_Set_Pixel_Sizes is
 * called per string; FreeType caches nothing across sizes here, which is
 * fast enough for the few hundred glyphs of a page.
 */
#include "blotter/samples_text.h"

#include <ft2build.h>
#include FT_FREETYPE_H

#include <stdlib.h>
#include <unistd.h>

struct bl_samples_fonts {
    FT_Library lib;
    FT_Face face[BL_FONT_COUNT];
};

static const char *const FONT_FILES[BL_FONT_COUNT] = {
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf"};

const char *bl_samples_fonts_default_dir(void)
{
    const char *env = getenv("BLOTTER_FONT_DIR");
    return env && *env ? env : "/usr/share/fonts/truetype/dejavu";
}

bl_samples_fonts *bl_samples_fonts_new(const char *dir, bl_err *err)
{
    if (!dir)
        dir = bl_samples_fonts_default_dir();
    bl_samples_fonts *self = bl_xcalloc(1, sizeof *self);
    if (FT_Init_FreeType(&self->lib) != 0) {
        free(self);
        bl_err_set(err, BL_EINTERNAL, "freetype: cannot initialise");
        return NULL;
    }
    for (int i = 0; i < BL_FONT_COUNT; i++) {
        char path[4096];
        bl_snprintf(path, sizeof path, "%s/%s", dir, FONT_FILES[i]);
        if (access(path, R_OK) != 0) {
            bl_err_set(err, BL_ENOENT,
                       "font %s not found (install fonts-dejavu-core or set "
                       "BLOTTER_FONT_DIR)", path);
            bl_samples_fonts_destroy(&self);
            return NULL;
        }
        if (FT_New_Face(self->lib, path, 0, &self->face[i]) != 0) {
            self->face[i] = NULL;
            bl_err_set(err, BL_EFORMAT, "font %s: FreeType cannot load it", path);
            bl_samples_fonts_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void bl_samples_fonts_destroy(bl_samples_fonts **self)
{
    if (!self || !*self)
        return;
    for (int i = 0; i < BL_FONT_COUNT; i++)
        if ((*self)->face[i])
            FT_Done_Face((*self)->face[i]);
    FT_Done_FreeType((*self)->lib);
    free(*self);
    *self = NULL;
}

static FT_Face sized(bl_samples_fonts *self, bl_font_face face, int px)
{
    FT_Face f = self->face[face];
    FT_Set_Pixel_Sizes(f, 0, (FT_UInt)(px > 1 ? px : 1));
    return f;
}

int bl_samples_text_width(bl_samples_fonts *self, bl_font_face face, int px,
                          const char *text)
{
    FT_Face f = sized(self, face, px);
    long w = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (FT_Load_Char(f, *p, FT_LOAD_DEFAULT) == 0)
            w += f->glyph->advance.x >> 6;
    return (int)w;
}

int bl_samples_text_draw(bl_samples_fonts *self, bl_image *ink,
                         bl_font_face face, int px, int x, int baseline,
                         int level, const char *text)
{
    FT_Face f = sized(self, face, px);
    int pen = x;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (FT_Load_Char(f, *p, FT_LOAD_RENDER) != 0)
            continue;
        FT_GlyphSlot g = f->glyph;
        const FT_Bitmap *bm = &g->bitmap;
        int gx = pen + g->bitmap_left, gy = baseline - g->bitmap_top;
        for (unsigned r = 0; r < bm->rows; r++) {
            int yy = gy + (int)r;
            if (yy < 0 || yy >= ink->height)
                continue;
            const unsigned char *row = bm->buffer + (long)r * bm->pitch;
            for (unsigned c = 0; c < bm->width; c++) {
                int xx = gx + (int)c;
                if (xx < 0 || xx >= ink->width)
                    continue;
                int v = row[c] * level / 255;
                if (v > BL_PIX(ink, xx, yy))
                    BL_PIX(ink, xx, yy) = (uint8_t)v;
            }
        }
        pen += (int)(g->advance.x >> 6);
    }
    return pen - x;
}
