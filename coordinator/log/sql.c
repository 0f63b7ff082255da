/*
 * sql.c — every statement the coordinator runs against its log, prepared
 * once per connection.
 *
 * Two guards in every write:
 *  - the state it expects (`state = …`), so a write based on a stale
 *    in-memory copy changes nothing instead of corrupting the log;
 *  - fencing: the writer's (owner, owner_epoch, owner_gen) must still be
 *    the transaction's; every take-over bumps owner_gen, so a node that
 *    lost a transaction and took it back later cannot write from the copy
 *    it held before (the A-B-A case the drill found). Global-row writes check it on the row they update (so
 *    they serialise with a claim, an UPDATE of that same row). Branch
 *    writes check it with a plain subquery, without locking the global row
 *    (a FOR SHARE lock costs a tuple write per statement): one that started
 *    before a claim committed may still land after the claimer read the
 *    branches. That is harmless by construction — the claimer then holds a
 *    stale branch state, and every branch write is idempotent and
 *    conditional (a Confirm/Cancel delivered again, a conditional update
 *    that matches 0 rows and makes it re-read) — while every DECISION is a
 *    global-row write and so can never be made by a fenced-off node.
 * Two invariants are also checked by the statements themselves, so that no
 * bug in memory can break them in the log: a decision names the number of
 * branches its writer knows (it must be all of them), and the final state
 * is only written when every branch is confirmed or cancelled.
 * A write that matches no row reports 0 rows; the caller then discards its
 * copy of the transaction and re-reads the log.
 *
 * The fourth field marks a statement lazy (store.h): one whose loss in a
 * server crash costs only an idempotent redelivery or a presumed abort —
 * docs/operations.md, "durability table", says which and why.
 */
#include "core/txn.h"
#include "dtx/types.h"
#include "sql.h"

/* The state numbers in the guards are the state machine's own constants
 * (dtx/types.h for a transaction, core/txn.h for a branch), spelled into
 * the text by the preprocessor: the log and the machine cannot disagree. */
#define S_STR_(x) #x
#define S_STR(x) S_STR_(x)
#define G_ACTIVE     S_STR(DTX_STATE_ACTIVE)
#define G_COMMITTING S_STR(DTX_STATE_COMMITTING)
#define G_ABORTING   S_STR(DTX_STATE_ABORTING)
#define G_STUCK      S_STR(DTX_STATE_STUCK)
#define G_COMMITTED  S_STR(DTX_STATE_COMMITTED)
#define G_ABORTED    S_STR(DTX_STATE_ABORTED)
#define B_TRYING     S_STR(DTX_BRANCH_TRYING)
#define B_TRIED      S_STR(DTX_BRANCH_TRIED)
#define B_REFUSED    S_STR(DTX_BRANCH_REFUSED)
#define B_CONFIRMED  S_STR(DTX_BRANCH_CONFIRMED)
#define B_CANCELLED  S_STR(DTX_BRANCH_CANCELLED)

#define S_FENCE_BRANCH(owner, epoch, gen)                                         \
    "WITH g AS (SELECT 1 FROM dtx_global WHERE gid = $1 AND owner = " owner      \
    " AND owner_epoch = " epoch "::bigint AND owner_gen = " gen "::bigint) "

/* Set forms (log/batch.h): every parameter an array, one element per
 * operation; each row fenced on its own values; each row returned led by
 * its gid. A constant state ("d.state + 0 = ...") is kept out of the
 * index conditions: the unfinished rows' index (state, gid) would otherwise
 * offer a scan of every row in that state, which a table that looked empty
 * when the plan was made makes look cheapest (dtx_coord_sql_session). */
#define S_FENCE_ROW(gid)                                                          \
    " AND EXISTS (SELECT 1 FROM dtx_global f WHERE f.gid = " gid " AND f.owner = v.own" \
    " AND f.owner_epoch = v.ep AND f.owner_gen = v.gen)"
#define S_SET_BRANCH_ADD                                                          \
    "WITH v AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::text[]," \
    "                                $6::bigint[], $7::bigint[]) AS v(gid, res, act, pay, own, ep, gen)),"  \
    " g AS (UPDATE dtx_global d SET branches = d.branches + 1, updated_at = now() FROM v"   \
    "       WHERE d.gid = v.gid AND d.state + 0 = " G_ACTIVE " AND d.owner = v.own"            \
    "         AND d.owner_epoch = v.ep AND d.owner_gen = v.gen RETURNING d.gid, d.branches)" \
    " INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state)"           \
    " SELECT g.gid, g.branches, v.res, v.act, v.pay, " B_TRYING " FROM g JOIN v ON v.gid = g.gid" \
    " RETURNING gid, branch_no"
