/*
 * sample_log.c — see sample_log.h. The samples log from one thread (the
 * gateway sample logs nothing of its own), so the name and level are plain
 * statics set at start.
 */
#include "sample_log.h"

#include <stdarg.h>
#include <stdio.h>

static const char *s_name = "sample";
static int s_level = DTX_LOG_INFO;

void sample_log_set_name(const char *name)
{
    s_name = name ? name : "sample";
    dtx_log_set_handler(dtx_log_stderr, (void *)s_name);
}

void sample_log_set_level(int level)
{
    if (level < DTX_LOG_ERROR || level > DTX_LOG_DEBUG)
        return;
    s_level = level;
    dtx_log_set_level(level);
}

void sample_log(int level, const char *msg, const char *fmt, ...)
{
    if (level < DTX_LOG_ERROR || level > s_level)
        return;
    char line[1024];
    int n = snprintf(line, sizeof line, "msg=\"%s\"", msg);
    if (n < 0)
        return;
    if ((size_t)n < sizeof line - 1 && fmt && *fmt) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        va_end(ap);
    }
    dtx_log_stderr(level, line, (void *)s_name);
}
