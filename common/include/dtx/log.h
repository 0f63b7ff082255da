/*
 * dtx/log.h — the writing side of dtx's one logging module (common/src/log.c),
 * for the code of dtx itself: dtxd, the gateway, libdtx, the test tools.
 * Not installed: programs that use libdtx see only dtx/logging.h, which
 * says where the lines go (a handler; none by default, so a library
 * writes nothing on its own) and the level.
 *
 * One line per event: a short fixed description, then key=value pairs
 * with gid= and branch= where they exist. Never log secrets or whole
 * payloads.
 *
 * Lines stay lines (one escaping rule, here): a value that comes from
 * outside (a peer's ERROR text, a PostgreSQL message, a name from a
 * request) is written key="%s" with DTX_Q(value), which escapes \ and "
 * as \\ and \", control characters as \n \r \t or \xNN and each byte
 * of invalid UTF-8 as \xNN. And dtx_log itself turns every control
 * character and invalid UTF-8 byte left in the finished line into \xNN,
 * so even an unquoted value cannot start a new line or break a reader. Processes install a handler at start (dtxd:
 * dtx_log_set_handler(dtx_log_stderr, "dtxd"), or dtx_log_stderr_json
 * for --log-format json: the same line turned into one JSON object by
 * dtx_log_json, common/src/log_json.c).
 */
#ifndef DTX_LOG_H
#define DTX_LOG_H

#include <stddef.h>

#include "dtx/logging.h"

/* Builds the line `msg="<msg>" <fmt...>` and passes it to the handler
 * when level is let through and a handler is set. msg is a short fixed
 * description, fmt/... an optional list of key=value pairs (may be NULL).
 * Cheap when the level is filtered out or no handler is set. */
void dtx_log(int level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes s into buf (size bytes) with the escaping above, cut at a whole
 * character (then ending in "...") when it does not fit; returns buf.
 * NULL s gives "". size must be at least 4. */
const char *dtx_log_quote(char *buf, size_t size, const char *s);

/* The longest value DTX_Q writes, NUL included. */
#define DTX_LOG_Q_SIZE 256

/* An escaped copy of s in a buffer that lives until the end of the
 * enclosing block: dtx_log_warn("x", "reason=\"%s\"", DTX_Q(text)). */
#define DTX_Q(s) dtx_log_quote((char[DTX_LOG_Q_SIZE]){0}, DTX_LOG_Q_SIZE, (s))

/* The length of the valid UTF-8 sequence at s (1..4), or 0 when the
 * bytes there are not one (overlong, surrogate, beyond U+10FFFF, cut). */
size_t dtx_utf8_seq_len(const unsigned char *s, size_t avail);

/* The handler --log-format NAME asks for: "text" dtx_log_stderr, "json"
 * dtx_log_stderr_json (any case); NULL for any other name (and NULL). */
dtx_log_fn dtx_log_format_handler(const char *name);

/* Names the node in the lines dtx_log_stderr_json writes ("node"); NULL
 * or "" leaves it out (the default). Copied, cut at 63 bytes. dtxd sets
 * it once, before its threads start: not safe against lines being
 * written at the same time. */
void dtx_log_set_node(const char *node);

#define dtx_log_error(msg, ...) dtx_log(DTX_LOG_ERROR, msg, __VA_ARGS__)
#define dtx_log_warn(msg, ...)  dtx_log(DTX_LOG_WARN, msg, __VA_ARGS__)
#define dtx_log_info(msg, ...)  dtx_log(DTX_LOG_INFO, msg, __VA_ARGS__)
#define dtx_log_debug(msg, ...) dtx_log(DTX_LOG_DEBUG, msg, __VA_ARGS__)

#endif
