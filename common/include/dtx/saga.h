/*
 * dtx/saga.h — the plan of a Saga as it travels in a SAGA message
 * (docs/protocol.md §16): its binary layout, its limits and its one
 * validator, shared by the coordinator (decoding) and libdtx (building).
 *
 * Layout of the plan (the SAGA message's plan blob; integers big-endian,
 * names as in dtx/proto.h):
 *
 *   flags   u8     bit 0 DTX_SAGA_CONCURRENT: steps list their
 *                  dependencies; without it steps run one after another in
 *                  plan order and every dependency list is empty
 *   nsteps  u8     1..DTX_SAGA_STEPS_MAX
 *   then nsteps times:
 *     resource      name
 *     action        name    (the op name the action PHASE carries)
 *     compensation  u8 length 0..63 + name bytes: the compensation PHASE's
 *                   op name; empty only for a pivot (a pivot is never
 *                   compensated)
 *     flags         u8      bit 0 DTX_SAGA_STEP_PIVOT
 *     ndeps         u8      0..(step number - 1)
 *     deps          ndeps × u8: step numbers (1-based), each below this
 *                   step's own number, strictly increasing (so a plan has
 *                   no cycle by construction)
 *     payload       blob    u32 length + bytes (given to both the action
 *                   and the compensation)
 *
 * Rules beyond the layout (each refused with a message naming the step):
 *  - at most one pivot; in a concurrent plan the pivot lists every earlier
 *    step and every later step lists the pivot, so that no other action
 *    runs while the pivot may be running (a sequential plan has that by
 *    construction);
 *  - no unknown flag bits; no trailing bytes.
 * The whole plan is one blob of at most DTX_PAYLOAD_MAX bytes, so the
 * steps' payloads together stay below that too.
 */
#ifndef DTX_SAGA_H
#define DTX_SAGA_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/types.h"

#define DTX_SAGA_STEPS_MAX   64    /* steps in one plan */
#define DTX_SAGA_CONCURRENT  0x01  /* plan flag: steps list their dependencies */
#define DTX_SAGA_STEP_PIVOT  0x01  /* step flag: non-compensable; forward only after it */

typedef struct dtx_saga_step {
    char           resource[DTX_NAME_SIZE];     /* participant resource */
    char           action[DTX_NAME_SIZE];       /* forward op name */
    char           compensation[DTX_NAME_SIZE]; /* undo op name; "" only for a pivot */
    uint8_t        flags;                       /* DTX_SAGA_STEP_* */
    uint8_t        ndeps;                       /* entries of deps */
    uint8_t        deps[DTX_SAGA_STEPS_MAX];    /* 1-based step numbers, increasing */
    const uint8_t *payload;                     /* not owned */
    uint32_t       payload_len;                 /* bytes */
} dtx_saga_step_t;

typedef struct dtx_saga_plan {
    uint8_t         flags;                      /* DTX_SAGA_CONCURRENT or 0 */
    uint8_t         nsteps;                     /* 1..DTX_SAGA_STEPS_MAX */
    dtx_saga_step_t steps[DTX_SAGA_STEPS_MAX];  /* step number i+1 at i */
} dtx_saga_plan_t;

/* Decodes (plan not NULL) or only validates (plan NULL) the plan in
 * buf[0..len). payload pointers point into buf. Returns 0 or DTX_EPROTO
 * (with a one-line lower-case reason in errbuf when given) for anything
 * the layout or the rules above refuse; DTX_ETOOBIG when len is over
 * DTX_PAYLOAD_MAX. Never reads outside buf[0..len). */
int dtx_saga_plan_decode(dtx_saga_plan_t *plan, const uint8_t *buf, size_t len,
                         char *errbuf, size_t errlen);

/* Encodes plan into buf (capacity cap); *len gets the size (also the size
 * needed on DTX_ETOOBIG). Returns 0, DTX_EINVAL when the plan breaks a
 * rule (reason in errbuf when given), or DTX_ETOOBIG when it is over
 * DTX_PAYLOAD_MAX or over cap. */
int dtx_saga_plan_encode(const dtx_saga_plan_t *plan, uint8_t *buf, size_t cap, size_t *len,
                         char *errbuf, size_t errlen);

/* The steps step number no (1-based) waits for, whatever the plan's kind:
 * a sequential plan's step waits for the one before it. Writes up to
 * DTX_SAGA_STEPS_MAX numbers to out; returns how many. */
int dtx_saga_plan_deps(const dtx_saga_plan_t *plan, int no, uint8_t *out);

#endif
