-- bench/pgbench_b.sql — reference (b) of `make bench` (bench/run.sh).
--
-- The rows of 50 dtx transactions (two TCC branches each) written in one
-- round trip and one PostgreSQL transaction, with the set forms of
-- coordinator/log/sql.c's statements (the S_SET_* texts: every parameter an
-- array, unnest()ed, each row fenced on its own): the first branches with
-- their 50 globals, the second branches, the 100 votes, the 50 decisions,
-- the 100 confirmations and the 50 finishes, one statement each, between
-- BEGIN and COMMIT, sent as one pipeline (\startpipeline ... \endpipeline).
-- This is group commit done ideally: its tps x 50 is how many dtx
-- transactions' worth of log writes per second PostgreSQL takes on this
-- machine when nothing but the writes costs. (dtxd commits the votes,
-- confirmations and finishes lazily, synchronous_commit off, when a batch
-- holds only such writes; here everything is in one synchronous commit.)
-- Keep it in step with coordinator/log/sql.c.
--
--   pgbench -n -M prepared -c 2 -j 2 -T S -f bench/pgbench_b.sql DB
--
-- gids: 26 characters like dtxd's (5 of client id, 19 of a random number,
-- 2 of the index 1..50); the arrays dtxd binds are built here with ARRAY(...)
-- and array_fill.
-- coordinator/log/sql.c fingerprint: e6ba654c8ec9aa51 (bench/run.sh warns when it changes)
\set g random(1, 9000000000000000000)
\set deadline_ms 4102444800000
\startpipeline
BEGIN;
-- DTX_SQL_BRANCH_FIRST, set form x 50 (noop-a; creates the globals)
WITH v AS (SELECT * FROM unnest(ARRAY(SELECT lpad(:client_id::text, 5, '0') || lpad(:g::text, 19, '0') || lpad(i::text, 2, '0') FROM generate_series(1, 50) AS i)::text[], array_fill('noop-a'::text, ARRAY[50]), array_fill('reserve'::text, ARRAY[50]),
                                array_fill('\xa5a4a7a6a1a0a3a2adacafaea9a8abaab5b4b7b6b1b0b3b2bdbcbfbeb9b8bbba85848786818083828d8c8f8e89888b8a95949796919093929d9c9f9e99989b9a'::bytea::bytea, ARRAY[50]), array_fill('pgbench'::text, ARRAY[50]),
                                array_fill(1::bigint, ARRAY[50]), array_fill(1::smallint, ARRAY[50]), array_fill(:deadline_ms::bigint, ARRAY[50]),
                                array_fill('id-bench'::text, ARRAY[50]), array_fill(''::text, ARRAY[50]))
           AS v(gid, res, act, pay, own, ep, mode, dl, ini, tp)),
 g AS (INSERT INTO dtx_global (gid, mode, state, deadline, owner, owner_epoch,
                               next_attempt_at, initiator, traceparent, branches)
       SELECT v.gid, v.mode, 1, to_timestamp(v.dl / 1000.0), v.own, v.ep,
              to_timestamp(v.dl / 1000.0), v.ini, nullif(v.tp, ''), 1 FROM v
       ON CONFLICT (gid) DO NOTHING RETURNING gid, branches)
 INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state)
 SELECT g.gid, g.branches, v.res, v.act, v.pay, 1 FROM g JOIN v ON v.gid = g.gid
 RETURNING gid, branch_no;
-- DTX_SQL_BRANCH_ADD, set form x 50 (noop-b)
WITH v AS (SELECT * FROM unnest(ARRAY(SELECT lpad(:client_id::text, 5, '0') || lpad(:g::text, 19, '0') || lpad(i::text, 2, '0') FROM generate_series(1, 50) AS i)::text[], array_fill('noop-b'::text, ARRAY[50]), array_fill('reserve'::text, ARRAY[50]),
                                array_fill('\xa5a4a7a6a1a0a3a2adacafaea9a8abaab5b4b7b6b1b0b3b2bdbcbfbeb9b8bbba85848786818083828d8c8f8e89888b8a95949796919093929d9c9f9e99989b9a'::bytea::bytea, ARRAY[50]), array_fill('pgbench'::text, ARRAY[50]),
                                array_fill(1::bigint, ARRAY[50]), array_fill(0::bigint, ARRAY[50]))
           AS v(gid, res, act, pay, own, ep, gen)),
 g AS (UPDATE dtx_global d SET branches = d.branches + 1, updated_at = now() FROM v
       WHERE d.gid = v.gid AND d.state = 1 AND d.owner = v.own
         AND d.owner_epoch = v.ep AND d.owner_gen = v.gen RETURNING d.gid, d.branches)
 INSERT INTO dtx_branch (gid, branch_no, resource, action, payload, state)
 SELECT g.gid, g.branches, v.res, v.act, v.pay, 1 FROM g JOIN v ON v.gid = g.gid
 RETURNING gid, branch_no;
