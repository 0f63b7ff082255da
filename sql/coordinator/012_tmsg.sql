-- Transactional messages (mode 4, DTX_MODE_MSG; docs/sagas.md): the
-- message and its destinations are inserted in one statement by the TMSG
-- that prepares it. A destination is a dtx_branch row (resource, action =
-- the delivery's op name, payload = the message) recorded 'tried' at once
-- (it has nothing to vote on); checkback names the resource whose
-- QUERY_PREPARED handler tells whether the service's local transaction
-- committed, asked when no COMMIT came before the deadline.
ALTER TABLE dtx_global DROP CONSTRAINT IF EXISTS dtx_global_mode_check;
ALTER TABLE dtx_global ADD CONSTRAINT dtx_global_mode_check CHECK (mode IN (1, 2, 3, 4));
ALTER TABLE dtx_global ADD COLUMN IF NOT EXISTS checkback text;
