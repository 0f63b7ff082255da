/*
 * dtx/dtx.h — libdtx, the library services link to take part in dtx
 * distributed transactions. Read this file first.
 *
 * Two sides:
 *
 *  - Initiator (dtx_client_*): starts a global transaction, runs its
 *    branches (TRY on a named resource), then commits or rolls back.
 *
 *        dtx_client_t *c = dtx_client_new("tcp://127.0.0.1:7070", &err);
 *        char gid[DTX_GID_SIZE];
 *        dtx_client_begin(c, DTX_MODE_TCC, 30000, gid);
 *        dtx_try_result_t r;
 *        if (dtx_client_try(c, gid, "bank-a", "debit", p, n, &r) == 0 &&
 *            dtx_client_try(c, gid, "bank-b", "credit", q, m, &r) == 0)
 *            dtx_client_commit(c, gid, NULL);
 *        else
 *            dtx_client_rollback(c, gid, NULL);
 *        dtx_client_destroy(&c);
 *
 *  - Participant (dtx_participant_*, dtx/participant.h, included below):
 *    serves one or more named resources
 *    with Try/Confirm/Cancel callbacks (TCC), Prepare/Commit/Abort
 *    callbacks (2PC), or both. It connects out to every coordinator (no
 *    inbound port), registers, heartbeats and re-registers by itself after
 *    a coordinator restart.
 *
 *        dtx_participant_t *p = dtx_participant_new("bank-a-1", &err);
 *        dtx_participant_stop_on_signals(p);    // SIGTERM/SIGINT end run
 *        ...                                    // open your database
 *        dtx_tcc_handlers_t h = { on_try, on_confirm, on_cancel, db };
 *        dtx_participant_serve(p, "bank-a", &h);
 *        dtx_participant_connect(p, "tcp://127.0.0.1:7071");
 *        dtx_participant_set_ready(p, on_ready, NULL); // optional
 *        err = dtx_participant_run(p);          // 0 once stopped
 *        dtx_participant_destroy(&p);
 *
 * The two modes, as the initiator and the participant see them:
 *
 *   TCC (DTX_MODE_TCC)                   2PC (DTX_MODE_2PC)
 *   ----------------------------------   ----------------------------------
 *   TRY runs the participant's Try at    TRY only ENLISTS the branch: the
 *   once and returns its vote            coordinator records it and answers
 *                                        yes without calling anyone
 *   COMMIT: every vote was yes, so       COMMIT: Prepare runs on every
 *   Confirm runs on every branch         branch (with the TRY's payload);
 *                                        all yes -> Commit on every branch,
 *                                        any no -> Abort, DTX_EABORTED
 *   ROLLBACK / a no: Cancel              ROLLBACK / a no: Abort on every
 *                                        branch that may have prepared
 *
 * Delivery guarantees a participant must be written for:
 *  - Confirm and Cancel (Commit and Abort) are delivered AT LEAST ONCE
 *    (retried until acknowledged, also across coordinator restarts); Try
 *    and Prepare may be delivered more than once too;
 *  - Cancel (Abort) may arrive for a branch whose Try (Prepare) never
 *    arrived, and a Try (Prepare) may arrive after its Cancel (Abort).
 * dtx/barrier.h makes handlers safe against all three in one call;
 * dtx/pgres.h is a ready-made 2PC participant over PostgreSQL's PREPARE
 * TRANSACTION.
 *
 * Authentication (CurveZMQ): a coordinator started with CURVE credentials
 * talks only to peers that present a key pair it allows. Such a peer needs
 * a credentials file made by `dtxctl keygen FILE --server-key KEY` (its own
 * key pair and the coordinator's public key, mode 0600) and uses it through
 * dtx_client_new_curve / dtx_participant_set_curve, or, without changing
 * code, through the environment (as libpq reads PG* variables):
 *
 *     DTX_CURVE_KEY_FILE=/etc/bank-a/dtx.keys   when set and not empty,
 *         dtx_client_new and the connects of a dtx_participant_new'd
 *         participant use that file as if it had been given explicitly.
 *
 * A file that cannot be read, is group- or world-accessible, is malformed
 * or has no server-key is DTX_ECONFIG (logged with the reason), never a
 * silent fall back to plain ZeroMQ. Keys the coordinator refuses look like
 * an unreachable coordinator to a client (DTX_ENOTSENT; its next call
 * connects anew); a participant logs the refusal and tries again every 3
 * heartbeat intervals, so neither needs a restart once the coordinator
 * admits the key.
 *
 * Logging (dtx/logging.h, included here): the library writes nothing to
 * stderr or anywhere else on its own. It hands its lines (a refused
 * registration, a lost coordinator, a failed handler...) to the handler
 * the program sets, or drops them when none is set:
 *
 *     dtx_log_set_handler(dtx_log_stderr, "bank-a-1");  // or your logger
 *     dtx_log_set_level(DTX_LOG_WARN);                  // default: info
 *
 * Trace context (W3C traceparent, "00-<trace-id>-<parent-id>-<flags>"):
 * an initiator hands the trace of the request it serves to the coordinator
 * with dtx_client_set_traceparent before dtx_client_begin (the gateway does
 * it for its transactional routes); the coordinator records it with the
 * transaction (or makes one when none was set: dtx_client_traceparent
 * says which), logs its trace-id, and every phase carries it to the
 * participant's handler (dtx_call_traceparent). The library speaks
 * protocol version 2 for this, and version 1 with a coordinator that
 * speaks only that (no trace then); DTX_PROTO_VERSION=1 in the
 * environment makes it speak version 1 from the start.
 *
 * BUNDLEs (docs/protocol.md §20): a participant asks the coordinator for
 * several PHASEs in one frame and answers what it read in one pass of its
 * loop with one frame of replies (fewer CurveZMQ messages under load;
 * handlers run one PHASE at a time as before). DTX_BUNDLE=0 in the
 * environment turns both off.
 *
 * Errors: every function returns 0 (DTX_OK) or a negative DTX_E* code
 * (dtx/types.h); dtx_strerror() names it. A client call may also return
 * the code of an ERROR the coordinator sent (codes this library does not
 * know become DTX_EPROTO, as does a reply of the wrong type). Objects are
 * not thread-safe: use one per thread (dtx_participant_stop excepted).
 * Any client call may return, from the coordinator (docs/protocol.md §14):
 *   DTX_EACCES   this key may not do it: a role it lacks, or a transaction
 *                another initiator began (only it or an operator may TRY,
 *                COMMIT or ROLLBACK it);
 *   DTX_ELIMIT   over a limit of the coordinator; nothing was done, retry
 *                later (the logged text says which limit);
 *   DTX_EUNKNOWN the request may or may not have taken effect: ask
 *                dtx_client_status(); never re-run a try because of it.
 */
