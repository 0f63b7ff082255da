"""The version 2 whole-plan requests (SAGA, TMSG, TRY_MANY, TRY_MANY_OK)
on docs/protocol.md's hex vectors (§16.1, §17.1, §18.1), and every rule
of their layouts refused in both directions: the encoder before anything
is sent (InvalidArgument), the decoder on bytes from a peer
(MalformedFrame, code 2), with the same text."""
from __future__ import annotations

import dataclasses
import struct
import unittest
from typing import Callable, List

import harness  # noqa: F401  (puts the package on sys.path)
import dtx
from dtx import plans
from dtx import protocol as p
from dtx.plans import Branch, BranchOutcome, Destination, Step


def hexbytes(text: str) -> bytes:
    return bytes.fromhex(" ".join(text.split()))


SAGA_HEX = """
44 58 02 0a 01 02 03 04 05 06 07 08 00 00 75 30
00 00 00 26 00 02 02 72 61 04 62 6f 6f 6b 06 75
6e 62 6f 6f 6b 00 00 00 00 00 01 66 02 72 62 03
70 61 79 00 01 00 00 00 00 00
"""
TMSG_HEX = """
44 58 02 0b 01 02 03 04 05 06 07 08 00 00 75 30
00 00 00 2d 06 6f 72 64 65 72 73 02 04 6d 61 69
6c 07 63 72 65 61 74 65 64 00 00 00 02 6f 31 05
73 74 6f 63 6b 07 63 72 65 61 74 65 64 00 00 00
00
"""
TRY_MANY_HEX = """
44 58 02 0c 01 02 03 04 05 06 07 08 02 67 31 00
00 00 1d 02 02 72 61 05 64 65 62 69 74 00 00 00
01 35 02 72 62 06 63 72 65 64 69 74 00 00 00 00
"""
TRY_MANY_OK_HEX = """
44 58 02 8c 01 02 03 04 05 06 07 08 02 67 31 04
00 00 00 15 02 00 00 00 01 00 00 00 00 00 00 00
00 00 02 01 00 00 00 00 00
"""
TCC_RUN_HEX = """
44 58 02 0d 01 02 03 04 05 06 07 08 00 00 75 30
01 00 00 00 1d 02 02 72 61 05 64 65 62 69 74 00
00 00 01 35 02 72 62 06 63 72 65 64 69 74 00 00
00 00
"""
CORR = 0x0102030405060708


