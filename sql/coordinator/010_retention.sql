-- Retention: finished transactions (committed, aborted) older than dtxd's
-- --retention are removed from the log with their branches, in small
-- batches, by every dtxd (coordinator/engine/retention.c). Nothing else
-- ever writes a finished row, so any node may remove it; two nodes pick
-- disjoint rows (FOR UPDATE SKIP LOCKED) and a delete repeated by a second
-- node matches nothing.
--
-- The batches walk this index from the oldest finished_at. It is partial:
-- only finished rows are in it, and an entry is written once per
-- transaction, by the FINISH update (already a non-HOT update: it changes
-- state, which the partial indexes' predicates name). It indexes
-- finished_at only, never updated_at, so the updates before it stay HOT
-- where they were.
--
-- Rows finished before 003 have no finished_at: they get their last
-- update's time once, here.
UPDATE dtx_global SET finished_at = updated_at WHERE state IN (3, 5) AND finished_at IS NULL;
CREATE INDEX IF NOT EXISTS dtx_global_finished
    ON dtx_global (finished_at) WHERE state IN (3, 5);
-- dtx_attempt (the history of failed Confirm/Cancel attempts) goes with
-- its transaction through its ON DELETE CASCADE foreign key (003).
-- dtx_audit (operators' actions) is kept: it is the record of who changed
-- what, it is small (one row per action) and it names gids that no longer
-- exist once retention removed them; prune it by your own audit policy
-- (docs/scaling.md, "Retention").