-- DTX_SQL_BRANCH_VOTE, set form x 100 (state 2: tried)
WITH v AS (SELECT * FROM unnest(ARRAY(SELECT lpad(:client_id::text, 5, '0') || lpad(:g::text, 19, '0') || lpad(i::text, 2, '0') FROM generate_series(1, 50) AS i, generate_series(1, 2) AS n ORDER BY i, n)::text[], ARRAY(SELECT n FROM generate_series(1, 50) AS i, generate_series(1, 2) AS n ORDER BY i, n)::int[],
                                array_fill(2::smallint, ARRAY[100]), array_fill(NULL::text, ARRAY[100]), array_fill('pgbench'::text, ARRAY[100]),
                                array_fill(1::bigint, ARRAY[100]), array_fill(0::bigint, ARRAY[100]))
           AS v(gid, no, st, err, own, ep, gen))
 UPDATE dtx_branch b SET state = v.st, vote = v.st, attempts = 1, last_error = v.err,
   updated_at = now(), voted_at = now()
 FROM v WHERE b.gid = v.gid AND b.branch_no = v.no AND b.state = 1
 AND EXISTS (SELECT 1 FROM dtx_global f WHERE f.gid = v.gid AND f.owner = v.own
             AND f.owner_epoch = v.ep AND f.owner_gen = v.gen)
 RETURNING b.gid, 1;
-- DTX_SQL_DECIDE, set form x 50 (active -> committing; a TCC decision marks no branch)
WITH v AS (SELECT * FROM unnest(ARRAY(SELECT lpad(:client_id::text, 5, '0') || lpad(:g::text, 19, '0') || lpad(i::text, 2, '0') FROM generate_series(1, 50) AS i)::text[], array_fill(2::smallint, ARRAY[50]), array_fill(1::smallint, ARRAY[50]),
                                array_fill('pgbench'::text, ARRAY[50]), array_fill(1::bigint, ARRAY[50]), array_fill(false::bool, ARRAY[50]),
                                array_fill(0::bigint, ARRAY[50]), array_fill(2::int, ARRAY[50]))
           AS v(gid, st, exp, own, ep, mark, gen, nb)),
 d AS (UPDATE dtx_global g SET state = v.st, decision = v.st, updated_at = now(),
       next_attempt_at = now(), decided_at = now()
       FROM v WHERE g.gid = v.gid AND g.state = v.exp AND g.owner = v.own
         AND g.owner_epoch = v.ep AND g.owner_gen = v.gen AND g.branches = v.nb
       RETURNING g.gid, g.state, v.mark),
 b AS (UPDATE dtx_branch x SET state = 2, vote = 2, attempts = 1,
       updated_at = now(), voted_at = now()
       FROM d WHERE d.mark AND x.gid = d.gid AND x.state = 1)
 SELECT gid, state FROM d;
-- DTX_SQL_BRANCH_DONE, set form x 100 (state 4: confirmed, attempt 1)
WITH v AS (SELECT * FROM unnest(ARRAY(SELECT lpad(:client_id::text, 5, '0') || lpad(:g::text, 19, '0') || lpad(i::text, 2, '0') FROM generate_series(1, 50) AS i, generate_series(1, 2) AS n ORDER BY i, n)::text[], ARRAY(SELECT n FROM generate_series(1, 50) AS i, generate_series(1, 2) AS n ORDER BY i, n)::int[],
                                array_fill(4::smallint, ARRAY[100]), array_fill(1::int, ARRAY[100]), array_fill('pgbench'::text, ARRAY[100]),
                                array_fill(1::bigint, ARRAY[100]), array_fill(0::bigint, ARRAY[100]))
           AS v(gid, no, st, att, own, ep, gen))
 UPDATE dtx_branch b SET state = v.st, attempts = v.att, updated_at = now()
 FROM v WHERE b.gid = v.gid AND b.branch_no = v.no
   AND b.state IN (1, 2, 3)
 AND EXISTS (SELECT 1 FROM dtx_global f WHERE f.gid = v.gid AND f.owner = v.own
             AND f.owner_epoch = v.ep AND f.owner_gen = v.gen)
 RETURNING b.gid, 1;
-- DTX_SQL_FINISH, set form x 50 (committing -> committed)
WITH v AS (SELECT * FROM unnest(ARRAY(SELECT lpad(:client_id::text, 5, '0') || lpad(:g::text, 19, '0') || lpad(i::text, 2, '0') FROM generate_series(1, 50) AS i)::text[], array_fill(3::smallint, ARRAY[50]), array_fill(2::smallint, ARRAY[50]),
                                array_fill('pgbench'::text, ARRAY[50]), array_fill(1::bigint, ARRAY[50]),
                                array_fill(0::bigint, ARRAY[50])) AS v(gid, fin, exp, own, ep, gen))
 UPDATE dtx_global d SET state = v.fin, updated_at = now(), next_attempt_at = NULL,
   finished_at = now()
 FROM v WHERE d.gid = v.gid AND d.state = v.exp AND d.owner = v.own
   AND d.owner_epoch = v.ep AND d.owner_gen = v.gen
   AND NOT EXISTS (SELECT 1 FROM dtx_branch x WHERE x.gid = v.gid
                   AND x.state NOT IN (4, 5))
   AND (d.mode <> 3 OR NOT EXISTS (SELECT 1 FROM dtx_branch x
        WHERE x.gid = v.gid AND x.state <> CASE WHEN v.fin = 3
        THEN 4 ELSE 5 END))
 RETURNING d.gid, 1;
COMMIT;
\endpipeline