class Vectors(unittest.TestCase):
    def test_saga_vector(self) -> None:
        plan = plans.encode_saga([Step("ra", "book", "unbook", b"f"),
                                  Step("rb", "pay", pivot=True)])
        frame = p.encode(p.Saga(corr=CORR, timeout_ms=30000, plan=plan, version=2))
        self.assertEqual(frame, hexbytes(SAGA_HEX))
        self.assertEqual(len(frame), 58)
        msg = p.decode(frame)
        assert isinstance(msg, p.Saga)
        self.assertEqual(plans.decode_saga(msg.plan),
                         plans.SagaPlan((Step("ra", "book", "unbook", b"f"),
                                         Step("rb", "pay", "", b"", True)), False))

    def test_tmsg_vector(self) -> None:
        plan = plans.encode_tmsg("orders", [Destination("mail", "created", "o1"),
                                            Destination("stock", "created")])
        frame = p.encode(p.Tmsg(corr=CORR, timeout_ms=30000, plan=plan, version=2))
        self.assertEqual(frame, hexbytes(TMSG_HEX))
        msg = p.decode(frame)
        assert isinstance(msg, p.Tmsg)
        got = plans.decode_tmsg(msg.plan)
        self.assertEqual(got.checkback, "orders")
        self.assertEqual(got.destinations, (Destination("mail", "created", b"o1"),
                                            Destination("stock", "created", b"")))

    def test_try_many_vectors(self) -> None:
        batch = plans.encode_batch([Branch("ra", "debit", "5"), Branch("rb", "credit")])
        frame = p.encode(p.TryMany(corr=CORR, gid="g1", batch=batch, version=2))
        self.assertEqual(frame, hexbytes(TRY_MANY_HEX))
        msg = p.decode(frame)
        assert isinstance(msg, p.TryMany)
        self.assertEqual(plans.decode_batch(msg.batch),
                         (Branch("ra", "debit", b"5"), Branch("rb", "credit", b"")))
        outcomes = (BranchOutcome(1, p.Outcome.OK), BranchOutcome(2, p.Outcome.REFUSED))
        reply = p.encode(p.TryManyOk(corr=CORR, gid="g1", state=p.State.ABORTING,
                                     outcomes=plans.encode_outcomes(outcomes), version=2))
        self.assertEqual(reply, hexbytes(TRY_MANY_OK_HEX))
        back = p.decode(reply)
        assert isinstance(back, p.TryManyOk)
        self.assertEqual(plans.decode_outcomes(back.outcomes), outcomes)

    def test_tcc_run_vector(self) -> None:
        batch = plans.encode_batch([Branch("ra", "debit", "5"), Branch("rb", "credit")])
        frame = p.encode(p.TccRun(corr=CORR, timeout_ms=30000, flags=p.TCC_RUN_COMMIT,
                                  batch=batch, version=2))
        self.assertEqual(frame, hexbytes(TCC_RUN_HEX))
        msg = p.decode(frame)
        assert isinstance(msg, p.TccRun)
        self.assertEqual((msg.timeout_ms, msg.flags), (30000, 1))
        self.assertEqual(plans.decode_batch(msg.batch),
                         (Branch("ra", "debit", b"5"), Branch("rb", "credit", b"")))
        bad = bytearray(frame)
        bad[16] = 2  # a reserved flag
        with self.assertRaises(p.MalformedFrame) as cm:
            p.decode(bytes(bad))
        self.assertIn("flags", cm.exception.text)

    def test_tcc_run_with_the_initiators_id(self) -> None:
        # §19.3: the §19.1 frame with flags 3 and extension 3
        ulid = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
        keyed = bytearray(hexbytes(TCC_RUN_HEX))
        keyed[16] = 3
        keyed += bytes.fromhex("03 00 1a 30 31 41 52 5a 33 4e 44 45 4b 54 53 56 34 52 52"
                               " 46 46 51 36 39 47 35 46 41 56")
        batch = plans.encode_batch([Branch("ra", "debit", "5"), Branch("rb", "credit")])
        msg = p.TccRun(corr=CORR, timeout_ms=30000, flags=p.TCC_RUN_COMMIT | p.TCC_RUN_GID,
                       batch=batch, version=2, run_id=ulid)
        self.assertEqual(p.encode(msg), bytes(keyed))
        self.assertEqual(p.decode(bytes(keyed)), msg)
        # the id without the flag, the flag without the id, flag 1 alone
        for flags, run_id in ((p.TCC_RUN_COMMIT, ulid),
                              (p.TCC_RUN_COMMIT | p.TCC_RUN_GID, None),
                              (p.TCC_RUN_GID, ulid)):
            with self.subTest(flags=flags, run_id=run_id):
                with self.assertRaises(dtx.InvalidArgument):
                    p.encode(dataclasses.replace(msg, flags=flags, run_id=run_id))
        for flags, words in ((1, "clear, but extension 'gid' present"), (2, "flags")):
            bad = bytearray(keyed)
            bad[16] = flags
            with self.assertRaises(p.MalformedFrame) as cm:
                p.decode(bytes(bad))
            self.assertIn(words, cm.exception.text)
        with self.assertRaises(p.MalformedFrame) as cm:
            p.decode(hexbytes(TCC_RUN_HEX)[:16] + b"\x03" + hexbytes(TCC_RUN_HEX)[17:])
        self.assertIn("set without extension 'gid'", cm.exception.text)
        for value in ("01arz3ndektsv4rrffq69g5fav", "81ARZ3NDEKTSV4RRFFQ69G5FAV",
                      "01ARZ3NDEKTSV4RRFFQ69G5FAU"):
            bad = bytearray(keyed[:-26]) + value.encode()
            with self.assertRaises(p.MalformedFrame) as cm:
                p.decode(bytes(bad))
            self.assertIn("'gid'", cm.exception.text)
        # new ids are ids, and distinct
        ids = [p.new_id() for _ in range(200)]
        self.assertTrue(all(p.id_valid(i) for i in ids))
        self.assertEqual(len(set(ids)), 200)
        self.assertFalse(p.id_valid("01ARZ3NDEKTSV4RRFFQ69G5FA"))

    def test_version_1_has_none_of_them(self) -> None:
        for vector in (SAGA_HEX, TMSG_HEX, TRY_MANY_HEX, TCC_RUN_HEX, TRY_MANY_OK_HEX):
            frame = bytearray(hexbytes(vector))
            frame[2] = 1
            with self.assertRaises(p.MalformedFrame) as cm:
                p.decode(bytes(frame))
            self.assertEqual(cm.exception.code, dtx.ErrorCode.PROTO)
            self.assertIn("unknown message type", cm.exception.text)
        with self.assertRaises(dtx.InvalidArgument) as ia:
            p.encode(p.TryMany(corr=1, gid="g1", batch=b"\x00", version=1))
        self.assertIn("needs protocol version 2", ia.exception.text)


    def test_minimum_sizes(self) -> None:
        # 1-byte names, empty blobs: as §4's table counts the version 1 types
        for msg, size in ((p.Saga(corr=1, timeout_ms=0, plan=b"", version=2), 20),
                          (p.Tmsg(corr=1, timeout_ms=0, plan=b"", version=2), 20),
                          (p.TryMany(corr=1, gid="g", batch=b"", version=2), 18),
                          (p.TccRun(corr=1, timeout_ms=0, flags=0, batch=b"", version=2), 21),
                          (p.TryManyOk(corr=1, gid="g", state=1, outcomes=b"", version=2), 19)):
            with self.subTest(type=type(msg).__name__):
                frame = p.encode(msg)
                self.assertEqual(len(frame), size)
                self.assertEqual(p.decode(frame), msg)


