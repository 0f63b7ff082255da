/*
 * dtx/bundle.h — several PHASEs (or PHASE_REPLYs) in one frame: the BUNDLE
 * message's frames blob (docs/protocol.md §20), its one validator, an
 * iterator over its entries and a builder that both the coordinator and
 * libdtx fill, shared so the two sides cannot drift.
 *
 * A BUNDLE is a version-2 frame of type DTX_MSG_BUNDLE_PHASES (0x8E,
 * coordinator to participant: its entries are PHASEs) or
 * DTX_MSG_BUNDLE_REPLIES (0x0E, participant to coordinator: its entries
 * are PHASE_REPLYs), corr 0, whose one field is the frames blob:
 *
 *   then 1..DTX_BUNDLE_MAX times, back to back up to the blob's end:
 *     length  u32   the entry's length (big-endian)
 *     frame   ...   a complete dtx frame of that length
 *
 * Framing rules (a blob that breaks one makes the BUNDLE malformed:
 * nothing in it is acted on): 1..DTX_BUNDLE_MAX entries; every length
 * within the blob, no byte after the last entry; every entry at least a
 * 12-byte header with the dtx magic, version 2 and the one type the
 * BUNDLE's type allows (so no BUNDLE inside a BUNDLE). What lies after an
 * entry's header is not looked at here: an entry whose body does not
 * decode is the receiver's to handle, as that frame alone would be.
 */
#ifndef DTX_BUNDLE_H
#define DTX_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/proto.h"

#define DTX_BUNDLE_HEAD 16  /* a BUNDLE's header and its blob's length */

/* The type a BUNDLE of type bundle_type carries (DTX_MSG_PHASE,
 * DTX_MSG_PHASE_REPLY), or 0 when bundle_type is no BUNDLE. */
int dtx_bundle_entry_type(int bundle_type);

/* Checks the framing of a BUNDLE's frames blob p[0..n). Returns the
 * number of entries (1..DTX_BUNDLE_MAX) or DTX_EPROTO, with the reason in
 * why (when not NULL; always terminated). */
int dtx_bundle_check(int bundle_type, const uint8_t *p, size_t n, char *why, size_t whylen);

/* Walks the entries of a BUNDLE that decoded (dtx_msg_decode checked its
 * framing). The frames point into the decoded buffer. */
typedef struct dtx_bundle_iter {
    const uint8_t *p;    /* the frames blob (not owned) */
    size_t         n;    /* its length */
    size_t         pos;  /* next entry's length field */
} dtx_bundle_iter_t;

void dtx_bundle_iter_init(dtx_bundle_iter_t *it, const dtx_msg_t *bundle);
/* 1 with the next entry in *frame, *len; 0 when there is none left. */
int  dtx_bundle_iter_next(dtx_bundle_iter_t *it, const uint8_t **frame, size_t *len);

/* A BUNDLE being filled: entries are encoded straight into buf, after
 * room for the BUNDLE's header, so finishing copies nothing. buf grows
 * (to DTX_BUNDLE_HEAD + DTX_PAYLOAD_MAX at most) and is kept across
 * dtx_bundle_reset: a reused builder allocates nothing in steady state. */
typedef struct dtx_bundle {
    uint8_t *buf;   /* DTX_BUNDLE_HEAD bytes, then the entries; owned */
    size_t   cap;   /* allocated bytes */
    size_t   len;   /* bytes used (DTX_BUNDLE_HEAD + the entries) */
    int      n;     /* entries */
    size_t   last;  /* offset of the latest entry's frame (after its length) */
} dtx_bundle_t;

/* Encodes msg (a version-2 frame) as the builder's next entry. Returns 0;
 * DTX_ELIMIT when it does not fit beside the entries already there
 * (DTX_BUNDLE_MAX of them, or the blob's limit): finish and reset, then
 * add again; DTX_ETOOBIG when it would not fit even alone (send it plain);
 * DTX_EINVAL when msg does not encode or is not version 2; DTX_ENOMEM.
 * On failure the builder is unchanged. */
int  dtx_bundle_add(dtx_bundle_t *self, const dtx_msg_t *msg);
/* The frame to send for what was added (n >= 1): the entry itself when
 * there is one, else the BUNDLE of type bundle_type (corr 0) holding all.
 * *frame points into the builder: valid until its next add or reset. */
void dtx_bundle_finish(dtx_bundle_t *self, int bundle_type, const uint8_t **frame, size_t *len);
/* Empties the builder (its buffer is kept). */
void dtx_bundle_reset(dtx_bundle_t *self);
/* Frees the buffer; the builder is empty and may be used again. */
void dtx_bundle_free(dtx_bundle_t *self);

#endif
