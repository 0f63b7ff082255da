/*
 * initiator_handle.c — where an initiator request comes in: the role check,
 * the cell check, STATUS (read from the log), loading a transaction not in
 * memory, the limits, and parking behind a load or write; then the
 * request's own code in initiator.c (through initiator_internal.h), which
 * never calls back here. Who may ask what: initiator.c's opening comment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "dtx/clock.h"
#include "core/cell.h"
#include "dtx/id.h"
#include "dtx/log.h"
#include "dtx/saga.h"
#include "dtx/trace.h"
#include "core/fault.h"
#include "core/txn.h"
#include "initiator.h"
#include "initiator_msg.h"
#include "initiator_multi.h"
#include "initiator_request.h"
#include "initiator_saga.h"
#include "driver.h"
#include "admit.h"
#include "outbox.h"
#include "recovery.h"
#include "log/sql.h"
#include "core/txntable.h"
#include "wctx.h"
#include "initiator_internal.h"

/* --- STATUS --- */

static void s_on_status(void *p, int rc, const PGresult *res)
{
    dtx_wctx_t w;
    dtx_wctx_take(p, &w); /* no transaction: always usable */
    dtx_coord_t *co = w.co;
    const dtx_peer_t *peer = &w.peer;
    dtx_request_t *req = w.req;
    if (rc != 0)
        dtx_outbox_error(co, peer, DTX_EDB, "could not read the transaction log");
    else if (PQntuples(res) != 1)
        dtx_outbox_error(co, peer, DTX_ENOTFOUND, "unknown transaction (gid %s)", req->gid);
    else {
        dtx_msg_t out;
        memset(&out, 0, sizeof out);
        out.type = DTX_MSG_STATE;
        out.corr = peer->corr;
        strcpy(out.gid, req->gid);
        out.state = (uint8_t)atoi(PQgetvalue(res, 0, 0));
        dtx_outbox_reply(co, peer, &out);
    }
    dtx_request_free(req);
}

static void s_status(dtx_coord_t *co, const dtx_peer_t *peer, const char *gid)
{
    dtx_wctx_t *w = dtx_wctx_get(co, NULL);
    dtx_request_t *req = w ? calloc(1, sizeof *req) : NULL;
    if (!req) {
        if (w)
            dtx_wctx_put(w);
        dtx_outbox_error(co, peer, DTX_ENOMEM, "out of memory");
        return;
    }
    strcpy(req->gid, gid);
    w->peer = *peer;
    w->req = req;
    const char *vals[1] = { gid };
    dtx_store_submit(co->store, dtx_id_hash(gid), DTX_SQL_STATUS, 1, vals, NULL, NULL,
                     s_on_status, w);
}

/* --- requests --- */

/* A TCC_RUN whose gid is the initiator's (flag bit 1) and names a
 * transaction in memory is a repeat: it starts nothing and is answered as
 * a COMMIT naming that gid (*as; 1). Otherwise 0: a new transaction (its
 * id found in the log at its write makes it a repeat then:
 * initiator_multi.c). */
static int s_run_repeat(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_msg_t *msg,
                        dtx_msg_t *as)
{
    if (!(msg->flags & DTX_TCC_RUN_GID))
        return 0;
    char gid[DTX_NAME_SIZE];
    if (dtx_admit_gid(co, peer, msg->gid, gid) != 0 || !dtx_txn_find(co->txns, gid))
        return 0;
    dtx_request_repeat_msg(as, msg->version, msg->corr, gid);
    memcpy(as->traceparent, msg->traceparent, sizeof as->traceparent);
    return 1;
}

