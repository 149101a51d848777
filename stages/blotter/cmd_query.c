/*
 * blotter query: lists recognised fields from the stable view v_fields
 * (DESIGN.md, "Records: the stable view"; docs/SCHEMA.md).
 *
 * Filters become fixed SQL fragments with bound parameters; nothing the
 * user types is ever spliced into SQL. A value prefix is matched with GLOB
 * (case-sensitive, so SQLite can use the index on fields.value) after its
 * wildcard characters are bracketed into literals.
 *
 * Output: an aligned table for people (two passes over the result inside
 * one read transaction: the first measures the columns, so memory does not
 * grow with the result), RFC 4180 CSV with a header, or a JSON array of
 * objects, both streamed row by row. The database is never created; the
 * rows are read in one read transaction, and then one audit row records
 * who asked what (the bound parameters) and how many rows came back.
 *
 * With --digits the rows are digits instead of fields: each digit's three
 * most probable classes with their probabilities, from the stored p0..p9.
 * Exit status: 0 done, 1 failure, 2 bad usage.
 */
#include <assert.h>
#include <getopt.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blotter/commands.h"
#include "conf/conf.h"
#include "db/db.h"
#include "db/records.h"

typedef enum { FMT_TABLE, FMT_CSV, FMT_JSON } query_format;

typedef struct query_opts {
    const char *db;
    const char *batch;
    const char *file;
    const char *field;
    const char *value;
    const char *prefix;
    const char *stored_from, *stored_to; /* pages.stored_at, ISO 8601 */
    const char *date_from, *date_to;     /* the field's own date (rule date=) */
    const char *state;                   /* review state */
    double min_conf, max_conf;           /* < 0: not given */
    int review;
    int digits;      /* one row per digit with its top-3 classes */
    int provenance;  /* add the machine value and the review's provenance */
    long long limit; /* -1: all */
    query_format format;
} query_opts;

typedef enum { K_TEXT, K_INT, K_REAL, K_BOOL } col_kind;

typedef struct qcol {
    const char *name; /* v_fields' name, CSV and JSON key */
    const char *head; /* table head */
    col_kind kind;
} qcol;

/* Field rows: the SQL's columns in this order. */
static const qcol FIELD_COLS[] = {
    {"batch", "batch", K_TEXT},
    {"source_path", "source_path", K_TEXT},
    {"page_index", "page", K_INT},
    {"field_name", "field", K_TEXT},
    {"value", "value", K_TEXT},
    {"confidence", "confidence", K_REAL},
    {"needs_review", "review", K_BOOL},
    {"x", "x", K_INT},
    {"y", "y", K_INT},
    {"w", "w", K_INT},
    {"h", "h", K_INT},
    /* --provenance */
    {"machine_value", "machine", K_TEXT},
    {"review_state", "state", K_TEXT},
    {"reviewed_by", "by", K_TEXT},
    {"reviewed_at", "at", K_TEXT},
};
#define FIELD_BASE 11
#define FIELD_ALL 15

/* Digit rows: the first six come from the SQL, the top-3 are computed
 * from the ten probabilities that follow them in the statement. */
static const qcol DIGIT_COLS[] = {
    {"batch", "batch", K_TEXT},
    {"source_path", "source_path", K_TEXT},
    {"page_index", "page", K_INT},
    {"field_name", "field", K_TEXT},
    {"value", "value", K_TEXT},
    {"digit_index", "digit", K_INT},
    {"top1", "top1", K_INT},
    {"p_top1", "p1", K_REAL},
    {"top2", "top2", K_INT},
    {"p_top2", "p2", K_REAL},
    {"top3", "top3", K_INT},
    {"p_top3", "p3", K_REAL},
};
#define DIGIT_SQL_COLS 6
#define DIGIT_ALL 12
#define MAX_COLS 16

/* One row as cells: text for the table and CSV, a number for JSON. */
typedef struct qrow {
    int n;
    const qcol *col;
    const char *text[MAX_COLS];
    double num[MAX_COLS];
    int null[MAX_COLS];
    char buf[MAX_COLS][32];
} qrow;

/* Where the records are when --db is not given: the `database` key of the
 * pipeline configuration (--config, else the usual search; see conf.h).
 * A configuration that does not load is an error, not a silent default. */
static char default_db[BL_PATH_MAX];

