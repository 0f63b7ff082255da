-- Who began each transaction: the principal of the connection whose BEGIN
-- created it (its CURVE allow-list name as "id:NAME", or without CURVE the
-- lineage of the process that connected, "conn:HEX"; "http" for the admin
-- API). TRY, COMMIT and ROLLBACK are accepted only from the same principal
-- or an operator, also after a restart or a take-over, so the column lives
-- in the log. NULL for transactions begun before this migration: those
-- stay open to every initiator, as they were.
ALTER TABLE dtx_global ADD COLUMN IF NOT EXISTS initiator text;
