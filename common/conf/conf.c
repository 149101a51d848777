/*
 * conf: pipeline.conf, parsed with libinih (ini_parse_stream with our own
 * line reader and one handler call per key).
 *
 * Every key is described once in the `keys` table below (section, name,
 * kind, place in bl_conf, allowed range); the handler looks the key up,
 * parses and range-checks the value and stores it. The first error wins
 * and is reported as "FILE:LINE: [section] key: reason"; libinih goes on
 * parsing after a failed handler call, so later errors are ignored.
 *
 * Line numbers come from our reader, which counts the lines it hands to
 * libinih (the Debian build has INI_HANDLER_LINENO off, so the handler is
 * not told; libinih calls it for a line right after reading that line).
 * The reader also refuses lines longer than libinih's fixed 200-byte line
 * buffer, which would otherwise be split silently into two lines.
 *
 * Values: surrounding double quotes are stripped, so `key = ""` and
 * `key =` both give the empty string. Integers are plain decimal digits:
 * no sign, no suffix, no separators. A key set twice is an error (a
 * silent override hides mistakes in a long file). Indented lines would be
 * libinih continuation lines; they are refused for the same reason.
 *
 * Paths given in the file (database, runtime_dir, log_file, templates,
 * models) are
 * resolved against the directory holding the file, so a configuration
 * works from any current directory. An empty database means the default,
 * blotter.db in the current directory.
 *
 * After the file is read, endpoints are cross-checked: every instance of
 * every stage must get its own address (catches tcp:// port ranges that
 * overlap once instances add to the port).
 *
 * Loading is all or nothing: the file is parsed into a copy that replaces
 * *self only on success.
 */
#include "conf.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <ini.h>

#ifndef BL_SOURCE_DIR
#define BL_SOURCE_DIR "."
#endif

/* ---- Defaults ------------------------------------------------------------ */

void bl_conf_defaults(bl_conf *self)
{
    memset(self, 0, sizeof *self);
    bl_strlcpy(self->database, "blotter.db", sizeof self->database);
    bl_strlcpy(self->log_level, "info", sizeof self->log_level);
    self->start_timeout_s = 30;
    self->drain_timeout_s = 10;
    self->retry_timeout_s = 60;
    self->max_restarts = 5;
    self->start_local_stages = 1;
    bl_strlcpy(self->endpoint[BL_STAGE_FRONT], "ipc://{run}/events",
               sizeof self->endpoint[0]);
    for (int s = BL_STAGE_INGEST; s < BL_STAGE_COUNT; s++)
        bl_snprintf(self->endpoint[s], sizeof self->endpoint[s], "ipc://{run}/%s",
                    bl_stage_name((bl_stage_id)s));
    bl_strlcpy(self->control_endpoint, "ipc://{run}/control",
               sizeof self->control_endpoint);
    bl_strlcpy(self->metrics_endpoint, "ipc://{run}/metrics",
               sizeof self->metrics_endpoint);
    for (int s = 0; s < BL_STAGE_COUNT; s++)
        self->instances[s] = 1;
    bl_strlcpy(self->templates, BL_SOURCE_DIR "/templates", sizeof self->templates);
    bl_strlcpy(self->model[BL_STAGE_INGEST],
               BL_SOURCE_DIR "/models/ingest-orient.blm",
               sizeof self->model[BL_STAGE_INGEST]);
    bl_strlcpy(self->model[BL_STAGE_DETECT],
               BL_SOURCE_DIR "/models/detect-regions.blm",
               sizeof self->model[BL_STAGE_DETECT]);
    bl_strlcpy(self->model[BL_STAGE_SEGMENT],
               BL_SOURCE_DIR "/models/segment-cuts.blm",
               sizeof self->model[BL_STAGE_SEGMENT]);
    bl_strlcpy(self->model[BL_STAGE_CLASSIFY],
               BL_SOURCE_DIR "/models/classify-cnn.blm",
               sizeof self->model[BL_STAGE_CLASSIFY]);
    bl_strlcpy(self->model[BL_STAGE_WRITE],
               BL_SOURCE_DIR "/models/write-gate.blm",
               sizeof self->model[BL_STAGE_WRITE]);
    self->max_page_pixels = 100000000u;
    self->max_pages_per_file = 10000;
    self->max_file_bytes = (uint64_t)2 << 30;
    self->max_fields_per_page = 256;
    self->max_digits_per_page = 4096;
    self->max_message_bytes = (uint64_t)256 << 20;
    self->high_water_mark = 16;
}

