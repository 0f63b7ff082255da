/*
 * dtx/notify.h — tell the service manager (systemd) how the daemon is.
 *
 * dtxd and dtx-gateway run as Type=notify units (packaging/systemd/): they
 * say READY=1 once they serve (dtxd: log connected, node lease held; the
 * gateway: listening), RELOADING=1 ... READY=1 around a reload done in
 * place, STOPPING=1 when a stop begins, and STATUS= lines between. Sent
 * with libsystemd's sd_notify(3) to $NOTIFY_SOCKET; without it (not
 * started by systemd, a terminal, a test) every call does nothing and
 * returns 0.
 *
 * Not part of libdtx: common/notify/notify.c is linked into the two
 * daemons only (common/notify/notify.mk), so libdtx does not depend on
 * libsystemd. It logs nothing itself: a caller decides what a failed
 * notification is worth.
 *
 * A STATUS text is one line: any control character (a newline would start
 * another assignment, e.g. a forged READY=1) becomes '?', and it is cut at
 * DTX_NOTIFY_STATUS_MAX bytes.
 */
#ifndef DTX_NOTIFY_H
#define DTX_NOTIFY_H

#include <stddef.h>

#define DTX_NOTIFY_STATUS_MAX 200
#define DTX_NOTIFY_MSG_MAX    (DTX_NOTIFY_STATUS_MAX + 64)

/* The datagram for state ("READY=1", ... or "" for none) and status (NULL:
 * no STATUS line), as the calls below send it: written to out (always
 * NUL-terminated), its length returned. Pure; the calls use it, the unit
 * tests check it (tests/unit/test_notify.c). */
size_t dtx_notify_message(char *out, size_t outlen, const char *state, const char *status);

/* Each returns 0 when the message went to the service manager or there is
 * none, DTX_EIO when sending failed. status_fmt (printf) may be NULL: no
 * STATUS line. */
int dtx_notify_ready(const char *status_fmt, ...) __attribute__((format(printf, 1, 2)));
int dtx_notify_reloading(void);
int dtx_notify_stopping(const char *status_fmt, ...) __attribute__((format(printf, 1, 2)));
int dtx_notify_status(const char *status_fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
