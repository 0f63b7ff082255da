/*
 * participant.c — the participant side of libdtx (dtx_participant_*, see
 * dtx/dtx.h): serves named resources to every configured coordinator.
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
 *  - every PHASE that decodes gets exactly one PHASE_REPLY on the link it
 *    came from, duplicates included (handlers are idempotent through the
 *    barrier; the coordinator matches replies by corr/gid/branch/op/attempt);
 *  - a PHASE goes to the handler of its op: try/confirm/cancel to the
 *    resource's TCC handlers, prepare/commit/abort to its 2PC handlers; a
 *    resource without a handler for the op answers FAILED (so the
 *    coordinator retries or counts a no vote), never drops the PHASE;
 *  - a link counts as registered only while every served resource has been
 *    acknowledged by the coordinator it names and an acknowledgement came
 *    within the last 3 heartbeat intervals;
 *  - an ERROR 16 answering a message sent before the latest registration
 *    round is stale and ignored (corr ids only grow), so one coordinator
 *    restart causes one round, not one per in-flight heartbeat;
 *  - nothing is allocated per message: one receive buffer of DTX_MSG_MAX,
 *    replies are encoded on the stack (they carry no payload);
 *  - a malformed frame is logged and dropped, never fatal;
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

#define DTX_STALE_INTERVALS   3     /* silent intervals before registering again */
#define DTX_STOP_CHECK_MS     100   /* longest wait between checks of the stop flag */
#define DTX_DRAIN_MAX         64    /* messages read from one link per pass */
#define DTX_REPLY_MAX         256   /* a PHASE_REPLY without payload fits */
#define DTX_HANDSHAKE_LOG_MS  60000 /* repeated handshake failures: one line per */
#define DTX_DB_FAIL_LOG_MS    5000  /* handler failures for DTX_EDB: one line per */
#define DTX_HANDSHAKE_DROPS   5     /* drops during handshakes before one is logged */

/* One served resource. */
struct served_resource {
    char               name[DTX_NAME_SIZE]; /* resource name */
    dtx_tcc_handlers_t tcc;                 /* from dtx_participant_serve; zero when none */
    dtx_2pc_handlers_t twopc;               /* from dtx_participant_serve_2pc; zero when none */
    dtx_saga_handlers_t saga;               /* from dtx_participant_serve_saga; zero when none */
    dtx_tmsg_handlers_t tmsg;               /* from dtx_participant_serve_tmsg; zero when none */
};

/* One coordinator endpoint and its registration state. */
struct coord_link {
    char    *endpoint;                    /* as given to dtx_participant_connect */
    void    *sock;                        /* DEALER to the coordinator */
    void    *monitor;                     /* PAIR receiving sock's connection events */
    char     coordinator[DTX_NAME_SIZE];  /* id of the coordinator that acked us; "" none */
    uint8_t *acked;                       /* per resource: REGISTER_OK since the last round */
    int      pending;                     /* a registration round is not fully sent */
    int      next_resource;               /* next resource of the pending round to send */
    int      registered;                  /* every resource acked by `coordinator` */
    uint32_t coordinator_hb_ms;           /* interval the coordinator asked for; 0 none */
    uint64_t round_corr;                  /* corr of the first REGISTER of the latest round */
    uint64_t round_last_corr;             /* corr of its latest REGISTER sent */
    uint64_t prev_round_corr;             /* the same two of the round before, whose */
    uint64_t prev_round_last_corr;        /*   answers may still be on their way */
    int      refused;                     /* a REGISTER was refused since the last REGISTER_OK */
    int      refusal_logged;              /* this round's refusal is in the log */
    int      curve;                       /* the socket is a CurveZMQ client of curve_keys */
    dtx_curve_keys_t curve_keys;          /* its credentials (wiped on close) */
    int      connected;                   /* a handshake succeeded, no disconnect since */
    unsigned handshake_failures;          /* failed handshakes since the last success */
    int      handshake_logged;            /* one of them is in the log */
    int64_t  handshake_logged_ms;         /* when the last one was logged (mono) */
    int64_t  reopen_ms;                   /* ZeroMQ gave the connection up: new socket
                                             then (mono); 0 none */
    int      dropped;                     /* an up connection ended and ZeroMQ has not
                                             said it retries (CONNECT_RETRIED) yet */
    int64_t  last_ok_ms;                  /* last REGISTER_OK / HEARTBEAT_OK (mono) */
    int64_t  last_round_ms;               /* when the latest round started (mono) */
    int64_t  next_heartbeat_ms;           /* when the next HEARTBEAT is due (mono) */
    uint8_t  version;                     /* protocol version spoken on it (2, or 1) */
};

