/*
 * dtx/types.h — constants shared by every part of dtx and by its users:
 * error codes, transaction modes, global states, phase operations, votes
 * and the size limits of names and payloads.
 *
 * Error convention (after libuv): functions return 0 on success and a
 * negative DTX_E* code on failure. dtx_strerror() names each code. On the
 * wire an error travels as the positive value (-code).
 */
#ifndef DTX_TYPES_H
#define DTX_TYPES_H

#include <stdint.h>

/* Marks a function of libdtx's public API. The library is built with
 * -fvisibility=hidden, so libdtx.so exports exactly the functions declared
 * with it in the installed headers (tests/install/check.sh checks). */
#if defined(__GNUC__) || defined(__clang__)
#define DTX_EXPORT __attribute__((visibility("default")))
#else
#define DTX_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes. Never renumber: they are part of the wire protocol (an
 * ERROR frame carries -code; docs/protocol.md section 6.1). Each has its
 * own number and name; DTX_EINVAL happens to be -1, so a function of dtx
 * never returns a bare -1 to mean anything else. */
#define DTX_OK              0
#define DTX_EINVAL        (-1)  /* invalid argument or field value */
#define DTX_EPROTO        (-2)  /* malformed, truncated or unknown message */
#define DTX_EVERSION      (-3)  /* protocol version not supported */
#define DTX_ENOMEM        (-4)  /* out of memory */
#define DTX_ETOOBIG       (-5)  /* message, payload or body over its limit */
#define DTX_ENOTFOUND     (-6)  /* unknown global transaction id */
#define DTX_ESTATE        (-7)  /* operation not allowed in the current state */
#define DTX_ETIMEOUT      (-8)  /* no reply in time */
#define DTX_ENOPARTICIPANT (-9) /* no live instance serves the resource */
#define DTX_EDB          (-10)  /* database error */
#define DTX_EBUSY        (-11)  /* a branch is still trying; retry later */
#define DTX_EIO          (-12)  /* socket or transport failure */
#define DTX_EREFUSED     (-13)  /* participant voted no / refused */
#define DTX_ECONFIG      (-14)  /* bad configuration */
#define DTX_EEXPIRED     (-15)  /* the transaction's deadline has passed */
#define DTX_EUNREGISTERED (-16) /* instance not registered with this coordinator */
#define DTX_EINTERNAL    (-17)  /* bug: please report */
#define DTX_EUNSUPPORTED (-18)  /* feature or mode not supported */
#define DTX_EABORTED     (-19)  /* transaction ended aborted instead of committed */
#define DTX_EUNKNOWN     (-20)  /* the request's outcome is unknown: ask STATUS */
#define DTX_EACCES       (-21)  /* this peer is not allowed to do that */
#define DTX_ELIMIT       (-22)  /* over a configured limit: retry later */
#define DTX_ENOTSENT     (-23)  /* the request never left (no connection, send failed):
                                   nothing was done, a retry is safe. libdtx's own:
                                   never in an ERROR frame */
#define DTX_ERR_MIN      (-23)  /* lowest defined code */

/* Returns a static, lower-case description of a DTX_E* code. Never NULL. */
DTX_EXPORT const char *dtx_strerror(int err);

/* Transaction modes (wire: u8). */
#define DTX_MODE_TCC 1
#define DTX_MODE_2PC 2
#define DTX_MODE_SAGA 3 /* begun by a SAGA message with its whole plan (docs/sagas.md) */
#define DTX_MODE_MSG  4 /* a transactional message, prepared by a TMSG message (docs/sagas.md) */

/* Global transaction states (wire: u8). See coordinator/core/txn.h for the
 * state machine. */
#define DTX_STATE_ACTIVE     1  /* accepting branches */
#define DTX_STATE_COMMITTING 2  /* decision commit recorded; confirming */
#define DTX_STATE_COMMITTED  3  /* every branch confirmed (final) */
#define DTX_STATE_ABORTING   4  /* decision abort recorded; cancelling */
#define DTX_STATE_ABORTED    5  /* every branch cancelled (final) */
#define DTX_STATE_STUCK      6  /* a branch exhausted its retry budget */

/* Returns "active", "committing", ... or "unknown". */
DTX_EXPORT const char *dtx_state_name(int state);
/* Parses a state name; returns the DTX_STATE_* value or DTX_EINVAL. */
DTX_EXPORT int dtx_state_parse(const char *name);

/* Phase operations (wire: u8). 1..3 drive TCC branches, 4..6 drive 2PC
 * branches, 7..8 drive Saga steps, 9..10 transactional messages. */
#define DTX_OP_TRY     1
#define DTX_OP_CONFIRM 2
#define DTX_OP_CANCEL  3
#define DTX_OP_PREPARE 4  /* 2PC: do the work and prepare; vote */
#define DTX_OP_COMMIT  5  /* 2PC: make the prepared work final */
#define DTX_OP_ABORT   6  /* 2PC: undo prepared work (or refuse a later prepare) */
#define DTX_OP_ACTION  7  /* Saga: run the step's action (forward) */
#define DTX_OP_COMPENSATE 8 /* Saga: undo the step's action (or refuse a later one) */
#define DTX_OP_DELIVER 9  /* message: deliver to a destination (applied once: barrier) */
#define DTX_OP_QUERY_PREPARED 10 /* message: ask the check-back whether it committed */
#define DTX_OP_MAX     10

/* Returns "try", "confirm", "cancel", "prepare", "commit", "abort",
 * "action", "compensate", "deliver", "query_prepared" or "unknown". */
DTX_EXPORT const char *dtx_op_name(int op);

/* Outcome of a phase call as the participant reports it (wire: u8). */
#define DTX_OUTCOME_OK      0  /* try/prepare: vote yes; others: done */
#define DTX_OUTCOME_REFUSED 1  /* try/prepare only: vote no (business refusal) */
#define DTX_OUTCOME_FAILED  2  /* could not run now; confirm/cancel/commit/abort are retried */

/* Limits. Names (gid, resource, action, instance) are 1..DTX_NAME_MAX bytes
 * of [A-Za-z0-9._:-]; DTX_NAME_SIZE has room for the terminating NUL. */
#define DTX_NAME_MAX     63
#define DTX_NAME_SIZE    (DTX_NAME_MAX + 1)
#define DTX_GID_SIZE     DTX_NAME_SIZE
#define DTX_TEXT_MAX     255               /* error texts */
#define DTX_PAYLOAD_MAX  (256u * 1024u)    /* branch payload bytes */
/* A W3C trace context (traceparent) as dtx carries it: version 00,
 * "00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>", lower case,
 * 55 characters; DTX_TRACEPARENT_SIZE has room for the NUL. */
#define DTX_TRACEPARENT_LEN  55
#define DTX_TRACEPARENT_SIZE (DTX_TRACEPARENT_LEN + 1)

#ifdef __cplusplus
}
#endif
#endif
