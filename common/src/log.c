/*
 * log.c — one line per event on stderr: ts=... level=... proc=... msg="..." k=v ...
 * A single write(2) per line keeps lines whole when several processes share
 * a log file.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dtx/log.h"
#include "dtx/types.h"

static int s_level = DTX_LOG_INFO;
static const char *s_name = "dtx";
static const char *const s_level_names[] = { "error", "warn", "info", "debug" };

void dtx_log_set_level(int level)
{
    if (level >= DTX_LOG_ERROR && level <= DTX_LOG_DEBUG)
        s_level = level;
}

int dtx_log_level_parse(const char *name)
{
    for (int i = 0; i <= DTX_LOG_DEBUG; i++)
        if (name && strcasecmp(name, s_level_names[i]) == 0)
            return i;
    return DTX_EINVAL;
}

void dtx_log_set_name(const char *name)
{
    s_name = name ? name : "dtx";
}

void dtx_log(int level, const char *msg, const char *fmt, ...)
{
    if (level > s_level || level < DTX_LOG_ERROR)
        return;
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line,
                     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s proc=%s msg=\"%s\"",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
                     s_level_names[level], s_name, msg);
    if (n < 0)
        return;
    if ((size_t)n < sizeof line - 2 && fmt && *fmt) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m;
    }
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
