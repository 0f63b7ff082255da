/*
 * dtx/proto.h — the dtx wire protocol, versions 1 and 2 (docs/protocol.md
 * is the normative description; this header and that page must agree).
 *
 * Transport: ZeroMQ. The coordinator binds one ROUTER socket; initiators
 * and participants connect DEALER sockets. Every dtx message is exactly one
 * ZeroMQ frame (the ROUTER side additionally sees the peer's routing-id
 * frame in front of it). A multi-frame message is malformed.
 *
 * Frame layout (all integers big-endian):
 *
 *   offset size field
 *   0      2    magic   'D' 'X' (0x44 0x58)
 *   2      1    version DTX_PROTO_V1 or DTX_PROTO_V2
 *   3      1    type    DTX_MSG_*
 *   4      8    corr    correlation id chosen by the sender of a request;
 *                       the reply to it carries the same value
 *   12     ...  body    the fields of the type, in the order listed below
 *
 * Field kinds:
 *   u8, u32, u64  fixed-size unsigned integers
 *   name          u8 length (1..63) + bytes from [A-Za-z0-9._:-]
 *   text          u8 length (0..255) + UTF-8 bytes, no NUL
 *   blob          u32 length (0..DTX_PAYLOAD_MAX) + bytes
 *
 * A message must contain exactly its fields: a short message, a field out
 * of range, a bad name or trailing bytes are all DTX_EPROTO.
 *
 * Version 2 = every version-1 body unchanged, then an extension section
 * running to the end of the frame: zero or more of
 *
 *   tag u8 (1..255), length u16, value (length bytes)
 *
 * in strictly increasing tag order, DTX_PROTO_EXT_MAX bytes at most in all.
 * Tag 1 (DTX_EXT_TRACEPARENT) is a W3C traceparent, exactly 55 bytes that
 * dtx_trace_valid accepts. Tag 2 (DTX_EXT_BUNDLE, value length 0) says
 * the sender accepts BUNDLEs (on REGISTER and REGISTER_OK: msg->bundle).
 * Unknown tags are skipped (counted in ext_skipped). A version-2 frame of an unknown type is DTX_EUNSUPPORTED
 * (answered ERROR 18), not DTX_EPROTO: later message types need no new
 * version. A version-2 frame without extensions is its version-1 layout
 * with version byte 2.
 *
 * Messages (direction: I initiator, P participant, C coordinator):
 *
 *   type  name          dir  fields
 *   0x01  BEGIN         I>C  mode u8, timeout_ms u32
 *   0x02  TRY           I>C  gid name, resource name, action name, payload blob
 *   0x03  COMMIT        I>C  gid name
 *   0x04  ROLLBACK      I>C  gid name
 *   0x05  STATUS        I>C  gid name
 *   0x06  REGISTER      P>C  instance name, resource name
 *   0x07  HEARTBEAT     P>C  instance name
 *   0x08  PHASE_REPLY   P>C  gid name, branch u32, op u8, attempt u32,
 *                            outcome u8, payload blob
 *   0x09  RESUME        I>C  gid name   (operator: a STUCK transaction goes
 *                            back to its decision, with a fresh retry budget)
 *   0x0A  SAGA          I>C  timeout_ms u32, plan blob (version 2 only;
 *                            the plan's layout is dtx/saga.h's, checked by
 *                            the codec; answered BEGIN_OK once the whole
 *                            plan is in the log)
 *   0x0B  TMSG          I>C  timeout_ms u32, plan blob (version 2 only;
 *                            prepares a transactional message: the plan's
 *                            layout is dtx/tmsg.h's, checked by the codec;
 *                            answered BEGIN_OK once it is in the log;
 *                            COMMIT submits it, ROLLBACK drops it)
 *   0x0C  TRY_MANY      I>C  gid name, batch blob (version 2 only; up to
 *                            16 branches, dtx/trymany.h's layout, checked
 *                            by the codec; answered TRY_MANY_OK)
 *   0x0D  TCC_RUN       I>C  timeout_ms u32, flags u8, batch blob (version
 *                            2 only; a whole TCC transaction: BEGIN, the
 *                            TRY_MANY batch's branches and, flag bit 0,
 *                            the COMMIT once every branch voted yes;
 *                            flags above bit 0 are malformed; answered
 *                            TRY_MANY_OK)
 *   0x0E  BUNDLE        P>C  frames blob (version 2 only; corr 0; 1..64
 *                            PHASE_REPLY frames: dtx/bundle.h's layout,
 *                            its framing checked by the codec; never
 *                            answered as a whole)
 *   0x81  BEGIN_OK      C>I  gid name, deadline_ms u64
 *   0x82  TRY_OK        C>I  gid name, branch u32, outcome u8, state u8,
 *                            payload blob
 *   0x83  STATE         C>I  gid name, state u8
 *   0x8C  TRY_MANY_OK   C>I  gid name, state u8, outcomes blob (version 2
 *                            only; dtx/trymany.h's layout, one per branch)
 *   0x86  REGISTER_OK   C>P  resource name, heartbeat_ms u32, coordinator name
 *   0x87  HEARTBEAT_OK  C>P  coordinator name
 *   0x88  PHASE         C>P  gid name, branch u32, op u8, attempt u32,
 *                            resource name, action name, deadline_ms u64,
 *                            payload blob
 *   0x8E  BUNDLE        C>P  frames blob (version 2 only; 1..64 PHASE
 *                            frames, as 0x0E's)
 *   0xFF  ERROR         C>*  code u32, text text
 *
 * deadline_ms is milliseconds since the Unix epoch (wall clock).
 */