#ifndef DTX_DTX_H
#define DTX_DTX_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/logging.h"
#include "dtx/types.h"
#include "dtx/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the libdtx this program runs with ("1.2.0"; static
 * text). DTX_VERSION_STRING (dtx/version.h) is the one it was compiled
 * against. */
DTX_EXPORT const char *dtx_version(void);

/* ------------------------------------------------------------------ */
/* Initiator side                                                      */
/* ------------------------------------------------------------------ */

typedef struct dtx_client dtx_client_t;

/* Outcome of dtx_client_try(). */
typedef struct dtx_try_result {
    uint32_t branch;   /* branch number the coordinator gave this try */
    int      outcome;  /* DTX_OUTCOME_OK (vote yes) or _REFUSED / _FAILED */
    int      state;    /* global state after the try (DTX_STATE_*) */
} dtx_try_result_t;

/* Creates a client connected to the coordinator at endpoint (a ZeroMQ
 * endpoint such as "tcp://127.0.0.1:7070"). Returns NULL on failure and
 * stores the DTX_E* code in *err when err is not NULL: DTX_EINVAL for a
 * missing or malformed endpoint, DTX_ECONFIG for an unusable
 * DTX_CURVE_KEY_FILE (see the top of this file), DTX_ENOMEM, DTX_EIO. The
 * connection is made in the background: no error means only that the
 * endpoint was accepted. */
DTX_EXPORT dtx_client_t *dtx_client_new(const char *endpoint, int *err);

/* dtx_client_new with CurveZMQ: key_file is a credentials file written by
 * `dtxctl keygen` holding this peer's key pair and the coordinator's public
 * key (server-key); it is read once, here (the caller keeps its string).
 * NULL key_file behaves like dtx_client_new (DTX_CURVE_KEY_FILE included).
 * Errors as dtx_client_new's; DTX_ECONFIG for a missing, unreadable,
 * group/world-accessible or malformed file, or one without server-key. */
