/*
 * participant_link.c — one link per coordinator endpoint of the
 * participant side of libdtx: its sockets, its registration rounds,
 * heartbeats, connection events and handshakes, and the timers of them
 * all. What arrives on a link is participant_recv.c's; the object and the
 * run loop are participant.c's.
 *
 * One link per coordinator endpoint: a DEALER socket (LINGER 0, IMMEDIATE,
 * reconnecting by itself as ZeroMQ does) and a PAIR socket that receives
 * the DEALER's connection events (zmq_socket_monitor). Each link keeps its
 * own registration state:
 *
 *                 connect / handshake done / ERROR 16 (newer than the
 *                 last round) / OK naming another coordinator / 3 silent
 *                 intervals / a new resource served
 *                 +---------------------------------------------+
 *                 v                                             |
 *   [pending] --REGISTER(instance, r) for every r sent--> [sent] --REGISTER_OK
 *       ^      (waits for a connection: POLLOUT)                |  for every r
 *       |                                                       v
 *       +------------- disconnected, the same triggers --- [registered]
 *                                                               |
 *                            HEARTBEAT every interval; each HEARTBEAT_OK or
 *                            REGISTER_OK refreshes last_ok_ms
 *
 * Invariants:
 *  - a link counts as registered only while every served resource has been
 *    acknowledged by the coordinator it names and an acknowledgement came
 *    within the last 3 heartbeat intervals;
 *  - an ERROR 16 answering a message sent before the latest registration
 *    round is stale and ignored (corr ids only grow), so one coordinator
 *    restart causes one round, not one per in-flight heartbeat;
 *  - an ERROR other than 16 answering a REGISTER of the latest two rounds is the
 *    coordinator refusing the registration (e.g. an instance its allow-list
 *    does not admit): its text is logged once per round, the link stays
 *    unregistered and `refused`, and the next round comes from the silence
 *    timer (3 intervals), not from the ERROR 16 answers its heartbeats get,
 *    so a refusing coordinator sees one round per 3 intervals, never a spin.
 *
 * CURVE: a link made while the participant has credentials (set with
 * dtx_participant_set_curve, or the file named by DTX_CURVE_KEY_FILE when
 * the participant was created, read at the first dtx_participant_connect)
 * is a CurveZMQ client of the coordinator's public key; the link keeps its
 * own copy of the keys. The monitor also reports failed handshakes:
 *  - refused (ZAP said no: keys not allowed) or a protocol error (CURVE on
 *    one side only): ZeroMQ gives up that connection for good, so the link
 *    makes a new socket (a new routing id of the same lineage) after 3
 *    intervals and tries again;
 *  - dropped during the handshake (a wrong server-key looks like that):
 *    ZeroMQ retries by itself every 100 ms.
 * The first definitive failure after a success is logged at once, a run of
 * drops after 5 of them; repeats at most once a minute, with their count.
 *
 * A connection that was up and ends: ZeroMQ reconnects by itself after a
 * network failure (the monitor then reports CONNECT_RETRIED at once) but
 * not after a protocol error such as a frame over ZMQ_MAXMSGSIZE; a link
 * whose connection ended without CONNECT_RETRIED makes a new socket after
 * 3 intervals (one warning), registers again and serves on.
 *
 * Heartbeat intervals, ours or a coordinator's, stay within the floor and
 * ceiling of participant_timing.h (an interval outside them from a
 * coordinator is clamped and warned about once per change).
 *
 * Protocol version: a link speaks version 2 (docs/protocol.md §15) unless
 * DTX_PROTO_VERSION=1; the coordinator then sends it PHASEs in version 2,
 * whose traceparent the handler reads with dtx_call_traceparent. An ERROR
 * 3 answering a REGISTER (a coordinator that speaks only version 1) makes
 * the link speak version 1 and register again.
 *
 * BUNDLEs (docs/protocol.md §20): in version 2 every REGISTER carries tag
 * 2 (unless DTX_BUNDLE=0): the coordinator may send this link BUNDLEs of
 * PHASEs. The replies of one pass of the loop over a link go in one
 * BUNDLE (dtx_plink_reply, dtx_plink_reply_flush) while the link's latest
 * REGISTER_OK carried tag 2; a new round forgets it until its answer.
 */
