-- Fewer rows per transaction: the decision and the final state are
-- written to the global row only (coordinator/log/sql.c, dtx_decide and
-- dtx_finish), no longer to every branch row too. A TCC_RUN now writes 3
-- inserted and 3 updated rows instead of 3 and 7 (docs/operations.md,
-- durability table).
--
-- A branch's effective state is then its own row's state read with its
-- global row: dtx_branch_now. Every reader of a branch's state (dtxd's
-- recovery, the admin API and console, dtxctl through them, the tests and
-- docs) reads this view; the writers keep writing dtx_branch.
--
-- Rules, for every mode but Saga (whose steps are each written as they
-- end, and whose final write requires them all done: its rows are read
-- as they are):
--  * a branch already confirmed or cancelled keeps that state;
--  * the transaction committed: confirmed; aborted: cancelled (what
--    dtx_finish wrote to every branch before);
--  * a branch still `trying` in a transaction whose decision is commit
--    (a 2PC commit, or a TCC_RUN that committed by itself: their yes votes
--    were kept in memory and the commit decision records them): `tried`.
--    A commit is only decided when every branch voted yes, so no other
--    `trying` branch meets a commit decision;
--  * under a commit decision, a branch with no recorded vote (those same
--    branches, also once an acknowledgement was written to their row)
--    shows vote `tried` (yes), voted when the decision was, and attempts
--    at least 1: what dtx_decide wrote to each of them before.
-- Where the state is derived, updated_at is the later of the branch's and
-- the global row's. A branch row without its global row (none is ever
-- written) is shown as it is. row_state is the row's own state (what the
-- conditional writes guard on), for whoever needs to tell them apart.
CREATE OR REPLACE VIEW dtx_branch_now AS
SELECT b.gid, b.branch_no, b.resource, b.action, b.payload,
       n.state::dtx_branch_state AS state,
       CASE WHEN n.yes AND b.attempts = 0 THEN 1 ELSE b.attempts END AS attempts,
       b.last_error,
       CASE WHEN n.state IS DISTINCT FROM b.state
            THEN greatest(b.updated_at, g.updated_at) ELSE b.updated_at END AS updated_at,
       b.created_at,
       CASE WHEN n.yes THEN coalesce(b.voted_at, g.decided_at) ELSE b.voted_at END AS voted_at,
       CASE WHEN n.yes THEN 2::smallint ELSE b.vote END AS vote,
       b.undo_action, b.after_steps, b.step_flags,
       b.state AS row_state
FROM dtx_branch b
LEFT JOIN dtx_global g ON g.gid = b.gid
CROSS JOIN LATERAL (
    SELECT CASE WHEN g.mode = 3 OR b.state IN (4, 5) THEN b.state
                WHEN g.state = 3 THEN 4::smallint
                WHEN g.state = 5 THEN 5::smallint
                WHEN b.state = 1 AND g.decision = 2 THEN 2::smallint
                ELSE b.state END AS state,
           coalesce(g.mode <> 3 AND b.vote IS NULL AND g.decision = 2, false) AS yes
) n;