DTX_EXPORT dtx_client_t *dtx_client_new_curve(const char *endpoint, const char *key_file, int *err);

/* Destroys the client and sets *self_p to NULL. Safe on NULL. */
DTX_EXPORT void dtx_client_destroy(dtx_client_t **self_p);

/* How long each call waits for the coordinator's reply (default 30000 ms;
 * a value <= 0 restores the default). The budget covers waiting for a
 * connection too: requests are never queued for a coordinator that is not
 * connected. Every initiator call (dtx_client_begin, _try, _try_many,
 * _tcc_run, _commit, _rollback, _status, _resume, _saga_submit,
 * _tmsg_prepare ...) tells the two ways it can get no answer apart:
 *   DTX_ENOTSENT  the request never left: no connection within the
 *                 timeout, or the send failed. The coordinator saw
 *                 nothing, so the same call may be made again at once
 *                 (a TCC_RUN too: no transaction was begun).
 *   DTX_ETIMEOUT  the request left and no answer came in time: the
 *                 coordinator may have acted on it (ask
 *                 dtx_client_status() when there is a gid; see
 *                 dtx_client_tcc_run when there is none).
 * A reply that arrives after its call timed out is recognised by its corr
 * and dropped. */
DTX_EXPORT void dtx_client_set_timeout(dtx_client_t *self, int timeout_ms);

/* Sets the trace context this client's following dtx_client_begin and
 * dtx_client_try calls carry (copied), until set again: a version-00
 * traceparent, 55 characters of lower-case hex and dashes, neither id all
 * zeros. A program that serves requests sets it from each request (its
 * traceparent header, or a new one) before that request's BEGIN. NULL or
 * "" clears it: BEGIN then carries none and the coordinator starts a
 * trace of its own. Returns 0, or DTX_EINVAL for anything else (the
 * previous one stays). */
DTX_EXPORT int dtx_client_set_traceparent(dtx_client_t *self, const char *traceparent);

/* The traceparent the coordinator recorded for the transaction the last
 * successful dtx_client_begin began: the one set, or the one the
 * coordinator made. "" before any, after a failed begin, or when the
 * coordinator speaks only protocol version 1. Owned by the client; valid
 * until its next dtx_client_begin. Safe on NULL (""). */
DTX_EXPORT const char *dtx_client_traceparent(const dtx_client_t *self);

/* Starts a global transaction. mode is DTX_MODE_TCC or DTX_MODE_2PC (see
 * the table at the top of this file); timeout_ms is how long it may stay
 * active before the coordinator aborts it by itself (0 = the coordinator's
 * default); in 2PC it also bounds the prepare phase. Writes the gid (NUL-terminated) into gid_out
 * ("" on failure). A mode other than DTX_MODE_TCC / DTX_MODE_2PC is
 * DTX_EINVAL without asking (a version 1 coordinator treats an unknown mode
 * as a malformed frame: docs/protocol.md, error code 2).
 * Returns 0 or DTX_EINVAL, DTX_EDB, DTX_ENOTSENT, DTX_ETIMEOUT, DTX_EIO. */
DTX_EXPORT int dtx_client_begin(dtx_client_t *self, int mode, uint32_t timeout_ms,
                                char gid_out[DTX_GID_SIZE]);

/* Runs one branch: the coordinator records it durably, calls Try of
 * action on a live instance of resource with payload (0..DTX_PAYLOAD_MAX
 * bytes, copied), records the vote and returns it. In a 2PC transaction
 * the branch is only enlisted: the answer is 0 at once and the payload
 * goes to the participant's Prepare when the transaction commits.
 * Returns 0 when the participant voted yes; DTX_EREFUSED when it voted no
 * or failed — the coordinator has then already decided to abort the
 * transaction and cancels every branch (result->state says so);
 * DTX_ENOPARTICIPANT when no live instance of resource could be asked
 * within the coordinator's try timeout — the transaction was decided abort
 * too; DTX_ENOTFOUND, DTX_ESTATE (not active any more), DTX_EEXPIRED,
 * DTX_ENOTSENT (nothing left), DTX_ETIMEOUT, DTX_EIO, DTX_EDB, DTX_EUNKNOWN (ask
 * dtx_client_status), DTX_EACCES, DTX_ELIMIT otherwise; DTX_EINVAL
 * (nothing sent) for an invalid name or a payload over DTX_PAYLOAD_MAX.
 * result may be NULL; it is zeroed first and filled when a TRY_OK came. */