#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "dtx/clock.h"
#include "dtx/curve.h"
#include "dtx/dtx.h"
#include "dtx/id.h"
#include "dtx/log.h"
#include "dtx/proto.h"
#include "participant_timing.h"
#include "sdk_internal.h"
#include "participant_int.h"

void dtx_plink_close(struct coord_link *link)
{
    if (link->sock)
        zmq_close(link->sock);
    if (link->monitor)
        zmq_close(link->monitor);
    free(link->acked);
    free(link->endpoint);
    dtx_bundle_free(&link->replies);
    explicit_bzero(&link->curve_keys, sizeof link->curve_keys);
    memset(link, 0, sizeof *link);
}

/* The heartbeat interval used with link: ours, or the coordinator's when
 * it asked for a shorter one (it expires instances by its own interval),
 * never outside the bounds of participant_timing.h. */
int dtx_plink_interval(const dtx_participant_t *self, const struct coord_link *link)
{
    return dtx_participant_link_interval(self->heartbeat_ms, link->coordinator_hb_ms);
}

/* Starts a registration round on link: every resource is (re)sent. */
void dtx_plink_round_start(dtx_participant_t *self, struct coord_link *link, int64_t now)
{
    link->pending = 1;
    /* The first acknowledgement of the round names the coordinator; a
     * restarted one then does not cause a second round. */
    link->coordinator[0] = '\0';
    link->next_resource = 0;
    link->registered = 0;
    link->last_round_ms = now;
    link->refusal_logged = 0;
    link->coord_bundle = 0; /* until this round's REGISTER_OK says otherwise */
    if (link->acked)
        memset(link->acked, 0, (size_t)self->resources_cap);
}

/* Sends one encoded frame on link without blocking: 0, DTX_ETIMEOUT (no
 * connection) or DTX_EIO (logged). */
static int s_send_frame(struct coord_link *link, const uint8_t *frame, size_t len, int type)
{
    link->sock_calls++; /* a call may take the socket's commands */
    if (zmq_send(link->sock, frame, len, ZMQ_DONTWAIT) >= 0)
        return DTX_OK;
    if (errno == EAGAIN || errno == EINTR)
        return DTX_ETIMEOUT;
    dtx_log_error("cannot send to coordinator", "endpoint=%s type=%s error=\"%s\"",
                  link->endpoint, dtx_msg_type_name(type), zmq_strerror(errno));
    return DTX_EIO;
}

/* Encodes msg (with a fresh corr unless it is a reply) and sends it on
 * link without blocking. Returns 0, DTX_ETIMEOUT when there is no
 * connection to send on, DTX_EIO when the socket failed, or DTX_EINTERNAL
 * when msg does not encode (logged; callers drop the message). */
int dtx_plink_send(dtx_participant_t *self, struct coord_link *link, dtx_msg_t *msg)
{
    uint8_t out[DTX_REPLY_MAX];
    size_t len = 0;
    if (msg->type != DTX_MSG_PHASE_REPLY)
        msg->corr = self->next_corr++;
    msg->version = link->version;
    int rc = dtx_msg_encode(msg, out, sizeof out, &len);
    if (rc != 0) {
        dtx_log_error("cannot encode message", "type=%s error=\"%s\"",
                      dtx_msg_type_name(msg->type), dtx_strerror(rc));
        return DTX_EINTERNAL;
    }
    return s_send_frame(link, out, len, msg->type);
}

int dtx_plink_reply(dtx_participant_t *self, struct coord_link *link, dtx_msg_t *reply)
{
    if (!self->bundle_on || !link->coord_bundle || link->version != DTX_PROTO_V2)
        return dtx_plink_send(self, link, reply);
    reply->version = link->version;
    if (link->replies.n == 0)
        link->replies_since_us = dtx_plink_now_us();
    int rc = dtx_bundle_add(&link->replies, reply);
    if (rc == DTX_ELIMIT) { /* full: it goes, a new one starts */
        if (dtx_plink_reply_flush(self, link) == DTX_EIO)
            return DTX_EIO;
        link->replies_since_us = dtx_plink_now_us();
        rc = dtx_bundle_add(&link->replies, reply);
    }
    if (rc == DTX_OK)
        return DTX_OK;
    /* No room for it in memory: plain, after the ones queued. */
    if (dtx_plink_reply_flush(self, link) == DTX_EIO)
        return DTX_EIO;
    return dtx_plink_send(self, link, reply);
}

