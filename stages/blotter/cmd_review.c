/*
 * blotter review: the human verification queue.
 *
 *   review export --db F --out DIR [--batch B] [--root DIR] [--limit N]
 *       For each field flagged needs_review and not reviewed yet, cuts the
 *       field's box out of the source file (the path stored with the page,
 *       read again; relative paths are taken from --root, default the
 *       current directory) with a small margin, writes it as
 *       DIR/crops/<field_id>.png, and writes the sheet DIR/review.csv and
 *       DIR/review.json: one entry per field with its id, place (file,
 *       page, field name, box in the file's pixels), machine value, confidence, rule, the three best readings of each digit, the
 *       crop's file name and an empty `new_value` for the reviewer. A
 *       source file that cannot be read is reported with its reason and
 *       its fields stay on the sheet without a crop; the rest goes on.
 *
 *   review import [--db F] FILE
 *       Reads an edited sheet (.csv or .json: the export's format) and
 *       stores each filled-in new_value as a review (who: $BLOTTER_USER or
 *       the login name; when; the value shown and the new one; FILE), in
 *       one transaction. The machine reading stays in fields.value; v_fields
 *       shows the new value. Rows left empty are skipped; a bad row (not
 *       digits, unknown field) is reported with its line and the others are
 *       stored. Exit status 1 if any row was bad.
 *
 * Both are audited. The database comes from --db or the configuration.
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
#include "conf/conf.h"
#include "db/db.h"
#include "db/records.h"
#include "image/image.h"

#define CROP_MARGIN 8 /* source pixels of context around the field's box */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: blotter review export [--config F] [--db F] --out DIR [--batch B]"
            " [--root DIR] [--limit N]\n"
            "       blotter review import [--config F] [--db F] FILE.csv|FILE.json\n"
            "  export: crops of the flagged, unreviewed fields as PNG with a CSV and a\n"
            "          JSON sheet; fill in new_value and import the sheet.\n"
            "  import: stores the sheet's new values as reviews (the machine reading\n"
            "          is kept).\n");
}

static const char *default_db(const char *config, char *buf, size_t size)
{
    bl_conf conf;
    char path[BL_PATH_MAX];
    bl_err err = {0};
    bl_conf_defaults(&conf);
    bl_conf_locate(config, path, sizeof path);
    if (path[0] && bl_conf_load(&conf, path, &err)) {
        fprintf(stderr, "blotter review: %s\n", err.msg);
        return NULL;
    }
    bl_strlcpy(buf, conf.database, size);
    return buf;
}

static const char *coltext(sqlite3_stmt *st, int c)
{
    const char *s = (const char *)sqlite3_column_text(st, c);
    return s ? s : "";
}

/* "7:0.91 1:0.05 2:0.01" for each digit, digits separated by '|'. */
static void digit_alternatives(sqlite3 *h, int64_t field_id, char *out, size_t size)
{
    sqlite3_stmt *st = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(h,
                           "SELECT p0, p1, p2, p3, p4, p5, p6, p7, p8, p9 FROM digits"
                           " WHERE field_id = ?1 ORDER BY digit_index",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, field_id);
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW && n < size) {
        double p[10];
        int order[10];
        for (int c = 0; c < 10; c++) {
            p[c] = sqlite3_column_double(st, c);
            order[c] = c;
        }
        for (int k = 0; k < 3; k++)
            for (int j = k + 1; j < 10; j++)
                if (p[order[j]] > p[order[k]]) {
                    int t = order[k];
                    order[k] = order[j];
                    order[j] = t;
                }
        n += (size_t)snprintf(out + n, size - n, "%s%d:%.2f %d:%.2f %d:%.2f", n ? "|" : "",
                              order[0], p[order[0]], order[1], p[order[1]], order[2],
                              p[order[2]]);
    }
    sqlite3_finalize(st);
}

/* The open source file: pages are read again only when the file or page
 * changes (the sheet is ordered by file and page). */
typedef struct src_cache {
    char path[BL_PATH_MAX];
    int page_index;
    bl_image *page;
    char failure[BL_ERR_MSG_MAX]; /* non-empty: this file/page failed */
} src_cache;

