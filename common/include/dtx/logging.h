/*
 * dtx/logging.h — where dtx's log lines go: a handler the program sets,
 * and the most verbose level it wants.
 *
 * libdtx never writes to its host's stderr (or anywhere else) on its own:
 * until the program sets a handler, every line is dropped. A program that
 * wants the lines on stderr says so, usually first thing in main:
 *
 *     dtx_log_set_handler(dtx_log_stderr, "bank-a-1");
 *
 * which writes `ts=2025-01-31T12:00:00.000Z level=warn proc=bank-a-1 msg=...`
 * lines, one write(2) each. A program with a logger of its own passes it
 * the lines instead:
 *
 *     static void to_syslog(int level, const char *line, void *arg)
 *     {
 *         (void)arg;
 *         syslog(level == DTX_LOG_ERROR ? LOG_ERR : level == DTX_LOG_WARN ?
 *                LOG_WARNING : level == DTX_LOG_INFO ? LOG_INFO : LOG_DEBUG,
 *                "%s", line);
 *     }
 *     dtx_log_set_handler(to_syslog, NULL);
 *
 * A line is one event as key=value pairs, without timestamp, level or
 * newline (the handler adds what its destination needs), e.g.
 *
 *     msg="coordinator refused registration" endpoint=tcp://10.0.0.5:7070 code=21
 *
 * It carries gid= and branch= where they exist, never secrets or whole
 * payloads. Lines are cut at about 1000 bytes.
 *
 * For a log collector that wants JSON, dtx_log_stderr_json is the same
 * handler writing one JSON object a line:
 *
 *     dtx_log_set_handler(dtx_log_stderr_json, "bank-a-1");
 *
 *     {"time":"2025-01-31T12:00:00.000Z","level":"warn","component":"bank-a-1",
 *      "msg":"coordinator refused registration","endpoint":"tcp://10.0.0.5:7070","code":21}
 *
 * (one line in the output). A program whose own logger takes JSON, or
 * writes elsewhere than stderr, turns a line into the same object with
 * dtx_log_json in its handler.
 *
 * Threads: libdtx logs from every thread that calls into it (each client
 * and participant is used from one thread, but there may be several), so
 * a handler may run in several threads at once and must be thread-safe;
 * it must not call dtx_log_set_handler and should not call back into
 * libdtx. dtx_log_set_handler and dtx_log_set_level may be called at any
 * time, from any thread.
 */
#ifndef DTX_LOGGING_H
#define DTX_LOGGING_H

#include <stddef.h>

#include "dtx/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Levels, most severe first: a level lets through itself and every level
 * above it in this list. */
#define DTX_LOG_ERROR 0  /* something failed and was not retried */
#define DTX_LOG_WARN  1  /* something failed and will be retried, or was refused */
#define DTX_LOG_INFO  2  /* one line per notable event (connects, registrations) */
#define DTX_LOG_DEBUG 3  /* one line per message or step: verbose */

/* A log handler: level is a DTX_LOG_* value, line the event (valid only
 * during the call, no newline), arg what dtx_log_set_handler was given. */
typedef void (*dtx_log_fn)(int level, const char *line, void *arg);

/* Sends every later line at or above the current level to fn(level, line,
 * arg); fn NULL (the default) drops every line. When it returns, no call
 * of the previous handler is running any more and none will start, so the
 * caller may free the previous arg. */
DTX_EXPORT void dtx_log_set_handler(dtx_log_fn fn, void *arg);

/* Sets the most verbose level passed to the handler (default
 * DTX_LOG_INFO). A value outside DTX_LOG_ERROR..DTX_LOG_DEBUG is ignored. */
DTX_EXPORT void dtx_log_set_level(int level);

/* Parses "error", "warn", "info" or "debug" (any case), for a program's
 * --log-level option. Returns the DTX_LOG_* level, or DTX_EINVAL. */
DTX_EXPORT int dtx_log_level_parse(const char *name);

/* Returns "error", "warn", "info", "debug", or "unknown". */
DTX_EXPORT const char *dtx_log_level_name(int level);

/* A ready handler: writes `ts=<UTC time> level=<name> proc=<arg> <line>`
 * and a newline to stderr in one write(2), so that lines stay whole when
 * several processes share a file. arg is the program's name as a C string
 * (not copied: keep it alive while the handler is set), or NULL for "dtx". */
DTX_EXPORT void dtx_log_stderr(int level, const char *line, void *arg);

/* A ready handler like dtx_log_stderr that writes each line as one JSON
 * object (dtx_log_json, with the current time, arg as the component, or
 * "dtx" when NULL) and a newline, to stderr in one write(2). arg is not
 * copied: keep it alive while the handler is set. */
DTX_EXPORT void dtx_log_stderr_json(int level, const char *line, void *arg);

/* The smallest buffer dtx_log_json writes into. */
#define DTX_LOG_JSON_MIN 256

/* Writes the log line `line` (the key=value text a handler receives) as
 * one JSON object, without a newline, NUL-terminated, into buf (size
 * bytes). Its members, in this order:
 *
 *   time       unix_ms as RFC 3339 UTC with milliseconds,
 *              "2025-01-31T12:00:00.000Z"; unix_ms < 0 means now
 *   level      "error", "warn", "info", "debug" (dtx_log_level_name)
 *   component  component, or "dtx" when NULL
 *   node       node, the coordinator's name; left out when NULL or ""
 *   msg        the line's msg= value ("" when it has none; text before the
 *              first key=value when it has no msg=, else that text is
 *              the member "text")
 *   then every key=value of the line (a key is [A-Za-z0-9_.-]+), in its
 *   order, as its own member:
 *     - a value written key="..." is decoded (\" \\ \n \r \t \xNN)
 *       back to the text it was and is always a JSON string;
 *     - an unquoted value that is a plain decimal integer (-?[1-9][0-9]*
 *       or 0, at most 15 digits, so exact in every JSON reader) is a JSON
 *       number; every other unquoted value is a string as written, "" for
 *       `key=`;
 *     - words that are not key=value (an unquoted value with spaces) are
 *       joined to the value before them, with their spaces;
 *     - a key met again (or one of the names above) with the same value
 *       is left out; with another value it becomes key_2, key_3, ...
 *   truncated  true, present only when something did not fit in size.
 *
 * Strings are escaped as JSON needs (\" \\, control characters as \n,
 * \t, \u00XX...); bytes that are not UTF-8 become U+FFFD, so the object is
 * valid JSON and valid UTF-8 whatever the line holds. When it does not
 * all fit, a string is cut at a whole character and ends in "...", the
 * members after it are left out and "truncated":true closes the object:
 * the result is always one whole object. component and node are cut at 64
 * bytes. With size >= DTX_LOG_JSON_MIN, time, level, component, node and
 * msg are always there. Six times the line's length plus 512 bytes is
 * enough for any line of at most 128 fields (the fields after the 128th
 * are left out, as if they did not fit).
 *
 * Returns the length written (without the NUL), or DTX_EINVAL when buf
 * is NULL or size < DTX_LOG_JSON_MIN. line NULL is the empty line. Pure
 * and thread-safe (unix_ms < 0 reads the clock). */
DTX_EXPORT int dtx_log_json(char *buf, size_t size, int64_t unix_ms, int level,
                            const char *component, const char *node, const char *line);

#ifdef __cplusplus
}
#endif
#endif