/* ---- The keys ------------------------------------------------------------ */

typedef enum {
    K_PATH,     /* char[BL_PATH_MAX], resolved against the file's directory */
    K_DATABASE, /* K_PATH, but "" keeps the default */
    K_LEVEL,    /* char[16]: debug | info | warn | error */
    K_ENDPOINT, /* char[BL_ENDPOINT_MAX] */
    K_INT,      /* int */
    K_U32,      /* uint32_t */
    K_U64,      /* uint64_t */
    K_SWITCH    /* int: off = 0, on = 1 */
} key_kind;

typedef struct key_def {
    const char *section, *name;
    key_kind kind;
    size_t offset, size;
    uint64_t min, max;
    const char *why; /* reason when out of range, if the range has one */
} key_def;

#define AT(member) offsetof(bl_conf, member), sizeof(((bl_conf *)0)->member)
#define STAGE_KEYS(section, kind, member, min, max, why)                        \
    {section, "ingest", kind, AT(member[BL_STAGE_INGEST]), min, max, why},      \
    {section, "detect", kind, AT(member[BL_STAGE_DETECT]), min, max, why},      \
    {section, "segment", kind, AT(member[BL_STAGE_SEGMENT]), min, max, why},    \
    {section, "classify", kind, AT(member[BL_STAGE_CLASSIFY]), min, max, why}

static const key_def keys[] = {
    {"pipeline", "database", K_DATABASE, AT(database), 0, 0, NULL},
    {"pipeline", "runtime_dir", K_PATH, AT(runtime_dir), 0, 0, NULL},
    {"pipeline", "log_level", K_LEVEL, AT(log_level), 0, 0, NULL},
    {"pipeline", "log_file", K_PATH, AT(log_file), 0, 0, NULL},
    {"pipeline", "start_timeout", K_INT, AT(start_timeout_s), 1, 86400, NULL},
    {"pipeline", "drain_timeout", K_INT, AT(drain_timeout_s), 1, 86400, NULL},
    {"pipeline", "retry_timeout", K_INT, AT(retry_timeout_s), 1, 86400, NULL},
    {"pipeline", "max_restarts", K_INT, AT(max_restarts), 0, 1000, NULL},
    {"pipeline", "start_local_stages", K_SWITCH, AT(start_local_stages), 0, 1,
     NULL},
    {"pipeline", "templates", K_PATH, AT(templates), 0, 0, NULL},

    {"endpoints", "events", K_ENDPOINT, AT(endpoint[BL_STAGE_FRONT]), 0, 0, NULL},
    {"endpoints", "control", K_ENDPOINT, AT(control_endpoint), 0, 0, NULL},
    {"endpoints", "metrics", K_ENDPOINT, AT(metrics_endpoint), 0, 0, NULL},
    STAGE_KEYS("endpoints", K_ENDPOINT, endpoint, 0, 0, NULL),
    {"endpoints", "write", K_ENDPOINT, AT(endpoint[BL_STAGE_WRITE]), 0, 0, NULL},

    STAGE_KEYS("instances", K_INT, instances, 1, BL_MAX_INSTANCES, NULL),
    {"instances", "write", K_INT, AT(instances[BL_STAGE_WRITE]), 1, 1,
     "there is exactly one writer: it owns the database"},

    STAGE_KEYS("models", K_PATH, model, 0, 0, NULL),
    {"models", "write", K_PATH, AT(model[BL_STAGE_WRITE]), 0, 0, NULL},

    {"limits", "max_page_pixels", K_U64, AT(max_page_pixels), 1, UINT64_MAX, NULL},
    {"limits", "max_pages_per_file", K_U32, AT(max_pages_per_file), 1,
     UINT32_MAX, NULL},
    {"limits", "max_file_bytes", K_U64, AT(max_file_bytes), 1, UINT64_MAX, NULL},
    {"limits", "max_fields_per_page", K_U32, AT(max_fields_per_page), 1,
     UINT32_MAX, NULL},
    {"limits", "max_digits_per_page", K_U32, AT(max_digits_per_page), 1,
     UINT32_MAX, NULL},
    {"limits", "max_message_bytes", K_U64, AT(max_message_bytes), 1, SIZE_MAX,
     NULL},

    /* 0 would mean "unbounded" to ZeroMQ and remove the backpressure. */
    {"queues", "high_water_mark", K_INT, AT(high_water_mark), 1, 1000000, NULL},

    {"security", "curve", K_SWITCH, AT(curve), 0, 1, NULL},
    {"security", "server_secret_key", K_PATH, AT(server_secret_key), 0, 0, NULL},
    {"security", "server_public_key", K_PATH, AT(server_public_key), 0, 0, NULL},
    {"security", "client_secret_key", K_PATH, AT(client_secret_key), 0, 0, NULL},
    {"security", "authorized_keys", K_PATH, AT(authorized_keys), 0, 0, NULL},
};
#define KEY_COUNT (sizeof keys / sizeof keys[0])

