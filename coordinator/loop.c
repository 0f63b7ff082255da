/*
 * loop.c — the event loop.
 *
 * One thread polls, in one dtx_zpoll call (zmq_poll's contract with one
 * poll(2) per wait: dtx/zpoll.h), the ROUTER socket that every initiator
 * and participant talks to and the libpq socket of every log connection.
 * The ROUTER socket is polled by its ZMQ_FD, as a plain descriptor: the
 * loop reads it until it is empty every turn anyway, and asks ZMQ_EVENTS
 * before a wait only when something may have changed since the read that
 * found it empty (a call on the socket takes its pending commands, and a
 * message they bring would not wake ZMQ_FD): a send since then, or a turn
 * that stopped at the per-turn bound.
 *
 * Each turn: read every waiting message (bounded per turn; a BUNDLE of
 * PHASE_REPLYs is read as its entries, each as if alone), handle the
 * store's results, run due timers, run periodic duties, then flush the
 * store (periodic duties: heartbeats, the lease, recovery scans,
 * retention of finished transactions): every state change produced during
 * the turn goes to PostgreSQL in one round trip per connection (group
 * commit), and send the PHASEs the turn queued per connection (BUNDLEs,
 * outbox.h). Nothing blocks on a round trip.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "admin/admin_http.h"
#include "engine/auth.h"
#include "engine/coord.h"
#include "dtx/bundle.h"
#include "dtx/clock.h"
#include "dtx/id.h"
#include "dtx/log.h"
#include "dtx/zpoll.h"
#include "core/peerrate.h"
#include "engine/initiator.h"
#include "engine/initiator_multi.h"
#include "engine/driver.h"
#include "engine/lease.h"
#include "engine/outbox.h"
#include "engine/participants.h"
#include "engine/recovery.h"
#include "engine/retention.h"
#include "loop.h"
#include "log/sql.h"
#include "core/txntable.h"
#include "engine/wctx.h"

#define S_MAX_MSGS_PER_TURN 512
#define S_MAX_POLL_MS 100
/* Due timers run in slices: at most this many a turn, and none while a
 * log connection has this many of their writes queued or in flight. An
 * expiry storm (thousands of deadlines at once) then goes to the log in
 * small batches, and a request's write waits behind at most two of them
 * (a connection's batches in flight, log/store.c)
 * (bench/storm.sh measures the BEGIN latency through 424,000 expiries);
 * the lease renewal has a connection of its own. */
#define S_MAX_TIMERS_PER_TURN 32
#define S_TIMER_BACKLOG 32

