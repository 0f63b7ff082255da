-- Leaner writes on the hot path (measured with make bench):
--  * no foreign key from dtx_branch to dtx_global: every branch insert paid
--    an index probe and a FOR KEY SHARE lock (a tuple write, WAL) on the
--    global row. A branch is only ever inserted by the statement that bumps
--    its global row's branch counter (coordinator/sql.c, BRANCH_ADD), so
--    its parent always exists; retention deletes both together.
ALTER TABLE dtx_branch DROP CONSTRAINT IF EXISTS dtx_branch_gid_fkey;
--  * no index on (owner, owner_epoch): every state change of a transaction
--    is a non-HOT update (state is in the partial indexes' predicate), so
--    each index costs an insert per write. The scans that filter by owner
--    run once a second over the unfinished transactions, which the
--    dtx_global_unfinished index already narrows down.
DROP INDEX IF EXISTS dtx_global_owner;
