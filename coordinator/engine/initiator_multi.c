/*
 * initiator_multi.c — TRY_MANY (docs/protocol.md §18): the Tries of up to
 * DTX_TRYMANY_MAX branches in one initiator request.
 *
 *   TRY_MANY ──► whole-request limits ──► n single TRYs, each with a
 *   (parked like    (max-branches,          virtual peer (DTX_PEER_MULTI,
 *    a TRY while     max-txn-payload,        corr = key << 8 | index)
 *    its txn is      max-payload: ERROR 22,      │ all submitted in one
 *    loading or      nothing written)            │ turn: one batch of the
 *    writing)                                    │ store, one commit
 *                                                ▼
 *                                  each answer (TRY_OK or ERROR) that the
 *                                  engine sends the virtual peer comes
 *                                  here (co->hooks.multi_reply) and fills
 *                                  that branch's outcome
 *                                                │ the last one
 *                                                ▼
 *                                  TRY_MANY_OK (or one ERROR when no
 *                                  branch got an outcome) to the requester
 *
 * The single TRY's code does every check and every write (initiator_try.c's
 * dtx_initiator_try through dtx_initiator_replay), so a branch of a TRY_MANY is
 * exactly a TRY: the same access rules, the same durability (its row is
 * committed before its Try leaves) and the same answers. What this file
 * adds: the limits checked for all n branches before any is submitted (so
 * a batch is refused whole, never half recorded), the n submissions in one
 * turn (dtx_store_submit queues them in the same pending batch of the
 * transaction's shard, which commits atomically: one log write), and the
 * collection of the n answers. One exception to "n single TRYs": on a
 * transaction BEGIN did not write (unlogged), the batch is its first
 * write and goes as a TCC_RUN's does (below: every branch's TRY made
 * first, then dtx_initiator_try_first, one statement with the global row
 * and its count), once the checks a TRY would make pass for all of them
 * (the sender's right, asked without answering: dtx_initiator_allowed;
 * the state; the limits above; the deadline there). A request that fails
 * one takes the n-TRYs path, so it is refused as before.
 *
 * TCC_RUN (docs/protocol.md §19) is a new transaction (initiator.c's BEGIN
 * checks, dtx_initiator_open) whose batch is a TRY_MANY's (the same
 * limits, the same answer) written in one statement: its global row with
 * branches = n and its n branch rows (initiator_try.c's
 * dtx_initiator_try_first, DTX_SQL_BRANCH_FIRST), so no update of the
 * global row counts them. With the commit flag the transaction is marked
 * preparing (core/txn.h): the global row carries the mark, the yes votes
 * stay in memory (driver_events.c) and the driver decides commit once
 * every branch voted yes (dtx_driver_prepared_check), writing the votes
 * with the decision; each branch's answer then comes from that decision
 * (driver.c's s_on_decide), so TRY_MANY_OK leaves only once the decision
 * is durable. The batch commits whole or not at all: it is recorded in
 * one statement or not at all (a branch that cannot be made refuses the
 * whole request), and the driver still decides abort should fewer
 * branches than the batch be known (txn->run_branches; verify/ checks it
 * as RUN_WHOLE).
 * A refused request leaves nothing: the unwritten transaction is dropped.
 *
 * A TCC_RUN with the initiator's gid (flag bit 1, docs/protocol.md §19.3)
 * whose gid the log holds already: the one statement inserts nothing
 * (ON CONFLICT (gid) DO NOTHING), initiator_try.c drops the copy in memory
 * and answers every branch DTX_COORD_ETAKEN, and the collector answers the
 * request as a COMMIT naming that gid (s_repeat). One whose gid is in
 * memory never gets here (initiator_handle.c turns it into that COMMIT).
 *
 * Invariants:
 *  - a collector (s_multi_t) lives from the request until its last branch
 *    is answered; it is found by key in co->multi (a hash table, so an
 *    answer finds it in one probe among thousands in flight), never by
 *    pointer, so a stray answer for a finished one is dropped, not a use
 *    after free;
 *  - left counts the answers still due, plus one while the branches are
 *    being submitted, so a branch answered at once (a refused check)
 *    cannot finish the request before the others are sent;
 *  - every branch is answered exactly once by the engine (its waiter, an
 *    error, or the eviction that drops its transaction).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "core/txn.h"
#include "core/txntable.h"
#include "driver.h"
#include "dtx/log.h"
#include "dtx/trymany.h"
#include "initiator.h"
#include "initiator_internal.h"
#include "initiator_multi.h"
#include "initiator_request.h"
#include "outbox.h"

typedef struct s_multi {
    struct s_multi        *hnext;         /* chain in co->multi */
    uint64_t               key;
    dtx_peer_t             peer;          /* the requester */
    char                   gid[DTX_NAME_SIZE];
    int                    left;          /* answers still due (+1 while submitting) */
    int                    seen;          /* the state the last TRY_OK gave; 0 none */
    int                    keyed;         /* a TCC_RUN whose gid is the initiator's */
    unsigned               roles;         /* the requester's, for a repeat (keyed) */
    char                   principal[DTX_OWNER_SIZE];
    dtx_trymany_outcomes_t out;
} s_multi_t;

