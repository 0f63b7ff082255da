-- 2PC: a transaction whose COMMIT started the prepare phase. Recovery
-- aborts such a transaction at once when its coordinator is gone (presumed
-- abort), instead of leaving prepared branches holding their locks until
-- the deadline.
ALTER TABLE dtx_global ADD COLUMN IF NOT EXISTS preparing boolean NOT NULL DEFAULT false;