static const char *query_default_db(const char *config)
{
    bl_conf conf;
    char path[BL_PATH_MAX];
    bl_err err = {0};
    bl_conf_defaults(&conf);
    bl_conf_locate(config, path, sizeof path);
    if (path[0] && bl_conf_load(&conf, path, &err)) {
        fprintf(stderr, "blotter query: %s\n", err.msg);
        return NULL;
    }
    bl_strlcpy(default_db, conf.database, sizeof default_db);
    return default_db;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: blotter query [--config FILE] [--db FILE] [--batch NAME] [--file PATH] "
            "[--field NAME]\n"
            "                     [--value V | --prefix P] [--review] [--state S]\n"
            "                     [--stored-from T] [--stored-to T] [--date-from D] "
            "[--date-to D]\n"
            "                     [--min-conf X] [--max-conf Y] [--digits] [--provenance]\n"
            "                     [--limit N] [--csv | --json]\n"
            "  Lists recognised fields, in batch, file, page and reading order.\n"
            "  --config FILE  pipeline configuration naming the database\n"
            "  --db FILE      database (default: [pipeline] database of the\n"
            "                 configuration)\n"
            "  --batch NAME   only this batch\n"
            "  --file PATH    only this input file, as it was given\n"
            "  --field NAME   only fields of this name (template name or field_N)\n"
            "  --value V      only this exact value\n"
            "  --prefix P     only values starting with P\n"
            "  --review       only fields flagged for review\n"
            "  --state S      review state: none (not flagged, not reviewed), pending\n"
            "                 (flagged, not reviewed), confirmed, corrected, reviewed\n"
            "                 (confirmed or corrected)\n"
            "  --stored-from T, --stored-to T\n"
            "                 stored at or after T / at or before T (UTC, ISO 8601:\n"
            "                 2026-11-29 or 2026-11-29T08:55; a date includes its day)\n"
            "  --date-from D, --date-to D\n"
            "                 fields whose rule says date=DDMMYYYY or DDMMYY and whose\n"
            "                 value is a date from D / up to D (YYYY-MM-DD)\n"
            "  --min-conf X, --max-conf Y\n"
            "                 confidence at least X / at most Y (0..1)\n"
            "  --digits       one row per digit: its three most probable classes\n"
            "  --provenance   add machine_value, review_state, reviewed_by, reviewed_at\n"
            "  --limit N      at most N rows\n"
            "  --csv          CSV (RFC 4180) with a header row\n"
            "  --json         a JSON array of objects\n");
}

