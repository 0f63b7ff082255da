/*
 * sql.h — the statements the coordinator runs against its log, prepared
 * on every connection (sql.c holds their text).
 */
#ifndef DTX_COORD_SQL_H
#define DTX_COORD_SQL_H

#include "store.h"

/* Prepared statements (sql.c). "me" is (owner, owner_epoch) of this node:
 * every write is fenced on it. */
enum {
    DTX_SQL_BEGIN,          /* gid mode deadline_ms me initiator traceparent (the row of a
                               transaction decided before any branch) */
    DTX_SQL_BRANCH_ADD,     /* gid resource action payload(bin) me -> branch_no */
    DTX_SQL_BRANCH_FIRST,   /* gid resources[] actions[] payloads(bin, one after the other)
                               me(2) mode deadline_ms initiator traceparent preparing
                               payload_ends[] -> branch_no per branch (creates the global
                               row with its branch count: a TRY's one, a TCC_RUN's batch) */
    DTX_SQL_BRANCH_VOTE,    /* gid branch state last_error me */
    DTX_SQL_DECIDE,         /* gid new expected me(2) gen nbranches -> state */
    DTX_SQL_PREPARING,      /* gid me (2PC: the prepare phase started) */
    DTX_SQL_BRANCH_DONE,    /* gid branch state attempts me */
    DTX_SQL_BRANCH_ATTEMPT, /* gid branch attempts last_error me */
    DTX_SQL_FINISH,         /* gid final expected me */
    DTX_SQL_STUCK,          /* gid decision me */
    DTX_SQL_RESUME,         /* gid me -> state */
    DTX_SQL_CLAIM,          /* gid me epoch steal principal */
    DTX_SQL_LOAD_GLOBAL,    /* gid -> mode state deadline_ms owner owner_epoch decision preparing
                               owner_gen initiator traceparent checkback */
    DTX_SQL_LOAD_BRANCHES,  /* gid -> branch_no resource action payload state attempts
                               undo_action after_steps("1,2") step_flags */
    DTX_SQL_SCAN,           /* limit grace_ms me epoch -> gid (own work not in memory: due
                               decided rows, active ones past their deadline or marked) */
    DTX_SQL_CLAIM_ORPHANS,  /* limit me -> gid (taken from dead owners) */
    DTX_SQL_NODES,          /* -> every node's id:epoch:live, one text (recovery.c's gate) */
    DTX_SQL_STATUS,         /* gid -> state */
    DTX_SQL_NODE_RENEW,     /* node epoch lease_ms */
    DTX_SQL_RETAIN,         /* retention_ms limit -> removed_global removed_branches */
    DTX_SQL_SAGA_BEGIN,     /* gid deadline_ms me(2) initiator traceparent steps(json)
                               payloads(bin) */
    DTX_SQL_STEP_SET,       /* gid step state attempts me(2) gen expected */
    DTX_SQL_TMSG_BEGIN,     /* gid deadline_ms me(2) initiator traceparent checkback
                               dests(json) payloads(bin) */
    DTX_SQL_COUNT
};
extern const dtx_store_stmt_t dtx_coord_sql[DTX_SQL_COUNT];
/* The log connections' session settings (sql.c says why). */
extern const char dtx_coord_sql_session[];

#endif
