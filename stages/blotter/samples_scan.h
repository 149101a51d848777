/*
 * samples_scan: turns an upright ink layer into what a scanner writes, and
 * maps ground truth the same way, for `blotter samples`.
 *
 * Model (one pass per page, in the order the physical process has them):
 *  1. geometry: the sheet is turned by a small skew about its centre
 *     (positive = clockwise as displayed, y down), then by a quarter turn
 *     (0/90/180/270 degrees clockwise); the output raster is sampled by the
 *     inverse map with bilinear interpolation. Area outside the sheet is
 *     the scanner lid: white, or black for pages with dark edges;
 *  2. optics: a separable Gaussian blur (sigma in output pixels);
 *  3. dirt: dark bands along some output edges (ragged inner border) and
 *     speckle (small discs);
 *  4. sensor: paper and ink gray levels with per-pixel noise; for bilevel
 *     output a fixed threshold on the blurred ink, so a high threshold thins
 *     and breaks strokes and a low one fattens them.
 * A digit's truth box is computed by pushing that digit's ink alone through
 * steps 1, 2 and the threshold (no noise): the axis-aligned box of its ink
 * in the output file. Because ink composes by maximum and the blur is
 * linear and positive, the page's ink is a superset of each digit's ink,
 * except where sensor noise flips a boundary pixel (at most a pixel or two).
 *
 * Limits: no lighting gradient, no paper texture, no JPEG-like artefacts,
 * no perspective or page curl.
 */
#ifndef BL_SAMPLES_SCAN_H
#define BL_SAMPLES_SCAN_H

#include <stdint.h>

#include "image/image.h"

typedef struct bl_samples_scan {
    int rotation;        /* 0, 90, 180, 270: quarter turn, clockwise */
    double skew;         /* degrees, clockwise as displayed */
    double blur_sigma;   /* output pixels */
    int threshold;       /* bilevel: ink where blurred ink + noise > this */
    int noise_amp;       /* sensor noise, +- gray levels (triangular) */
    int paper, ink;      /* gray levels of paper and full ink (gray output) */
    int specks;          /* number of speckle discs */
    double speck_radius; /* largest speck radius, output pixels */
    int edges;           /* bit mask of dark output edges: 1 top, 2 right,
                            4 bottom, 8 left; also darkens the lid */
    int edge_width;      /* widest dark band, output pixels */
} bl_samples_scan;

/* Output size for an upright page of w x h under sc's quarter turn. */
void bl_samples_scan_size(const bl_samples_scan *sc, int w, int h, int *out_w,
                          int *out_h);

/* The scanned page: 8-bit gray (0 black .. 255 white) when gray_out, else
 * binarised (1 = ink). ink is the upright layer (0 paper .. 255 ink);
 * seed drives speckle, edges and sensor noise. */
bl_image *bl_samples_scan_page(const bl_image *ink, const bl_samples_scan *sc,
                               int gray_out, uint64_t seed);

/* The output-file box of a glyph's ink: glyph is an ink image placed with
 * its top-left at (gx, gy) on the upright page of page_w x page_h; its ink
 * is where its blurred ink alone exceeds level (sc->threshold for bilevel
 * output, 127, half ink, for gray). Returns a box with w == 0 when no pixel
 * qualifies. */
bl_box bl_samples_scan_glyph_box(const bl_image *glyph, int gx, int gy,
                                 int page_w, int page_h,
                                 const bl_samples_scan *sc, int level);

#endif
