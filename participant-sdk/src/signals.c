/*
 * signals.c — SIGTERM and SIGINT set one stop flag (the participant's:
 * dtx_participant_stop_on_signals in participant.c), so a service stops
 * its dtx_participant_run cleanly instead of being killed. It knows a flag,
 * not the participant: participant.c calls down here, never the reverse.
 *
 * The handlers are process-wide; so is the flag they set (s_target, the
 * last one named). Lifecycle:
 *   first watch    saves the handlers in place, installs s_on_signal
 *   later watches  only change s_target
 *   forget of      s_target cleared, the saved handlers put back
 *   s_target       (from dtx_participant_destroy)
 *
 * Invariants: the handler only reads s_target (a lock-free atomic) and
 * stores 1 in the flag, both async-signal-safe; s_target is set before the
 * handlers are installed and cleared before they are removed, so a signal
 * never finds a flag already freed by the thread it interrupts.
 */
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "dtx/log.h"
#include "sdk_internal.h"

_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2, "a signal handler reads s_target");

static const int s_signals[] = { SIGTERM, SIGINT };
#define S_NSIGNALS ((int)(sizeof s_signals / sizeof s_signals[0]))

static _Atomic(atomic_int *) s_target;            /* the flag the signals set; NULL none */
static struct sigaction s_previous[S_NSIGNALS];  /* put back by dtx_sdk_signals_forget */
static int s_installed;                           /* s_on_signal is in place */

static void s_on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    atomic_int *flag = atomic_load(&s_target);
    if (flag)
        atomic_store_explicit(flag, 1, memory_order_release);
    errno = saved;
}

static void s_restore(int n)
{
    for (int i = 0; i < n; i++)
        sigaction(s_signals[i], &s_previous[i], NULL);
}

int dtx_sdk_signals_watch(atomic_int *flag)
{
    assert(flag);
    atomic_store(&s_target, flag);
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

void dtx_sdk_signals_forget(atomic_int *flag)
{
    atomic_int *expected = flag;
    if (!atomic_compare_exchange_strong(&s_target, &expected, NULL))
        return;
    if (s_installed)
        s_restore(S_NSIGNALS);
    s_installed = 0;
}