struct dtx_participant {
    void                   *ctx;                     /* ZeroMQ context, owned */
    char                    instance[DTX_NAME_SIZE]; /* this instance's name */
    struct served_resource *resources;               /* served resources */
    int                     nresources;              /* used entries */
    int                     resources_cap;           /* allocated entries */
    struct coord_link     **links;                   /* one per coordinator endpoint; stable
                                                        addresses, a handler may add one */
    int                     nlinks;                  /* used entries */
    zmq_pollitem_t         *items;                   /* 2 per link: sock, monitor */
    int                     heartbeat_ms;            /* configured interval */
    uint64_t                next_corr;               /* corr of our next request */
    unsigned                monitor_seq;             /* names monitor endpoints */
    char                   *curve_env_file;          /* DTX_CURVE_KEY_FILE at _new, not yet
                                                        loaded; NULL none */
    dtx_curve_keys_t        curve;                   /* credentials of later links */
    int                     curve_on;                /* curve holds loaded keys */
    uint8_t                *buf;                     /* DTX_MSG_MAX receive buffer */
    int64_t                 db_failure_logged_ms;    /* last DTX_EDB handler failure logged */
    unsigned                db_failures;             /* DTX_EDB failures since then */
    dtx_msg_t               msg;                     /* message being handled */
    atomic_int              stop;                    /* set by dtx_participant_stop: any thread or a signal handler (lock-free) */
    dtx_ready_fn            on_ready;                /* dtx_participant_set_ready; NULL none */
    void                   *ready_arg;               /* passed to on_ready */
    int                     ready_pending;           /* on_ready not called yet */
};

dtx_participant_t *dtx_participant_new(const char *instance, int *err)
{
    int rc = DTX_ENOMEM;
    dtx_participant_t *self = NULL;

    if (!instance || !dtx_name_valid(instance)) {
        rc = DTX_EINVAL;
        goto err;
    }
    self = calloc(1, sizeof *self);
    if (!self)
        goto err;
    dtx_name_copy(self->instance, instance);
    self->heartbeat_ms = DTX_HEARTBEAT_DEFAULT;
    self->next_corr = dtx_random_u64() >> 1; /* far from wrapping */
    self->buf = malloc(DTX_MSG_MAX);
    if (!self->buf)
        goto err;
    /* Read now, loaded by the first connect: its errors belong there. */
    const char *env_file = dtx_sdk_curve_env();
    if (env_file && !(self->curve_env_file = strdup(env_file)))
        goto err;
    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        rc = DTX_EIO;
        goto err;
    }
    if (err)
        *err = DTX_OK;
    return self;

err:
    dtx_participant_destroy(&self);
    if (err)
        *err = rc;
    return NULL;
}

static void s_link_close(struct coord_link *link)
{
    if (link->sock)
        zmq_close(link->sock);
    if (link->monitor)
        zmq_close(link->monitor);
    free(link->acked);
    free(link->endpoint);
    explicit_bzero(&link->curve_keys, sizeof link->curve_keys);
    memset(link, 0, sizeof *link);
}

void dtx_participant_destroy(dtx_participant_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_participant_t *self = *self_p;
    dtx_sdk_signals_forget(&self->stop);
    for (int i = 0; i < self->nlinks; i++) {
        s_link_close(self->links[i]);
        free(self->links[i]);
    }
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    free(self->links);
    free(self->items);
    free(self->resources);
    free(self->buf);
    free(self->curve_env_file);
    explicit_bzero(&self->curve, sizeof self->curve);
    free(self);
    *self_p = NULL;
}

int dtx_participant_set_curve(dtx_participant_t *self, const char *key_file)
{
    assert(self);
    dtx_curve_keys_t keys;
    if (key_file) {
        char who[DTX_NAME_SIZE + 16];
        snprintf(who, sizeof who, "instance=%s", self->instance);
        if (dtx_sdk_curve_load(key_file, who, &keys) != 0)
            return DTX_ECONFIG;
    }
    /* An explicit choice, file or plain, replaces the environment's. */
    free(self->curve_env_file);
    self->curve_env_file = NULL;
    explicit_bzero(&self->curve, sizeof self->curve);
    self->curve_on = key_file != NULL;
    if (key_file) {
        self->curve = keys;
        explicit_bzero(&keys, sizeof keys);
    }
    return DTX_OK;
}

/* The heartbeat interval used with link: ours, or the coordinator's when
 * it asked for a shorter one (it expires instances by its own interval),
 * never outside the bounds of participant_timing.h. */
static int s_interval(const dtx_participant_t *self, const struct coord_link *link)
{
    return dtx_participant_link_interval(self->heartbeat_ms, link->coordinator_hb_ms);
}

