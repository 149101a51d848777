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
 * objects, both streamed row by row. The database is opened read-only and
 * is never created. Exit status: 0 done, 1 failure, 2 bad usage.
 */
#include <getopt.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blotter/commands.h"
#include "conf/conf.h"
#include "db/db.h"

typedef enum { FMT_TABLE, FMT_CSV, FMT_JSON } query_format;

typedef struct query_opts {
    const char *db;
    const char *batch;
    const char *file;
    const char *field;
    const char *value;
    const char *prefix;
    int review;
    long long limit; /* -1: all */
    query_format format;
} query_opts;

/* The result columns, in v_fields' names; the table shows shorter heads. */
enum { C_BATCH, C_PATH, C_PAGE, C_FIELD, C_VALUE, C_CONF, C_REVIEW,
       C_X, C_Y, C_W, C_H, C_COUNT };
static const char *const COLUMN[C_COUNT] = {
    "batch", "source_path", "page_index", "field_name", "value", "confidence",
    "needs_review", "x", "y", "w", "h"};
static const char *const HEAD[C_COUNT] = {
    "batch", "source_path", "page", "field", "value", "confidence",
    "review", "x", "y", "w", "h"};

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
            "                     [--value V | --prefix P] [--review] "
            "[--limit N] [--csv | --json]\n"
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
        {"csv", no_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (query_opts){.limit = -1, .format = FMT_TABLE};
    int csv = 0, json = 0;
    const char *config = NULL;
    /* 0, not 1: glibc then also forgets the previous call's state, which
     * matters when tests call the command repeatedly in one process. */
    optind = 0;
    opterr = 0; /* our own messages, in our own format */
    int c;
    while ((c = getopt_long(argc, argv, ":d:C:b:f:F:v:p:rl:cjh", longopts, NULL)) != -1) {
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
    return sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, name), text,
                             -1, SQLITE_TRANSIENT);
}

static sqlite3_stmt *prepare_query(sqlite3 *h, const query_opts *o)
{
    char sql[1024] = "SELECT batch, source_path, page_index, field_name, value,"
                     " confidence, needs_review, x, y, w, h FROM v_fields WHERE 1";
    if (o->batch)
        strcat(sql, " AND batch = :batch");
    if (o->file)
        strcat(sql, " AND source_path = :file");
    if (o->field)
        strcat(sql, " AND field_name = :field");
    if (o->value)
        strcat(sql, " AND value = :value");
    if (o->prefix)
        strcat(sql, " AND value GLOB :prefix");
    if (o->review)
        strcat(sql, " AND needs_review = 1");
    strcat(sql, " ORDER BY batch, source_path, page_index, field_index"
                " LIMIT :limit");

    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    int b = sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":limit"),
                               o->limit);
    if (o->batch)
        b |= bind_named(st, ":batch", o->batch);
    if (o->file)
        b |= bind_named(st, ":file", o->file);
    if (o->field)
        b |= bind_named(st, ":field", o->field);
    if (o->value)
        b |= bind_named(st, ":value", o->value);
    if (o->prefix) {
        char *pattern = glob_prefix(o->prefix);
        b |= bind_named(st, ":prefix", pattern);
        free(pattern);
    }
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

/* ---- Table -------------------------------------------------------------- */

static int is_numeric_column(int c)
{
    return c == C_PAGE || c == C_CONF || c >= C_X;
}