DTX_EXPORT int dtx_client_try(dtx_client_t *self, const char *gid, const char *resource,
                              const char *action, const void *payload, size_t payload_len,
                              dtx_try_result_t *result);

/* Asks the coordinator to commit. Returns 0 once the commit decision is
 * durable (confirms then run in the background until every branch has
 * acknowledged); DTX_EABORTED when the transaction had already been
 * decided abort (a refused try, a rollback or a passed deadline) or, in
 * 2PC, when a branch voted no (or did not answer) to Prepare;
 * DTX_EBUSY when a try is still running. *state_out (may be NULL) gets the
 * global state. Calling it again is safe. */
DTX_EXPORT int dtx_client_commit(dtx_client_t *self, const char *gid, int *state_out);

/* Asks the coordinator to roll back. Returns 0 once the abort decision is
 * durable (cancels run in the background); DTX_ESTATE when the
 * transaction was already decided commit (whether the coordinator answers
 * with that ERROR or with a committing/committed STATE). Calling it again
 * is safe. */
DTX_EXPORT int dtx_client_rollback(dtx_client_t *self, const char *gid, int *state_out);

/* Operator action: puts a STUCK transaction (a branch exhausted the
 * coordinator's retry budget) back to its recorded decision with a fresh
 * budget. Returns 0 with *state_out = DTX_STATE_COMMITTING / _ABORTING (or
 * the current state when it was not stuck); DTX_ESTATE for an active one,
 * DTX_EACCES unless this client's key has the operator role. */
DTX_EXPORT int dtx_client_resume(dtx_client_t *self, const char *gid, int *state_out);

/* Reads the global state of gid into *state_out. */
DTX_EXPORT int dtx_client_status(dtx_client_t *self, const char *gid, int *state_out);

/* The coordinator's text for the ERROR that answered this client's most
 * recent call, or "" when that call got no ERROR (also after a timeout or
 * an argument error). Owned by the client; valid until its next call.
 * Safe on NULL (returns ""). */
DTX_EXPORT const char *dtx_client_last_error(const dtx_client_t *self);

/* ------------------------------------------------------------------ */
/* Several Tries in one call (since libdtx 1.1, node DTX_1.1)          */
/* ------------------------------------------------------------------ */

#define DTX_TRY_MANY_MAX 16  /* branches in one dtx_client_try_many */

/* One branch of dtx_client_try_many: as dtx_client_try's arguments. */
typedef struct dtx_try_spec {
    const char *resource;
    const char *action;
    const void *payload;      /* 0..DTX_PAYLOAD_MAX bytes, copied; may be NULL if 0 */
    size_t      payload_len;
} dtx_try_spec_t;

/* What became of one branch of dtx_client_try_many. */
typedef struct dtx_try_outcome {
    uint32_t branch;   /* branch number; 0 when the coordinator did not say */
    int      outcome;  /* DTX_OUTCOME_OK / _REFUSED / _FAILED: its vote */
    int      error;    /* 0 when the Try ran (outcome is its vote); else the
                        * DTX_E* code dtx_client_try would have returned
                        * for it (outcome is then DTX_OUTCOME_FAILED) */
} dtx_try_outcome_t;

/* Runs n branches (1..DTX_TRY_MANY_MAX) of gid in one round trip
 * (docs/protocol.md §18): the coordinator checks the request as a whole,
 * records every branch in one log write, sends their Tries in parallel and
 * answers when every branch has its outcome. out (n entries, may be NULL)
 * gets each branch's outcome in the order of tries; *state_out (may be
 * NULL) the global state after them.
 * Returns 0 when every branch voted yes; DTX_EREFUSED when at least one
 * did not (refused, failed, or an error of its own: see out[i]) — the
 * coordinator has then decided abort, as after a refused dtx_client_try;
 * DTX_EINVAL (nothing sent) for n out of range, an invalid name or
 * payloads together over DTX_PAYLOAD_MAX (dtx_client_last_error says
 * which); DTX_EUNSUPPORTED (nothing done) when the coordinator does not
 * know this request (protocol version 1, or an older dtxd): send the
 * branches with dtx_client_try; otherwise an error for the request as a
 * whole, as dtx_client_try's (DTX_ENOTFOUND, DTX_ESTATE, DTX_EEXPIRED,
 * DTX_ELIMIT — nothing recorded —, DTX_EUNKNOWN — ask dtx_client_status,
 * never repeat the call —, DTX_ETIMEOUT, ...), every out[i].error set to
 * it. */