static const bl_image *src_page(src_cache *c, const char *path, int page_index)
{
    if (strcmp(c->path, path) == 0 && c->page_index == page_index)
        return c->page;
    bl_image_destroy(&c->page);
    bl_strlcpy(c->path, path, sizeof c->path);
    c->page_index = page_index;
    c->failure[0] = '\0';
    bl_image_limits limits;
    bl_image_limits_default(&limits);
    bl_err err = {0};
    bl_scan *scan = bl_scan_open(path, &limits, &err);
    if (scan)
        c->page = bl_scan_read_page(scan, page_index, NULL, &err);
    bl_scan_close(&scan);
    if (!c->page) {
        bl_strlcpy(c->failure, err.msg, sizeof c->failure);
        fprintf(stderr, "blotter review: %s; its crops are left out\n", err.msg);
    }
    return c->page;
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST)
        return 0;
    fprintf(stderr, "blotter review: %s: %s\n", path, strerror(errno));
    return -1;
}

static int review_export(int argc, char **argv)
{
    const char *db_path = NULL, *out_dir = NULL, *batch = NULL, *root = NULL,
               *config = NULL;
    long long limit = -1;
    char dbbuf[BL_PATH_MAX];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (!v) {
            fprintf(stderr, "blotter review export: unknown or incomplete option '%s'\n", a);
            return 2;
        } else if (strcmp(a, "--db") == 0) {
            db_path = argv[++i];
        } else if (strcmp(a, "--config") == 0) {
            config = argv[++i];
        } else if (strcmp(a, "--out") == 0) {
            out_dir = argv[++i];
        } else if (strcmp(a, "--batch") == 0) {
            batch = argv[++i];
        } else if (strcmp(a, "--root") == 0) {
            root = argv[++i];
        } else if (strcmp(a, "--limit") == 0) {
            char *end;
            limit = strtoll(argv[++i], &end, 10);
            if (*end || limit < 0) {
                fprintf(stderr, "blotter review export: --limit wants a count\n");
                return 2;
            }
        } else {
            fprintf(stderr, "blotter review export: unknown option '%s'\n", a);
            return 2;
        }
    }
    if (!out_dir) {
        fprintf(stderr, "blotter review export: --out DIR is required\n");
        return 2;
    }
    if (!db_path && !(db_path = default_db(config, dbbuf, sizeof dbbuf)))
        return 2;

    int status = 1;
    bl_err err = {0};
    sqlite3_stmt *st = NULL;
    FILE *csv = NULL;
    json_t *sheet = json_array();
    src_cache cache = {.page_index = -1};
    long long rows = 0, crops = 0;
    char path[BL_PATH_MAX], crop_dir[BL_PATH_MAX];

    bl_db *db = bl_db_open_existing(db_path, &err);
    if (!db) {
        fprintf(stderr, "blotter review: %s\n", err.msg);
        goto done;
    }
    sqlite3 *h = bl_db_handle(db);
    if (sqlite3_exec(h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK
        || sqlite3_prepare_v2(h,
                              "SELECT field_id, batch, source_path, page_index, field_name,"
                              " value, confidence, rule, x, y, w, h FROM v_fields"
                              " WHERE review_state = 'pending'"
                              " AND (?1 IS NULL OR batch = ?1)"
                              " ORDER BY batch, source_path, page_index, field_index"
                              " LIMIT ?2",
                              -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "blotter review: %s: %s\n", db_path, sqlite3_errmsg(h));
        goto done;
    }
    if (batch)
        sqlite3_bind_text(st, 1, batch, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, limit);
    snprintf(crop_dir, sizeof crop_dir, "%s/crops", out_dir);
    if (make_dir(out_dir) || make_dir(crop_dir))
        goto done;
    snprintf(path, sizeof path, "%s/review.csv", out_dir);
    if (!(csv = fopen(path, "w"))) {
        fprintf(stderr, "blotter review: %s: %s\n", path, strerror(errno));
        goto done;
    }
    fputs("field_id,batch,source_path,page_index,field_name,x,y,w,h,value,confidence,rule,"
          "alternatives,crop,new_value\r\n",
          csv);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        const char *src = coltext(st, 2);
        int page_index = sqlite3_column_int(st, 3);
        bl_box box = {sqlite3_column_int(st, 8) - CROP_MARGIN,
                      sqlite3_column_int(st, 9) - CROP_MARGIN,
                      sqlite3_column_int(st, 10) + 2 * CROP_MARGIN,
                      sqlite3_column_int(st, 11) + 2 * CROP_MARGIN};
        char full[BL_PATH_MAX];
        if (root && src[0] != '/')
            snprintf(full, sizeof full, "%s/%s", root, src);
        else
            bl_strlcpy(full, src, sizeof full);
        char crop_name[64] = "";
        const bl_image *page = src_page(&cache, full, page_index);
        if (page) {
            if (box.x < 0) box.w += box.x, box.x = 0;
            if (box.y < 0) box.h += box.y, box.y = 0;
            bl_image *crop = box.w > 0 && box.h > 0 && box.x < page->width
                                     && box.y < page->height
                                 ? bl_image_crop(page, box)
                                 : NULL;
            if (!crop) {
                fprintf(stderr, "blotter review: %s: page %d: field %lld's box lies outside"
                                " the page; no crop\n", full, page_index, (long long)id);
            } else {
                snprintf(crop_name, sizeof crop_name, "crops/%lld.png", (long long)id);
                snprintf(path, sizeof path, "%s/%s", out_dir, crop_name);
                if (bl_image_write_png(crop, path, 300.0, 0, &err)) {
                    fprintf(stderr, "blotter review: %s\n", err.msg);
                    crop_name[0] = '\0';
                } else {
                    crops++;
                }
                bl_image_destroy(&crop);
            }
        }
        char alts[512];
        digit_alternatives(h, id, alts, sizeof alts);
        fprintf(csv, "%lld,", (long long)id);
        bl_csv_cell(csv, coltext(st, 1));
        fputc(',', csv);
        bl_csv_cell(csv, src);
        fprintf(csv, ",%d,", page_index);
        bl_csv_cell(csv, coltext(st, 4));
        fprintf(csv, ",%d,%d,%d,%d,", sqlite3_column_int(st, 8), sqlite3_column_int(st, 9),
                sqlite3_column_int(st, 10), sqlite3_column_int(st, 11));
        bl_csv_cell(csv, coltext(st, 5));
        fprintf(csv, ",%.4f,", sqlite3_column_double(st, 6));
        bl_csv_cell(csv, coltext(st, 7));
        fputc(',', csv);
        bl_csv_cell(csv, alts);
        fprintf(csv, ",%s,\r\n", crop_name);
        json_t *o = json_pack("{s:I, s:s, s:s, s:i, s:s, s:[iiii], s:s, s:f, s:s, s:s, s:s?,"
                              " s:n}",
                              "field_id", (json_int_t)id, "batch", coltext(st, 1),
                              "source_path", src, "page_index", page_index, "field_name",
                              coltext(st, 4), "box", sqlite3_column_int(st, 8),
                              sqlite3_column_int(st, 9), sqlite3_column_int(st, 10),
                              sqlite3_column_int(st, 11), "value", coltext(st, 5), "confidence",
                              sqlite3_column_double(st, 6), "rule", coltext(st, 7),
                              "alternatives", alts, "crop", crop_name[0] ? crop_name : NULL,
                              "new_value");
        if (o)
            json_array_append_new(sheet, o);
        rows++;
    }
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "blotter review: %s: %s\n", db_path, sqlite3_errmsg(h));
        goto done;
    }
    int bad = ferror(csv);
    if (fclose(csv) != 0 || bad) {
        csv = NULL;
        fprintf(stderr, "blotter review: %s/review.csv: write failed\n", out_dir);
        goto done;
    }
    csv = NULL;
    snprintf(path, sizeof path, "%s/review.json", out_dir);
    if (json_dump_file(sheet, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) {
        fprintf(stderr, "blotter review: %s: write failed\n", path);
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
    json_t *params = json_pack("{s:s?, s:s, s:I}", "batch", batch, "out", out_dir, "limit",
                               (json_int_t)limit);
    char *ptext = params ? json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(params);
    int arc = bl_db_audit(db, "review export", ptext ? ptext : "{}", rows, &err);
    free(ptext);
    if (arc) {
        fprintf(stderr, "blotter review: %s: audit: %s\n", db_path, err.msg);
        goto done;
    }
    printf("review sheet: %lld field%s, %lld crop%s in %s\n", rows, rows == 1 ? "" : "s",
           crops, crops == 1 ? "" : "s", out_dir);
    status = 0;
done:
    bl_image_destroy(&cache.page);
    if (csv)
        fclose(csv);
    sqlite3_finalize(st);
    if (db && !sqlite3_get_autocommit(bl_db_handle(db)))
        sqlite3_exec(bl_db_handle(db), "ROLLBACK", NULL, NULL, NULL);
    bl_db_close(&db);
    json_decref(sheet);
    return status;
}

/* ---- import ------------------------------------------------------------- */

/* One parsed row of a sheet: the fields import needs. */
typedef struct sheet_row {
    long line;           /* 1-based line (CSV) or entry (JSON) */
    long long field_id;  /* -1 when missing or bad */
    char value[128];     /* the value shown */
    char new_value[128]; /* "" when not filled in */
} sheet_row;

/* Reads one RFC 4180 record into cells (at most max), each a malloc'd
 * string. Returns the number of cells, 0 at the end of the file. */
static int csv_record(FILE *f, char **cells, int max, long *line)
{
    int n = 0, c;
    int quoted = 0, any = 0;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        c = fgetc(f);
        if (c == EOF && !any)
            break;
        any = 1;
        if (quoted) {
            if (c == EOF)
                break;
            if (c == '"') {
                int d = fgetc(f);
                if (d != '"') {
                    quoted = 0;
                    if (d != EOF)
                        ungetc(d, f);
                    continue;
                }
            } else if (c == '\n') {
                (*line)++;
            }
        } else if (c == '"') {
            quoted = 1;
            continue;
        } else if (c == ',' || c == '\n' || c == EOF) {
            if (len && buf[len - 1] == '\r')
                len--;
            if (n < max) {
                cells[n] = bl_xmalloc(len + 1);
                if (len)
                    memcpy(cells[n], buf, len);
                cells[n][len] = '\0';
                n++;
            }
            len = 0;
            if (c != ',') {
                (*line)++;
                break;
            }
            continue;
        }
        if (len + 1 >= cap) {
            cap = cap ? 2 * cap : 64;
            buf = bl_xrealloc(buf, cap);
        }
        buf[len++] = (char)c;
    }
    free(buf);
    return n;
}

