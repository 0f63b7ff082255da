/*
 * signals.c — dtx_participant_stop_on_signals (dtx/dtx.h): SIGTERM and
 * SIGINT become dtx_participant_stop of one participant, so a service
 * stops its dtx_participant_run cleanly instead of being killed.
 *
 * The handlers are process-wide; so is the participant they stop
 * (s_target, the last one named). Lifecycle:
 *   first call     saves the handlers in place, installs s_on_signal
 *   later calls    only change s_target
 *   destroy of     s_target cleared, the saved handlers put back
 *   s_target       (dtx_sdk_signals_forget, from dtx_participant_destroy)
 *
 * Invariants: the handler only reads s_target (a lock-free atomic) and
 * calls dtx_participant_stop (one atomic store), both async-signal-safe;
 * s_target is set before the handlers are installed and cleared before
 * they are removed, so a signal never finds a participant already freed
 * by the thread it interrupts.
 */
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "dtx/dtx.h"
#include "dtx/log.h"
#include "sdk_internal.h"

_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2, "a signal handler reads s_target");

static const int s_signals[] = { SIGTERM, SIGINT };
#define S_NSIGNALS ((int)(sizeof s_signals / sizeof s_signals[0]))

static _Atomic(dtx_participant_t *) s_target;     /* whom the signals stop; NULL none */
static struct sigaction s_previous[S_NSIGNALS];  /* put back by dtx_sdk_signals_forget */
static int s_installed;                           /* s_on_signal is in place */

static void s_on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    dtx_participant_stop(atomic_load(&s_target));
    errno = saved;
}

static void s_restore(int n)
{
    for (int i = 0; i < n; i++)
        sigaction(s_signals[i], &s_previous[i], NULL);
}

int dtx_participant_stop_on_signals(dtx_participant_t *self)
{
    assert(self);
    atomic_store(&s_target, self);
    if (s_installed)
        return DTX_OK;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < S_NSIGNALS; i++) {
        if (sigaction(s_signals[i], &sa, &s_previous[i]) != 0) {
            int e = errno;
            s_restore(i);
            atomic_store(&s_target, NULL);
            dtx_log_error("cannot install signal handlers", "signal=%d error=\"%s\"",
                          s_signals[i], strerror(e));
            return DTX_EIO;
        }
    }
    s_installed = 1;
    return DTX_OK;
}

void dtx_sdk_signals_forget(dtx_participant_t *self)
{
    dtx_participant_t *expected = self;
    if (!atomic_compare_exchange_strong(&s_target, &expected, NULL))
        return;
    if (s_installed)
        s_restore(S_NSIGNALS);
    s_installed = 0;
}
