/*
 * dtx/participant.h — libdtx's participant side: a service that serves
 * named resources with Try/Confirm/Cancel (TCC), Prepare/Commit/Abort
 * (2PC), Saga action/compensation or message delivery callbacks. dtx/dtx.h
 * includes it and opens with how the two sides are used; the error
 * convention is dtx.h's (0 or a negative DTX_E* code).
 */
#ifndef DTX_PARTICIPANT_H
#define DTX_PARTICIPANT_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/logging.h"
#include "dtx/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Participant side                                                    */
/* ------------------------------------------------------------------ */

typedef struct dtx_participant dtx_participant_t;

/* One phase call as the participant's handler sees it. Every pointer is
 * valid only during the handler call. */
typedef struct dtx_call {
    const char  *gid;          /* global transaction id */
    uint32_t     branch;       /* branch number within gid */
    uint32_t     attempt;      /* delivery attempt, 1-based */
    int          op;           /* DTX_OP_TRY, _CONFIRM, _CANCEL (TCC),
                                  DTX_OP_PREPARE, _COMMIT, _ABORT (2PC) or
                                  DTX_OP_ACTION, _COMPENSATE (Saga),
                                  DTX_OP_DELIVER, _QUERY_PREPARED (message) */
    const char  *resource;     /* resource name */
    const char  *action;       /* action name given to dtx_client_try */
    const void  *payload;      /* the try's payload (also on confirm/cancel;
                                  in 2PC the enlisted TRY's, on prepare) */
    size_t       payload_len;  /* payload bytes */
    uint64_t     deadline_ms;  /* transaction deadline, epoch ms */
} dtx_call_t;

/* The W3C traceparent the phase call carries: the transaction's trace
 * context (docs/protocol.md §15), the same on every phase of every branch
 * of the transaction; "" when the coordinator sent none (a transaction
 * begun before dtxd recorded traces). call must be the one a handler was
 * given (not a copy); the string is valid during the handler call. */
DTX_EXPORT const char *dtx_call_traceparent(const dtx_call_t *call);

/* A phase handler. Return DTX_OK when done (for Try and Prepare: vote
 * yes); DTX_EREFUSED from Try or Prepare to vote no (business refusal:
 * insufficient funds); any other negative code when it could not run now:
 * a Try or Prepare then counts as a no, a Confirm, Cancel, Commit or Abort
 * is delivered again later (DTX_EREFUSED from them counts as such a
 * failure). Handlers run inside
 * dtx_participant_poll/run, one at a time; they may call
 * dtx_participant_stop, _connect and _serve, never _destroy. */
typedef int (*dtx_handler_fn)(const dtx_call_t *call, void *arg);

typedef struct dtx_tcc_handlers {
    dtx_handler_fn on_try;      /* reserve */
    dtx_handler_fn on_confirm;  /* make the reservation final */
    dtx_handler_fn on_cancel;   /* release the reservation */
    void          *arg;         /* passed to every handler */
} dtx_tcc_handlers_t;

/* 2PC handlers. on_prepare does the branch's work and keeps it undecided
 * but durable (e.g. PREPARE TRANSACTION), voting with its return: DTX_OK
 * yes, DTX_EREFUSED no, any other code no as well (the vote was lost).
 * on_commit makes the prepared work final, on_abort undoes it; both are
 * retried until they return DTX_OK, must be idempotent, and on_abort must
 * also work for a branch whose prepare never arrived (and make a prepare
 * arriving later vote no). dtx/barrier.h gives those guarantees;
 * dtx/pgres.h implements all three over PostgreSQL. */
typedef struct dtx_2pc_handlers {
    dtx_handler_fn on_prepare;  /* do the work, make it durable, vote */
    dtx_handler_fn on_commit;   /* make the prepared work final */
    dtx_handler_fn on_abort;    /* undo the prepared work (or mark it refused) */
    void          *arg;         /* passed to every handler */
} dtx_2pc_handlers_t;

/* Saga handlers (since libdtx 1.1). on_action runs the step's action
 * (call->op DTX_OP_ACTION, call->action the plan's action name): DTX_OK
 * done, DTX_EREFUSED a definitive no (the Saga is compensated), any other
 * code "could not run now" (delivered again). on_compensate undoes it
 * (DTX_OP_COMPENSATE, call->action the plan's compensation name) and is
 * retried until it returns DTX_OK. Both are delivered at least once, and
 * a compensation may come before (or instead of) its action: run them
 * through dtx_barrier_call (dtx/barrier.h), which applies a duplicate
 * once, turns a compensation before its action into a recorded no-op and
 * refuses an action that comes after its compensation. */
