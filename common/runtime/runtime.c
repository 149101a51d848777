/*
 * runtime: shared plumbing of the stage processes.
 *
 * Signals use the self-pipe trick (as czmq's zsys does): the handler only
 * write()s the signal number to a non-blocking pipe, and the stage's one
 * zmq_poll loop watches the pipe's read end next to its sockets, so a
 * SIGTERM is handled between two items, never inside one.
 */
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "log/log.h"

static int signal_pipe[2] = {-1, -1};

static void usage(const char *stage)
{
    printf("usage: blotter-%s [--config FILE] [--instance N] [--run-dir DIR]%s\n"
           "       [--model FILE]\n"
           "  Runs one instance of the %s stage; normally started by\n"
           "  `blotter run`.\n",
           stage, strcmp(stage, "write") == 0 ? " [--db FILE]" : "", stage);
}

int bl_runtime_parse_args(int argc, char **argv, const char *stage,
                          bl_stage_args *out, bl_err *err)
{
    memset(out, 0, sizeof *out);
    out->run_dir = "";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stage);
            return 1;
        }
        if (i + 1 >= argc)
            return bl_err_set(err, BL_EINVAL, "%s: missing value or unknown "
                              "option (see --help)", a);
        const char *v = argv[++i];
        if (strcmp(a, "--config") == 0) {
            out->config_path = v;
        } else if (strcmp(a, "--run-dir") == 0) {
            out->run_dir = v;
        } else if (strcmp(a, "--db") == 0 && strcmp(stage, "write") == 0) {
            out->db_path = v;
        } else if (strcmp(a, "--model") == 0) {
            out->model_path = v;
        } else if (strcmp(a, "--instance") == 0) {
            char *end;
            errno = 0;
            long n = strtol(v, &end, 10);
            if (errno || *end || n < 0 || n >= BL_MAX_INSTANCES)
                return bl_err_set(err, BL_EINVAL, "--instance: not an instance "
                                  "number 0..%d: '%s'", BL_MAX_INSTANCES - 1, v);
            out->instance = (int)n;
        } else {
            return bl_err_set(err, BL_EINVAL, "unknown option %s (see --help)", a);
        }
    }
    return BL_OK;
}

int bl_runtime_setup(const bl_stage_args *args, bl_stage_id stage,
                     bl_conf *conf, bl_err *err)
{
    char path[BL_PATH_MAX];
    bl_conf_defaults(conf);
    bl_conf_locate(args->config_path, path, sizeof path);
    if (path[0]) {
        int rc = bl_conf_load(conf, path, err);
        if (rc)
            return rc;
    }
    if (args->instance >= conf->instances[stage])
        return bl_err_set(err, BL_EINVAL, "instance %d of %s, but %s configures "
                          "%d", args->instance, bl_stage_name(stage),
                          path[0] ? path : "the defaults", conf->instances[stage]);
    if (args->db_path)
        bl_strlcpy(conf->database, args->db_path, sizeof conf->database);
    if (args->model_path)
        bl_strlcpy(conf->model[stage], args->model_path, sizeof conf->model[stage]);
    return bl_log_init(bl_stage_name(stage), args->instance, conf->log_level,
                       conf->log_file, err);
}

int bl_runtime_start(int argc, char **argv, bl_stage_id stage,
                     bl_stage_args *args, bl_conf *conf, bl_err *err)
{
    int rc = bl_runtime_parse_args(argc, argv, bl_stage_name(stage), args, err);
    if (rc)
        return rc;
    return bl_runtime_setup(args, stage, conf, err);
}

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t n = write(signal_pipe[1], &b, 1);
    (void)n; /* a full pipe already holds a pending signal */
    errno = saved;
}