int dtx_plink_reply_flush(dtx_participant_t *self, struct coord_link *link)
{
    int n = link->replies.n;
    if (n == 0)
        return DTX_OK;
    const uint8_t *frame;
    size_t len;
    dtx_bundle_finish(&link->replies, DTX_MSG_BUNDLE_REPLIES, &frame, &len);
    int rc = s_send_frame(link, frame, len, n > 1 ? DTX_MSG_BUNDLE_REPLIES : DTX_MSG_PHASE_REPLY);
    dtx_bundle_reset(&link->replies);
    if (rc == DTX_ETIMEOUT) /* disconnected meanwhile: the coordinator delivers them again */
        dtx_log_warn("phase replies not sent, no connection", "instance=%s endpoint=%s count=%d",
                     self->instance, link->endpoint, n);
    return rc == DTX_EIO ? DTX_EIO : DTX_OK;
}

/* Sends what is left of a pending registration round. */
static int s_round_flush(dtx_participant_t *self, struct coord_link *link)
{
    while (link->pending && link->next_resource < self->nresources) {
        dtx_msg_t msg = { .type = DTX_MSG_REGISTER };
        dtx_name_copy(msg.instance, self->instance);
        dtx_name_copy(msg.resource, self->resources[link->next_resource].name);
        /* Tag 2: PHASEs may come in BUNDLEs (dropped in version 1). */
        msg.bundle = (uint8_t)(self->bundle_on && link->version == DTX_PROTO_V2);
        int rc = dtx_plink_send(self, link, &msg);
        if (rc == DTX_ETIMEOUT)
            return DTX_OK; /* not connected yet: POLLOUT resumes it */
        if (rc == DTX_EIO)
            return rc;
        if (link->next_resource == 0) {
            link->prev_round_corr = link->round_corr;
            link->prev_round_last_corr = link->round_last_corr;
            link->round_corr = msg.corr;
        }
        link->round_last_corr = msg.corr;
        link->next_resource++;
    }
    if (link->pending) {
        link->pending = 0;
        dtx_log_debug("registration sent", "instance=%s endpoint=%s resources=%d",
                      self->instance, link->endpoint, self->nresources);
    }
    return DTX_OK;
}

/* Makes link's DEALER (and the PAIR receiving its events) and connects
 * it. On success the link's previous sockets, if any, are closed; on
 * failure they stay (so the link always has sockets to poll). Returns 0,
 * DTX_EINVAL (malformed endpoint) or DTX_EIO. */
