-- The participant's idempotency barrier (participant-sdk/include/dtx/barrier.h).
-- origin is the op whose handler wrote the row: a 'try' row with origin
-- 'cancel' marks a null compensation, which a later (hanging) try refuses.
CREATE TABLE IF NOT EXISTS dtx_barrier (
    gid        text        NOT NULL,
    branch     integer     NOT NULL,
    op         text        NOT NULL CHECK (op IN ('try', 'confirm', 'cancel')),
    origin     text        NOT NULL CHECK (origin IN ('try', 'confirm', 'cancel')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (gid, branch, op)
);
