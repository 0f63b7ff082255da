-- The state and mode columns' ranges as domains instead of table CHECK
-- constraints: the same values are refused, for less work per statement.
--
-- PostgreSQL 15 checks a table's CHECK constraints on every row an INSERT
-- or UPDATE writes, whichever columns it sets, and builds them for every
-- statement from their stored text (stringToNode, planning, ExecInitExpr:
-- ExecConstraints was ~14 % of PostgreSQL's CPU under dtx-bench). A
-- domain's CHECK runs only where a value is assigned to the column
-- (INSERT, or an UPDATE that SETs it), from the domain's planned
-- expression cached per backend (typcache); an UPDATE that leaves state
-- alone checks nothing.
--
-- Applying it on a live log: one transaction holding an ACCESS EXCLUSIVE
-- lock on dtx_global and dtx_branch (writes and reads wait) while it
--  * drops the old CHECKs (and the dtx_branch_attempt trigger, whose
--    condition names the state: it is made again, below),
--  * changes the columns' type to the domains, which have no constraint
--    yet: smallint to a domain over smallint is binary-coercible, so the
--    tables are not rewritten (same relfilenode) and their indexes are
--    kept, not rebuilt (a domain WITH a constraint would make PostgreSQL
--    rewrite the table to check every row);
--  * adds the domains' CHECKs, which reads every row once to check it.
-- docs/operations.md ("Upgrading") gives the time measured on 1M rows.
-- Every step is conditional: applied again, it changes nothing.
DO $$
BEGIN
    IF to_regtype('dtx_global_state') IS NULL THEN
        CREATE DOMAIN dtx_global_state AS smallint;
    END IF;
    IF to_regtype('dtx_branch_state') IS NULL THEN
        CREATE DOMAIN dtx_branch_state AS smallint;
    END IF;
    IF to_regtype('dtx_mode') IS NULL THEN
        CREATE DOMAIN dtx_mode AS smallint;
    END IF;

    ALTER TABLE dtx_global DROP CONSTRAINT IF EXISTS dtx_global_state_check;
    ALTER TABLE dtx_global DROP CONSTRAINT IF EXISTS dtx_global_mode_check;
    ALTER TABLE dtx_branch DROP CONSTRAINT IF EXISTS dtx_branch_state_check;
    -- Its WHEN names dtx_branch.state: made again below.
    DROP TRIGGER IF EXISTS dtx_branch_attempt ON dtx_branch;

    IF 'dtx_global'::regclass IN (SELECT attrelid FROM pg_attribute
                                  WHERE attname = 'state' AND atttypid = 'int2'::regtype) THEN
        ALTER TABLE dtx_global ALTER COLUMN state TYPE dtx_global_state;
    END IF;
    IF 'dtx_global'::regclass IN (SELECT attrelid FROM pg_attribute
                                  WHERE attname = 'mode' AND atttypid = 'int2'::regtype) THEN
        ALTER TABLE dtx_global ALTER COLUMN mode TYPE dtx_mode;
    END IF;
    IF 'dtx_branch'::regclass IN (SELECT attrelid FROM pg_attribute
                                  WHERE attname = 'state' AND atttypid = 'int2'::regtype) THEN
        ALTER TABLE dtx_branch ALTER COLUMN state TYPE dtx_branch_state;
    END IF;

    CREATE TRIGGER dtx_branch_attempt AFTER UPDATE OF attempts, last_error ON dtx_branch
        FOR EACH ROW WHEN (NEW.last_error IS NOT NULL)
        EXECUTE FUNCTION dtx_branch_attempt();

    -- The codes of dtx/types.h (transaction states 1-6, modes 1-4) and
    -- coordinator/core/txn.h (branch states 1-5), as 001, 011 and 012 had
    -- them.
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE contypid = 'dtx_global_state'::regtype) THEN
        ALTER DOMAIN dtx_global_state ADD CONSTRAINT dtx_global_state_check
            CHECK (VALUE BETWEEN 1 AND 6);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE contypid = 'dtx_branch_state'::regtype) THEN
        ALTER DOMAIN dtx_branch_state ADD CONSTRAINT dtx_branch_state_check
            CHECK (VALUE BETWEEN 1 AND 5);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE contypid = 'dtx_mode'::regtype) THEN
        ALTER DOMAIN dtx_mode ADD CONSTRAINT dtx_mode_check
            CHECK (VALUE IN (1, 2, 3, 4));
    END IF;
END $$;

-- The history of failed Confirm/Cancel attempts (003), same rows, cheaper
-- on the hot path. A trigger's WHEN is parsed from its stored text and
-- planned in every statement that updates a row with it (like a table
-- CHECK): 003's four conditions cost every vote (which sets attempts and
-- last_error) some 75,000 instructions. The WHEN now holds only the
-- condition that a vote, an acknowledgement or a resume (last_error NULL,
-- the common case) fails; the trigger function tests the rest on the rows
-- that pass it (a refusal, a failed attempt), so exactly the same updates
-- write a history row as before: a failed attempt leaves the state alone
-- and records its count and error (the first one after a yes vote keeps
-- the count at 1 and sets the error); votes and acknowledgements change
-- the state, and resume only sets the count back to 0.
CREATE OR REPLACE FUNCTION dtx_branch_attempt() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = OLD.state AND NEW.attempts > 0 AND NEW.last_error IS NOT NULL
       AND (NEW.attempts, NEW.last_error) IS DISTINCT FROM (OLD.attempts, OLD.last_error) THEN
        INSERT INTO dtx_attempt (gid, branch_no, attempt, error)
        VALUES (NEW.gid, NEW.branch_no, NEW.attempts, NEW.last_error);
    END IF;
    RETURN NULL;
END $$;
