/*
 * proto_spec.c — the message table of the wire protocol: for every
 * message type, its name and its fields in wire order (proto_spec.h).
 *
 * Invariants:
 *  - one row a type, and the rows match dtx/proto.h's table and
 *    docs/protocol.md (a new message is one row here; proto.c's loops
 *    need no change);
 *  - a row's fields end at the first DTX_PK_END or after
 *    DTX_PROTO_FIELDS_MAX;
 *  - every bound a decoder checks on a u8 field (its min and max) is in
 *    the row, so encoder and decoder share it.
 */
#include <stddef.h>
#include <stdint.h>

#include "dtx/bundle.h"
#include "dtx/proto.h"
#include "dtx/saga.h"
#include "dtx/trymany.h"
#include "proto_spec.h"

#define S_OFF(m)  offsetof(dtx_msg_t, m), sizeof(((dtx_msg_t *) 0)->m)
#define F_U8(m, lo, hi) { DTX_PK_U8, #m, S_OFF(m), 0, (lo), (hi) }
#define F_U32(m)        { DTX_PK_U32, #m, S_OFF(m), 0, 0, 0 }
#define F_U64(m)        { DTX_PK_U64, #m, S_OFF(m), 0, 0, 0 }
#define F_NAME(m)       { DTX_PK_NAME, #m, S_OFF(m), 0, 0, 0 }
#define F_TEXT(m)       { DTX_PK_TEXT, #m, S_OFF(m), 0, 0, 0 }
#define F_BLOB(m, n)    { DTX_PK_BLOB, #m, S_OFF(m), offsetof(dtx_msg_t, n), 0, 0 }

#define F_MODE    F_U8(mode, DTX_MODE_TCC, DTX_MODE_2PC)
#define F_OP      F_U8(op, DTX_OP_TRY, DTX_OP_MAX)
#define F_OUTCOME F_U8(outcome, DTX_OUTCOME_OK, DTX_OUTCOME_FAILED)
#define F_STATE   F_U8(state, DTX_STATE_ACTIVE, DTX_STATE_STUCK)
#define F_PAYLOAD F_BLOB(payload, payload_len)
#define F_FRAMES  { DTX_PK_BLOB, "frames", S_OFF(payload), offsetof(dtx_msg_t, payload_len), 0, 0 }