/* Parses the sheet into rows (*out, *count). Bad files return -1. */
static int read_sheet(const char *file, sheet_row **out, long *count)
{
    *out = NULL;
    *count = 0;
    size_t n = strlen(file);
    long cap = 0;
    if (n > 5 && strcmp(file + n - 5, ".json") == 0) {
        json_error_t jerr;
        json_t *root = json_load_file(file, 0, &jerr);
        if (!root || !json_is_array(root)) {
            fprintf(stderr, "blotter review: %s: %s\n", file,
                    root ? "not a JSON array of fields" : jerr.text);
            json_decref(root);
            return -1;
        }
        size_t i;
        json_t *o;
        *out = bl_xcalloc(json_array_size(root) + 1, sizeof **out);
        json_array_foreach(root, i, o) {
            sheet_row *r = &(*out)[(*count)++];
            r->line = (long)i + 1;
            json_t *id = json_object_get(o, "field_id");
            r->field_id = json_is_integer(id) ? (long long)json_integer_value(id) : -1;
            const char *v = json_string_value(json_object_get(o, "value"));
            bl_strlcpy(r->value, v ? v : "", sizeof r->value);
            json_t *nv = json_object_get(o, "new_value");
            if (json_is_string(nv))
                bl_strlcpy(r->new_value, json_string_value(nv), sizeof r->new_value);
            else if (json_is_integer(nv))
                snprintf(r->new_value, sizeof r->new_value, "%lld",
                         (long long)json_integer_value(nv));
        }
        json_decref(root);
        return 0;
    }
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "blotter review: %s: %s\n", file, strerror(errno));
        return -1;
    }
    char *cells[32];
    long line = 0;
    int ncells = csv_record(f, cells, 32, &line);
    int col_id = -1, col_value = -1, col_new = -1;
    for (int i = 0; i < ncells; i++) {
        if (strcmp(cells[i], "field_id") == 0) col_id = i;
        if (strcmp(cells[i], "value") == 0) col_value = i;
        if (strcmp(cells[i], "new_value") == 0) col_new = i;
    }
    for (int i = 0; i < ncells; i++)
        free(cells[i]);
    if (col_id < 0 || col_value < 0 || col_new < 0) {
        fprintf(stderr, "blotter review: %s: the header needs field_id, value and new_value"
                        " columns\n", file);
        fclose(f);
        return -1;
    }
    for (;;) {
        long at = line + 1;
        ncells = csv_record(f, cells, 32, &line);
        if (ncells == 0)
            break;
        if (*count == cap) {
            cap = cap ? 2 * cap : 64;
            *out = bl_xrealloc(*out, (size_t)cap * sizeof **out);
        }
        sheet_row *r = &(*out)[(*count)++];
        memset(r, 0, sizeof *r);
        r->line = at;
        r->field_id = -1;
        if (col_id < ncells) {
            char *end;
            long long id = strtoll(cells[col_id], &end, 10);
            if (*cells[col_id] && !*end && id > 0)
                r->field_id = id;
        }
        if (col_value < ncells)
            bl_strlcpy(r->value, cells[col_value], sizeof r->value);
        if (col_new < ncells)
            bl_strlcpy(r->new_value, cells[col_new], sizeof r->new_value);
        for (int i = 0; i < ncells; i++)
            free(cells[i]);
    }
    fclose(f);
    return 0;
}

