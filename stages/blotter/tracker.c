/*
 * tracker: counting a batch's outcomes (see tracker.h).
 */
#include "tracker.h"

#include <stdlib.h>
#include <string.h>

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

bl_tracker_doc *bl_tracker_apply(bl_tracker *self, const bl_note *note)
{
    bl_tracker_doc *d;
    if (strcmp(note->kind, "file-pages") == 0) {
        d = doc_of(self, note->num[1]);
        if (!d || d->complete)
            return NULL;
        d->expected = note->num[0];
    } else if (strcmp(note->kind, "done") == 0) {
        d = doc_of(self, note->num[0]);
        if (!d || d->complete)
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
    if (d->expected >= 0 && d->stored + d->duplicates + d->failed >= d->expected) {
        d->complete = 1;
        self->complete++;
    }
    return d;
}

size_t bl_tracker_outstanding(const bl_tracker *self)
{
    return self->count - self->complete;
}

void bl_tracker_free(bl_tracker *self)
{
    for (size_t i = 0; i < self->count; i++)
        free(self->docs[i].path);
    free(self->docs);
    memset(self, 0, sizeof *self);
}