int dtx_plink_open(dtx_participant_t *self, struct coord_link *link)
{
    int rc = DTX_EIO;
    void *sock = NULL, *monitor = NULL;
    char monitor_ep[64];
    snprintf(monitor_ep, sizeof monitor_ep, "inproc://dtx-participant-monitor-%u",
             self->monitor_seq++);
    sock = zmq_socket(self->ctx, ZMQ_DEALER);
    if (!sock || dtx_sdk_socket_setup(sock) != 0)
        goto err;
    if (link->curve && dtx_curve_apply_client(sock, &link->curve_keys) != 0)
        goto err;
    if (zmq_socket_monitor(sock, monitor_ep,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_CONNECT_RETRIED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0)
        goto err;
    monitor = zmq_socket(self->ctx, ZMQ_PAIR);
    int linger = 0;
    int monitor_fd = -1, sock_fd = -1;
    size_t fdlen = sizeof monitor_fd, sock_fdlen = sizeof sock_fd;
    if (!monitor || zmq_setsockopt(monitor, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(monitor, monitor_ep) != 0 ||
        zmq_getsockopt(monitor, ZMQ_FD, &monitor_fd, &fdlen) != 0 ||
        zmq_getsockopt(sock, ZMQ_FD, &sock_fd, &sock_fdlen) != 0)
        goto err;
    if (zmq_connect(sock, link->endpoint) != 0) {
        rc = dtx_sdk_connect_error(errno);
        dtx_log_error("cannot connect to coordinator", "instance=%s endpoint=%s error=\"%s\"",
                      self->instance, link->endpoint, zmq_strerror(errno));
        goto err;
    }
    if (link->sock)
        zmq_close(link->sock);
    if (link->monitor)
        zmq_close(link->monitor);
    link->sock = sock;
    link->sock_fd = sock_fd;
    link->sock_drained = 0;
    link->monitor = monitor;
    link->monitor_fd = monitor_fd;
    link->monitor_quiet = 0;
    link->connected = 0;
    return DTX_OK;

err:
    if (sock)
        zmq_close(sock);
    if (monitor)
        zmq_close(monitor);
    return rc;
}

/* A failed handshake: a refusal or a protocol error ends the connection
 * for good (ZeroMQ does not reconnect after those), so a new socket is
 * made later; a drop ZeroMQ retries itself. Logged as the top of this file
 * says. */
static void s_handshake_failed(dtx_participant_t *self, struct coord_link *link,
                               uint16_t event, uint32_t value, int64_t now)
{
    int definitive = event != ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    if (definitive && !link->reopen_ms)
        link->reopen_ms = now + (int64_t)DTX_STALE_INTERVALS * dtx_plink_interval(self, link);
    link->handshake_failures++;
    if (!definitive && link->handshake_failures < DTX_HANDSHAKE_DROPS)
        return;
    if (link->handshake_logged && now - link->handshake_logged_ms < DTX_HANDSHAKE_LOG_MS)
        return;
    link->handshake_logged = 1;
    link->handshake_logged_ms = now;
    if (!definitive) {
        dtx_log_warn("connection to coordinator dropped during handshake",
                     "instance=%s endpoint=%s curve=%s hint=\"%s\" error=\"%s\" failures=%u",
                     self->instance, link->endpoint, link->curve ? "on" : "off",
                     link->curve ? "is server-key the coordinator's public key?"
                                 : "does the coordinator require CURVE?",
                     zmq_strerror((int)value), link->handshake_failures);
        return;
    }
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        dtx_log_error("coordinator refused this participant's CURVE keys",
                      "instance=%s endpoint=%s curve=%s zap_status=%u failures=%u",
                      self->instance, link->endpoint, link->curve ? "on" : "off",
                      (unsigned)value, link->handshake_failures);
        return;
    }
    const char *why = "protocol error";
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        why = link->curve ? "the coordinator does not use CURVE"
                          : "the coordinator requires CURVE (set DTX_CURVE_KEY_FILE)";
    else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
        why = "CURVE keys do not fit (wrong server-key?)";
    dtx_log_error("handshake with coordinator failed",
                  "instance=%s endpoint=%s curve=%s error=\"%s\" code=0x%08x failures=%u",
                  self->instance, link->endpoint, link->curve ? "on" : "off", why,
                  (unsigned)value, link->handshake_failures);
}

/* Reads the connection events of link's socket. */
void dtx_plink_events(dtx_participant_t *self, struct coord_link *link, int64_t now)
{
    for (;;) {
        uint8_t ev[6];
        int n = zmq_recv(link->monitor, ev, sizeof ev, ZMQ_DONTWAIT);
        if (n < 0) {
            /* EAGAIN: read dry (the commands behind ZMQ_FD taken too). */
            link->monitor_quiet = errno == EAGAIN;
            return;
        }
        int more = 0;
        size_t more_size = sizeof more;
        while (zmq_getsockopt(link->monitor, ZMQ_RCVMORE, &more, &more_size) == 0 && more) {
            char addr[256];
            if (zmq_recv(link->monitor, addr, sizeof addr, ZMQ_DONTWAIT) < 0)
                break;
            more_size = sizeof more;
        }
        if (n < 2)
            continue;
        uint16_t event;
        uint32_t value = 0;
        memcpy(&event, ev, sizeof event);
        if (n >= 6)
            memcpy(&value, ev + 2, sizeof value);
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            dtx_log_info("connected to coordinator", "instance=%s endpoint=%s curve=%s",
                         self->instance, link->endpoint, link->curve ? "on" : "off");
            link->connected = 1;
            link->dropped = 0;
            link->handshake_failures = 0;
            link->handshake_logged = 0;
            if (!link->pending || link->next_resource > 0)
                dtx_plink_round_start(self, link, now);
        } else if (event == ZMQ_EVENT_DISCONNECTED) {
            /* A failed handshake disconnects too: only a connection that
             * was up is news. */
            if (link->connected) {
                dtx_log_warn("disconnected from coordinator", "instance=%s endpoint=%s",
                             self->instance, link->endpoint);
                /* ZeroMQ reconnects after a network failure (CONNECT_RETRIED
                 * follows at once) but not after a protocol error, such as
                 * a frame over ZMQ_MAXMSGSIZE: then only a new socket
                 * brings the participant back. */
                link->dropped = 1;
                if (!link->reopen_ms)
                    link->reopen_ms = now + (int64_t)DTX_STALE_INTERVALS * dtx_plink_interval(self, link);
            }
            link->connected = 0;
            link->registered = 0;
        } else if (event == ZMQ_EVENT_CONNECT_RETRIED) {
            if (link->dropped) {
                link->dropped = 0;
                link->reopen_ms = 0;
            }
        } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
                   event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                   event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
            s_handshake_failed(self, link, event, value, now);
        }
    }
}

