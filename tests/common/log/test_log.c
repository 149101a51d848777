/*
 * log: line format ("2026-11-29T08:50:01.123Z detect.0 info  message"),
 * level filtering, one line per event, into a temporary file.
 */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log/log.h"

static char path[64];

static void setup(void)
{
    bl_strlcpy(path, "/tmp/test_log_XXXXXX", sizeof path);
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
}

static void teardown(void)
{
    bl_log_close();
    unlink(path);
}

/* Reads the log file into lines; returns the line count. */
static int read_lines(char lines[][512], int max)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    int n = 0;
    while (n < max && fgets(lines[n], 512, f))
        n++;
    fclose(f);
    return n;
}

Test(log, parses_levels)
{
    cr_assert_eq(bl_log_level_parse("debug"), BL_LOG_DEBUG);
    cr_assert_eq(bl_log_level_parse("info"), BL_LOG_INFO);
    cr_assert_eq(bl_log_level_parse("warn"), BL_LOG_WARN);
    cr_assert_eq(bl_log_level_parse("error"), BL_LOG_ERROR);
    cr_assert_eq(bl_log_level_parse("loud"), -1);
    cr_assert_eq(bl_log_level_parse(NULL), -1);
}

Test(log, rejects_unknown_level)
{
    bl_err err = {0};
    cr_assert_eq(bl_log_init("detect", 0, "chatty", NULL, &err), BL_EINVAL);
    cr_assert(strstr(err.msg, "chatty"), "%s", err.msg);
}

Test(log, writes_formatted_lines_and_filters_levels, .init = setup,
     .fini = teardown)
{
    bl_err err = {0};
    cr_assert_eq(bl_log_init("detect", 3, "info", path, &err), BL_OK, "%s",
                 err.msg);
    bl_log(BL_LOG_DEBUG, "hidden %d", 1);
    bl_log(BL_LOG_INFO, "page done pages=%d", 2);
    bl_log(BL_LOG_WARN, "two\nlines");
    bl_log(BL_LOG_ERROR, "bad");
    bl_log_close();

    char lines[8][512];
    int n = read_lines(lines, 8);
    cr_assert_eq(n, 3, "debug is filtered at level info");

    regex_t re;
    cr_assert_eq(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
                         "[0-9]{2}\\.[0-9]{3}Z detect\\.3 (info |warn |error) "
                         ".*\n$", REG_EXTENDED | REG_NOSUB), 0);
    for (int i = 0; i < n; i++)
        cr_assert_eq(regexec(&re, lines[i], 0, NULL, 0), 0, "line %d: %s", i,
                     lines[i]);
    regfree(&re);
    cr_assert(strstr(lines[0], " detect.3 info  page done pages=2\n"), "%s",
              lines[0]);
    cr_assert(strstr(lines[1], " warn  two lines\n"), "newline kept the event "
              "on one line: %s", lines[1]);
    cr_assert(strstr(lines[2], " error bad\n"), "%s", lines[2]);
}

Test(log, time_is_current_utc, .init = setup, .fini = teardown)
{
    cr_assert_eq(bl_log_init("write", 0, "debug", path, NULL), BL_OK);
    time_t before = time(NULL);
    bl_log(BL_LOG_DEBUG, "tick");
    time_t after = time(NULL);
    bl_log_close();
    char lines[2][512];
    cr_assert_eq(read_lines(lines, 2), 1);
    /* The logged second lies between the two readings (UTC, not local). */
    bool found = false;
    for (time_t t = before; t <= after; t++) {
        struct tm tm;
        gmtime_r(&t, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S.", &tm);
        found = found || strncmp(lines[0], stamp, strlen(stamp)) == 0;
    }
    cr_assert(found, "%s", lines[0]);
}

Test(log, appends_and_cuts_long_messages, .init = setup, .fini = teardown)
{
    cr_assert_eq(bl_log_init("classify", 1, "warn", path, NULL), BL_OK);
    char *big = malloc(20000);
    memset(big, 'x', 19999);
    big[19999] = '\0';
    bl_log(BL_LOG_ERROR, "%s", big);
    bl_log(BL_LOG_INFO, "filtered");
    bl_log_close();
    cr_assert_eq(bl_log_init("classify", 1, "warn", path, NULL), BL_OK);
    bl_log(BL_LOG_WARN, "second");
    bl_log_close();
    free(big);

    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, f);
    cr_assert(len > 1000 && len <= 8192, "one capped line, got %zd", len);
    cr_assert_eq(strcmp(line + len - 5, "xxx...\n" + 2), 0, "cut marker");
    len = getline(&line, &cap, f);
    cr_assert(len > 0 && strstr(line, "classify.1 warn  second"), "appended");
    cr_assert_eq(getline(&line, &cap, f), -1);
    free(line);
    fclose(f);
}
