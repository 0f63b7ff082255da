-- The coordinator's durable log. The state codes are the wire codes of
-- dtx/types.h (global) and coordinator/txn.h (branch).
CREATE TABLE IF NOT EXISTS dtx_global (
    gid             text        PRIMARY KEY,
    mode            smallint    NOT NULL CHECK (mode IN (1, 2)),
    state           smallint    NOT NULL CHECK (state BETWEEN 1 AND 6),
    branches        integer     NOT NULL DEFAULT 0,
    deadline        timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    owner           text,
    lease_until     timestamptz,
    next_attempt_at timestamptz,
    attempts        integer     NOT NULL DEFAULT 0,
    origin          text,
    meta            jsonb
);

-- Recovery scans only unfinished transactions (active, committing,
-- aborting, stuck), by when they are due.
CREATE INDEX IF NOT EXISTS dtx_global_unfinished
    ON dtx_global (next_attempt_at) WHERE state IN (1, 2, 4, 6);

CREATE TABLE IF NOT EXISTS dtx_branch (
    gid         text        NOT NULL REFERENCES dtx_global (gid) ON DELETE CASCADE,
    branch_no   integer     NOT NULL,
    resource    text        NOT NULL,
    action      text        NOT NULL,
    payload     bytea       NOT NULL,
    state       smallint    NOT NULL CHECK (state BETWEEN 1 AND 5),
    attempts    integer     NOT NULL DEFAULT 0,
    last_error  text,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (gid, branch_no)
);

-- Readable names for operators: SELECT dtx_state_name(state) ...
CREATE OR REPLACE FUNCTION dtx_state_name(s smallint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT (ARRAY['active','committing','committed','aborting','aborted','stuck'])[s]
$$;
CREATE OR REPLACE FUNCTION dtx_branch_state_name(s smallint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT (ARRAY['trying','tried','refused','confirmed','cancelled'])[s]
$$;
