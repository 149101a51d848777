/*
 * tracker: which documents of a batch are complete. Ingest announces how
 * many outcomes a file has ("file-pages": its page count, or one for a file
 * it refuses); the writer reports each outcome ("done"). A document is
 * complete when all its outcomes are in. Shared by `run` and `up`.
 */
#ifndef BL_TRACKER_H
#define BL_TRACKER_H

#include <stddef.h>
#include <stdint.h>

#include "msg/msg.h"

typedef struct bl_tracker_doc {
    char *path;
    char batch[256];
    int64_t expected;   /* -1 until ingest has opened the file */
    int64_t stored;
    int64_t duplicates;
    int64_t failed;
    int file_refused;   /* the whole file was refused */
    int transient;      /* a failure was a passing one (I/O, try again) */
    int complete;
    char reason[512];   /* the first failure's message */
} bl_tracker_doc;

typedef struct bl_tracker {
    bl_tracker_doc *docs;
    size_t count;
    size_t cap;
    size_t complete;
    int64_t stored, duplicates, failed; /* outcomes over all documents */
} bl_tracker;

/* Adds a document; returns its id (1-based, as sent in the FEED header). */
uint64_t bl_tracker_add(bl_tracker *self, const char *path, const char *batch);

/* Applies one event. Returns the document it concerned (NULL if it was not
 * a tracking event or named no known document). */
bl_tracker_doc *bl_tracker_apply(bl_tracker *self, const bl_note *note);

size_t bl_tracker_outstanding(const bl_tracker *self);
void bl_tracker_free(bl_tracker *self);

#endif
