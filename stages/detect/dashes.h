/*
 * dashes: the thin printed lines a scan broke into dashes, found for
 * template matching (template.h) and, on a page no template matches, for
 * line removal (detect.h). docs/DETECTION.md, "Matching", says
 * where they come from and how they are told from print and writing.
 *
 * Line removal (detect.h) takes only unbroken runs of 120 px or more, so a
 * one- or two-pixel line that a light scan of a skewed sheet left as dashes
 * of 40-80 px with gaps of a few pixels (a lighter one as dots of 10-20 px
 * with gaps of up to 40), and jogging by a pixel where the deskew
 * resampled it, is not a line to it. On such a page the form's
 * lines are nearly all gone from what matching sees, and the page matches
 * nothing. This finds them: along each row (and, on the transposed page,
 * each column), the "thin" ink (ink within a pixel of the row, with no ink
 * 3 px above and below it: a line at most 5 px thick, not the body of a
 * letter or a digit) is chained across gaps of at most BL_DASHES_GAP px;
 * a chain at least BL_DASHES_MIN_LEN long and at least BL_DASHES_FILL
 * inked is a broken line, and its whole length is marked, gaps included:
 * matching scores the share of a template line that the page's lines
 * cover, and a line broken into dots is no less a line for it.
 */
#ifndef BL_DETECT_DASHES_H
#define BL_DETECT_DASHES_H

#include "image/bitmap.h"

#define BL_DASHES_GAP 48       /* widest gap bridged, px */
#define BL_DASHES_MIN_LEN 120  /* shortest chain, px: template lines' minimum */
#define BL_DASHES_FILL 0.3     /* least share of the chain that is ink */

/* Sets in `lines` (the page's size) the broken horizontal and vertical
 * lines of `ink`, as above: each chain's whole length, in the rows (or
 * columns) within a pixel of it; the pixels already set stay. Returns the
 * number of pixels set that were not set before. */
long bl_dashes_mark(bl_bitmap *lines, const bl_bitmap *ink);

#endif
