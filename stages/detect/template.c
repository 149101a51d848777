/*
 * template: loading form template files (libinih) and matching a page's
 * printed lines against them.
 *
 * Parsing follows common/conf: ini_parse_stream with our own line reader,
 * which counts lines (the Debian libinih reports none), refuses lines
 * longer than libinih's buffer (it would split them silently), and sees
 * every section header itself, so an empty `[field x]` section is still
 * known, with its line, when the file is checked at the end. The first
 * error wins: "FILE:LINE: reason".
 *
 * Matching works on the pixels line removal erased (the page's printed
 * lines, without the writing). Row and column projections of those
 * pixels are correlated with the template's own projections at a quarter
 * of the resolution over shifts of +-BL_TEMPLATE_MAX_SHIFT; the best few
 * shifts in y and in x are refined at full resolution and each pairing is
 * scored in 2-D: recall (share of the template's line length with a line
 * pixel within TOL px across it) and precision (share of the page's line
 * pixels lying within TOL px of a template line). The score is the lower
 * of the two: a page of another layout that shares some lines misses the
 * rest (recall) or has lines the template lacks (precision), and an
 * unknown form with lines of its own fails both.
 */
#include "detect/template.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

/* ---- Parsing ------------------------------------------------------------- */

enum { SEC_NONE, SEC_TEMPLATE, SEC_LINES, SEC_FIELD };

typedef struct parse_state {
    bl_template *t;
    const char *path;
    FILE *file;
    char *line_buf;
    size_t line_cap;
    int line;
    int stop;
    int section;        /* SEC_* of the current section */
    int section_line;
    int template_line;  /* where [template] starts, 0 = absent */
    int lines_line;     /* where [lines] starts */
    int key_line[6];    /* name, title, width, height, min_score: where set */
    int field_key_line[3]; /* box, rule, label of the current field */
    int *field_line;    /* section line of each field */
    int cap_lines, cap_fields;
    int err_line;
    char err_msg[BL_ERR_MSG_MAX];
} parse_state;

static int fail(parse_state *st, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(parse_state *st, int line, const char *fmt, ...)
{
    if (st->err_line)
        return 0;
    char reason[BL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    st->err_line = line > 0 ? line : 1;
    snprintf(st->err_msg, sizeof st->err_msg, "%s:%d: %s", st->path, st->err_line, reason);
    st->stop = 1;
    return 0;
}

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > BL_TEMPLATE_NAME_MAX - 1)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return 1;
}

/* Strips surrounding blanks of s in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
                     s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Sees a section header before libinih does. */
static void on_section(parse_state *st, char *hdr)
{
    char *end = strchr(hdr, ']');
    if (!end)
        return; /* libinih reports the syntax error */
    *end = '\0';
    char *name = trim(hdr + 1);
    st->section_line = st->line;
    bl_template *t = st->t;
    if (strcmp(name, "template") == 0) {
        if (st->template_line)
            fail(st, st->line, "[template] appears twice (first on line %d)",
                 st->template_line);
        st->template_line = st->line;
        st->section = SEC_TEMPLATE;
    } else if (strcmp(name, "lines") == 0) {
        if (st->lines_line)
            fail(st, st->line, "[lines] appears twice (first on line %d)", st->lines_line);
        st->lines_line = st->line;
        st->section = SEC_LINES;
    } else if (strncmp(name, "field", 5) == 0 && (name[5] == ' ' || name[5] == '\t')) {
        char *fname = trim(name + 5);
        if (!valid_name(fname)) {
            fail(st, st->line, "[field %s]: a field name is 1-40 of a-z, 0-9 and _", fname);
            return;
        }
        for (int i = 0; i < t->nfields; i++)
            if (strcmp(t->fields[i].name, fname) == 0) {
                fail(st, st->line, "field '%s' appears twice (first on line %d)", fname,
                     st->field_line[i]);
                return;
            }
        if (t->nfields == BL_TEMPLATE_MAX_FIELDS) {
            fail(st, st->line, "more than %d fields", BL_TEMPLATE_MAX_FIELDS);
            return;
        }
        if (t->nfields == st->cap_fields) {
            st->cap_fields = st->cap_fields ? 2 * st->cap_fields : 16;
            t->fields = bl_xrealloc(t->fields, sizeof *t->fields * (size_t)st->cap_fields);
            st->field_line =
                bl_xrealloc(st->field_line, sizeof *st->field_line * (size_t)st->cap_fields);
        }
        bl_template_field *f = &t->fields[t->nfields];
        memset(f, 0, sizeof *f);
        f->box.w = -1; /* no box yet */
        bl_strlcpy(f->name, fname, sizeof f->name);
        st->field_line[t->nfields++] = st->line;
        memset(st->field_key_line, 0, sizeof st->field_key_line);
        st->section = SEC_FIELD;
    } else {
        fail(st, st->line, "unknown section [%s] (expected [template], [lines] or "
             "[field NAME])", name);
    }
}

