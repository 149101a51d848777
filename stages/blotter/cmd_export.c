/*
 * blotter export: writes one batch as CSV and JSON, and each of its pages
 * as ALTO XML (version 4, the layout-and-text format that archives and
 * libraries load), all three from the same rows read in one transaction.
 *
 *   DIR/<batch>.csv    one row per field (RFC 4180, header row)
 *   DIR/<batch>.json   {batch, pages: [{source_path, page_index, width,
 *                      height, alto, fields: [...]}]}
 *   DIR/alto/page-NNNN.xml   one per stored page, in source path and page
 *                      order; its name is in the JSON and the CSV
 *
 * In ALTO each field is a TextBlock holding one TextLine holding one
 * String: CONTENT the value (the reviewed one when there is a review), WC
 * the field's confidence, HPOS/VPOS/WIDTH/HEIGHT its box in the source
 * file's own pixels (MeasurementUnit pixel), and TAGREFS pointing at an
 * OtherTag that carries the field name. Limits: ALTO has no place for the
 * per-digit probabilities; `blotter query --digits` gives them.
 *
 * The export is audited (who, batch, rows). Exit status: 0 done, 1
 * failure, 2 bad usage.
 */
#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blotter/commands.h"
#include "blotter/csv.h"
#include "db/db.h"
#include "conf/conf.h"
#include "db/records.h"

/* One field of the page being exported (owned copies). */
typedef struct ex_field {
    char *name, *value, *machine, *state;
    double confidence;
    int needs_review, x, y, w, h;
} ex_field;

typedef struct ex_page {
    char *source_path;
    int page_index, width, height;
    int nfields, cap;
    ex_field *fields;
} ex_page;

static void usage(FILE *out)
{
    fprintf(out, "usage: blotter export --db FILE --batch NAME --out DIR\n"
                 "  Writes the batch as DIR/NAME.csv and DIR/NAME.json and each of its\n"
                 "  pages as ALTO XML (v4) in DIR/alto/, all from the same rows.\n");
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST)
        return 0;
    fprintf(stderr, "blotter export: %s: %s\n", path, strerror(errno));
    return -1;
}

/* Writes s with the five XML special characters escaped; control
 * characters (not allowed in XML 1.0) become '?'. */
static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default: fputc(c < 0x20 ? '?' : c, f);
        }
    }
}

static int write_alto(const char *path, const ex_page *p)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "blotter export: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<alto xmlns=\"http://www.loc.gov/standards/alto/ns-v4#\">\n"
          "  <Description>\n"
          "    <MeasurementUnit>pixel</MeasurementUnit>\n"
          "    <sourceImageInformation>\n"
          "      <fileName>",
          f);
    xml_text(f, p->source_path);
    fputs("</fileName>\n"
          "    </sourceImageInformation>\n"
          "    <OCRProcessing ID=\"OCR1\">\n"
          "      <ocrProcessingStep>\n"
          "        <processingSoftware><softwareName>blotter</softwareName>"
          "</processingSoftware>\n"
          "      </ocrProcessingStep>\n"
          "    </OCRProcessing>\n"
          "  </Description>\n",
          f);
    if (p->nfields) {
        fputs("  <Tags>\n", f);
        for (int i = 0; i < p->nfields; i++) {
            fprintf(f, "    <OtherTag ID=\"T%d\" LABEL=\"", i + 1);
            xml_text(f, p->fields[i].name);
            fputs("\" TYPE=\"field\"/>\n", f);
        }
        fputs("  </Tags>\n", f);
    }
    fprintf(f,
            "  <Layout>\n"
            "    <Page ID=\"P1\" PHYSICAL_IMG_NR=\"%d\" WIDTH=\"%d\" HEIGHT=\"%d\">\n"
            "      <PrintSpace HPOS=\"0\" VPOS=\"0\" WIDTH=\"%d\" HEIGHT=\"%d\">\n",
            p->page_index + 1, p->width, p->height, p->width, p->height);
    for (int i = 0; i < p->nfields; i++) {
        const ex_field *e = &p->fields[i];
        int n = i + 1;
        char box[96];
        snprintf(box, sizeof box, "HPOS=\"%d\" VPOS=\"%d\" WIDTH=\"%d\" HEIGHT=\"%d\"", e->x,
                 e->y, e->w, e->h);
        fprintf(f,
                "        <TextBlock ID=\"B%d\" %s TAGREFS=\"T%d\">\n"
                "          <TextLine ID=\"L%d\" %s>\n"
                "            <String ID=\"S%d\" %s CONTENT=\"",
                n, box, n, n, box, n, box);
        xml_text(f, e->value);
        fprintf(f, "\" WC=\"%.4f\"/>\n          </TextLine>\n        </TextBlock>\n",
                e->confidence);
    }
    fputs("      </PrintSpace>\n    </Page>\n  </Layout>\n</alto>\n", f);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "blotter export: %s: write failed\n", path);
        return -1;
    }
    return 0;
}

