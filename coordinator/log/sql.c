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
 * Rows per transaction: the decision and the final state are written to
 * the global row only. A branch row keeps what was written to it (its
 * insert, a vote, an acknowledgement written on its own, a Saga step);
 * its effective state is read through the view dtx_branch_now
 * (sql/coordinator/014_branch_now.sql: committed -> confirmed, aborted ->
 * cancelled, `trying` under a commit decision -> tried), and every reader
 * of a branch's state reads that view. A TCC_RUN writes 3 rows inserted
 * (global and its 2 branches, in one statement: the row is inserted with
 * its branch count) and 2 updated (the decision, the final state); a TCC
 * transaction with separate TRYs adds the count's update for its second
 * branch (DTX_SQL_BRANCH_ADD) and its 2 votes.
 * The writes that guard on a branch row's state stay correct on a row
 * that still says `trying` where the view says more: dtx_branch_done and
 * dtx_resume accept `trying` as they accept `tried` (their fence is the
 * global row's owner; a late acknowledgement of a finished transaction
 * writes the state the view shows already), and dtx_branch_vote is only
 * sent while the transaction is active (no commit decision is made with
 * a vote unknown). A Saga's rows are read as they are: its steps are
 * written, and its final write checks them in dtx_branch itself.
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
 * operation, the gids ($1) distinct (but in dtx_branch_vote's and
 * dtx_branch_done's: below). Each statement touches its tables
 * only through their primary keys: rows are found by `gid = ANY($1)`
 * (an index condition alone), and each row takes its own values, and
 * meets its own fence, by its gid's position in $1 (by its set key's in
 * $8 for the branch writes below) (S_AT: $1 comes sorted
 * byte by byte, log/batch.h, so width_bucket finds it by binary search,
 * where array_position would compare half the array) — so no join
 * between the arrays and a table, whose generic plan (made once, maybe
 * while the table was empty) could turn into a scan. A branch write checks
 * its global row's fence with a correlated EXISTS kept a subplan (OFFSET
 * 0: a primary-key lookup per row, never a join). A constant state is
 * kept out of the index conditions (`state + 0`): the unfinished rows'
 * index (state, gid) would otherwise be a candidate; a branch write names
 * branch_no too (`= ANY($2)`, or `>= 1`), so that the primary key (gid,
 * branch_no) always costs less than dtx_branch_resource_gid (resource,
 * gid), which a plan made on stale statistics picked for `gid = ANY` — a
 * scan of the whole index. Each returns one row per row the single form
 * touches, led by its gid (its set key). */
#define S_POS(col) "width_bucket(" col " COLLATE \"C\", $1::text[])"
#define S_AT(n, type, col) "($" n "::" type "[])[" S_POS(col) "]"
/* The branch writes keyed by branch (store_types.h's set_by_branch): a
 * transaction's votes, or its acknowledgements written on their own, of
 * one batch in one set. Each row takes its values and meets its fence
 * (S_FENCE_SET) by its set key "gid/branch" in $8 (sorted byte by byte,
 * as $1 is for the others); a row whose set key is not there (another
 * branch of a gid in the set) is left alone, and a row's result is led by
 * its set key. */
#define S_BRANCH_KEY "(b.gid || '/' || b.branch_no::text)"
#define S_AT_BRANCH(n, type)                                                             \
    "($" n "::" type "[])[width_bucket(" S_BRANCH_KEY " COLLATE \"C\", $8::text[])]"
#define S_FENCE_SET                                                                      \
    "   AND EXISTS (SELECT 1 FROM dtx_global f WHERE f.gid = b.gid"                        \
    "     AND f.owner = " S_AT_BRANCH("5", "text")                                         \
    "     AND f.owner_epoch = " S_AT_BRANCH("6", "bigint")                                 \
    "     AND f.owner_gen = " S_AT_BRANCH("7", "bigint") " OFFSET 0)"
