/*
 * admin_actions.c — operator actions on one transaction, each recorded in
 * dtx_audit (who, what, why, when, result) before it runs and completed
 * with its result before the operator is answered.
 *
 *   POST /api/v1/transactions/{gid}/{action}   {"reason": "...", "operator": "..."}
 *
 * Every action goes through the engine and its state machine (txn.h); the
 * table says what each one does from each state (everything else: 409):
 *
 *   action          state                               does
 *   retry           committing / aborting               every pending branch due now
 *                                                       (loaded first when not in memory)
 *   force-commit    active, every branch voted yes      COMMIT
 *                   committing                          as retry
 *                   stuck with decision commit          RESUME
 *                   committed                           nothing (200)
 *   force-rollback  active                              ROLLBACK
 *                   aborting / aborted                  nothing (200)
 *                   stuck with decision abort           RESUME
 *   resume          stuck                               RESUME (back to its decision)
 *                   committing/aborting/final           nothing (200, the engine says where it is)
 *
 * A force commit never turns into an abort: with a branch whose vote is
 * missing or no it is refused. The votes are read from the engine's own
 * copy when this node holds the transaction (then the check and the COMMIT
 * run in the same loop turn), else from the log. A transaction being
 * driven by another live coordinator cannot be retried here: 409 names
 * the owner.
 *
 * Flow: [audit insert, read of the transaction] in one admin batch ->
 * decide -> engine (or done) -> audit update -> answer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"
#include "engine/auth.h"
#include "dtx/clock.h"
#include "dtx/log.h"
#include "core/txn.h"
#include "engine/initiator.h"
#include "engine/driver.h"
#include "engine/recovery.h"
#include "core/txntable.h"

static const char *s_action_name(int action)
{
    switch (action) {
    case DTX_ACT_RETRY: return "retry";
    case DTX_ACT_FORCE_COMMIT: return "force-commit";
    case DTX_ACT_FORCE_ROLLBACK: return "force-rollback";
    default: return "resume";
    }
}

/* --- finishing: audit update, then the answer --- */

static void s_on_audit_end(void *p, int rc, const PGresult *res)
{
    int status = 0;
    (void)res;
    dtx_admin_req_t *r = dtx_admin_cb_take(p, &status);
    if (!r)
        return;
    json_object *o = r->parts[0];
    r->parts[0] = NULL;
    if (rc != 0)
        json_object_object_add(o, "audit_warning",
                               json_object_new_string("the action ran but its result could not "
                                                      "be recorded in the audit log"));
    dtx_admin_respond(r, status, o);
}

