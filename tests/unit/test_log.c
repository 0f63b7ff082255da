/*
 * test_log.c — the logging module (common/src/log.c, dtx/logging.h): no
 * handler means no output, the level filters, the line's format, the
 * stderr handler's, and handler changes while other threads log.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dtx/log.h"
#include "unit.h"

/* A handler that keeps the last line and counts calls per level. */
typedef struct capture {
    int  calls;
    int  per_level[DTX_LOG_DEBUG + 1];
    int  last_level;
    char last[2048];
} capture_t;

static void s_capture(int level, const char *line, void *arg)
{
    capture_t *c = arg;
    c->calls++;
    if (level >= DTX_LOG_ERROR && level <= DTX_LOG_DEBUG)
        c->per_level[level]++;
    c->last_level = level;
    snprintf(c->last, sizeof c->last, "%s", line);
}

static int s_restore(void)
{
    dtx_log_set_handler(dtx_log_stderr, NULL);
    dtx_log_set_level(DTX_LOG_INFO);
    return 0;
}

static void test_without_a_handler_nothing_is_delivered(void)
{
    capture_t c = { 0 };
    dtx_log_set_handler(s_capture, &c);
    dtx_log_set_handler(NULL, NULL);
    dtx_log_error("dropped", "k=%d", 1);
    CU_ASSERT_EQUAL(c.calls, 0);
    dtx_log_set_handler(s_capture, &c);
    dtx_log_error("kept", NULL);
    CU_ASSERT_EQUAL(c.calls, 1);
    s_restore();
}

static void test_line_is_msg_then_key_values_without_newline(void)
{
    capture_t c = { 0 };
    dtx_log_set_handler(s_capture, &c);
    dtx_log_warn("coordinator lost", "gid=%s branch=%u", "g-1", 7u);
    CU_ASSERT_EQUAL(c.last_level, DTX_LOG_WARN);
    CU_ASSERT_STRING_EQUAL(c.last, "msg=\"coordinator lost\" gid=g-1 branch=7");
    dtx_log_info("plain", NULL);
    CU_ASSERT_STRING_EQUAL(c.last, "msg=\"plain\"");
    dtx_log_info("plain", "%s", "");
    CU_ASSERT_STRING_EQUAL(c.last, "msg=\"plain\" ");
    s_restore();
}

static void test_level_lets_through_itself_and_more_severe(void)
{
    capture_t c = { 0 };
    dtx_log_set_handler(s_capture, &c);
    dtx_log_set_level(DTX_LOG_WARN);
    dtx_log_error("e", NULL);
    dtx_log_warn("w", NULL);
    dtx_log_info("i", NULL);
    dtx_log_debug("d", NULL);
    CU_ASSERT_EQUAL(c.per_level[DTX_LOG_ERROR], 1);
    CU_ASSERT_EQUAL(c.per_level[DTX_LOG_WARN], 1);
    CU_ASSERT_EQUAL(c.per_level[DTX_LOG_INFO], 0);
    CU_ASSERT_EQUAL(c.per_level[DTX_LOG_DEBUG], 0);
    dtx_log_set_level(99); /* ignored */
    dtx_log_set_level(-1); /* ignored */
    dtx_log_info("i", NULL);
    CU_ASSERT_EQUAL(c.per_level[DTX_LOG_INFO], 0);
    dtx_log_set_level(DTX_LOG_DEBUG);
    dtx_log_debug("d", NULL);
    CU_ASSERT_EQUAL(c.per_level[DTX_LOG_DEBUG], 1);
    dtx_log(DTX_LOG_DEBUG + 1, "beyond debug", NULL);
    dtx_log(-1, "below error", NULL);
    CU_ASSERT_EQUAL(c.calls, 3);
    s_restore();
}

static void test_long_lines_are_cut_and_terminated(void)
{
    capture_t c = { 0 };
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    dtx_log_set_handler(s_capture, &c);
    dtx_log_error("long", "v=%s", big);
    CU_ASSERT_EQUAL(c.calls, 1);
    CU_ASSERT(strlen(c.last) > 900 && strlen(c.last) < 1024);
    CU_ASSERT(strncmp(c.last, "msg=\"long\" v=xxx", 16) == 0);
    dtx_log_error(big, "v=%d", 1);
    CU_ASSERT(strlen(c.last) < 1024);
    s_restore();
}

/* A value from outside cannot forge a field or a line: DTX_Q escapes
 * quotes, backslashes, control characters and invalid UTF-8, keeps valid
 * UTF-8 and cuts at a whole character. */