#define S_SET_BRANCH_ADD                                                                 \
    "WITH g AS (UPDATE dtx_global d SET branches = d.branches + 1, updated_at = now()"     \
    "           WHERE d.gid = ANY($1::text[]) AND d.state + 0 = " G_ACTIVE                 \
    "             AND d.owner = " S_AT("5", "text", "d.gid")                                \
    "             AND d.owner_epoch = " S_AT("6", "bigint", "d.gid")                        \
    "             AND d.owner_gen = " S_AT("7", "bigint", "d.gid") " RETURNING d.gid, d.branches)" \
    " INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state)"          \
    " SELECT g.gid, g.branches, ($2::text[])[p.i], ($3::text[])[p.i], ($4::bytea[])[p.i], " B_TRYING \
    " FROM g, LATERAL " S_POS("g.gid") " AS p(i) RETURNING gid, branch_no"
/* Each operation's branches are arrays in text form ($2, $3, $12: one
 * array literal per operation), unnested per inserted global row; a
 * payload is cut from its operation's blob as in the single form. */
#define S_SET_BRANCH_FIRST                                                               \
    "WITH g AS (INSERT INTO dtx_global (gid, mode, state, deadline, owner, owner_epoch,"   \
    "                                  next_attempt_at, initiator, traceparent, branches," \
    "                                  preparing)"                                         \
    "           SELECT v.gid, v.mode, " G_ACTIVE ", to_timestamp(v.dl / 1000.0), v.own, v.ep," \
    "                  to_timestamp(v.dl / 1000.0), v.ini, nullif(v.tp, ''),"              \
    "                  cardinality(v.res::text[]), v.prep"                                  \
    "           FROM unnest($1::text[], $5::text[], $6::bigint[], $7::smallint[], $8::bigint[]," \
    "                       $9::text[], $10::text[], $11::bool[], $2::text[])"              \
    "                AS v(gid, own, ep, mode, dl, ini, tp, prep, res)"                     \
    "           ON CONFLICT (gid) DO NOTHING RETURNING gid)"                                \
    " INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state)"          \
    " SELECT g.gid, b.n, b.r, b.a, substring(($4::bytea[])[p.i] FROM coalesce(x.e[b.n - 1], 0) + 1" \
    "                                   FOR b.e - coalesce(x.e[b.n - 1], 0)), " B_TRYING     \
    " FROM g, LATERAL " S_POS("g.gid") " AS p(i),"                                         \
    "      LATERAL (SELECT (($12::text[])[p.i])::int[] AS e) AS x,"                        \
    "      LATERAL unnest((($2::text[])[p.i])::text[], (($3::text[])[p.i])::text[], x.e)"  \
    "              WITH ORDINALITY AS b(r, a, e, n)"                                      \
    " RETURNING gid, branch_no"
#define S_SET_BRANCH_VOTE                                                                \
    "UPDATE dtx_branch b SET state = " S_AT_BRANCH("3", "smallint") ","                  \
    " vote = " S_AT_BRANCH("3", "smallint") ", attempts = 1,"                            \
    " last_error = " S_AT_BRANCH("4", "text") ", updated_at = now(), voted_at = now()"   \
    " WHERE b.gid = ANY($1::text[]) AND b.branch_no = ANY($2::int[])"                      \
    "   AND " S_AT_BRANCH("8", "text") " = " S_BRANCH_KEY " AND b.state = " B_TRYING      \
    S_FENCE_SET " RETURNING " S_BRANCH_KEY ", 1"
