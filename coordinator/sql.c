/*
 * sql.c — every statement the coordinator runs against its log, prepared
 * once per connection. Every UPDATE names the state it expects, so a write
 * based on a stale in-memory copy changes nothing (0 rows) instead of
 * corrupting the log; the caller then re-reads.
 */
#include "coord.h"

const dtx_store_stmt_t dtx_coord_sql[DTX_SQL_COUNT] = {
    [DTX_SQL_BEGIN] = { "dtx_begin",
        "INSERT INTO dtx_global (gid, mode, state, deadline, owner, next_attempt_at)"
        " VALUES ($1, $2::smallint, 1, to_timestamp($3::bigint / 1000.0), $4,"
        "         to_timestamp($3::bigint / 1000.0))", 4 },
    [DTX_SQL_BRANCH_ADD] = { "dtx_branch_add",
        "WITH g AS (UPDATE dtx_global SET branches = branches + 1, updated_at = now()"
        "           WHERE gid = $1 AND state = 1 RETURNING branches)"
        " INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state)"
        " SELECT $1, g.branches, $2, $3, $4, 1 FROM g RETURNING branch_no", 4 },
    [DTX_SQL_BRANCH_VOTE] = { "dtx_branch_vote",
        "UPDATE dtx_branch SET state = $3::smallint, attempts = 1, last_error = $4,"
        " updated_at = now() WHERE gid = $1 AND branch_no = $2::int AND state = 1", 4 },
    [DTX_SQL_DECIDE] = { "dtx_decide",
        "UPDATE dtx_global SET state = $2::smallint, updated_at = now(), next_attempt_at = now()"
        " WHERE gid = $1 AND state = $3::smallint RETURNING state", 3 },
    [DTX_SQL_BRANCH_DONE] = { "dtx_branch_done",
        "UPDATE dtx_branch SET state = $3::smallint, attempts = $4::int, updated_at = now()"
        " WHERE gid = $1 AND branch_no = $2::int AND state IN (1, 2, 3)", 4 },
    [DTX_SQL_BRANCH_ATTEMPT] = { "dtx_branch_attempt",
        "UPDATE dtx_branch SET attempts = $3::int, last_error = $4, updated_at = now()"
        " WHERE gid = $1 AND branch_no = $2::int", 4 },
    [DTX_SQL_FINISH] = { "dtx_finish",
        "UPDATE dtx_global SET state = $2::smallint, updated_at = now(), next_attempt_at = NULL"
        " WHERE gid = $1 AND state = $3::smallint", 3 },
    [DTX_SQL_LOAD_GLOBAL] = { "dtx_load_global",
        "SELECT mode, state, (extract(epoch FROM deadline) * 1000)::bigint"
        " FROM dtx_global WHERE gid = $1", 1 },
    [DTX_SQL_LOAD_BRANCHES] = { "dtx_load_branches",
        "SELECT branch_no, resource, action, payload, state, attempts"
        " FROM dtx_branch WHERE gid = $1 ORDER BY branch_no", 1 },
    [DTX_SQL_SCAN] = { "dtx_scan",
        "SELECT gid FROM dtx_global"
        " WHERE state IN (1, 2, 4)"
        "   AND ((state = 1 AND deadline < now())"
        "     OR (state <> 1 AND next_attempt_at < now() - $2::int * interval '1 ms'))"
        " ORDER BY next_attempt_at LIMIT $1::int", 2 },
};
