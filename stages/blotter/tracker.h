/*
 * tracker: which documents of a batch are complete. Ingest announces how
 * many outcomes a file has ("file-pages": its page count, or one for a file
 * it refuses); the writer reports each outcome ("done"). A document is
 * complete when all its outcomes are in. Shared by `run` and `up`.
 *
 * Processing is at-least-once: a file may be fed again (after a stage died,
 * or when it made no progress for a while), so the same outcome can arrive
 * twice. Outcomes are therefore kept per page, and a repeat is ignored.
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
    uint8_t *settled;   /* per page index: 1 once its outcome is in */
    size_t settled_cap;
    uint64_t fed_ns;    /* when it was last fed (monotonic), 0 = not yet */
    uint64_t progress_ns; /* when its last outcome arrived */
    int feeds;          /* how often it was fed */
    int stalls;         /* how often it was fed again for want of outcome */
    int abandoned;      /* given up: no outcome after several feeds */
    int64_t units;      /* its share of pages_in_flight */
    int unannounced;    /* its share of unannounced */
    int skipped;        /* settled by an earlier run of the batch */
    int recorded;       /* the writer confirmed its settled record */
} bl_tracker_doc;

typedef struct bl_tracker {
    bl_tracker_doc *docs;
    size_t count;
    size_t cap;
    size_t complete;
    int64_t stored, duplicates, failed; /* outcomes over all documents */
    size_t skipped;                     /* documents settled before */
    int64_t skipped_pages;              /* their outcomes */
    size_t in_flight;                   /* documents fed and not complete */
    int64_t pages_in_flight;            /* their outcomes still to come (a
                                           file not yet opened counts 1) */
    int64_t unannounced;                /* in flight, page count unknown */
    uint64_t next_stall_check_ns;
} bl_tracker;

/* Adds a document; returns its id (1-based, as sent in the FEED header). */
uint64_t bl_tracker_add(bl_tracker *self, const char *path, const char *batch);

/* Applies one event at monotonic time now_ns. Returns the document it
 * concerned (NULL if it was not a tracking event, named no known document,
 * or repeated an outcome already in). */
bl_tracker_doc *bl_tracker_apply(bl_tracker *self, const bl_note *note,
                                 uint64_t now_ns);

/* Notes that document id was fed (again) at now_ns. */
void bl_tracker_fed(bl_tracker *self, uint64_t id, uint64_t now_ns);

/* The id of an incomplete, fed document whose last feed or outcome is
 * older than timeout_ns, or 0. The look goes over every document, so it is
 * taken at most once a second (0 in between): callers may ask on every
 * event of a large batch. */
uint64_t bl_tracker_stalled(bl_tracker *self, uint64_t now_ns,
                            uint64_t timeout_ns);

/* Gives up on a document: counts its missing outcomes as failed with the
 * reason given and completes it. */
void bl_tracker_abandon(bl_tracker *self, uint64_t id, const char *reason);

/* Marks document id as settled by an earlier run (resuming a batch) with
 * that many outcomes: it is complete and is not fed. Its outcomes count in
 * skipped_pages, not in stored/duplicates/failed. */
void bl_tracker_skip(bl_tracker *self, uint64_t id, int64_t outcomes);

/* Documents fed and not yet complete: the work in flight (see also
 * pages_in_flight and unannounced). */
size_t bl_tracker_in_flight(const bl_tracker *self);

size_t bl_tracker_outstanding(const bl_tracker *self);

/* The progress figures the pipeline publishes, with the time left
 * estimated from the rate of files completed in elapsed_s. */
struct bl_pipeline_progress;
void bl_tracker_progress(const bl_tracker *self, double elapsed_s,
                         struct bl_pipeline_progress *out);
void bl_tracker_free(bl_tracker *self);

#endif
