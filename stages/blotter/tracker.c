/*
 * tracker: counting a batch's outcomes (see tracker.h).
 */
#include "tracker.h"

#include <stdlib.h>
#include <string.h>

#include "blotter/pipeline.h"
#include "runtime/runtime.h"

uint64_t bl_tracker_add(bl_tracker *self, const char *path, const char *batch)
{
    if (self->count == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 64;
        self->docs = bl_xrealloc(self->docs, self->cap * sizeof *self->docs);
    }
    bl_tracker_doc *d = &self->docs[self->count++];
    memset(d, 0, sizeof *d);
    d->path = bl_xstrdup(path);
    bl_strlcpy(d->batch, batch, sizeof d->batch);
    d->expected = -1;
    return self->count;
}

static bl_tracker_doc *doc_of(bl_tracker *self, int64_t id)
{
    if (id < 1 || (uint64_t)id > self->count)
        return NULL;
    return &self->docs[id - 1];
}

static int is_transient(int64_t code)
{
    return code == BL_EIO || code == BL_EAGAIN || code == BL_EINTERNAL;
}

/* Marks page `index` settled; returns 0 if it already was. */
static int settle_once(bl_tracker_doc *d, int64_t index)
{
    if (index < 0)
        index = 0; /* a whole-file failure is the file's one outcome */
    if (index >= 1 << 24)
        return 0;  /* beyond any page count the limits allow */
    size_t i = (size_t)index;
    if (i >= d->settled_cap) {
        size_t cap = d->settled_cap ? d->settled_cap : 8;
        while (cap <= i)
            cap *= 2;
        d->settled = bl_xrealloc(d->settled, cap);
        memset(d->settled + d->settled_cap, 0, cap - d->settled_cap);
        d->settled_cap = cap;
    }
    if (d->settled[i])
        return 0;
    d->settled[i] = 1;
    return 1;
}

/* Brings the in-flight totals up to date with document d. */
static void recount(bl_tracker *self, bl_tracker_doc *d)
{
    int64_t units = 0;
    int unannounced = 0;
    if (d->fed_ns && !d->complete) {
        if (d->expected >= 0) {
            units = d->expected - (d->stored + d->duplicates + d->failed);
            if (units < 0)
                units = 0;
        } else {
            units = 1;
            unannounced = 1;
        }
    }
    self->pages_in_flight += units - d->units;
    d->units = units;
    self->unannounced += unannounced - d->unannounced;
    d->unannounced = unannounced;
}

static void check_complete(bl_tracker *self, bl_tracker_doc *d)
{
    if (!d->complete && d->expected >= 0 &&
        d->stored + d->duplicates + d->failed >= d->expected) {
        d->complete = 1;
        self->complete++;
        if (d->fed_ns)
            self->in_flight--;
    }
}

void bl_tracker_fed(bl_tracker *self, uint64_t id, uint64_t now_ns)
{
    bl_tracker_doc *d = doc_of(self, (int64_t)id);
    if (d) {
        if (!d->fed_ns && !d->complete)
            self->in_flight++;
        d->fed_ns = now_ns;
        d->feeds++;
        recount(self, d);
    }
}

uint64_t bl_tracker_stalled(bl_tracker *self, uint64_t now_ns,
                            uint64_t timeout_ns)
{
    if (now_ns < self->next_stall_check_ns)
        return 0;
    self->next_stall_check_ns = now_ns + 1000000000ull;
    for (size_t i = 0; i < self->count; i++) {
        const bl_tracker_doc *d = &self->docs[i];
        if (d->complete || !d->fed_ns)
            continue;
        uint64_t last = d->progress_ns > d->fed_ns ? d->progress_ns : d->fed_ns;
        if (now_ns - last > timeout_ns)
            return i + 1;
    }
    return 0;
}

void bl_tracker_abandon(bl_tracker *self, uint64_t id, const char *reason)
{
    bl_tracker_doc *d = doc_of(self, (int64_t)id);
    if (!d || d->complete)
        return;
    int64_t expected = d->expected >= 0 ? d->expected : 1;
    int64_t missing = expected - (d->stored + d->duplicates + d->failed);
    if (missing < 1)
        missing = 1;
    d->expected = d->stored + d->duplicates + d->failed + missing;
    d->abandoned = 1;
    d->failed += missing;
    self->failed += missing;
    if (!d->reason[0])
        bl_strlcpy(d->reason, reason, sizeof d->reason);
    check_complete(self, d);
    recount(self, d);
}

bl_tracker_doc *bl_tracker_apply(bl_tracker *self, const bl_note *note,
                                 uint64_t now_ns)
{
    bl_tracker_doc *d;
    if (strcmp(note->kind, "file-pages") == 0) {
        d = doc_of(self, note->num[1]);
        if (!d || d->complete)
            return NULL;
        d->expected = note->num[0];
    } else if (strcmp(note->kind, "done") == 0) {
        d = doc_of(self, note->num[0]);
        if (!d || d->complete || !settle_once(d, note->num[1]))
            return NULL;
        switch (note->num[2]) {
        case BL_SETTLED_STORED:
            d->stored++;
            self->stored++;
            break;
        case BL_SETTLED_DUPLICATE:
            d->duplicates++;
            self->duplicates++;
            break;
        default:
            d->failed++;
            self->failed++;
            d->file_refused |= note->num[1] < 0;
            d->transient |= is_transient(note->num[3]);
            if (!d->reason[0])
                bl_strlcpy(d->reason, note->text, sizeof d->reason);
            break;
        }
    } else {
        return NULL;
    }
    d->progress_ns = now_ns;
    check_complete(self, d);
    recount(self, d);
    return d;
}

void bl_tracker_skip(bl_tracker *self, uint64_t id, int64_t outcomes)
{
    bl_tracker_doc *d = doc_of(self, (int64_t)id);
    if (!d || d->complete)
        return;
    d->skipped = 1;
    d->expected = outcomes;
    d->complete = 1;
    self->complete++;
    self->skipped++;
    self->skipped_pages += outcomes;
}

size_t bl_tracker_in_flight(const bl_tracker *self) { return self->in_flight; }

size_t bl_tracker_outstanding(const bl_tracker *self)
{
    return self->count - self->complete;
}

void bl_tracker_progress(const bl_tracker *self, double elapsed_s,
                         bl_pipeline_progress *out)
{
    out->files = (int64_t)self->count;
    out->files_done = (int64_t)self->complete;
    out->pages_stored = self->stored;
    out->pages_failed = self->failed;
    out->pages_duplicate = self->duplicates;
    out->eta_s = -1;
    /* Files skipped on resuming took no time: the rate is of the rest. */
    size_t done = self->complete - self->skipped;
    if (done > 0 && self->complete < self->count)
        out->eta_s = elapsed_s / (double)done *
                     (double)(self->count - self->complete);
    else if (self->complete == self->count)
        out->eta_s = 0;
}

void bl_tracker_free(bl_tracker *self)
{
    for (size_t i = 0; i < self->count; i++) {
        free(self->docs[i].path);
        free(self->docs[i].settled);
    }
    free(self->docs);
    memset(self, 0, sizeof *self);
}
