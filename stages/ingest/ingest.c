/*
 * ingest: page normalisation.
 *
 * Resampling: a page scanned at another resolution is scaled to 300 dpi
 * (area averaging down, bilinear up) so that every later stage can use
 * physical sizes in pixels. Binarisation: Otsu's (1979) global threshold;
 * it suits clean scans and bilevel input, but not uneven lighting, which
 * needs an adaptive method (Sauvola 2000).
 *
 * Limits: no deskew and no orientation correction yet, so the transform
 * is a pure scale; boxes still map back exactly through it.
 */
#include "ingest.h"

#include <math.h>

int bl_ingest_page(const bl_image *gray, const bl_page_info *info,
                   bl_work *work, bl_err *err)
{
    if (!(info->dpi_x > 0 && info->dpi_y > 0) || info->dpi_x > 10000 ||
        info->dpi_y > 10000)
        return bl_err_set(err, BL_EFORMAT, "implausible resolution %gx%g dpi",
                          info->dpi_x, info->dpi_y);
    double sx = BL_CANONICAL_DPI / info->dpi_x;
    double sy = BL_CANONICAL_DPI / info->dpi_y;
    bl_image *scaled = NULL;
    const bl_image *src = gray;
    /* Within half a percent of 300 dpi a resample would only blur. */
    if (fabs(sx - 1.0) > 0.005 || fabs(sy - 1.0) > 0.005) {
        double w = gray->width * sx, h = gray->height * sy;
        if (w < 1 || h < 1 || w * h > 4e8)
            return bl_err_set(err, BL_ELIMIT, "page of %dx%d px at %gx%g dpi "
                              "is out of range at 300 dpi", gray->width,
                              gray->height, info->dpi_x, info->dpi_y);
        scaled = bl_image_scale(gray, sx, sy);
        src = scaled;
        /* The scaled image's real factors, after rounding to whole pixels. */
        sx = (double)src->width / gray->width;
        sy = (double)src->height / gray->height;
    } else {
        sx = sy = 1.0;
    }

    int level = bl_image_otsu_level(src);
    work->page = bl_image_binarize(src, level);
    bl_image_destroy(&scaled);

    work->src_width = gray->width;
    work->src_height = gray->height;
    work->dpi_x = info->dpi_x;
    work->dpi_y = info->dpi_y;
    work->to_source = (bl_transform){1.0 / sx, 0, 0, 0, 1.0 / sy, 0};
    work->rotation_deg = 0;
    work->skew_deg = 0;
    uint64_t h = 0;
    for (int y = 0; y < gray->height; y++)
        h = bl_hash_fnv1a64(&BL_PIX(gray, 0, y), (size_t)gray->width, h);
    work->content_hash = h;
    return BL_OK;
}
