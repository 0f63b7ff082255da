/*
 * client_internal.h — what client.c shares with client_plans.c: the
 * client's fields and its one round trip. Not installed; hidden in the
 * shared library.
 */
#ifndef DTX_SDK_CLIENT_INTERNAL_H
#define DTX_SDK_CLIENT_INTERNAL_H

#include <stdint.h>

#include "dtx/curve.h"
#include "dtx/dtx.h"
#include "dtx/proto.h"
#include "dtx/trace.h"
#include "sdk_internal.h"

struct dtx_client {
    void     *ctx;                          /* ZeroMQ context, owned */
    void     *sock;                         /* DEALER to the coordinator */
    char     *endpoint;                     /* coordinator endpoint, for logs */
    int       timeout_ms;                   /* budget of each call */
    uint64_t  next_corr;                    /* corr of the next request */
    uint8_t  *buf;                          /* DTX_MSG_MAX bytes: send and receive */
    dtx_msg_t reply;                        /* reply of the current call */
    char      last_error[DTX_TEXT_MAX + 1]; /* coordinator's text, or "" */
    int       curve;                        /* the socket is a CurveZMQ client of keys */
    dtx_curve_keys_t keys;                  /* its credentials, when curve */
    int       reopen;                       /* the last call found no connection */
    uint8_t   version;                      /* protocol version it speaks (2, or 1) */
    char      traceparent[DTX_TRACEPARENT_SIZE]; /* sent with BEGIN and TRY; "" none */
    char      begun_traceparent[DTX_TRACEPARENT_SIZE]; /* last BEGIN_OK's; "" none */
};

/* One round trip (client.c): req out in the client's protocol version
 * (corr, version and, in version 1, the traceparent set here), a reply
 * of type expect back in self->reply. 0, or the call's DTX_E* error
 * (the coordinator's text in self->last_error). */
DTX_SDK_PRIVATE int dtx_sdk_client_call(dtx_client_t *self, dtx_msg_t *req, int expect);

#endif
