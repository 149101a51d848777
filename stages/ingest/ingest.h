/*
 * ingest: turns one decoded scan page into the pipeline's canonical page:
 * 300 dpi, binarised (1 = ink), with the transform back to the file's own
 * pixels. Pure function; no sockets.
 */
#ifndef BL_INGEST_H
#define BL_INGEST_H

#include "image/image.h"
#include "msg/msg.h"
#include "util/util.h"

#define BL_CANONICAL_DPI 300.0

/* Normalises `gray` (0 black .. 255 white) described by `info` and stores
 * the result in work->page, work->to_source, the source size and dpi, and
 * the page's content hash. work->page must be NULL on entry. */
int bl_ingest_page(const bl_image *gray, const bl_page_info *info,
                   bl_work *work, bl_err *err);

#endif
