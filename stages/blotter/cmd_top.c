/*
 * blotter top: the live per-stage table of a running pipeline, and
 * blotter metrics: the same figures over HTTP in the Prometheus text
 * format (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Both subscribe to the front end's metrics socket ([endpoints] metrics),
 * where `blotter up` (or `blotter run`, with a fixed runtime_dir) publishes
 * one JSON snapshot a second; pipeline.h describes its fields.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "blotter/commands.h"
#include "blotter/service.h"
#include "runtime/runtime.h"

#define SNAPSHOT_MAX (1 << 20)

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Subscribes to the metrics of the pipeline the configuration names; with
 * [security] curve = on and a tcp:// endpoint, as a CURVE client (*secure
 * is then destroyed by the caller before the context). */
static void *subscribe(void *ctx, const char *config, const char *cmd,
                       bl_secure **secure)
{
    bl_conf conf;
    char path[BL_PATH_MAX], ep[BL_ENDPOINT_MAX];
    bl_err err = {0};
    if (bl_service_conf(config, &conf, path, sizeof path, &err) ||
        bl_conf_metrics_endpoint(&conf, conf.runtime_dir, ep, sizeof ep, &err)) {
        fprintf(stderr, "blotter %s: %s\n", cmd, err.msg);
        return NULL;
    }
    void *sub = NULL;
    if (!(*secure = bl_secure_new(ctx, &conf, &err)) ||
        !(sub = bl_runtime_socket(ctx, ZMQ_SUB, &conf, &err)) ||
        bl_secure_connect(*secure, sub, ep, &err)) {
        fprintf(stderr, "blotter %s: %s\n", cmd, err.msg);
        if (sub)
            zmq_close(sub);
        return NULL;
    }
    return sub;
}

/* Receives the next snapshot within timeout_ms; NULL on timeout. */
static json_t *next_snapshot(void *sub, int timeout_ms)
{
    zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0)
        return NULL;
    char *buf = bl_xmalloc(SNAPSHOT_MAX + 1);
    int n = zmq_recv(sub, buf, SNAPSHOT_MAX, ZMQ_DONTWAIT);
    json_t *root = NULL;
    if (n > 0 && n <= SNAPSHOT_MAX) {
        buf[n] = '\0';
        root = json_loads(buf, 0, NULL);
    }
    free(buf);
    return root;
}

static double num(json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static void print_table(json_t *snap, int clear)
{
    if (clear)
        printf("\033[H\033[2J");
    json_t *b = json_object_get(snap, "batch");
    time_t t = (time_t)json_integer_value(json_object_get(snap, "time"));
    struct tm tm;
    char when[32];
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    double eta = num(b, "eta_s");
    char eta_text[32] = "--";
    if (eta >= 0)
        snprintf(eta_text, sizeof eta_text, "%dm%02ds", (int)eta / 60, (int)eta % 60);
    printf("blotter top  %s\n", when);
    printf("files %lld/%lld done   pages %lld stored, %lld failed, %lld duplicate"
           "   ETA %s\n\n",
           (long long)json_integer_value(json_object_get(b, "files_done")),
           (long long)json_integer_value(json_object_get(b, "files")),
           (long long)json_integer_value(json_object_get(b, "pages_stored")),
           (long long)json_integer_value(json_object_get(b, "pages_failed")),
           (long long)json_integer_value(json_object_get(b, "pages_duplicate")),
           eta_text);
    printf("%-9s %4s %9s %6s %8s %8s %8s %8s %7s  %s\n", "stage", "inst",
           "items/s", "busy", "p50 ms", "p95 ms", "in", "out", "errors", "model");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(snap, "stages"), i, s) {
        double age = num(s, "age_s");
        printf("%-9s %4lld %9.1f %5.0f%% %8.1f %8.1f %8lld %8lld %7lld  %s%s\n",
               json_string_value(json_object_get(s, "stage")),
               (long long)json_integer_value(json_object_get(s, "instance")),
               num(s, "rate"), 100 * num(s, "busy_share"), num(s, "p50_ms"),
               num(s, "p95_ms"),
               (long long)json_integer_value(json_object_get(s, "items_in")),
               (long long)json_integer_value(json_object_get(s, "items_out")),
               (long long)json_integer_value(json_object_get(s, "errors")),
               json_string_value(json_object_get(s, "model")),
               age < 0 ? "  (no report yet)" : age > 5 ? "  (silent)" : "");
    }
    fflush(stdout);
}

