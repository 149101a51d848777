/*
 * score: the pipeline scorer (see the header for the matching rule and the
 * figures).
 *
 * The truth is loaded with jansson into flat arrays of pages and fields;
 * v_fields is read in one query (optionally filtered by batch) and each row
 * is attached to its truth page by path suffix and page index. Matching is
 * greedy by IoU per page: all candidate pairs with IoU >= 0.5 are sorted
 * best first and taken when both sides are still free, which for the few
 * fields of a page equals the usual one-to-one assignment in practice
 * (Everingham et al. 2010, the PASCAL VOC protocol, match greedily too).
 */
#include "blotter/score.h"

#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"

typedef struct tfield {
    int page;            /* index into pages */
    char *value;
    int x, y, w, h;
    int touching;
    int taken;           /* matched */
} tfield;

typedef struct tpage {
    const char *file;    /* borrowed from the JSON document */
    int index;
} tpage;

typedef struct srow {
    int page;            /* truth page, or -1 */
    char *value;
    int needs_review;
    double confidence;
    int x, y, w, h;
    int taken;
} srow;

typedef struct cand {
    double iou;
    int t, s;
} cand;

typedef struct conf_mark {
    double confidence;
    int wrong;
} conf_mark;

static int conf_cmp(const void *pa, const void *pb)
{
    const conf_mark *a = pa, *b = pb;
    return (a->confidence > b->confidence) - (a->confidence < b->confidence);
}

/* The share of the n matched fields that flagging the least confident
 * first must flag to catch BL_SCORE_GATE_CATCH of the `wrong` wrong ones:
 * the gate's quality whatever its threshold. A threshold cannot part
 * equal confidences, so fields tied with the last one needed are flagged
 * with it. NAN without wrong fields. */
static double flag_needed(conf_mark *m, long n, long wrong)
{
    if (wrong == 0 || n == 0)
        return NAN;
    qsort(m, (size_t)n, sizeof *m, conf_cmp);
    long caught = 0;
    for (long k = 0; k < n; k++) {
        caught += m[k].wrong;
        if ((double)caught >= BL_SCORE_GATE_CATCH * (double)wrong - 1e-9) {
            while (k + 1 < n && m[k + 1].confidence == m[k].confidence)
                k++;
            return (double)(k + 1) / (double)n;
        }
    }
    return 1.0;
}

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

int bl_score_edit_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    int *row = bl_xmalloc(sizeof(int) * (nb + 1));
    for (size_t j = 0; j <= nb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            best = imin(best, up + 1);
            best = imin(best, row[j - 1] + 1);
            row[j] = best;
            diag = up;
        }
    }
    int d = row[nb];
    free(row);
    return d;
}

double bl_score_iou(int ax, int ay, int aw, int ah, int bx, int by, int bw,
                    int bh)
{
    if (aw <= 0 || ah <= 0 || bw <= 0 || bh <= 0)
        return 0;
    double iw = imin(ax + aw, bx + bw) - imax(ax, bx);
    double ih = imin(ay + ah, by + bh) - imax(ay, by);
    if (iw <= 0 || ih <= 0)
        return 0;
    double inter = iw * ih;
    return inter / ((double)aw * ah + (double)bw * bh - inter);
}

static int cand_cmp(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    if (a->iou != b->iou)
        return a->iou > b->iou ? -1 : 1;
    /* Ties in a fixed order, so the score never depends on qsort. */
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return a->s < b->s ? -1 : a->s > b->s;
}

static int json_box(json_t *j, int *x, int *y, int *w, int *h)
{
    if (!json_is_array(j) || json_array_size(j) != 4)
        return -1;
    int v[4];
    for (int i = 0; i < 4; i++) {
        json_t *e = json_array_get(j, (size_t)i);
        if (!json_is_integer(e))
            return -1;
        json_int_t n = json_integer_value(e);
        if (n < -1000000000 || n > 1000000000)
            return -1;
        v[i] = (int)n;
    }
    *x = v[0], *y = v[1], *w = v[2], *h = v[3];
    return 0;
}

