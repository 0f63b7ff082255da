/*
 * dtx/trymany.h — the branches of a TRY_MANY message and the outcomes of
 * its TRY_MANY_OK reply (docs/protocol.md §18): their binary layouts,
 * limits and one validator each, shared by the coordinator and libdtx.
 *
 * Layout of the batch (TRY_MANY's batch blob; integers big-endian, names
 * as in dtx/proto.h):
 *
 *   n        u8     1..DTX_TRYMANY_MAX
 *   then n times:
 *     resource name
 *     action   name
 *     payload  blob  u32 length + bytes
 *
 * Layout of the outcomes (TRY_MANY_OK's outcomes blob), one per branch of
 * the batch, in the batch's order:
 *
 *   n        u8     1..DTX_TRYMANY_MAX (the batch's n)
 *   then n times:
 *     branch   u32   the branch number; 0 when the branch was not recorded
 *     outcome  u8    DTX_OUTCOME_OK / _REFUSED / _FAILED (the Try's vote)
 *     code     u32   0 when the Try ran (outcome is its vote); else the
 *                    ERROR code the single TRY would have got (outcome is
 *                    then DTX_OUTCOME_FAILED)
 *     text     text  "" when code is 0; else the reason
 *
 * No trailing bytes in either. The batch is one blob of at most
 * DTX_PAYLOAD_MAX bytes, so the branches' payloads together stay below
 * that.
 */
#ifndef DTX_TRYMANY_H
#define DTX_TRYMANY_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/types.h"

#define DTX_TRYMANY_MAX 16  /* branches in one TRY_MANY */

typedef struct dtx_trymany_item {
    char           resource[DTX_NAME_SIZE];
    char           action[DTX_NAME_SIZE];
    const uint8_t *payload;       /* not owned */
    uint32_t       payload_len;
} dtx_trymany_item_t;

typedef struct dtx_trymany {
    uint8_t            n;         /* 1..DTX_TRYMANY_MAX */
    dtx_trymany_item_t items[DTX_TRYMANY_MAX];
} dtx_trymany_t;

typedef struct dtx_trymany_outcome {
    uint32_t branch;                 /* 0: not recorded */
    uint8_t  outcome;                /* DTX_OUTCOME_* */
    uint32_t code;                   /* 0 or a positive ERROR code */
    char     text[DTX_TEXT_MAX + 1]; /* reason when code != 0 */
} dtx_trymany_outcome_t;

typedef struct dtx_trymany_outcomes {
    uint8_t               n;         /* 1..DTX_TRYMANY_MAX */
    dtx_trymany_outcome_t o[DTX_TRYMANY_MAX];
} dtx_trymany_outcomes_t;

/* Decodes (out not NULL) or only validates (out NULL) a batch in
 * buf[0..len); payload pointers point into buf. Returns 0 or DTX_EPROTO
 * (a one-line lower-case reason in errbuf when given). Never reads
 * outside buf[0..len). */
int dtx_trymany_decode(dtx_trymany_t *out, const uint8_t *buf, size_t len,
                       char *errbuf, size_t errlen);

/* Encodes a batch into buf (capacity cap; buf may be NULL with cap 0 to
 * learn the size); *len gets the size (also on DTX_ETOOBIG). Returns 0,
 * DTX_EINVAL (n out of range, a bad name, a payload pointer missing) or
 * DTX_ETOOBIG (over DTX_PAYLOAD_MAX, or over cap). */
int dtx_trymany_encode(const dtx_trymany_t *in, uint8_t *buf, size_t cap, size_t *len);

/* The same pair for the outcomes of TRY_MANY_OK. */
int dtx_trymany_outcomes_decode(dtx_trymany_outcomes_t *out, const uint8_t *buf, size_t len,
                                char *errbuf, size_t errlen);
int dtx_trymany_outcomes_encode(const dtx_trymany_outcomes_t *in, uint8_t *buf, size_t cap,
                                size_t *len);

#endif