DTX_EXPORT int dtx_client_try_many(dtx_client_t *self, const char *gid,
                                   const dtx_try_spec_t *tries, int n,
                                   dtx_try_outcome_t *out, int *state_out);

/* ------------------------------------------------------------------ */
/* A whole TCC transaction in one call (since libdtx 1.2, node DTX_1.2) */
/* ------------------------------------------------------------------ */

#define DTX_RUN_COMMIT 0x01u  /* dtx_client_tcc_run: commit once every branch voted yes */
#define DTX_RUN_GID    0x02u  /* dtx_client_tcc_run: the gid is the caller's (gid_out in
                                 and out), so the call may be repeated; with
                                 DTX_RUN_COMMIT only */

/* Begins a TCC transaction and runs its n branches (1..DTX_TRY_MANY_MAX)
 * in one round trip (docs/protocol.md §19): BEGIN, dtx_client_try_many
 * and, with flags DTX_RUN_COMMIT, the COMMIT, which the coordinator then
 * decides itself when every branch voted yes. The coordinator checks the
 * request as BEGIN and dtx_client_try_many do, records the transaction
 * and every branch in one log write, sends the Tries in parallel, and
 * with DTX_RUN_COMMIT answers once the decision is durable. gid_out (may
 * be NULL) gets the new gid, or "" when no transaction was answered; out
 * (n entries, may be NULL) each branch's outcome, *state_out (may be
 * NULL) the state when the answer left (0 when there was none).
 * Returns, with DTX_RUN_COMMIT: 0 when it committed (state committing:
 * the Confirms run in the background); DTX_EABORTED when a branch did not
 * vote yes (out[i] says which; the Cancels run in the background);
 * DTX_EREFUSED, rarely, with *state_out active: a branch was refused
 * before it was recorded (the deadline passed at once) — roll back by
 * gid_out, or let the deadline abort it.
 * Without it: as dtx_client_try_many (0, every vote yes, the transaction
 * active: commit or roll it back by gid_out; DTX_EREFUSED, decided
 * abort). Either way DTX_EINVAL (nothing sent) for bad tries or flags
 * other than DTX_RUN_COMMIT, DTX_EUNSUPPORTED (nothing done) from a
 * coordinator without TCC_RUN, DTX_ELIMIT (nothing recorded), and the
 * errors of the request as a whole that dtx_client_try_many documents;
 * those leave gid_out "" — the transaction, if any, ends by itself, and
 * dtx_client_last_error() names its gid when the coordinator knew it.
 * On DTX_ETIMEOUT (sent, no answer) the outcome is unknown and no gid is
 * known: never run the same work again as a new call without finding out
 * first (docs/protocol.md §19.2). On DTX_ENOTSENT the request never left:
 * nothing was begun, the same call may be made again.
 * With DTX_RUN_GID (and DTX_RUN_COMMIT) the call is safe to repeat
 * (docs/protocol.md §19.3): gid_out is read first — "" for a new id,
 * which libdtx writes there before sending, or the id of an earlier call
 * (as that call left it, a ULID, or "CELL:ULID" once answered) — and the
 * coordinator begins at most one transaction with it. Repeat the call
 * with the same gid_out after DTX_ETIMEOUT, DTX_EUNKNOWN or a lost
 * connection: if the first one began the transaction, the repeat begins
 * nothing and returns what became of it — 0 when it committed (every
 * out[i] yes, branch 0), DTX_EABORTED when it aborted (every out[i]
 * DTX_EABORTED: the answer does not say which branch) — waiting, as a
 * COMMIT does, while the coordinator it reached is deciding it;
 * DTX_EBUSY when another coordinator of the group is deciding it (repeat
 * later); DTX_EUNKNOWN with *state_out DTX_STATE_STUCK when it is stuck;
 * DTX_EACCES when another principal's transaction has that id (or one is
 * being begun with it); DTX_EINVAL when the id names a transaction no
 * TCC_RUN began (a BEGIN's, a Saga's). An id is remembered as long as the
 * log keeps its transaction (--retention); repeat it to the same
 * coordinator group (cell) only. DTX_EINVAL (nothing sent) for an id that
 * is not one, or DTX_RUN_GID without DTX_RUN_COMMIT; DTX_EIO when no
 * random id can be made. */