static char *read_line(char *str, int num, void *stream)
{
    parse_state *st = stream;
    if (st->stop)
        return NULL;
    ssize_t n = getline(&st->line_buf, &st->line_cap, st->file);
    if (n < 0)
        return NULL;
    st->line++;
    if (n > num - 1) {
        fail(st, st->line, "line longer than %d characters", num - 2);
        return NULL;
    }
    memcpy(str, st->line_buf, (size_t)n);
    str[n] = '\0';
    if (str[0] == ' ' || str[0] == '\t') {
        /* libinih would take it as a continuation of the previous value. */
        char *s = trim(str);
        if (*s && *s != '#' && *s != ';') {
            fail(st, st->line, "indented line (lines must start at the margin)");
            return NULL;
        }
    }
    if (str[0] == '[') {
        char hdr[256];
        bl_strlcpy(hdr, str, sizeof hdr);
        on_section(st, hdr);
        if (st->stop)
            return NULL;
    }
    return str;
}

/* n plain decimal integers separated by blanks, nothing else. */
static int parse_ints(const char *v, int *out, int n)
{
    const char *p = v;
    for (int i = 0; i < n; i++) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p < '0' || *p > '9')
            return -1;
        long x = 0;
        while (*p >= '0' && *p <= '9') {
            x = x * 10 + (*p++ - '0');
            if (x > 1000000)
                return -1;
        }
        out[i] = (int)x;
        if (*p && *p != ' ' && *p != '\t')
            return -1;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    return *p ? -1 : 0;
}