/* Keys are consecutive: a multiplicative hash spreads them over the
 * buckets. */
static uint64_t s_hash_key(uint64_t key)
{
    return key * 0x9E3779B97F4A7C15ull;
}

static uint64_t s_hash(const void *elem)
{
    return s_hash_key(((const s_multi_t *)elem)->key);
}

static s_multi_t *s_find(dtx_coord_t *co, uint64_t key)
{
    for (s_multi_t *m = dtx_hashtab_head(&co->multi, s_hash_key(key)); m;
         m = dtx_hashtab_next(&co->multi, m))
        if (m->key == key)
            return m;
    return NULL;
}

static void s_unlink(dtx_coord_t *co, s_multi_t *m)
{
    dtx_hashtab_remove(&co->multi, m);
}

/* A keyed TCC_RUN whose gid the log held already (every branch answered
 * DTX_COORD_ETAKEN, the copy in memory dropped): it goes on as the COMMIT a
 * repeat is, as if that had arrived now (co->hooks.initiator_request:
 * initiator_handle.c finds or loads the transaction, without taking it
 * from a live node, and parks or runs the request; initiator.c's checks
 * answer it). Frees m. */
static void s_repeat(dtx_coord_t *co, s_multi_t *m)
{
    if (co->stop) {
        dtx_outbox_error(co, &m->peer, DTX_EUNKNOWN, "coordinator stopping (gid %s): repeat "
                         "the request", m->gid);
    } else {
        dtx_ident_t id = { .roles = m->roles };
        memcpy(id.principal, m->principal, sizeof id.principal);
        dtx_msg_t as;
        dtx_request_repeat_msg(&as, m->peer.version, m->peer.corr, m->gid);
        dtx_log_debug("tcc run repeated", "gid=%s in=log", m->gid);
        co->hooks.initiator_request(co, &m->peer, &id, &as);
    }
    free(m);
}

/* Every branch answered: one reply to the requester. */
static void s_finish(dtx_coord_t *co, s_multi_t *m)
{
    s_unlink(co, m);
    if (m->keyed && m->out.n > 0 && m->out.o[0].code == DTX_COORD_ETAKEN) {
        s_repeat(co, m); /* all of them: one write, one answer each */
        return;
    }
    int ran = 0, unknown = -1;
    for (int i = 0; i < m->out.n; i++) {
        if (m->out.o[i].code == 0)
            ran++;
        else if (m->out.o[i].code == (uint32_t)-DTX_EUNKNOWN && unknown < 0)
            unknown = i;
    }
    if (!ran) {
        /* Refused as a whole (every branch got the same check), or every
         * branch failed before its Try: one ERROR, as a TRY gets it. */
        int i = unknown >= 0 ? unknown : 0;
        dtx_outbox_error(co, &m->peer, -(int)m->out.o[i].code, "%s%s", m->out.n > 1 && unknown >= 0
                         ? "a branch's outcome is unknown: " : "", m->out.o[i].text);
        free(m);
        return;
    }
    dtx_txn_t *txn = dtx_txn_find(co->txns, m->gid);
    uint8_t blob[1 + DTX_TRYMANY_MAX * (10 + DTX_TEXT_MAX)];
    size_t len = 0;
    if (dtx_trymany_outcomes_encode(&m->out, blob, sizeof blob, &len) != 0) {
        dtx_outbox_error(co, &m->peer, DTX_EINTERNAL, "could not encode the outcomes of %s",
                         m->gid);
        free(m);
        return;
    }
    dtx_msg_t out;
    memset(&out, 0, sizeof out);
    out.type = DTX_MSG_TRY_MANY_OK;
    strcpy(out.gid, m->gid);
    out.state = (uint8_t)(txn && !txn->dead ? txn->state : m->seen);
    out.payload = blob;
    out.payload_len = (uint32_t)len;
    dtx_outbox_reply(co, &m->peer, &out);
    free(m);
}