static int load_truth(const char *path, json_t **doc, tpage **pages_out,
                      int *npages_out, tfield **fields_out, int *nfields_out,
                      bl_err *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        return bl_err_set(err, jerr.line < 0 ? BL_ENOENT : BL_EFORMAT,
                          "%s: %s (line %d)", path, jerr.text, jerr.line);
    *doc = root;
    json_t *pages = json_object_get(root, "pages");
    if (!json_is_array(pages))
        return bl_err_set(err, BL_EFORMAT, "%s: no \"pages\" array", path);
    size_t np = json_array_size(pages), nf = 0;
    tpage *tp = bl_xcalloc(np ? np : 1, sizeof *tp);
    *pages_out = tp;
    *npages_out = (int)np;
    for (size_t i = 0; i < np; i++) {
        json_t *p = json_array_get(pages, i);
        json_t *file = json_object_get(p, "file"), *idx = json_object_get(p, "page_index");
        json_t *fields = json_object_get(p, "fields");
        if (!json_is_string(file) || !json_is_integer(idx) || json_integer_value(idx) < 0 ||
            json_integer_value(idx) > 1000000 || !json_is_array(fields))
            return bl_err_set(err, BL_EFORMAT,
                              "%s: page %zu: want \"file\", \"page_index\" and \"fields\"",
                              path, i);
        tp[i].file = json_string_value(file);
        tp[i].index = (int)json_integer_value(idx);
        nf += json_array_size(fields);
    }
    tfield *tf = bl_xcalloc(nf ? nf : 1, sizeof *tf);
    *fields_out = tf;
    *nfields_out = 0;
    for (size_t i = 0; i < np; i++) {
        json_t *fields = json_object_get(json_array_get(pages, i), "fields");
        for (size_t k = 0; k < json_array_size(fields); k++) {
            json_t *f = json_array_get(fields, k);
            json_t *value = json_object_get(f, "value");
            tfield *t = &tf[(*nfields_out)];
            if (!json_is_string(value) ||
                json_box(json_object_get(f, "box"), &t->x, &t->y, &t->w, &t->h) != 0)
                return bl_err_set(err, BL_EFORMAT,
                                  "%s: page %zu field %zu: want \"value\" and "
                                  "\"box\" [x, y, w, h]", path, i, k);
            t->page = (int)i;
            t->value = (char *)json_string_value(value);
            t->touching = json_is_true(json_object_get(f, "touching"));
            (*nfields_out)++;
        }
    }
    return BL_OK;
}

/* The truth page a stored row belongs to, or -1. */
static int find_page(const tpage *pages, int npages, const char *source,
                     int page_index)
{
    size_t ns = strlen(source);
    for (int i = 0; i < npages; i++) {
        if (pages[i].index != page_index)
            continue;
        size_t nf = strlen(pages[i].file);
        if (strcmp(source, pages[i].file) == 0 ||
            (ns > nf && source[ns - nf - 1] == '/' &&
             strcmp(source + ns - nf, pages[i].file) == 0))
            return i;
    }
    return -1;
}

static int load_rows(const char *db_path, const char *batch, const tpage *pages,
                     int npages, srow **rows_out, int *nrows_out, bl_err *err)
{
    bl_db *db = bl_db_open_readonly(db_path, err);
    if (!db)
        return err ? err->code : BL_EDB;
    sqlite3 *h = bl_db_handle(db);
    sqlite3_stmt *st = NULL;
    const char *sql = batch ? "SELECT source_path, page_index, value, needs_review, "
                              "x, y, w, h, confidence FROM v_fields WHERE batch = ?1"
                            : "SELECT source_path, page_index, value, needs_review, "
                              "x, y, w, h, confidence FROM v_fields";
    int cap = 64, n = 0, ret = BL_OK;
    srow *rows = bl_xmalloc(sizeof *rows * (size_t)cap);
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
        ret = bl_err_set(err, BL_EDB, "%s: %s", db_path, sqlite3_errmsg(h));
        goto done;
    }
    if (batch)
        sqlite3_bind_text(st, 1, batch, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap *= 2;
            rows = bl_xrealloc(rows, sizeof *rows * (size_t)cap);
        }
        const char *src = (const char *)sqlite3_column_text(st, 0);
        const char *val = (const char *)sqlite3_column_text(st, 2);
        srow *r = &rows[n++];
        r->page = find_page(pages, npages, src ? src : "", sqlite3_column_int(st, 1));
        r->value = bl_xstrdup(val ? val : "");
        r->needs_review = sqlite3_column_int(st, 3) != 0;
        r->x = sqlite3_column_int(st, 4);
        r->y = sqlite3_column_int(st, 5);
        r->w = sqlite3_column_int(st, 6);
        r->h = sqlite3_column_int(st, 7);
        r->confidence = sqlite3_column_double(st, 8);
        r->taken = 0;
    }
    if (rc != SQLITE_DONE)
        ret = bl_err_set(err, BL_EDB, "%s: %s", db_path, sqlite3_errmsg(h));
done:
    sqlite3_finalize(st);
    bl_db_close(&db);
    *rows_out = rows;
    *nrows_out = n;
    return ret;
}

static double ratio(long num, long den)
{
    return den > 0 ? (double)num / (double)den : NAN;
}