int dtx_loop_init(dtx_coord_t *co)
{
    int err = 0;
    char why[512] = "";
    /* Everything that can be wrong with the options is found, and every
     * listener bound, before the node lease is taken: a start that fails
     * must not take the lease from a live node of the same --node-id. */
    co->auth = dtx_auth_new(&co->cfg, why, sizeof why, &err);
    if (!co->auth) {
        dtx_log_error("bad configuration", "error=\"%s\"", DTX_Q(why));
        return err;
    }
    co->auth_on = dtx_auth_curve(co->auth);
    if (!co->auth_on)
        dtx_log_warn("curve off: peers are not authenticated (development only; loopback)",
                     "endpoint=%s", co->cfg.listen);
    co->sendbuf = malloc(DTX_MSG_MAX);
    co->registry = dtx_registry_new();
    co->txns = dtx_txntable_new();
    co->rates = dtx_peerrate_new(co->cfg.max_peer_rate, co->cfg.max_registrations, 100000);
    if (!co->sendbuf || !co->registry || !co->txns || !co->rates || dtx_outbox_init(co) != 0)
        return DTX_ENOMEM;
    dtx_initiator_init(co);
    dtx_initiator_try_init(co);
    if (dtx_multi_init(co) != 0)
        return DTX_ENOMEM;
    co->hooks.initiator_request = dtx_initiator_handle;
    dtx_recovery_init(co);
    co->next_corr = dtx_random_u64() >> 1; /* a restart never reuses a recent corr */
    co->store = dtx_store_new(co->cfg.db, (int)co->cfg.db_connections, 2, dtx_coord_sql,
                              DTX_SQL_COUNT, dtx_coord_sql_session, &err);
    if (!co->store)
        return err;
    co->zctx = zmq_ctx_new();
    if (!co->zctx)
        return DTX_EIO;
    co->router = zmq_socket(co->zctx, ZMQ_ROUTER);
    if (!co->router)
        return DTX_EIO;
    int one = 1, zero = 0, hwm = (int)co->cfg.sndhwm, maxmsg = 4 * (int)DTX_MSG_MAX;
    int64_t maxsize = maxmsg;
    /* Undeliverable messages must fail the send, never vanish; nothing may
     * linger at close. Frames a little over the limit are read and answered
     * with DTX_ETOOBIG; absurd ones (over 4x) make libzmq drop the peer's
     * connection before any memory is spent on them. */
    if (zmq_setsockopt(co->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(co->router, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(co->router, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(co->router, ZMQ_MAXMSGSIZE, &maxsize, sizeof maxsize) != 0) {
        dtx_log_error("socket options failed", "error=\"%s\"", zmq_strerror(errno));
        return DTX_EIO;
    }
    if (dtx_auth_attach(co->auth, co->zctx, co->router) != 0)
        return DTX_EIO;
    if (zmq_bind(co->router, co->cfg.listen) != 0) {
        dtx_log_error("cannot listen", "endpoint=%s error=\"%s\"", co->cfg.listen,
                      zmq_strerror(errno));
        return DTX_ECONFIG;
    }
    char endpoint[DTX_OPT_STRMAX];
    size_t len = sizeof endpoint;
    if (zmq_getsockopt(co->router, ZMQ_LAST_ENDPOINT, endpoint, &len) != 0)
        snprintf(endpoint, sizeof endpoint, "%s", co->cfg.listen);
    dtx_log_info("listening", "endpoint=%s node=%s curve=%d", endpoint, co->cfg.node_id,
                 co->auth_on);
    /* The admin URL file is written before the endpoint file that says
     * "ready"; nothing is served before the loop runs (after the lease). */
    int admin_rc = dtx_admin_start(co);
    if (admin_rc != 0)
        return admin_rc;
    char tmp[DTX_OPT_STRMAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", co->cfg.endpoint_file);
    if (co->cfg.endpoint_file[0]) {
        /* An endpoint file that cannot be written is an option to change:
         * found now, before the lease. */
        FILE *f = fopen(tmp, "w");
        if (!f) {
            dtx_log_error("cannot write endpoint file", "path=\"%s\" error=\"%s\"",
                          DTX_Q(tmp), strerror(errno));
            return DTX_ECONFIG;
        }
        fclose(f);
    }
    if (dtx_lease_acquire(co, endpoint) != 0)
        return DTX_EDB;
    if (co->cfg.endpoint_file[0]) {
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%s\n", endpoint) < 0 || fclose(f) != 0 ||
            rename(tmp, co->cfg.endpoint_file) != 0) {
            dtx_log_error("cannot write endpoint file", "path=\"%s\" error=\"%s\"",
                          DTX_Q(co->cfg.endpoint_file), strerror(errno));
            return DTX_EIO;
        }
    }
    return 0;
}

void dtx_loop_fini(dtx_coord_t *co)
{
    co->stop = 1;
    dtx_admin_stop(co); /* before the stores: its waiting requests get answers */
    /* The store first: its pending callbacks still need the tables. */
    dtx_store_destroy(&co->store);
    dtx_txntable_destroy(&co->txns);
    dtx_multi_fini(co);
    dtx_wctx_pool_free(co);
    dtx_text_free(&co->first_params);
    dtx_registry_destroy(&co->registry);
    dtx_peerrate_destroy(&co->rates);
    if (co->router)
        zmq_close(co->router);
    co->router = NULL;
    dtx_auth_destroy(&co->auth); /* its ZAP socket, before the context ends */
    if (co->zctx)
        zmq_ctx_term(co->zctx);
    co->zctx = NULL;
    free(co->sendbuf);
    co->sendbuf = NULL;
    dtx_outbox_fini(co);
}

/* Messages a peer sends in each role; replies (PHASE_REPLY) are not
 * requests and are never rate-limited: they are matched, or ignored, in
 * O(1). */
static unsigned s_role_of(int type)
{
    switch (type) {
    case DTX_MSG_REGISTER:
    case DTX_MSG_HEARTBEAT:
    case DTX_MSG_PHASE_REPLY:
        return DTX_ROLE_PARTICIPANT;
    default:
        return DTX_ROLE_INITIATOR | DTX_ROLE_OPERATOR; /* initiator.c checks which */
    }
}

static void s_dispatch(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                       const dtx_msg_t *msg)
{
    if (msg->type != DTX_MSG_ERROR && !(id->roles & s_role_of(msg->type))) {
        dtx_metrics_denied(&co->metrics, DTX_DENY_ROLE);
        dtx_log_debug("request refused: role", "type=%s principal=\"%s\"",
                     dtx_msg_type_name(msg->type), DTX_Q(id->principal));
        if (msg->type != DTX_MSG_PHASE_REPLY)
            dtx_outbox_error(co, peer, DTX_EACCES, "this key may not send %s",
                             dtx_msg_type_name(msg->type));
        return;
    }
    if (msg->type != DTX_MSG_PHASE_REPLY && msg->type != DTX_MSG_ERROR) {
        int64_t retry = 0;
        if (dtx_peerrate_take(co->rates, peer->rid, peer->rid_len, DTX_PEERRATE_REQUEST,
                              dtx_clock_mono_ms(), &retry) != 0) {
            dtx_outbox_refuse_limit(co, peer, DTX_LIMIT_PEER_RATE,
                                    "more than %lld requests per second from this connection "
                                    "(max-peer-rate): retry after %lld ms",
                                    (long long)co->cfg.max_peer_rate, (long long)retry);
            return;
        }
    }
    switch (msg->type) {
    case DTX_MSG_BEGIN:
    case DTX_MSG_TRY:
    case DTX_MSG_COMMIT:
    case DTX_MSG_ROLLBACK:
    case DTX_MSG_STATUS:
    case DTX_MSG_RESUME:
    case DTX_MSG_SAGA:
    case DTX_MSG_TMSG:
    case DTX_MSG_TRY_MANY:
    case DTX_MSG_TCC_RUN:
        dtx_initiator_handle(co, peer, id, msg);
        break;
    case DTX_MSG_REGISTER:
        dtx_participants_on_register(co, peer, id, msg);
        break;
    case DTX_MSG_HEARTBEAT:
        dtx_participants_on_heartbeat(co, peer, id, msg);
        break;
    case DTX_MSG_PHASE_REPLY:
        dtx_driver_on_phase_reply(co, peer, id, msg);
        break;
    case DTX_MSG_ERROR:
        /* Never answer an ERROR: two peers would bounce errors forever. */
        co->stats.bad_messages++;
        dtx_log_warn("error message from a peer", "code=%u text=\"%s\"", msg->code,
                     DTX_Q(msg->text));
        break;
    default:
        co->stats.bad_messages++;
        dtx_outbox_error(co, peer, DTX_EPROTO, "%s is not a request a coordinator serves",
                         dtx_msg_type_name(msg->type));
    }
}

/* A BUNDLE of PHASE_REPLYs (protocol.md §20): its framing was checked by
 * the decoder; each entry goes the way it would have gone alone from the
 * same connection — decoded (a bad one answered ERROR 2 with its own
 * corr), then s_dispatch, which checks its role and §14.3 as for any
 * PHASE_REPLY. Accepted from any peer (its entries get nothing they would
 * not get alone), so also from one whose REGISTER_OK had no tag 2. */
/* Decodes frame into *msg and sets peer's version and corr from it (an
 * answer goes in the version the request came in; one this coordinator
 * does not speak: version 1, protocol.md §9). A frame that does not
 * decode is counted, logged (where: "" or where it came from) and
 * answered ERROR; returns 0 or that error. */
static int s_decode(dtx_coord_t *co, dtx_peer_t *peer, const void *frame, size_t len,
                    dtx_msg_t *msg, const char *where)
{
    char err[160];
    int rc = dtx_msg_decode(msg, frame, len, err, sizeof err);
    peer->version = msg->version ? msg->version : DTX_PROTO_V1;
    peer->corr = msg->corr;
    if (rc != 0) {
        co->stats.bad_messages++;
        dtx_log_warn("malformed message", "error=\"%s%s\"", where, DTX_Q(err));
        dtx_outbox_error(co, peer, rc, "%s", err);
    }
    return rc;
}

/* Handles each entry of a BUNDLE of replies as if it came alone; returns
 * how many entries it held (they count against the turn's bound). */
static int s_on_bundle(dtx_coord_t *co, const dtx_peer_t *bundle_peer, const dtx_ident_t *id,
                       const dtx_msg_t *bundle)
{
    int n = 0;
    co->stats.bundles_received++;
    dtx_bundle_iter_t it;
    dtx_bundle_iter_init(&it, bundle);
    const uint8_t *frame;
    size_t len;
    while (dtx_bundle_iter_next(&it, &frame, &len)) {
        n++;
        co->stats.bundle_frames_received++;
        dtx_peer_t peer = *bundle_peer;
        dtx_msg_t msg;
        if (s_decode(co, &peer, frame, len, &msg, "in a BUNDLE: ") == 0)
            s_dispatch(co, &peer, id, &msg);
    }
    return n;
}

/* Reads one ROUTER message: [routing id][frame]. Returns how many
 * messages it held when one was read (1, or a BUNDLE's entries), 0 when
 * none is waiting (EAGAIN: the socket's commands were taken too), -1 when
 * the read failed otherwise (EINTR, ETERM). */
static int s_read_one(dtx_coord_t *co)
{
    zmq_msg_t rid, body;
    zmq_msg_init(&rid);
    if (zmq_msg_recv(&rid, co->router, ZMQ_DONTWAIT) < 0) {
        int e = errno;
        zmq_msg_close(&rid);
        return e == EAGAIN ? 0 : -1;
    }
    dtx_peer_t peer;
    memset(&peer, 0, sizeof peer);
    size_t rlen = zmq_msg_size(&rid);
    if (rlen > DTX_ROUTING_ID_MAX)
        rlen = DTX_ROUTING_ID_MAX;
    memcpy(peer.rid, zmq_msg_data(&rid), rlen);
    peer.rid_len = (uint8_t)rlen;
    zmq_msg_close(&rid);

    int frames = 0;
    zmq_msg_t first;
    zmq_msg_init(&first);
    if (zmq_msg_recv(&first, co->router, 0) >= 0) {
        frames = 1;
        int more = zmq_msg_more(&first);
        while (more) {
            zmq_msg_init(&body);
            if (zmq_msg_recv(&body, co->router, 0) < 0) {
                zmq_msg_close(&body);
                break;
            }
            frames++;
            more = zmq_msg_more(&body);
            zmq_msg_close(&body);
        }
    }
    if (frames != 1) {
        co->stats.bad_messages++;
        dtx_log_warn("malformed message", "error=\"expected 1 frame, got %d\"", frames);
        dtx_outbox_error(co, &peer, DTX_EPROTO,
                         "a dtx message is exactly one frame; got %d", frames);
        zmq_msg_close(&first);
        return 1;
    }
    dtx_msg_t msg;
    int held = 1;
    if (s_decode(co, &peer, zmq_msg_data(&first), zmq_msg_size(&first), &msg, "") == 0) {
        dtx_ident_t id;
        if (dtx_auth_identify(co->auth, &first, peer.rid, peer.rid_len, &id) != 0) {
            /* Its key left the allow-list after the handshake (reload). */
            dtx_metrics_denied(&co->metrics, DTX_DENY_HANDSHAKE);
            /* Replies, a BUNDLE of them included, are never answered. */
            if (msg.type != DTX_MSG_PHASE_REPLY && msg.type != DTX_MSG_ERROR &&
                msg.type != DTX_MSG_BUNDLE_REPLIES)
                dtx_outbox_error(co, &peer, DTX_EACCES,
                                 "this key is no longer in the allow-list");
        } else if (msg.type == DTX_MSG_BUNDLE_REPLIES) {
            int n = s_on_bundle(co, &peer, &id, &msg);
            held = n > 1 ? n : 1;
        } else {
            s_dispatch(co, &peer, &id, &msg);
        }
    }
    zmq_msg_close(&first);
    return held;
}

int dtx_loop_run(dtx_coord_t *co)
{
    zmq_pollitem_t items[1 + 64 + DTX_ADMIN_POLL_ITEMS + 1];
    _Static_assert(sizeof items / sizeof items[0] <= DTX_ZPOLL_MAX, "dtx_zpoll takes them all");
    int64_t now = dtx_clock_mono_ms();
    co->next_scan_ms = now; /* recover at once */
    int router_fd = -1;
    size_t fd_len = sizeof router_fd;
    if (zmq_getsockopt(co->router, ZMQ_FD, &router_fd, &fd_len) != 0) {
        dtx_log_error("poll failed", "error=\"%s\"", zmq_strerror(errno));
        return DTX_EIO;
    }
    /* drained: the last read found the socket empty, and router_calls
     * was drained_at then (no call on the socket since). */
    int drained = 0;
    uint64_t drained_at = 0;
    for (;;) {
        if (co->stop)
            break;
        items[0].socket = NULL;
        items[0].fd = router_fd;
        items[0].events = ZMQ_POLLIN;
        items[0].revents = 0;
        int nstore = dtx_store_poll_items(co->store, items + 1, 64);
        now = dtx_clock_mono_ms();
        int64_t timeout = S_MAX_POLL_MS;
        int64_t next = dtx_timer_next(co->txns);
        if (dtx_store_backlog(co->store) >= S_TIMER_BACKLOG)
            next = -1; /* the store's progress wakes the loop, not the timers */
        if (next >= 0 && next - now < timeout)
            timeout = next - now < 0 ? 0 : next - now;
        int nadmin = dtx_admin_poll_items(co, items + 1 + nstore, DTX_ADMIN_POLL_ITEMS, &timeout);
        int nzap = dtx_auth_poll_items(co->auth, items + 1 + nstore + nadmin, 1);
        if (!drained || co->router_calls != drained_at) {
            int ev = 0;
            size_t ev_len = sizeof ev;
            if (zmq_getsockopt(co->router, ZMQ_EVENTS, &ev, &ev_len) != 0) {
                dtx_log_error("poll failed", "error=\"%s\"", zmq_strerror(errno));
                return DTX_EIO;
            }
            if (ev & ZMQ_POLLIN)
                timeout = 0;
        }
        if (dtx_zpoll(items, 1 + nstore + nadmin + nzap, (long)timeout) < 0) {
            if (errno == EINTR)
                continue;
            dtx_log_error("poll failed", "error=\"%s\"", zmq_strerror(errno));
            return DTX_EIO;
        }
        dtx_store_process(co->store, items + 1, nstore);
        dtx_auth_process(co->auth, items + 1 + nstore + nadmin, nzap, &co->metrics);
        if (co->reload) {
            co->reload = 0;
            char why[512] = "";
            if (dtx_auth_reload(co->auth, why, sizeof why) != 0)
                dtx_log_error("allow-list not reloaded: the old one stays in force",
                              "error=\"%s\"", DTX_Q(why));
            else
                dtx_log_info("allow-list reloaded", "file=%s revoked_instances=%d",
                             co->cfg.curve_allow_file, dtx_participants_revoke(co));
        }
        /* Edge-triggered: drain (bounded, so timers and the store get
         * their turn under a flood), whether or not ZMQ_FD woke us. */
        int got = 1;
        for (int n = 0; n < S_MAX_MSGS_PER_TURN && (got = s_read_one(co)) > 0; n += got)
            ;
        drained = got == 0;
        drained_at = co->router_calls;
        dtx_admin_process(co, items + 1 + nstore, nadmin, dtx_clock_mono_ms());
        now = dtx_clock_mono_ms();
        dtx_txn_t *txn;
        dtx_store_set_background(co->store, 1);
        for (int i = 0; i < S_MAX_TIMERS_PER_TURN &&
                        dtx_store_backlog(co->store) < S_TIMER_BACKLOG &&
                        (txn = dtx_timer_due(co->txns, now)) != NULL;
             i++)
            dtx_driver_on_timer(co, txn, now);
        dtx_store_set_background(co->store, 0);
        dtx_participants_tick(co, now);
        dtx_lease_tick(co, now);
        dtx_recovery_tick(co, now);
        dtx_retention_tick(co, now);
        dtx_store_maintain(co->store, now);
        dtx_store_flush(co->store);
        /* Every PHASE this turn queued for a connection leaves before the
         * wait (outbox.h). */
        dtx_outbox_flush(co);
    }
    /* What only memory knows (acknowledgements) goes to the log, so a
     * restart finds it; then let writes finish, so callers get answers
     * (bounded). */
    dtx_driver_log_all_progress(co);
    int64_t until = dtx_clock_mono_ms() + 2000;
    while (!dtx_store_idle(co->store) && dtx_clock_mono_ms() < until) {
        int nstore = dtx_store_poll_items(co->store, items, 64);
        if (zmq_poll(items, nstore, 50) < 0 && errno != EINTR)
            break;
        dtx_store_process(co->store, items, nstore);
        dtx_store_maintain(co->store, dtx_clock_mono_ms());
        dtx_store_flush(co->store);
        dtx_outbox_flush(co);
    }
    return 0;
}