#ifndef DTX_PROTO_H
#define DTX_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/name.h"
#include "dtx/types.h"

#define DTX_PROTO_V1      1
#define DTX_PROTO_V2      2
#define DTX_PROTO_VERSION DTX_PROTO_V2 /* the newest version this codec speaks */
#define DTX_PROTO_MAGIC0  0x44 /* 'D' */
#define DTX_PROTO_MAGIC1  0x58 /* 'X' */
#define DTX_PROTO_HEADER  12   /* bytes before the body */
/* Largest valid frame: header + the biggest body (PHASE with 3 maximal
 * names and a maximal payload) with room to spare. */
#define DTX_MSG_MAX (DTX_PAYLOAD_MAX + 1024u)
/* Version 2: the extension section's limit (all its tags, lengths and
 * values), so the largest valid frame stays under DTX_MSG_MAX. */
#define DTX_PROTO_EXT_MAX 512u
#define DTX_EXT_TRACEPARENT 1  /* extension tag: W3C traceparent */
#define DTX_EXT_BUNDLE      2  /* extension tag: the sender accepts BUNDLEs (length 0) */
#define DTX_EXT_GID         3  /* extension tag: TCC_RUN's gid, the initiator's (a ULID) */
#define DTX_BUNDLE_MAX      64 /* entries in one BUNDLE */

#define DTX_MSG_BEGIN        0x01
#define DTX_MSG_TRY          0x02
#define DTX_MSG_COMMIT       0x03
#define DTX_MSG_ROLLBACK     0x04
#define DTX_MSG_STATUS       0x05
#define DTX_MSG_REGISTER     0x06
#define DTX_MSG_HEARTBEAT    0x07
#define DTX_MSG_PHASE_REPLY  0x08
#define DTX_MSG_RESUME       0x09
#define DTX_MSG_SAGA         0x0A  /* version 2 only */
#define DTX_MSG_TMSG         0x0B  /* version 2 only: prepare a transactional message */
#define DTX_MSG_TRY_MANY     0x0C  /* version 2 only */
#define DTX_MSG_TCC_RUN      0x0D  /* version 2 only: BEGIN + TRY_MANY (+ COMMIT) */
#define DTX_TCC_RUN_COMMIT   0x01  /* TCC_RUN flag: commit when every branch votes yes */
#define DTX_TCC_RUN_GID      0x02  /* TCC_RUN flag: the gid is the initiator's (tag 3; needs
                                      DTX_TCC_RUN_COMMIT) */
#define DTX_MSG_BUNDLE_REPLIES 0x0E /* version 2 only: PHASE_REPLYs in one frame */
#define DTX_MSG_BEGIN_OK     0x81
#define DTX_MSG_TRY_OK       0x82
#define DTX_MSG_STATE        0x83
#define DTX_MSG_TRY_MANY_OK  0x8C  /* version 2 only */
#define DTX_MSG_REGISTER_OK  0x86
#define DTX_MSG_HEARTBEAT_OK 0x87
#define DTX_MSG_PHASE        0x88
#define DTX_MSG_BUNDLE_PHASES 0x8E /* version 2 only: PHASEs in one frame */
#define DTX_MSG_ERROR        0xFF

/* A decoded (or to-be-encoded) message. Only the fields of its type are
 * meaningful; the rest are zero after decoding. Names and text are copied
 * and NUL-terminated. payload points INTO the decoded buffer (zero copy):
 * it is valid only while that buffer is. */
