/*
 * dtx/log.h — one logging module for every dtx process.
 *
 * One line per event on stderr: `ts=... level=... msg="..." key=value ...`
 * (or one JSON object per line when the format is set to JSON). Callers
 * pass gid/branch as key=value pairs in the format string. Never log
 * secrets or whole payloads.
 */
#ifndef DTX_LOG_H
#define DTX_LOG_H

#define DTX_LOG_ERROR 0
#define DTX_LOG_WARN  1
#define DTX_LOG_INFO  2
#define DTX_LOG_DEBUG 3

/* Sets the most verbose level written (default DTX_LOG_INFO). */
void dtx_log_set_level(int level);
/* Parses "error", "warn", "info", "debug"; returns the level or DTX_EINVAL. */
int dtx_log_level_parse(const char *name);
/* Sets the process name written as `proc=` on every line. Not copied. */
void dtx_log_set_name(const char *name);

/* Writes one line: msg is a short fixed description, fmt/... an optional
 * list of key=value pairs (may be NULL). */
void dtx_log(int level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define dtx_log_error(msg, ...) dtx_log(DTX_LOG_ERROR, msg, __VA_ARGS__)
#define dtx_log_warn(msg, ...)  dtx_log(DTX_LOG_WARN, msg, __VA_ARGS__)
#define dtx_log_info(msg, ...)  dtx_log(DTX_LOG_INFO, msg, __VA_ARGS__)
#define dtx_log_debug(msg, ...) dtx_log(DTX_LOG_DEBUG, msg, __VA_ARGS__)

#endif
