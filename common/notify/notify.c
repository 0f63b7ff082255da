/*
 * notify.c — dtx/notify.h on libsystemd's sd_notify(3).
 *
 * Every message is one datagram of newline-separated assignments: the
 * state (READY=1, RELOADING=1 with MONOTONIC_USEC, STOPPING=1) first, then
 * STATUS= with the caller's text made one line. NOTIFY_SOCKET stays in the
 * environment (unset_environment 0): a daemon notifies more than once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "dtx/notify.h"
#include "dtx/types.h"

size_t dtx_notify_message(char *out, size_t outlen, const char *state, const char *status)
{
    char line[DTX_NOTIFY_STATUS_MAX + 1] = "";
    if (status) {
        snprintf(line, sizeof line, "%s", status);
        for (char *p = line; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
    }
    int n = snprintf(out, outlen, "%s%s%s%s", state, *state && status ? "\n" : "",
                     status ? "STATUS=" : "", line);
    if (n < 0)
        n = 0;
    return (size_t)n < outlen ? (size_t)n : outlen - 1;
}

/* Sends state (may be "") followed by STATUS=<fmt, args> when fmt is not
 * NULL. */
static int s_send(const char *state, const char *fmt, va_list ap)
{
    char status[DTX_NOTIFY_STATUS_MAX + 1] = "";
    char msg[DTX_NOTIFY_MSG_MAX];
    if (fmt)
        vsnprintf(status, sizeof status, fmt, ap);
    dtx_notify_message(msg, sizeof msg, state, fmt ? status : NULL);
    return sd_notify(0, msg) < 0 ? DTX_EIO : 0;
}

int dtx_notify_ready(const char *status_fmt, ...)
{
    va_list ap;
    va_start(ap, status_fmt);
    int rc = s_send("READY=1", status_fmt, ap);
    va_end(ap);
    return rc;
}

int dtx_notify_stopping(const char *status_fmt, ...)
{
    va_list ap;
    va_start(ap, status_fmt);
    int rc = s_send("STOPPING=1", status_fmt, ap);
    va_end(ap);
    return rc;
}

int dtx_notify_status(const char *status_fmt, ...)
{
    va_list ap;
    va_start(ap, status_fmt);
    int rc = s_send("", status_fmt, ap);
    va_end(ap);
    return rc;
}

/* RELOADING=1 with the monotonic clock in microseconds, as systemd 253's
 * Type=notify-reload wants it (older managers ignore the field). */
int dtx_notify_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char msg[64];
    snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
    return sd_notify(0, msg) < 0 ? DTX_EIO : 0;
}
