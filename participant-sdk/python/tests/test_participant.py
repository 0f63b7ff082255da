"""The participant against a fake coordinator (a ROUTER socket this test
drives): registration and heartbeats (§10), duplicate and out-of-order
deliveries under the barrier in a real PostgreSQL (§11), version handling
(§9, §15: version 2 by default, the fallback to version 1, the
traceparent a handler sees)."""
from __future__ import annotations

import os
import struct
import threading
import time
import unittest
from typing import Any, Callable, List, Optional, Tuple

import psycopg
import zmq

import harness
import dtx
from dtx import barrier as bar
from dtx import protocol as p


class FakeCoordinator:
    def __init__(self) -> None:
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
        port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"
        self.corr = 1000

    def recv_raw(self, timeout_s: float = 10.0) -> Tuple[bytes, bytes]:
        if not self.sock.poll(int(timeout_s * 1000)):
            raise AssertionError("the participant sent nothing")
        rid, frame = self.sock.recv_multipart()
        return rid, frame

    def recv(self, kind: type, timeout_s: float = 10.0) -> Tuple[bytes, p.Message]:
        """The next frame of type kind (others are skipped)."""
        end = time.monotonic() + timeout_s
        while True:
            rid, frame = self.recv_raw(max(0.01, end - time.monotonic()))
            msg = p.decode(frame)
            if isinstance(msg, kind):
                return rid, msg

    def send(self, rid: bytes, msg: p.Message) -> None:
        self.sock.send_multipart([rid, p.encode(msg)])

    def register(self, name: str = "coord-1", heartbeat_ms: int = 200) -> bytes:
        rid, reg = self.recv(p.Register)
        assert isinstance(reg, p.Register)
        self.send(rid, p.RegisterOk(corr=reg.corr, resource=reg.resource,
                                    heartbeat_ms=heartbeat_ms, coordinator=name))
        return rid

    def phase(self, rid: bytes, gid: str, branch: int, op: p.Op, attempt: int = 1,
              resource: str = "ledger", payload: bytes = b"{}", version: int = 1,
              traceparent: Optional[str] = None) -> p.PhaseReply:
        self.corr += 1
        self.send(rid, p.Phase(corr=self.corr, gid=gid, branch=branch, op=op, attempt=attempt,
                               resource=resource, action="post",
                               deadline_ms=int(time.time() * 1000) + 60000, payload=payload,
                               version=version, traceparent=traceparent))
        _, reply = self.recv(p.PhaseReply)
        assert isinstance(reply, p.PhaseReply)
        # §11: the reply repeats corr, gid, branch, op and attempt.
        assert (reply.corr, reply.gid, reply.branch, reply.op, reply.attempt) == \
            (self.corr, gid, branch, op, attempt), reply
        return reply

    def close(self) -> None:
        self.sock.close(0)


def serve_ledger(test: unittest.TestCase, instance: str,
                 handler: Optional[Callable[[dtx.Call], None]] = None, **options: Any
                 ) -> Tuple[FakeCoordinator, dtx.Participant, harness.Served, List[dtx.Call]]:
    """A participant serving "ledger" with TCC handlers (handler, or one
    recording each call in the list returned) against a new fake
    coordinator; both stopped when test ends. options go to Participant."""
    coord = FakeCoordinator()
    calls: List[dtx.Call] = []
    fn = handler or calls.append
    part = dtx.Participant(instance, key_file="", **options)
    part.serve("ledger", on_try=fn, on_confirm=fn, on_cancel=fn)
    part.connect(coord.endpoint)
    served = harness.Served(part)
    test.addCleanup(coord.close)
    test.addCleanup(served.stop)
    return coord, part, served, calls