/* Must match the table in dtx/proto.h and docs/protocol.md. */
static const dtx_proto_spec_t s_specs[] = {
    { DTX_MSG_BEGIN, "BEGIN", { F_MODE, F_U32(timeout_ms) } },
    { DTX_MSG_TRY, "TRY",
      { F_NAME(gid), F_NAME(resource), F_NAME(action), F_PAYLOAD } },
    { DTX_MSG_COMMIT, "COMMIT", { F_NAME(gid) } },
    { DTX_MSG_ROLLBACK, "ROLLBACK", { F_NAME(gid) } },
    { DTX_MSG_STATUS, "STATUS", { F_NAME(gid) } },
    { DTX_MSG_RESUME, "RESUME", { F_NAME(gid) } },
    /* Version 2 only; its plan is checked by dtx_saga_plan_decode. */
    { DTX_MSG_SAGA, "SAGA", { F_U32(timeout_ms), F_PAYLOAD } },
    /* Version 2 only; its plan is checked by dtx_tmsg_plan_decode. */
    { DTX_MSG_TMSG, "TMSG", { F_U32(timeout_ms), F_PAYLOAD } },
    /* Version 2 only; the batch is checked by dtx_trymany_decode. */
    { DTX_MSG_TRY_MANY, "TRY_MANY", { F_NAME(gid), F_PAYLOAD } },
    /* Version 2 only; the same batch as TRY_MANY's, flags 0 or 1. */
    { DTX_MSG_TCC_RUN, "TCC_RUN",
      { F_U32(timeout_ms), F_U8(flags, 0, DTX_TCC_RUN_COMMIT | DTX_TCC_RUN_GID), F_PAYLOAD } },
    { DTX_MSG_REGISTER, "REGISTER", { F_NAME(instance), F_NAME(resource) } },
    { DTX_MSG_HEARTBEAT, "HEARTBEAT", { F_NAME(instance) } },
    { DTX_MSG_PHASE_REPLY, "PHASE_REPLY",
      { F_NAME(gid), F_U32(branch), F_OP, F_U32(attempt), F_OUTCOME,
        F_PAYLOAD } },
    { DTX_MSG_BEGIN_OK, "BEGIN_OK", { F_NAME(gid), F_U64(deadline_ms) } },
    { DTX_MSG_TRY_OK, "TRY_OK",
      { F_NAME(gid), F_U32(branch), F_OUTCOME, F_STATE, F_PAYLOAD } },
    { DTX_MSG_STATE, "STATE", { F_NAME(gid), F_STATE } },
    /* Version 2 only; the outcomes by dtx_trymany_outcomes_decode. */
    { DTX_MSG_TRY_MANY_OK, "TRY_MANY_OK", { F_NAME(gid), F_STATE, F_PAYLOAD } },
    { DTX_MSG_REGISTER_OK, "REGISTER_OK",
      { F_NAME(resource), F_U32(heartbeat_ms), F_NAME(coordinator) } },
    { DTX_MSG_HEARTBEAT_OK, "HEARTBEAT_OK", { F_NAME(coordinator) } },
    { DTX_MSG_PHASE, "PHASE",
      { F_NAME(gid), F_U32(branch), F_OP, F_U32(attempt), F_NAME(resource),
        F_NAME(action), F_U64(deadline_ms), F_PAYLOAD } },
    { DTX_MSG_ERROR, "ERROR", { F_U32(code), F_TEXT(text) } },
    /* Version 2 only; the frames' framing is checked by dtx_bundle_check. */
    { DTX_MSG_BUNDLE_REPLIES, "BUNDLE", { F_FRAMES } },
    { DTX_MSG_BUNDLE_PHASES, "BUNDLE", { F_FRAMES } },
};

#define S_NSPECS (sizeof s_specs / sizeof s_specs[0])

/* Types a version-1 frame may not carry (they came with version 2). */
int dtx_proto_spec_v2_only(int type)
{
    return type == DTX_MSG_SAGA || type == DTX_MSG_TMSG || type == DTX_MSG_TRY_MANY ||
           type == DTX_MSG_TCC_RUN || type == DTX_MSG_TRY_MANY_OK ||
           type == DTX_MSG_BUNDLE_REPLIES || type == DTX_MSG_BUNDLE_PHASES;
}

const dtx_proto_spec_t *dtx_proto_spec_find(int type)
{
    for (size_t i = 0; i < S_NSPECS; i++)
        if (s_specs[i].type == type)
            return &s_specs[i];
    return NULL;
}

/* The blob of a type whose blob has a layout of its own: 0 or DTX_EPROTO
 * with the reason. */
int dtx_proto_spec_check_blob(int type, const uint8_t *p, size_t n, char *why, size_t whylen)
{
    if (type == DTX_MSG_SAGA)
        return dtx_saga_plan_decode(NULL, p, n, why, whylen) != 0 ? DTX_EPROTO : 0;
    if (type == DTX_MSG_TRY_MANY || type == DTX_MSG_TCC_RUN)
        return dtx_trymany_decode(NULL, p, n, why, whylen);
    if (type == DTX_MSG_TRY_MANY_OK)
        return dtx_trymany_outcomes_decode(NULL, p, n, why, whylen);
    if (dtx_bundle_entry_type(type))
        return dtx_bundle_check(type, p, n, why, whylen) < 0 ? DTX_EPROTO : 0;
    return 0;
}

const char *dtx_msg_type_name(int type)
{
    const dtx_proto_spec_t *spec = dtx_proto_spec_find(type);
    return spec ? spec->name : "UNKNOWN";
}