/* co->hooks.multi_reply: the engine's answer to one branch. */
static void s_on_reply(dtx_coord_t *co, uint64_t corr, const dtx_msg_t *msg)
{
    s_multi_t *m = s_find(co, corr >> 8);
    unsigned i = (unsigned)(corr & 0xff);
    if (!m || i >= m->out.n) {
        dtx_log_warn("answer for a finished try-many dropped", "type=%s",
                     dtx_msg_type_name(msg->type));
        return;
    }
    dtx_trymany_outcome_t *o = &m->out.o[i];
    memset(o, 0, sizeof *o);
    if (msg->type == DTX_MSG_TRY_OK) {
        o->branch = msg->branch;
        o->outcome = msg->outcome;
        m->seen = msg->state;
    } else {
        o->outcome = DTX_OUTCOME_FAILED;
        o->code = msg->type == DTX_MSG_ERROR && msg->code ? msg->code
                                                          : (uint32_t)-DTX_EINTERNAL;
        snprintf(o->text, sizeof o->text, "%s",
                 msg->type == DTX_MSG_ERROR && msg->text[0] ? msg->text : "unexpected answer");
    }
    if (--m->left == 0)
        s_finish(co, m);
}

/* The limits of a TRY, for the n branches together (initiator_try.c's dtx_initiator_try
 * checks them again for each). 0, or refused (answered). */
static int s_limits(dtx_coord_t *co, dtx_txn_t *txn, const dtx_request_t *req,
                    const dtx_trymany_t *b)
{
    int64_t bytes = 0;
    for (int i = 0; i < b->n; i++)
        bytes += b->items[i].payload_len;
    if (co->cfg.max_branches > 0 &&
        txn->nbranches + txn->pending_branches + b->n > co->cfg.max_branches) {
        dtx_outbox_refuse_limit(co, &req->peer, DTX_LIMIT_BRANCHES,
                  "transaction %s has %d branches; %d more would pass max-branches (%lld)",
                  txn->gid, txn->nbranches + txn->pending_branches, b->n,
                  (long long)co->cfg.max_branches);
        return DTX_ELIMIT;
    }
    if (co->cfg.max_txn_payload > 0 &&
        txn->payload_bytes + txn->pending_payload + bytes > co->cfg.max_txn_payload) {
        dtx_outbox_refuse_limit(co, &req->peer, DTX_LIMIT_TXN_PAYLOAD,
                  "transaction %s would hold more than %lld payload bytes (max-txn-payload)",
                  txn->gid, (long long)co->cfg.max_txn_payload);
        return DTX_ELIMIT;
    }
    if (co->cfg.max_payload > 0 &&
        dtx_txn_payload_total(co->txns) + co->try_payload_inflight + bytes > co->cfg.max_payload) {
        dtx_outbox_refuse_limit(co, &req->peer, DTX_LIMIT_PAYLOAD,
                  "payload in memory at its limit (max-payload %lld bytes): retry after %d ms",
                  (long long)co->cfg.max_payload, DTX_RETRY_AFTER_MS);
        return DTX_ELIMIT;
    }
    return 0;
}

/* The collector of req's n answers (left: n, plus one while submitting),
 * linked in co->multi; NULL when out of memory (req answered). */
static s_multi_t *s_multi_new(dtx_coord_t *co, const dtx_txn_t *txn, const dtx_request_t *req,
                              int n)
{
    s_multi_t *m = calloc(1, sizeof *m);
    if (!m) {
        dtx_outbox_error(co, &req->peer, DTX_ENOMEM, "out of memory");
        return NULL;
    }
    m->key = ++co->next_multi;
    m->peer = req->peer;
    m->keyed = txn->keyed;
    m->roles = req->roles;
    memcpy(m->principal, req->principal, sizeof m->principal);
    strcpy(m->gid, txn->gid);
    m->out.n = n;
    m->left = n + 1;
    dtx_hashtab_insert(&co->multi, m);
    return m;
}

/* Branch i of req (item it) as a TRY of its own, answered to the
 * collector key's virtual peer. NULL on ENOMEM. */
