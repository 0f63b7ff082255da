-- The W3C trace context (traceparent, "00-<trace-id>-<parent-id>-<flags>")
-- of each transaction: the one its BEGIN carried (protocol version 2,
-- extension 1: from the gateway or the initiator) or the one dtxd made
-- for a BEGIN without one. Every PHASE to a version-2 participant carries
-- it, dtxd's log lines show its trace-id (trace=), and the admin API and
-- console show it, so one id follows a request from ingress to every
-- branch. NULL for transactions begun before this migration.
ALTER TABLE dtx_global ADD COLUMN IF NOT EXISTS traceparent text;