class Registration(unittest.TestCase):
    def setUp(self) -> None:
        self.coord = FakeCoordinator()
        self.part = dtx.Participant("ledger-1", heartbeat_ms=5000, key_file="")
        noop = lambda call: None  # noqa: E731
        self.part.serve("ledger", on_try=noop, on_confirm=noop, on_cancel=noop)
        self.part.serve("audit", on_try=noop, on_confirm=noop, on_cancel=noop)
        self.part.connect(self.coord.endpoint)
        self.served = harness.Served(self.part)

    def tearDown(self) -> None:
        self.served.stop()
        self.coord.close()

    def register_all(self, name: str = "coord-1", version: Optional[int] = None) -> None:
        resources = set()
        for _ in range(2):
            rid, reg = self.coord.recv(p.Register)
            assert isinstance(reg, p.Register)
            self.assertEqual(reg.instance, "ledger-1")
            if version is not None:
                self.assertEqual(reg.version, version)
            resources.add(reg.resource)
            self.coord.send(rid, p.RegisterOk(corr=reg.corr, resource=reg.resource,
                                              heartbeat_ms=200, coordinator=name))
        self.assertEqual(resources, {"ledger", "audit"})

    def test_registers_every_resource_then_heartbeats_at_the_coordinators_interval(self) -> None:
        self.register_all()
        harness.wait_for(lambda: self.part.registered() == 1, what="registered")
        start = time.monotonic()
        for _ in range(3):
            rid, hb = self.coord.recv(p.Heartbeat)
            assert isinstance(hb, p.Heartbeat)
            self.assertEqual(hb.instance, "ledger-1")
            self.coord.send(rid, p.HeartbeatOk(corr=hb.corr, coordinator="coord-1"))
        # 200 ms asked, shorter than our 5000: three beats take 0.6 s, not 15.
        self.assertLess(time.monotonic() - start, 10)

    def test_error_16_to_a_heartbeat_registers_every_resource_again(self) -> None:
        self.register_all()
        rid, hb = self.coord.recv(p.Heartbeat)
        self.coord.send(rid, p.Error(corr=hb.corr, code=16, text="unregistered"))
        self.register_all()

    def test_a_new_coordinator_name_registers_every_resource_again(self) -> None:
        self.register_all()
        rid, hb = self.coord.recv(p.Heartbeat)
        self.coord.send(rid, p.HeartbeatOk(corr=hb.corr, coordinator="coord-2"))
        self.register_all("coord-2")
        harness.wait_for(lambda: self.part.coordinators == ["coord-2"], what="new name")

    def test_silence_for_three_intervals_registers_again(self) -> None:
        self.register_all()
        # swallow heartbeats without answering: after 3 x 200 ms, REGISTER.
        _, reg = self.coord.recv(p.Register, timeout_s=10)
        self.assertEqual(reg.instance, "ledger-1")  # type: ignore[attr-defined]

    def test_a_refused_registration_is_not_retried_on_every_message(self) -> None:
        rid, reg = self.coord.recv(p.Register)
        self.coord.send(rid, p.Error(corr=reg.corr, code=21, text="not yours"))
        self.assertEqual(self.part.registered(), 0)

    def test_a_frame_of_another_version_is_answered_error_3_in_version_1(self) -> None:
        rid = self.coord.register()
        frame = b"DX\x03\x88" + (4242).to_bytes(8, "big") + b"future fields"
        self.coord.sock.send_multipart([rid, frame])
        _, err = self.coord.recv(p.Error)
        assert isinstance(err, p.Error)
        self.assertEqual((err.corr, err.code, err.version), (4242, 3, 1))

    def test_registers_and_heartbeats_in_version_2_by_default(self) -> None:
        for _ in range(2):
            rid, reg = self.coord.recv(p.Register)
            self.assertEqual(reg.version, 2)
            self.coord.send(rid, p.RegisterOk(corr=reg.corr, resource=reg.resource,  # type: ignore[attr-defined]
                                              heartbeat_ms=200, coordinator="c", version=2))
        _, hb = self.coord.recv(p.Heartbeat)
        self.assertEqual(hb.version, 2)

    def test_error_3_to_a_register_registers_again_in_version_1(self) -> None:
        rid, reg = self.coord.recv(p.Register)
        self.assertEqual(reg.version, 2)
        # what a version 1 coordinator answers: ERROR 3 in version 1 framing
        self.coord.sock.send_multipart([rid, p.error_frame(reg.corr, 3, "version 2")])
        end = time.monotonic() + 10
        while True:  # the other resource's version 2 REGISTER may come first
            _, again = self.coord.recv(p.Register, timeout_s=max(0.01, end - time.monotonic()))
            if again.version == 1:
                break
        self.register_all(version=1)

    def test_an_unknown_type_in_version_2_is_dropped_unanswered(self) -> None:
        rid = self.coord.register()
        self.coord.sock.send_multipart([rid, bytes.fromhex("4458020a0000000000000041")])
        self.coord.sock.send_multipart([rid, bytes.fromhex("4458010a0000000000000042")])
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if self.coord.sock.poll(100):
                _, frame = self.coord.sock.recv_multipart()
                self.assertNotIsInstance(p.decode(frame), p.Error)