int bl_runtime_signals_install(bl_err *err)
{
    if (signal_pipe[0] < 0) {
        if (pipe(signal_pipe) != 0)
            return bl_err_set(err, BL_EINTERNAL, "pipe: %s", strerror(errno));
        for (int i = 0; i < 2; i++) {
            fcntl(signal_pipe[i], F_SETFL, O_NONBLOCK);
            fcntl(signal_pipe[i], F_SETFD, FD_CLOEXEC);
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return signal_pipe[0];
}

int bl_runtime_signal_take(int fd)
{
    unsigned char buf[16];
    int last = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        last = buf[n - 1];
    return last;
}

void *bl_runtime_socket(void *ctx, int type, const bl_conf *conf, bl_err *err)
{
    void *s = zmq_socket(ctx, type);
    if (!s) {
        bl_err_set(err, BL_EINTERNAL, "zmq_socket: %s", zmq_strerror(errno));
        return NULL;
    }
    int hwm = conf->high_water_mark;
    int linger = (type == ZMQ_PUB || type == ZMQ_SUB)
                     ? 0 : conf->drain_timeout_s * 1000;
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (type == ZMQ_SUB)
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    /* A peer that announces a larger message is disconnected by ZeroMQ
     * before the bytes are buffered; the decoder checks each frame again. */
    if (type == ZMQ_PULL || type == ZMQ_SUB || type == ZMQ_REP) {
        int64_t max = conf->max_message_bytes > INT64_MAX
                          ? INT64_MAX : (int64_t)conf->max_message_bytes;
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max);
    }
    return s;
}

/* 1 if the socket address is one of this host's interface addresses. */
static int address_is_local(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        uint32_t a = ntohl(in->sin_addr.s_addr);
        if (a == INADDR_ANY || (a >> 24) == 127)
            return 1;
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr) ||
            IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return 1;
    } else {
        return 0;
    }
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) != 0)
        return 0;
    int local = 0;
    for (struct ifaddrs *i = ifs; i && !local; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != sa->sa_family)
            continue;
        if (sa->sa_family == AF_INET)
            local = memcmp(&((const struct sockaddr_in *)sa)->sin_addr,
                           &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr,
                           sizeof(struct in_addr)) == 0;
        else
            local = memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr,
                           &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr,
                           sizeof(struct in6_addr)) == 0;
    }
    freeifaddrs(ifs);
    return local;
}

int bl_runtime_endpoint_is_local(const char *endpoint)
{
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return 1;
    char host[256];
    const char *start = endpoint + 6, *colon = strrchr(start, ':');
    size_t n = colon ? (size_t)(colon - start) : strlen(start);
    if (n >= sizeof host)
        return 0;
    memcpy(host, start, n);
    host[n] = '\0';
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    if (strcmp(host, "*") == 0 || strcmp(host, "localhost") == 0 ||
        if_nametoindex(host) != 0)
        return 1;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return 0;
    int local = 0;
    for (struct addrinfo *a = res; a && !local; a = a->ai_next)
        local = address_is_local(a->ai_addr);
    freeaddrinfo(res);
    return local;
}

int bl_runtime_connect_stage(void *socket, bl_secure *secure,
                             const bl_conf *conf, bl_stage_id stage,
                             const char *run_dir, bl_err *err)
{
    for (int i = 0; i < conf->instances[stage]; i++) {
        char ep[BL_ENDPOINT_MAX];
        int rc = bl_conf_endpoint(conf, stage, i, run_dir, ep, sizeof ep, err);
        if (rc == BL_OK)
            rc = bl_secure_connect(secure, socket, ep, err);
        if (rc)
            return rc;
    }
    return BL_OK;
}

int bl_runtime_send_event(void *socket, bl_stage_id stage, int instance,
                          const char *kind, const char *path,
                          const char *text, const int64_t num[4])
{
    bl_msg_header hdr = {0};
    hdr.type = BL_MSG_EVENT;
    hdr.stage = (uint32_t)stage;
    hdr.flags = (uint32_t)instance; /* events: flags carry the instance */
    hdr.t_sent_ns = bl_time_wall_ns();
    bl_note *note = bl_xcalloc(1, sizeof *note);
    bl_strlcpy(note->kind, kind, sizeof note->kind);
    if (path)
        bl_strlcpy(note->path, path, sizeof note->path);
    if (text)
        bl_strlcpy(note->text, text, sizeof note->text);
    if (num)
        memcpy(note->num, num, sizeof note->num);
    bl_frames frames = {0};
    bl_err err = {0};
    int rc = bl_msg_encode_note(&hdr, note, &frames);
    if (rc == BL_OK)
        rc = bl_msg_send(socket, &frames, 0, &err);
    if (rc)
        bl_log(BL_LOG_WARN, "event %s not sent: %s", kind, err.msg);
    bl_frames_free(&frames);
    free(note);
    return rc;
}

int bl_runtime_send_stats(void *socket, bl_stage_id stage, int instance,
                          const bl_stage_stats *stats)
{
    int64_t num[4] = {stats->items_in, stats->items_out, stats->errors,
                      (int64_t)stats->busy_ns};
    char text[128];
    snprintf(text, sizeof text, "cpu_ns=%llu",
             (unsigned long long)bl_time_cpu_ns());
    return bl_runtime_send_event(socket, stage, instance, "stats", NULL, text,
                                 num);
}