static void test_quote_escapes_what_could_forge_a_line(void)
{
    char b[64];
    CU_ASSERT_STRING_EQUAL(dtx_log_quote(b, sizeof b, "a\"b\\c"), "a\\\"b\\\\c");
    CU_ASSERT_STRING_EQUAL(dtx_log_quote(b, sizeof b, "x\ny\rz\t"), "x\\ny\\rz\\t");
    CU_ASSERT_STRING_EQUAL(dtx_log_quote(b, sizeof b, "\x1b[2J\x7f"), "\\x1b[2J\\x7f");
    CU_ASSERT_STRING_EQUAL(dtx_log_quote(b, sizeof b, "caf\xc3\xa9"), "caf\xc3\xa9");
    /* cut mid-character, overlong, surrogate, beyond U+10FFFF */
    CU_ASSERT_STRING_EQUAL(dtx_log_quote(b, sizeof b, "a\xc3"), "a\\xc3");
    CU_ASSERT_STRING_EQUAL(dtx_log_quote(b, sizeof b, "\xc0\xaf"), "\\xc0\\xaf");
    CU_ASSERT_STRING_EQUAL(dtx_log_quote(b, sizeof b, "\xed\xa0\x80"), "\\xed\\xa0\\x80");
    CU_ASSERT_STRING_EQUAL(dtx_log_quote(b, sizeof b, "\xf4\x90\x80\x80"),
                           "\\xf4\\x90\\x80\\x80");
    CU_ASSERT_STRING_EQUAL(dtx_log_quote(b, sizeof b, NULL), "");
    /* too long: cut at a whole character, "..." says so */
    char small[8];
    CU_ASSERT_STRING_EQUAL(dtx_log_quote(small, sizeof small, "abcdefghij"), "abcd...");
    CU_ASSERT_STRING_EQUAL(dtx_log_quote(small, sizeof small, "abcdefg"), "abcdefg");
    CU_ASSERT_STRING_EQUAL(dtx_log_quote(small, sizeof small, "ab\xc3\xa9\xc3\xa9\xc3\xa9"), "ab\xc3\xa9...");
    CU_ASSERT_STRING_EQUAL(dtx_log_quote(small, sizeof small, "\n\n\n\n"), "\\n\\n...");
    char big[600];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CU_ASSERT_EQUAL(strlen(DTX_Q(big)), DTX_LOG_Q_SIZE - 1);
}

/* Whatever a caller passes unquoted, the line dtx_log delivers has no
 * control character and no invalid UTF-8. */
static void test_lines_never_carry_control_bytes_or_bad_utf8(void)
{
    capture_t c = { 0 };
    dtx_log_set_handler(s_capture, &c);
    dtx_log_warn("peer error", "text=\"%s\"", "x\" forged=1\nmsg=\"fake\xff\xc3");
    CU_ASSERT_EQUAL(c.calls, 1);
    CU_ASSERT_STRING_EQUAL(c.last, "msg=\"peer error\" text=\"x\" forged=1\\x0amsg=\"fake\\xff\\xc3\"");
    dtx_log_warn("peer error", "text=\"%s\"", DTX_Q("x\" forged=1\nmsg=\"fake\xff"));
    CU_ASSERT_STRING_EQUAL(c.last, "msg=\"peer error\" text=\"x\\\" forged=1\\nmsg=\\\"fake\\xff\"");
    dtx_log_warn("utf8", "name=\"%s\"", "\xc3\xa9t\xc3\xa9");
    CU_ASSERT_STRING_EQUAL(c.last, "msg=\"utf8\" name=\"\xc3\xa9t\xc3\xa9\"");
    /* a line full of bytes to widen stays within the limit */
    char bad[1000];
    memset(bad, '\n', sizeof bad - 1);
    bad[sizeof bad - 1] = '\0';
    dtx_log_warn("wide", "v=%s", bad);
    CU_ASSERT(strlen(c.last) < 1024);
    CU_ASSERT_PTR_NULL(strchr(c.last, '\n'));
    s_restore();
}

static void test_level_names_parse_back(void)
{
    for (int l = DTX_LOG_ERROR; l <= DTX_LOG_DEBUG; l++)
        CU_ASSERT_EQUAL(dtx_log_level_parse(dtx_log_level_name(l)), l);
    CU_ASSERT_EQUAL(dtx_log_level_parse("WARN"), DTX_LOG_WARN);
    CU_ASSERT_EQUAL(dtx_log_level_parse("verbose"), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_log_level_parse(""), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_log_level_parse(NULL), DTX_EINVAL);
    CU_ASSERT_STRING_EQUAL(dtx_log_level_name(4), "unknown");
    CU_ASSERT_STRING_EQUAL(dtx_log_level_name(-1), "unknown");
}

