/*
 * err.c — names of the shared constants in dtx/types.h: error codes,
 * global states and phase operations.
 *
 * Every text is static and lower-case. The error texts are short because
 * callers add the detail ("gid=... resource=..."); they also travel in
 * ERROR messages, so keep them free of anything host-specific.
 */
#include <stddef.h>
#include <string.h>

#include "dtx/types.h"

/* Indexed by -code. A new code needs a row here; the unit test checks that
 * every code from DTX_ERR_MIN to 0 has a distinct text. */
static const char *const s_errors[] = {
    [-DTX_OK]             = "success",
    [-DTX_EINVAL]         = "invalid argument",
    [-DTX_EPROTO]         = "malformed protocol message",
    [-DTX_EVERSION]       = "protocol version not supported",
    [-DTX_ENOMEM]         = "out of memory",
    [-DTX_ETOOBIG]        = "message or payload too big",
    [-DTX_ENOTFOUND]      = "unknown global transaction",
    [-DTX_ESTATE]         = "operation not allowed in the current state",
    [-DTX_ETIMEOUT]       = "timed out",
    [-DTX_ENOPARTICIPANT] = "no live participant serves the resource",
    [-DTX_EDB]            = "database error",
    [-DTX_EBUSY]          = "a branch is still trying, retry later",
    [-DTX_EIO]            = "transport error",
    [-DTX_EREFUSED]       = "refused by the participant",
    [-DTX_ECONFIG]        = "bad configuration",
    [-DTX_EEXPIRED]       = "transaction deadline passed",
    [-DTX_EUNREGISTERED]  = "instance not registered with this coordinator",
    [-DTX_EINTERNAL]      = "internal error, please report",
    [-DTX_EUNSUPPORTED]   = "not supported",
    [-DTX_EABORTED]       = "transaction aborted",
    [-DTX_EUNKNOWN]       = "outcome unknown, ask the transaction's status",
    [-DTX_EACCES]         = "not allowed for this peer",
    [-DTX_ELIMIT]         = "over a configured limit, retry later",
    [-DTX_ENOTSENT]       = "request not sent (no connection), safe to retry",
};

#define S_NERRORS (sizeof s_errors / sizeof s_errors[0])

const char *dtx_strerror(int err)
{
    if (err > 0 || err < DTX_ERR_MIN || (size_t) -err >= S_NERRORS
        || !s_errors[-err])
        return "unknown error";
    return s_errors[-err];
}

/* Indexed by DTX_STATE_*; 0 is not a state. */
static const char *const s_states[] = {
    [DTX_STATE_ACTIVE]     = "active",
    [DTX_STATE_COMMITTING] = "committing",
    [DTX_STATE_COMMITTED]  = "committed",
    [DTX_STATE_ABORTING]   = "aborting",
    [DTX_STATE_ABORTED]    = "aborted",
    [DTX_STATE_STUCK]      = "stuck",
};

#define S_NSTATES (sizeof s_states / sizeof s_states[0])

const char *dtx_state_name(int state)
{
    if (state < DTX_STATE_ACTIVE || (size_t) state >= S_NSTATES)
        return "unknown";
    return s_states[state];
}

int dtx_state_parse(const char *name)
{
    if (!name)
        return DTX_EINVAL;
    for (int s = DTX_STATE_ACTIVE; (size_t) s < S_NSTATES; s++)
        if (strcmp(name, s_states[s]) == 0)
            return s;
    return DTX_EINVAL;
}

const char *dtx_op_name(int op)
{
    switch (op) {
    case DTX_OP_TRY:     return "try";
    case DTX_OP_CONFIRM: return "confirm";
    case DTX_OP_CANCEL:  return "cancel";
    case DTX_OP_PREPARE: return "prepare";
    case DTX_OP_COMMIT:  return "commit";
    case DTX_OP_ABORT:   return "abort";
    case DTX_OP_ACTION:  return "action";
    case DTX_OP_COMPENSATE: return "compensate";
    case DTX_OP_DELIVER: return "deliver";
    case DTX_OP_QUERY_PREPARED: return "query_prepared";
    default:             return "unknown";
    }
}
