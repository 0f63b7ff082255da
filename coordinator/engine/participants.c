/*
 * participants.c — the participant side of the coordinator's socket:
 * REGISTER (an instance serves a resource; calls waiting for that resource
 * go at once), HEARTBEAT (liveness; an unknown instance is told to
 * register again) and the periodic expiry of silent instances. The
 * bookkeeping itself is registry.c; phase calls are driver.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "coord.h"
#include "core/peerrate.h"
#include "dtx/clock.h"
#include "dtx/log.h"
#include "core/txn.h"
#include "outbox.h"
#include "driver.h"
#include "participants.h"
#include "core/txntable.h"

typedef struct {
    dtx_coord_t *co;
    const char  *resource;
} s_wake_t;

static void s_wake_resource(dtx_txn_t *txn, void *arg)
{
    dtx_coord_t *co = ((s_wake_t *)arg)->co;
    const char *resource = ((s_wake_t *)arg)->resource;
    if (txn->dead || txn->loading)
        return;
    int64_t now = dtx_clock_mono_ms();
    int woke = 0;
    for (int i = 0; i < txn->nbranches; i++) {
        dtx_branch_t *br = txn->branches[i];
        if (!br->inflight && !br->writing && br->due_ms > now && br->state != DTX_BRANCH_CONFIRMED && br->state != DTX_BRANCH_CANCELLED &&
            strcmp(br->resource, resource) == 0) {
            br->due_ms = now;
            woke = 1;
        }
    }
    if (woke)
        dtx_driver_reschedule(co, txn);
}

void dtx_participants_on_register(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                            const dtx_msg_t *msg)
{
    int64_t now = dtx_clock_mono_ms(), retry = 0;
    if (!dtx_auth_resource_ok(id, msg->resource)) {
        dtx_outbox_refuse_access(co, peer,
                                 id->roles & DTX_ROLE_PARTICIPANT ? DTX_DENY_RESOURCE
                                                                  : DTX_DENY_ROLE,
                                 "this key may not serve resource %s (see the allow-list)",
                                 msg->resource);
        return;
    }
    if (dtx_peerrate_take(co->rates, peer->rid, peer->rid_len, DTX_PEERRATE_REGISTER, now,
                          &retry) != 0) {
        dtx_outbox_refuse_limit(co, peer, DTX_LIMIT_REGISTRATIONS,
                                "more than %lld registrations per second (max-registrations): "
                                "retry after %lld ms",
                                (long long)co->cfg.max_registrations, (long long)retry);
        return;
    }
    const dtx_instance_t *held = dtx_registry_find_name(co->registry, msg->instance);
    if (co->cfg.max_instances > 0 && !dtx_registry_find(co->registry, peer->rid, peer->rid_len) &&
        !(held && strcmp(held->owner, id->owner) == 0) && /* replaces its own entry */
        dtx_registry_instances(co->registry) >= co->cfg.max_instances) {
        dtx_outbox_refuse_limit(co, peer, DTX_LIMIT_INSTANCES,
                                "%lld participant connections already (max-instances): retry "
                                "after %d ms", (long long)co->cfg.max_instances,
                                DTX_RETRY_AFTER_MS);
        return;
    }
    int fresh = 0, err = 0;
    uint64_t replaced = 0;
    dtx_instance_t *in = dtx_registry_register(co->registry, peer->rid, peer->rid_len,
                                               msg->instance, msg->resource, id->owner,
                                               (int)co->cfg.max_resources, now, &fresh, &replaced,
                                               &err);
    if (!in) {
        if (err == DTX_EACCES) {
            dtx_outbox_refuse_access(co, peer, DTX_DENY_INSTANCE,
                                     "instance name %s is held by another live connection%s",
                                     msg->instance,
                                     co->auth_on ? " of another key" : " (or this connection "
                                                   "registered another name)");
        } else if (err == DTX_ELIMIT) {
            dtx_outbox_refuse_limit(co, peer, DTX_LIMIT_RESOURCES,
                                    "instance %s serves %lld resources already (max-resources)",
                                    msg->instance, (long long)co->cfg.max_resources);
        } else {
            dtx_outbox_error(co, peer, err ? err : DTX_ENOMEM,
                             "could not register instance %s", msg->instance);
        }
        return;
    }
    if (replaced)
        dtx_log_info("participant reconnected: the old connection is replaced", "instance=%s",
                     msg->instance);
    /* Its PHASEs go in the version it registered with (protocol.md §15):
     * a version-1 participant never sees an extension. */
    in->version = peer->version ? peer->version : DTX_PROTO_V1;
    /* Its PHASEs go in BUNDLEs only while its latest REGISTER asks for
     * them (protocol.md §20.2). */
    in->bundle = (uint8_t)(in->version >= DTX_PROTO_V2 && msg->bundle && co->cfg.bundle);
    dtx_log_info("participant registered", "instance=%s resource=%s version=%u bundle=%u",
                 msg->instance, msg->resource, in->version, in->bundle);
    dtx_msg_t out;
    memset(&out, 0, sizeof out);
    out.type = DTX_MSG_REGISTER_OK;
    out.corr = peer->corr;
    strcpy(out.resource, msg->resource);
    out.heartbeat_ms = (uint32_t)co->cfg.heartbeat_ms;
    snprintf(out.coordinator, sizeof out.coordinator, "%.63s", co->cfg.node_id);
    out.bundle = (uint8_t)co->cfg.bundle; /* we accept BUNDLEs of replies (dropped in v1) */
    dtx_outbox_reply(co, peer, &out);
    /* Calls waiting for this resource go now. Only a resource that had no
     * live instance can have calls waiting for one: the walk over every
     * transaction is not paid for every registration. */
    if (fresh) {
        s_wake_t wake = {co, msg->resource};
        dtx_txn_each(co->txns, s_wake_resource, &wake);
    }
}