/* dtx_log_stderr writes `ts=... level=... proc=... <line>\n` in one write. */
static void test_stderr_handler_prefixes_time_level_and_name(void)
{
    char path[] = "/tmp/dtx-log-test-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    int saved = dup(STDERR_FILENO);
    fflush(stderr);
    dup2(fd, STDERR_FILENO);
    dtx_log_set_handler(dtx_log_stderr, "unit");
    dtx_log_warn("hello", "k=%d", 1);
    dtx_log_set_handler(dtx_log_stderr, NULL);
    dtx_log_error("again", NULL);
    dup2(saved, STDERR_FILENO);
    close(saved);
    char buf[512] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unlink(path);
    CU_ASSERT_FATAL(n > 0);
    buf[n] = '\0';
    char *second = strchr(buf, '\n');
    CU_ASSERT_FATAL(second != NULL);
    *second++ = '\0';
    CU_ASSERT(strncmp(buf, "ts=", 3) == 0);
    CU_ASSERT(strlen(buf) > 24 && buf[26] == 'Z');
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "Z level=warn proc=unit msg=\"hello\" k=1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(second, " level=error proc=dtx msg=\"again\"\n"));
    s_restore();
}

/* Two handlers swapped while threads log: every line reaches exactly one
 * of them, always with that handler's own arg, and once set_handler has
 * returned the previous handler is not running. */
typedef struct swap_handler {
    atomic_int calls;
    atomic_int running;
    atomic_int wrong_arg;
} swap_handler_t;

static swap_handler_t s_h1, s_h2;
static atomic_int s_loggers_done;

static void s_swap_fn1(int level, const char *line, void *arg)
{
    (void)level;
    (void)line;
    atomic_fetch_add(&s_h1.running, 1);
    if (arg != &s_h1)
        atomic_fetch_add(&s_h1.wrong_arg, 1);
    atomic_fetch_add(&s_h1.calls, 1);
    atomic_fetch_sub(&s_h1.running, 1);
}

static void s_swap_fn2(int level, const char *line, void *arg)
{
    (void)level;
    (void)line;
    atomic_fetch_add(&s_h2.running, 1);
    if (arg != &s_h2)
        atomic_fetch_add(&s_h2.wrong_arg, 1);
    atomic_fetch_add(&s_h2.calls, 1);
    atomic_fetch_sub(&s_h2.running, 1);
}

#define S_THREADS 4
#define S_LINES   2000

static void *s_logger(void *arg)
{
    (void)arg;
    for (int i = 0; i < S_LINES; i++)
        dtx_log_info("line", "i=%d", i);
    atomic_fetch_add(&s_loggers_done, 1);
    return NULL;
}

static void test_handler_swaps_under_concurrent_logging(void)
{
    memset(&s_h1, 0, sizeof s_h1);
    memset(&s_h2, 0, sizeof s_h2);
    atomic_store(&s_loggers_done, 0);
    dtx_log_set_handler(s_swap_fn1, &s_h1);
    pthread_t t[S_THREADS];
    for (int i = 0; i < S_THREADS; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, s_logger, NULL), 0);
    int stale = 0;
    for (int round = 0; round < 200 || atomic_load(&s_loggers_done) < S_THREADS; round++) {
        dtx_log_set_handler(s_swap_fn2, &s_h2);
        stale += atomic_load(&s_h1.running);
        dtx_log_set_handler(s_swap_fn1, &s_h1);
        stale += atomic_load(&s_h2.running);
    }
    for (int i = 0; i < S_THREADS; i++)
        pthread_join(t[i], NULL);
    CU_ASSERT_EQUAL(stale, 0);
    CU_ASSERT_EQUAL(atomic_load(&s_h1.wrong_arg) + atomic_load(&s_h2.wrong_arg), 0);
    CU_ASSERT_EQUAL(atomic_load(&s_h1.calls) + atomic_load(&s_h2.calls), S_THREADS * S_LINES);
    s_restore();
}

UNIT_SUITE(log)
{
    CU_pSuite s = CU_add_suite("log", NULL, s_restore);
#define T(fn) CU_add_test(s, #fn, fn)
    T(test_without_a_handler_nothing_is_delivered);
    T(test_line_is_msg_then_key_values_without_newline);
    T(test_level_lets_through_itself_and_more_severe);
    T(test_long_lines_are_cut_and_terminated);
    T(test_quote_escapes_what_could_forge_a_line);
    T(test_lines_never_carry_control_bytes_or_bad_utf8);
    T(test_level_names_parse_back);
    T(test_stderr_handler_prefixes_time_level_and_name);
    T(test_handler_swaps_under_concurrent_logging);
#undef T
}
