-- Admin API and console: the operators' audit log, the history of failed
-- Confirm/Cancel attempts, the times a transaction's timeline shows, and
-- the indexes the console's list pages with.
--
-- The times (decided_at, stuck_at, finished_at, voted_at, vote) are set by
-- the coordinator's own statements (coordinator/sql.c), in the writes that
-- make those changes: no trigger on the hot path. Only a FAILED
-- Confirm/Cancel attempt (rare) writes a history row, from a trigger on
-- the UPDATE that counts the attempt (same statement, same batch).

ALTER TABLE dtx_global ADD COLUMN IF NOT EXISTS decided_at timestamptz;
ALTER TABLE dtx_global ADD COLUMN IF NOT EXISTS stuck_at timestamptz;
ALTER TABLE dtx_global ADD COLUMN IF NOT EXISTS finished_at timestamptz;
ALTER TABLE dtx_branch ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE dtx_branch ADD COLUMN IF NOT EXISTS voted_at timestamptz;
-- The vote (2 tried = yes, 3 refused = no), kept once the state moves on.
ALTER TABLE dtx_branch ADD COLUMN IF NOT EXISTS vote smallint;

-- One row per failed Confirm/Cancel delivery (the branch row keeps only
-- the last one). The operation is the transaction's decision's.
CREATE TABLE IF NOT EXISTS dtx_attempt (
    gid        text        NOT NULL REFERENCES dtx_global (gid) ON DELETE CASCADE,
    branch_no  integer     NOT NULL,
    attempt    integer     NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    error      text
);
CREATE INDEX IF NOT EXISTS dtx_attempt_gid ON dtx_attempt (gid, at);

CREATE OR REPLACE FUNCTION dtx_branch_attempt() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dtx_attempt (gid, branch_no, attempt, error)
    VALUES (NEW.gid, NEW.branch_no, NEW.attempts, NEW.last_error);
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS dtx_branch_attempt ON dtx_branch;
-- A failed attempt leaves the state alone and records its count and
-- error (the first one after a yes vote keeps the count at 1 and sets the
-- error); votes and acknowledgements change the state, and resume only
-- sets the count back to 0: none of them is an attempt.
CREATE TRIGGER dtx_branch_attempt AFTER UPDATE OF attempts, last_error ON dtx_branch
    FOR EACH ROW WHEN (NEW.state = OLD.state AND NEW.attempts > 0
                       AND NEW.last_error IS NOT NULL
                       AND (NEW.attempts, NEW.last_error)
                           IS DISTINCT FROM (OLD.attempts, OLD.last_error))
    EXECUTE FUNCTION dtx_branch_attempt();

-- Every operator action (retry, force-commit, force-rollback, resume):
-- recorded before it runs, completed with its result after.
CREATE TABLE IF NOT EXISTS dtx_audit (
    id           bigserial   PRIMARY KEY,
    gid          text        NOT NULL,
    action       text        NOT NULL,
    actor        text        NOT NULL,   -- token name
    operator     text,                   -- the person, when the caller named one
    reason       text        NOT NULL,
    node_id      text        NOT NULL,   -- coordinator that served it
    requested_at timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    result       text,                   -- ok, refused, failed
    detail       text,
    http_status  integer
);
CREATE INDEX IF NOT EXISTS dtx_audit_gid ON dtx_audit (gid, id);

-- The console's list pages newest first by gid (a ULID: creation order),
-- through the primary key. Unfinished and stuck transactions are few: a
-- partial index on (state, gid) finds them, and also serves the
-- coordinator's recovery scans, so it replaces 001's index on
-- next_attempt_at (each index costs an insert per non-HOT state change).
-- Finished ones are most rows: the primary key, filtered, finds them.
DROP INDEX IF EXISTS dtx_global_unfinished;
CREATE INDEX IF NOT EXISTS dtx_global_open_state_gid
    ON dtx_global (state, gid) WHERE state IN (1, 2, 4, 6);
CREATE INDEX IF NOT EXISTS dtx_branch_resource_gid ON dtx_branch (resource, gid);
