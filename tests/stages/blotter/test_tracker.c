/*
 * The front end's tracker: outcomes counted once, the work in flight
 * (documents, pages, files not yet opened) and skipped documents.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "blotter/pipeline.h"
#include "blotter/tracker.h"

static bl_note pages_note(uint64_t id, int64_t pages)
{
    bl_note n = {0};
    strcpy(n.kind, "file-pages");
    n.num[0] = pages;
    n.num[1] = (int64_t)id;
    return n;
}

static bl_note done_note(uint64_t id, int64_t page, int how)
{
    bl_note n = {0};
    strcpy(n.kind, "done");
    n.num[0] = (int64_t)id;
    n.num[1] = page;
    n.num[2] = how;
    return n;
}

Test(tracker, counts_the_work_in_flight)
{
    bl_tracker t = {0};
    uint64_t a = bl_tracker_add(&t, "a.tif", "b");
    uint64_t b = bl_tracker_add(&t, "b.tif", "b");
    cr_expect_eq(bl_tracker_in_flight(&t), 0);
    bl_tracker_fed(&t, a, 1);
    bl_tracker_fed(&t, b, 1);
    cr_expect_eq(bl_tracker_in_flight(&t), 2);
    cr_expect_eq(t.pages_in_flight, 2, "a file not yet opened counts one");
    cr_expect_eq(t.unannounced, 2);

    bl_note n = pages_note(a, 4);
    cr_expect_not_null(bl_tracker_apply(&t, &n, 2));
    cr_expect_eq(t.pages_in_flight, 5);
    cr_expect_eq(t.unannounced, 1);
    n = done_note(a, 0, BL_SETTLED_STORED);
    bl_tracker_apply(&t, &n, 3);
    n = done_note(a, 0, BL_SETTLED_STORED);
    cr_expect_null(bl_tracker_apply(&t, &n, 3), "a repeated outcome is ignored");
    cr_expect_eq(t.pages_in_flight, 4);

    /* Fed again (a stage died): nothing counts twice. */
    bl_tracker_fed(&t, a, 4);
    cr_expect_eq(t.pages_in_flight, 4);
    cr_expect_eq(bl_tracker_in_flight(&t), 2);
    for (int p = 1; p < 4; p++) {
        n = done_note(a, p, p == 3 ? BL_SETTLED_DUPLICATE : BL_SETTLED_STORED);
        bl_tracker_apply(&t, &n, 5);
    }
    cr_expect(t.docs[a - 1].complete);
    cr_expect_eq(t.docs[a - 1].stored, 3);
    cr_expect_eq(t.docs[a - 1].duplicates, 1);
    cr_expect_eq(bl_tracker_in_flight(&t), 1);
    cr_expect_eq(t.pages_in_flight, 1);

    bl_tracker_abandon(&t, b, "no outcome");
    cr_expect(t.docs[b - 1].abandoned);
    cr_expect_eq(bl_tracker_in_flight(&t), 0);
    cr_expect_eq(t.pages_in_flight, 0);
    cr_expect_eq(t.unannounced, 0);
    cr_expect_eq(bl_tracker_outstanding(&t), 0);
    bl_tracker_free(&t);
}

Test(tracker, skipped_documents_are_complete_and_not_in_flight)
{
    bl_tracker t = {0};
    uint64_t a = bl_tracker_add(&t, "a.tif", "b");
    uint64_t b = bl_tracker_add(&t, "b.tif", "b");
    bl_tracker_skip(&t, a, 3);
    cr_expect(t.docs[a - 1].complete);
    cr_expect_eq(t.skipped, 1);
    cr_expect_eq(t.skipped_pages, 3);
    cr_expect_eq(t.stored, 0, "outcomes of an earlier run are not this run's");
    cr_expect_eq(bl_tracker_outstanding(&t), 1);
    cr_expect_eq(bl_tracker_in_flight(&t), 0);

    /* The time left comes from the files this run did. */
    bl_tracker_fed(&t, b, 1);
    bl_pipeline_progress p;
    bl_tracker_progress(&t, 10.0, &p);
    cr_expect_lt(p.eta_s, 0, "unknown before this run settled a file");
    bl_note n = pages_note(b, 1);
    bl_tracker_apply(&t, &n, 2);
    n = done_note(b, 0, BL_SETTLED_STORED);
    bl_tracker_apply(&t, &n, 3);
    bl_tracker_progress(&t, 10.0, &p);
    cr_expect_eq(p.eta_s, 0);
    cr_expect_eq(bl_tracker_outstanding(&t), 0);
    bl_tracker_free(&t);
}