static dtx_request_t *s_sub_new(const dtx_txn_t *txn, const dtx_request_t *req,
                                const dtx_trymany_item_t *it, uint64_t key, int i)
{
    dtx_request_t *sub = calloc(1, sizeof *sub);
    if (sub && it->payload_len && !(sub->payload = malloc(it->payload_len))) {
        free(sub);
        sub = NULL;
    }
    if (!sub)
        return NULL;
    sub->peer.kind = DTX_PEER_MULTI;
    sub->peer.corr = key << 8 | (uint64_t)i;
    sub->peer.version = req->peer.version;
    sub->roles = req->roles;
    memcpy(sub->principal, req->principal, sizeof sub->principal);
    sub->type = DTX_MSG_TRY;
    sub->reloaded = req->reloaded;
    strcpy(sub->gid, txn->gid);
    strcpy(sub->resource, it->resource);
    strcpy(sub->action, it->action);
    if (it->payload_len)
        memcpy(sub->payload, it->payload, it->payload_len);
    sub->payload_len = it->payload_len;
    return sub;
}

/* The batch of req, decoded and within the limits (0), or refused
 * (answered). */
static int s_batch(dtx_coord_t *co, dtx_txn_t *txn, const dtx_request_t *req, dtx_trymany_t *b)
{
    char why[160];
    if (dtx_trymany_decode(b, req->payload, req->payload_len, why, sizeof why) != 0) {
        /* The codec checked it already; kept as a guard. */
        dtx_outbox_error(co, &req->peer, DTX_EPROTO, "TRY_MANY: %s", why);
        return DTX_EPROTO;
    }
    return s_limits(co, txn, req, b);
}

/* Every branch of collector key was submitted: drop the +1 that kept it
 * open meanwhile (it may be gone already: all answered at once). */
static void s_submitted(dtx_coord_t *co, uint64_t key)
{
    s_multi_t *m = s_find(co, key);
    if (m && --m->left == 0)
        s_finish(co, m);
}

/* The batch b of req (a TRY_MANY; taken) as txn's first write, collected
 * by m: every branch's TRY made first, then all of them written in one
 * statement (dtx_initiator_try_first), so the batch is recorded whole or
 * not at all — one that cannot be made (out of memory) is refused whole,
 * nothing written. */
static void s_first(dtx_coord_t *co, dtx_txn_t *txn, dtx_request_t *req, const dtx_trymany_t *b,
                    s_multi_t *m)
{
    uint64_t key = m->key;
    dtx_request_t *subs = NULL, **tail = &subs;
    for (int i = 0; i < b->n; i++) {
        dtx_request_t *sub = s_sub_new(txn, req, &b->items[i], key, i);
        if (!sub) {
            dtx_outbox_error(co, &req->peer, DTX_ENOMEM, "out of memory");
            while (subs) {
                dtx_request_t *r = subs;
                subs = r->next;
                dtx_request_free(r);
            }
            s_unlink(co, m);
            free(m);
            dtx_request_free(req);
            return;
        }
        *tail = sub;
        tail = &sub->next;
    }
    dtx_log_debug("first write batch", "gid=%s branches=%d", req->gid, b->n);
    dtx_request_free(req);
    dtx_initiator_try_first(co, txn, subs); /* takes them; answers come later */
    s_submitted(co, key);
}

/* co->hooks.try_many: takes req (a TRY_MANY whose transaction is neither
 * loading nor writing). */
