/*
 * cuts_only: a copy of a segment model file without its digit separator,
 * for the tests that measure segmentation by the cut scorer alone. Header
 * only, for the test programs.
 */
#ifndef BL_TEST_CUTS_ONLY_H
#define BL_TEST_CUTS_ONLY_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <unistd.h>

#include "segment/segment.h"
#include "segment/separate.h"

/* Writes the cut scorer of model to a new file named in path (a
 * "/tmp/...XXXXXX" template); the caller unlinks it. */
static inline void write_cuts_only(const char *model, char *path)
{
    bl_err err = {0};
    bl_blm *full = bl_blm_load(model, BL_SEGMENT_MODEL_KIND, &err);
    cr_assert_not_null(full, "%s", err.msg);
    bl_blm *cuts = bl_separator_strip(full);
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(bl_blm_save(cuts, path, &err), BL_OK, "%s", err.msg);
    bl_blm_destroy(&cuts);
    bl_blm_destroy(&full);
}

#endif