void dtx_initiator_handle(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                    const dtx_msg_t *msg)
{
    if (msg->type == DTX_MSG_RESUME ? !(id->roles & DTX_ROLE_OPERATOR)
                                    : !(id->roles & (DTX_ROLE_INITIATOR | DTX_ROLE_OPERATOR))) {
        dtx_outbox_refuse_access(co, peer, DTX_DENY_ROLE, "%s needs the %s role%s", dtx_msg_type_name(msg->type),
                 msg->type == DTX_MSG_RESUME ? "operator" : "initiator",
                 msg->type == DTX_MSG_RESUME && !co->auth_on
                     ? " (a CURVE operator key, or the admin HTTP API)" : "");
        return;
    }
    if (msg->type == DTX_MSG_BEGIN) {
        dtx_initiator_begin(co, peer, id, msg);
        return;
    }
    if (msg->type == DTX_MSG_SAGA) {
        dtx_initiator_saga(co, peer, id, msg);
        return;
    }
    if (msg->type == DTX_MSG_TMSG) {
        dtx_initiator_tmsg(co, peer, id, msg);
        return;
    }
    dtx_msg_t repeat;
    if (msg->type == DTX_MSG_TCC_RUN) {
        if (!s_run_repeat(co, peer, msg, &repeat)) {
            dtx_multi_tcc_run(co, peer, id, msg);
            return;
        }
        dtx_log_debug("tcc run repeated", "gid=%s", repeat.gid);
        msg = &repeat; /* on as that COMMIT */
    }
    if (!dtx_cell_serves(co->cfg.cell, msg->gid)) {
        /* Another cell's log holds it: say which, so that the initiator
         * (or whoever routes for it) sends it there. */
        char cell[DTX_CELL_MAX + 1];
        dtx_cell_of(msg->gid, cell, sizeof cell);
        dtx_outbox_error(co, peer, DTX_ENOTFOUND,
                         "transaction %s belongs to cell %s; this is cell %s: send it to a "
                         "coordinator of cell %s", msg->gid, cell, co->cfg.cell, cell);
        return;
    }
    if (msg->type == DTX_MSG_STATUS) {
        /* From the log: another coordinator may have moved it on since
         * this one last held it, and memory never runs ahead of the log —
         * except for a transaction begun here that has no row yet. */
        dtx_txn_t *mem = dtx_txn_find(co->txns, msg->gid);
        if (mem && mem->unlogged && !mem->dead) {
            dtx_outbox_state(co, peer, mem);
            return;
        }
        s_status(co, peer, msg->gid);
        return;
    }
    dtx_txn_t *txn = dtx_txn_find(co->txns, msg->gid);
    if (!txn) {
        if (dtx_admit_new_txn(co, peer) != 0)
            return;
        /* Requests that change an active or stuck transaction may take it
         * from a live coordinator: the initiator came here (only its own
         * initiator, or an operator). A TCC_RUN's repeat changes nothing:
         * it never takes one (another node may be about to commit it). */
        txn = dtx_recovery_load(co, msg->gid, !dtx_request_is_repeat(msg),
                                id->roles & DTX_ROLE_OPERATOR ? NULL : id->principal);
        if (!txn) {
            dtx_outbox_error(co, peer, DTX_ENOMEM, "out of memory");
            return;
        }
    }
    if (!txn->loading) {
        /* Known already: another principal is refused now, not after it
         * took a parking place the initiator may need. */
        dtx_request_t who;
        dtx_request_init(&who, peer, id, msg);
        if (!dtx_initiator_may_change(co, txn, &who))
            return;
    }
    if ((msg->type == DTX_MSG_TRY || msg->type == DTX_MSG_TRY_MANY) && co->cfg.max_payload > 0 &&
        (txn->loading || txn->writing || txn->preparing) &&
        dtx_txn_payload_total(co->txns) + co->try_payload_inflight + (int64_t)msg->payload_len >
            co->cfg.max_payload) {
        dtx_outbox_refuse_limit(co, peer, DTX_LIMIT_PAYLOAD,
                  "payload in memory at its limit (max-payload %lld bytes): retry after %d ms",
                  (long long)co->cfg.max_payload, DTX_RETRY_AFTER_MS);
        return;
    }
    if (txn->loading || txn->writing || txn->preparing) {
        int rc = dtx_initiator_park(co, txn, peer, id, msg);
        if (rc == DTX_ELIMIT)
            dtx_outbox_refuse_limit(co, peer, DTX_LIMIT_PARKED,
                      "%d requests already wait on transaction %s: retry after %d ms",
                      DTX_PARKED_MAX, txn->gid, DTX_RETRY_AFTER_MS);
        else if (rc != 0)
            dtx_outbox_error(co, peer, DTX_ENOMEM, "out of memory");
        return;
    }
    if (msg->type != DTX_MSG_TRY && msg->type != DTX_MSG_TRY_MANY) {
        dtx_request_t req;
        dtx_request_init(&req, peer, id, msg);
        if (msg->type == DTX_MSG_RESUME)
            dtx_initiator_resume_request(co, txn, &req);
        else
            dtx_initiator_decide_request(co, txn, &req);
        return;
    }
    dtx_request_t *req = dtx_request_new(peer, id, msg);
    if (!req) {
        dtx_outbox_error(co, peer, DTX_ENOMEM, "out of memory");
        return;
    }
    if (msg->type == DTX_MSG_TRY_MANY)
        dtx_initiator_replay(co, txn, req);
    else
        dtx_initiator_try(co, txn, req);
}