class Rules(unittest.TestCase):
    """Each rule: the encoder refuses the value, and the decoder refuses the
    bytes a peer could send for it, with the same words."""

    def both(self, values: Callable[[], bytes], raw: bytes, decode: Callable[[bytes], object],
             words: str) -> None:
        with self.assertRaises(dtx.InvalidArgument) as enc:
            values()
        self.assertIn(words, enc.exception.text)
        with self.assertRaises(p.MalformedFrame) as dec:
            decode(raw)
        self.assertEqual(dec.exception.code, dtx.ErrorCode.PROTO)
        self.assertIn(words, dec.exception.text)

    @staticmethod
    def saga_raw(flags: int, steps: List[bytes]) -> bytes:
        return bytes((flags, len(steps))) + b"".join(steps)

    @staticmethod
    def step_raw(res: str, act: str, comp: str, flags: int, deps: bytes,
                 payload: bytes = b"") -> bytes:
        out = bytes((len(res),)) + res.encode() + bytes((len(act),)) + act.encode()
        out += bytes((len(comp),)) + comp.encode() + bytes((flags, len(deps))) + deps
        return out + struct.pack(">I", len(payload)) + payload

    def test_saga_rules(self) -> None:
        s = self.step_raw
        self.both(lambda: plans.encode_saga([Step("a", "do")]),
                  self.saga_raw(0, [s("a", "do", "", 0, b"")]), plans.decode_saga,
                  "only a pivot may have none")
        self.both(lambda: plans.encode_saga([Step("a", "do", pivot=True),
                                             Step("b", "do", pivot=True)]),
                  self.saga_raw(0, [s("a", "do", "", 1, b""), s("b", "do", "", 1, b"")]),
                  plans.decode_saga, "a second pivot")
        self.both(lambda: plans.encode_saga([Step("a", "do", "undo"),
                                             Step("b", "do", "undo", after=(1,))]),
                  self.saga_raw(0, [s("a", "do", "undo", 0, b""),
                                    s("b", "do", "undo", 0, b"\x01")]),
                  plans.decode_saga, "dependencies in a sequential plan")
        self.both(lambda: plans.encode_saga([Step("a", "do", "undo"),
                                             Step("b", "do", "undo", after=(2,))], True),
                  self.saga_raw(1, [s("a", "do", "undo", 0, b""),
                                    s("b", "do", "undo", 0, b"\x02")]),
                  plans.decode_saga, "not an earlier step")
        self.both(lambda: plans.encode_saga([Step("a", "do", "undo"),
                                             Step("p", "pay", pivot=True)], True),
                  self.saga_raw(1, [s("a", "do", "undo", 0, b""), s("p", "pay", "", 1, b"")]),
                  plans.decode_saga, "a pivot must depend on every earlier step")
        self.both(lambda: plans.encode_saga([Step("p", "pay", pivot=True),
                                             Step("b", "do", "undo")], True),
                  self.saga_raw(1, [s("p", "pay", "", 1, b""), s("b", "do", "undo", 0, b"")]),
                  plans.decode_saga, "must depend on the pivot")
        self.both(lambda: plans.encode_saga([]), self.saga_raw(0, []), plans.decode_saga,
                  "0 steps")
        self.both(lambda: plans.encode_saga([Step("bad name", "do", "undo")]),
                  self.saga_raw(0, [s("bad name", "do", "undo", 0, b"")]), plans.decode_saga,
                  "resource")
        with self.assertRaises(p.MalformedFrame) as cm:
            plans.decode_saga(self.saga_raw(2, [s("a", "do", "undo", 0, b"")]))
        self.assertIn("unknown flag bits 0x02", cm.exception.text)
        with self.assertRaises(p.MalformedFrame) as cm:
            plans.decode_saga(self.saga_raw(0, [s("a", "do", "undo", 2, b"")]))
        self.assertIn("step 1: unknown flag bits", cm.exception.text)
        good = self.saga_raw(0, [s("a", "do", "undo", 0, b"", b"xy")])
        with self.assertRaises(p.MalformedFrame) as cm:
            plans.decode_saga(good + b"\x00")
        self.assertIn("1 trailing byte", cm.exception.text)
        with self.assertRaises(p.MalformedFrame) as cm:
            plans.decode_saga(good[:-1])
        self.assertIn("payload truncated", cm.exception.text)

    def test_a_concurrent_plan_round_trips(self) -> None:
        steps = [Step("a", "do", "undo", b"1"), Step("b", "do", "undo", "2"),
                 Step("p", "pay", "", b"", True, (1, 2)), Step("c", "ship", "unship", b"", False,
                                                            (3,))]
        plan = plans.decode_saga(plans.encode_saga(steps, concurrent=True))
        self.assertTrue(plan.concurrent)
        self.assertEqual(plan.steps, tuple(steps))

    def test_tmsg_rules(self) -> None:
        self.both(lambda: plans.encode_tmsg("orders", []), b"\x06orders\x00", plans.decode_tmsg,
                  "0 destinations")
        self.both(lambda: plans.encode_tmsg("bad back", [Destination("m", "c")]),
                  b"\x08bad back\x01\x01m\x01c\x00\x00\x00\x00", plans.decode_tmsg,
                  "check-back resource")
        self.both(lambda: plans.encode_tmsg("orders", [Destination("m", "c")] * 33),
                  b"\x06orders\x21" + b"\x01m\x01c\x00\x00\x00\x00" * 33, plans.decode_tmsg,
                  "33 destinations")
        with self.assertRaises(p.MalformedFrame) as cm:
            plans.decode_tmsg(b"\x06orders\x01\x01m\x01c\x00\x00\x00\x05ab")
        self.assertIn("destination 1: payload truncated", cm.exception.text)

    def test_batch_rules(self) -> None:
        self.both(lambda: plans.encode_batch([Branch("r", "a")] * 17),
                  b"\x11" + b"\x01r\x01a\x00\x00\x00\x00" * 17, plans.decode_batch,
                  "batch of 17 branches")
        self.both(lambda: plans.encode_batch([Branch("r", "a"), Branch("r", "bad action")]),
                  b"\x02\x01r\x01a\x00\x00\x00\x00\x01r\x0abad action\x00\x00\x00\x00",
                  plans.decode_batch, "branch 2: action")
        with self.assertRaises(dtx.InvalidArgument) as cm:
            plans.encode_batch([Branch("r", "a", b"x" * p.PAYLOAD_MAX)])
        self.assertIn("over 262144", cm.exception.text)

    def test_outcome_rules(self) -> None:
        def raw(branch: int, outcome: int, code: int, text: bytes) -> bytes:
            return b"\x01" + struct.pack(">IBIB", branch, outcome, code, len(text)) + text
        self.both(lambda: plans.encode_outcomes([BranchOutcome(1, p.Outcome.OK, 9, "gone")]),
                  raw(1, 0, 9, b"gone"), plans.decode_outcomes, "code 9 with outcome 0")
        self.both(lambda: plans.encode_outcomes([BranchOutcome(1, p.Outcome.FAILED, 0, "why")]),
                  raw(1, 2, 0, b"why"), plans.decode_outcomes, "code 0 with outcome 2")
        with self.assertRaises(p.MalformedFrame) as cm:
            plans.decode_outcomes(raw(1, 3, 0, b""))
        self.assertIn("value 3 out of range", cm.exception.text)
        with self.assertRaises(p.MalformedFrame) as cm:
            plans.decode_outcomes(raw(1, 2, 9, b"a\x00b"))
        self.assertIn("NUL", cm.exception.text)
        ok = raw(0, 2, 20, b"outcome unknown")
        self.assertEqual(plans.decode_outcomes(ok),
                         (BranchOutcome(0, p.Outcome.FAILED, 20, "outcome unknown"),))


if __name__ == "__main__":
    unittest.main()