DTX_EXPORT int dtx_client_tcc_run(dtx_client_t *self, uint32_t timeout_ms, unsigned flags,
                                  const dtx_try_spec_t *tries, int n,
                                  char gid_out[DTX_GID_SIZE], dtx_try_outcome_t *out,
                                  int *state_out);

/* ------------------------------------------------------------------ */
/* Saga (initiator side; since libdtx 1.1, node DTX_1.1)               */
/* ------------------------------------------------------------------ */

/* A Saga (docs/sagas.md) is a plan of steps the coordinator runs by
 * itself once submitted: each step's action on a participant resource
 * (the handler of dtx_participant_serve_saga), in plan order — or, once
 * any dependency is added, every step as soon as the steps it depends on
 * are done (a concurrent Saga). When a step is refused, fails past the
 * coordinator's retry budget, or the deadline passes, the compensation of
 * every step that ran or may have run is run, last steps first. A pivot
 * step (DTX_SAGA_STEP_PIVOT, dtx/saga.h's value) is never compensated:
 * once it is done the Saga only goes forward (later steps are retried
 * until they succeed). The whole plan is in the coordinator's log before
 * the first action leaves. */
typedef struct dtx_saga dtx_saga_t;

#define DTX_STEP_PIVOT 0x01  /* dtx_saga_add_step flag: non-compensable */

/* A new, empty plan. NULL on failure (*err = DTX_ENOMEM; err may be NULL). */
DTX_EXPORT dtx_saga_t *dtx_saga_new(int *err);

/* Frees *self_p and sets it to NULL; safe on NULL and on *self_p NULL. */
DTX_EXPORT void dtx_saga_destroy(dtx_saga_t **self_p);

/* Appends a step: action and compensation are the op names the
 * participant's handlers see in call->action (compensation may be NULL or
 * "" only with DTX_STEP_PIVOT); payload (0..DTX_PAYLOAD_MAX bytes, copied)
 * goes to both. Returns the step's number (1, 2, ...), or DTX_EINVAL (a
 * bad name, a missing compensation, unknown flags), DTX_ELIMIT (64 steps
 * already), DTX_ENOMEM. Rules that involve several steps (one pivot; the
 * steps' payloads together within DTX_PAYLOAD_MAX) are checked by
 * dtx_client_saga_submit. */
DTX_EXPORT int dtx_saga_add_step(dtx_saga_t *self, const char *resource, const char *action,
                                 const char *compensation, const void *payload,
                                 size_t payload_len, unsigned flags);

/* Step `step` runs only once step `depends_on` (an earlier step) is done.
 * The first call makes the plan concurrent: from then on a step with no
 * dependency starts at once. In a concurrent plan the pivot must depend
 * on every earlier step and every later step on the pivot. Returns 0 or
 * DTX_EINVAL (unknown step, depends_on not earlier). */
DTX_EXPORT int dtx_saga_add_dependency(dtx_saga_t *self, int step, int depends_on);

/* Submits saga: the coordinator records the whole plan, answers with the
 * gid (into gid_out, "" on failure), then runs it; timeout_ms is its
 * deadline (0 = the coordinator's default), after which a Saga not yet
 * past its pivot is compensated. Returns 0; DTX_EINVAL (nothing sent) for
 * a plan that breaks a rule (dtx_client_last_error says which);
 * DTX_EUNSUPPORTED when the coordinator does not run Sagas (it speaks
 * protocol version 1, or an older version 2); DTX_ELIMIT, DTX_EACCES,
 * DTX_EDB, DTX_ETIMEOUT, DTX_EIO; DTX_EUNKNOWN when the coordinator lost
 * the write of the plan (it may run: the error text names its gid). */
DTX_EXPORT int dtx_client_saga_submit(dtx_client_t *self, const dtx_saga_t *saga,
                                      uint32_t timeout_ms, char gid_out[DTX_GID_SIZE]);

/* Waits up to wait_ms for the Saga gid to end, asking its status.
 * Returns 0 when it committed (every step done), DTX_EABORTED when it was
 * compensated, DTX_ESTATE when it is stuck (an operator must resume it),
 * DTX_ETIMEOUT when it is still running; *state_out (may be NULL) gets the
 * last state seen. Other errors as dtx_client_status. */