/* Starts a registration round on link: every resource is (re)sent. */
static void s_round_start(dtx_participant_t *self, struct coord_link *link, int64_t now)
{
    link->pending = 1;
    /* The first acknowledgement of the round names the coordinator; a
     * restarted one then does not cause a second round. */
    link->coordinator[0] = '\0';
    link->next_resource = 0;
    link->registered = 0;
    link->last_round_ms = now;
    link->refusal_logged = 0;
    if (link->acked)
        memset(link->acked, 0, (size_t)self->resources_cap);
}

/* Encodes msg (with a fresh corr unless it is a reply) and sends it on
 * link without blocking. Returns 0, DTX_ETIMEOUT when there is no
 * connection to send on, DTX_EIO when the socket failed, or DTX_EINTERNAL
 * when msg does not encode (logged; callers drop the message). */
static int s_send(dtx_participant_t *self, struct coord_link *link, dtx_msg_t *msg)
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
    if (zmq_send(link->sock, out, len, ZMQ_DONTWAIT) >= 0)
        return DTX_OK;
    if (errno == EAGAIN || errno == EINTR)
        return DTX_ETIMEOUT;
    dtx_log_error("cannot send to coordinator", "endpoint=%s type=%s error=\"%s\"",
                  link->endpoint, dtx_msg_type_name(msg->type), zmq_strerror(errno));
    return DTX_EIO;
}