#define S_SET_BRANCH_FIRST                                                        \
    "WITH v AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::text[]," \
    "                                $6::bigint[], $7::smallint[], $8::bigint[], $9::text[], $10::text[])" \
    "           AS v(gid, res, act, pay, own, ep, mode, dl, ini, tp)),"                     \
    " g AS (INSERT INTO dtx_global (gid, mode, state, deadline, owner, owner_epoch,"       \
    "                               next_attempt_at, initiator, traceparent, branches)"     \
    "       SELECT v.gid, v.mode, " G_ACTIVE ", to_timestamp(v.dl / 1000.0), v.own, v.ep,"  \
    "              to_timestamp(v.dl / 1000.0), v.ini, nullif(v.tp, ''), 1 FROM v"           \
    "       ON CONFLICT (gid) DO NOTHING RETURNING gid, branches)"                         \
    " INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state)"           \
    " SELECT g.gid, g.branches, v.res, v.act, v.pay, " B_TRYING " FROM g JOIN v ON v.gid = g.gid" \
    " RETURNING gid, branch_no"
#define S_SET_BRANCH_VOTE                                                         \
    "WITH v AS (SELECT * FROM unnest($1::text[], $2::int[], $3::smallint[], $4::text[], $5::text[]," \
    "                                $6::bigint[], $7::bigint[]) AS v(gid, no, st, err, own, ep, gen))" \
    " UPDATE dtx_branch b SET state = v.st, vote = v.st, attempts = 1, last_error = v.err,"  \
    "   updated_at = now(), voted_at = now()"                                                \
    " FROM v WHERE b.gid = v.gid AND b.branch_no = v.no AND b.state = " B_TRYING            \
    S_FENCE_ROW("v.gid") " RETURNING b.gid, 1"
#define S_SET_DECIDE                                                              \
    "WITH v AS (SELECT * FROM unnest($1::text[], $2::smallint[], $3::smallint[], $4::text[], $5::bigint[]," \
    "                                $6::bool[], $7::bigint[], $8::int[])"                   \
    "           AS v(gid, st, exp, own, ep, mark, gen, nb)),"                                \
    " d AS (UPDATE dtx_global g SET state = v.st, decision = v.st, updated_at = now(),"      \
    "       next_attempt_at = now(), decided_at = now()"                                     \
    "       FROM v WHERE g.gid = v.gid AND g.state = v.exp AND g.owner = v.own"              \
    "         AND g.owner_epoch = v.ep AND g.owner_gen = v.gen AND g.branches = v.nb"        \
    "       RETURNING g.gid, g.state, v.mark),"                                              \
    " b AS (UPDATE dtx_branch x SET state = " B_TRIED ", vote = " B_TRIED ", attempts = 1,"  \
    "       updated_at = now(), voted_at = now()"                                            \
    "       FROM d WHERE d.mark AND x.gid = d.gid AND x.state = " B_TRYING ")"              \
    " SELECT gid, state FROM d"
#define S_SET_BRANCH_DONE                                                         \
    "WITH v AS (SELECT * FROM unnest($1::text[], $2::int[], $3::smallint[], $4::int[], $5::text[]," \
    "                                $6::bigint[], $7::bigint[]) AS v(gid, no, st, att, own, ep, gen))" \
    " UPDATE dtx_branch b SET state = v.st, attempts = v.att, updated_at = now()"            \
    " FROM v WHERE b.gid = v.gid AND b.branch_no = v.no"                                     \
    "   AND b.state IN (" B_TRYING ", " B_TRIED ", " B_REFUSED ")"                            \
    S_FENCE_ROW("v.gid") " RETURNING b.gid, 1"
