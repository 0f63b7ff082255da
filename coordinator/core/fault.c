/* fault.c — see fault.h. Off by default; cheap when off (one branch). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dtx/log.h"
#include "dtx/types.h"
#include "fault.h"

const char *const dtx_fault_points[] = {
    "after-begin-write",    "after-branch-write",   "after-try-sent",
    "after-prepare-sent",   "after-all-voted",
    "after-vote-write",     "after-decision-write", "after-decision-reply",
    "between-phases",       "before-finish-write",  "after-finish-write",
    "after-claim",
    /* Saga (docs/sagas.md) */
    "after-saga-write",     "after-step-done",      "after-step-compensated",
    /* transactional message (docs/sagas.md) */
    "after-tmsg-write",
    /* fail-*: the operation fails, the process goes on (fault.h) */
    "fail-branch-write",
    NULL,
};

#define S_NPOINTS (sizeof dtx_fault_points / sizeof dtx_fault_points[0] - 1)

static long s_armed[S_NPOINTS]; /* remaining hits before exit; 0 = off */
static int s_any;

int dtx_fault_configure(const char *spec, char *err, unsigned errlen)
{
    memset(s_armed, 0, sizeof s_armed);
    s_any = 0;
    if (!spec || !*spec)
        return 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        long count = 1;
        char *colon = strchr(tok, ':');
        if (colon) {
            *colon = '\0';
            char *end = NULL;
            count = strtol(colon + 1, &end, 10);
            if (!*(colon + 1) || *end || count < 1) {
                snprintf(err, errlen, "--fault: '%.64s' needs a count of 1 or more after ':'", tok);
                return DTX_ECONFIG;
            }
        }
        size_t i = 0;
        while (i < S_NPOINTS && strcmp(dtx_fault_points[i], tok) != 0)
            i++;
        if (i == S_NPOINTS) {
            snprintf(err, errlen, "--fault: unknown point '%.64s' (see coordinator/core/fault.h)", tok);
            return DTX_ECONFIG;
        }
        s_armed[i] = count;
        s_any = 1;
    }
    return 0;
}

/* The armed slot of point when its count is reached now, else -1. */
static int s_hit(const char *point)
{
    for (size_t i = 0; i < S_NPOINTS; i++) {
        if (s_armed[i] == 0 || strcmp(dtx_fault_points[i], point) != 0)
            continue;
        return --s_armed[i] == 0 ? (int)i : -1;
    }
    return -1;
}

int dtx_fault_armed(const char *point)
{
    if (!s_any)
        return 0;
    for (size_t i = 0; i < S_NPOINTS; i++)
        if (s_armed[i] > 0 && strcmp(dtx_fault_points[i], point) == 0)
            return 1;
    return 0;
}

int dtx_fault_fail(const char *point)
{
    if (!s_any || s_hit(point) < 0)
        return 0;
    dtx_log_error("fault injected: failing", "point=%s", point);
    return 1;
}

void dtx_fault_point(const char *point)
{
    if (!s_any || s_hit(point) < 0)
        return;
    dtx_log_error("fault injected: exiting", "point=%s", point);
    _exit(DTX_FAULT_EXIT);
}