static void s_try_many(dtx_coord_t *co, dtx_txn_t *txn, dtx_request_t *req)
{
    dtx_trymany_t b; /* payloads point into req->payload, freed last */
    s_multi_t *m = NULL;
    if (s_batch(co, txn, req, &b) != 0 || !(m = s_multi_new(co, txn, req, b.n))) {
        dtx_request_free(req);
        return;
    }
    if (txn->unlogged && txn->state == DTX_STATE_ACTIVE && txn->owned &&
        (txn->mode == DTX_MODE_TCC || txn->mode == DTX_MODE_2PC) &&
        dtx_initiator_allowed(txn, req)) {
        /* BEGIN wrote nothing: the batch is the transaction's first
         * write, one statement with the global row (as a TCC_RUN's). A
         * branch's TRY would pass the same checks: the limits were
         * checked for the batch, its deadline is checked there. */
        s_first(co, txn, req, &b, m);
        return;
    }
    uint64_t key = m->key;
    dtx_txn_ref(txn);
    for (int i = 0; i < b.n; i++) {
        dtx_request_t *sub = s_sub_new(txn, req, &b.items[i], key, i);
        dtx_msg_t err;
        if (sub && txn->dead) {
            /* An earlier branch's answer dropped the transaction. */
            dtx_request_free(sub);
            sub = NULL;
            memset(&err, 0, sizeof err);
            err.type = DTX_MSG_ERROR;
            err.code = (uint32_t)-DTX_ESTATE;
            snprintf(err.text, sizeof err.text, "transaction %s left memory", m->gid);
            s_on_reply(co, key << 8 | (uint64_t)i, &err);
            continue;
        }
        if (!sub) {
            memset(&err, 0, sizeof err);
            err.type = DTX_MSG_ERROR;
            err.code = (uint32_t)-DTX_ENOMEM;
            strcpy(err.text, "out of memory");
            s_on_reply(co, key << 8 | (uint64_t)i, &err);
            continue;
        }
        dtx_initiator_replay(co, txn, sub); /* takes sub; answers come later */
    }
    dtx_txn_unref(txn);
    dtx_log_debug("try-many", "gid=%s branches=%d", req->gid, b.n);
    dtx_request_free(req);
    s_submitted(co, key);
}

/* A TCC_RUN's batch (req, a TRY_MANY of txn, just opened; taken). */
static void s_run(dtx_coord_t *co, dtx_txn_t *txn, dtx_request_t *req)
{
    dtx_trymany_t b; /* payloads point into req->payload, freed last */
    s_multi_t *m = NULL;
    if (s_batch(co, txn, req, &b) != 0 || !(m = s_multi_new(co, txn, req, b.n))) {
        dtx_request_free(req);
        return;
    }
    s_first(co, txn, req, &b, m);
}

/* --- TCC_RUN --- */

void dtx_multi_tcc_run(dtx_coord_t *co, const dtx_peer_t *peer, const dtx_ident_t *id,
                       const dtx_msg_t *msg)
{
    dtx_txn_t *txn = dtx_initiator_open(co, peer, id, msg, DTX_MODE_TCC);
    if (!txn)
        return; /* refused and answered: nothing kept */
    /* The batch runs as this transaction's TRY_MANY. */
    dtx_request_t *req = dtx_request_new(peer, id, msg);
    if (!req) {
        dtx_outbox_error(co, peer, DTX_ENOMEM, "out of memory");
        dtx_outbox_drop(co, txn, 0, NULL);
        return;
    }
    req->type = DTX_MSG_TRY_MANY;
    strcpy(req->gid, txn->gid);
    if (msg->flags & DTX_TCC_RUN_COMMIT) {
        /* The decision is this coordinator's: the branch rows carry the
         * mark (one that loads them ACTIVE aborts), the yes votes stay in
         * memory and are written with the commit decision. */
        dtx_txn_set_preparing(txn, 1);
        txn->run = 1;
        txn->run_branches = msg->payload_len ? msg->payload[0] : 0; /* the codec checked it */
    }
    dtx_log_debug("tcc run", "gid=%s commit=%d trace=%.32s", txn->gid,
                  !!(msg->flags & DTX_TCC_RUN_COMMIT), DTX_TXN_TRACE(txn));
    dtx_txn_ref(txn);
    s_run(co, txn, req); /* takes req; answers once */
    if (!txn->dead && txn->unlogged) {
        /* Refused before its write was submitted (a limit, a check, its
         * deadline, out of memory): nothing was written, nothing is
         * kept. */
        dtx_outbox_drop(co, txn, 0, NULL);
    } else if (!txn->dead) {
        dtx_driver_reschedule(co, txn); /* its deadline */
    }
    dtx_txn_unref(txn);
}

int dtx_multi_init(dtx_coord_t *co)
{
    co->hooks.try_many = s_try_many;
    co->hooks.multi_reply = s_on_reply;
    return dtx_hashtab_init(&co->multi, offsetof(s_multi_t, hnext), s_hash, 256);
}

static void s_free_one(void *elem, void *arg)
{
    dtx_hashtab_remove(arg, elem);
    free(elem);
}

void dtx_multi_fini(dtx_coord_t *co)
{
    if (co->multi.buckets)
        dtx_hashtab_each(&co->multi, s_free_one, &co->multi);
    dtx_hashtab_fini(&co->multi);
}