/* The cell as shown; text columns point into the statement's row. */
static const char *table_cell(sqlite3_stmt *st, int c, char buf[32])
{
    if (c == C_CONF) {
        snprintf(buf, 32, "%.3f", sqlite3_column_double(st, c));
        return buf;
    }
    if (c == C_REVIEW)
        return sqlite3_column_int(st, c) ? "yes" : "no";
    return col_text(st, c);
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

static void print_table_row(const char *const cells[C_COUNT],
                            const size_t width[C_COUNT])
{
    for (int c = 0; c < C_COUNT; c++) {
        if (c)
            fputs("  ", stdout);
        print_padded(cells[c], width[c], is_numeric_column(c));
    }
    putchar('\n');
}

static int print_table(sqlite3_stmt *st)
{
    size_t width[C_COUNT];
    char buf[C_COUNT][32];
    const char *cells[C_COUNT];
    long long rows = 0;
    int rc;
    for (int c = 0; c < C_COUNT; c++)
        width[c] = strlen(HEAD[c]);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < C_COUNT; c++) {
            size_t w = display_width(table_cell(st, c, buf[c]));
            if (w > width[c])
                width[c] = w;
        }
    }
    if (rc != SQLITE_DONE)
        return rc;
    sqlite3_reset(st);
    print_table_row(HEAD, width);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < C_COUNT; c++)
            cells[c] = table_cell(st, c, buf[c]);
        print_table_row(cells, width);
        rows++;
    }
    if (rc != SQLITE_DONE)
        return rc;
    printf("(%lld row%s)\n", rows, rows == 1 ? "" : "s");
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

static int print_csv(sqlite3_stmt *st)
{
    for (int c = 0; c < C_COUNT; c++)
        printf("%s%s", c ? "," : "", COLUMN[c]);
    fputs("\r\n", stdout); /* RFC 4180 records end in CRLF */
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < C_COUNT; c++) {
            if (c)
                putchar(',');
            /* SQLite's own rendering keeps a REAL's full precision. */
            const char *s = col_text(st, c);
            csv_cell(s, (size_t)sqlite3_column_bytes(st, c));
        }
        fputs("\r\n", stdout);
    }
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ---- JSON --------------------------------------------------------------- */

/* JSON strings must be UTF-8; a path in another encoding is shown with its
 * non-ASCII bytes as '?' rather than failing the whole listing. */
static json_t *json_text(sqlite3_stmt *st, int c)
{
    const char *s = col_text(st, c);
    size_t n = (size_t)sqlite3_column_bytes(st, c);
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

static json_t *json_row(sqlite3_stmt *st)
{
    json_t *o = json_object();
    for (int c = 0; c < C_COUNT; c++) {
        json_t *v;
        if (c == C_CONF)
            v = json_real(sqlite3_column_double(st, c));
        else if (c == C_REVIEW)
            v = json_boolean(sqlite3_column_int(st, c));
        else if (is_numeric_column(c))
            v = json_integer(sqlite3_column_int64(st, c));
        else
            v = json_text(st, c);
        json_object_set_new(o, COLUMN[c], v);
    }
    return o;
}

static int print_json(sqlite3_stmt *st)
{
    long long rows = 0;
    int rc;
    fputs("[", stdout);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = json_row(st);
        fputs(rows++ ? ",\n  " : "\n  ", stdout);
        /* 15 significant digits, as SQLite itself prints a REAL. */
        json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
        json_decref(o);
    }
    fputs(rows ? "\n]\n" : "]\n", stdout);
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
    status = 1;
    bl_db *db = bl_db_open_readonly(o.db, &err);
    if (!db) {
        fprintf(stderr, "blotter query: %s\n", err.msg);
        goto done;
    }
    sqlite3 *h = bl_db_handle(db);
    st = prepare_query(h, &o);
    if (!st) {
        fprintf(stderr, "blotter query: %s: %s\n", o.db, sqlite3_errmsg(h));
        goto done;
    }
    /* One snapshot for the table's two passes, even while a writer runs. */
    if (sqlite3_exec(h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "blotter query: %s: %s\n", o.db, sqlite3_errmsg(h));
        goto done;
    }
    int rc = o.format == FMT_CSV    ? print_csv(st)
           : o.format == FMT_JSON ? print_json(st)
                                  : print_table(st);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "blotter query: %s: %s\n", o.db, sqlite3_errmsg(h));
        goto done;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "blotter query: writing the output failed\n");
        goto done;
    }
    status = 0;
done:
    sqlite3_finalize(st);
    if (db && !sqlite3_get_autocommit(bl_db_handle(db)))
        sqlite3_exec(bl_db_handle(db), "COMMIT", NULL, NULL, NULL);
    bl_db_close(&db);
    return status;
}