class Tracing(unittest.TestCase):
    """§15.4: the handler reads the PHASE's traceparent; the reply goes in
    the link's version."""

    TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    def serve(self, protocol_version: Optional[int] = None
              ) -> Tuple[FakeCoordinator, dtx.Participant, harness.Served, List[dtx.Call]]:
        return serve_ledger(self, "traced-1", protocol_version=protocol_version)

    def test_a_handler_sees_the_phase_traceparent(self) -> None:
        coord, _, _, calls = self.serve()
        rid = coord.register()
        reply = coord.phase(rid, "gt", 1, p.Op.TRY, version=2, traceparent=self.TP)
        self.assertEqual((reply.outcome, reply.version), (p.Outcome.OK, 2))
        coord.phase(rid, "gt", 1, p.Op.CONFIRM, version=2)  # an untraced transaction
        self.assertEqual([(c.traceparent, c.trace_id) for c in calls],
                         [(self.TP, "0af7651916cd43dd8448eb211c80319c"), (None, None)])

    def test_protocol_version_1_registers_and_replies_in_version_1(self) -> None:
        coord, _, _, calls = self.serve(protocol_version=1)
        rid, reg = coord.recv(p.Register)
        self.assertEqual(reg.version, 1)
        coord.send(rid, p.RegisterOk(corr=reg.corr, resource="ledger", heartbeat_ms=200,
                                     coordinator="c"))
        reply = coord.phase(rid, "gv", 1, p.Op.TRY)
        self.assertEqual((reply.outcome, reply.version, calls[0].traceparent),
                         (p.Outcome.OK, 1, None))

    def test_dtx_proto_version_1_in_the_environment_forces_version_1(self) -> None:
        old = os.environ.get("DTX_PROTO_VERSION")
        os.environ["DTX_PROTO_VERSION"] = "1"
        try:
            self.assertEqual(dtx.Participant("x", key_file="").protocol_version, 1)
            self.assertEqual(dtx.Participant("x", key_file="",
                                             protocol_version=2).protocol_version, 2)
        finally:
            if old is None:
                del os.environ["DTX_PROTO_VERSION"]
            else:
                os.environ["DTX_PROTO_VERSION"] = old
        with self.assertRaises(dtx.InvalidArgument):
            dtx.Participant("x", key_file="", protocol_version=3)


