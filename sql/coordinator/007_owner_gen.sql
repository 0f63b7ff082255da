-- Fencing against A-B-A ownership: every take-over (claim) bumps
-- owner_gen, and every write names the owner_gen its writer loaded. A node
-- that lost a transaction and later took it back (same owner, same epoch)
-- can no longer write from the copy it held before it lost it.
ALTER TABLE dtx_global ADD COLUMN IF NOT EXISTS owner_gen bigint NOT NULL DEFAULT 0;
