/*
 * inputs: the list of scan files a batch is made of, from the paths on the
 * command line. Folders are walked recursively in name order and
 * contribute their .tif/.tiff/.png files; a file named explicitly is
 * always taken (if it is not a scan, ingest says so and records it). A
 * list of paths can also come from a stream, such as standard input.
 */
#ifndef BL_INPUTS_H
#define BL_INPUTS_H

#include <stddef.h>
#include <stdio.h>

#include "util/util.h"

typedef struct bl_inputs {
    char **paths;
    size_t count;
    size_t cap;
    size_t skipped; /* files in folders that are not scans */
} bl_inputs;

/* Adds `path` (a file or a folder). A path that does not exist or cannot
 * be read is an error naming it. */
int bl_inputs_add(bl_inputs *self, const char *path, bl_err *err);
/* Adds every line of `in` (one path per line; empty lines and lines
 * starting with '#' are skipped) as bl_inputs_add would. `what` names the
 * stream in messages ("standard input"). */
int bl_inputs_add_list(bl_inputs *self, FILE *in, const char *what,
                       bl_err *err);

void bl_inputs_free(bl_inputs *self);

#endif
