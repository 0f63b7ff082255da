-- bench/pgbench_a.sql — reference (a) of `make bench` (bench/run.sh).
--
-- The minimal durable writes of one dtx transaction with two TCC branches,
-- one PostgreSQL transaction per write step: the 6 statements dtxd runs
-- for it (a BEGIN writes nothing; the first branch creates the global
-- row; the decision and the final write update the global row only: the
-- branches' states are read through the view dtx_branch_now), with the
-- text of coordinator/log/sql.c (fencing included) and the
-- values dtxd binds as literals or pgbench variables, each sent on its own
-- so that each is an autocommit transaction with its own commit (WAL
-- flush). One pgbench transaction = one dtx transaction's writes. Keep it
-- in step with coordinator/log/sql.c.
--
--   pgbench -n -M prepared -c N -j 2 -T S -f bench/pgbench_a.sql DB
--
-- DB holds the coordinator's schema (dtxd --migrate-only). gid: 26
-- characters like dtxd's (7 of client id, 19 of a random number), unique
-- per pgbench transaction. Owner 'pgbench', initiator 'id-bench' (as long
-- as dtx-bench's 'id:bench' under CURVE; pgbench reads ':name' as a
-- variable), epoch 1, owner_gen 0 (a fresh transaction's), 2 branches
-- (DECIDE names the count). Payload: the 64 bytes dtx-bench sends. The
-- deadline is a constant in the future (dtxd sends now + timeout).
-- coordinator/log/sql.c fingerprint: 030f90b783d1cb14 (bench/run.sh warns when it changes)
\set g random(1, 9000000000000000000)
\set deadline_ms 4102444800000
\set epoch 1
\set gen 0
\set nbranches 2
-- DTX_SQL_BRANCH_FIRST (noop-a; BEGIN wrote nothing: this creates the global row with
-- its one branch; the branches as arrays, the payloads one blob cut at their ends)
WITH g AS (INSERT INTO dtx_global (gid, mode, state, deadline, owner, owner_epoch,
                                  next_attempt_at, initiator, traceparent, branches,
                                  preparing)
           VALUES (lpad(:client_id::text, 7, '0') || lpad(:g::text, 19, '0'), 1::smallint, 1, to_timestamp(:deadline_ms::bigint / 1000.0), 'pgbench',
                   :epoch::bigint, to_timestamp(:deadline_ms::bigint / 1000.0), 'id-bench',
                   nullif('', ''), cardinality('{noop-a}'::text[]), false::bool)
           ON CONFLICT (gid) DO NOTHING RETURNING gid)
 INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state)
 SELECT g.gid, b.n, b.r, b.a,
        substring('\xa5a4a7a6a1a0a3a2adacafaea9a8abaab5b4b7b6b1b0b3b2bdbcbfbeb9b8bbba85848786818083828d8c8f8e89888b8a95949796919093929d9c9f9e99989b9a'::bytea
                  FROM coalesce(('{64}'::int[])[b.n - 1], 0) + 1
                  FOR b.e - coalesce(('{64}'::int[])[b.n - 1], 0)), 1
   FROM g, unnest('{noop-a}'::text[], '{reserve}'::text[], '{64}'::int[]) WITH ORDINALITY AS b(r, a, e, n)
 RETURNING branch_no;
-- DTX_SQL_BRANCH_ADD (noop-b)
WITH g AS (UPDATE dtx_global SET branches = branches + 1, updated_at = now()
           WHERE gid = lpad(:client_id::text, 7, '0') || lpad(:g::text, 19, '0') AND state = 1
             AND owner = 'pgbench' AND owner_epoch = :epoch::bigint
             AND owner_gen = :gen::bigint RETURNING branches)
 INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state)
 SELECT lpad(:client_id::text, 7, '0') || lpad(:g::text, 19, '0'), g.branches, 'noop-b', 'reserve',
        '\xa5a4a7a6a1a0a3a2adacafaea9a8abaab5b4b7b6b1b0b3b2bdbcbfbeb9b8bbba85848786818083828d8c8f8e89888b8a95949796919093929d9c9f9e99989b9a'::bytea, 1
   FROM g RETURNING branch_no;
-- DTX_SQL_BRANCH_VOTE (branch 1, state 2: tried)
WITH g AS (SELECT 1 FROM dtx_global WHERE gid = lpad(:client_id::text, 7, '0') || lpad(:g::text, 19, '0')
           AND owner = 'pgbench' AND owner_epoch = :epoch::bigint AND owner_gen = :gen::bigint)
UPDATE dtx_branch SET state = 2::smallint, vote = 2::smallint, attempts = 1,
       last_error = NULL, updated_at = now(), voted_at = now()
 WHERE gid = lpad(:client_id::text, 7, '0') || lpad(:g::text, 19, '0') AND branch_no = 1::int AND state = 1
   AND EXISTS (SELECT 1 FROM g);
-- DTX_SQL_BRANCH_VOTE (branch 2, state 2: tried)
WITH g AS (SELECT 1 FROM dtx_global WHERE gid = lpad(:client_id::text, 7, '0') || lpad(:g::text, 19, '0')
           AND owner = 'pgbench' AND owner_epoch = :epoch::bigint AND owner_gen = :gen::bigint)
UPDATE dtx_branch SET state = 2::smallint, vote = 2::smallint, attempts = 1,
       last_error = NULL, updated_at = now(), voted_at = now()
 WHERE gid = lpad(:client_id::text, 7, '0') || lpad(:g::text, 19, '0') AND branch_no = 2::int AND state = 1
   AND EXISTS (SELECT 1 FROM g);
-- DTX_SQL_DECIDE (active -> committing; the global row only)
WITH d AS (UPDATE dtx_global SET state = 2::smallint, decision = 2::smallint,
           updated_at = now(), next_attempt_at = now(), decided_at = now()
           WHERE gid = lpad(:client_id::text, 7, '0') || lpad(:g::text, 19, '0') AND state = 1::smallint
             AND owner = 'pgbench' AND owner_epoch = :epoch::bigint AND owner_gen = :gen::bigint
             AND branches = :nbranches::int AND false::bool IS NOT NULL RETURNING state)
 SELECT state FROM d;
-- DTX_SQL_FINISH (committing -> committed; the global row only)
WITH d AS (UPDATE dtx_global SET state = 3::smallint, updated_at = now(),
           next_attempt_at = NULL, finished_at = now()
           WHERE gid = lpad(:client_id::text, 7, '0') || lpad(:g::text, 19, '0') AND state = 2::smallint
             AND owner = 'pgbench' AND owner_epoch = :epoch::bigint AND owner_gen = :gen::bigint
             AND (mode <> 3 OR NOT EXISTS (SELECT 1 FROM dtx_branch
                  WHERE gid = lpad(:client_id::text, 7, '0') || lpad(:g::text, 19, '0')
                  AND state <> CASE WHEN 3::smallint = 3 THEN 4 ELSE 5 END))
           RETURNING 1)
 SELECT 1 FROM d;