static int review_import(int argc, char **argv)
{
    const char *db_path = NULL, *config = NULL, *file = NULL;
    char dbbuf[BL_PATH_MAX];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--db") == 0 && i + 1 < argc) {
            db_path = argv[++i];
        } else if (strcmp(a, "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (a[0] != '-' && !file) {
            file = a;
        } else {
            fprintf(stderr, "blotter review import: unknown or incomplete argument '%s'\n", a);
            return 2;
        }
    }
    if (!file) {
        fprintf(stderr, "blotter review import: which sheet? (FILE.csv or FILE.json)\n");
        return 2;
    }
    if (!db_path && !(db_path = default_db(config, dbbuf, sizeof dbbuf)))
        return 2;
    sheet_row *rows = NULL;
    long nrows = 0;
    if (read_sheet(file, &rows, &nrows))
        return 1;

    int status = 1;
    bl_err err = {0};
    long stored = 0, skipped = 0, bad = 0;
    char who[256];
    bl_db_audit_who(who, sizeof who);
    bl_db *db = bl_db_open_existing(db_path, &err);
    if (!db) {
        fprintf(stderr, "blotter review: %s\n", err.msg);
        goto done;
    }
    sqlite3 *h = bl_db_handle(db);
    if (sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "blotter review: %s: %s\n", db_path, sqlite3_errmsg(h));
        goto done;
    }
    for (long i = 0; i < nrows; i++) {
        const sheet_row *r = &rows[i];
        if (!r->new_value[0]) {
            skipped++;
            continue;
        }
        if (r->field_id < 0) {
            fprintf(stderr, "blotter review: %s: line %ld: no valid field_id\n", file, r->line);
            bad++;
            continue;
        }
        int rc = bl_db_review_add(db, r->field_id, who, r->value, r->new_value, file, &err);
        if (rc == BL_EINVAL || rc == BL_ENOENT) {
            fprintf(stderr, "blotter review: %s: line %ld: %s\n", file, r->line, err.msg);
            bad++;
        } else if (rc) {
            fprintf(stderr, "blotter review: %s: %s\n", db_path, err.msg);
            goto done;
        } else {
            stored++;
        }
    }
    json_t *params = json_pack("{s:s, s:I, s:I, s:I}", "file", file, "stored",
                               (json_int_t)stored, "skipped", (json_int_t)skipped, "bad",
                               (json_int_t)bad);
    char *ptext = params ? json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(params);
    int arc = bl_db_audit(db, "review import", ptext ? ptext : "{}", stored, &err);
    free(ptext);
    if (arc) {
        fprintf(stderr, "blotter review: %s: audit: %s\n", db_path, err.msg);
        goto done;
    }
    if (sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "blotter review: %s: %s\n", db_path, sqlite3_errmsg(h));
        goto done;
    }
    printf("reviews stored: %ld, left empty: %ld, bad rows: %ld\n", stored, skipped, bad);
    status = bad ? 1 : 0;
done:
    if (db && !sqlite3_get_autocommit(bl_db_handle(db)))
        sqlite3_exec(bl_db_handle(db), "ROLLBACK", NULL, NULL, NULL);
    bl_db_close(&db);
    free(rows);
    return status;
}

int bl_cmd_review(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "export") == 0)
        return review_export(argc - 1, argv + 1);
    if (strcmp(argv[1], "import") == 0)
        return review_import(argc - 1, argv + 1);
    fprintf(stderr, "blotter review: unknown subcommand '%s' (export or import)\n", argv[1]);
    usage(stderr);
    return 2;
}