/* Records the outcome and answers. state may be 0 (unknown). */
static void s_finish(dtx_admin_req_t *r, int status, int state, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void s_finish(dtx_admin_req_t *r, int status, int state, const char *fmt, ...)
{
    char detail[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    const char *result = status < 300 ? "ok" : status < 500 ? "refused" : "failed";
    dtx_log_info("operator action", "gid=%s action=%s actor=%s result=%s status=%d", r->gid,
                 s_action_name(r->op), r->actor ? r->actor : "-", result, status);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "gid", json_object_new_string(r->gid));
    json_object_object_add(o, "action", json_object_new_string(s_action_name(r->op)));
    json_object_object_add(o, "result", json_object_new_string(result));
    json_object_object_add(o, "state", state ? json_object_new_string(dtx_state_name(state)) : NULL);
    json_object_object_add(o, "detail", json_object_new_string(detail));
    json_object_object_add(o, "audit_id", json_object_new_int64(r->audit_id));
    if (status >= 400) {
        json_object_object_add(o, "error", json_object_new_string(detail));
        json_object_object_add(o, "code", json_object_new_string(status == 404   ? "not_found"
                                                                 : status == 409 ? "conflict"
                                                                                 : "unavailable"));
    }
    if (r->parts[0])
        json_object_put(r->parts[0]);
    r->parts[0] = o;
    char id[24], st[8];
    snprintf(id, sizeof id, "%lld", r->audit_id);
    snprintf(st, sizeof st, "%d", status);
    const char *v[4] = { id, result, detail, st };
    dtx_admin_submit(r, DTX_ASQL_AUDIT_END, 4, v, s_on_audit_end, status);
}

/* --- the engine's answer --- */

void dtx_admin_action_reply(dtx_admin_req_t *r, const dtx_msg_t *msg)
{
    if (msg->type == DTX_MSG_ERROR) {
        int err = -(int)msg->code;
        s_finish(r, dtx_admin_http_status(err), 0, "%s", msg->text);
        return;
    }
    if (msg->type != DTX_MSG_STATE) {
        s_finish(r, 500, 0, "unexpected engine reply %s", dtx_msg_type_name(msg->type));
        return;
    }
    int st = msg->state;
    if (r->op == DTX_ACT_FORCE_COMMIT && st != DTX_STATE_COMMITTING && st != DTX_STATE_COMMITTED)
        s_finish(r, 409, st, "the engine did not commit: the transaction is %s",
                 dtx_state_name(st));
    else if (r->op == DTX_ACT_FORCE_ROLLBACK && st != DTX_STATE_ABORTING &&
             st != DTX_STATE_ABORTED)
        s_finish(r, 409, st, "the engine did not roll back: the transaction is %s",
                 dtx_state_name(st));
    else
        s_finish(r, 200, st, "%s", r->op == DTX_ACT_RETRY ? "loaded and driven now" : "done");
}

static void s_engine(dtx_admin_req_t *r, int type)
{
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = (uint8_t)type;
    snprintf(m.gid, sizeof m.gid, "%s", r->gid);
    dtx_admin_engine(r, &m, dtx_admin_action_reply);
}

/* --- retry now --- */

static void s_retry(dtx_admin_req_t *r, const PGresult *g)
{
    dtx_coord_t *co = r->admin->co;
    int state = atoi(PQgetvalue(g, 0, DTX_AG_STATE));
    if (state != DTX_STATE_COMMITTING && state != DTX_STATE_ABORTING) {
        s_finish(r, 409, state, "transaction %s is %s: %s", r->gid, dtx_state_name(state),
                 state == DTX_STATE_STUCK    ? "resume it instead"
                 : state == DTX_STATE_ACTIVE ? "nothing is pending retry until it is decided"
                                             : "it is finished");
        return;
    }
    dtx_txn_t *txn = dtx_txn_find(co->txns, r->gid);
    if (txn) {
        if (txn->loading || txn->writing || !txn->owned) {
            s_finish(r, 200, txn->state, "already being driven on this node");
            return;
        }
        int64_t now = dtx_clock_mono_ms();
        int woke = 0;
        for (int i = 0; i < txn->nbranches; i++) {
            dtx_branch_t *br = txn->branches[i];
            int final = br->state == DTX_BRANCH_CONFIRMED || br->state == DTX_BRANCH_CANCELLED;
            if (!final && !br->inflight && !br->writing && br->due_ms > now) {
                br->due_ms = now;
                woke++;
            }
        }
        dtx_driver_reschedule(co, txn);
        s_finish(r, 200, txn->state, "%d branch(es) due now", woke);
        return;
    }
    const char *owner = PQgetvalue(g, 0, DTX_AG_OWNER);
    int mine = strcmp(owner, co->cfg.node_id) == 0 &&
               strcmp(PQgetvalue(g, 0, DTX_AG_EPOCH), co->epoch_str) == 0;
    if (!mine && PQgetvalue(g, 0, DTX_AG_OWNER_ALIVE)[0] == 't') {
        s_finish(r, 409, state, "transaction %s is driven by coordinator %s; retry it there",
                 r->gid, owner);
        return;
    }
    /* Not in memory: load it (claimed when its owner is dead) and it is
     * driven at once; the parked STATUS answers when the load is done. */
    txn = dtx_recovery_load(co, r->gid, 0, NULL);
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_STATUS;
    snprintf(m.gid, sizeof m.gid, "%s", r->gid);
    dtx_peer_t peer;
    memset(&peer, 0, sizeof peer);
    peer.kind = DTX_PEER_HTTP;
    peer.corr = r->handle;
    dtx_ident_t id;
    dtx_auth_http_ident(&id);
    if (!txn || dtx_initiator_park(co, txn, &peer, &id, &m) != 0)
        s_finish(r, 500, state, "out of memory");
}

/* --- force commit / rollback --- */

/* A transactional message not decided yet is decided by its service (its
 * COMMIT or ROLLBACK, or its check-back's answer), never by an operator:
 * the answer is in the service's database, not here. 1 when r was answered
 * so. */
static int s_msg_undecided(dtx_admin_req_t *r, const PGresult *g)
{
    int state = atoi(PQgetvalue(g, 0, DTX_AG_STATE));
    int decision = atoi(PQgetvalue(g, 0, DTX_AG_DECISION));
    if (atoi(PQgetvalue(g, 0, DTX_AG_MODE)) != DTX_MODE_MSG ||
        !(state == DTX_STATE_ACTIVE || (state == DTX_STATE_STUCK && decision == DTX_STATE_ACTIVE)))
        return 0;
    s_finish(r, 409, state,
             "message %s is not decided yet: its service's submit or its check-back decides it "
             "(a stuck check-back: resume it to ask again)", r->gid);
    return 1;
}

static void s_force_commit(dtx_admin_req_t *r, const PGresult *g)
{
    dtx_coord_t *co = r->admin->co;
    if (s_msg_undecided(r, g))
        return;
    int state = atoi(PQgetvalue(g, 0, DTX_AG_STATE));
    int decision = atoi(PQgetvalue(g, 0, DTX_AG_DECISION));
    if (state == DTX_STATE_COMMITTED) {
        s_finish(r, 200, state, "already committed");
    } else if (state == DTX_STATE_COMMITTING) {
        s_retry(r, g);
    } else if (state == DTX_STATE_STUCK && decision == DTX_STATE_COMMITTING) {
        s_engine(r, DTX_MSG_RESUME);
    } else if (state == DTX_STATE_ACTIVE) {
        /* The votes the engine would count: its own copy when it has one,
         * else the log's (where 2PC's enlisted branches vote at COMMIT). */
        dtx_txn_votes_t votes = { 0, 0, 0, 0 };
        dtx_txn_t *txn = dtx_txn_find(co->txns, r->gid);
        if (txn && !txn->loading) {
            dtx_txn_votes(txn, &votes);
        } else {
            if (atoi(PQgetvalue(g, 0, DTX_AG_MODE)) == DTX_MODE_TCC)
                votes.trying = atoi(PQgetvalue(g, 0, DTX_AG_TRYING));
            votes.refused = atoi(PQgetvalue(g, 0, DTX_AG_REFUSED));
        }
        int next = 0;
        int rc = dtx_txn_next(state, DTX_EV_COMMIT, &votes, 0, &next);
        if (rc == DTX_EBUSY)
            s_finish(r, 409, state,
                     "%d branch(es) have no vote yet: wait for their votes, or roll back",
                     votes.trying);
        else if (rc == 0 && next == DTX_STATE_ABORTING && votes.refused)
            s_finish(r, 409, state, "%d branch(es) voted no: only a rollback is possible",
                     votes.refused);
        else if (rc == 0 && next == DTX_STATE_ABORTING)
            s_finish(r, 409, state,
                     "%d branch(es) lost their vote in a crash: only a rollback is possible",
                     votes.unknown);
        else
            s_engine(r, DTX_MSG_COMMIT);
    } else {
        s_finish(r, 409, state, "transaction %s is %s%s: it can no longer commit", r->gid,
                 dtx_state_name(state), state == DTX_STATE_STUCK ? " after an abort decision" : "");
    }
}

static void s_force_rollback(dtx_admin_req_t *r, const PGresult *g)
{
    if (s_msg_undecided(r, g))
        return;
    int state = atoi(PQgetvalue(g, 0, DTX_AG_STATE));
    int decision = atoi(PQgetvalue(g, 0, DTX_AG_DECISION));
    if (state == DTX_STATE_ABORTING || state == DTX_STATE_ABORTED)
        s_finish(r, 200, state, "already %s", dtx_state_name(state));
    else if (state == DTX_STATE_STUCK && decision == DTX_STATE_ABORTING)
        s_engine(r, DTX_MSG_RESUME);
    else if (state == DTX_STATE_ACTIVE)
        s_engine(r, DTX_MSG_ROLLBACK);
    else
        s_finish(r, 409, state, "transaction %s was decided commit: a rollback is no longer possible",
                 r->gid);
}

/* --- start --- */

static void s_on_state(void *p, int rc, const PGresult *res)
{
    dtx_admin_req_t *r = dtx_admin_cb_take(p, NULL);
    if (!r)
        return;
    if (rc != 0) {
        s_finish(r, 503, 0, "could not read the transaction log");
        return;
    }
    if (PQntuples(res) != 1) {
        /* Begun here, no branch yet: only this node's memory holds it (its
         * row goes to the log with its first branch or its decision). */
        dtx_txn_t *txn = dtx_txn_find(r->admin->co->txns, r->gid);
        if (!txn || !txn->unlogged || txn->dead)
            s_finish(r, 404, 0, "unknown transaction (gid %s)", r->gid);
        else if (r->op == DTX_ACT_FORCE_ROLLBACK || r->op == DTX_ACT_FORCE_COMMIT)
            s_engine(r, r->op == DTX_ACT_FORCE_COMMIT ? DTX_MSG_COMMIT : DTX_MSG_ROLLBACK);
        else if (r->op == DTX_ACT_RETRY)
            s_finish(r, 409, txn->state, "transaction %s is %s: %s", r->gid,
                     dtx_state_name(txn->state), "nothing is pending retry until it is decided");
        else
            s_engine(r, DTX_MSG_RESUME);
        return;
    }
    switch (r->op) {
    case DTX_ACT_RETRY:
        s_retry(r, res);
        break;
    case DTX_ACT_FORCE_COMMIT:
        s_force_commit(r, res);
        break;
    case DTX_ACT_FORCE_ROLLBACK:
        s_force_rollback(r, res);
        break;
    default:
        s_engine(r, DTX_MSG_RESUME);
    }
}

static void s_on_audit_begin(void *p, int rc, const PGresult *res)
{
    dtx_admin_req_t *r = dtx_admin_cb_take(p, NULL);
    if (!r)
        return;
    if (rc != 0 || PQntuples(res) != 1) {
        /* The read in the same batch fails too: nothing will be done. */
        dtx_admin_respond_error(r, 503, "could not record the action in the audit log; "
                                        "nothing was done");
        return;
    }
    r->audit_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
}

void dtx_admin_action(dtx_admin_req_t *r, int action)
{
    dtx_coord_t *co = r->admin->co;
    co->metrics.actions++;
    r->op = action;
    dtx_admin_action_body_t b;
    char err[256];
    int rc = dtx_admin_action_body_parse(r->body, r->body_len, &b, err, sizeof err);
    if (rc != 0) {
        if (rc == DTX_ENOMEM)
            dtx_admin_respond_error(r, 500, "out of memory");
        else
            dtx_admin_respond_error(r, 400, "%s", err);
        return;
    }
    memcpy(r->reason, b.reason, sizeof r->reason);
    memcpy(r->operator_name, b.operator_name, sizeof r->operator_name);
    const char *audit[6] = { r->gid, s_action_name(action), r->actor ? r->actor : "operator",
                             r->operator_name[0] ? r->operator_name : NULL, r->reason,
                             co->cfg.node_id };
    dtx_admin_submit(r, DTX_ASQL_AUDIT_BEGIN, 6, audit, s_on_audit_begin, 0);
    const char *g[1] = { r->gid };
    dtx_admin_submit(r, DTX_ASQL_GLOBAL, 1, g, s_on_state, 0);
}