class Bundles(unittest.TestCase):
    """§20: the REGISTER carries tag 2; a BUNDLE of PHASEs is handled entry by
    entry, in order; the replies of one pass go back as one BUNDLE while the
    latest REGISTER_OK carried tag 2, each alone otherwise."""

    def serve(self) -> Tuple[FakeCoordinator, dtx.Participant, List[dtx.Call]]:
        coord, part, _, calls = serve_ledger(self, "bundled-1", heartbeat_ms=5000)
        return coord, part, calls

    def register(self, coord: FakeCoordinator, part: dtx.Participant, tag: bool,
                 expect_tag: bool = True) -> bytes:
        rid, reg = coord.recv(p.Register)
        assert isinstance(reg, p.Register)
        self.assertEqual((reg.version, reg.bundle), (2, expect_tag))
        coord.send(rid, p.RegisterOk(corr=reg.corr, resource=reg.resource, heartbeat_ms=5000,
                                     coordinator="c", version=2, bundle=tag))
        harness.wait_for(lambda: part.registered() == 1, what="registered")
        return rid

    def phases(self, n: int, corr: int, op: p.Op = p.Op.TRY) -> List[bytes]:
        return [p.encode(p.Phase(corr=corr + i, gid="gb", branch=i + 1, op=op, attempt=1,
                                 resource="ledger", action="post",
                                 deadline_ms=int(time.time() * 1000) + 60000, payload=b"{}",
                                 version=2)) for i in range(n)]

    def replies(self, coord: FakeCoordinator, n: int) -> List[Tuple[int, int]]:
        """The next n PHASE_REPLYs as (frame type, corr), skipping heartbeats."""
        got: List[Tuple[int, int]] = []
        end = time.monotonic() + 10
        while len(got) < n:
            _, frame = coord.recv_raw(max(0.01, end - time.monotonic()))
            if frame[3] == p.BUNDLE_REPLIES:
                got += [(p.BUNDLE_REPLIES, p.decode(e).corr) for e in p.decode_bundle(frame)]
            elif frame[3] == p.MessageType.PHASE_REPLY:
                got.append((p.MessageType.PHASE_REPLY, p.decode(frame).corr))
        return got

    def test_a_bundle_of_phases_is_answered_with_one_bundle(self) -> None:
        coord, part, calls = self.serve()
        rid = self.register(coord, part, tag=True)
        coord.sock.send_multipart([rid, p.encode_bundle(self.phases(3, 500), p.BUNDLE_PHASES)])
        self.assertEqual(self.replies(coord, 3), [(p.BUNDLE_REPLIES, 500 + i) for i in range(3)])
        self.assertEqual([(c.branch, c.op) for c in calls], [(i + 1, p.Op.TRY) for i in range(3)])
        # lone PHASEs read in one pass are answered together too
        for f in self.phases(2, 600, p.Op.CONFIRM):
            coord.sock.send_multipart([rid, f])
        got = self.replies(coord, 2)
        self.assertEqual([c for _, c in got], [600, 601])

    def test_without_tag_2_on_the_register_ok_each_reply_goes_alone(self) -> None:
        coord, part, calls = self.serve()
        rid = self.register(coord, part, tag=False)
        coord.sock.send_multipart([rid, p.encode_bundle(self.phases(3, 700), p.BUNDLE_PHASES)])
        self.assertEqual(self.replies(coord, 3),
                         [(p.MessageType.PHASE_REPLY, 700 + i) for i in range(3)])
        self.assertEqual(len(calls), 3)

    def test_dtx_bundle_0_sends_no_tag_2_and_no_bundle(self) -> None:
        os.environ["DTX_BUNDLE"] = "0"
        try:
            coord, part, calls = self.serve()
        finally:
            del os.environ["DTX_BUNDLE"]
        rid = self.register(coord, part, tag=True, expect_tag=False)
        # a BUNDLE that comes anyway is still handled (§20.2)
        coord.sock.send_multipart([rid, p.encode_bundle(self.phases(2, 800), p.BUNDLE_PHASES)])
        self.assertEqual(self.replies(coord, 2),
                         [(p.MessageType.PHASE_REPLY, 800 + i) for i in range(2)])

    def test_a_malformed_bundle_is_dropped_whole(self) -> None:
        coord, part, calls = self.serve()
        rid = self.register(coord, part, tag=True)
        good, second = self.phases(2, 900)
        v1 = second[:2] + b"\x01" + second[3:]
        blob = b"".join(struct.pack(">I", len(f)) + f for f in (good, v1))
        bad = b"DX\x02\x8e" + bytes(8) + struct.pack(">I", len(blob)) + blob
        coord.sock.send_multipart([rid, bad])
        coord.sock.send_multipart([rid, self.phases(1, 950)[0]])  # then a good one alone
        self.assertEqual(self.replies(coord, 1), [(p.MessageType.PHASE_REPLY, 950)])
        self.assertEqual([c.branch for c in calls], [1])  # only the lone one's handler ran

    def test_a_slow_handler_does_not_hold_the_replies_before_it(self) -> None:
        def slow(call: dtx.Call) -> None:
            if call.branch == 1:
                time.sleep(0.3)
        coord, part, _, _ = serve_ledger(self, "bundled-2", slow, heartbeat_ms=5000)
        rid = self.register(coord, part, tag=True)
        coord.sock.send_multipart([rid, p.encode_bundle(self.phases(3, 1000), p.BUNDLE_PHASES)])
        # branch 1 took 300 ms: its reply leaves alone before branch 2 runs
        # (2 and 3, quick, go together at the end of the pass, or alone when
        # this machine is slow enough to make them wait 2 ms)
        got = self.replies(coord, 3)
        self.assertEqual(got[0], (p.MessageType.PHASE_REPLY, 1000))
        self.assertEqual([c for _, c in got], [1000, 1001, 1002])