/* Timers of every link: registration rounds, heartbeats, silence.
 * Returns the time the next one is due (mono ms). */
int64_t dtx_plink_timers(dtx_participant_t *self, int64_t now, int *rc)
{
    int64_t next = INT64_MAX;
    *rc = DTX_OK;
    for (int i = 0; i < self->nlinks; i++) {
        struct coord_link *link = self->links[i];
        int64_t interval = dtx_plink_interval(self, link);
        if (link->reopen_ms && now >= link->reopen_ms) {
            /* Kept on failure: the old socket stays and we try later. */
            if (link->dropped)
                dtx_log_warn("connection to coordinator ended for good (a frame over the size "
                             "limit or a protocol error); connecting again",
                             "instance=%s endpoint=%s", self->instance, link->endpoint);
            if (dtx_plink_open(self, link) == 0) {
                link->reopen_ms = 0;
                link->dropped = 0;
                dtx_log_debug("connecting to coordinator again", "instance=%s endpoint=%s",
                              self->instance, link->endpoint);
                dtx_plink_round_start(self, link, now);
            } else {
                link->reopen_ms = now + DTX_STALE_INTERVALS * interval;
            }
        }
        if (link->reopen_ms && link->reopen_ms < next)
            next = link->reopen_ms;
        /* Registered: silence since the last acknowledgement. Not yet: a
         * round that got no full answer (a REGISTER may have been lost
         * while heartbeats still succeed) is sent again as well. */
        int64_t last = link->registered ? link->last_ok_ms : link->last_round_ms;
        if (now - last >= DTX_STALE_INTERVALS * interval) {
            if (link->registered)
                dtx_log_warn("coordinator silent, registering again",
                             "instance=%s endpoint=%s silent_ms=%lld", self->instance,
                             link->endpoint, (long long)(now - link->last_ok_ms));
            dtx_plink_round_start(self, link, now);
            last = now;
        }
        if (link->pending && (*rc = s_round_flush(self, link)) != 0)
            return now;
        if (now >= link->next_heartbeat_ms) {
            dtx_msg_t hb = { .type = DTX_MSG_HEARTBEAT };
            dtx_name_copy(hb.instance, self->instance);
            int sent = dtx_plink_send(self, link, &hb);
            if (sent == DTX_EIO) {
                *rc = DTX_EIO;
                return now;
            }
            link->next_heartbeat_ms = now + interval;
        }
        if (link->next_heartbeat_ms < next)
            next = link->next_heartbeat_ms;
        if (last + DTX_STALE_INTERVALS * interval < next)
            next = last + DTX_STALE_INTERVALS * interval;
    }
    return next;
}
