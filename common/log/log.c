/*
 * log: one line per event, to stderr or to a file shared by every stage
 * process of a pipeline:
 *
 *   2026-11-29T08:50:01.123Z detect.0 info  page done  key=value ...
 *
 * Time is UTC wall clock with milliseconds (ISO 8601, "Z"), then
 * stage.instance, the level padded to five columns, then the message.
 *
 * Several processes append to the same file, so each line is formatted
 * into one buffer and handed to the kernel in a single write() on an
 * O_APPEND descriptor: POSIX makes each such write land whole at the end
 * of the file, so lines never interleave (stdio buffering would split
 * them). Lines are capped at BL_LOG_LINE_MAX bytes; longer messages are
 * cut and marked with "...". Newlines inside a message become spaces so
 * that one event stays one line for grep and log shippers.
 *
 * The state is process-global and not locked: stage processes log from
 * one thread.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BL_LOG_LINE_MAX 8192

static struct {
    char stage[32];
    int instance;   /* < 0: no ".N" after the stage name (front end) */
    int level;
    int fd;         /* STDERR_FILENO or an O_APPEND file we own */
} log_state = {"blotter", -1, BL_LOG_INFO, STDERR_FILENO};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int bl_log_level_parse(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

void bl_log_close(void)
{
    if (log_state.fd != STDERR_FILENO)
        close(log_state.fd);
    log_state.fd = STDERR_FILENO;
}

int bl_log_init(const char *stage, int instance, const char *level,
                const char *file, bl_err *err)
{
    int lv = BL_LOG_INFO;
    if (level && level[0]) {
        lv = bl_log_level_parse(level);
        if (lv < 0)
            return bl_err_set(err, BL_EINVAL, "log level '%s': expected debug, "
                              "info, warn or error", level);
    }
    int fd = STDERR_FILENO;
    if (file && file[0]) {
        fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return bl_err_set(err, errno == ENOENT ? BL_ENOENT : BL_EIO,
                              "log file %s: %s", file, strerror(errno));
    }
    bl_log_close();
    bl_strlcpy(log_state.stage, stage && stage[0] ? stage : "blotter",
               sizeof log_state.stage);
    log_state.instance = instance;
    log_state.level = lv;
    log_state.fd = fd;
    return BL_OK;
}

/* Appends "2026-11-29T08:50:01.123Z " to buf; returns the length. */
static size_t format_time(char *buf, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    int m = snprintf(buf + n, size - n, ".%03ldZ ", ts.tv_nsec / 1000000L);
    return n + (size_t)(m > 0 ? m : 0);
}

void bl_log(bl_log_level level, const char *fmt, ...)
{
    if ((int)level < log_state.level)
        return;
    if ((int)level < BL_LOG_DEBUG || (int)level > BL_LOG_ERROR)
        level = BL_LOG_ERROR;

    char line[BL_LOG_LINE_MAX];
    size_t n = format_time(line, sizeof line);
    int m;
    if (log_state.instance >= 0)
        m = snprintf(line + n, sizeof line - n, "%s.%d %-5s ", log_state.stage,
                     log_state.instance, level_names[level]);
    else
        m = snprintf(line + n, sizeof line - n, "%s %-5s ", log_state.stage,
                     level_names[level]);
    n += (size_t)(m > 0 ? m : 0);

    size_t msg_start = n;
    /* Leave room for "...\n" so a cut line still ends cleanly. */
    size_t room = sizeof line - n - 4;
    va_list ap;
    va_start(ap, fmt);
    m = vsnprintf(line + n, room + 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    if ((size_t)m > room) {
        n += room;
        memcpy(line + n, "...", 3);
        n += 3;
    } else {
        n += (size_t)m;
    }
    for (size_t i = msg_start; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';

    /* One write per line (see the top of the file); retry only when a
     * signal interrupted it before anything was written. */
    ssize_t w;
    do
        w = write(log_state.fd, line, n);
    while (w < 0 && errno == EINTR);
}
