/*
 * tests/unit/proto_fixture.h — what the wire codec's suites (test_proto.c,
 * test_proto_decode.c) share: a valid sample message of every type, and
 * frames built by hand, byte by byte, from the layout in dtx/proto.h (not
 * with the encoder, so an encoder bug cannot hide a decoder bug).
 */
#ifndef DTX_TEST_PROTO_FIXTURE_H
#define DTX_TEST_PROTO_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/proto.h"

/* Every message type of protocol version 1. */
#define NTYPES 16
extern const uint8_t pf_all_types[NTYPES];

/* How far a sample message pushes its fields. */
enum {
    SAMPLE_SMALL,   /* 1-char names, empty text and payload, zero ints */
    SAMPLE_MEDIUM,  /* 63-char names, 255-byte text, 1000-byte payload */
    SAMPLE_MAX,     /* as MEDIUM with a DTX_PAYLOAD_MAX payload, max ints */
    SAMPLE_COUNT
};

#define PF_FRAME_SIZE (DTX_MSG_MAX + 16)
extern uint8_t pf_payload[DTX_PAYLOAD_MAX];  /* pf_fill_payload() fills it */
extern uint8_t pf_frame[PF_FRAME_SIZE];      /* pf_encode_sample() writes here */

/* Fills pf_payload with a pattern; a suite calls it before its tests. */
void pf_fill_payload(void);

/* 63 characters that use every kind of character a name may hold. */
void pf_long_name(char out[DTX_NAME_SIZE], char first);

/* Fills m with a valid message of type t: only the fields of t are set. */
void pf_sample(dtx_msg_t *m, uint8_t t, int variant);

/* Compares every field of two messages, payload bytes included. */
int pf_msg_equal(const dtx_msg_t *a, const dtx_msg_t *b);

/* Encodes a sample of type t into pf_frame; returns its length. */
size_t pf_encode_sample(dtx_msg_t *m, uint8_t t, int variant);

/* A frame built by hand from the layout. */
typedef struct {
    uint8_t b[2048];
    size_t  n;
} frame_t;

void fb_u8(frame_t *f, uint8_t v);
void fb_u32(frame_t *f, uint32_t v);
void fb_u64(frame_t *f, uint64_t v);
void fb_bytes(frame_t *f, const void *p, size_t n);
/* u8 length + bytes; used for name and text fields. */
void fb_str(frame_t *f, const char *s);
/* Starts f: magic, version, type, correlation id. */
void fb_header(frame_t *f, uint8_t version, uint8_t type, uint64_t corr);

/* The golden BEGIN: TCC, 30 s, corr 0x0102030405060708 (docs/protocol.md
 * §13). */
#define PF_GOLDEN_BEGIN_SIZE 17
extern const uint8_t pf_golden_begin[PF_GOLDEN_BEGIN_SIZE];

/* Decodes bytes from a heap copy of exactly its length, so
 * AddressSanitizer catches any read past the end. */
int pf_decode_exact(dtx_msg_t *m, const uint8_t *bytes, size_t n,
                    char *err, size_t errlen);

#endif
