/*
 * plot: a tiny renderer of line charts and matrix heat maps into an 8-bit
 * gray bl_image (0 black, 255 white), for training curves and confusion
 * matrices written as PNG next to their logs.
 *
 * Gray has no colours, so series differ by line pattern (solid, dashed,
 * dotted) and a legend names them. Text is drawn with FreeType from
 * DejaVu Sans (BLOTTER_PLOT_FONT overrides the path); when no font can be
 * loaded the chart is still drawn, without text, and bl_plot_has_text
 * says so. Axis ticks use Heckbert's "nice numbers" (Graphics Gems, 1990).
 *
 * Limits: linear axes only; lines are anti-aliased by distance to the
 * segment, 2 px wide; at most BL_PLOT_MAX_SERIES series per chart.
 */
#ifndef BL_PLOT_H
#define BL_PLOT_H

#include <stdbool.h>

#include "image/image.h"
#include "util/util.h"

#define BL_PLOT_MAX_SERIES 8
#define BL_PLOT_MAX_SIDE 8192 /* pixels, either side of a canvas */
#define BL_PLOT_DEFAULT_FONT "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

typedef enum { BL_PLOT_SOLID, BL_PLOT_DASHED, BL_PLOT_DOTTED } bl_plot_line;

/* One line: n points (x[i], y[i]); non-finite points break the line. */
typedef struct bl_plot_series {
    const char *label;
    const double *x, *y;
    int n;
    bl_plot_line line;
} bl_plot_series;

typedef struct bl_plot_chart {
    const char *title, *xlabel, *ylabel; /* any may be NULL */
    const bl_plot_series *series;
    int nseries;
    bool integer_x; /* x ticks on whole numbers only (epochs) */
} bl_plot_chart;

/* A matrix drawn as cells, darker for larger values; rows top to bottom,
 * columns left to right. With log_scale the shade follows log(1 + v), so
 * a confusion matrix's few errors stay visible beside its diagonal. */
typedef struct bl_plot_heatmap {
    const char *title, *xlabel, *ylabel;
    const double *v; /* rows x cols, row-major, values >= 0 */
    int rows, cols;
    bool log_scale;
    bool show_values; /* print each value (as an integer) in its cell */
} bl_plot_heatmap;

/* Where a chart's data landed: the frame inside the axes, in pixels, and
 * the data range it spans. */
typedef struct bl_plot_axes {
    bl_box frame;
    double x0, x1, y0, y1;
} bl_plot_axes;

typedef struct bl_plot bl_plot;

/* A white canvas of width x height pixels (each 1..BL_PLOT_MAX_SIDE).
 * Returns NULL with BL_EINVAL on bad sizes; a missing font is not an
 * error (see bl_plot_has_text). */
bl_plot *bl_plot_new(int width, int height, bl_err *err);
void bl_plot_destroy(bl_plot **self);

bool bl_plot_has_text(const bl_plot *self);
/* The canvas, owned by self. */
const bl_image *bl_plot_image(const bl_plot *self);

/* Text of px pixels, horizontally centred on x (align 0), starting at x
 * (align -1) or ending at x (align 1), vertically centred on y. */
void bl_plot_text(bl_plot *self, int x, int y, int px, int align, const char *s);

/* Draws a chart with axes, ticks, labels and a legend into area (clipped
 * to the canvas). BL_EINVAL if there are no finite points or too many
 * series. axes, if not NULL, receives where the data went. */
int bl_plot_chart_draw(bl_plot *self, bl_box area, const bl_plot_chart *chart,
                       bl_plot_axes *axes, bl_err *err);

/* Pixel position of data point (x, y) on a drawn chart. */
void bl_plot_axes_map(const bl_plot_axes *axes, double x, double y, double *px, double *py);

/* Draws a heat map with row and column indices into area. BL_EINVAL on
 * an empty or negative matrix. cells, if not NULL, receives the box of
 * cell (0, 0), border included; cell (r, c) is that box moved by c widths
 * right and r heights down. */
int bl_plot_heatmap_draw(bl_plot *self, bl_box area, const bl_plot_heatmap *hm,
                         bl_box *cells, bl_err *err);

int bl_plot_write_png(const bl_plot *self, const char *path, bl_err *err);

#endif