/* ---- Parsing state ------------------------------------------------------- */

typedef struct parse_state {
    bl_conf *conf;
    const char *path;        /* as given, for messages */
    char dir[BL_PATH_MAX];   /* directory of the file, for relative paths */
    FILE *file;
    char *line_buf;
    size_t line_cap;
    int line;                /* number of the line last handed to libinih */
    int indented;            /* that line starts with blank space */
    int stop;                /* reader returns EOF from now on */
    int key_line[KEY_COUNT]; /* where each key was set, 0 = not set */
    int err_line;            /* first error, 0 = none */
    int err_code;
    char err_msg[BL_ERR_MSG_MAX];
} parse_state;

/* Records the first error; returns 0, libinih's "handler failed". */
static int fail(parse_state *st, int line, const char *section,
                const char *name, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(parse_state *st, int line, const char *section,
                const char *name, const char *fmt, ...)
{
    if (st->err_line)
        return 0;
    char reason[BL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    st->err_line = line;
    st->err_code = BL_EINVAL;
    if (section && name)
        snprintf(st->err_msg, sizeof st->err_msg, "%s:%d: [%s] %s: %s", st->path,
                 line, section, name, reason);
    else
        snprintf(st->err_msg, sizeof st->err_msg, "%s:%d: %s", st->path, line,
                 reason);
    return 0;
}

/* libinih's reader: fgets semantics, plus line counting and a refusal of
 * lines that would not fit libinih's buffer (it would split them). */
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
        fail(st, st->line, NULL, NULL, "line longer than %d characters",
             num - 2);
        st->stop = 1;
        return NULL;
    }
    memcpy(str, st->line_buf, (size_t)n);
    str[n] = '\0';
    st->indented = n > 0 && (str[0] == ' ' || str[0] == '\t');
    return str;
}

/* Strict decimal: digits only, no sign, no junk, no overflow. */
static int parse_uint(parse_state *st, const key_def *k, const char *v,
                      uint64_t *out)
{
    uint64_t n = 0;
    if (!v[0])
        return fail(st, st->line, k->section, k->name,
                    "not a positive integer: '' (empty)");
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return fail(st, st->line, k->section, k->name,
                        "not a positive integer: '%s'", v);
        unsigned d = (unsigned)(*p - '0');
        if (n > (UINT64_MAX - d) / 10)
            return fail(st, st->line, k->section, k->name,
                        "%s is too large (at most %" PRIu64 ")", v, k->max);
        n = n * 10 + d;
    }
    if (n < k->min || n > k->max) {
        if (k->why)
            return fail(st, st->line, k->section, k->name, "%s: must be %" PRIu64
                        " (%s)", v, k->min, k->why);
        return fail(st, st->line, k->section, k->name, "%s is out of range %"
                    PRIu64 "..%" PRIu64, v, k->min, k->max);
    }
    *out = n;
    return 1;
}