DTX_EXPORT int dtx_client_saga_wait(dtx_client_t *self, const char *gid, int wait_ms,
                                    int *state_out);

/* ------------------------------------------------------------------ */
/* Transactional messages (initiator side; since libdtx 1.1)           */
/* ------------------------------------------------------------------ */

/* A transactional message (DTX_MODE_MSG, the outbox pattern;
 * docs/sagas.md "Transactional messages") changes the service's own
 * database and tells other services of it, atomically: the coordinator
 * delivers it to every destination (DELIVER, at least once: serve it
 * through dtx_barrier_call) only when the service's local transaction
 * committed. The flow (dtx/barrier.h's dtx_tmsg_pg_run does all of it):
 *   1. dtx_client_tmsg_prepare: the coordinator records the message
 *      (destinations, check-back resource) and answers its gid;
 *   2. the local transaction writes the business change and the outbox
 *      row of gid (dtx_tmsg_pg_commit), and commits;
 *   3. dtx_client_tmsg_submit (COMMIT): deliveries start.
 * When the submit never comes (the service crashed between 2 and 3), the
 * coordinator asks the check-back resource (a QUERY_PREPARED handler,
 * dtx_tmsg_pg_query_prepared) once the deadline passed: committed →
 * delivered; rolled back → dropped.
 * "tmsg": dtx_msg_t is something else (a wire message, dtx/proto.h). */
typedef struct dtx_tmsg dtx_tmsg_t;

/* A new message with no destination yet; checkback is the resource whose
 * on_query_prepared handler (dtx_participant_serve_tmsg) answers for the
 * service. NULL on failure (*err = DTX_EINVAL for a bad name, DTX_ENOMEM;
 * err may be NULL). */
DTX_EXPORT dtx_tmsg_t *dtx_tmsg_new(const char *checkback, int *err);

/* Frees *self_p and sets it to NULL; safe on NULL and on *self_p NULL. */
DTX_EXPORT void dtx_tmsg_destroy(dtx_tmsg_t **self_p);

/* Adds a destination: resource's on_deliver handler gets payload (copied,
 * 0..DTX_PAYLOAD_MAX bytes) with call->action = action. Returns the
 * destination's number (1, 2, ...: call->branch at the destination), or
 * DTX_EINVAL (a bad name or payload), DTX_ELIMIT (32 already),
 * DTX_ENOMEM. */
DTX_EXPORT int dtx_tmsg_add(dtx_tmsg_t *self, const char *resource, const char *action,
                            const void *payload, size_t payload_len);

/* Prepares msg: the coordinator records it and answers its gid (into
 * gid_out, "" on failure). timeout_ms (0 = the coordinator's default) is
 * how long it waits for the submit before it asks the check-back. Returns
 * 0; DTX_EINVAL (nothing sent) for a message without destinations or over
 * DTX_PAYLOAD_MAX in all (dtx_client_last_error says which);
 * DTX_EUNSUPPORTED when the coordinator has no transactional messages;
 * DTX_ELIMIT, DTX_EACCES, DTX_EDB, DTX_ETIMEOUT, DTX_EIO; DTX_EUNKNOWN when
 * the coordinator lost the write (if recorded, the check-back decides). */
DTX_EXPORT int dtx_client_tmsg_prepare(dtx_client_t *self, const dtx_tmsg_t *msg,
                                       uint32_t timeout_ms, char gid_out[DTX_GID_SIZE]);

/* Submits the prepared message gid (only once its local transaction
 * committed): returns 0 once the decision to deliver is durable
 * (deliveries run in the background); DTX_EABORTED when it was already
 * dropped (ROLLBACK, or the check-back found it rolled back). Calling it
 * again is safe. */
DTX_EXPORT int dtx_client_tmsg_submit(dtx_client_t *self, const char *gid);

/* Drops the prepared message gid (its local transaction rolled back):
 * nothing is delivered. DTX_ESTATE when it was already submitted. */
DTX_EXPORT int dtx_client_tmsg_abort(dtx_client_t *self, const char *gid);

#ifdef __cplusplus
}
#endif

/* The participant side: dtx/participant.h (included here, so that one
 * include gives a service the whole library). */
#include "dtx/participant.h"

#endif
