/*
 * log.c — dtx's one logging module: dtx_log builds a line `msg="..." k=v ...`,
 * one level filters it, one handler set by the program receives it
 * (dtx/logging.h); without a handler every line is dropped, so libdtx
 * writes nothing on its own. dtx_log_stderr is the ready handler dtxd, the
 * gateway, the samples and the test tools install.
 *
 * Escaping: dtx_log_quote escapes a value for key="..."; dtx_log then
 * rewrites any control byte or invalid UTF-8 left in the line as \xNN
 * (s_sanitize), so no caller can put a newline or a broken character
 * into a line (dtx/log.h says the rule).
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

size_t dtx_utf8_seq_len(const unsigned char *s, size_t avail)
{
    if (avail == 0)
        return 0;
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;              /* overlong */
        else if (c == 0xed)
            hi = 0x9f;              /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;              /* overlong */
        else if (c == 0xf4)
            hi = 0x8f;              /* beyond U+10FFFF */
    } else
        return 0;
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

static const char s_hex[] = "0123456789abcdef";

/* The escape of the character at p (at most 4 bytes into tmp; 0 when it
 * is copied as is) and, in *take, how many input bytes it covers. */
static size_t s_escape_at(const unsigned char *p, size_t avail, char tmp[4], size_t *take)
{
    unsigned char c = p[0];
    *take = 1;
    if (c == '"' || c == '\\') {
        tmp[0] = '\\';
        tmp[1] = (char)c;
        return 2;
    }
    if (c == '\n' || c == '\r' || c == '\t') {
        tmp[0] = '\\';
        tmp[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        return 2;
    }
    if (c >= 0x20 && c != 0x7f && c < 0x80)
        return 0;
    if (c >= 0x80 && (*take = dtx_utf8_seq_len(p, avail)) > 0)
        return 0;
    *take = 1;
    tmp[0] = '\\';
    tmp[1] = 'x';
    tmp[2] = s_hex[c >> 4];
    tmp[3] = s_hex[c & 15];
    return 4;
}

const char *dtx_log_quote(char *buf, size_t size, const char *s)
{
    if (!buf || size < 4)
        return "";
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t len = strlen((const char *)p), total = 0, take;
    char tmp[4];
    for (size_t i = 0; i < len && total < size; i += take) {
        size_t tn = s_escape_at(p + i, len - i, tmp, &take);
        total += tn ? tn : take;
    }
    /* When it does not all fit, stop where "..." still does. */
    size_t limit = total <= size - 1 ? size - 1 : size - 4, o = 0, i = 0;
    for (; i < len; i += take) {
        size_t tn = s_escape_at(p + i, len - i, tmp, &take);
        size_t need = tn ? tn : take;
        if (o + need > limit)
            break;
        memcpy(buf + o, tn ? tmp : (const char *)p + i, need);
        o += need;
    }
    if (i < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* Rewrites, in place and within size, every control byte and every byte
 * of invalid UTF-8 in line as \xNN; cuts at a whole character when the
 * line would overflow. */
static void s_sanitize(char *line, size_t size)
{
    size_t len = strlen(line), i = 0;
    for (; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c >= 0x20 && c != 0x7f && c < 0x80)
            continue;
        size_t k = c >= 0x80 ? dtx_utf8_seq_len((unsigned char *)line + i, len - i) : 0;
        if (k) {
            i += k - 1;
            continue;
        }
        if (len + 3 >= size) {          /* no room to widen: cut here */
            line[i] = '\0';
            return;
        }
        memmove(line + i + 4, line + i + 1, len - i);   /* with the NUL */
        line[i] = '\\';
        line[i + 1] = 'x';
        line[i + 2] = s_hex[c >> 4];
        line[i + 3] = s_hex[c & 15];
        len += 3;
        i += 3;
    }
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
    s_sanitize(line, sizeof line);
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
