/*
 * dtx/tmsg.h — the plan of a transactional message as it travels in a TMSG
 * message (docs/protocol.md §17): its binary layout, its limits and its
 * one validator, shared by the coordinator (decoding) and libdtx
 * (building).
 *
 * Naming: "tmsg" (transactional message, DTX_MODE_MSG) is not dtx_msg_t
 * (dtx/proto.h: one wire message) and not the coordinator's outbox.c (its
 * ZeroMQ send path).
 *
 * Layout of the plan (the TMSG message's plan blob; integers big-endian,
 * names as in dtx/proto.h):
 *
 *   checkback  name   the resource whose QUERY_PREPARED handler says
 *                     whether the local transaction committed
 *   ndests     u8     1..DTX_TMSG_DESTS_MAX
 *   then ndests times:
 *     resource  name  the destination (a participant resource)
 *     action    name  the op name its DELIVER phase carries
 *     payload   blob  u32 length + bytes (the message it receives)
 *
 * No trailing bytes. The whole plan is one blob of at most DTX_PAYLOAD_MAX
 * bytes, so the destinations' payloads together stay below that too.
 */
#ifndef DTX_TMSG_H
#define DTX_TMSG_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/types.h"

#define DTX_TMSG_DESTS_MAX 32   /* destinations of one message */

typedef struct dtx_tmsg_dest {
    char           resource[DTX_NAME_SIZE];     /* participant resource */
    char           action[DTX_NAME_SIZE];       /* op name of the delivery */
    const uint8_t *payload;                     /* not owned */
    uint32_t       payload_len;                 /* bytes */
} dtx_tmsg_dest_t;

typedef struct dtx_tmsg_plan {
    char            checkback[DTX_NAME_SIZE];   /* check-back resource */
    uint8_t         ndests;                     /* 1..DTX_TMSG_DESTS_MAX */
    dtx_tmsg_dest_t dests[DTX_TMSG_DESTS_MAX];  /* destination i+1 at i */
} dtx_tmsg_plan_t;

/* Decodes (plan not NULL) or only validates (plan NULL) the plan in
 * buf[0..len). payload pointers point into buf. Returns 0 or DTX_EPROTO
 * (with a one-line lower-case reason in errbuf when given); DTX_ETOOBIG
 * when len is over DTX_PAYLOAD_MAX. Never reads outside buf[0..len). */
int dtx_tmsg_plan_decode(dtx_tmsg_plan_t *plan, const uint8_t *buf, size_t len, char *errbuf,
                         size_t errlen);

/* Encodes plan into buf (capacity cap, buf may be NULL with cap 0); *len
 * gets the size (also the size needed on DTX_ETOOBIG). Returns 0,
 * DTX_EINVAL when the plan breaks a rule (reason in errbuf when given), or
 * DTX_ETOOBIG when it is over DTX_PAYLOAD_MAX or over cap. */
int dtx_tmsg_plan_encode(const dtx_tmsg_plan_t *plan, uint8_t *buf, size_t cap, size_t *len,
                         char *errbuf, size_t errlen);

#endif
