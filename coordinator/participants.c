/*
 * participants.c — the participant side of the coordinator's socket:
 * REGISTER (an instance serves a resource; calls waiting for that resource
 * go at once), HEARTBEAT (liveness; an unknown instance is told to
 * register again) and the periodic expiry of silent instances. The
 * bookkeeping itself is registry.c; phase calls are driver.c.
 */
#include <stdio.h>
#include <string.h>

#include "coord.h"
#include "dtx/clock.h"
#include "dtx/log.h"
#include "txn.h"

static void s_wake_resource(dtx_coord_t *co, dtx_txn_t *txn, void *arg)
{
    const char *resource = arg;
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

void dtx_driver_on_register(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_msg_t *msg)
{
    int fresh = 0;
    dtx_instance_t *in = dtx_registry_register(co->registry, peer->rid, peer->rid_len,
                                               msg->instance, msg->resource, dtx_clock_mono_ms(),
                                               &fresh);
    if (!in) {
        dtx_coord_reply_error(co, peer, DTX_ENOMEM, "could not register instance %s",
                              msg->instance);
        return;
    }
    dtx_log_info("participant registered", "instance=%s resource=%s", msg->instance,
                 msg->resource);
    dtx_msg_t out;
    memset(&out, 0, sizeof out);
    out.type = DTX_MSG_REGISTER_OK;
    out.corr = peer->corr;
    strcpy(out.resource, msg->resource);
    out.heartbeat_ms = (uint32_t)co->cfg.heartbeat_ms;
    snprintf(out.coordinator, sizeof out.coordinator, "%.63s", co->cfg.node_id);
    dtx_coord_reply(co, peer, &out);
    /* Calls waiting for this resource go now. */
    dtx_txn_each(co, s_wake_resource, (void *)msg->resource);
}

void dtx_driver_on_heartbeat(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_msg_t *msg)
{
    if (dtx_registry_touch(co->registry, peer->rid, peer->rid_len, dtx_clock_mono_ms()) != 0) {
        dtx_coord_reply_error(co, peer, DTX_EUNREGISTERED,
                              "instance %s is not registered here; send REGISTER", msg->instance);
        return;
    }
    dtx_msg_t out;
    memset(&out, 0, sizeof out);
    out.type = DTX_MSG_HEARTBEAT_OK;
    out.corr = peer->corr;
    snprintf(out.coordinator, sizeof out.coordinator, "%.63s", co->cfg.node_id);
    dtx_coord_reply(co, peer, &out);
}

void dtx_driver_tick(dtx_coord_t *co, int64_t now)
{
    if (now < co->next_expire_ms)
        return;
    co->next_expire_ms = now + co->cfg.heartbeat_ms;
    int n = dtx_registry_expire(co->registry, now, 3 * co->cfg.heartbeat_ms);
    if (n > 0)
        dtx_log_warn("participant instances expired", "count=%d", n);
}