#define S_SET_FINISH                                                              \
    "WITH v AS (SELECT * FROM unnest($1::text[], $2::smallint[], $3::smallint[], $4::text[], $5::bigint[]," \
    "                                $6::bigint[]) AS v(gid, fin, exp, own, ep, gen))"       \
    " UPDATE dtx_global d SET state = v.fin, updated_at = now(), next_attempt_at = NULL,"    \
    "   finished_at = now()"                                                                 \
    " FROM v WHERE d.gid = v.gid AND d.state = v.exp AND d.owner = v.own"                    \
    "   AND d.owner_epoch = v.ep AND d.owner_gen = v.gen"                                    \
    "   AND NOT EXISTS (SELECT 1 FROM dtx_branch x WHERE x.gid = v.gid"                      \
    "                   AND x.state NOT IN (" B_CONFIRMED ", " B_CANCELLED "))"              \
    "   AND (d.mode <> " S_STR(DTX_MODE_SAGA) " OR NOT EXISTS (SELECT 1 FROM dtx_branch x"   \
    "        WHERE x.gid = v.gid AND x.state <> CASE WHEN v.fin = " G_COMMITTED              \
    "        THEN " B_CONFIRMED " ELSE " B_CANCELLED " END))"                                 \
    " RETURNING d.gid, 1"