/* Checks an endpoint template: scheme, something after it, for tcp:// a
 * numeric port. Returns NULL or the reason. */
static const char *endpoint_problem(const char *v)
{
    const char *rest;
    if (strncmp(v, "ipc://", 6) == 0)
        rest = v + 6;
    else if (strncmp(v, "inproc://", 9) == 0)
        rest = v + 9;
    else if (strncmp(v, "tcp://", 6) == 0)
        rest = v + 6;
    else
        return "must start with ipc://, tcp:// or inproc://";
    if (!rest[0])
        return "no address after the scheme";
    for (const char *p = v; *p; p++)
        if (*p == ' ' || *p == '\t')
            return "contains blank space";
    if (strncmp(v, "tcp://", 6) == 0) {
        const char *colon = strrchr(rest, ':');
        if (!colon || !colon[1])
            return "tcp:// needs a port (tcp://HOST:PORT)";
        long port = 0;
        for (const char *p = colon + 1; *p; p++) {
            if (*p < '0' || *p > '9' || port > 65535)
                return "tcp:// port is not a number in 1..65535";
            port = port * 10 + (*p - '0');
        }
        if (port < 1 || port > 65535)
            return "tcp:// port is not a number in 1..65535";
    }
    return NULL;
}

static int store_path(parse_state *st, const key_def *k, const char *v,
                      char *dst)
{
    if (!v[0]) {
        bl_strlcpy(dst, k->kind == K_DATABASE ? "blotter.db" : "", k->size);
        return 1;
    }
    bool ok = v[0] == '/' ? bl_strlcpy(dst, v, k->size)
                          : bl_snprintf(dst, k->size, "%s/%s", st->dir, v);
    if (!ok)
        return fail(st, st->line, k->section, k->name, "path too long (at most "
                    "%zu bytes once resolved)", k->size - 1);
    return 1;
}

static int on_key(void *user, const char *section, const char *name,
                  const char *raw)
{
    parse_state *st = user;
    const key_def *k = NULL;
    bool section_known = false;
    for (size_t i = 0; i < KEY_COUNT; i++) {
        if (strcmp(keys[i].section, section) != 0)
            continue;
        section_known = true;
        if (strcmp(keys[i].name, name) == 0)
            k = &keys[i];
    }
    if (!section_known)
        return fail(st, st->line, section, name, "unknown section [%s]", section);
    if (!k) {
        char known[BL_ERR_MSG_MAX / 2] = "";
        for (size_t i = 0; i < KEY_COUNT; i++)
            if (strcmp(keys[i].section, section) == 0) {
                size_t n = strlen(known);
                snprintf(known + n, sizeof known - n, "%s%s", n ? ", " : "",
                         keys[i].name);
            }
        return fail(st, st->line, section, name, "unknown key (known: %s)", known);
    }
    size_t idx = (size_t)(k - keys);
    if (st->key_line[idx]) {
        if (st->indented)
            return fail(st, st->line, section, name, "indented line: "
                        "continuation lines are not supported");
        return fail(st, st->line, section, name, "set twice (first on line %d)",
                    st->key_line[idx]);
    }
    st->key_line[idx] = st->line;

    /* libinih has trimmed blank space; strip one pair of double quotes. */
    char v[BL_PATH_MAX];
    size_t len = strlen(raw);
    if (len >= 2 && raw[0] == '"' && raw[len - 1] == '"') {
        memcpy(v, raw + 1, len - 2);
        v[len - 2] = '\0';
    } else {
        bl_strlcpy(v, raw, sizeof v);
    }

    char *dst = (char *)st->conf + k->offset;
    uint64_t n;
    switch (k->kind) {
    case K_PATH:
    case K_DATABASE:
        return store_path(st, k, v, dst);
    case K_LEVEL:
        if (strcmp(v, "debug") && strcmp(v, "info") && strcmp(v, "warn") &&
            strcmp(v, "error"))
            return fail(st, st->line, section, name, "'%s': expected debug, info, "
                        "warn or error", v);
        bl_strlcpy(dst, v, k->size);
        return 1;
    case K_SWITCH:
        if (strcmp(v, "on") && strcmp(v, "off"))
            return fail(st, st->line, section, name, "'%s': expected on or off", v);
        *(int *)(void *)dst = strcmp(v, "on") == 0;
        return 1;
    case K_ENDPOINT: {
        const char *why = endpoint_problem(v);
        if (why)
            return fail(st, st->line, section, name, "'%s': %s", v, why);
        if (!bl_strlcpy(dst, v, k->size))
            return fail(st, st->line, section, name, "longer than %zu bytes",
                        k->size - 1);
        return 1;
    }
    case K_INT:
        if (!parse_uint(st, k, v, &n))
            return 0;
        *(int *)(void *)dst = (int)n;
        return 1;
    case K_U32:
        if (!parse_uint(st, k, v, &n))
            return 0;
        *(uint32_t *)(void *)dst = (uint32_t)n;
        return 1;
    case K_U64:
        if (!parse_uint(st, k, v, &n))
            return 0;
        *(uint64_t *)(void *)dst = n;
        return 1;
    }
    return 0;
}