typedef struct dtx_saga_handlers {
    dtx_handler_fn on_action;      /* do the step */
    dtx_handler_fn on_compensate;  /* undo it (or record that there is nothing to undo) */
    void          *arg;            /* passed to both */
} dtx_saga_handlers_t;

/* Transactional message handlers (since libdtx 1.1); a resource serves
 * either or both. on_deliver (call->op DTX_OP_DELIVER, call->action and
 * call->payload the destination's, call->branch its number) applies the
 * message: DTX_OK done, any other code "not now" (delivered again, until
 * it succeeds or the coordinator's retry budget is spent). It is delivered
 * at least once: run it through dtx_barrier_call, which applies a
 * duplicate once. on_query_prepared (DTX_OP_QUERY_PREPARED, call->gid the
 * message, branch 0) answers the check-back: DTX_OK the local transaction
 * committed (the message is delivered), DTX_EREFUSED it rolled back, or
 * never will commit (the message is dropped), any other code "cannot tell
 * yet" (asked again later). dtx_tmsg_pg_query_prepared (dtx/barrier.h) is
 * such a handler's whole body for dtx_tmsg_pg_commit's outbox rows. */
typedef struct dtx_tmsg_handlers {
    dtx_handler_fn on_deliver;        /* a destination: apply the message */
    dtx_handler_fn on_query_prepared; /* the check-back: did gid's local transaction commit? */
    void          *arg;               /* passed to both */
} dtx_tmsg_handlers_t;

/* Creates a participant named instance (a name: [A-Za-z0-9._:-], unique
 * per process, e.g. "bank-a-1"). NULL on failure, code in *err. When
 * DTX_CURVE_KEY_FILE is set (see the top of this file) its connections use
 * that file's keys; the file is read by the first dtx_participant_connect,
 * whose error it is when unusable. */
DTX_EXPORT dtx_participant_t *dtx_participant_new(const char *instance, int *err);

/* Connections made by later dtx_participant_connect calls use CurveZMQ
 * with the keys of key_file (a `dtxctl keygen` credentials file with a
 * server-key, read now; the caller keeps its string), or plain ZeroMQ when
 * key_file is NULL. Either choice replaces DTX_CURVE_KEY_FILE's; links
 * already made keep theirs. Returns 0, or DTX_ECONFIG (logged; the
 * previous choice stays) for a missing, unreadable, group/world-accessible
 * or malformed file, or one without server-key. */
DTX_EXPORT int dtx_participant_set_curve(dtx_participant_t *self, const char *key_file);

/* Destroys it (closing its connections) and sets *self_p to NULL. */
DTX_EXPORT void dtx_participant_destroy(dtx_participant_t **self_p);

/* Adds a coordinator endpoint; call once per coordinator. The connection
 * is made in the background and re-made after failures; registration is
 * sent once it is up, and again after every reconnection. A coordinator
 * that refuses the CURVE handshake or the registration is logged (with its
 * reason) and asked again on the normal schedule.
 * Returns 0, DTX_EINVAL (malformed endpoint), DTX_ECONFIG (an unusable
 * DTX_CURVE_KEY_FILE), DTX_ENOMEM or DTX_EIO. */
DTX_EXPORT int dtx_participant_connect(dtx_participant_t *self, const char *endpoint);

/* Serves resource with TCC handlers (copied). Call before
 * dtx_participant_run (a later call works too: every coordinator is then
 * sent the whole registration again). A resource already served with 2PC
 * handlers gets the TCC ones added. Returns DTX_EINVAL for a bad name, a
 * missing handler or a resource already served with TCC handlers;
 * DTX_ENOMEM. */
DTX_EXPORT int dtx_participant_serve(dtx_participant_t *self, const char *resource,
                                     const dtx_tcc_handlers_t *handlers);

/* Serves resource with 2PC handlers (copied; all three are required), as
 * dtx_participant_serve does for TCC: one resource may be served with both,
 * each PHASE then goes to the handler of its op, and a PHASE whose op has
 * no handler is answered FAILED. Returns DTX_EINVAL for a bad name, a
 * missing handler or a resource already served with 2PC handlers;
 * DTX_ENOMEM. */
