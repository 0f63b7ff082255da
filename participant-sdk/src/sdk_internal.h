/*
 * sdk_internal.h — private helpers shared by the SDK's client.c and
 * participant.c. Not installed; users never see these.
 */
#ifndef DTX_SDK_INTERNAL_H
#define DTX_SDK_INTERNAL_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "dtx/curve.h"
#include "dtx/lineage.h"
#include "dtx/proto.h"
#include "dtx/types.h"

/* Private to libdtx: linkable from the static library (unit tests), not
 * exported by the shared one. */
#define DTX_SDK_PRIVATE __attribute__((visibility("hidden")))

/* An ERROR frame's (or a TRY_MANY outcome's) code as a DTX_E* value
 * (client.c): codes this library does not know, and DTX_ENOTSENT's (its
 * own, never a peer's), become DTX_EPROTO. */
DTX_SDK_PRIVATE int dtx_sdk_wire_error(uint32_t code);

/* The environment variable naming the default CURVE credentials file. */
#define DTX_SDK_CURVE_ENV "DTX_CURVE_KEY_FILE"

/* Why dtx_sdk_recv_frame() refused a message, for log lines. */
static inline const char *dtx_sdk_recv_refusal(int rc)
{
    return rc == DTX_EPROTO ? "message of several frames" : "frame over the size limit";
}

/* Receives one dtx frame from sock without blocking, into buf (capacity
 * cap, normally DTX_MSG_MAX: no allocation per message). Stores the frame
 * length in *len. Returns
 *   0             a single-frame message is in buf[0..*len);
 *   DTX_ETIMEOUT  nothing to read now (or interrupted by a signal);
 *   DTX_EPROTO    a multi-frame message (every frame of it is drained);
 *   DTX_ETOOBIG   a frame over cap (dropped);
 *   DTX_EIO       the socket failed.
 * A dtx message is exactly one ZeroMQ frame (dtx/proto.h), so anything else
 * is malformed and must not be decoded. */
static inline int dtx_sdk_recv_frame(void *sock, uint8_t *buf, size_t cap, size_t *len)
{
    int n = zmq_recv(sock, buf, cap, ZMQ_DONTWAIT);
    if (n < 0)
        return (errno == EAGAIN || errno == EINTR) ? DTX_ETIMEOUT : DTX_EIO;
    int more = 0;
    size_t more_size = sizeof more;
    if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &more_size) != 0)
        return DTX_EIO;
    if (more) {
        /* The remaining frames of a multipart message are already queued
         * (ZeroMQ delivers messages atomically): drain them. */
        while (more) {
            uint8_t sink;
            if (zmq_recv(sock, &sink, sizeof sink, ZMQ_DONTWAIT) < 0)
                return DTX_EIO;
            more_size = sizeof more;
            if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &more_size) != 0)
                return DTX_EIO;
        }
        return DTX_EPROTO;
    }
    if ((size_t)n > cap)
        return DTX_ETOOBIG;
    *len = (size_t)n;
    return 0;
}

/* Sets the socket options every SDK DEALER uses: close without waiting for
 * unsent messages (LINGER 0), queue messages only on completed connections
 * (IMMEDIATE 1: nothing piles up for a coordinator that is down, and no
 * stale request reaches it when it comes back), drop peers that send
 * frames larger than any valid message (MAXMSGSIZE), and a routing id of
 * this process's lineage (dtx/lineage.h: the coordinator tells the
 * connections of one process from those of others by it). Returns 0 or
 * DTX_EIO (errno set). */
static inline int dtx_sdk_socket_setup(void *sock)
{
    int linger = 0, immediate = 1;
    int64_t maxmsg = (int64_t)DTX_MSG_MAX;
    uint8_t routing_id[DTX_LINEAGE_ID_LEN];
    if (dtx_lineage_routing_id(routing_id) != 0) {
        errno = EIO;
        return DTX_EIO;
    }
    if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(sock, ZMQ_IMMEDIATE, &immediate, sizeof immediate) != 0 ||
        zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 ||
        zmq_setsockopt(sock, ZMQ_ROUTING_ID, routing_id, sizeof routing_id) != 0)
        return DTX_EIO;
    return 0;
}

/* The credentials file named by DTX_CURVE_KEY_FILE, or NULL when that is
 * unset or empty. Not owned by the caller (the environment's). */
DTX_SDK_PRIVATE const char *dtx_sdk_curve_env(void);

/* Loads the CURVE credentials of a peer (client or participant link) from
 * key_file into *out: the file must also hold the coordinator's public key
 * (server-key). who names the caller in the log line written on failure
 * (e.g. "instance=bank-a-1"; may be ""). Returns 0 or DTX_ECONFIG (*out
 * wiped). */
DTX_SDK_PRIVATE int dtx_sdk_curve_load(const char *key_file, const char *who,
                                       dtx_curve_keys_t *out);

/* SIGTERM and SIGINT set *flag to 1 from now on (signals.c): the first
 * call installs the handlers, a later one names another flag. 0, or
 * DTX_EIO (logged) when sigaction fails. */
DTX_SDK_PRIVATE int dtx_sdk_signals_watch(atomic_int *flag);
/* When flag is the one named last, no signal sets it any more and the
 * handlers that were there before are put back. */
DTX_SDK_PRIVATE void dtx_sdk_signals_forget(atomic_int *flag);

/* The protocol version a new client or participant link speaks: 2, or 1
 * when DTX_PROTO_VERSION is "1" (for a coordinator that speaks only
 * version 1; docs/protocol.md §15). Both also drop to 1 by themselves
 * when the coordinator answers ERROR 3. */
static inline uint8_t dtx_sdk_proto_version(void)
{
    const char *v = getenv("DTX_PROTO_VERSION");
    return v && strcmp(v, "1") == 0 ? DTX_PROTO_V1 : DTX_PROTO_V2;
}

/* 1 unless DTX_BUNDLE is "0": a participant then asks for BUNDLEs of
 * PHASEs (tag 2 on its REGISTERs) and sends BUNDLEs of replies to a
 * coordinator that accepts them (docs/protocol.md §20). */
static inline int dtx_sdk_bundle_on(void)
{
    const char *v = getenv("DTX_BUNDLE");
    return !(v && strcmp(v, "0") == 0);
}

/* Maps a zmq_connect() failure to a DTX_E* code. */
static inline int dtx_sdk_connect_error(int err)
{
    return (err == EINVAL || err == EPROTONOSUPPORT || err == ENOCOMPATPROTO)
               ? DTX_EINVAL : DTX_EIO;
}

#endif
