-- Several coordinators on one log: node leases and fencing, and the stuck
-- state's memory of its decision.
--
-- Every dtxd holds a lease on its row in dtx_node and renews it; a
-- transaction belongs to (owner, owner_epoch). A coordinator whose lease
-- expired (killed, paused, cut off) loses its transactions to whoever
-- claims them; its writes name (owner, owner_epoch) in their condition, so
-- once claimed they change nothing.
CREATE TABLE IF NOT EXISTS dtx_node (
    node_id     text        PRIMARY KEY,
    epoch       bigint      NOT NULL,
    lease_until timestamptz NOT NULL,
    endpoint    text,
    started_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE dtx_global ADD COLUMN IF NOT EXISTS owner_epoch bigint NOT NULL DEFAULT 0;
-- The decision a stuck transaction was driving (2 committing, 4 aborting).
ALTER TABLE dtx_global ADD COLUMN IF NOT EXISTS decision smallint;
-- Leases are per node, not per transaction (one renewal for all of them).
ALTER TABLE dtx_global DROP COLUMN IF EXISTS lease_until;

CREATE INDEX IF NOT EXISTS dtx_global_owner
    ON dtx_global (owner, owner_epoch) WHERE state IN (1, 2, 4, 6);