DTX_EXPORT int dtx_participant_serve_2pc(dtx_participant_t *self, const char *resource,
                                         const dtx_2pc_handlers_t *handlers);

/* Serves resource with Saga handlers (copied; both required), beside any
 * TCC or 2PC ones. Since libdtx 1.1. Returns DTX_EINVAL for a bad name, a
 * missing handler or a resource already served with Saga handlers;
 * DTX_ENOMEM. */
DTX_EXPORT int dtx_participant_serve_saga(dtx_participant_t *self, const char *resource,
                                          const dtx_saga_handlers_t *handlers);

/* Serves resource with transactional message handlers (copied; at least
 * one of the two), beside any others. Since libdtx 1.1. Returns DTX_EINVAL
 * for a bad name, no handler or a resource already served with them;
 * DTX_ENOMEM. */
DTX_EXPORT int dtx_participant_serve_tmsg(dtx_participant_t *self, const char *resource,
                                          const dtx_tmsg_handlers_t *handlers);

/* Heartbeat interval (default 1000 ms; a value <= 0 restores it). When a
 * coordinator's REGISTER_OK asks for a shorter interval, that one is used
 * with that coordinator. Any interval used, ours or a coordinator's, is
 * kept within 50 ms .. 60 s. A coordinator that acknowledges nothing for 3
 * intervals is sent the registration again; a connection that ends and
 * that ZeroMQ will not re-establish (e.g. after a frame over the size
 * limit) is made again after 3 intervals. */
DTX_EXPORT void dtx_participant_set_heartbeat(dtx_participant_t *self, int interval_ms);

/* Handles messages and heartbeats for up to timeout_ms (-1: until
 * stopped). Returns 0, or DTX_EIO on a socket failure. */
DTX_EXPORT int dtx_participant_poll(dtx_participant_t *self, int timeout_ms);

/* Runs until dtx_participant_stop(). Returns 0 or DTX_EIO. */
DTX_EXPORT int dtx_participant_run(dtx_participant_t *self);

/* Makes run/poll return soon (within about 100 ms). Async-signal-safe:
 * call it from a signal handler or another thread. The request is
 * consumed by the run/poll call that returns because of it; made while
 * neither runs, it makes the next one return at once. Safe on NULL. */
DTX_EXPORT void dtx_participant_stop(dtx_participant_t *self);

/* Makes SIGTERM and SIGINT call dtx_participant_stop(self): the
 * dtx_participant_run (or _poll) under way returns 0, and the program
 * cleans up and exits as after any other stop. A signal that comes before
 * run starts makes it return at once, so call this right after
 * dtx_participant_new: a signal during the rest of the set-up is then a
 * clean stop, not a kill. The handlers are the process's (sigaction, no
 * SA_RESTART: a blocking call a handler makes may end early with EINTR);
 * they stop the participant named last, and dtx_participant_destroy of
 * that one puts back the handlers that were in place before the first
 * call. SIGPIPE is left to the program. Call it from one thread. Returns
 * 0, or DTX_EIO (logged) when sigaction fails. */
DTX_EXPORT int dtx_participant_stop_on_signals(dtx_participant_t *self);

/* Called once by dtx_participant_poll/run when every coordinator given to
 * dtx_participant_connect acknowledges the registration
 * (dtx_participant_registered() equals their number): the moment to
 * report readiness (write a ready file, tell a supervisor). It is not
 * called again when a coordinator is lost and registered again. Return 0
 * to keep serving, or a negative DTX_E* code: the poll/run call then
 * returns that code. It may call what a handler may. */
typedef int (*dtx_ready_fn)(dtx_participant_t *self, void *arg);

/* Sets the readiness callback (arg is passed to it) and arms it: it runs
 * at the next poll that finds the participant registered everywhere, even
 * when that happened before this call. NULL clears it. */
DTX_EXPORT void dtx_participant_set_ready(dtx_participant_t *self, dtx_ready_fn on_ready,
                                          void *arg);

/* Number of coordinators that currently acknowledge this instance's
 * registration (for readiness checks): every served resource acknowledged
 * since the last (re)registration, and an acknowledgement (REGISTER_OK or
 * HEARTBEAT_OK) within the last 3 heartbeat intervals. Safe on NULL (0). */
DTX_EXPORT int dtx_participant_registered(const dtx_participant_t *self);

#ifdef __cplusplus
}
#endif
#endif