void dtx_participants_on_heartbeat(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                             const dtx_msg_t *msg)
{
    dtx_instance_t *in = dtx_registry_find(co->registry, peer->rid, peer->rid_len);
    if (!in || strcmp(in->name, msg->instance) != 0 || strcmp(in->owner, id->owner) != 0) {
        /* A heartbeat keeps alive only the instance of its own connection. */
        dtx_outbox_error(co, peer, DTX_EUNREGISTERED,
                         "instance %s is not registered on this connection; send REGISTER",
                         msg->instance);
        return;
    }
    in->last_seen_ms = dtx_clock_mono_ms();
    dtx_msg_t out;
    memset(&out, 0, sizeof out);
    out.type = DTX_MSG_HEARTBEAT_OK;
    out.corr = peer->corr;
    snprintf(out.coordinator, sizeof out.coordinator, "%.63s", co->cfg.node_id);
    dtx_outbox_reply(co, peer, &out);
}

void dtx_participants_tick(dtx_coord_t *co, int64_t now)
{
    if (now < co->next_expire_ms)
        return;
    co->next_expire_ms = now + co->cfg.heartbeat_ms;
    int n = dtx_registry_expire(co->registry, now, 3 * co->cfg.heartbeat_ms);
    if (n > 0)
        dtx_log_warn("participant instances expired", "count=%d", n);
}

/* --- revocation after a reload --- */

typedef struct {
    dtx_coord_t *co;
    uint64_t    *serials;
    int          n, cap;
} s_revoke_t;

static void s_revoke_visit(const char *resource, const dtx_instance_t *in, void *arg)
{
    s_revoke_t *rv = arg;
    if (dtx_auth_owner_may_serve(rv->co->auth, in->owner, resource))
        return;
    for (int i = 0; i < rv->n; i++)
        if (rv->serials[i] == in->serial)
            return;
    if (rv->n == rv->cap) {
        int ncap = rv->cap ? rv->cap * 2 : 16;
        uint64_t *ns = realloc(rv->serials, (size_t)ncap * sizeof *ns);
        if (!ns)
            return; /* dropped at its next reload or expiry */
        rv->serials = ns;
        rv->cap = ncap;
    }
    rv->serials[rv->n++] = in->serial;
}

int dtx_participants_revoke(dtx_coord_t *co)
{
    if (!co->auth_on)
        return 0;
    s_revoke_t rv = { .co = co };
    dtx_registry_each(co->registry, s_revoke_visit, &rv);
    int dropped = 0;
    for (int i = 0; i < rv.n; i++) {
        dtx_instance_t *in = dtx_registry_find_serial(co->registry, rv.serials[i]);
        if (!in)
            continue;
        dtx_log_warn("participant instance revoked by the allow-list", "instance=%s", in->name);
        dropped += dtx_registry_drop(co->registry, in->rid, in->rid_len);
    }
    free(rv.serials);
    return dropped;
}