/* Returns -1 to go on, else the exit status (0 after --help, 2 on misuse). */
static int parse_args(int argc, char **argv, query_opts *o)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'C'},
        {"batch", required_argument, NULL, 'b'},
        {"file", required_argument, NULL, 'f'},
        {"field", required_argument, NULL, 'F'},
        {"value", required_argument, NULL, 'v'},
        {"prefix", required_argument, NULL, 'p'},
        {"review", no_argument, NULL, 'r'},
        {"limit", required_argument, NULL, 'l'},
        {"state", required_argument, NULL, 'S'},
        {"stored-from", required_argument, NULL, 1},
        {"stored-to", required_argument, NULL, 2},
        {"date-from", required_argument, NULL, 3},
        {"date-to", required_argument, NULL, 4},
        {"min-conf", required_argument, NULL, 5},
        {"max-conf", required_argument, NULL, 6},
        {"digits", no_argument, NULL, 7},
        {"provenance", no_argument, NULL, 8},
        {"csv", no_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (query_opts){.limit = -1, .format = FMT_TABLE, .min_conf = -1, .max_conf = -1};
    int csv = 0, json = 0;
    const char *config = NULL;
    /* 0, not 1: glibc then also forgets the previous call's state, which
     * matters when tests call the command repeatedly in one process. */
    optind = 0;
    opterr = 0; /* our own messages, in our own format */
    int c;
    while ((c = getopt_long(argc, argv, ":d:C:b:f:F:v:p:rl:cjhS:", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o->db = optarg; break;
        case 'C': config = optarg; break;
        case 'b': o->batch = optarg; break;
        case 'f': o->file = optarg; break;
        case 'F': o->field = optarg; break;
        case 'v': o->value = optarg; break;
        case 'p': o->prefix = optarg; break;
        case 'r': o->review = 1; break;
        case 'c': csv = 1; break;
        case 'j': json = 1; break;
        case 'h': usage(stdout); return 0;
        case 'S': o->state = optarg; break;
        case 1: o->stored_from = optarg; break;
        case 2: o->stored_to = optarg; break;
        case 3: o->date_from = optarg; break;
        case 4: o->date_to = optarg; break;
        case 7: o->digits = 1; break;
        case 8: o->provenance = 1; break;
        case 5:
        case 6: {
            char *end = NULL;
            double x = strtod(optarg, &end);
            if (!*optarg || *end || !(x >= 0.0 && x <= 1.0)) {
                fprintf(stderr, "blotter query: --%s wants a number from 0 to 1, not '%s'\n",
                        c == 5 ? "min-conf" : "max-conf", optarg);
                return 2;
            }
            *(c == 5 ? &o->min_conf : &o->max_conf) = x;
            break;
        }
        case 'l': {
            char *end = NULL;
            long long n = strtoll(optarg, &end, 10);
            if (!*optarg || *end || n < 0) {
                fprintf(stderr, "blotter query: --limit wants a count, not '%s'\n",
                        optarg);
                return 2;
            }
            o->limit = n;
            break;
        }
        case ':':
            fprintf(stderr, "blotter query: %s needs a value\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        default:
            fprintf(stderr, "blotter query: unknown option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "blotter query: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (o->value && o->prefix) {
        fprintf(stderr, "blotter query: --value and --prefix exclude each other\n");
        return 2;
    }
    if (csv && json) {
        fprintf(stderr, "blotter query: --csv and --json exclude each other\n");
        return 2;
    }
    if (o->state && strcmp(o->state, "none") && strcmp(o->state, "pending")
        && strcmp(o->state, "confirmed") && strcmp(o->state, "corrected")
        && strcmp(o->state, "reviewed")) {
        fprintf(stderr, "blotter query: --state wants none, pending, confirmed, corrected"
                        " or reviewed, not '%s'\n", o->state);
        return 2;
    }
    const char *dates[2] = {o->date_from, o->date_to};
    for (int i = 0; i < 2; i++) {
        const char *d = dates[i];
        if (d && !(strlen(d) == 10 && d[4] == '-' && d[7] == '-'
                   && strspn(d, "0123456789-") == 10)) {
            fprintf(stderr, "blotter query: --date-%s wants YYYY-MM-DD, not '%s'\n",
                    i ? "to" : "from", d);
            return 2;
        }
    }
    if (o->digits && o->provenance) {
        fprintf(stderr, "blotter query: --digits and --provenance exclude each other\n");
        return 2;
    }
    o->format = csv ? FMT_CSV : json ? FMT_JSON : FMT_TABLE;
    if (!o->db && !(o->db = query_default_db(config)))
        return 2;
    return -1;
}

/* "4*7" -> "4[*]7*": the user's text matched literally, then anything. */
static char *glob_prefix(const char *prefix)
{
    size_t n = strlen(prefix);
    char *out = bl_xmalloc(3 * n + 2);
    char *q = out;
    for (const char *p = prefix; *p; p++) {
        if (*p == '*' || *p == '?' || *p == '[') {
            *q++ = '[';
            *q++ = *p;
            *q++ = ']';
        } else {
            *q++ = *p;
        }
    }
    *q++ = '*';
    *q = '\0';
    return out;
}

static int bind_named(sqlite3_stmt *st, const char *name, const char *text)
{
    int i = sqlite3_bind_parameter_index(st, name);
    return i ? sqlite3_bind_text(st, i, text, -1, SQLITE_TRANSIENT) : SQLITE_OK;
}

/* The field's value as an ISO date when its rule says it is a date. */
#define VALUE_AS_DATE                                                                    \
    "(CASE WHEN instr(';' || rule || ';', ';date=DDMMYYYY;') > 0 AND length(value) = 8" \
    " THEN substr(value, 5, 4) || '-' || substr(value, 3, 2) || '-' || substr(value, 1, 2)" \
    " WHEN instr(';' || rule || ';', ';date=DDMMYY;') > 0 AND length(value) = 6"        \
    " THEN '20' || substr(value, 5, 2) || '-' || substr(value, 3, 2) || '-'"            \
    " || substr(value, 1, 2) END)"

/* The WHERE clause and ORDER BY; every user value is a named parameter. */
static void build_where(char *sql, size_t size, const query_opts *o)
{
    size_t n = strlen(sql);
#define ADD(text) (n += (size_t)snprintf(sql + n, n < size ? size - n : 0, "%s", text))
    ADD(" WHERE 1");
    if (o->batch)
        ADD(" AND batch = :batch");
    if (o->file)
        ADD(" AND source_path = :file");
    if (o->field)
        ADD(" AND field_name = :field");
    if (o->value)
        ADD(" AND value = :value");
    if (o->prefix)
        ADD(" AND value GLOB :prefix");
    if (o->review)
        ADD(" AND needs_review = 1");
    if (o->state) {
        if (strcmp(o->state, "reviewed") == 0)
            ADD(" AND review_state IN ('confirmed', 'corrected')");
        else
            ADD(" AND review_state = :state");
    }
    if (o->stored_from)
        ADD(" AND stored_at >= :stored_from");
    /* A prefix comparison makes "2026-11-29" include that whole day. */
    if (o->stored_to)
        ADD(" AND substr(stored_at, 1, length(:stored_to)) <= :stored_to");
    if (o->date_from)
        ADD(" AND " VALUE_AS_DATE " >= :date_from");
    if (o->date_to)
        ADD(" AND " VALUE_AS_DATE " <= :date_to");
    if (o->min_conf >= 0)
        ADD(" AND confidence >= :min_conf");
    if (o->max_conf >= 0)
        ADD(" AND confidence <= :max_conf");
    if (!o->digits)
        ADD(" ORDER BY batch, source_path, page_index, field_index");
#undef ADD
    assert(n < size);
}

static sqlite3_stmt *prepare_query(sqlite3 *h, const query_opts *o, json_t *params)
{
    char sql[4096];
    if (o->digits)
        snprintf(sql, sizeof sql,
                 "SELECT v.batch, v.source_path, v.page_index, v.field_name, v.value,"
                 " g.digit_index, g.p0, g.p1, g.p2, g.p3, g.p4, g.p5, g.p6, g.p7, g.p8,"
                 " g.p9 FROM (SELECT * FROM v_fields");
    else
        snprintf(sql, sizeof sql,
                 "SELECT batch, source_path, page_index, field_name, value, confidence,"
                 " needs_review, x, y, w, h, machine_value, review_state, reviewed_by,"
                 " reviewed_at FROM v_fields");
    build_where(sql, sizeof sql, o);
    if (o->digits)
        strcat(sql, ") v JOIN digits g ON g.field_id = v.field_id"
                    " ORDER BY v.batch, v.source_path, v.page_index, v.field_index,"
                    " g.digit_index");
    strcat(sql, " LIMIT :limit");

    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    int b = sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":limit"),
                               o->limit);
    const struct {
        const char *name, *value;
    } text[] = {
        {":batch", o->batch},           {":file", o->file},
        {":field", o->field},           {":value", o->value},
        {":state", o->state},           {":stored_from", o->stored_from},
        {":stored_to", o->stored_to},   {":date_from", o->date_from},
        {":date_to", o->date_to},
    };
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
        if (!text[i].value || !sqlite3_bind_parameter_index(st, text[i].name))
            continue;
        b |= bind_named(st, text[i].name, text[i].value);
        json_object_set_new(params, text[i].name + 1, json_string(text[i].value));
    }
    if (o->state && strcmp(o->state, "reviewed") == 0)
        json_object_set_new(params, "state", json_string(o->state));
    if (o->prefix) {
        char *pattern = glob_prefix(o->prefix);
        b |= bind_named(st, ":prefix", pattern);
        json_object_set_new(params, "prefix", json_string(pattern));
        free(pattern);
    }
    if (o->min_conf >= 0) {
        b |= sqlite3_bind_double(st, sqlite3_bind_parameter_index(st, ":min_conf"),
                                 o->min_conf);
        json_object_set_new(params, "min_conf", json_real(o->min_conf));
    }
    if (o->max_conf >= 0) {
        b |= sqlite3_bind_double(st, sqlite3_bind_parameter_index(st, ":max_conf"),
                                 o->max_conf);
        json_object_set_new(params, "max_conf", json_real(o->max_conf));
    }
    if (o->review)
        json_object_set_new(params, "needs_review", json_integer(1));
    if (o->digits)
        json_object_set_new(params, "digits", json_true());
    json_object_set_new(params, "limit", json_integer(o->limit));
    if (b) {
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

static const char *col_text(sqlite3_stmt *st, int c)
{
    const char *s = (const char *)sqlite3_column_text(st, c);
    return s ? s : "";
}

/* The three most probable classes of a digit, from p0..p9 at column first
 * (ties go to the lower class). */
static void top3(sqlite3_stmt *st, int first, int cls[3], double p[3])
{
    for (int k = 0; k < 3; k++) {
        cls[k] = -1;
        p[k] = -1.0;
    }
    for (int c = 0; c < 10; c++) {
        if (sqlite3_column_type(st, first + c) == SQLITE_NULL)
            continue;
        double v = sqlite3_column_double(st, first + c);
        for (int k = 0; k < 3; k++) {
            if (v > p[k]) {
                for (int j = 2; j > k; j--) {
                    p[j] = p[j - 1];
                    cls[j] = cls[j - 1];
                }
                p[k] = v;
                cls[k] = c;
                break;
            }
        }
    }
}

/* Fills the row's cells from the statement's current row. A REAL keeps
 * SQLite's own rendering in CSV (full precision); computed ones get %.17g. */
static void row_fill(qrow *r, sqlite3_stmt *st, const query_opts *o)
{
    int sql_cols = o->digits ? DIGIT_SQL_COLS : r->n;
    for (int c = 0; c < sql_cols; c++) {
        r->null[c] = sqlite3_column_type(st, c) == SQLITE_NULL;
        r->text[c] = col_text(st, c);
        r->num[c] = sqlite3_column_double(st, c);
    }
    if (!o->digits)
        return;
    int cls[3];
    double p[3];
    top3(st, DIGIT_SQL_COLS, cls, p);
    for (int k = 0; k < 3; k++) {
        int ci = DIGIT_SQL_COLS + 2 * k, pi = ci + 1;
        r->null[ci] = r->null[pi] = cls[k] < 0;
        snprintf(r->buf[ci], sizeof r->buf[ci], "%d", cls[k]);
        snprintf(r->buf[pi], sizeof r->buf[pi], "%.17g", p[k]);
        r->text[ci] = cls[k] < 0 ? "" : r->buf[ci];
        r->text[pi] = cls[k] < 0 ? "" : r->buf[pi];
        r->num[ci] = cls[k];
        r->num[pi] = p[k];
    }
}

/* ---- Table -------------------------------------------------------------- */

/* The cell as shown; text columns point into the statement's row. */
static const char *table_cell(const qrow *r, int c, char buf[32])
{
    if (r->null[c])
        return "";
    if (r->col[c].kind == K_REAL) {
        snprintf(buf, 32, "%.3f", r->num[c]);
        return buf;
    }
    if (r->col[c].kind == K_BOOL)
        return r->num[c] != 0 ? "yes" : "no";
    return r->text[c];
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t display_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void print_padded(const char *s, size_t width, int right)
{
    size_t pad = width - display_width(s);
    if (right)
        printf("%*s", (int)pad, "");
    /* Control characters (a newline in a path) would break the layout. */
    for (const char *p = s; *p; p++)
        putchar((unsigned char)*p < 0x20 ? '?' : *p);
    if (!right)
        printf("%*s", (int)pad, "");
}

static void print_table_row(const qrow *r, const char *const *cells, const size_t *width)
{
    for (int c = 0; c < r->n; c++) {
        if (c)
            fputs("  ", stdout);
        print_padded(cells[c], width[c], r->col[c].kind != K_TEXT);
    }
    putchar('\n');
}

static int print_table(sqlite3_stmt *st, qrow *r, const query_opts *o, long long *rows)
{
    size_t width[MAX_COLS];
    char buf[MAX_COLS][32];
    const char *cells[MAX_COLS];
    int rc;
    for (int c = 0; c < r->n; c++)
        width[c] = strlen(r->col[c].head);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_fill(r, st, o);
        for (int c = 0; c < r->n; c++) {
            size_t w = display_width(table_cell(r, c, buf[c]));
            if (w > width[c])
                width[c] = w;
        }
    }
    if (rc != SQLITE_DONE)
        return rc;
    sqlite3_reset(st);
    for (int c = 0; c < r->n; c++)
        cells[c] = r->col[c].head;
    print_table_row(r, cells, width);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_fill(r, st, o);
        for (int c = 0; c < r->n; c++)
            cells[c] = table_cell(r, c, buf[c]);
        print_table_row(r, cells, width);
        (*rows)++;
    }
    if (rc != SQLITE_DONE)
        return rc;
    printf("(%lld row%s)\n", *rows, *rows == 1 ? "" : "s");
    return SQLITE_OK;
}

/* ---- CSV ---------------------------------------------------------------- */

static void csv_cell(const char *s, size_t n)
{
    int quote = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
            quote = 1;
    if (!quote) {
        fwrite(s, 1, n, stdout);
        return;
    }
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            putchar('"');
        putchar(s[i]);
    }
    putchar('"');
}

static int print_csv(sqlite3_stmt *st, qrow *r, const query_opts *o, long long *rows)
{
    for (int c = 0; c < r->n; c++)
        printf("%s%s", c ? "," : "", r->col[c].name);
    fputs("\r\n", stdout); /* RFC 4180 records end in CRLF */
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_fill(r, st, o);
        for (int c = 0; c < r->n; c++) {
            if (c)
                putchar(',');
            csv_cell(r->text[c], strlen(r->text[c]));
        }
        fputs("\r\n", stdout);
        (*rows)++;
    }
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ---- JSON --------------------------------------------------------------- */

/* JSON strings must be UTF-8; a path in another encoding is shown with its
 * non-ASCII bytes as '?' rather than failing the whole listing. */
static json_t *json_text(const char *s)
{
    size_t n = strlen(s);
    json_t *j = json_stringn(s, n);
    if (j)
        return j;
    char *copy = bl_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    j = json_stringn(copy, n);
    free(copy);
    return j;
}

static json_t *json_row(const qrow *r)
{
    json_t *o = json_object();
    for (int c = 0; c < r->n; c++) {
        json_t *v;
        if (r->null[c])
            v = json_null();
        else if (r->col[c].kind == K_REAL)
            v = json_real(r->num[c]);
        else if (r->col[c].kind == K_BOOL)
            v = json_boolean(r->num[c] != 0);
        else if (r->col[c].kind == K_INT)
            v = json_integer((json_int_t)r->num[c]);
        else
            v = json_text(r->text[c]);
        json_object_set_new(o, r->col[c].name, v);
    }
    return o;
}

static int print_json(sqlite3_stmt *st, qrow *r, const query_opts *o, long long *rows)
{
    int rc;
    fputs("[", stdout);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_fill(r, st, o);
        json_t *j = json_row(r);
        fputs((*rows)++ ? ",\n  " : "\n  ", stdout);
        /* 15 significant digits, as SQLite itself prints a REAL. */
        json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
        json_decref(j);
    }
    fputs(*rows ? "\n]\n" : "]\n", stdout);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ------------------------------------------------------------------------- */

int bl_cmd_query(int argc, char **argv)
{
    query_opts o;
    int status = parse_args(argc, argv, &o);
    if (status >= 0)
        return status;

    bl_err err = {0};
    sqlite3_stmt *st = NULL;
    json_t *params = json_object();
    long long rows = 0;
    qrow r = {0};
    status = 1;
    /* Read-write, because every query leaves an audit row; never created. */
    bl_db *db = bl_db_open_existing(o.db, &err);
    if (!db) {
        fprintf(stderr, "blotter query: %s\n", err.msg);
        goto done;
    }
    sqlite3 *h = bl_db_handle(db);
    st = prepare_query(h, &o, params);
    if (!st) {
        fprintf(stderr, "blotter query: %s: %s\n", o.db, sqlite3_errmsg(h));
        goto done;
    }
    r.col = o.digits ? DIGIT_COLS : FIELD_COLS;
    r.n = o.digits ? DIGIT_ALL : o.provenance ? FIELD_ALL : FIELD_BASE;
    /* One snapshot for the table's two passes, even while a writer runs. */
    if (sqlite3_exec(h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "blotter query: %s: %s\n", o.db, sqlite3_errmsg(h));
        goto done;
    }
    int rc = o.format == FMT_CSV    ? print_csv(st, &r, &o, &rows)
           : o.format == FMT_JSON ? print_json(st, &r, &o, &rows)
                                  : print_table(st, &r, &o, &rows);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "blotter query: %s: %s\n", o.db, sqlite3_errmsg(h));
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "blotter query: writing the output failed\n");
        goto done;
    }
    char *ptext = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
    int arc = bl_db_audit(db, "query", ptext ? ptext : "{}", rows, &err);
    free(ptext);
    if (arc) {
        fprintf(stderr, "blotter query: %s: audit: %s\n", o.db, err.msg);
        goto done;
    }
    status = 0;
done:
    sqlite3_finalize(st);
    if (db && !sqlite3_get_autocommit(bl_db_handle(db)))
        sqlite3_exec(bl_db_handle(db), "COMMIT", NULL, NULL, NULL);
    bl_db_close(&db);
    json_decref(params);
    return status;
}
