-- Saga mode (mode 3, docs/sagas.md): the whole plan is inserted with the
-- transaction, in one statement, before any action leaves. A step is a
-- dtx_branch row like a TCC branch (resource, action, payload, state,
-- attempts, last_error), plus what a plan says about it:
--   undo_action  the compensation's op name; NULL when the step has none
--                (a pivot; also every step of a plan with nothing to undo,
--                such as a transactional message's deliveries);
--   after_steps  the step numbers it waits for (a sequential plan's step
--                waits for the one before it); NULL = none;
--   step_flags   bit 0: pivot (non-compensable: forward only after it).
-- These are generic on purpose: any later mode whose plan is a list of
-- steps (the transactional message, DTX_MODE_MSG) stores them the same way.
ALTER TABLE dtx_global DROP CONSTRAINT IF EXISTS dtx_global_mode_check;
ALTER TABLE dtx_global ADD CONSTRAINT dtx_global_mode_check CHECK (mode IN (1, 2, 3));
ALTER TABLE dtx_branch ADD COLUMN IF NOT EXISTS undo_action text;
ALTER TABLE dtx_branch ADD COLUMN IF NOT EXISTS after_steps smallint[];
ALTER TABLE dtx_branch ADD COLUMN IF NOT EXISTS step_flags smallint NOT NULL DEFAULT 0;