/* The key index of a stage's endpoint, for the line of the message. */
static size_t endpoint_key(int stage)
{
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (keys[i].kind == K_ENDPOINT &&
            keys[i].offset == offsetof(bl_conf, endpoint) +
                                  (size_t)stage * BL_ENDPOINT_MAX)
            return i;
    return 0;
}

/* Every instance of every stage binds its own address; two equal ones
 * would make the second bind fail at start-up, far from the cause (e.g.
 * tcp:// port ranges that overlap once instances add to the port). */
static int check_endpoints(parse_state *st)
{
    const bl_conf *c = st->conf;
    enum { SLOTS = BL_STAGE_COUNT * BL_MAX_INSTANCES + 1 };
    char (*eps)[BL_ENDPOINT_MAX] = bl_xcalloc(SLOTS, BL_ENDPOINT_MAX);
    size_t owner[SLOTS]; /* key index of the endpoint in each slot */
    int n = 0, ok = 1;
    bl_err err;
    size_t ctl = 0, met = 0;
    for (size_t i = 0; i < KEY_COUNT; i++) {
        if (keys[i].offset == offsetof(bl_conf, control_endpoint))
            ctl = i;
        if (keys[i].offset == offsetof(bl_conf, metrics_endpoint))
            met = i;
    }
    if (bl_conf_control_endpoint(c, "/run", eps[n], BL_ENDPOINT_MAX, &err)) {
        ok = fail(st, st->key_line[ctl], keys[ctl].section, keys[ctl].name,
                  "%s", err.msg);
        goto done;
    }
    owner[n++] = ctl;
    if (bl_conf_metrics_endpoint(c, "/run", eps[n], BL_ENDPOINT_MAX, &err)) {
        ok = fail(st, st->key_line[met], keys[met].section, keys[met].name,
                  "%s", err.msg);
        goto done;
    }
    if (strcmp(eps[0], eps[1]) == 0) {
        ok = fail(st, st->key_line[met], keys[met].section, keys[met].name,
                  "address %s is also used by [endpoints] control", eps[1]);
        goto done;
    }
    owner[n++] = met;
    for (int s = 0; s < BL_STAGE_COUNT; s++) {
        size_t k = endpoint_key(s);
        int count = s == BL_STAGE_FRONT ? 1 : c->instances[s];
        for (int i = 0; i < count; i++) {
            if (bl_conf_endpoint(c, (bl_stage_id)s, i, "/run", eps[n],
                                 BL_ENDPOINT_MAX, &err)) {
                ok = fail(st, st->key_line[k], keys[k].section, keys[k].name,
                          "%s", err.msg);
                goto done;
            }
            for (int j = 0; j < n; j++) {
                if (strcmp(eps[j], eps[n]) != 0)
                    continue;
                /* Blame the key set later in the file. */
                size_t a = owner[j], b = k;
                size_t blame = st->key_line[a] > st->key_line[b] ? a : b;
                size_t other = blame == a ? b : a;
                ok = fail(st, st->key_line[blame], keys[blame].section,
                          keys[blame].name, "address %s is also used by "
                          "[%s] %s", eps[n], keys[other].section,
                          keys[other].name);
                goto done;
            }
            owner[n++] = k;
        }
    }
done:
    free(eps);
    return ok;
}