int bl_cmd_top(int argc, char **argv)
{
    const char *config = NULL;
    int once = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (strcmp(argv[i], "--once") == 0) {
            once = 1;
        } else {
            FILE *out = strcmp(argv[i], "--help") == 0 ? stdout : stderr;
            fprintf(out, "usage: blotter top [--config FILE] [--once]\n"
                    "  Shows each stage's throughput, busy share, latency (p50,\n"
                    "  p95 over its last 256 items), counts and model, and the\n"
                    "  batch's progress, once a second. --once prints one table.\n");
            return out == stdout ? 0 : 2;
        }
    }
    void *ctx = zmq_ctx_new();
    bl_secure *secure = NULL;
    void *sub = subscribe(ctx, config, "top", &secure);
    int status = sub ? 0 : 2;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int clear = !once && isatty(STDOUT_FILENO);
    int waited_ms = 0;
    while (sub && !stop_requested) {
        json_t *snap = next_snapshot(sub, 500);
        if (!snap) {
            waited_ms += 500;
            if (waited_ms >= 5000) {
                fprintf(stderr, "blotter top: no figures from a pipeline for 5 s "
                        "(is one up? `blotter up`, or `blotter run` with a fixed "
                        "[pipeline] runtime_dir)\n");
                status = 3;
                break;
            }
            continue;
        }
        waited_ms = 0;
        print_table(snap, clear);
        json_decref(snap);
        if (once)
            break;
    }
    if (sub)
        zmq_close(sub);
    bl_secure_destroy(&secure);
    zmq_ctx_term(ctx);
    return status;
}

/* ---- Prometheus -------------------------------------------------------- */

/* Appends the text format of a snapshot to a growing buffer. */
static char *prometheus_text(json_t *snap)
{
    static const struct {
        const char *key, *name, *type, *help;
    } series[] = {
        {"items_in", "blotter_stage_items_in_total", "counter", "Items received."},
        {"items_out", "blotter_stage_items_out_total", "counter", "Items passed on."},
        {"errors", "blotter_stage_errors_total", "counter",
         "Malformed messages and failed items."},
        {"busy_s", "blotter_stage_busy_seconds_total", "counter",
         "Time spent working on items."},
        {"rate", "blotter_stage_items_per_second", "gauge",
         "Items received per second, last interval."},
        {"p50_ms", "blotter_stage_latency_p50_milliseconds", "gauge",
         "Median item latency over the last 256 items."},
        {"p95_ms", "blotter_stage_latency_p95_milliseconds", "gauge",
         "95th percentile item latency over the last 256 items."},
    };
    size_t cap = 4096, len = 0;
    char *out = bl_xmalloc(cap);
    out[0] = '\0';
#define APPEND(...)                                                          \
    do {                                                                     \
        int need_ = snprintf(NULL, 0, __VA_ARGS__);                          \
        while (len + (size_t)need_ + 1 > cap)                                \
            out = bl_xrealloc(out, cap *= 2);                                \
        len += (size_t)snprintf(out + len, cap - len, __VA_ARGS__);          \
    } while (0)
    for (size_t k = 0; k < sizeof series / sizeof series[0]; k++) {
        APPEND("# HELP %s %s\n# TYPE %s %s\n", series[k].name, series[k].help,
               series[k].name, series[k].type);
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(snap, "stages"), i, s) {
            APPEND("%s{stage=\"%s\",instance=\"%lld\"} %.6g\n", series[k].name,
                   json_string_value(json_object_get(s, "stage")),
                   (long long)json_integer_value(json_object_get(s, "instance")),
                   num(s, series[k].key));
        }
    }
    json_t *b = json_object_get(snap, "batch");
    APPEND("# HELP blotter_files Files fed.\n# TYPE blotter_files gauge\n"
           "blotter_files %lld\n",
           (long long)json_integer_value(json_object_get(b, "files")));
    APPEND("# HELP blotter_files_done Files settled.\n# TYPE blotter_files_done "
           "gauge\nblotter_files_done %lld\n",
           (long long)json_integer_value(json_object_get(b, "files_done")));
    APPEND("# HELP blotter_pages_stored_total Pages stored.\n# TYPE "
           "blotter_pages_stored_total counter\nblotter_pages_stored_total %lld\n",
           (long long)json_integer_value(json_object_get(b, "pages_stored")));
    APPEND("# HELP blotter_pages_failed_total Pages refused.\n# TYPE "
           "blotter_pages_failed_total counter\nblotter_pages_failed_total %lld\n",
           (long long)json_integer_value(json_object_get(b, "pages_failed")));