static void page_clear(ex_page *p)
{
    for (int i = 0; i < p->nfields; i++) {
        free(p->fields[i].name);
        free(p->fields[i].value);
        free(p->fields[i].machine);
        free(p->fields[i].state);
    }
    free(p->fields);
    free(p->source_path);
    memset(p, 0, sizeof *p);
}

static char *col_dup(sqlite3_stmt *st, int c)
{
    const char *s = (const char *)sqlite3_column_text(st, c);
    return bl_xstrdup(s ? s : "");
}

/* JSON needs UTF-8: bytes of another encoding are shown as '?'. */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *copy = bl_xstrdup(s);
    for (char *q = copy; *q; q++)
        if ((unsigned char)*q >= 0x80)
            *q = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

/* Finishes one page: its ALTO file and its JSON object. */
static int page_flush(ex_page *p, const char *out_dir, int number, json_t *pages,
                      char *alto_name, size_t alto_size)
{
    snprintf(alto_name, alto_size, "alto/page-%04d.xml", number);
    char path[BL_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", out_dir, alto_name);
    if (write_alto(path, p))
        return -1;
    json_t *fields = json_array();
    for (int i = 0; i < p->nfields; i++) {
        const ex_field *e = &p->fields[i];
        json_array_append_new(
            fields, json_pack("{s:o, s:o, s:f, s:b, s:i, s:i, s:i, s:i, s:o, s:o}", "field_name",
                              jstr(e->name), "value", jstr(e->value), "confidence",
                              e->confidence, "needs_review", e->needs_review, "x", e->x, "y",
                              e->y, "w", e->w, "h", e->h, "machine_value", jstr(e->machine),
                              "review_state", jstr(e->state)));
    }
    json_array_append_new(pages, json_pack("{s:o, s:i, s:i, s:i, s:s, s:o}", "source_path",
                                           jstr(p->source_path), "page_index", p->page_index,
                                           "width", p->width, "height", p->height, "alto",
                                           alto_name, "fields", fields));
    return 0;
}

int bl_cmd_export(int argc, char **argv)
{
    const char *db_path = NULL, *batch = NULL, *out_dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--db") == 0 && v) {
            db_path = argv[++i];
        } else if (strcmp(a, "--batch") == 0 && v) {
            batch = argv[++i];
        } else if (strcmp(a, "--out") == 0 && v) {
            out_dir = argv[++i];
        } else {
            fprintf(stderr, "blotter export: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!db_path || !batch || !out_dir) {
        fprintf(stderr, "blotter export: --db, --batch and --out are required\n");
        usage(stderr);
        return 2;
    }

    int status = 1;
    bl_err err = {0};
    sqlite3_stmt *st = NULL;
    FILE *csv = NULL;
    json_t *pages = json_array();
    ex_page page = {0};
    long long rows = 0;
    int npages = 0;
    char path[BL_PATH_MAX], alto_name[64] = "";

    bl_db *db = bl_db_open_existing(db_path, &err);
    if (!db) {
        fprintf(stderr, "blotter export: %s\n", err.msg);
        goto done;
    }
    sqlite3 *h = bl_db_handle(db);
    /* Pages left-joined to their fields, so a page without fields still
     * gets its ALTO file; one read transaction for all three outputs. */
    const char *sql =
        "SELECT d.source_path, p.page_index, p.width, p.height, p.id, v.field_name,"
        " v.value, v.confidence, v.needs_review, v.x, v.y, v.w, v.h, v.machine_value,"
        " v.review_state, v.reviewed_by, v.reviewed_at"
        " FROM pages p JOIN documents d ON d.id = p.document_id"
        " JOIN batches b ON b.id = d.batch_id"
        " LEFT JOIN v_fields v ON v.page_id = p.id"
        " WHERE b.name = ?1 ORDER BY d.source_path, p.page_index, v.field_index";
    if (sqlite3_exec(h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK
        || sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK
        || sqlite3_bind_text(st, 1, batch, -1, SQLITE_STATIC) != SQLITE_OK) {
        fprintf(stderr, "blotter export: %s: %s\n", db_path, sqlite3_errmsg(h));
        goto done;
    }
    snprintf(path, sizeof path, "%s/alto", out_dir);
    if (make_dir(out_dir) || make_dir(path))
        goto done;
    /* The batch name becomes a file name: a '/' would leave the folder. */
    char safe[256];
    bl_strlcpy(safe, batch, sizeof safe);
    for (char *q = safe; *q; q++)
        if (*q == '/' || (q == safe && *q == '.'))
            *q = '_';
    snprintf(path, sizeof path, "%s/%s.csv", out_dir, safe);
    csv = fopen(path, "w");
    if (!csv) {
        fprintf(stderr, "blotter export: %s: %s\n", path, strerror(errno));
        goto done;
    }
    fputs("batch,source_path,page_index,field_name,value,confidence,needs_review,"
          "x,y,w,h,machine_value,review_state,reviewed_by,reviewed_at,alto\r\n",
          csv);

    int64_t current = -1;
    int rc;
    /* ALTO names are known when a page is flushed, so CSV lines of a page
     * wait in a buffer until then. */
    char *pending = NULL;
    size_t pending_len = 0;
    FILE *pend = NULL;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t page_id = sqlite3_column_int64(st, 4);
        if (page_id != current) {
            if (current >= 0) {
                if (page_flush(&page, out_dir, ++npages, pages, alto_name, sizeof alto_name))
                    goto done_pend;
                fclose(pend);
                pend = NULL;
                /* The page's CSV lines end with its ALTO file's name. */
                for (char *line = pending, *nl; line && *line; line = nl + 1) {
                    nl = strchr(line, '\n');
                    fwrite(line, 1, (size_t)(nl - line), csv);
                    fprintf(csv, ",%s\r\n", alto_name);
                }
                free(pending);
                pending = NULL;
                page_clear(&page);
            }
            current = page_id;
            page.source_path = col_dup(st, 0);
            page.page_index = sqlite3_column_int(st, 1);
            page.width = sqlite3_column_int(st, 2);
            page.height = sqlite3_column_int(st, 3);
            pend = open_memstream(&pending, &pending_len);
        }
        if (sqlite3_column_type(st, 5) == SQLITE_NULL)
            continue; /* a page without fields */
        if (page.nfields == page.cap) {
            page.cap = page.cap ? 2 * page.cap : 16;
            page.fields = bl_xrealloc(page.fields, (size_t)page.cap * sizeof *page.fields);
        }
        ex_field *e = &page.fields[page.nfields++];
        e->name = col_dup(st, 5);
        e->value = col_dup(st, 6);
        e->confidence = sqlite3_column_double(st, 7);
        e->needs_review = sqlite3_column_int(st, 8);
        e->x = sqlite3_column_int(st, 9);
        e->y = sqlite3_column_int(st, 10);
        e->w = sqlite3_column_int(st, 11);
        e->h = sqlite3_column_int(st, 12);
        e->machine = col_dup(st, 13);
        e->state = col_dup(st, 14);
        bl_csv_cell(pend, batch);
        fputc(',', pend);
        bl_csv_cell(pend, page.source_path);
        fprintf(pend, ",%d,", page.page_index);
        bl_csv_cell(pend, e->name);
        fputc(',', pend);
        bl_csv_cell(pend, e->value);
        fprintf(pend, ",%s,%d,%d,%d,%d,%d,", (const char *)sqlite3_column_text(st, 7),
                e->needs_review, e->x, e->y, e->w, e->h);
        bl_csv_cell(pend, e->machine);
        fputc(',', pend);
        bl_csv_cell(pend, e->state);
        fputc(',', pend);
        bl_csv_cell(pend, (const char *)(sqlite3_column_text(st, 15) ? sqlite3_column_text(st, 15)
                                                                  : (const unsigned char *)""));
        fputc(',', pend);
        bl_csv_cell(pend, (const char *)(sqlite3_column_text(st, 16) ? sqlite3_column_text(st, 16)
                                                                  : (const unsigned char *)""));
        fputc('\n', pend);
        rows++;
    }
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "blotter export: %s: %s\n", db_path, sqlite3_errmsg(h));
        goto done_pend;
    }
    if (current >= 0) {
        if (page_flush(&page, out_dir, ++npages, pages, alto_name, sizeof alto_name))
            goto done_pend;
        fclose(pend);
        pend = NULL;
        for (char *line = pending, *nl; line && *line; line = nl + 1) {
            nl = strchr(line, '\n');
            fwrite(line, 1, (size_t)(nl - line), csv);
            fprintf(csv, ",%s\r\n", alto_name);
        }
    }
    if (npages == 0) {
        fprintf(stderr, "blotter export: %s: no batch '%s' (or it has no pages)\n", db_path,
                batch);
        goto done_pend;
    }
    int bad = ferror(csv);
    if (fclose(csv) != 0 || bad) {
        csv = NULL;
        fprintf(stderr, "blotter export: %s/%s.csv: write failed\n", out_dir, safe);
        goto done_pend;
    }
    csv = NULL;
    json_t *doc = json_pack("{s:o, s:O}", "batch", jstr(batch), "pages", pages);
    snprintf(path, sizeof path, "%s/%s.json", out_dir, safe);
    if (json_dump_file(doc, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))) {
        fprintf(stderr, "blotter export: %s: write failed\n", path);
        json_decref(doc);
        goto done_pend;
    }
    json_decref(doc);
    sqlite3_finalize(st);
    st = NULL;
    sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
    json_t *params = json_pack("{s:o, s:o}", "batch", jstr(batch), "out", jstr(out_dir));
    char *ptext = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(params);
    int arc = bl_db_audit(db, "export", ptext ? ptext : "{}", rows, &err);
    free(ptext);
    if (arc) {
        fprintf(stderr, "blotter export: %s: audit: %s\n", db_path, err.msg);
        goto done_pend;
    }
    printf("exported %s: %d page%s, %lld field%s to %s\n", batch, npages,
           npages == 1 ? "" : "s", rows, rows == 1 ? "" : "s", out_dir);
    status = 0;
done_pend:
    if (pend)
        fclose(pend);
    free(pending);
done:
    page_clear(&page);
    if (csv)
        fclose(csv);
    sqlite3_finalize(st);
    if (db && !sqlite3_get_autocommit(bl_db_handle(db)))
        sqlite3_exec(bl_db_handle(db), "COMMIT", NULL, NULL, NULL);
    bl_db_close(&db);
    json_decref(pages);
    return status;
}