int bl_conf_load(bl_conf *self, const char *path, bl_err *err)
{
    parse_state st;
    memset(&st, 0, sizeof st);
    st.path = path;
    st.file = fopen(path, "r");
    if (!st.file)
        return bl_err_set(err, errno == ENOENT ? BL_ENOENT : BL_EIO, "%s: %s",
                          path, strerror(errno));

    char real[PATH_MAX];
    if (realpath(path, real))
        bl_strlcpy(st.dir, real, sizeof st.dir);
    else
        bl_strlcpy(st.dir, path, sizeof st.dir);
    char *slash = strrchr(st.dir, '/');
    if (slash == st.dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        bl_strlcpy(st.dir, ".", sizeof st.dir);

    st.conf = bl_xmalloc(sizeof *st.conf);
    *st.conf = *self;
    int line = ini_parse_stream(read_line, &st, on_key, &st);
    int rc = BL_OK;
    if (line < 0 && !st.err_line)
        rc = bl_err_set(err, BL_EIO, "%s: cannot parse (libinih %d)", path, line);
    else if (line > 0 && !st.err_line)
        fail(&st, line, NULL, NULL, "syntax error: expected '[section]', "
             "'key = value' or a comment");
    if (!rc && ferror(st.file) && !st.err_line)
        rc = bl_err_set(err, BL_EIO, "%s: read error", path);
    if (!rc && !st.err_line)
        check_endpoints(&st);
    if (!rc && st.err_line)
        rc = bl_err_set(err, st.err_code, "%s", st.err_msg);
    if (!rc) {
        bl_strlcpy(st.conf->path, path, sizeof st.conf->path);
        *self = *st.conf;
    }
    free(st.conf);
    free(st.line_buf);
    fclose(st.file);
    return rc;
}

/* ---- Endpoints ----------------------------------------------------------- */

/* Copies tmpl to out with every "{run}" replaced by run_dir. */
static int expand_run(const char *tmpl, const char *run_dir, char *out,
                      size_t out_size, bl_err *err)
{
    size_t n = 0;
    for (const char *p = tmpl; *p;) {
        const char *piece = p;
        size_t len = 1;
        if (strncmp(p, "{run}", 5) == 0) {
            if (!run_dir || !run_dir[0])
                return bl_err_set(err, BL_EINVAL, "endpoint %s: {run} needs a "
                                  "runtime directory", tmpl);
            piece = run_dir;
            len = strlen(run_dir);
            p += 5;
        } else {
            p++;
        }
        if (len >= out_size - n)
            return bl_err_set(err, BL_ELIMIT, "endpoint %s: longer than %zu "
                              "bytes once expanded", tmpl, out_size - 1);
        memcpy(out + n, piece, len);
        n += len;
    }
    out[n] = '\0';
    return BL_OK;
}

int bl_conf_endpoint(const bl_conf *self, bl_stage_id stage, int instance,
                     const char *run_dir, char *out, size_t out_size,
                     bl_err *err)
{
    if ((int)stage < 0 || stage >= BL_STAGE_COUNT)
        return bl_err_set(err, BL_EINVAL, "endpoint: unknown stage %d", (int)stage);
    if (instance < 0 || instance >= BL_MAX_INSTANCES)
        return bl_err_set(err, BL_EINVAL, "endpoint of %s: instance %d out of "
                          "range 0..%d", bl_stage_name(stage), instance,
                          BL_MAX_INSTANCES - 1);
    char base[BL_PATH_MAX + BL_ENDPOINT_MAX];
    int rc = expand_run(self->endpoint[stage], run_dir, base, sizeof base, err);
    if (rc)
        return rc;

    if (strncmp(base, "tcp://", 6) == 0) {
        /* The port is the last ":digits"; instance N listens on port + N. */
        char *colon = strrchr(base + 6, ':');
        char *end = NULL;
        long port = colon && colon[1] >= '0' && colon[1] <= '9'
                        ? strtol(colon + 1, &end, 10) : -1;
        if (port < 1 || *end != '\0' || port > 65535)
            return bl_err_set(err, BL_EINVAL, "endpoint %s: no port", base);
        if (port + instance > 65535)
            return bl_err_set(err, BL_EINVAL, "endpoint %s: instance %d needs "
                              "port %ld, beyond 65535", base, instance,
                              port + instance);
        *colon = '\0';
        if (!bl_snprintf(out, out_size, "%s:%ld", base, port + instance))
            return bl_err_set(err, BL_ELIMIT, "endpoint %s: does not fit %zu "
                              "bytes", base, out_size);
        return BL_OK;
    }
    if (!bl_snprintf(out, out_size, "%s.%d", base, instance))
        return bl_err_set(err, BL_ELIMIT, "endpoint %s.%d: does not fit %zu "
                          "bytes", base, instance, out_size);
    /* A unix socket path must fit sockaddr_un; say so here rather than let
     * the bind fail with a bare "File name too long". */
    if (strncmp(out, "ipc://", 6) == 0 &&
        strlen(out + 6) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return bl_err_set(err, BL_ELIMIT, "endpoint %s: socket path longer than "
                          "%zu bytes (use a shorter runtime_dir)", out,
                          sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
    return BL_OK;
}

int bl_conf_control_endpoint(const bl_conf *self, const char *run_dir,
                             char *out, size_t out_size, bl_err *err)
{
    return expand_run(self->control_endpoint, run_dir, out, out_size, err);
}

int bl_conf_metrics_endpoint(const bl_conf *self, const char *run_dir,
                             char *out, size_t out_size, bl_err *err)
{
    return expand_run(self->metrics_endpoint, run_dir, out, out_size, err);
}

/* ---- Derived limits and locating the file -------------------------------- */

void bl_conf_msg_limits(const bl_conf *self, bl_msg_limits *out)
{
    out->max_frame_bytes = (size_t)self->max_message_bytes;
    out->max_fields = self->max_fields_per_page;
    out->max_digits = self->max_digits_per_page;
    out->max_pixels = self->max_page_pixels;
}

void bl_conf_image_limits(const bl_conf *self, bl_image_limits *out)
{
    out->max_pixels = self->max_page_pixels;
    out->max_pages = self->max_pages_per_file;
    out->max_file_bytes = self->max_file_bytes;
}

void bl_conf_locate(const char *explicit_path, char *out, size_t out_size)
{
    const char *env = getenv("BLOTTER_CONFIG");
    if (explicit_path)
        bl_strlcpy(out, explicit_path, out_size);
    else if (env && env[0])
        bl_strlcpy(out, env, out_size);
    else if (access("pipeline.conf", R_OK) == 0)
        bl_strlcpy(out, "pipeline.conf", out_size);
    else if (access(BL_SOURCE_DIR "/pipeline.conf", R_OK) == 0)
        bl_strlcpy(out, BL_SOURCE_DIR "/pipeline.conf", out_size);
    else if (out_size)
        out[0] = '\0';
}
