/*
 * admin_sql.c — the admin store's statements (its own connection; see
 * admin_http.h). Reads only, plus the audit log.
 *
 * The list statements take every filter as a parameter that may be NULL.
 * Each list batch starts with DTX_ASQL_CUSTOM_PLAN, which makes PostgreSQL
 * plan it with the values at hand (a NULL filter then vanishes from the
 * plan and the right index is used) instead of one generic plan for all
 * filter combinations.
 *
 * A branch's state, vote and times are read from dtx_branch_now (the
 * decision and the final state are written to the global row only:
 * sql/coordinator/014_branch_now.sql); the resource filter reads
 * dtx_branch itself (no state in it).
 */
#include "admin_internal.h"
#include "core/txn.h"

/* Branch states in the text are the state machine's constants. */
#define S_STR_(x) #x
#define S_STR(x) S_STR_(x)

#define S_MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"

#define S_LIST(STATE_COND, ORDER)                                                             \
    "SELECT g.gid, g.mode, g.state, coalesce(g.decision, 0), g.branches, " S_MS("g.created_at") \
    ", " S_MS("g.updated_at") ", " S_MS("g.deadline") ", coalesce(g.owner, ''),"              \
    " coalesce(x.resources, ''), coalesce(x.attempts, 0), coalesce(x.last_error, '')"         \
    " FROM dtx_global g LEFT JOIN LATERAL ("                                                  \
    "   SELECT string_agg(DISTINCT b.resource, ',') AS resources, max(b.attempts) AS attempts," \
    "   (array_agg(b.last_error ORDER BY b.updated_at DESC)"                                  \
    "      FILTER (WHERE b.last_error IS NOT NULL))[1] AS last_error"                         \
    "   FROM dtx_branch_now b WHERE b.gid = g.gid) x ON true"                                     \
    " WHERE " STATE_COND                                                                       \
    " AND ($2::smallint IS NULL OR g.mode = $2::smallint)"                                     \
    " AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM dtx_branch r"                             \
    "      WHERE r.gid = g.gid AND r.resource = $3::text))"                                    \
    " AND ($4::text IS NULL OR g.gid > $4::text) AND ($5::text IS NULL OR g.gid >= $5::text)" \
    " AND ($6::text IS NULL OR g.gid < $6::text)"                                              \
    " AND ($7::text IS NULL OR starts_with(g.gid, $7::text))"                                  \
    " ORDER BY g.gid " ORDER " LIMIT $8::int"

#define S_ONE "($1::smallint IS NULL OR g.state = $1::smallint)"
#define S_ANY "g.state = ANY($1::smallint[])"