#undef APPEND
    return out;
}

static int listen_on(const char *addr, bl_err *err)
{
    char host[64];
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof host)
        return bl_err_set(err, BL_EINVAL, "--listen %s: want HOST:PORT", addr);
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (*end || port < 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return bl_err_set(err, BL_EINVAL, "--listen %s: want IPv4-ADDRESS:PORT", addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return bl_err_set(err, BL_EIO, "--listen %s: %s", addr, strerror(e));
    }
    return fd;
}

/* Answers one HTTP request: /metrics gets the text format, anything else
 * 404. Requests are read with a deadline so a silent client cannot stall
 * the loop. */
static void answer(int fd, const char *body)
{
    char req[2048];
    size_t got = 0;
    struct pollfd p = {fd, POLLIN, 0};
    while (got < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
        if (poll(&p, 1, 2000) <= 0)
            break;
        ssize_t n = read(fd, req + got, sizeof req - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        req[got] = '\0';
    }
    req[got] = '\0';
    char head[256];
    const char *status = "200 OK";
    if (strncmp(req, "GET /metrics ", 13) != 0) {
        status = "404 Not Found";
        body = "not found: try /metrics\n";
    } else if (!body) {
        status = "503 Service Unavailable";
        body = "no figures from a pipeline yet\n";
    }
    int n = snprintf(head, sizeof head, "HTTP/1.0 %s\r\nContent-Type: text/plain; "
                     "version=0.0.4\r\nContent-Length: %zu\r\nConnection: close"
                     "\r\n\r\n", status, strlen(body));
    if (write(fd, head, (size_t)n) == n)
        (void)!write(fd, body, strlen(body));
    close(fd);
}

int bl_cmd_metrics(int argc, char **argv)
{
    const char *config = NULL, *addr = "127.0.0.1:9464";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            addr = argv[++i];
        } else {
            FILE *out = strcmp(argv[i], "--help") == 0 ? stdout : stderr;
            fprintf(out, "usage: blotter metrics [--config FILE] [--listen "
                    "ADDR:PORT]\n  Serves the running pipeline's figures at "
                    "http://ADDR:PORT/metrics in the\n  Prometheus text format "
                    "(default 127.0.0.1:9464; port 0 picks\n  a free one) until interrupted.\n");
            return out == stdout ? 0 : 2;
        }
    }
    bl_err err = {0};
    int lfd = listen_on(addr, &err);
    if (lfd < 0) {
        fprintf(stderr, "blotter metrics: %s\n", err.msg);
        return 2;
    }
    void *ctx = zmq_ctx_new();
    bl_secure *secure = NULL;
    void *sub = subscribe(ctx, config, "metrics", &secure);
    if (!sub) {
        close(lfd);
        bl_secure_destroy(&secure);
        zmq_ctx_term(ctx);
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    /* Port 0 asks the system for a free one; say which it gave. */
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    getsockname(lfd, (struct sockaddr *)&bound, &blen);
    char shown[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &bound.sin_addr, shown, sizeof shown);
    fprintf(stderr, "blotter metrics: serving http://%s:%u/metrics\n", shown,
            (unsigned)ntohs(bound.sin_port));
    char *text = NULL;
    while (!stop_requested) {
        zmq_pollitem_t items[] = {{sub, 0, ZMQ_POLLIN, 0}, {NULL, lfd, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, 500) < 0 && errno != EINTR)
            break;
        if (items[0].revents & ZMQ_POLLIN) {
            json_t *snap = next_snapshot(sub, 0);
            if (snap) {
                free(text);
                text = prometheus_text(snap);
                json_decref(snap);
            }
        }
        if (items[1].revents & ZMQ_POLLIN) {
            int fd = accept(lfd, NULL, NULL);
            if (fd >= 0)
                answer(fd, text);
        }
    }
    free(text);
    close(lfd);
    zmq_close(sub);
    bl_secure_destroy(&secure);
    zmq_ctx_term(ctx);
    return 0;
}
