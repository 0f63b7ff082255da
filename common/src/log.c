/*
 * log.c — dtx's one logging module: dtx_log builds a line `msg="..." k=v ...`,
 * one level filters it, one handler set by the program receives it
 * (dtx/logging.h); without a handler every line is dropped, so libdtx
 * writes nothing on its own. dtx_log_stderr is the ready handler dtxd, the
 * gateway, the samples and the test tools install.
 *
 * Threads: the level and the handler pointer are atomics read without a
 * lock, so a line that is filtered out (or has no handler) costs two loads
 * and no formatting. The handler and its arg change together under
 * s_lock: dtx_log holds it for reading while the handler runs,
 * dtx_log_set_handler for writing. So a line never pairs one handler with
 * another's arg, and once dtx_log_set_handler returns the previous handler
 * is no longer running (its arg may be freed).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dtx/log.h"

/* Longest line passed to a handler, NUL included. */
#define S_LINE_SIZE 1024

static atomic_int s_level = DTX_LOG_INFO;
static _Atomic(dtx_log_fn) s_fn;         /* NULL: lines are dropped */
static void *s_arg;                      /* written under s_lock (write) */
static pthread_rwlock_t s_lock = PTHREAD_RWLOCK_INITIALIZER;

static const char *const s_level_names[] = { "error", "warn", "info", "debug" };

void dtx_log_set_handler(dtx_log_fn fn, void *arg)
{
    pthread_rwlock_wrlock(&s_lock);
    atomic_store_explicit(&s_fn, fn, memory_order_relaxed);
    s_arg = arg;
    pthread_rwlock_unlock(&s_lock);
}

void dtx_log_set_level(int level)
{
    if (level >= DTX_LOG_ERROR && level <= DTX_LOG_DEBUG)
        atomic_store_explicit(&s_level, level, memory_order_relaxed);
}

int dtx_log_level_parse(const char *name)
{
    for (int i = 0; i <= DTX_LOG_DEBUG; i++)
        if (name && strcasecmp(name, s_level_names[i]) == 0)
            return i;
    return DTX_EINVAL;
}

const char *dtx_log_level_name(int level)
{
    if (level < DTX_LOG_ERROR || level > DTX_LOG_DEBUG)
        return "unknown";
    return s_level_names[level];
}

void dtx_log(int level, const char *msg, const char *fmt, ...)
{
    if (level < DTX_LOG_ERROR || level > atomic_load_explicit(&s_level, memory_order_relaxed)
        || !atomic_load_explicit(&s_fn, memory_order_relaxed))
        return;
    char line[S_LINE_SIZE];
    int n = snprintf(line, sizeof line, "msg=\"%s\"", msg ? msg : "");
    if (n < 0)
        return;
    if ((size_t)n < sizeof line - 1 && fmt && *fmt) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        va_end(ap);
    }
    pthread_rwlock_rdlock(&s_lock);
    dtx_log_fn fn = atomic_load_explicit(&s_fn, memory_order_relaxed);
    if (fn)
        fn(level, line, s_arg);
    pthread_rwlock_unlock(&s_lock);
}

void dtx_log_stderr(int level, const char *line, void *arg)
{
    char out[S_LINE_SIZE + 128];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(out, sizeof out,
                     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s proc=%s %s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
                     dtx_log_level_name(level), arg ? (const char *)arg : "dtx",
                     line ? line : "");
    if (n < 0)
        return;
    if ((size_t)n > sizeof out - 2)
        n = (int)sizeof out - 2;
    out[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, out, (size_t)n);
    (void)w;
}