int bl_score_pipeline(const char *db_path, const char *truth_path,
                      const char *batch, bl_score *out, bl_err *err)
{
    memset(out, 0, sizeof *out);
    json_t *doc = NULL;
    tpage *pages = NULL;
    tfield *tf = NULL;
    srow *rows = NULL;
    cand *cands = NULL;
    int npages = 0, ntf = 0, nrows = 0;
    int ret = load_truth(truth_path, &doc, &pages, &npages, &tf, &ntf, err);
    if (ret != BL_OK)
        goto done;
    ret = load_rows(db_path, batch, pages, npages, &rows, &nrows, err);
    if (ret != BL_OK)
        goto done;

    /* Candidate pairs on the same page. Fields are grouped by page in
     * both arrays only loosely, so index the rows by page first. */
    int *row_start = bl_xcalloc((size_t)npages + 1, sizeof *row_start);
    int *row_order = bl_xmalloc(sizeof *row_order * (size_t)(nrows ? nrows : 1));
    for (int s = 0; s < nrows; s++)
        if (rows[s].page >= 0)
            row_start[rows[s].page + 1]++;
    for (int p = 0; p < npages; p++)
        row_start[p + 1] += row_start[p];
    int *fill = bl_xcalloc((size_t)npages + 1, sizeof *fill);
    for (int s = 0; s < nrows; s++)
        if (rows[s].page >= 0)
            row_order[row_start[rows[s].page] + fill[rows[s].page]++] = s;
    size_t ncand = 0, cap = 64;
    cands = bl_xmalloc(sizeof *cands * cap);
    for (int t = 0; t < ntf; t++) {
        int p = tf[t].page;
        for (int k = row_start[p]; k < row_start[p + 1]; k++) {
            const srow *r = &rows[row_order[k]];
            double iou = bl_score_iou(tf[t].x, tf[t].y, tf[t].w, tf[t].h, r->x, r->y,
                                      r->w, r->h);
            if (iou < BL_SCORE_IOU_MIN)
                continue;
            if (ncand == cap) {
                cap *= 2;
                cands = bl_xrealloc(cands, sizeof *cands * cap);
            }
            cands[ncand++] = (cand){iou, t, row_order[k]};
        }
    }
    free(row_start);
    free(row_order);
    free(fill);
    qsort(cands, ncand, sizeof *cands, cand_cmp);

    int *match = bl_xmalloc(sizeof *match * (size_t)(ntf ? ntf : 1));
    for (int t = 0; t < ntf; t++)
        match[t] = -1;
    double iou_sum = 0;
    for (size_t i = 0; i < ncand; i++) {
        if (tf[cands[i].t].taken || rows[cands[i].s].taken)
            continue;
        tf[cands[i].t].taken = rows[cands[i].s].taken = 1;
        match[cands[i].t] = cands[i].s;
        iou_sum += cands[i].iou;
    }

    out->truth_pages = npages;
    out->true_fields = ntf;
    for (int s = 0; s < nrows; s++) {
        if (rows[s].page >= 0) {
            out->stored_fields++;
            out->flagged += rows[s].needs_review;
        } else {
            out->other_rows++;
        }
    }
    /* Matched fields by confidence, for the share a threshold would have
     * to flag to catch GATE_CATCH of the wrong ones. */
    conf_mark *cm = bl_xmalloc(sizeof *cm * (size_t)(ntf ? ntf : 1));
    long ncm = 0;
    for (int t = 0; t < ntf; t++) {
        long len = (long)strlen(tf[t].value);
        out->true_digits += len;
        out->touching_fields += tf[t].touching;
        if (match[t] < 0) {
            out->digit_errors += len;
            continue;
        }
        const srow *r = &rows[match[t]];
        out->matched++;
        int right = strcmp(r->value, tf[t].value) == 0;
        long d = bl_score_edit_distance(r->value, tf[t].value);
        out->digit_errors += d < len ? d : len;
        cm[ncm++] = (conf_mark){r->confidence, !right};
        if (right) {
            out->exact++;
            out->right_flagged += r->needs_review;
            out->touching_exact += tf[t].touching;
        } else {
            out->wrong_matched++;
            out->wrong_flagged += r->needs_review;
        }
    }
    free(match);
    out->flag_needed = flag_needed(cm, ncm, out->wrong_matched);
    free(cm);
    out->flagged_share = ratio(out->flagged, out->stored_fields);
    out->precision = ratio(out->matched, out->stored_fields);
    out->recall = ratio(out->matched, out->true_fields);
    out->exact_accuracy = ratio(out->exact, out->true_fields);
    out->digit_accuracy = out->true_digits > 0
                              ? 1.0 - (double)out->digit_errors / out->true_digits
                              : NAN;
    out->wrong_flagged_share = ratio(out->wrong_flagged, out->wrong_matched);
    out->right_flagged_share = ratio(out->right_flagged, out->exact);
    out->touching_exact_accuracy = ratio(out->touching_exact, out->touching_fields);
    out->mean_iou = out->matched ? iou_sum / out->matched : NAN;

done:
    for (int s = 0; s < nrows; s++)
        free(rows[s].value);
    free(rows);
    free(cands);
    free(tf);
    free(pages);
    json_decref(doc);
    return ret;
}
