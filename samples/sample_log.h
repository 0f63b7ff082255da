/*
 * samples/sample_log.h — the log lines of the sample programs, built on
 * libdtx's public log API only (dtx/logging.h), as a service of your own
 * would do it: the sample's lines and libdtx's go to stderr in one format,
 *
 *     ts=... level=info proc=bank-a-1 msg="applied" gid=... branch=1 ...
 *
 * filtered by one level. A service with a logger of its own would instead
 * pass dtx_log_set_handler a function that feeds that logger.
 */
#ifndef DTX_SAMPLE_LOG_H
#define DTX_SAMPLE_LOG_H

#include "dtx/logging.h"

/* Names the program (proc=; not copied) and sends libdtx's lines to
 * stderr with dtx_log_stderr. Call it early in main. */
void sample_log_set_name(const char *name);

/* The most verbose level written, the sample's and libdtx's (default
 * DTX_LOG_INFO). */
void sample_log_set_level(int level);

/* Writes `msg="<msg>" <fmt...>` at level: msg a short fixed description,
 * fmt/... key=value pairs (may be NULL). */
void sample_log(int level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define sample_log_error(msg, ...) sample_log(DTX_LOG_ERROR, msg, __VA_ARGS__)
#define sample_log_warn(msg, ...)  sample_log(DTX_LOG_WARN, msg, __VA_ARGS__)
#define sample_log_info(msg, ...)  sample_log(DTX_LOG_INFO, msg, __VA_ARGS__)
#define sample_log_debug(msg, ...) sample_log(DTX_LOG_DEBUG, msg, __VA_ARGS__)

#endif