const dtx_store_stmt_t dtx_admin_sql[DTX_ASQL_COUNT] = {
    [DTX_ASQL_CUSTOM_PLAN] = { "dtx_a_custom_plan",
        "SELECT set_config('plan_cache_mode', 'force_custom_plan', true)", 0 },
    [DTX_ASQL_LIST_DESC] = { "dtx_a_list_desc", S_LIST(S_ONE, "DESC"), 8 },
    [DTX_ASQL_LIST_ASC] = { "dtx_a_list_asc", S_LIST(S_ONE, "ASC"), 8 },
    [DTX_ASQL_LIST_DESC_ANY] = { "dtx_a_list_desc_any", S_LIST(S_ANY, "DESC"), 8 },
    [DTX_ASQL_LIST_ASC_ANY] = { "dtx_a_list_asc_any", S_LIST(S_ANY, "ASC"), 8 },
    /* Unfinished states exactly (few rows, by the state index); finished
     * ones over the window since_gid (a primary-key range). */
    [DTX_ASQL_COUNTS] = { "dtx_a_counts",
        "SELECT state, count(*) FROM dtx_global WHERE state IN (1, 2, 4, 6) GROUP BY state"
        " UNION ALL"
        " SELECT state, count(*) FROM dtx_global WHERE state IN (3, 5) AND gid >= $1::text"
        " GROUP BY state", 1 },
    [DTX_ASQL_GLOBAL] = { "dtx_a_global",
        "SELECT g.gid, g.mode, g.state, coalesce(g.decision, 0), g.branches, "
        S_MS("g.created_at") ", " S_MS("g.updated_at") ", " S_MS("g.deadline") ","
        " coalesce(g.owner, ''), g.owner_epoch,"
        " EXISTS (SELECT 1 FROM dtx_node n WHERE n.node_id = g.owner"
        "         AND n.epoch = g.owner_epoch AND n.lease_until > now()),"
        " (SELECT count(*) FROM dtx_branch_now b WHERE b.gid = g.gid AND b.state = "
        S_STR(DTX_BRANCH_TRYING) "),"
        " (SELECT count(*) FROM dtx_branch_now b WHERE b.gid = g.gid AND b.state = "
        S_STR(DTX_BRANCH_REFUSED) "), "
        S_MS("g.decided_at") ", " S_MS("g.stuck_at") ", " S_MS("g.finished_at") ","
        " coalesce(g.traceparent, ''), coalesce(g.checkback, '')"
        " FROM dtx_global g WHERE g.gid = $1", 1 },
    [DTX_ASQL_BRANCHES] = { "dtx_a_branches",
        "SELECT branch_no, resource, action, state, attempts, coalesce(last_error, ''),"
        " coalesce(vote, 0), " S_MS("created_at") ", " S_MS("voted_at") ", " S_MS("updated_at")
        ", length(payload), coalesce(undo_action, ''),"
        " coalesce(array_to_string(after_steps, ','), ''), step_flags"
        " FROM dtx_branch_now WHERE gid = $1 ORDER BY branch_no", 1 },
    [DTX_ASQL_ATTEMPTS] = { "dtx_a_attempts",
        "SELECT branch_no, attempt, " S_MS("at") ", coalesce(error, '')"
        " FROM dtx_attempt WHERE gid = $1 ORDER BY at, branch_no LIMIT 1000", 1 },
    [DTX_ASQL_AUDIT] = { "dtx_a_audit",
        "SELECT id, action, actor, coalesce(operator, ''), reason, " S_MS("requested_at")
        ", coalesce(result, ''), coalesce(detail, ''), coalesce(http_status, 0), node_id"
        " FROM dtx_audit WHERE gid = $1 ORDER BY id", 1 },
    /* Everything that happened to a transaction, oldest first. */
    [DTX_ASQL_TIMELINE] = { "dtx_a_timeline",
        "SELECT at, event, branch, detail FROM ("
        " SELECT " S_MS("created_at") " AS at, 0 AS ord, 'begun' AS event, 0 AS branch,"
        "   CASE mode WHEN 2 THEN '2pc' WHEN 3 THEN 'saga' WHEN 4 THEN 'msg' ELSE 'tcc' END AS detail FROM dtx_global WHERE gid = $1"
        " UNION ALL SELECT " S_MS("created_at") ", 1, 'branch recorded', branch_no,"
        "   resource || ' ' || action FROM dtx_branch_now WHERE gid = $1"
        " UNION ALL SELECT " S_MS("voted_at") ", 2, CASE vote WHEN 2 THEN 'voted yes'"
        "   ELSE 'voted no' END, branch_no, coalesce(CASE vote WHEN 3 THEN last_error END, '')"
        "   FROM dtx_branch_now WHERE gid = $1 AND voted_at IS NOT NULL"
        " UNION ALL SELECT " S_MS("decided_at") ", 3, CASE decision WHEN 2 THEN 'decided commit'"
        "   ELSE 'decided abort' END, 0, '' FROM dtx_global WHERE gid = $1"
        "   AND decided_at IS NOT NULL"
        " UNION ALL SELECT " S_MS("a.at") ", 4, CASE WHEN g.mode = 2 THEN"
        "   CASE g.decision WHEN 2 THEN 'commit failed' ELSE 'abort failed' END"
        "   ELSE CASE g.decision WHEN 2 THEN 'confirm failed' ELSE 'cancel failed' END END,"
        "   a.branch_no, 'attempt ' || a.attempt || ': '"
        "   || coalesce(a.error, '') FROM dtx_attempt a JOIN dtx_global g USING (gid)"
        "   WHERE a.gid = $1"
        " UNION ALL SELECT " S_MS("stuck_at") ", 5, 'stuck', 0, 'retry budget spent'"
        "   FROM dtx_global WHERE gid = $1 AND stuck_at IS NOT NULL"
        " UNION ALL SELECT " S_MS("requested_at") ", 6, 'operator ' || action, 0,"
        "   actor || coalesce(' (' || operator || ')', '') || ': ' || reason || ' -> '"
        "   || coalesce(result, 'pending') || coalesce(' (' || detail || ')', '')"
        "   FROM dtx_audit WHERE gid = $1"
        " UNION ALL SELECT " S_MS("updated_at") ", 7, CASE state WHEN 4 THEN 'confirmed'"
        "   ELSE 'cancelled' END, branch_no, 'after ' || attempts || ' attempt(s)'"
        "   FROM dtx_branch_now WHERE gid = $1 AND state IN (4, 5)"
        " UNION ALL SELECT " S_MS("finished_at") ", 8, CASE state WHEN 3 THEN 'committed'"
        "   ELSE 'aborted' END, 0, '' FROM dtx_global WHERE gid = $1"
        "   AND finished_at IS NOT NULL AND state IN (3, 5)"
        ") t ORDER BY at, ord, branch LIMIT 2000", 1 },
    [DTX_ASQL_AUDIT_BEGIN] = { "dtx_a_audit_begin",
        "INSERT INTO dtx_audit (gid, action, actor, operator, reason, node_id)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", 6 },
    [DTX_ASQL_AUDIT_END] = { "dtx_a_audit_end",
        "UPDATE dtx_audit SET result = $2, detail = $3, http_status = $4::int,"
        " finished_at = now() WHERE id = $1::bigint", 4 },
    /* By the partial index of unfinished transactions (stuck is one). */
    [DTX_ASQL_STUCK_COUNT] = { "dtx_a_stuck_count",
        "SELECT count(*) FROM dtx_global WHERE state = 6 AND state IN (1, 2, 4, 6)", 0 },
    [DTX_ASQL_SCHEMA] = { "dtx_a_schema",
        "SELECT coalesce(max(version), 0) FROM dtx_schema_version"
        " WHERE component = 'coordinator'", 0 },
};
