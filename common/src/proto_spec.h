/*
 * proto_spec.h — the message table of the wire protocol (common/src only:
 * proto.c's codec reads it, nothing else does).
 *
 * One row a message type: its fields in wire order, each a kind plus the
 * dtx_msg_t member it maps to. dtx/proto.h and docs/protocol.md define the
 * format; proto_spec.c holds the rows, proto.c the one loop that decodes
 * and the one that encodes any row.
 */
#ifndef DTX_PROTO_SPEC_H
#define DTX_PROTO_SPEC_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    DTX_PK_END = 0,  /* ends a field list shorter than DTX_PROTO_FIELDS_MAX */
    DTX_PK_U8,       /* 1 byte, checked against [min, max] */
    DTX_PK_U32,      /* 4 bytes big-endian, any value */
    DTX_PK_U64,      /* 8 bytes big-endian, any value */
    DTX_PK_NAME,     /* u8 length 1..DTX_NAME_MAX + [A-Za-z0-9._:-] */
    DTX_PK_TEXT,     /* u8 length 0..DTX_TEXT_MAX + bytes other than NUL */
    DTX_PK_BLOB      /* u32 length 0..DTX_PAYLOAD_MAX + bytes */
} dtx_proto_kind_t;

typedef struct {
    dtx_proto_kind_t    kind;
    const char *name;     /* field name, as error texts show it */
    size_t      member;   /* offsetof the dtx_msg_t member */
    size_t      size;     /* sizeof that member */
    size_t      length;   /* DTX_PK_BLOB: offsetof the length member */
    uint8_t     min;      /* DTX_PK_U8: lowest allowed value */
    uint8_t     max;      /* DTX_PK_U8: highest allowed value */
} dtx_proto_field_t;

#define DTX_PROTO_FIELDS_MAX 8  /* PHASE has the most */

typedef struct {
    uint8_t     type;                  /* DTX_MSG_* */
    const char *name;                  /* "BEGIN", ... */
    dtx_proto_field_t   fields[DTX_PROTO_FIELDS_MAX];  /* in wire order */
} dtx_proto_spec_t;

/* The row of a message type, or NULL for a type the protocol lacks. */
const dtx_proto_spec_t *dtx_proto_spec_find(int type);

/* 1 for a type a version-1 frame may not carry (it came with version 2). */
int dtx_proto_spec_v2_only(int type);

/* The blob of a type whose blob has a layout of its own: 0 or DTX_EPROTO
 * with the reason in why. */
int dtx_proto_spec_check_blob(int type, const uint8_t *p, size_t n, char *why, size_t whylen);

#endif