typedef struct dtx_msg {
    uint8_t  version;                      /* DTX_PROTO_V1 / _V2; 0 encodes as 1 */
    uint8_t  type;                         /* DTX_MSG_* */
    uint64_t corr;                         /* correlation id */
    uint8_t  mode;                         /* DTX_MODE_* (BEGIN: TCC or 2PC) */
    uint8_t  op;                           /* DTX_OP_* (PHASE, PHASE_REPLY) */
    uint8_t  outcome;                      /* DTX_OUTCOME_* */
    uint8_t  state;                        /* DTX_STATE_* */
    uint8_t  flags;                        /* TCC_RUN: DTX_TCC_RUN_* */
    uint32_t timeout_ms;                   /* BEGIN: transaction timeout */
    uint32_t branch;                       /* branch number, 1-based */
    uint32_t attempt;                      /* phase attempt, 1-based */
    uint32_t heartbeat_ms;                 /* REGISTER_OK: expected interval */
    uint32_t code;                         /* ERROR: -DTX_E* (positive) */
    uint64_t deadline_ms;                  /* epoch ms */
    char     gid[DTX_NAME_SIZE];           /* global transaction id (TCC_RUN: the
                                              initiator's, extension 3, with
                                              DTX_TCC_RUN_GID; "" absent) */
    char     resource[DTX_NAME_SIZE];      /* resource name */
    char     action[DTX_NAME_SIZE];        /* action within the resource */
    char     instance[DTX_NAME_SIZE];      /* participant instance name */
    char     coordinator[DTX_NAME_SIZE];   /* coordinator instance id */
    char     text[DTX_TEXT_MAX + 1];       /* ERROR: human-readable text */
    const uint8_t *payload;                /* blob bytes (not owned); SAGA: the plan;
                                              TRY_MANY, TCC_RUN: the batch;
                                              TRY_MANY_OK: outcomes;
                                              BUNDLE: the frames */
    uint32_t payload_len;                  /* blob length */
    char     traceparent[DTX_TRACEPARENT_SIZE]; /* v2 extension 1; "" absent */
    uint32_t ext_skipped;                  /* v2: unknown extensions skipped (and
                                              tag 3 on another type than TCC_RUN) */
    uint8_t  bundle;                       /* v2 extension 2: 1 the sender accepts
                                              BUNDLEs (REGISTER, REGISTER_OK); 0 absent */
} dtx_msg_t;

/* Decodes one frame into *msg (which it zeroes first).
 * Returns 0, or:
 *   DTX_EPROTO   malformed: bad magic, unknown type, truncated or out-of-range
 *                field, invalid name, trailing bytes;
 *   DTX_EVERSION magic is right but the version is neither 1 nor 2
 *                (msg->type and msg->corr are still filled so that the
 *                receiver can answer with an ERROR; msg->version is 0);
 *   DTX_EUNSUPPORTED a version-2 frame (complete header) of a type this
 *                codec does not know;
 *   (a TMSG frame likewise, with dtx_tmsg_plan_decode;
 *   a SAGA, TRY_MANY, TCC_RUN, TRY_MANY_OK or BUNDLE frame must be version
 *   2 — in version 1 it is an unknown type, DTX_EPROTO — and its blob must
 *   pass dtx_saga_plan_decode / dtx_trymany_decode /
 *   dtx_trymany_outcomes_decode / dtx_bundle_check: DTX_EPROTO with that
 *   function's reason);
 *   DTX_ETOOBIG  len > DTX_MSG_MAX (checked first).
 * On any failure with a readable magic, msg->type is kept, msg->version
 * when it is 1 or 2, and msg->corr too when the 12-byte header is
 * complete, so the receiver can answer the request it could not read, in
 * its version; every other field is zero.
 * On failure, when errbuf is not NULL, a one-line lower-case explanation
 * naming the message type and field is written to it (always terminated).
 * Never reads outside buf[0..len). */
int dtx_msg_decode(dtx_msg_t *msg, const void *buf, size_t len,
                   char *errbuf, size_t errlen);

/* Encodes *msg into buf (capacity cap) in msg->version (0 means 1).
 * Stores the frame length in *len (on DTX_ETOOBIG the size it needs, on
 * DTX_EINVAL 0). Returns 0, DTX_EINVAL when a field is invalid for the
 * type (bad name, over-long text, payload over DTX_PAYLOAD_MAX, unknown
 * type), the version is not 1 or 2, or traceparent is set but not valid
 * or set on a version-1 message, or bundle is set (other than 1, or on a
 * version-1 message); or DTX_ETOOBIG when cap is too small.
 * Unknown extensions are not kept: ext_skipped is ignored. */
int dtx_msg_encode(const dtx_msg_t *msg, uint8_t *buf, size_t cap, size_t *len);

/* Returns "BEGIN", "TRY", ... or "UNKNOWN". */
const char *dtx_msg_type_name(int type);

#endif