class ClientVersions(unittest.TestCase):
    """The initiator's side of §15: BEGIN and TRY carry the traceparent set,
    BEGIN_OK's is recorded, ERROR 3 sends the request again in version 1."""

    TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    MADE = "00-11111111111111111111111111111111-2222222222222222-01"

    def setUp(self) -> None:
        self.coord = FakeCoordinator()
        self.addCleanup(self.coord.close)
        self.client = dtx.Client(self.coord.endpoint, key_file="", timeout_ms=10000)
        self.addCleanup(self.client.close)

    def in_thread(self, fn: Callable[[], object]) -> List[object]:
        out: List[object] = []

        def run() -> None:
            try:
                out.append(fn())
            except Exception as e:  # handed to the test
                out.append(e)
        t = threading.Thread(target=run, daemon=True)
        t.start()
        self.addCleanup(t.join, 15)
        return out

    def answer_begin(self, version: int, traceparent: Optional[str]) -> p.Message:
        rid, begin = self.coord.recv(p.Begin)
        self.coord.send(rid, p.BeginOk(corr=begin.corr, gid="g-1", deadline_ms=9,
                                       version=version, traceparent=traceparent))
        return begin

    def test_begin_and_try_carry_the_trace_and_begin_ok_records_one(self) -> None:
        self.client.set_traceparent(self.TP)
        out = self.in_thread(lambda: self.client.begin("tcc", 1000))
        begin = self.answer_begin(2, self.TP)
        self.assertEqual((begin.version, begin.traceparent), (2, self.TP))
        harness.wait_for(lambda: bool(out), what="begin")
        self.assertEqual(self.client.traceparent, self.TP)
        out = self.in_thread(lambda: self.client.try_("g-1", "r", "a"))
        rid, try_ = self.coord.recv(p.Try)
        self.assertEqual((try_.version, try_.traceparent), (2, self.TP))
        self.coord.send(rid, p.TryOk(corr=try_.corr, gid="g-1", branch=1, outcome=0, state=1,
                                     payload=b"", version=2))
        harness.wait_for(lambda: bool(out), what="try")
        # no trace set: none sent, the one the coordinator made comes back
        self.client.set_traceparent(None)
        out = self.in_thread(lambda: self.client.begin("tcc", 1000))
        begin = self.answer_begin(2, self.MADE)
        self.assertEqual((begin.version, begin.traceparent), (2, None))
        harness.wait_for(lambda: bool(out), what="begin")
        self.assertEqual(self.client.traceparent, self.MADE)
        with self.assertRaises(dtx.InvalidArgument):
            self.client.set_traceparent(self.TP.upper())
        self.assertIsNone(self.client.traceparent_set)

    def test_error_3_sends_the_request_again_in_version_1_and_sticks(self) -> None:
        self.client.set_traceparent(self.TP)
        out = self.in_thread(lambda: self.client.begin("2pc", 1000))
        rid, begin = self.coord.recv(p.Begin)
        self.assertEqual(begin.version, 2)
        self.coord.sock.send_multipart([rid, p.error_frame(begin.corr, 3, "version 2")])
        again = self.answer_begin(1, None)
        self.assertEqual((again.version, again.traceparent), (1, None))
        harness.wait_for(lambda: bool(out), what="begin")
        self.assertEqual(out[0], dtx.Begun("g-1", 9))
        self.assertIsNone(self.client.traceparent)
        self.assertEqual(self.client.protocol_version, 1)
        self.in_thread(lambda: self.client.status("g-1"))
        rid, status = self.coord.recv(p.Status)
        self.assertEqual(status.version, 1)
        self.coord.send(rid, p.StateReply(corr=status.corr, gid="g-1", state=1))

    def test_transaction_sends_its_trace_and_restores_the_clients(self) -> None:
        other = "00-" + "3" * 32 + "-" + "4" * 16 + "-00"
        self.client.set_traceparent(other)
        tx = dtx.Transaction(self.client, "tcc", 1000, traceparent=self.TP)
        out = self.in_thread(lambda: tx.__enter__())
        begin = self.answer_begin(2, self.TP)
        self.assertEqual(begin.traceparent, self.TP)
        harness.wait_for(lambda: bool(out), what="enter")
        self.assertEqual((tx.gid, tx.traceparent), ("g-1", self.TP))
        self.in_thread(lambda: tx.__exit__(None, None, None))
        rid, commit = self.coord.recv(p.Commit)
        self.coord.send(rid, p.StateReply(corr=commit.corr, gid="g-1", state=3, version=2))
        harness.wait_for(lambda: self.client.traceparent_set == other, what="restored")
        with self.assertRaises(dtx.InvalidArgument):
            dtx.Transaction(self.client, traceparent="00-bad")