#define S_SET_DECIDE                                                                     \
    "WITH d AS (UPDATE dtx_global g SET state = " S_AT("2", "smallint", "g.gid") ","      \
    "           decision = " S_AT("2", "smallint", "g.gid") ", updated_at = now(),"       \
    "           next_attempt_at = now(), decided_at = now()"                               \
    "           WHERE g.gid = ANY($1::text[]) AND g.state = " S_AT("3", "smallint", "g.gid") \
    "             AND g.owner = " S_AT("4", "text", "g.gid")                                \
    "             AND g.owner_epoch = " S_AT("5", "bigint", "g.gid")                        \
    "             AND g.owner_gen = " S_AT("6", "bigint", "g.gid")                          \
    "             AND g.branches = " S_AT("7", "int", "g.gid")                              \
    "           RETURNING g.gid, g.state)"                                               \
    " SELECT gid, state FROM d"
#define S_SET_BRANCH_DONE                                                                \
    "UPDATE dtx_branch b SET state = " S_AT_BRANCH("3", "smallint") ","                  \
    " attempts = " S_AT_BRANCH("4", "int") ", updated_at = now()"                        \
    " WHERE b.gid = ANY($1::text[]) AND b.branch_no = ANY($2::int[])"                      \
    "   AND " S_AT_BRANCH("8", "text") " = " S_BRANCH_KEY                                 \
    "   AND b.state IN (" B_TRYING ", " B_TRIED ", " B_REFUSED ")"                        \
    S_FENCE_SET " RETURNING " S_BRANCH_KEY ", 1"
#define S_FIN_BRANCH(fin) \
    "CASE WHEN " fin " = " G_COMMITTED " THEN " B_CONFIRMED " ELSE " B_CANCELLED " END"