static int all_digits(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* "A-B" of decimal numbers. */
static int is_range(const char *s)
{
    const char *dash = strchr(s, '-');
    return dash && all_digits(s, (size_t)(dash - s)) && all_digits(dash + 1, strlen(dash + 1));
}

/* NULL when rule is a well-formed list of the keys stages/write/rules.h
 * knows, else the reason. */
static const char *rule_problem(const char *rule, char *why, size_t why_size)
{
    char buf[BL_RULE_MAX];
    bl_strlcpy(buf, rule, sizeof buf);
    int years = 0, dated = 0;
    char *save = NULL;
    for (char *item = strtok_r(buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(item, '=');
        if (!eq) {
            snprintf(why, why_size, "'%s' is not key=value", item);
            return why;
        }
        *eq = '\0';
        const char *k = item, *v = eq + 1;
        int ok;
        if (strcmp(k, "len") == 0)
            ok = all_digits(v, strlen(v)) || is_range(v);
        else if (strcmp(k, "range") == 0)
            ok = is_range(v);
        else if (strcmp(k, "date") == 0)
            ok = strcmp(v, "DDMMYYYY") == 0 || strcmp(v, "DDMMYY") == 0;
        else if (strcmp(k, "time") == 0)
            ok = strcmp(v, "HHMM") == 0;
        else if (strcmp(k, "check") == 0)
            ok = strcmp(v, "luhn") == 0 || strcmp(v, "mod11") == 0;
        else if (strcmp(k, "years") == 0)
            ok = is_range(v), years = 1;
        else if (strcmp(k, "prefix") == 0)
            ok = *v && strlen(v) <= 18 && all_digits(v, strlen(v));
        else {
            snprintf(why, why_size,
                     "unknown key '%s' (len, range, date, years, time, prefix, check)", k);
            return why;
        }
        if (!ok) {
            snprintf(why, why_size, "%s=%s: bad value", k, v);
            return why;
        }
        dated |= strcmp(k, "date") == 0;
    }
    if (years && !dated) {
        snprintf(why, why_size, "years= narrows a date= the rule does not have");
        return why;
    }
    return NULL;
}

static int box_in_sheet(const bl_template *t, bl_box b)
{
    return b.x >= 0 && b.y >= 0 && b.w > 0 && b.h > 0 && b.x + b.w <= t->width &&
           b.y + b.h <= t->height;
}

/* Sets a once-only key: records where, or fails when set before. */
static int once(parse_state *st, int *where, const char *section, const char *name)
{
    if (*where)
        return fail(st, st->line, "[%s] %s: set twice (first on line %d)", section, name,
                    *where);
    *where = st->line;
    return 1;
}

static int on_key_template(parse_state *st, const char *name, const char *value)
{
    bl_template *t = st->t;
    static const char *const KEYS[] = {"name", "title", "width", "height", "min_score"};
    int k = -1;
    for (int i = 0; i < 5; i++)
        if (strcmp(name, KEYS[i]) == 0)
            k = i;
    if (k < 0)
        return fail(st, st->line, "[template] %s: unknown key (name, title, width, height, "
                    "min_score)", name);
    if (!once(st, &st->key_line[k], "template", name))
        return 0;
    int n;
    switch (k) {
    case 0:
        if (!valid_name(value))
            return fail(st, st->line, "[template] name: '%s': 1-40 of a-z, 0-9 and _", value);
        bl_strlcpy(t->name, value, sizeof t->name);
        return 1;
    case 1:
        if (strlen(value) >= sizeof t->title)
            return fail(st, st->line, "[template] title: longer than %zu bytes",
                        sizeof t->title - 1);
        bl_strlcpy(t->title, value, sizeof t->title);
        return 1;
    case 2:
    case 3:
        if (parse_ints(value, &n, 1) || n < 1 || n > 100000)
            return fail(st, st->line, "[template] %s: not a positive integer: '%s'", name,
                        value);
        *(k == 2 ? &t->width : &t->height) = n;
        return 1;
    default: {
        char *end = NULL;
        double s = strtod(value, &end);
        if (!value[0] || *end || !(s > 0 && s <= 1))
            return fail(st, st->line, "[template] min_score: not a number in (0, 1]: '%s'",
                        value);
        t->min_score = (float)s;
        return 1;
    }
    }
}

static int on_key_line(parse_state *st, const char *name, const char *value)
{
    bl_template *t = st->t;
    if (strcmp(name, "line") != 0)
        return fail(st, st->line, "[lines] %s: unknown key (line)", name);
    char dir = value[0];
    int v[4];
    if ((dir != 'h' && dir != 'v') || (value[1] != ' ' && value[1] != '\t') ||
        parse_ints(value + 1, v, 4))
        return fail(st, st->line, "[lines] line: '%s': expected h|v X Y LENGTH THICKNESS",
                    value);
    if (v[2] < 120)
        return fail(st, st->line, "[lines] line: length %d: a form line is at least 120 px "
                    "(shorter ones are not found on the page)", v[2]);
    if (v[3] < 1 || v[3] > 14)
        return fail(st, st->line, "[lines] line: thickness %d: must be 1..14 (thicker is a "
                    "solid area, not a line)", v[3]);
    if (t->nlines == BL_TEMPLATE_MAX_LINES)
        return fail(st, st->line, "more than %d lines", BL_TEMPLATE_MAX_LINES);
    bl_template_line l = {dir == 'v', dir == 'v' ? (bl_box){v[0], v[1], v[3], v[2]}
                                                 : (bl_box){v[0], v[1], v[2], v[3]}};
    if (t->nlines == st->cap_lines) {
        st->cap_lines = st->cap_lines ? 2 * st->cap_lines : 32;
        t->lines = bl_xrealloc(t->lines, sizeof *t->lines * (size_t)st->cap_lines);
    }
    t->lines[t->nlines] = l;
    /* Checked against the sheet at the end (width/height may come later). */
    t->nlines++;
    return 1;
}

static int on_key_field(parse_state *st, const char *name, const char *value)
{
    bl_template_field *f = &st->t->fields[st->t->nfields - 1];
    if (strcmp(name, "box") == 0) {
        if (!once(st, &st->field_key_line[0], "field", "box"))
            return 0;
        int v[4];
        if (parse_ints(value, v, 4) || v[2] < 1 || v[3] < 1)
            return fail(st, st->line, "[field %s] box: '%s': expected X Y W H (W, H >= 1)",
                        f->name, value);
        f->box = (bl_box){v[0], v[1], v[2], v[3]};
        return 1;
    }
    if (strcmp(name, "rule") == 0) {
        if (!once(st, &st->field_key_line[1], "field", "rule"))
            return 0;
        if (strlen(value) >= BL_RULE_MAX)
            return fail(st, st->line, "[field %s] rule: %zu bytes, at most %d", f->name,
                        strlen(value), BL_RULE_MAX - 1);
        char why[160];
        if (rule_problem(value, why, sizeof why))
            return fail(st, st->line, "[field %s] rule: %s", f->name, why);
        bl_strlcpy(f->rule, value, sizeof f->rule);
        return 1;
    }
    if (strcmp(name, "label") == 0) {
        if (!once(st, &st->field_key_line[2], "field", "label"))
            return 0;
        if (strlen(value) >= sizeof f->label)
            return fail(st, st->line, "[field %s] label: longer than %zu bytes", f->name,
                        sizeof f->label - 1);
        bl_strlcpy(f->label, value, sizeof f->label);
        return 1;
    }
    return fail(st, st->line, "[field %s] %s: unknown key (box, rule, label)", f->name, name);
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    (void)section;
    parse_state *st = user;
    if (st->err_line)
        return 0;
    switch (st->section) {
    case SEC_TEMPLATE:
        return on_key_template(st, name, value);
    case SEC_LINES:
        return on_key_line(st, name, value);
    case SEC_FIELD:
        return on_key_field(st, name, value);
    default:
        return fail(st, st->line, "%s: key outside a section", name);
    }
}

/* The checks that need the whole file. */
static void check_template(parse_state *st)
{
    bl_template *t = st->t;
    if (!st->template_line) {
        fail(st, 1, "no [template] section");
        return;
    }
    static const char *const REQUIRED[] = {"name", "", "width", "height"};
    for (int k = 0; k < 4; k++)
        if (REQUIRED[k][0] && !st->key_line[k]) {
            fail(st, st->template_line, "[template] %s: missing", REQUIRED[k]);
            return;
        }
    if (!st->lines_line || t->nlines == 0) {
        fail(st, st->lines_line ? st->lines_line : st->template_line,
             "no form lines ([lines] line = ...): the page could not be matched");
        return;
    }
    for (int i = 0; i < t->nlines; i++)
        if (!box_in_sheet(t, t->lines[i].box)) {
            bl_box b = t->lines[i].box;
            fail(st, st->lines_line, "[lines]: line %d (%c %d %d ...) leaves the %dx%d sheet",
                 i + 1, t->lines[i].vertical ? 'v' : 'h', b.x, b.y, t->width, t->height);
            return;
        }
    if (t->nfields == 0) {
        fail(st, st->template_line, "no [field NAME] section");
        return;
    }
    for (int i = 0; i < t->nfields; i++) {
        bl_template_field *f = &t->fields[i];
        if (f->box.w < 0) {
            fail(st, st->field_line[i], "[field %s] box: missing", f->name);
            return;
        }
        if (!box_in_sheet(t, f->box)) {
            fail(st, st->field_line[i], "[field %s] box %d %d %d %d: leaves the %dx%d sheet",
                 f->name, f->box.x, f->box.y, f->box.w, f->box.h, t->width, t->height);
            return;
        }
    }
    if (t->min_score <= 0)
        t->min_score = BL_TEMPLATE_MIN_SCORE;
}

void bl_template_free(bl_template *self)
{
    if (!self)
        return;
    free(self->lines);
    free(self->fields);
    memset(self, 0, sizeof *self);
}

int bl_template_load(const char *path, bl_template *out, bl_err *err)
{
    assert(path && out);
    memset(out, 0, sizeof *out);
    parse_state st;
    memset(&st, 0, sizeof st);
    st.t = out;
    st.path = path;
    bl_strlcpy(out->path, path, sizeof out->path);
    st.file = fopen(path, "r");
    if (!st.file)
        return bl_err_set(err, BL_EIO, "%s: %s", path, strerror(errno));
    int rc = ini_parse_stream(read_line, &st, on_key, &st);
    if (rc > 0 && !st.err_line)
        fail(&st, st.line, "syntax error: expected '[section]', 'key = value' or a comment");
    if (ferror(st.file) && !st.err_line)
        fail(&st, st.line, "read error");
    if (!st.err_line)
        check_template(&st);
    fclose(st.file);
    free(st.line_buf);
    free(st.field_line);
    if (st.err_line) {
        bl_template_free(out);
        return bl_err_set(err, BL_EFORMAT, "%s", st.err_msg);
    }
    return BL_OK;
}

/* ---- Directories --------------------------------------------------------- */

static int is_ini(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && name[0] != '.' && strcmp(name + n - 4, ".ini") == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.ini names of dir, sorted; -1 when it cannot be read. */
static int list_ini(const char *dir, char ***names)
{
    *names = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_ini(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            *names = bl_xrealloc(*names, sizeof **names * (size_t)cap);
        }
        (*names)[n++] = bl_xstrdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(*names, (size_t)n, sizeof **names, cmp_str);
    return n;
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

void bl_template_set_destroy(bl_template_set **self)
{
    if (!self || !*self)
        return;
    for (int i = 0; i < (*self)->count; i++)
        bl_template_free(&(*self)->t[i]);
    free((*self)->t);
    free(*self);
    *self = NULL;
}

/* The line of `name = ...` in [template] of path, for the duplicate
 * message (1 if not found). */
static int name_line(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    char buf[256];
    int line = 0, found = 1, in_template = 0;
    while (fgets(buf, sizeof buf, f)) {
        line++;
        char *s = trim(buf);
        if (s[0] == '[')
            in_template = strncmp(s, "[template]", 10) == 0;
        else if (in_template && strncmp(s, "name", 4) == 0 &&
                 (s[4] == ' ' || s[4] == '=' || s[4] == '\t')) {
            found = line;
            break;
        }
    }
    fclose(f);
    return found;
}

int bl_template_set_load(const char *dir, bl_template_set **out, bl_err *err)
{
    assert(dir && out);
    *out = NULL;
    char **names = NULL;
    int n = list_ini(dir, &names);
    if (n < 0)
        return bl_err_set(err, BL_EIO, "%s: cannot read the template directory: %s", dir,
                          strerror(errno));
    if (n > BL_TEMPLATE_MAX_FILES) {
        free_names(names, n);
        return bl_err_set(err, BL_ELIMIT, "%s: more than %d templates", dir,
                          BL_TEMPLATE_MAX_FILES);
    }
    bl_template_set *set = bl_xcalloc(1, sizeof *set);
    set->t = bl_xcalloc((size_t)n + 1, sizeof *set->t);
    int rc = BL_OK;
    for (int i = 0; i < n && rc == BL_OK; i++) {
        char path[1024];
        if (!bl_snprintf(path, sizeof path, "%s/%s", dir, names[i])) {
            rc = bl_err_set(err, BL_ELIMIT, "%s/%s: path too long", dir, names[i]);
            break;
        }
        rc = bl_template_load(path, &set->t[i], err);
        if (rc)
            break;
        set->count++;
        for (int j = 0; j < i; j++)
            if (strcmp(set->t[j].name, set->t[i].name) == 0) {
                rc = bl_err_set(err, BL_EFORMAT, "%s:%d: template name '%s' is already "
                                "used by %s", path, name_line(path), set->t[i].name,
                                set->t[j].path);
                break;
            }
    }
    free_names(names, n);
    if (rc) {
        bl_template_set_destroy(&set);
        return rc;
    }
    *out = set;
    return BL_OK;
}

uint64_t bl_template_dir_stamp(const char *dir)
{
    char **names = NULL;
    int n = list_ini(dir, &names);
    if (n < 0)
        return 0;
    /* FNV-1a over names, sizes and modification times. */
    uint64_t h = 1469598103934665603ull;
#define MIX(p, len)                                                                       \
    for (size_t k_ = 0; k_ < (len); k_++)                                                \
        h = (h ^ ((const unsigned char *)(p))[k_]) * 1099511628211ull
    for (int i = 0; i < n; i++) {
        char path[1024];
        struct stat s;
        MIX(names[i], strlen(names[i]) + 1);
        if (bl_snprintf(path, sizeof path, "%s/%s", dir, names[i]) && stat(path, &s) == 0) {
            int64_t v[3] = {(int64_t)s.st_size, (int64_t)s.st_mtim.tv_sec,
                            (int64_t)s.st_mtim.tv_nsec};
            MIX(v, sizeof v);
        }
    }
#undef MIX
    free_names(names, n);
    return h ? h : 1;
}

/* ---- Matching ------------------------------------------------------------ */

enum {
    TOL = 4,        /* a page line pixel this near a template line is on it */
    BIN = 4,        /* the coarse search's resolution */
    CANDIDATES = 3  /* shifts kept per axis from the coarse search */
};

/* A line's box shifted onto the page. */
static bl_box shifted(bl_box b, int dx, int dy) { return (bl_box){b.x + dx, b.y + dy, b.w, b.h}; }

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

/* Bits x0..x1-1 of a word row, masked to the word j. */
static uint64_t range_mask(int j, int x0, int x1)
{
    int lo = j << 6, hi = lo + 64;
    uint64_t m = ~UINT64_C(0);
    if (x0 > lo)
        m &= ~UINT64_C(0) << (x0 - lo);
    if (x1 < hi)
        m &= x1 - lo >= 64 ? ~UINT64_C(0) : ((UINT64_C(1) << (x1 - lo)) - 1);
    return m;
}

/* Length along template line l (shifted) that has a page line pixel
 * within TOL across it. */
static long line_found(const bl_template_line *l, const bl_bitmap *p, int dx, int dy)
{
    bl_box b = shifted(l->box, dx, dy);
    long found = 0;
    if (!l->vertical) {
        int x0 = imax(0, b.x), x1 = imin(p->width, b.x + b.w);
        int y0 = imax(0, b.y - TOL), y1 = imin(p->height, b.y + b.h + TOL);
        if (x0 >= x1 || y0 >= y1)
            return 0;
        for (int j = x0 >> 6; j <= (x1 - 1) >> 6; j++) {
            uint64_t acc = 0;
            for (int y = y0; y < y1; y++)
                acc |= BL_BROW(p, y)[j];
            found += __builtin_popcountll(acc & range_mask(j, x0, x1));
        }
        return found;
    }
    int x0 = imax(0, b.x - TOL), x1 = imin(p->width, b.x + b.w + TOL);
    int y0 = imax(0, b.y), y1 = imin(p->height, b.y + b.h);
    if (x0 >= x1 || y0 >= y1)
        return 0;
    int j0 = x0 >> 6, j1 = (x1 - 1) >> 6;
    for (int y = y0; y < y1; y++) {
        const uint64_t *row = BL_BROW(p, y);
        for (int j = j0; j <= j1; j++)
            if (row[j] & range_mask(j, x0, x1)) {
                found++;
                break;
            }
    }
    return found;
}

static float recall_at(const bl_template *t, const bl_bitmap *p, int dx, int dy)
{
    long found = 0, total = 0;
    for (int i = 0; i < t->nlines; i++) {
        const bl_template_line *l = &t->lines[i];
        found += line_found(l, p, dx, dy);
        total += l->vertical ? l->box.h : l->box.w;
    }
    return total ? (float)found / (float)total : 0.0f;
}

/* Sets (value 1) or clears the bits of box b, clipped, in m. */
static void paint(bl_bitmap *m, bl_box b, int value)
{
    int x0 = imax(0, b.x), x1 = imin(m->width, b.x + b.w);
    int y0 = imax(0, b.y), y1 = imin(m->height, b.y + b.h);
    if (x0 >= x1)
        return;
    for (int y = y0; y < y1; y++) {
        uint64_t *row = BL_BROW(m, y);
        for (int j = x0 >> 6; j <= (x1 - 1) >> 6; j++) {
            uint64_t mask = range_mask(j, x0, x1);
            row[j] = value ? row[j] | mask : row[j] & ~mask;
        }
    }
}

/* The template's lines grown by TOL on every side, shifted. */
static bl_box band(const bl_template_line *l, int dx, int dy)
{
    bl_box b = shifted(l->box, dx, dy);
    return (bl_box){b.x - TOL, b.y - TOL, b.w + 2 * TOL, b.h + 2 * TOL};
}

/* Share of the page's line pixels (ink of `p`, `ink` of them) within
 * the template's bands; `scratch` is an all-zero bitmap of the page's
 * size and is left so. The bands are painted into it, then each band's
 * words are counted against the page and cleared, so a pixel where bands
 * overlap counts once and only the bands' area is read. */
static float precision_at(const bl_template *t, const bl_bitmap *p, uint64_t ink, int dx,
                          int dy, bl_bitmap *scratch)
{
    if (!ink)
        return 0.0f;
    for (int i = 0; i < t->nlines; i++)
        paint(scratch, band(&t->lines[i], dx, dy), 1);
    uint64_t on = 0;
    for (int i = 0; i < t->nlines; i++) {
        bl_box b = band(&t->lines[i], dx, dy);
        int x0 = imax(0, b.x), x1 = imin(p->width, b.x + b.w);
        int y0 = imax(0, b.y), y1 = imin(p->height, b.y + b.h);
        if (x0 >= x1)
            continue;
        for (int y = y0; y < y1; y++) {
            const uint64_t *a = BL_BROW(p, y);
            uint64_t *m = BL_BROW(scratch, y);
            for (int j = x0 >> 6; j <= (x1 - 1) >> 6; j++) {
                if (m[j] & a[j])
                    on += (uint64_t)__builtin_popcountll(a[j] & m[j]);
                m[j] = 0;
            }
        }
    }
    return (float)((double)on / (double)ink);
}

float bl_template_score(const bl_template *t, const bl_bitmap *lines, int dx, int dy,
                        float *recall, float *precision)
{
    bl_bitmap *scratch = bl_bitmap_new(lines->width, lines->height);
    uint64_t ink = bl_bitmap_ink_count(lines);
    float r = recall_at(t, lines, dx, dy);
    float p = precision_at(t, lines, ink, dx, dy, scratch);
    bl_bitmap_destroy(&scratch);
    if (recall)
        *recall = r;
    if (precision)
        *precision = p;
    return r < p ? r : p;
}

/* The template's own row (axis 0) or column (axis 1) projection, n long. */
static void template_profile(const bl_template *t, int axis, long *out, int n)
{
    memset(out, 0, sizeof *out * (size_t)n);
    for (int i = 0; i < t->nlines; i++) {
        bl_box b = t->lines[i].box;
        int lo = axis ? b.x : b.y, len = axis ? b.w : b.h, across = axis ? b.h : b.w;
        for (int k = imax(0, lo); k < imin(n, lo + len); k++)
            out[k] += across;
    }
}

/* sum_k a[k] * b[k + s] over the nz indices k where a is not 0. */
static double correlate(const long *a, const int *nz, int nnz, const long *b, int n, int s)
{
    long long c = 0;
    for (int i = 0; i < nnz; i++) {
        int k = nz[i];
        if (k + s >= 0 && k + s < n)
            c += (long long)a[k] * b[k + s];
    }
    return (double)c;
}

/* The indices where a (n long) is not 0, into nz; returns how many. */
static int nonzero(const long *a, int n, int *nz)
{
    int m = 0;
    for (int k = 0; k < n; k++)
        if (a[k])
            nz[m++] = k;
    return m;
}

/* The best CANDIDATES shifts of template profile tp against page profile
 * pp (both n long): local maxima of the correlation of the BIN-binned
 * profiles within +-BL_TEMPLATE_MAX_SHIFT, each refined at full
 * resolution within +-BIN. Returns how many (>= 1). */
static int best_shifts(const long *tp, const long *pp, int n, int *out)
{
    int nb = (n + BIN - 1) / BIN, smax = BL_TEMPLATE_MAX_SHIFT / BIN;
    long *ta = bl_xcalloc((size_t)nb, sizeof *ta), *pa = bl_xcalloc((size_t)nb, sizeof *pa);
    int *nz = bl_xmalloc(sizeof *nz * (size_t)n);
    for (int k = 0; k < n; k++) {
        ta[k / BIN] += tp[k];
        pa[k / BIN] += pp[k];
    }
    int nnz = nonzero(ta, nb, nz);
    double c[2 * BL_TEMPLATE_MAX_SHIFT / BIN + 1];
    for (int s = -smax; s <= smax; s++)
        c[s + smax] = correlate(ta, nz, nnz, pa, nb, s);
    free(ta);
    free(pa);
    nnz = nonzero(tp, n, nz);
    int found = 0;
    int used[2 * BL_TEMPLATE_MAX_SHIFT / BIN + 1] = {0};
    while (found < CANDIDATES) {
        int best = -1;
        for (int i = 0; i <= 2 * smax; i++) {
            if (used[i])
                continue;
            int peak = (i == 0 || c[i] >= c[i - 1]) && (i == 2 * smax || c[i] >= c[i + 1]);
            if (peak && (best < 0 || c[i] > c[best]))
                best = i;
        }
        if (best < 0 || (found > 0 && c[best] <= 0))
            break;
        for (int i = imax(0, best - 1); i <= imin(2 * smax, best + 1); i++)
            used[i] = 1;
        int s0 = (best - smax) * BIN, sbest = s0;
        double cbest = -1;
        for (int s = s0 - BIN; s <= s0 + BIN; s++) {
            if (s < -BL_TEMPLATE_MAX_SHIFT || s > BL_TEMPLATE_MAX_SHIFT)
                continue;
            double v = correlate(tp, nz, nnz, pp, n, s);
            if (v > cbest) {
                cbest = v;
                sbest = s;
            }
        }
        out[found++] = sbest;
    }
    free(nz);
    if (found == 0)
        out[found++] = 0;
    return found;
}

void bl_template_match_page(const bl_template_set *set, const bl_bitmap *lines,
                            bl_template_match *out)
{
    memset(out, 0, sizeof *out);
    out->index = -1;
    if (!set || set->count == 0 || !lines)
        return;
    int W = lines->width, H = lines->height;
    long *prow = bl_xcalloc((size_t)H, sizeof *prow), *pcol = bl_xcalloc((size_t)W, sizeof *pcol);
    uint64_t ink = 0;
    for (int y = 0; y < H; y++) {
        const uint64_t *row = BL_BROW(lines, y);
        for (int j = 0; j < lines->wpl; j++)
            for (uint64_t w = row[j]; w; w &= w - 1) {
                pcol[(j << 6) + __builtin_ctzll(w)]++;
                prow[y]++;
            }
        ink += (uint64_t)prow[y];
    }
    if (!ink) {
        free(prow);
        free(pcol);
        return;
    }
    long *trow = bl_xmalloc(sizeof *trow * (size_t)H), *tcol = bl_xmalloc(sizeof *tcol * (size_t)W);
    bl_bitmap *scratch = bl_bitmap_new(W, H);
    float best_score = -1;
    for (int i = 0; i < set->count; i++) {
        const bl_template *t = &set->t[i];
        int dys[CANDIDATES], dxs[CANDIDATES];
        template_profile(t, 0, trow, H);
        template_profile(t, 1, tcol, W);
        int ny = best_shifts(trow, prow, H, dys), nx = best_shifts(tcol, pcol, W, dxs);
        /* The shift is chosen on recall (cheap); precision is measured
         * once, at that shift. */
        float rbest = -1;
        int bx = 0, by = 0;
        for (int a = 0; a < ny; a++)
            for (int b = 0; b < nx; b++) {
                float r = recall_at(t, lines, dxs[b], dys[a]);
                if (r > rbest) {
                    rbest = r;
                    bx = dxs[b];
                    by = dys[a];
                }
            }
        float p = precision_at(t, lines, ink, bx, by, scratch);
        float s = rbest < p ? rbest : p;
        int wins = s >= t->min_score && (out->index < 0 || s > out->score);
        if (wins || (out->index < 0 && s > best_score)) {
            out->index = wins ? i : -1;
            out->dx = bx;
            out->dy = by;
            out->score = s;
            out->recall = rbest;
            out->precision = p;
        }
        if (s > best_score)
            best_score = s;
    }
    bl_bitmap_destroy(&scratch);
    free(prow);
    free(pcol);
    free(trow);
    free(tcol);
}

/* ---- Watching a directory ------------------------------------------------ */

int bl_template_watch_open(bl_template_watch *w, const char *dir, bl_err *err)
{
    memset(w, 0, sizeof *w);
    if (!bl_strlcpy(w->dir, dir ? dir : "", sizeof w->dir))
        return bl_err_set(err, BL_ELIMIT, "%s: template directory path too long", dir);
    w->checked_ns = bl_time_mono_ns();
    if (!w->dir[0]) {
        w->set = bl_xcalloc(1, sizeof *w->set);
        return BL_OK;
    }
    w->stamp = bl_template_dir_stamp(w->dir);
    if (access(w->dir, F_OK) != 0 && errno == ENOENT) {
        /* Not there yet: no templates until it appears. */
        w->missing = 1;
        w->set = bl_xcalloc(1, sizeof *w->set);
        return BL_OK;
    }
    return bl_template_set_load(w->dir, &w->set, err);
}

int bl_template_watch_poll(bl_template_watch *w, uint64_t now_ns, bl_err *err)
{
    if (!w->dir[0] || now_ns - w->checked_ns < 1000000000ull)
        return 0;
    w->checked_ns = now_ns;
    uint64_t stamp = bl_template_dir_stamp(w->dir);
    if (stamp == w->stamp)
        return 0;
    /* Recorded before reading: a bad file is reported once, and read
     * again only when the directory changes again. */
    w->stamp = stamp;
    bl_template_set *fresh = NULL;
    w->missing = 0;
    int rc = bl_template_set_load(w->dir, &fresh, err);
    if (rc)
        return rc;
    bl_template_set_destroy(&w->set);
    w->set = fresh;
    return 1;
}

void bl_template_watch_close(bl_template_watch *w)
{
    bl_template_set_destroy(&w->set);
    memset(w, 0, sizeof *w);
}