class SeveralCoordinators(unittest.TestCase):
    def test_registers_with_each_and_is_ready_once_all_acknowledge(self) -> None:
        coords = [FakeCoordinator(), FakeCoordinator()]
        part = dtx.Participant("multi-1", key_file="")
        noop = lambda call: None  # noqa: E731
        part.serve("multi", on_try=noop, on_confirm=noop, on_cancel=noop)
        ready: List[int] = []
        part.set_ready(lambda q: ready.append(q.registered()))
        for c in coords:
            part.connect(c.endpoint)
        served = harness.Served(part)
        try:
            rid0 = coords[0].register("c0", heartbeat_ms=5000)
            time.sleep(0.3)
            self.assertEqual((part.registered(), ready), (1, []))
            coords[1].register("c1", heartbeat_ms=5000)
            harness.wait_for(lambda: ready == [2], what="ready callback")
            self.assertEqual(part.coordinators, ["c0", "c1"])
            # a phase through either link is answered on that link
            coords[0].corr += 1
            reply = coords[0].phase(rid0, "gm", 1, p.Op.TRY, resource="multi")
            self.assertEqual(reply.outcome, p.Outcome.OK)
        finally:
            served.stop()
            for c in coords:
                c.close()


@harness.live
class BarrierDeliveries(unittest.TestCase):
    """§11's participant rules, forged by a fake coordinator, with the
    handler's effect in PostgreSQL under dtx.Barrier."""

    db: str

    @classmethod
    def setUpClass(cls) -> None:
        cls.db = harness.createdb("dtx_py_barrier")

    def setUp(self) -> None:
        self.conn = psycopg.connect(self.db, autocommit=True)
        self.conn.execute("DROP TABLE IF EXISTS ledger")
        self.conn.execute("CREATE TABLE ledger (gid text, branch int, op text)")
        self.barrier = dtx.Barrier(self.conn)
        self.barrier.migrate()
        self.barrier.migrate()  # idempotent
        self.fail_next: List[str] = []

        def post(conn: psycopg.Connection, call: dtx.Call) -> None:  # type: ignore[type-arg]
            conn.execute("INSERT INTO ledger VALUES (%s, %s, %s)",
                         (call.gid, call.branch, call.op.name.lower()))
            if self.fail_next:
                reason = self.fail_next.pop()
                if reason == "refuse":
                    raise dtx.Refused(text="no funds")
                raise RuntimeError(reason)

        h = self.barrier.wrap(post)
        self.coord = FakeCoordinator()
        self.part = dtx.Participant("ledger-1", key_file="")
        self.part.serve("ledger", on_try=h, on_confirm=h, on_cancel=h)
        self.part.serve_2pc("ledger", on_prepare=h, on_commit=h, on_abort=h)
        self.part.serve_saga("ledger", on_action=h, on_compensate=h)
        self.part.serve_tmsg("ledger", on_deliver=h, on_query_prepared=self.barrier.query_prepared)
        self.part.connect(self.coord.endpoint)
        self.served = harness.Served(self.part)
        self.rid = self.coord.register()

    def tearDown(self) -> None:
        self.served.stop()
        self.coord.close()
        self.conn.close()

    def rows(self, gid: str) -> List[Tuple[int, str]]:
        return [(b, o) for b, o in self.conn.execute(
            "SELECT branch, op FROM ledger WHERE gid = %s ORDER BY op", (gid,))]

    def barrier_rows(self, gid: str) -> List[Tuple[str, str]]:
        return [(o, g) for o, g in self.conn.execute(
            "SELECT op, origin FROM dtx_barrier WHERE gid = %s ORDER BY op", (gid,))]

    def test_confirm_delivered_twice_applies_once(self) -> None:
        self.assertEqual(self.coord.phase(self.rid, "g1", 1, p.Op.TRY).outcome, p.Outcome.OK)
        self.assertEqual(self.coord.phase(self.rid, "g1", 1, p.Op.CONFIRM).outcome, 0)
        self.assertEqual(self.coord.phase(self.rid, "g1", 1, p.Op.CONFIRM, attempt=2).outcome,
                         p.Outcome.OK)
        self.assertEqual(self.rows("g1"), [(1, "confirm"), (1, "try")])

    def test_try_delivered_twice_reserves_once(self) -> None:
        self.coord.phase(self.rid, "g2", 1, p.Op.TRY)
        self.assertEqual(self.coord.phase(self.rid, "g2", 1, p.Op.TRY).outcome, p.Outcome.OK)
        self.assertEqual(self.rows("g2"), [(1, "try")])

    def test_cancel_before_its_try_is_a_null_compensation_and_the_try_is_refused(self) -> None:
        self.assertEqual(self.coord.phase(self.rid, "g3", 2, p.Op.CANCEL).outcome, 0)
        self.assertEqual(self.barrier_rows("g3"), [("cancel", "cancel"), ("try", "cancel")])
        self.assertEqual(self.coord.phase(self.rid, "g3", 2, p.Op.TRY).outcome,
                         p.Outcome.REFUSED)
        self.assertEqual(self.coord.phase(self.rid, "g3", 2, p.Op.CANCEL, 2).outcome, 0)
        self.assertEqual(self.rows("g3"), [])  # nothing reserved, nothing released

    def test_cancel_after_try_runs_once(self) -> None:
        self.coord.phase(self.rid, "g4", 1, p.Op.TRY)
        self.coord.phase(self.rid, "g4", 1, p.Op.CANCEL)
        self.coord.phase(self.rid, "g4", 1, p.Op.CANCEL, attempt=2)
        self.assertEqual(self.rows("g4"), [(1, "cancel"), (1, "try")])

    def test_a_refused_try_leaves_no_barrier_row(self) -> None:
        self.fail_next.append("refuse")
        self.assertEqual(self.coord.phase(self.rid, "g5", 1, p.Op.TRY).outcome,
                         p.Outcome.REFUSED)
        self.assertEqual((self.rows("g5"), self.barrier_rows("g5")), ([], []))

    def test_a_failed_confirm_rolls_back_and_runs_on_redelivery(self) -> None:
        self.coord.phase(self.rid, "g6", 1, p.Op.TRY)
        self.fail_next.append("database hiccup")
        self.assertEqual(self.coord.phase(self.rid, "g6", 1, p.Op.CONFIRM).outcome,
                         p.Outcome.FAILED)
        self.assertEqual(self.rows("g6"), [(1, "try")])
        self.assertEqual(self.coord.phase(self.rid, "g6", 1, p.Op.CONFIRM, 2).outcome, 0)
        self.assertEqual(self.rows("g6"), [(1, "confirm"), (1, "try")])

    def test_2pc_abort_before_prepare_then_prepare_votes_no(self) -> None:
        self.assertEqual(self.coord.phase(self.rid, "g7", 1, p.Op.ABORT).outcome, 0)
        self.assertEqual(self.coord.phase(self.rid, "g7", 1, p.Op.PREPARE).outcome,
                         p.Outcome.REFUSED)
        self.coord.phase(self.rid, "g8", 1, p.Op.PREPARE)
        self.coord.phase(self.rid, "g8", 1, p.Op.COMMIT)
        self.coord.phase(self.rid, "g8", 1, p.Op.COMMIT, attempt=2)
        self.assertEqual(self.rows("g8"), [(1, "commit"), (1, "prepare")])

    def test_saga_action_twice_applies_once_and_its_compensation_runs_once(self) -> None:
        self.assertEqual(self.coord.phase(self.rid, "s1", 1, p.Op.ACTION).outcome, p.Outcome.OK)
        self.assertEqual(self.coord.phase(self.rid, "s1", 1, p.Op.ACTION, 2).outcome, 0)
        self.assertEqual(self.rows("s1"), [(1, "action")])
        self.assertEqual(self.coord.phase(self.rid, "s1", 1, p.Op.COMPENSATE).outcome, 0)
        self.assertEqual(self.coord.phase(self.rid, "s1", 1, p.Op.COMPENSATE, 2).outcome, 0)
        self.assertEqual(self.rows("s1"), [(1, "action"), (1, "compensate")])
        self.assertEqual(self.barrier_rows("s1"), [("cancel", "cancel"), ("try", "try")])

    def test_saga_compensation_before_its_action_is_a_null_compensation(self) -> None:
        self.assertEqual(self.coord.phase(self.rid, "s2", 3, p.Op.COMPENSATE).outcome, 0)
        self.assertEqual(self.barrier_rows("s2"), [("cancel", "cancel"), ("try", "cancel")])
        # the late action is refused, nothing applied
        self.assertEqual(self.coord.phase(self.rid, "s2", 3, p.Op.ACTION).outcome,
                         p.Outcome.REFUSED)
        self.assertEqual(self.rows("s2"), [])

    def test_saga_refused_action_is_a_no_and_a_refused_compensation_is_failed(self) -> None:
        self.fail_next.append("refuse")
        self.assertEqual(self.coord.phase(self.rid, "s3", 1, p.Op.ACTION).outcome,
                         p.Outcome.REFUSED)
        self.assertEqual((self.rows("s3"), self.barrier_rows("s3")), ([], []))
        self.coord.phase(self.rid, "s4", 1, p.Op.ACTION)
        self.fail_next.append("refuse")   # a compensation cannot say no: retried
        self.assertEqual(self.coord.phase(self.rid, "s4", 1, p.Op.COMPENSATE).outcome,
                         p.Outcome.FAILED)
        self.assertEqual(self.coord.phase(self.rid, "s4", 1, p.Op.COMPENSATE, 2).outcome, 0)
        self.assertEqual(self.rows("s4"), [(1, "action"), (1, "compensate")])

    def test_serve_saga_twice_or_without_a_handler_is_refused(self) -> None:
        with self.assertRaises(dtx.InvalidArgument):
            self.part.serve_saga("ledger", on_action=lambda c: None,
                                 on_compensate=lambda c: None)
        with self.assertRaises(dtx.InvalidArgument):
            self.part.serve_saga("other", on_action=lambda c: None,
                                 on_compensate=None)  # type: ignore[arg-type]

    def test_message_delivered_twice_applies_once(self) -> None:
        self.assertEqual(self.coord.phase(self.rid, "m1", 2, p.Op.DELIVER).outcome, p.Outcome.OK)
        self.assertEqual(self.coord.phase(self.rid, "m1", 2, p.Op.DELIVER, 2).outcome, 0)
        self.assertEqual(self.rows("m1"), [(2, "deliver")])
        self.assertEqual(self.barrier_rows("m1"), [("try", "try")])

    def test_checkback_answers_from_the_outbox_and_marks_a_rollback(self) -> None:
        # no outbox row: rolled back, and the marker bars a late commit
        self.assertEqual(self.coord.phase(self.rid, "m2", 0, p.Op.QUERY_PREPARED).outcome,
                         p.Outcome.REFUSED)
        self.assertEqual(self.barrier_rows("m2"), [("try", "cancel")])
        self.assertEqual(self.conn.execute(
            "INSERT INTO dtx_barrier (gid, branch, op, origin) VALUES ('m2', 0, 'try', 'try')"
            " ON CONFLICT DO NOTHING").rowcount, 0)
        # the outbox row of a committed local transaction: committed
        self.conn.execute("INSERT INTO dtx_barrier (gid, branch, op, origin)"
                          " VALUES ('m3', 0, 'try', 'try')")
        self.assertEqual(self.coord.phase(self.rid, "m3", 0, p.Op.QUERY_PREPARED).outcome,
                         p.Outcome.OK)
        self.assertEqual(self.barrier_rows("m3"), [("try", "try")])

    def test_checkback_meeting_an_open_local_transaction_answers_unknown(self) -> None:
        # the service's transaction holds the outbox row uncommitted: the
        # check-back waits CHECKBACK_WAIT_MS, answers failed (asked again),
        # leaves no marker, and says committed once it commits
        holder = psycopg.connect(self.db)
        try:
            holder.execute("INSERT INTO dtx_barrier (gid, branch, op, origin)"
                           " VALUES ('m4', 0, 'try', 'try')")
            t0 = time.monotonic()
            self.assertEqual(self.coord.phase(self.rid, "m4", 0, p.Op.QUERY_PREPARED).outcome,
                             p.Outcome.FAILED)
            self.assertGreaterEqual(time.monotonic() - t0,
                                    bar.CHECKBACK_WAIT_MS / 1000.0 - 0.1)
            holder.commit()
        finally:
            holder.close()
        self.assertEqual(self.coord.phase(self.rid, "m4", 0, p.Op.QUERY_PREPARED, 2).outcome,
                         p.Outcome.OK)
        self.assertEqual(self.barrier_rows("m4"), [("try", "try")])

    def test_serve_tmsg_without_a_handler_or_twice_is_refused(self) -> None:
        with self.assertRaises(dtx.InvalidArgument):
            self.part.serve_tmsg("other")
        with self.assertRaises(dtx.InvalidArgument):
            self.part.serve_tmsg("ledger", on_deliver=lambda c: None)

    def test_a_phase_for_a_resource_not_served_is_answered_failed(self) -> None:
        reply = self.coord.phase(self.rid, "g9", 1, p.Op.CONFIRM, resource="other")
        self.assertEqual(reply.outcome, p.Outcome.FAILED)

    def test_barrier_shares_the_c_sdks_schema_version_row(self) -> None:
        row = self.conn.execute("SELECT name FROM dtx_schema_version WHERE component = "
                                "'participant' AND version = 1").fetchall()
        self.assertEqual(row, [("001_barrier",)])


if __name__ == "__main__":
    unittest.main()
