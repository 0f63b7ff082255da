"""The SDK against a real dtxd and PostgreSQL: initiator calls and the
context manager, a Python participant in TCC and 2PC, re-registration after
a coordinator restart, CURVE, the Python bank interoperating with the C
bank in the same transfers, and the trace context (protocol version 2)
from a Python initiator to C and Python handlers."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import unittest
from typing import Dict, List

import psycopg

import harness
import dtx
from dtx import protocol as p


class Recorder:
    """Handlers that record the calls they get, voting as told."""

    def __init__(self) -> None:
        self.calls: List[dtx.Call] = []
        self.lock = threading.Lock()
        self.refuse_actions = {"refuse"}

    def __call__(self, call: dtx.Call) -> None:
        with self.lock:
            self.calls.append(call)
        if call.op in (p.Op.TRY, p.Op.PREPARE) and call.action in self.refuse_actions:
            raise dtx.Refused(text="told to")

    def ops(self, gid: str) -> List[str]:
        with self.lock:
            return sorted(c.op.name.lower() for c in self.calls if c.gid == gid)


@harness.live
class Initiator(unittest.TestCase):
    dir: str
    dtxd: harness.Dtxd
    rec: Recorder
    served: harness.Served
    client: dtx.Client

    @classmethod
    def setUpClass(cls) -> None:
        cls.dir = harness.scratch("initiator")
        cls.dtxd = harness.Dtxd(cls.dir, harness.createdb("dtx_py_log1"),
                                "--try-timeout-ms", "1000", "--phase-timeout-ms", "500",
                                "--heartbeat-ms", "300")
        cls.rec = Recorder()
        part = dtx.Participant("py-svc-1", key_file="")
        part.serve("svc", on_try=cls.rec, on_confirm=cls.rec, on_cancel=cls.rec)
        part.serve_2pc("svc", on_prepare=cls.rec, on_commit=cls.rec, on_abort=cls.rec)
        part.connect(cls.dtxd.endpoint)
        cls.served = harness.Served(part)
        harness.wait_for(lambda: part.registered() == 1, what="registration with dtxd")
        cls.client = dtx.Client(cls.dtxd.endpoint, key_file="", timeout_ms=10000)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.client.close()
        cls.served.stop()
        cls.dtxd.stop()

    def test_context_manager_commits_on_normal_exit(self) -> None:
        with dtx.Transaction(self.client, mode="tcc", timeout_ms=30000) as tx:
            r = tx.try_("svc", "reserve", b'{"n":1}')
            self.assertEqual((r.branch, r.outcome, r.state), (1, p.Outcome.OK, p.State.ACTIVE))
            tx.try_("svc", "reserve", "text payload")
        self.assertIn(tx.state, (p.State.COMMITTING, p.State.COMMITTED))
        self.assertEqual(self.client.wait_final(tx.gid), p.State.COMMITTED)
        harness.wait_for(lambda: self.rec.ops(tx.gid) == ["confirm", "confirm", "try", "try"],
                         what="confirms")
        payloads = {c.payload for c in self.rec.calls if c.gid == tx.gid}
        self.assertEqual(payloads, {b'{"n":1}', b"text payload"})  # every op carries it

    def test_context_manager_rolls_back_on_exception(self) -> None:
        with self.assertRaises(KeyError):
            with dtx.Transaction(self.client, timeout_ms=30000) as tx:
                tx.try_("svc", "reserve")
                raise KeyError("business failure")
        self.assertEqual(self.client.wait_final(tx.gid), p.State.ABORTED)
        harness.wait_for(lambda: self.rec.ops(tx.gid) == ["cancel", "try"], what="cancel")

    def test_a_no_vote_raises_refused_and_commit_raises_aborted(self) -> None:
        gid = self.client.begin("tcc", 30000).gid
        with self.assertRaises(dtx.Refused) as cm:
            self.client.try_(gid, "svc", "refuse")
        self.assertEqual(cm.exception.code, 13)
        self.assertIn(cm.exception.state, (p.State.ABORTING, p.State.ABORTED))
        with self.assertRaises(dtx.Aborted) as ab:
            self.client.commit(gid)
        self.assertEqual(ab.exception.code, 19)
        self.assertEqual(self.client.wait_final(gid), p.State.ABORTED)

    def test_2pc_prepares_at_commit_and_commits(self) -> None:
        with dtx.Transaction(self.client, mode="2pc", timeout_ms=30000) as tx:
            tx.try_("svc", "book", b"x")
            self.assertEqual(self.rec.ops(tx.gid), [])  # only enlisted
        self.assertEqual(self.client.wait_final(tx.gid), p.State.COMMITTED)
        harness.wait_for(lambda: self.rec.ops(tx.gid) == ["commit", "prepare"], what="commit")

    def test_errors_carry_the_protocol_code(self) -> None:
        with self.assertRaises(dtx.NotFound) as cm:
            self.client.status("01NOSUCHGID0000000000000000")
        self.assertEqual(cm.exception.code, 6)
        gid = self.client.begin().gid
        with self.assertRaises(dtx.NoParticipant) as np_:
            self.client.try_(gid, "nobody-serves-this", "x")
        self.assertEqual(np_.exception.code, 9)
        self.assertIn("nobody-serves-this", np_.exception.text)
        self.assertEqual(self.client.rollback(gid) in (p.State.ABORTING, p.State.ABORTED), True)
        with self.assertRaises(dtx.InvalidArgument):
            self.client.begin("saga")
        with self.assertRaises(dtx.AccessDenied):  # no operator without CURVE
            self.client.resume(gid)


TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@harness.live
@unittest.skipUnless(os.path.exists(os.path.join(harness.TESTBIN, "test-participant")),
                     "needs DTX_TEST_TESTBIN (test-participant)")
class TraceContext(unittest.TestCase):
    """docs/protocol.md §15.4 end to end: the traceparent a Python initiator
    begins with reaches the C test-participant's handler and the Python
    handler unchanged; a participant forced to version 1 commits its
    branch with no trace."""

    def test_python_initiator_trace_reaches_c_and_python_handlers(self) -> None:
        d = harness.scratch("trace")
        dtxd = harness.Dtxd(d, harness.createdb("dtx_py_log4"), "--heartbeat-ms", "300")
        db_c = harness.createdb("dtx_py_trace_c")
        ready_c = os.path.join(d, "c.ready")
        c_part = harness.Proc("c-part", [
            os.path.join(harness.TESTBIN, "test-participant"), "--instance", "c-trace-1",
            "--db", db_c, "--coordinator", dtxd.endpoint, "--resource", "c-svc",
            "--ready-file", ready_c], d)
        rec_v2, rec_v1 = Recorder(), Recorder()
        new = dtx.Participant("py-trace-1", key_file="")
        new.serve("py-svc", on_try=rec_v2, on_confirm=rec_v2, on_cancel=rec_v2)
        new.connect(dtxd.endpoint)
        old = dtx.Participant("py-old-1", key_file="", protocol_version=1)
        old.serve("py-old", on_try=rec_v1, on_confirm=rec_v1, on_cancel=rec_v1)
        old.connect(dtxd.endpoint)
        served = [harness.Served(new), harness.Served(old)]
        try:
            harness.wait_for(lambda: new.registered() == 1 and old.registered() == 1,
                             what="python participants registered")
            harness.wait_for(lambda: os.path.exists(ready_c), 30, "C participant ready")
            with dtx.Client(dtxd.endpoint, key_file="", timeout_ms=10000) as client:
                with dtx.Transaction(client, timeout_ms=30000, traceparent=TP) as tx:
                    self.assertEqual(tx.traceparent, TP)   # BEGIN_OK: the one recorded
                    tx.try_("c-svc", "post", b"{}")
                    tx.try_("py-svc", "post", b"{}")
                    tx.try_("py-old", "post", b"{}")
                self.assertEqual(client.wait_final(tx.gid), p.State.COMMITTED)
                harness.wait_for(lambda: rec_v2.ops(tx.gid) == ["confirm", "try"] and
                                 rec_v1.ops(tx.gid) == ["confirm", "try"], what="confirms")
                with rec_v2.lock:
                    seen = {(c.traceparent, c.trace_id) for c in rec_v2.calls
                            if c.gid == tx.gid}
                self.assertEqual(seen, {(TP, "4bf92f3577b34da6a3ce929d0e0e4736")})
                with rec_v1.lock:
                    self.assertEqual({c.traceparent for c in rec_v1.calls if c.gid == tx.gid},
                                     {None})

                def c_traces() -> List[str]:
                    with psycopg.connect(db_c) as conn:
                        return sorted(r[0] for r in conn.execute(
                            "SELECT trace FROM ledger WHERE gid = %s", (tx.gid,)))
                harness.wait_for(lambda: len(c_traces()) == 2, what="C confirm")
                self.assertEqual(c_traces(), [TP, TP])

                # no trace set: dtxd makes one, BEGIN_OK brings it back and
                # the handler sees that one
                gid = client.begin("tcc", 30000).gid
                made = client.traceparent
                assert made is not None
                self.assertTrue(p.traceparent_valid(made))
                self.assertNotEqual(made[3:35], TP[3:35])
                client.try_(gid, "py-svc", "post")
                client.rollback(gid)
                harness.wait_for(lambda: rec_v2.ops(gid) == ["cancel", "try"], what="cancel")
                with rec_v2.lock:
                    self.assertEqual({c.traceparent for c in rec_v2.calls if c.gid == gid},
                                     {made})
            # a version 1 client learns no trace; its transaction still has one
            with dtx.Client(dtxd.endpoint, key_file="", timeout_ms=10000,
                            protocol_version=1) as v1:
                with dtx.Transaction(v1, timeout_ms=30000) as tx1:
                    tx1.try_("py-svc", "post")
                    tx1.try_("py-old", "post")
                self.assertIsNone(tx1.traceparent)
                self.assertEqual(v1.wait_final(tx1.gid), p.State.COMMITTED)
                harness.wait_for(lambda: rec_v2.ops(tx1.gid) == ["confirm", "try"],
                                 what="confirms")
                with rec_v2.lock:
                    tps = {c.traceparent for c in rec_v2.calls if c.gid == tx1.gid}
                self.assertEqual(len(tps), 1)
                self.assertTrue(p.traceparent_valid(str(tps.pop())))
            self.assertTrue(c_part.alive(), c_part.output()[-2000:])
        finally:
            for s in served:
                s.stop()
            c_part.stop()
            dtxd.stop()


@harness.live
class CoordinatorRestart(unittest.TestCase):
    def test_participant_registers_again_with_a_restarted_coordinator(self) -> None:
        d = harness.scratch("restart")
        db = harness.createdb("dtx_py_log2")
        listen = f"tcp://127.0.0.1:{harness.free_port()}"
        first = harness.Dtxd(d, db, "--node-id", "first", "--heartbeat-ms", "200",
                             listen=listen)
        rec = Recorder()
        part = dtx.Participant("py-svc-2", key_file="")
        part.serve("svc2", on_try=rec, on_confirm=rec, on_cancel=rec)
        part.connect(listen)
        served = harness.Served(part)
        second = None
        try:
            harness.wait_for(lambda: part.coordinators == ["first"], what="first registration")
            first.stop()
            second = harness.Dtxd(d, db, "--node-id", "second", "--heartbeat-ms", "200",
                                  listen=listen, name="dtxd2")
            harness.wait_for(lambda: part.coordinators == ["second"] and part.registered(),
                             what="registration with the restarted dtxd")
            with dtx.Client(listen, key_file="", timeout_ms=10000) as c:
                with dtx.Transaction(c, timeout_ms=30000) as tx:
                    tx.try_("svc2", "x")
                self.assertEqual(c.wait_final(tx.gid), p.State.COMMITTED)
        finally:
            served.stop()
            first.stop()
            if second:
                second.stop()


@harness.live
class CurveAdmission(unittest.TestCase):
    def test_a_refused_key_registers_once_the_coordinator_admits_it(self) -> None:
        d = harness.scratch("curve")
        curve = harness.Curve(d)
        key = curve.peer("late", "late", "participant:late", allow=False)
        dtxd = harness.Dtxd(d, harness.createdb("dtx_py_log4"), *curve.dtxd_args())
        part = dtx.Participant("late-1", key_file=key, heartbeat_ms=200)
        rec = Recorder()
        part.serve("late", on_try=rec, on_confirm=rec, on_cancel=rec)
        part.connect(dtxd.endpoint)
        served = harness.Served(part)
        try:
            time.sleep(1.0)
            self.assertEqual(part.registered(), 0)
            pub = subprocess.run([os.path.join(harness.BIN, "dtxctl"), "keygen", "--show", key],
                                 check=True, stdout=subprocess.PIPE, text=True).stdout.split()[0]
            with open(curve.allow, "a") as f:
                f.write(f"{pub} late participant:late\n")
            dtxd.proc.send_signal(signal.SIGHUP)  # re-reads the allow-list
            harness.wait_for(lambda: part.registered() == 1, 20, "registration once admitted")
        finally:
            served.stop()
            dtxd.stop()


@harness.live
class BundlesLive(unittest.TestCase):
    """§20 with the real coordinator: under a burst (dtx-bench, 32 TCC
    transactions in flight on noop-a and noop-b, both served by one Python
    participant) dtxd sends several PHASEs in one BUNDLE and takes the
    participant's BUNDLEs of replies; every transaction commits."""

    def test_a_burst_goes_both_ways_in_bundles(self) -> None:
        d = harness.scratch("bundles")
        dtxd = harness.Dtxd(d, harness.createdb("dtx_py_log_bundle"))
        part = dtx.Participant("py-noop-1", key_file="")
        noop = lambda call: None  # noqa: E731
        for r in ("noop-a", "noop-b"):
            part.serve(r, on_try=noop, on_confirm=noop, on_cancel=noop)
        part.connect(dtxd.endpoint)
        served = harness.Served(part)
        try:
            harness.wait_for(lambda: part.registered() == 1, what="registration with dtxd")
            env = {k: v for k, v in os.environ.items() if k != "DTX_CURVE_KEY_FILE"}
            run = subprocess.run([os.path.join(harness.BIN, "dtx-bench"), "--coordinator",
                                  dtxd.endpoint, "--concurrency", "32", "--seconds", "2",
                                  "--warmup", "0", "--json"], env=env, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
            self.assertEqual(run.returncode, 0, run.stdout)
            out = json.loads(run.stdout.strip().splitlines()[-1])
            self.assertGreater(out["committed_total"], 0, run.stdout)
            self.assertEqual(out["errors_total"], 0, run.stdout)
            self.assertGreater(part.bundles_received, 0)
            self.assertGreater(part.bundles_sent, 0)
        finally:
            served.stop()
            dtxd.stop()


class SagaLive(unittest.TestCase):
    """A Python participant serves Saga steps under the barrier; the C
    travel sample's initiator (travel book) submits the Saga: flights and
    hotels book, payments charges (and declines over 1000); a declined
    payment gets the hotel and the flight cancelled."""

    def test_python_saga_steps_commit_and_compensate(self) -> None:
        d = harness.scratch("saga")
        dtxd = harness.Dtxd(d, harness.createdb("dtx_py_log_saga"), "--phase-timeout-ms", "1000",
                            "--retry-base-ms", "50", "--retry-max-ms", "200",
                            "--heartbeat-ms", "300")
        db = harness.createdb("dtx_py_travel")
        conn = psycopg.connect(db, autocommit=True)
        conn.execute("CREATE TABLE bookings (gid text, what text, amount bigint, status text, "
                     "PRIMARY KEY (gid, what))")
        barrier = dtx.Barrier(conn)
        barrier.migrate()

        def book(c: psycopg.Connection, call: dtx.Call) -> None:  # type: ignore[type-arg]
            amount = int(call.payload.decode())
            if call.resource == "payments" and amount > 1000:
                raise dtx.Refused(text="card declined")
            c.execute("INSERT INTO bookings VALUES (%s, %s, %s, 'booked')",
                      (call.gid, call.resource, amount))

        def cancel(c: psycopg.Connection, call: dtx.Call) -> None:  # type: ignore[type-arg]
            c.execute("UPDATE bookings SET status = 'cancelled' WHERE gid = %s AND what = %s",
                      (call.gid, call.resource))

        part = dtx.Participant("py-travel-1", key_file="")
        for r in ("flights", "hotels", "payments"):
            part.serve_saga(r, on_action=barrier.wrap(book), on_compensate=barrier.wrap(cancel))
        part.connect(dtxd.endpoint)
        served = harness.Served(part)
        try:
            harness.wait_for(lambda: part.registered() == 1, what="registration with dtxd")
            env = {k: v for k, v in os.environ.items() if k != "DTX_CURVE_KEY_FILE"}

            def trip(name: str, amount: int) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
                return subprocess.run([os.path.join(harness.BIN, "travel"), "book",
                                       "--coordinator", dtxd.endpoint, "--trip", name,
                                       "--amount", str(amount)], env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      timeout=60)

            ok = trip("t-1", 300)
            self.assertEqual(ok.returncode, 0, ok.stdout)
            gid1 = ok.stdout.split()[1]
            self.assertTrue(ok.stdout.strip().endswith("committed"), ok.stdout)
            declined = trip("t-2", 5000)
            self.assertEqual(declined.returncode, 3, declined.stdout)   # compensated
            gid2 = declined.stdout.split()[1]

            def rows(gid: str) -> List[tuple]:  # type: ignore[type-arg]
                return list(conn.execute("SELECT what, amount, status FROM bookings "
                                         "WHERE gid = %s ORDER BY what", (gid,)))
            self.assertEqual(rows(gid1), [("flights", 300, "booked"), ("hotels", 300, "booked"),
                                          ("payments", 300, "booked")])
            self.assertEqual(rows(gid2), [("flights", 5000, "cancelled"),
                                          ("hotels", 5000, "cancelled")])
            # the declined payment's compensation was a null compensation
            marks = list(conn.execute("SELECT branch, op, origin FROM dtx_barrier WHERE gid = %s "
                                      "ORDER BY branch, op", (gid2,)))
            self.assertEqual(marks, [(1, "cancel", "cancel"), (1, "try", "try"),
                                     (2, "cancel", "cancel"), (2, "try", "try"),
                                     (3, "cancel", "cancel"), (3, "try", "cancel")])
        finally:
            served.stop()
            conn.close()
            dtxd.stop()


@harness.live
class MessageLive(unittest.TestCase):
    """Transactional messages across languages: the C order sample's
    service (order-outbox create) writes an order with its outbox row and
    submits; a Python participant serves the destinations mailer and stock
    under the barrier and the service's check-back (Barrier.query_prepared)
    over the same database."""

    def test_python_destinations_and_checkback(self) -> None:
        d = harness.scratch("msg")
        dtxd = harness.Dtxd(d, harness.createdb("dtx_py_log_msg"), "--phase-timeout-ms", "1000",
                            "--retry-base-ms", "50", "--retry-max-ms", "200",
                            "--heartbeat-ms", "300")
        db = harness.createdb("dtx_py_orders")
        conn = psycopg.connect(db, autocommit=True)
        conn.execute("CREATE TABLE inbox (gid text, who text, body text, PRIMARY KEY (gid, who))")
        barrier = dtx.Barrier(conn)
        barrier.migrate()
        check = dtx.Barrier(psycopg.connect(db, autocommit=True))
        reader = psycopg.connect(db, autocommit=True)   # the handlers' run in another thread

        def receive(c: psycopg.Connection, call: dtx.Call) -> None:  # type: ignore[type-arg]
            c.execute("INSERT INTO inbox VALUES (%s, %s, %s)",
                      (call.gid, call.resource, call.payload.decode()))

        part = dtx.Participant("py-orders-1", key_file="")
        part.serve_tmsg("mailer", on_deliver=barrier.wrap(receive))
        part.serve_tmsg("stock", on_deliver=barrier.wrap(receive))
        part.serve_tmsg("orders", on_query_prepared=check.query_prepared)
        part.connect(dtxd.endpoint)
        served = harness.Served(part)
        try:
            harness.wait_for(lambda: part.registered() == 1, what="registration with dtxd")
            env = {k: v for k, v in os.environ.items() if k != "DTX_CURVE_KEY_FILE"}

            def create(order: str, amount: int, *extra: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
                return subprocess.run([os.path.join(harness.BIN, "order-outbox"), "create",
                                       "--db", db, "--coordinator", dtxd.endpoint,
                                       "--order", order, "--amount", str(amount), *extra],
                                      env=env, text=True, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, timeout=60)

            def gid_of(out: str, order: str) -> str:
                # its line "ORDER GID outcome" (libpq may print NOTICEs too)
                return [ln for ln in out.splitlines() if ln.startswith(order + " ")][0].split()[1]

            def inbox(gid: str) -> List[tuple]:  # type: ignore[type-arg]
                return list(reader.execute("SELECT who FROM inbox WHERE gid = %s ORDER BY who",
                                           (gid,)))

            sent = create("o-1", 10)
            self.assertEqual(sent.returncode, 0, sent.stdout)
            gid1 = gid_of(sent.stdout, "o-1")
            harness.wait_for(lambda: len(inbox(gid1)) == 2, what="o-1 at mailer and stock")
            # committed locally, never submitted: the Python check-back says so
            lost = create("o-2", 20, "--no-submit", "--timeout-ms", "500")
            self.assertEqual(lost.returncode, 0, lost.stdout)
            gid2 = gid_of(lost.stdout, "o-2")
            harness.wait_for(lambda: len(inbox(gid2)) == 2, what="o-2 through the check-back")
            self.assertEqual(inbox(gid2), [("mailer",), ("stock",)])
            # refused by the business rule: nothing delivered
            refused = create("o-3", 0)
            self.assertEqual(refused.returncode, 3, refused.stdout)
            gid3 = gid_of(refused.stdout, "o-3")
            time.sleep(0.5)
            self.assertEqual(inbox(gid3), [])
            self.assertEqual(list(reader.execute(
                "SELECT origin FROM dtx_barrier WHERE branch = 0 ORDER BY gid")),
                [("try",), ("try",)])
        finally:
            served.stop()
            conn.close()
            reader.close()
            check.connection().close()
            dtxd.stop()


@harness.live
class BankInterop(unittest.TestCase):
    """dtxd with CURVE; bank-a is the C bank-participant, bank-b the Python
    one; transfers both ways by the C bank-transfer and the Python
    initiator; money is conserved and nothing stays reserved."""

    def test_c_and_python_banks_in_the_same_transfers(self) -> None:
        d = harness.scratch("bank")
        curve = harness.Curve(d)
        key_a = curve.peer("bank-a", "bank-a", "participant:bank-a")
        key_b = curve.peer("bank-b", "bank-b", "participant:bank-b")
        key_t = curve.peer("teller", "teller", "initiator")
        key_py = curve.peer("py-teller", "teller", "initiator")
        key_stranger = curve.peer("stranger", "stranger", "initiator", allow=False)
        db_a, db_b = harness.createdb("dtx_py_bank_a"), harness.createdb("dtx_py_bank_b")
        dtxd = harness.Dtxd(d, harness.createdb("dtx_py_log3"), *curve.dtxd_args())
        procs: List[harness.Proc] = [dtxd]
        try:
            ready_a, ready_b = os.path.join(d, "a.ready"), os.path.join(d, "b.ready")
            procs.append(harness.Proc("bank-a", [
                os.path.join(harness.BIN, "bank-participant"), "--resource", "bank-a",
                "--db", db_a, "--coordinator", dtxd.endpoint, "--seed", "alice=10000,bob=5000",
                "--ready-file", ready_a], d, {"DTX_CURVE_KEY_FILE": key_a}))
            procs.append(harness.Proc("bank-b", [
                harness.PYTHON, os.path.join(harness.PKG_ROOT, "samples", "bank_participant.py"),
                "--resource", "bank-b", "--db", db_b, "--coordinator", dtxd.endpoint,
                "--seed", "carol=8000,dave=2000", "--ready-file", ready_b],
                d, {"DTX_CURVE_KEY_FILE": key_b}))
            for path in (ready_a, ready_b):
                harness.wait_for(lambda: os.path.exists(path), 30, f"{path}")

            def total() -> int:
                s = 0
                for db in (db_a, db_b):
                    with psycopg.connect(db) as c:
                        s += c.execute("SELECT coalesce(sum(balance + frozen), 0) "
                                       "FROM accounts").fetchone()[0]  # type: ignore[index]
                return s

            self.assertEqual(total(), 25000)
            lines = ["bank-a:alice -> bank-b:carol 1000",
                     "bank-b:carol -> bank-a:bob 2500",
                     "bank-b:dave -> bank-a:alice 999999",      # refused by the Python bank
                     "bank-a:bob -> bank-b:dave 700 rollback",
                     "bank-b:dave -> bank-a:nobody 100"]         # refused by the C bank
            argv = [os.path.join(harness.BIN, "bank-transfer"), "--coordinator", dtxd.endpoint,
                    "--wait-final"]
            for line in lines:
                argv += ["--transfer", line]
            out = subprocess.run(argv, env={**os.environ, "DTX_CURVE_KEY_FILE": key_t},
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 timeout=120)
            self.assertEqual(out.returncode, 0, out.stdout)

            # The Python initiator, same principal as the C teller.
            with dtx.Client(dtxd.endpoint, key_file=key_py, timeout_ms=10000) as c:
                with dtx.Transaction(c, timeout_ms=30000) as tx:
                    tx.try_("bank-b", "debit", b'{"account":"dave","amount":150}')
                    tx.try_("bank-a", "credit", b'{"account":"bob","amount":150}')
                self.assertEqual(c.wait_final(tx.gid), p.State.COMMITTED)
                with self.assertRaises(dtx.Refused):
                    with dtx.Transaction(c, timeout_ms=30000) as tx2:
                        tx2.try_("bank-a", "debit", b'{"account":"alice","amount":50}')
                        tx2.try_("bank-b", "credit", b'{"account":"mallory","amount":50}')
                self.assertEqual(c.wait_final(tx2.gid), p.State.ABORTED)

            # A key the coordinator does not admit looks like no coordinator:
            # the request never left (NotSent, a Timeout that is safe to retry).
            with dtx.Client(dtxd.endpoint, key_file=key_stranger, timeout_ms=1500) as c:
                with self.assertRaises(dtx.NotSent):
                    c.begin()

            balances: Dict[str, int] = {}
            for db in (db_a, db_b):
                with psycopg.connect(db) as conn:
                    for acc, bal, frozen, incoming in conn.execute(
                            "SELECT id, balance, frozen, incoming FROM accounts"):
                        self.assertEqual((acc, frozen, incoming), (acc, 0, 0))
                        balances[acc] = bal
            self.assertEqual(total(), 25000)
            self.assertEqual(balances, {"alice": 9000, "bob": 7650, "carol": 6500,
                                        "dave": 1850})
            for proc in procs:
                self.assertTrue(proc.alive(), f"{proc.name} died:\n{proc.output()[-2000:]}")
        finally:
            for proc in reversed(procs):
                proc.stop()
        log_b = procs[2].output()
        self.assertIn("refused", log_b)
        self.assertIn("applied", log_b)


if __name__ == "__main__":
    unittest.main()