const dtx_store_stmt_t dtx_coord_sql[DTX_SQL_COUNT] = {
    [DTX_SQL_BEGIN] = { "dtx_begin",
        "INSERT INTO dtx_global (gid, mode, state, deadline, owner, owner_epoch, next_attempt_at,"
        "                        initiator, traceparent)"
        " VALUES ($1, $2::smallint, " G_ACTIVE ", to_timestamp($3::bigint / 1000.0), $4, $5::bigint,"
        "         to_timestamp($3::bigint / 1000.0), $6, nullif($7, ''))", 7 },
    [DTX_SQL_BRANCH_ADD] = { "dtx_branch_add",
        "WITH g AS (UPDATE dtx_global SET branches = branches + 1, updated_at = now()"
        "           WHERE gid = $1 AND state = " G_ACTIVE " AND owner = $5 AND owner_epoch = $6::bigint"
        "             AND owner_gen = $7::bigint RETURNING branches)"
        " INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state)"
        " SELECT $1, g.branches, $2, $3, $4, " B_TRYING " FROM g RETURNING branch_no", 7, 0, S_SET_BRANCH_ADD },
    /* The first branch of a transaction creates its global row too (BEGIN
     * wrote nothing: a transaction without branches has nothing to undo).
     * A gid already in the log (an id collision) inserts nothing and
     * returns no row; nothing else in the batch fails with it. */
    [DTX_SQL_BRANCH_FIRST] = { "dtx_branch_first",
        "WITH g AS (INSERT INTO dtx_global (gid, mode, state, deadline, owner, owner_epoch,"
        "                                  next_attempt_at, initiator, traceparent, branches)"
        "           VALUES ($1, $7::smallint, " G_ACTIVE ", to_timestamp($8::bigint / 1000.0), $5,"
        "                   $6::bigint, to_timestamp($8::bigint / 1000.0), $9, nullif($10, ''), 1)"
        "           ON CONFLICT (gid) DO NOTHING RETURNING branches)"
        " INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state)"
        " SELECT $1, g.branches, $2, $3, $4, " B_TRYING " FROM g RETURNING branch_no", 10, 0, S_SET_BRANCH_FIRST },
    [DTX_SQL_BRANCH_VOTE] = { "dtx_branch_vote",
        S_FENCE_BRANCH("$5", "$6", "$7")
        "UPDATE dtx_branch SET state = $3::smallint, vote = $3::smallint, attempts = 1,"
        " last_error = $4, updated_at = now(), voted_at = now()"
        " WHERE gid = $1 AND branch_no = $2::int AND state = " B_TRYING
        " AND EXISTS (SELECT 1 FROM g)", 6, 1, S_SET_BRANCH_VOTE },
    /* $6: a 2PC commit decision also records every enlisted branch as
     * prepared (it voted yes), in the same statement. */
    [DTX_SQL_DECIDE] = { "dtx_decide",
        "WITH d AS (UPDATE dtx_global SET state = $2::smallint, decision = $2::smallint,"
        "           updated_at = now(), next_attempt_at = now(), decided_at = now()"
        "           WHERE gid = $1 AND state = $3::smallint AND owner = $4"
        "             AND owner_epoch = $5::bigint AND owner_gen = $7::bigint"
        "             AND branches = $8::int RETURNING state),"
        " b AS (UPDATE dtx_branch SET state = " B_TRIED ", vote = " B_TRIED ", attempts = 1, updated_at = now(),"
        "       voted_at = now()"
        "       WHERE $6::bool AND gid = $1 AND state = " B_TRYING " AND EXISTS (SELECT 1 FROM d))"
        " SELECT state FROM d", 8, 0, S_SET_DECIDE },
    [DTX_SQL_PREPARING] = { "dtx_preparing",
        "UPDATE dtx_global SET preparing = true, updated_at = now()"
        " WHERE gid = $1 AND state = " G_ACTIVE " AND owner = $2 AND owner_epoch = $3::bigint"
        "   AND owner_gen = $4::bigint", 4, 1 },
    [DTX_SQL_BRANCH_DONE] = { "dtx_branch_done",
        S_FENCE_BRANCH("$5", "$6", "$7")
        "UPDATE dtx_branch SET state = $3::smallint, attempts = $4::int, updated_at = now()"
        " WHERE gid = $1 AND branch_no = $2::int AND state IN (" B_TRYING ", " B_TRIED ", " B_REFUSED ")"
        " AND EXISTS (SELECT 1 FROM g)", 7, 1, S_SET_BRANCH_DONE },
    [DTX_SQL_BRANCH_ATTEMPT] = { "dtx_branch_attempt",
        S_FENCE_BRANCH("$5", "$6", "$7")
        "UPDATE dtx_branch SET attempts = $3::int, last_error = $4, updated_at = now()"
        " WHERE gid = $1 AND branch_no = $2::int AND EXISTS (SELECT 1 FROM g)", 7, 1 },
    [DTX_SQL_FINISH] = { "dtx_finish",
        "UPDATE dtx_global SET state = $2::smallint, updated_at = now(), next_attempt_at = NULL,"
        " finished_at = now()"
        " WHERE gid = $1 AND state = $3::smallint AND owner = $4 AND owner_epoch = $5::bigint"
        "   AND owner_gen = $6::bigint"
        "   AND NOT EXISTS (SELECT 1 FROM dtx_branch WHERE gid = $1 AND state NOT IN (" B_CONFIRMED ", " B_CANCELLED "))"
        /* A Saga commits with every step done, aborts with every step compensated. */
        "   AND (mode <> " S_STR(DTX_MODE_SAGA) " OR NOT EXISTS (SELECT 1 FROM dtx_branch WHERE gid = $1"
        "        AND state <> CASE WHEN $2::smallint = " G_COMMITTED " THEN " B_CONFIRMED " ELSE " B_CANCELLED " END))", 6, 1, S_SET_FINISH },
    [DTX_SQL_STUCK] = { "dtx_stuck",
        "UPDATE dtx_global SET state = " G_STUCK ", decision = $2::smallint, updated_at = now(),"
        " next_attempt_at = NULL, stuck_at = now()"
        " WHERE gid = $1 AND state = $2::smallint AND owner = $3 AND owner_epoch = $4::bigint"
        "   AND owner_gen = $5::bigint", 5 },
    [DTX_SQL_RESUME] = { "dtx_resume",
        "WITH g AS (UPDATE dtx_global SET state = decision, updated_at = now(),"
        "           next_attempt_at = now()"
        "           WHERE gid = $1 AND state = " G_STUCK " AND owner = $2 AND owner_epoch = $3::bigint"
        "             AND owner_gen = $4::bigint RETURNING state, mode),"
        " b AS (UPDATE dtx_branch SET attempts = 0, updated_at = now()"
        "       WHERE gid = $1 AND (state IN (" B_TRYING ", " B_TRIED ", " B_REFUSED ")"
        "         OR (state = " B_CONFIRMED " AND EXISTS (SELECT 1 FROM g WHERE g.mode = " S_STR(DTX_MODE_SAGA) ")))"
        "         AND EXISTS (SELECT 1 FROM g))"
        " SELECT state FROM g", 4 },
    [DTX_SQL_CLAIM] = { "dtx_claim",
        "UPDATE dtx_global g SET owner = $2, owner_epoch = $3::bigint,"
        " owner_gen = owner_gen + 1, updated_at = now()"
        " WHERE gid = $1 AND state IN (" G_ACTIVE ", " G_COMMITTING ", " G_ABORTING ", " G_STUCK ")"
        "   AND NOT (owner IS NOT DISTINCT FROM $2 AND owner_epoch = $3::bigint)"
        "   AND (($4::bool AND state IN (" G_ACTIVE ", " G_STUCK ")"
        "         AND ($5::text IS NULL OR coalesce(initiator, '') IN ('', $5)))"
        "        OR NOT EXISTS (SELECT 1 FROM dtx_node n WHERE n.node_id = g.owner"
        "                       AND n.epoch = g.owner_epoch AND n.lease_until > now()))", 5 },
    [DTX_SQL_LOAD_GLOBAL] = { "dtx_load_global",
        "SELECT mode, state, (extract(epoch FROM deadline) * 1000)::bigint,"
        " coalesce(owner, ''), owner_epoch, coalesce(decision, 0), preparing, owner_gen,"
        " coalesce(initiator, ''), coalesce(traceparent, ''), coalesce(checkback, '')"
        " FROM dtx_global WHERE gid = $1", 1 },
    [DTX_SQL_LOAD_BRANCHES] = { "dtx_load_branches",
        "SELECT branch_no, resource, action, payload, state, attempts,"
        " coalesce(undo_action, ''), coalesce(array_to_string(after_steps, ','), ''), step_flags"
        " FROM dtx_branch WHERE gid = $1 ORDER BY branch_no", 1 },
    [DTX_SQL_SCAN] = { "dtx_scan",
        "SELECT gid FROM dtx_global"
        " WHERE state IN (" G_ACTIVE ", " G_COMMITTING ", " G_ABORTING ") AND owner = $3 AND owner_epoch = $4::bigint"
        "   AND ((state = " G_ACTIVE " AND deadline < now())"
        /* An active Saga runs without its initiator: due like a decision. */
        "     OR (state = " G_ACTIVE " AND mode = " S_STR(DTX_MODE_SAGA) ""
        "         AND next_attempt_at < now() - $2::int * interval '1 ms')"
        "     OR (state <> " G_ACTIVE " AND next_attempt_at < now() - $2::int * interval '1 ms'))"
        " ORDER BY next_attempt_at LIMIT $1::int", 4 },
    [DTX_SQL_CLAIM_ORPHANS] = { "dtx_claim_orphans",
        "UPDATE dtx_global SET owner = $2, owner_epoch = $3::bigint,"
        " owner_gen = owner_gen + 1, updated_at = now()"
        " WHERE gid IN (SELECT o.gid FROM dtx_global o"
        "               WHERE o.state IN (" G_ACTIVE ", " G_COMMITTING ", " G_ABORTING ")"
        "                 AND NOT EXISTS (SELECT 1 FROM dtx_node n WHERE n.node_id = o.owner"
        "                                 AND n.epoch = o.owner_epoch AND n.lease_until > now())"
        "               ORDER BY o.next_attempt_at LIMIT $1::int FOR UPDATE SKIP LOCKED)"
        " RETURNING gid", 3 },
    [DTX_SQL_STATUS] = { "dtx_status",
        "SELECT state FROM dtx_global WHERE gid = $1", 1 },
    [DTX_SQL_NODE_RENEW] = { "dtx_node_renew",
        "UPDATE dtx_node SET lease_until = now() + $3::int * interval '1 ms', updated_at = now()"
        " WHERE node_id = $1 AND epoch = $2::bigint", 3 },
    /* Retention (engine/retention.c): up to $2 finished transactions
     * whose final state is older than $1 ms, oldest first, with their
     * branches (dtx_attempt rows go by their foreign key's cascade). Only
     * COMMITTED and ABORTED rows, checked again on the row deleted; rows
     * another node is deleting now are skipped, not waited for. */
    [DTX_SQL_RETAIN] = { "dtx_retain",
        "WITH g AS (DELETE FROM dtx_global"
        "           WHERE gid IN (SELECT gid FROM dtx_global"
        "                         WHERE state IN (" G_COMMITTED ", " G_ABORTED ")"
        "                           AND finished_at < now() - $1::bigint * interval '1 ms'"
        "                         ORDER BY finished_at LIMIT $2::int FOR UPDATE SKIP LOCKED)"
        "             AND state IN (" G_COMMITTED ", " G_ABORTED ") RETURNING gid),"
        " b AS (DELETE FROM dtx_branch WHERE gid IN (SELECT gid FROM g) RETURNING 1)"
        " SELECT (SELECT count(*) FROM g), (SELECT count(*) FROM b)", 2, 1 },
    /* A Saga and its whole plan, in one statement (so both or neither are
     * in the log before any action leaves). $7 lists the steps as JSON
     * objects {n step number, r resource, a action, u compensation ("" none),
     * f flags, d dependency array literal, o offset, l length}; the
     * payloads are one binary blob ($8) cut at o/l. */
    [DTX_SQL_SAGA_BEGIN] = { "dtx_saga_begin",
        "WITH g AS (INSERT INTO dtx_global (gid, mode, state, deadline, owner, owner_epoch,"
        "                                  next_attempt_at, initiator, traceparent, branches)"
        "           VALUES ($1, " S_STR(DTX_MODE_SAGA) ", " G_ACTIVE ", to_timestamp($2::bigint / 1000.0),"
        "                   $3, $4::bigint, now(), $5, nullif($6, ''), jsonb_array_length($7::jsonb))"
        "           RETURNING gid)"
        " INSERT INTO dtx_branch (gid, branch_no, resource, action, undo_action, step_flags,"
        "                         after_steps, payload, state)"
        " SELECT g.gid, s.n, s.r, s.a, nullif(s.u, ''), s.f, nullif(s.d::smallint[], '{}'),"
        "        substring($8::bytea FROM s.o + 1 FOR s.l), " B_TRYING
        " FROM g, jsonb_to_recordset($7::jsonb) AS s(n int, r text, a text, u text, f smallint,"
        "                                            d text, o int, l int)", 8 },
    /* One step moves from the state memory saw ($8) to $3 (a refusal is
     * DTX_SQL_BRANCH_VOTE, which keeps its reason). Fenced like every
     * branch write. */
    [DTX_SQL_STEP_SET] = { "dtx_step_set",
        S_FENCE_BRANCH("$5", "$6", "$7")
        "UPDATE dtx_branch SET state = $3::smallint, attempts = $4::int, updated_at = now()"
        " WHERE gid = $1 AND branch_no = $2::int AND state = $8::smallint"
        " AND EXISTS (SELECT 1 FROM g)", 8 },
    /* A transactional message and its destinations, in one statement
     * (both or neither are in the log when BEGIN_OK leaves). $7 is the
     * check-back resource; $8 lists the destinations as JSON objects {n
     * number, r resource, a action, o offset, l length}, cut from the
     * payload blob $9. Destinations start TRIED: nothing to vote on. */
    [DTX_SQL_TMSG_BEGIN] = { "dtx_tmsg_begin",
        "WITH g AS (INSERT INTO dtx_global (gid, mode, state, deadline, owner, owner_epoch,"
        "                                  next_attempt_at, initiator, traceparent, branches,"
        "                                  checkback)"
        "           VALUES ($1, " S_STR(DTX_MODE_MSG) ", " G_ACTIVE ", to_timestamp($2::bigint / 1000.0),"
        "                   $3, $4::bigint, to_timestamp($2::bigint / 1000.0), $5, nullif($6, ''),"
        "                   jsonb_array_length($8::jsonb), $7)"
        "           RETURNING gid)"
        " INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state, vote)"
        " SELECT g.gid, s.n, s.r, s.a, substring($9::bytea FROM s.o + 1 FOR s.l), " B_TRIED ", " B_TRIED
        " FROM g, jsonb_to_recordset($8::jsonb) AS s(n int, r text, a text, o int, l int)", 9 },
};

/* Every statement above finds its rows by key (a set form: one key per
 * array element, unnest()ed), or scans a partial index of the unfinished
 * or finished rows. The plans that says are index lookups in nested loops,
 * whatever the tables' statistics: a generic plan made while a table is
 * (or looks) empty — a fresh log, or right after it was emptied — would
 * otherwise hash-join a sequential scan, or read every unfinished row of
 * one state per array element, and keep doing so as the table grows until
 * the next ANALYZE (measured: PostgreSQL's CPU per transaction several
 * times higher). So: one generic plan per statement (no planning per
 * execution), and only nested loops of index lookups: no sequential or
 * bitmap scan, no hash or merge join, no materialized inner side. */
const char dtx_coord_sql_session[] =
    "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off;"
    " SET enable_bitmapscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off;"
    " SET enable_material = off";