#define S_SET_FINISH                                                                     \
    "WITH d AS (UPDATE dtx_global g SET state = " S_AT("2", "smallint", "g.gid") ","      \
    "           updated_at = now(), next_attempt_at = NULL, finished_at = now()"           \
    "           WHERE g.gid = ANY($1::text[]) AND g.state = " S_AT("3", "smallint", "g.gid") \
    "             AND g.owner = " S_AT("4", "text", "g.gid")                                \
    "             AND g.owner_epoch = " S_AT("5", "bigint", "g.gid")                        \
    "             AND g.owner_gen = " S_AT("6", "bigint", "g.gid")                          \
    "             AND (g.mode <> " S_STR(DTX_MODE_SAGA) " OR NOT EXISTS (SELECT 1 FROM dtx_branch s" \
    "                  WHERE s.gid = g.gid AND s.branch_no >= 1 AND s.state <> "                                  \
    S_FIN_BRANCH(S_AT("2", "smallint", "g.gid")) " OFFSET 0))"                              \
    "           RETURNING g.gid)"                                                          \
    " SELECT gid, 1 FROM d"

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
        " SELECT $1, g.branches, $2, $3, $4, " B_TRYING " FROM g RETURNING branch_no", 7, 0,
        S_SET_BRANCH_ADD },
    /* The first branches of a transaction create its global row too
     * (BEGIN wrote nothing: a transaction without branches has nothing to
     * undo), all in one statement: a TRY's one branch, or a TCC_RUN's whole
     * batch. $2 and $3 are the branches' resources and actions (text[]),
     * $4 their payloads one after the other (binary), $12 where each ends
     * (int[], cumulative: branch n's payload ends at $12[n] and starts where
     * n - 1's ends, $12[0] being NULL). Branch n is the n-th element, and
     * the global row's count is the number of branches inserted with it:
     * no update of the row counts them, and a decision that names another
     * count (branches = $7) matches no row. $11 is the row's preparing flag
     * (a TCC_RUN that commits by itself). A gid already in the log (an id
     * collision) inserts nothing and returns no row; nothing else in the
     * batch fails with it. */
    [DTX_SQL_BRANCH_FIRST] = { "dtx_branch_first",
        "WITH g AS (INSERT INTO dtx_global (gid, mode, state, deadline, owner, owner_epoch,"
        "                                  next_attempt_at, initiator, traceparent, branches,"
        "                                  preparing)"
        "           VALUES ($1, $7::smallint, " G_ACTIVE ", to_timestamp($8::bigint / 1000.0), $5,"
        "                   $6::bigint, to_timestamp($8::bigint / 1000.0), $9, nullif($10, ''),"
        "                   cardinality($2::text[]), $11::bool)"
        "           ON CONFLICT (gid) DO NOTHING RETURNING gid)"
        " INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state)"
        " SELECT g.gid, b.n, b.r, b.a, substring($4::bytea FROM coalesce(($12::int[])[b.n - 1], 0) + 1"
        "                                   FOR b.e - coalesce(($12::int[])[b.n - 1], 0)), " B_TRYING
        " FROM g, unnest($2::text[], $3::text[], $12::int[]) WITH ORDINALITY AS b(r, a, e, n)"
        " RETURNING branch_no", 12, 0, S_SET_BRANCH_FIRST },
    [DTX_SQL_BRANCH_VOTE] = { "dtx_branch_vote",
        S_FENCE_BRANCH("$5", "$6", "$7")
        "UPDATE dtx_branch SET state = $3::smallint, vote = $3::smallint, attempts = 1,"
        " last_error = $4, updated_at = now(), voted_at = now()"
        " WHERE gid = $1 AND branch_no = $2::int AND state = " B_TRYING
        " AND EXISTS (SELECT 1 FROM g)", 7, 1, S_SET_BRANCH_VOTE, 1 },
    /* The global row only. A 2PC commit's or a TCC_RUN's yes votes (kept in
     * memory) are not written on their own: their branches' rows stay
     * `trying` and dtx_branch_now shows them tried once the global row
     * holds the commit decision (sql/coordinator/014_branch_now.sql). */
    [DTX_SQL_DECIDE] = { "dtx_decide",
        "WITH d AS (UPDATE dtx_global SET state = $2::smallint, decision = $2::smallint,"
        "           updated_at = now(), next_attempt_at = now(), decided_at = now()"
        "           WHERE gid = $1 AND state = $3::smallint AND owner = $4"
        "             AND owner_epoch = $5::bigint AND owner_gen = $6::bigint"
        "             AND branches = $7::int RETURNING state)"
        " SELECT state FROM d", 7, 0, S_SET_DECIDE },
    [DTX_SQL_PREPARING] = { "dtx_preparing",
        "UPDATE dtx_global SET preparing = true, updated_at = now()"
        " WHERE gid = $1 AND state = " G_ACTIVE " AND owner = $2 AND owner_epoch = $3::bigint"
        "   AND owner_gen = $4::bigint", 4, 1 },
    [DTX_SQL_BRANCH_DONE] = { "dtx_branch_done",
        S_FENCE_BRANCH("$5", "$6", "$7")
        "UPDATE dtx_branch SET state = $3::smallint, attempts = $4::int, updated_at = now()"
        " WHERE gid = $1 AND branch_no = $2::int AND state IN (" B_TRYING ", " B_TRIED ", " B_REFUSED ")"
        " AND EXISTS (SELECT 1 FROM g)", 7, 1, S_SET_BRANCH_DONE, 1 },
    [DTX_SQL_BRANCH_ATTEMPT] = { "dtx_branch_attempt",
        S_FENCE_BRANCH("$5", "$6", "$7")
        "UPDATE dtx_branch SET attempts = $3::int, last_error = $4, updated_at = now()"
        " WHERE gid = $1 AND branch_no = $2::int AND EXISTS (SELECT 1 FROM g)", 7, 1 },
    /* The final state, on the global row only. TCC, 2PC and message
     * branches' acknowledgements are not written one by one
     * (engine/driver_finish.c): dtx_branch_now shows every branch of a
     * committed (aborted) transaction confirmed (cancelled). A Saga's steps
     * are each written as they end, so a Saga must find them all done
     * (commit) or all compensated (abort), in their own rows. */
    [DTX_SQL_FINISH] = { "dtx_finish",
        "WITH d AS (UPDATE dtx_global SET state = $2::smallint, updated_at = now(),"
        "           next_attempt_at = NULL, finished_at = now()"
        "           WHERE gid = $1 AND state = $3::smallint AND owner = $4"
        "             AND owner_epoch = $5::bigint AND owner_gen = $6::bigint"
        "             AND (mode <> " S_STR(DTX_MODE_SAGA) " OR NOT EXISTS (SELECT 1 FROM dtx_branch"
        "                  WHERE gid = $1 AND state <> CASE WHEN $2::smallint = " G_COMMITTED
        "                  THEN " B_CONFIRMED " ELSE " B_CANCELLED " END))"
        "           RETURNING 1)"
        " SELECT 1 FROM d", 6, 1, S_SET_FINISH },
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
        " FROM dtx_branch_now WHERE gid = $1 ORDER BY branch_no", 1 },
    [DTX_SQL_SCAN] = { "dtx_scan",
        "SELECT gid FROM dtx_global"
        " WHERE state IN (" G_ACTIVE ", " G_COMMITTING ", " G_ABORTING ") AND owner = $3 AND owner_epoch = $4::bigint"
        "   AND ((state = " G_ACTIVE " AND deadline < now())"
        /* An active Saga runs without its initiator: due like a decision. */
        "     OR (state = " G_ACTIVE " AND mode = " S_STR(DTX_MODE_SAGA) ""
        "         AND next_attempt_at < now() - $2::int * interval '1 ms')"
        /* Marked (a 2PC prepare phase, a TCC_RUN deciding by itself):
         * its decision lived in this node's memory. One not in memory
         * any more (a late lease renewal dropped it, no node claimed it)
         * is aborted when loaded (presumed abort), not at its deadline.
         * The grace keeps the copies still in memory, skipped when
         * listed, out of most scans (the mark's write sets updated_at). */
        "     OR (state = " G_ACTIVE " AND preparing"
        "         AND updated_at < now() - $2::int * interval '1 ms')"
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
    /* What decides whether orphans may exist (engine/recovery.c): every
     * node's id, epoch and whether its lease is live, in one text. A
     * transaction becomes an orphan when its owner's lease lapses or its
     * owner takes a new epoch, and either changes this text. dtx_node is
     * one row per node: no index walk over dtx_global. */
    [DTX_SQL_NODES] = { "dtx_nodes",
        "SELECT coalesce(string_agg(node_id || ':' || epoch || ':' ||"
        " CASE WHEN lease_until > now() THEN 'live' ELSE 'lapsed' END, ',' ORDER BY node_id), '')"
        " FROM dtx_node", 0 },
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

/* Every statement above finds its rows by key (gid, or gid and branch),
 * or scans a partial index of the unfinished or finished rows: one plan
 * fits every execution. PostgreSQL's default (plan_cache_mode auto) plans
 * each of the first five executions for its parameters and then keeps
 * doing so for a statement whose generic plan it estimates costlier —
 * dtx_decide was planned anew at every execution, 13 % of PostgreSQL's
 * CPU at 256 transactions in flight (perf, docs/operations.md). */
/* The set forms find their rows by `gid = ANY($1)` alone; a generic plan
 * made while a table looked small (a fresh log, or one just emptied) read
 * it sequentially and kept doing so as it grew (auto_explain: 71 ms for
 * one batch's decisions). No statement here needs a sequential scan. */
/* No statement here touches more than a batch's rows, so compiling one
 * (JIT) never pays — and enable_seqscan = off makes a plan that must scan
 * (dtx_nodes reads the one-row-a-node dtx_node whole) cost more than
 * jit_above_cost, so PostgreSQL compiled it, with inlining and
 * optimisation, at every recovery scan: 70-220 ms of PostgreSQL CPU a
 * second (auto_explain at 256 TCC_RUNs in flight; 4.4 CPU-us a
 * transaction in libLLVM under perf). */
const char dtx_coord_sql_session[] =
    "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off; SET jit = off";
