/*
 * fault.h — fault injection for tests and drills. OFF unless configured.
 *
 * `--fault POINT[:N][,POINT[:N]...]` (env DTX_FAULT) makes dtxd exit at
 * once — _exit(DTX_FAULT_EXIT), no cleanup, like a kill -9 — the N-th time
 * (default 1st) execution reaches POINT. The points, in the order a
 * transaction meets them:
 *
 *   after-begin-write       BEGIN is durable, the initiator not yet told
 *   after-branch-write      a branch is recorded, its Try not yet sent
 *   after-try-sent          the Try is sent, its vote not yet recorded
 *   after-prepare-sent      2PC: a Prepare is sent, no decision yet
 *   after-vote-write        a vote is durable, the initiator not yet told
 *   after-decision-write    the decision is durable, nobody told, nothing sent
 *   after-decision-reply    the initiator was told, no Confirm/Cancel sent
 *   between-phases          one branch's Confirm/Cancel is durable, others not
 *   before-finish-write     every branch acknowledged, final state not written
 *   after-finish-write      final state durable (the copy still in memory)
 *   after-claim             transactions taken over from a dead coordinator
 *
 * and those only a Saga meets:
 *
 *   after-saga-write        the whole plan is durable, the initiator not yet told
 *   after-step-done         a step's action is recorded done, the next not yet sent
 *   after-step-compensated  a step's compensation is recorded, the one before not sent
 *
 * and the one only a transactional message meets (its check-back and
 * deliveries meet the common ones):
 *
 *   after-tmsg-write        the message is durable (prepared), the service not yet told
 *
 * A point named fail-* does not exit: the N-th time execution reaches it
 * the operation there fails as if memory had run out (dtx_fault_fail):
 *
 *   fail-branch-write       a branch's write cannot be started (a TRY, or
 *                           one branch of a TRY_MANY / TCC_RUN batch)
 */
#ifndef DTX_COORD_FAULT_H
#define DTX_COORD_FAULT_H

#define DTX_FAULT_EXIT 86

/* Parses spec ("" = off). Returns 0 or DTX_ECONFIG with err filled. */
int dtx_fault_configure(const char *spec, char *err, unsigned errlen);

/* 1 when point is armed (whatever its count), else 0: for what must
 * happen before the point only when a fault may fire there. */
int dtx_fault_armed(const char *point);

/* Exits the process when point is armed and its count is reached. */
void dtx_fault_point(const char *point);

/* 1 when the fail-* point is armed and its count is reached (the caller
 * then fails as out of memory), else 0. */
int dtx_fault_fail(const char *point);

/* The list of point names, NULL-terminated (for docs and tests). */
extern const char *const dtx_fault_points[];

#endif
