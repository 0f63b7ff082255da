/*
 * dtx/log.h — the writing side of dtx's one logging module (common/src/log.c),
 * for the code of dtx itself: dtxd, the gateway, libdtx, the test tools.
 * Not installed: programs that use libdtx see only dtx/logging.h, which
 * says where the lines go (a handler; none by default, so a library
 * writes nothing on its own) and the level.
 *
 * One line per event: a short fixed description, then key=value pairs
 * with gid= and branch= where they exist. Never log secrets or whole
 * payloads. Processes install a handler at start (dtxd:
 * dtx_log_set_handler(dtx_log_stderr, "dtxd")).
 */
#ifndef DTX_LOG_H
#define DTX_LOG_H

#include "dtx/logging.h"

/* Builds the line `msg="<msg>" <fmt...>` and passes it to the handler
 * when level is let through and a handler is set. msg is a short fixed
 * description, fmt/... an optional list of key=value pairs (may be NULL).
 * Cheap when the level is filtered out or no handler is set. */
void dtx_log(int level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define dtx_log_error(msg, ...) dtx_log(DTX_LOG_ERROR, msg, __VA_ARGS__)
#define dtx_log_warn(msg, ...)  dtx_log(DTX_LOG_WARN, msg, __VA_ARGS__)
#define dtx_log_info(msg, ...)  dtx_log(DTX_LOG_INFO, msg, __VA_ARGS__)
#define dtx_log_debug(msg, ...) dtx_log(DTX_LOG_DEBUG, msg, __VA_ARGS__)

#endif
