"""The version 2 requests from a Python initiator against a real dtxd and
PostgreSQL: several Tries in one request (TRY_MANY), a Saga submitted
whole, and a transactional message through the outbox (prepare, local
commit with the outbox row, submit; the check-back when no submit came;
a local failure that drops it). Python participants serve every call, under
the barrier where a real service would use it."""
from __future__ import annotations

import threading
import time
import unittest
from typing import List, Tuple

import psycopg

import harness
import dtx
from dtx import barrier as bar
from dtx import protocol as p


@harness.live
class PlansLive(unittest.TestCase):
    dtxd: harness.Dtxd
    served: harness.Served
    client: dtx.Client
    db: str
    conn: psycopg.Connection  # type: ignore[type-arg]
    reader: psycopg.Connection  # type: ignore[type-arg]
    calls: List[Tuple[str, str, int, str, bytes]]
    lock: threading.Lock

    @classmethod
    def setUpClass(cls) -> None:
        d = harness.scratch("plans")
        cls.dtxd = harness.Dtxd(d, harness.createdb("dtx_py_log_plans"),
                                "--try-timeout-ms", "2000", "--phase-timeout-ms", "1000",
                                "--retry-base-ms", "50", "--retry-max-ms", "200",
                                "--heartbeat-ms", "300")
        cls.db = harness.createdb("dtx_py_plans")
        cls.conn = psycopg.connect(cls.db, autocommit=True)
        cls.conn.execute("CREATE TABLE bookings (gid text, what text, amount bigint, "
                         "status text, PRIMARY KEY (gid, what))")
        cls.conn.execute("CREATE TABLE orders (gid text PRIMARY KEY, amount bigint)")
        cls.conn.execute("CREATE TABLE inbox (gid text, who text, body text, "
                         "PRIMARY KEY (gid, who))")
        guard = dtx.Barrier(cls.conn)
        guard.migrate()
        check = dtx.Barrier(psycopg.connect(cls.db, autocommit=True))
        cls.reader = psycopg.connect(cls.db, autocommit=True)
        cls.calls, cls.lock = [], threading.Lock()

        def tcc(call: dtx.Call) -> None:
            with cls.lock:
                cls.calls.append((call.gid, call.op.name.lower(), call.branch, call.resource,
                                  call.payload))
            if call.op == p.Op.TRY and call.action == "refuse":
                raise dtx.Refused(text="told to")

        def book(c: psycopg.Connection, call: dtx.Call) -> None:  # type: ignore[type-arg]
            amount = int(call.payload.decode())
            if call.resource == "payments" and amount > 1000:
                raise dtx.Refused(text="card declined")
            c.execute("INSERT INTO bookings VALUES (%s, %s, %s, 'booked')",
                      (call.gid, call.resource, amount))

        def unbook(c: psycopg.Connection, call: dtx.Call) -> None:  # type: ignore[type-arg]
            c.execute("UPDATE bookings SET status = 'cancelled' WHERE gid = %s AND what = %s",
                      (call.gid, call.resource))

        def receive(c: psycopg.Connection, call: dtx.Call) -> None:  # type: ignore[type-arg]
            c.execute("INSERT INTO inbox VALUES (%s, %s, %s)",
                      (call.gid, call.resource, call.payload.decode()))

        part = dtx.Participant("py-plans-1", key_file="")
        for r in ("svc-a", "svc-b"):
            part.serve(r, on_try=tcc, on_confirm=tcc, on_cancel=tcc)
        for r in ("flights", "hotels", "payments"):
            part.serve_saga(r, on_action=guard.wrap(book), on_compensate=guard.wrap(unbook))
        part.serve_tmsg("mailer", on_deliver=guard.wrap(receive))
        part.serve_tmsg("orders", on_query_prepared=check.query_prepared)
        part.connect(cls.dtxd.endpoint)
        cls.served = harness.Served(part)
        harness.wait_for(lambda: part.registered() == 1, what="registration with dtxd")
        cls.client = dtx.Client(cls.dtxd.endpoint, key_file="", timeout_ms=10000)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.client.close()
        cls.served.stop()
        cls.conn.close()
        cls.reader.close()
        cls.dtxd.stop()

    def ops(self, gid: str) -> List[Tuple[str, int, str]]:
        with self.lock:
            return sorted((op, branch, res) for g, op, branch, res, _ in self.calls if g == gid)

    # -- TRY_MANY ---------------------------------------------------------------

    def test_try_many_runs_every_branch_in_one_request_and_commits(self) -> None:
        with dtx.Transaction(self.client, timeout_ms=30000) as tx:
            r = tx.try_many([("svc-a", "reserve", b"1"), dtx.Branch("svc-b", "reserve", "2")])
            self.assertTrue(r.ok)
            self.assertEqual(r.state, p.State.ACTIVE)
            self.assertEqual([(o.branch, o.outcome, o.code) for o in r.outcomes],
                             [(1, p.Outcome.OK, 0), (2, p.Outcome.OK, 0)])
            with self.lock:
                tries = sorted((res, payload) for g, op, _, res, payload in self.calls
                               if g == tx.gid and op == "try")
            self.assertEqual(tries, [("svc-a", b"1"), ("svc-b", b"2")])
        self.assertEqual(self.client.wait_final(tx.gid), p.State.COMMITTED)
        harness.wait_for(lambda: [o for o in self.ops(tx.gid) if o[0] == "confirm"] ==
                         [("confirm", 1, "svc-a"), ("confirm", 2, "svc-b")], what="confirms")

    def test_try_many_with_a_no_vote_raises_refused_and_aborts(self) -> None:
        gid = self.client.begin("tcc", 30000).gid
        with self.assertRaises(dtx.Refused) as cm:
            self.client.try_many(gid, [("svc-a", "reserve"), ("svc-b", "refuse")])
        result = cm.exception.result
        assert isinstance(result, dtx.TryManyResult)
        self.assertIn(result.state, (p.State.ABORTING, p.State.ABORTED))
        self.assertEqual(cm.exception.state, result.state)
        by_branch = {o.branch: o for o in result.outcomes}
        self.assertEqual(by_branch[2].outcome, p.Outcome.REFUSED)
        self.assertIn("svc-b", cm.exception.text)
        with self.assertRaises(dtx.Aborted):
            self.client.commit(gid)
        self.assertEqual(self.client.wait_final(gid), p.State.ABORTED)

    def test_try_many_refusals_before_anything_is_sent(self) -> None:
        gid = self.client.begin("tcc", 30000).gid
        with self.assertRaises(dtx.InvalidArgument) as cm:
            self.client.try_many(gid, [("svc-a", "reserve")] * 17)
        self.assertIn("17 branches", cm.exception.text)
        with self.assertRaises(dtx.NoParticipant):   # the request reached dtxd: a real error
            self.client.try_many(gid, [("nobody-serves", "x")])
        # a client that speaks version 1 has no TRY_MANY: nothing sent
        v1 = dtx.Client(self.dtxd.endpoint, key_file="", timeout_ms=10000, protocol_version=1)
        try:
            other = v1.begin("tcc", 30000).gid
            with self.assertRaises(dtx.Unsupported):
                v1.try_many(other, [("svc-a", "reserve")])
            self.assertEqual(self.ops(other), [])
            self.assertEqual(v1.status(other), p.State.ACTIVE)
        finally:
            v1.close()

    # -- TCC_RUN ----------------------------------------------------------------

    def test_tcc_run_commits_in_one_request(self) -> None:
        r = self.client.tcc_run([("svc-a", "reserve", b"1"), ("svc-b", "reserve", b"2")],
                                timeout_ms=30000)
        self.assertTrue(r.ok)
        self.assertEqual(r.state, p.State.COMMITTING)
        self.assertEqual([o.branch for o in r.outcomes], [1, 2])
        self.assertEqual(self.client.wait_final(r.gid), p.State.COMMITTED)
        harness.wait_for(lambda: [o for o in self.ops(r.gid) if o[0] == "confirm"] ==
                         [("confirm", 1, "svc-a"), ("confirm", 2, "svc-b")], what="confirms")

    def test_tcc_run_with_a_no_vote_raises_aborted(self) -> None:
        with self.assertRaises(dtx.Aborted) as cm:
            self.client.tcc_run([("svc-a", "reserve"), ("svc-b", "refuse")])
        result = cm.exception.result
        assert isinstance(result, dtx.TccRunResult)
        self.assertEqual(result.state, p.State.ABORTING)
        self.assertEqual({o.branch: o.outcome for o in result.outcomes}[2], p.Outcome.REFUSED)
        self.assertEqual(self.client.wait_final(result.gid), p.State.ABORTED)
        # without commit the initiator decides
        r = self.client.tcc_run([("svc-a", "reserve")], commit=False)
        self.assertEqual(r.state, p.State.ACTIVE)
        self.client.rollback(r.gid)
        self.assertEqual(self.client.wait_final(r.gid), p.State.ABORTED)

    def test_tcc_run_with_a_run_id_may_be_repeated(self) -> None:
        # §19.3: a repeat begins nothing and answers what became of the first
        run_id = p.new_id()
        r = self.client.tcc_run([("svc-a", "reserve", b"1"), ("svc-b", "reserve", b"2")],
                                run_id=run_id)
        self.assertEqual(r.state, p.State.COMMITTING)
        self.assertEqual(r.gid.rsplit(":", 1)[-1], run_id)
        again = self.client.tcc_run([("svc-a", "reserve", b"1"), ("svc-b", "reserve", b"2")],
                                    run_id=run_id)
        self.assertEqual(again.gid, r.gid)
        self.assertIn(again.state, (p.State.COMMITTING, p.State.COMMITTED))
        self.assertEqual(again.outcomes, ())
        self.assertEqual(self.client.wait_final(r.gid), p.State.COMMITTED)
        self.assertEqual([o for o in self.ops(r.gid) if o[0] == "try"],
                         [("try", 1, "svc-a"), ("try", 2, "svc-b")])
        # an aborted one: Aborted both times, one transaction
        other = p.new_id()
        for _ in range(2):
            with self.assertRaises(dtx.Aborted) as cm:
                self.client.tcc_run([("svc-a", "reserve"), ("svc-b", "refuse")], run_id=other)
        result = cm.exception.result
        assert isinstance(result, dtx.TccRunResult)
        self.assertIn(result.state, (p.State.ABORTING, p.State.ABORTED))
        tries = [o for o in self.ops(result.gid) if o[0] == "try"]
        self.assertEqual(len(tries), len(set(tries)))  # each branch's Try ran once
        self.assertEqual([o for o in tries if o[2] == "svc-a"], [("try", 1, "svc-a")])
        # refused before sending: not an id, or without commit
        with self.assertRaises(dtx.InvalidArgument):
            self.client.tcc_run([("svc-a", "reserve")], run_id="order-1")
        with self.assertRaises(dtx.InvalidArgument):
            self.client.tcc_run([("svc-a", "reserve")], commit=False, run_id=p.new_id())

    # -- Saga -------------------------------------------------------------------

    def bookings(self, gid: str) -> List[Tuple[str, int, str]]:
        return list(self.reader.execute("SELECT what, amount, status FROM bookings "
                                        "WHERE gid = %s ORDER BY what", (gid,)))

    def trip(self, amount: int) -> List[dtx.Step]:
        return [dtx.Step("flights", "book", "unbook", str(amount)),
                dtx.Step("hotels", "book", "unbook", str(amount)),
                dtx.Step("payments", "charge", "refund", str(amount))]

    def test_a_saga_submitted_from_python_commits(self) -> None:
        begun = self.client.saga(self.trip(300), timeout_ms=30000)
        self.assertEqual(self.client.saga_wait(begun.gid), p.State.COMMITTED)
        self.assertEqual(self.bookings(begun.gid), [("flights", 300, "booked"),
                                                   ("hotels", 300, "booked"),
                                                   ("payments", 300, "booked")])

    def test_a_refused_saga_step_compensates_the_done_ones(self) -> None:
        begun = self.client.saga(self.trip(5000), timeout_ms=30000)
        with self.assertRaises(dtx.Aborted):
            self.client.saga_wait(begun.gid)
        self.assertEqual(self.bookings(begun.gid), [("flights", 5000, "cancelled"),
                                                   ("hotels", 5000, "cancelled")])

    def test_a_concurrent_saga_with_a_pivot(self) -> None:
        steps = [dtx.Step("flights", "book", "unbook", "10"),
                 dtx.Step("hotels", "book", "unbook", "10"),
                 dtx.Step("payments", "charge", pivot=True, payload="10", after=(1, 2))]
        begun = self.client.saga(steps, concurrent=True, timeout_ms=30000)
        self.assertEqual(self.client.saga_wait(begun.gid), p.State.COMMITTED)
        self.assertEqual(len(self.bookings(begun.gid)), 3)

    def test_a_bad_saga_plan_is_refused_before_it_is_sent(self) -> None:
        with self.assertRaises(dtx.InvalidArgument) as cm:
            self.client.saga([dtx.Step("flights", "book")])
        self.assertIn("only a pivot may have none", cm.exception.text)

    # -- transactional messages -------------------------------------------------

    def inbox(self, gid: str) -> List[Tuple[str, str]]:
        return list(self.reader.execute("SELECT who, body FROM inbox WHERE gid = %s", (gid,)))

    def test_a_message_commits_locally_then_is_delivered(self) -> None:
        local = psycopg.connect(self.db, autocommit=True)
        try:
            def create(c: psycopg.Connection, gid: str) -> None:  # type: ignore[type-arg]
                c.execute("INSERT INTO orders VALUES (%s, 7)", (gid,))
            gid = bar.tmsg_run(self.client, local, "orders",
                               [("mailer", "created", "order 7")], create, timeout_ms=30000)
        finally:
            local.close()
        harness.wait_for(lambda: self.inbox(gid) == [("mailer", "order 7")], what="delivery")
        self.assertEqual(self.client.wait_final(gid), p.State.COMMITTED)
        self.assertEqual(list(self.reader.execute("SELECT amount FROM orders WHERE gid = %s",
                                                  (gid,))), [(7,)])

    def test_a_failed_local_change_drops_the_message(self) -> None:
        local = psycopg.connect(self.db)   # not autocommit: psycopg opens the transaction
        try:
            gids: List[str] = []

            def fail(c: psycopg.Connection, gid: str) -> None:  # type: ignore[type-arg]
                gids.append(gid)
                c.execute("INSERT INTO orders VALUES (%s, 1)", (gid,))
                raise ValueError("business rule")
            with self.assertRaises(ValueError):
                bar.tmsg_run(self.client, local, "orders", [("mailer", "created", "x")], fail,
                             timeout_ms=30000)
        finally:
            local.close()
        self.assertEqual(self.client.wait_final(gids[0]), p.State.ABORTED)
        self.assertEqual(list(self.reader.execute("SELECT 1 FROM orders WHERE gid = %s",
                                                  (gids[0],))), [])
        time.sleep(0.3)
        self.assertEqual(self.inbox(gids[0]), [])

    def test_no_submit_the_checkback_decides_and_a_late_commit_is_refused(self) -> None:
        # committed locally, never submitted: the check-back finds the row
        local = psycopg.connect(self.db)
        try:
            sent = self.client.tmsg_prepare("orders", [("mailer", "created", "late")],
                                            timeout_ms=300).gid
            local.execute("INSERT INTO orders VALUES (%s, 2)", (sent,))
            bar.outbox_commit(local, sent)                 # no client: no submit
            harness.wait_for(lambda: self.inbox(sent) == [("mailer", "late")],
                             what="delivery through the check-back")
            # prepared and never committed: the check-back's marker wins, and
            # the local transaction that comes after it is rolled back
            lost = self.client.tmsg_prepare("orders", [("mailer", "created", "lost")],
                                            timeout_ms=300).gid
            self.assertEqual(self.client.wait_final(lost), p.State.ABORTED)
            local.execute("INSERT INTO orders VALUES (%s, 3)", (lost,))
            with self.assertRaises(dtx.Aborted):
                bar.outbox_commit(local, lost, self.client)
            self.assertEqual(local.info.transaction_status, psycopg.pq.TransactionStatus.IDLE)
        finally:
            local.close()
        self.assertEqual(list(self.reader.execute("SELECT 1 FROM orders WHERE gid = %s",
                                                  (lost,))), [])
        self.assertEqual(self.inbox(lost), [])
        with self.assertRaises(dtx.InvalidArgument):
            bar.outbox_commit(self.reader, sent)           # not inside a transaction


if __name__ == "__main__":
    unittest.main()