/* Sends what is left of a pending registration round. */
static int s_round_flush(dtx_participant_t *self, struct coord_link *link)
{
    while (link->pending && link->next_resource < self->nresources) {
        dtx_msg_t msg = { .type = DTX_MSG_REGISTER };
        dtx_name_copy(msg.instance, self->instance);
        dtx_name_copy(msg.resource, self->resources[link->next_resource].name);
        int rc = s_send(self, link, &msg);
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
static int s_link_open(dtx_participant_t *self, struct coord_link *link)
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
    if (!monitor || zmq_setsockopt(monitor, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(monitor, monitor_ep) != 0)
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
    link->monitor = monitor;
    link->connected = 0;
    return DTX_OK;

err:
    if (sock)
        zmq_close(sock);
    if (monitor)
        zmq_close(monitor);
    return rc;
}

int dtx_participant_connect(dtx_participant_t *self, const char *endpoint)
{
    assert(self);
    if (!endpoint || !*endpoint)
        return DTX_EINVAL;

    if (self->curve_env_file) {
        char who[DTX_NAME_SIZE + 16];
        snprintf(who, sizeof who, "instance=%s", self->instance);
        if (dtx_sdk_curve_load(self->curve_env_file, who, &self->curve) != 0)
            return DTX_ECONFIG;
        free(self->curve_env_file);
        self->curve_env_file = NULL;
        self->curve_on = 1;
    }

    struct coord_link **links = realloc(self->links, (size_t)(self->nlinks + 1) * sizeof *links);
    if (!links)
        return DTX_ENOMEM;
    self->links = links;
    zmq_pollitem_t *items = realloc(self->items, (size_t)(self->nlinks + 1) * 2 * sizeof *items);
    if (!items)
        return DTX_ENOMEM;
    self->items = items;

    struct coord_link *link = calloc(1, sizeof *link);
    if (!link)
        return DTX_ENOMEM;
    int rc = DTX_ENOMEM;
    link->endpoint = strdup(endpoint);
    link->version = dtx_sdk_proto_version();
    link->acked = calloc((size_t)(self->resources_cap > 0 ? self->resources_cap : 1), 1);
    if (!link->endpoint || !link->acked)
        goto err;

    if (self->curve_on) {
        link->curve = 1;
        link->curve_keys = self->curve;
    }
    rc = s_link_open(self, link);
    if (rc != 0)
        goto err;

    int64_t now = dtx_clock_mono_ms();
    s_round_start(self, link, now);
    link->last_ok_ms = now;
    link->next_heartbeat_ms = now + self->heartbeat_ms;
    self->links[self->nlinks++] = link;
    dtx_log_info("coordinator added", "instance=%s endpoint=%s curve=%s", self->instance,
                 endpoint, link->curve ? "on" : "off");
    return DTX_OK;

err:
    s_link_close(link);
    free(link);
    return rc;
}

/* Finds resource, adding an entry without handlers when it is not served
 * yet (*added is then 1: every coordinator must hear of it). Returns the
 * index, or DTX_ENOMEM. */
static int s_resource_entry(dtx_participant_t *self, const char *resource, int *added)
{
    *added = 0;
    for (int i = 0; i < self->nresources; i++)
        if (strcmp(self->resources[i].name, resource) == 0)
            return i;

    if (self->nresources == self->resources_cap) {
        int cap = self->resources_cap ? self->resources_cap * 2 : 4;
        struct served_resource *res = realloc(self->resources, (size_t)cap * sizeof *res);
        if (!res)
            return DTX_ENOMEM;
        self->resources = res;
        for (int i = 0; i < self->nlinks; i++) {
            uint8_t *acked = realloc(self->links[i]->acked, (size_t)cap);
            if (!acked)
                return DTX_ENOMEM; /* resources_cap unchanged: arrays stay consistent */
            memset(acked + self->resources_cap, 0, (size_t)(cap - self->resources_cap));
            self->links[i]->acked = acked;
        }
        self->resources_cap = cap;
    }
    struct served_resource *r = &self->resources[self->nresources];
    memset(r, 0, sizeof *r);
    dtx_name_copy(r->name, resource);
    *added = 1;
    return self->nresources++;
}

/* A new resource is registered with every coordinator; handlers added to
 * a resource already served need no new registration. */
static void s_resource_added(dtx_participant_t *self)
{
    int64_t now = dtx_clock_mono_ms();
    for (int i = 0; i < self->nlinks; i++)
        s_round_start(self, self->links[i], now);
}

int dtx_participant_serve(dtx_participant_t *self, const char *resource,
                          const dtx_tcc_handlers_t *handlers)
{
    assert(self);
    if (!resource || !dtx_name_valid(resource) || !handlers || !handlers->on_try ||
        !handlers->on_confirm || !handlers->on_cancel)
        return DTX_EINVAL;
    for (int i = 0; i < self->nresources; i++)
        if (strcmp(self->resources[i].name, resource) == 0 && self->resources[i].tcc.on_try)
            return DTX_EINVAL;
    int added;
    int i = s_resource_entry(self, resource, &added);
    if (i < 0)
        return i;
    self->resources[i].tcc = *handlers;
    if (added)
        s_resource_added(self);
    return DTX_OK;
}

int dtx_participant_serve_2pc(dtx_participant_t *self, const char *resource,
                              const dtx_2pc_handlers_t *handlers)
{
    assert(self);
    if (!resource || !dtx_name_valid(resource) || !handlers || !handlers->on_prepare ||
        !handlers->on_commit || !handlers->on_abort)
        return DTX_EINVAL;
    for (int i = 0; i < self->nresources; i++)
        if (strcmp(self->resources[i].name, resource) == 0 &&
            self->resources[i].twopc.on_prepare)
            return DTX_EINVAL;
    int added;
    int i = s_resource_entry(self, resource, &added);
    if (i < 0)
        return i;
    self->resources[i].twopc = *handlers;
    if (added)
        s_resource_added(self);
    return DTX_OK;
}

int dtx_participant_serve_saga(dtx_participant_t *self, const char *resource,
                               const dtx_saga_handlers_t *handlers)
{
    assert(self);
    if (!resource || !dtx_name_valid(resource) || !handlers || !handlers->on_action ||
        !handlers->on_compensate)
        return DTX_EINVAL;
    for (int i = 0; i < self->nresources; i++)
        if (strcmp(self->resources[i].name, resource) == 0 && self->resources[i].saga.on_action)
            return DTX_EINVAL;
    int added;
    int i = s_resource_entry(self, resource, &added);
    if (i < 0)
        return i;
    self->resources[i].saga = *handlers;
    if (added)
        s_resource_added(self);
    return DTX_OK;
}

int dtx_participant_serve_tmsg(dtx_participant_t *self, const char *resource,
                               const dtx_tmsg_handlers_t *handlers)
{
    assert(self);
    if (!resource || !dtx_name_valid(resource) || !handlers ||
        (!handlers->on_deliver && !handlers->on_query_prepared))
        return DTX_EINVAL;
    for (int i = 0; i < self->nresources; i++)
        if (strcmp(self->resources[i].name, resource) == 0 &&
            (self->resources[i].tmsg.on_deliver || self->resources[i].tmsg.on_query_prepared))
            return DTX_EINVAL;
    int added;
    int i = s_resource_entry(self, resource, &added);
    if (i < 0)
        return i;
    self->resources[i].tmsg = *handlers;
    if (added)
        s_resource_added(self);
    return DTX_OK;
}

void dtx_participant_set_heartbeat(dtx_participant_t *self, int interval_ms)
{
    assert(self);
    self->heartbeat_ms = dtx_participant_own_interval(interval_ms);
    int64_t now = dtx_clock_mono_ms();
    for (int i = 0; i < self->nlinks; i++)
        if (self->links[i]->next_heartbeat_ms > now + s_interval(self, self->links[i]))
            self->links[i]->next_heartbeat_ms = now + s_interval(self, self->links[i]);
}

void dtx_participant_stop(dtx_participant_t *self)
{
    if (self)
        atomic_store_explicit(&self->stop, 1, memory_order_release);
}

int dtx_participant_stop_on_signals(dtx_participant_t *self)
{
    assert(self);
    return dtx_sdk_signals_watch(&self->stop);
}

void dtx_participant_set_ready(dtx_participant_t *self, dtx_ready_fn on_ready, void *arg)
{
    assert(self);
    self->on_ready = on_ready;
    self->ready_arg = arg;
    self->ready_pending = on_ready != NULL;
}

static int s_link_registered(const dtx_participant_t *self, const struct coord_link *link,
                             int64_t now)
{
    return link->registered &&
           now - link->last_ok_ms < (int64_t)DTX_STALE_INTERVALS * s_interval(self, link);
}

int dtx_participant_registered(const dtx_participant_t *self)
{
    if (!self)
        return 0;
    int64_t now = dtx_clock_mono_ms();
    int n = 0;
    for (int i = 0; i < self->nlinks; i++)
        n += s_link_registered(self, self->links[i], now);
    return n;
}

/* The index of resource name in self->resources, or -1 (an index, not an
 * error code) when it is not served. */
static int s_find_resource(const dtx_participant_t *self, const char *name)
{
    for (int i = 0; i < self->nresources; i++)
        if (strcmp(self->resources[i].name, name) == 0)
            return i;
    return -1;
}

/* Notes which coordinator answers on link. Returns 1 when it is not the
 * one that acknowledged us before (a restart, or another instance behind
 * the endpoint): a new registration round has then been started. */
static int s_note_coordinator(dtx_participant_t *self, struct coord_link *link, int64_t now)
{
    const char *name = self->msg.coordinator;
    link->last_ok_ms = now;
    if (link->coordinator[0] && strcmp(link->coordinator, name) != 0) {
        dtx_log_info("coordinator changed, registering again",
                     "instance=%s endpoint=%s was=%s now=%s",
                     self->instance, link->endpoint, link->coordinator, name);
        dtx_name_copy(link->coordinator, name);
        s_round_start(self, link, now);
        return 1;
    }
    if (!link->coordinator[0])
        dtx_name_copy(link->coordinator, name);
    return 0;
}

static void s_on_register_ok(dtx_participant_t *self, struct coord_link *link, int64_t now)
{
    if (s_note_coordinator(self, link, now))
        return;
    if (self->msg.heartbeat_ms != link->coordinator_hb_ms &&
        self->msg.heartbeat_ms > 0 &&
        (self->msg.heartbeat_ms < DTX_HEARTBEAT_MIN_MS || self->msg.heartbeat_ms > DTX_HEARTBEAT_MAX_MS))
        dtx_log_warn("coordinator heartbeat interval out of bounds, clamped",
                     "instance=%s endpoint=%s asked_ms=%u used_ms=%d min_ms=%d max_ms=%d",
                     self->instance, link->endpoint, (unsigned)self->msg.heartbeat_ms,
                     dtx_participant_link_interval(self->heartbeat_ms, self->msg.heartbeat_ms),
                     DTX_HEARTBEAT_MIN_MS, DTX_HEARTBEAT_MAX_MS);
    link->coordinator_hb_ms = self->msg.heartbeat_ms;
    int i = s_find_resource(self, self->msg.resource);
    if (i < 0) {
        dtx_log_warn("registration acknowledged for a resource not served",
                     "instance=%s endpoint=%s resource=%s",
                     self->instance, link->endpoint, self->msg.resource);
        return;
    }
    link->acked[i] = 1;
    link->refused = 0;
    if (link->registered || link->pending)
        return;
    for (int r = 0; r < self->nresources; r++)
        if (!link->acked[r])
            return;
    link->registered = 1;
    dtx_log_info("registered", "instance=%s endpoint=%s coordinator=%s resources=%d",
                 self->instance, link->endpoint, link->coordinator, self->nresources);
}

/* The coordinator's text made safe for a key="value" log field: no quote,
 * backslash or control character can end the field or the line. */
static void s_log_text(char *out, size_t cap, const char *text)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && n + 1 < cap; p++)
        out[n++] = (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\') ? '?' : (char)*p;
    out[n] = '\0';
}

static int s_in_range(uint64_t corr, uint64_t first, uint64_t last)
{
    return last != 0 && (int64_t)(corr - first) >= 0 && (int64_t)(corr - last) <= 0;
}

/* corr is that of a REGISTER of the latest two rounds (a round may start
 * while the answers to the one before are on their way): an ERROR with it
 * answers a registration attempt. Corrs of 0 mean "no such round yet". */
static int s_answers_round(const struct coord_link *link, uint64_t corr)
{
    return s_in_range(corr, link->round_corr, link->round_last_corr) ||
           s_in_range(corr, link->prev_round_corr, link->prev_round_last_corr);
}

static void s_on_error(dtx_participant_t *self, struct coord_link *link, int64_t now)
{
    const dtx_msg_t *m = &self->msg;
    if (m->code == (uint32_t)-DTX_EUNREGISTERED) {
        /* Nothing new when a round is already on its way, when this
         * answers a message sent before the latest round, when a round
         * started less than an interval ago, or when the coordinator
         * refused our registration: the silence timer sends the next
         * round then (a coordinator refusing registration must not make
         * us spin). */
        if (link->pending || link->refused || (int64_t)(m->corr - link->round_corr) < 0 ||
            now - link->last_round_ms < s_interval(self, link))
            return;
        dtx_log_info("coordinator does not know this instance, registering again",
                     "instance=%s endpoint=%s", self->instance, link->endpoint);
        s_round_start(self, link, now);
        return;
    }
    if (m->code == (uint32_t)-DTX_EVERSION && link->version > DTX_PROTO_V1 &&
        s_answers_round(link, m->corr)) {
        /* A coordinator that speaks only version 1 did not act on our
         * REGISTER: register again in version 1 (its PHASEs carry no
         * trace then). */
        dtx_log_info("coordinator speaks protocol version 1 only: using it (no trace context)",
                     "instance=%s endpoint=%s", self->instance, link->endpoint);
        link->version = DTX_PROTO_V1;
        s_round_start(self, link, now);
        return;
    }
    char text[DTX_TEXT_MAX + 1];
    s_log_text(text, sizeof text, m->text);
    if (s_answers_round(link, m->corr)) {
        /* One line per round, however many resources it registered. */
        link->refused = 1;
        link->registered = 0;
        if (!link->refusal_logged)
            dtx_log_error("coordinator refused registration",
                          "instance=%s endpoint=%s code=%u error=\"%s\" reason=\"%s\"",
                          self->instance, link->endpoint, (unsigned)m->code,
                          dtx_strerror(-(int)m->code), text);
        link->refusal_logged = 1;
        return;
    }
    dtx_log_warn("coordinator reported an error",
                 "instance=%s endpoint=%s code=%u error=\"%s\" reason=\"%s\"",
                 self->instance, link->endpoint, (unsigned)m->code, dtx_strerror(-(int)m->code),
                 text);
}

/* A handler's dtx_call_t and what dtx_call_traceparent reads beside it
 * (dtx_call_t's layout is part of the ABI: new per-call data lives here,
 * behind accessors). */
#define S_CALL_MAGIC 0x64747863u /* "dtxc": a call this file made */
typedef struct {
    dtx_call_t  call;         /* first: a handler's pointer is this struct's */
    uint32_t    magic;        /* S_CALL_MAGIC */
    const char *traceparent;  /* the PHASE's, "" none */
} s_traced_call_t;

const char *dtx_call_traceparent(const dtx_call_t *call)
{
    assert(call);
    const s_traced_call_t *t = (const s_traced_call_t *)(const void *)call;
    assert(t->magic == S_CALL_MAGIC); /* a handler's call, not a copy */
    return t->traceparent;
}

/* Runs the handler of a PHASE and answers it. */
static int s_on_phase(dtx_participant_t *self, struct coord_link *link)
{
    const dtx_msg_t *m = &self->msg;
    int outcome = DTX_OUTCOME_FAILED;
    int i = s_find_resource(self, m->resource);
    dtx_handler_fn fn = NULL;
    void *arg = NULL;
    if (i >= 0) {
        const struct served_resource *r = &self->resources[i];
        switch (m->op) {
        case DTX_OP_TRY:     fn = r->tcc.on_try;       arg = r->tcc.arg;   break;
        case DTX_OP_CONFIRM: fn = r->tcc.on_confirm;   arg = r->tcc.arg;   break;
        case DTX_OP_CANCEL:  fn = r->tcc.on_cancel;    arg = r->tcc.arg;   break;
        case DTX_OP_PREPARE: fn = r->twopc.on_prepare; arg = r->twopc.arg; break;
        case DTX_OP_COMMIT:  fn = r->twopc.on_commit;  arg = r->twopc.arg; break;
        case DTX_OP_ABORT:   fn = r->twopc.on_abort;   arg = r->twopc.arg; break;
        case DTX_OP_ACTION:  fn = r->saga.on_action;   arg = r->saga.arg;  break;
        case DTX_OP_COMPENSATE: fn = r->saga.on_compensate; arg = r->saga.arg; break;
        case DTX_OP_DELIVER: fn = r->tmsg.on_deliver;  arg = r->tmsg.arg;  break;
        case DTX_OP_QUERY_PREPARED: fn = r->tmsg.on_query_prepared; arg = r->tmsg.arg; break;
        default:             break;
        }
    }
    if (i < 0) {
        dtx_log_warn("phase for a resource not served", "gid=%s branch=%u op=%s resource=%s",
                     m->gid, (unsigned)m->branch, dtx_op_name(m->op), m->resource);
    } else if (!fn) {
        dtx_log_warn("phase with an op the resource has no handler for",
                     "gid=%s branch=%u op=%s resource=%s",
                     m->gid, (unsigned)m->branch, dtx_op_name(m->op), m->resource);
    } else {
        const s_traced_call_t call = {
            .call = {
                .gid = m->gid,
                .branch = m->branch,
                .attempt = m->attempt,
                .op = m->op,
                .resource = m->resource,
                .action = m->action,
                .payload = m->payload,
                .payload_len = m->payload_len,
                .deadline_ms = m->deadline_ms,
            },
            .magic = S_CALL_MAGIC,
            .traceparent = m->traceparent,
        };
        int rc = fn(&call.call, arg);
        if (rc == DTX_OK)
            outcome = DTX_OUTCOME_OK;
        else if (rc == DTX_EREFUSED &&
                 (m->op == DTX_OP_TRY || m->op == DTX_OP_PREPARE || m->op == DTX_OP_ACTION ||
                  m->op == DTX_OP_QUERY_PREPARED)) /* QUERY_PREPARED: rolled back */
            outcome = DTX_OUTCOME_REFUSED;
        if (outcome == DTX_OUTCOME_FAILED && rc == DTX_EDB) {
            /* The database is down: every phase fails alike until it is
             * back; one line per DTX_DB_FAIL_LOG_MS with the count. */
            int64_t now = dtx_clock_mono_ms();
            self->db_failures++;
            if (!self->db_failure_logged_ms || now - self->db_failure_logged_ms >= DTX_DB_FAIL_LOG_MS) {
                dtx_log_warn("handler failed: database unavailable, phase answered failed "
                             "(the coordinator retries)",
                             "gid=%s branch=%u op=%s resource=%s failures=%u", m->gid,
                             (unsigned)m->branch, dtx_op_name(m->op), m->resource,
                             self->db_failures);
                self->db_failure_logged_ms = now;
                self->db_failures = 0;
            }
        } else if (outcome == DTX_OUTCOME_FAILED)
            dtx_log_warn("handler failed", "gid=%s branch=%u op=%s attempt=%u resource=%s error=\"%s\"",
                         m->gid, (unsigned)m->branch, dtx_op_name(m->op),
                         (unsigned)m->attempt, m->resource, dtx_strerror(rc));
        else
            dtx_log_debug("phase handled", "gid=%s branch=%u op=%s attempt=%u resource=%s outcome=%d",
                          m->gid, (unsigned)m->branch, dtx_op_name(m->op),
                          (unsigned)m->attempt, m->resource, outcome);
    }

    dtx_msg_t reply = {
        .type = DTX_MSG_PHASE_REPLY,
        .corr = m->corr,
        .branch = m->branch,
        .op = m->op,
        .attempt = m->attempt,
        .outcome = (uint8_t)outcome,
    };
    memcpy(reply.gid, m->gid, sizeof reply.gid);
    int rc = s_send(self, link, &reply);
    if (rc == DTX_ETIMEOUT) {
        /* Disconnected meanwhile: the coordinator delivers the phase again. */
        dtx_log_warn("phase reply not sent, no connection", "gid=%s branch=%u op=%s endpoint=%s",
                     m->gid, (unsigned)m->branch, dtx_op_name(m->op), link->endpoint);
        return DTX_OK;
    }
    return rc == DTX_EIO ? DTX_EIO : DTX_OK;
}

/* Reads and handles what link has received (bounded, so that one busy
 * coordinator cannot starve the others or the timers). */
static int s_link_drain(dtx_participant_t *self, struct coord_link *link)
{
    char why[128];
    for (int n = 0; n < DTX_DRAIN_MAX; n++) {
        size_t len = 0;
        int rc = dtx_sdk_recv_frame(link->sock, self->buf, DTX_MSG_MAX, &len);
        if (rc == DTX_ETIMEOUT)
            return DTX_OK;
        if (rc == DTX_EIO) {
            dtx_log_error("cannot receive from coordinator", "instance=%s endpoint=%s error=\"%s\"",
                          self->instance, link->endpoint, zmq_strerror(errno));
            return DTX_EIO;
        }
        if (rc == 0)
            rc = dtx_msg_decode(&self->msg, self->buf, len, why, sizeof why);
        else
            snprintf(why, sizeof why, "%s", dtx_sdk_recv_refusal(rc));
        if (rc != 0) {
            dtx_log_warn("malformed message dropped", "instance=%s endpoint=%s error=\"%s\"",
                         self->instance, link->endpoint, why);
            continue;
        }
        int64_t now = dtx_clock_mono_ms();
        switch (self->msg.type) {
        case DTX_MSG_PHASE:
            if (s_on_phase(self, link) == DTX_EIO)
                return DTX_EIO;
            break;
        case DTX_MSG_REGISTER_OK:
            s_on_register_ok(self, link, now);
            break;
        case DTX_MSG_HEARTBEAT_OK:
            s_note_coordinator(self, link, now);
            break;
        case DTX_MSG_ERROR:
            s_on_error(self, link, now);
            break;
        default:
            dtx_log_warn("unexpected message dropped", "instance=%s endpoint=%s type=%s",
                         self->instance, link->endpoint, dtx_msg_type_name(self->msg.type));
            break;
        }
    }
    return DTX_OK;
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
        link->reopen_ms = now + (int64_t)DTX_STALE_INTERVALS * s_interval(self, link);
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
static void s_link_events(dtx_participant_t *self, struct coord_link *link, int64_t now)
{
    for (;;) {
        uint8_t ev[6];
        int n = zmq_recv(link->monitor, ev, sizeof ev, ZMQ_DONTWAIT);
        if (n < 0)
            return;
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
                s_round_start(self, link, now);
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
                    link->reopen_ms = now + (int64_t)DTX_STALE_INTERVALS * s_interval(self, link);
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
static int64_t s_timers(dtx_participant_t *self, int64_t now, int *rc)
{
    int64_t next = INT64_MAX;
    *rc = DTX_OK;
    for (int i = 0; i < self->nlinks; i++) {
        struct coord_link *link = self->links[i];
        int64_t interval = s_interval(self, link);
        if (link->reopen_ms && now >= link->reopen_ms) {
            /* Kept on failure: the old socket stays and we try later. */
            if (link->dropped)
                dtx_log_warn("connection to coordinator ended for good (a frame over the size "
                             "limit or a protocol error); connecting again",
                             "instance=%s endpoint=%s", self->instance, link->endpoint);
            if (s_link_open(self, link) == 0) {
                link->reopen_ms = 0;
                link->dropped = 0;
                dtx_log_debug("connecting to coordinator again", "instance=%s endpoint=%s",
                              self->instance, link->endpoint);
                s_round_start(self, link, now);
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
            s_round_start(self, link, now);
            last = now;
        }
        if (link->pending && (*rc = s_round_flush(self, link)) != 0)
            return now;
        if (now >= link->next_heartbeat_ms) {
            dtx_msg_t hb = { .type = DTX_MSG_HEARTBEAT };
            dtx_name_copy(hb.instance, self->instance);
            int sent = s_send(self, link, &hb);
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

int dtx_participant_poll(dtx_participant_t *self, int timeout_ms)
{
    assert(self);
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : dtx_clock_mono_ms() + timeout_ms;
    for (;;) {
        if (atomic_exchange_explicit(&self->stop, 0, memory_order_acquire)) {
            return DTX_OK;
        }
        int64_t now = dtx_clock_mono_ms();
        int rc;
        int64_t wake = s_timers(self, now, &rc);
        if (rc != 0)
            return rc;
        if (wake > deadline)
            wake = deadline;
        if (wake > now + DTX_STOP_CHECK_MS)
            wake = now + DTX_STOP_CHECK_MS;
        long wait = wake > now ? (long)(wake - now) : 0;

        /* A handler may add a link while we walk them: only the links
         * polled now are looked at. */
        int polled = self->nlinks;
        for (int i = 0; i < polled; i++) {
            self->items[2 * i] = (zmq_pollitem_t){
                .socket = self->links[i]->sock,
                .events = (short)(ZMQ_POLLIN | (self->links[i]->pending ? ZMQ_POLLOUT : 0)),
            };
            self->items[2 * i + 1] = (zmq_pollitem_t){
                .socket = self->links[i]->monitor, .events = ZMQ_POLLIN,
            };
        }
        int n = zmq_poll(self->items, 2 * polled, wait);
        if (n < 0 && errno != EINTR) {
            dtx_log_error("poll failed", "instance=%s error=\"%s\"", self->instance,
                          zmq_strerror(errno));
            return DTX_EIO;
        }
        now = dtx_clock_mono_ms();
        for (int i = 0; n > 0 && i < polled; i++) {
            if (self->items[2 * i + 1].revents & ZMQ_POLLIN)
                s_link_events(self, self->links[i], now);
            if ((self->items[2 * i].revents & ZMQ_POLLIN) &&
                s_link_drain(self, self->links[i]) != 0)
                return DTX_EIO;
        }
        if (self->ready_pending && self->nlinks > 0 &&
            dtx_participant_registered(self) == self->nlinks) {
            self->ready_pending = 0;
            if ((rc = self->on_ready(self, self->ready_arg)) < 0)
                return rc;
        }
        if (now >= deadline)
            return DTX_OK;
    }
}

int dtx_participant_run(dtx_participant_t *self)
{
    return dtx_participant_poll(self, -1);
}
