"""The frame codec against docs/protocol.md §13's and §15.6's hex examples
and §8's and §15's malformed frames; the CURVE key file reader; the barrier's SQL."""
from __future__ import annotations

import dataclasses
import os
import struct
import tempfile
import unittest
from typing import List

import zmq

import harness
import dtx
from dtx import keys, protocol as p
from dtx.barrier import BARRIER_SQL


def unhex(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


BEGIN_HEX = "44 58 01 01 01 02 03 04 05 06 07 08 01 00 00 75 30"
PHASE_HEX = """44 58 01 88 00 00 00 00 00 00 00 2a 03 67 2d 31
00 00 00 01 02 00 00 00 03 04 62 61 6e 6b 08 74
72 61 6e 73 66 65 72 00 00 01 8b cf e5 68 00 00
00 00 02 7b 7d"""
REPLY_HEX = """44 58 01 08 00 00 00 00 00 00 00 2a 03 67 2d 31
00 00 00 01 02 00 00 00 03 00 00 00 00 00"""


class GoldenVectors(unittest.TestCase):
    def test_begin_matches_section_13(self) -> None:
        msg = p.Begin(corr=0x0102030405060708, mode=p.Mode.TCC, timeout_ms=30000)
        self.assertEqual(p.encode(msg), unhex(BEGIN_HEX))
        self.assertEqual(p.decode(unhex(BEGIN_HEX)), msg)

    def test_phase_matches_section_13(self) -> None:
        frame = unhex(PHASE_HEX)
        self.assertEqual(len(frame), 53)
        msg = p.decode(frame)
        self.assertEqual(msg, p.Phase(corr=42, gid="g-1", branch=1, op=p.Op.CONFIRM, attempt=3,
                                      resource="bank", action="transfer",
                                      deadline_ms=1700000000000, payload=b"{}"))
        self.assertEqual(p.encode(msg), frame)

    def test_phase_reply_matches_section_13(self) -> None:
        msg = p.PhaseReply(corr=42, gid="g-1", branch=1, op=p.Op.CONFIRM, attempt=3,
                           outcome=p.Outcome.OK, payload=b"")
        self.assertEqual(p.encode(msg), unhex(REPLY_HEX))
        self.assertEqual(len(unhex(REPLY_HEX)), 30)

    def test_every_type_round_trips_with_its_documented_minimum_size(self) -> None:
        # §4's table: frame size with 1-byte names, empty text and blobs.
        samples = [
            (p.Begin(corr=1, mode=2, timeout_ms=0), 17),
            (p.Try(corr=1, gid="g", resource="r", action="a", payload=b""), 22),
            (p.Commit(corr=1, gid="g"), 14), (p.Rollback(corr=1, gid="g"), 14),
            (p.Status(corr=1, gid="g"), 14), (p.Resume(corr=1, gid="g"), 14),
            (p.Register(corr=1, instance="i", resource="r"), 16),
            (p.Heartbeat(corr=1, instance="i"), 14),
            (p.PhaseReply(corr=1, gid="g", branch=1, op=1, attempt=1, outcome=0,
                          payload=b""), 28),
            (p.BeginOk(corr=1, gid="g", deadline_ms=5), 22),
            (p.TryOk(corr=1, gid="g", branch=1, outcome=0, state=1, payload=b""), 24),
            (p.StateReply(corr=1, gid="g", state=6), 15),
            (p.RegisterOk(corr=1, resource="r", heartbeat_ms=1000, coordinator="c"), 20),
            (p.HeartbeatOk(corr=1, coordinator="c"), 14),
            (p.Phase(corr=1, gid="g", branch=1, op=6, attempt=1, resource="r", action="a",
                     deadline_ms=0, payload=b""), 39),
            (p.Error(corr=1, code=16, text=""), 17),
        ]
        # the types version 2 added are test_plans.py's
        self.assertEqual(len(samples), len(p.MESSAGE_CLASSES) - len(p.V2_ONLY))
        for msg, size in samples:
            with self.subTest(type=type(msg).__name__):
                frame = p.encode(msg)
                self.assertEqual(len(frame), size)
                self.assertEqual(p.decode(frame), msg)

    def test_largest_valid_frame_is_262369_bytes(self) -> None:
        name = "n" * 63
        msg = p.Phase(corr=1, gid=name, branch=1, op=1, attempt=1, resource=name, action=name,
                      deadline_ms=0, payload=b"x" * p.PAYLOAD_MAX)
        self.assertEqual(len(p.encode(msg)), 262369)

    def test_invalid_utf8_text_survives_a_round_trip(self) -> None:
        frame = p.encode(p.Error(corr=0, code=7, text="")) [:-1] + b"\x02\xff\xfe"
        msg = p.decode(frame)
        assert isinstance(msg, p.Error)
        self.assertEqual(p.encode(msg), frame)
        self.assertEqual(p.display_text(msg.text), "\ufffd\ufffd")


class Malformed(unittest.TestCase):
    """§8: the first failing check decides the code."""

    def code(self, frame: bytes) -> int:
        with self.assertRaises(p.MalformedFrame) as cm:
            p.decode(frame)
        return cm.exception.code

    def test_too_big_is_code_5_whatever_its_content(self) -> None:
        self.assertEqual(self.code(b"\x00" * (p.MSG_MAX + 1)), 5)

    def test_bad_magic_or_short_is_code_2(self) -> None:
        self.assertEqual(self.code(b"DX\x01"), 2)
        self.assertEqual(self.code(b"XD\x01\x01" + bytes(13)), 2)

    def test_other_version_is_code_3_with_its_corr(self) -> None:
        for version in (0, 3, 0xFF):
            with self.subTest(version=version):
                frame = b"DX" + bytes([version]) + b"\x01" + struct.pack(">Q", 77) + b"any"
                with self.assertRaises(p.MalformedFrame) as cm:
                    p.decode(frame)
                self.assertEqual((cm.exception.code, cm.exception.corr), (3, 77))
                self.assertEqual(self.code(b"DX" + bytes([version]) + b"\x01"), 3)

    def test_each_malformation_is_code_2(self) -> None:
        good = unhex(PHASE_HEX)
        cases = {
            "short header": good[:11],
            "unknown type": good[:3] + b"\x0a" + good[4:],
            "truncated": good[:-1],
            "trailing byte": good + b"\x00",
            "name too long": p.encode(p.Status(corr=1, gid="g"))[:12] + b"\x40" + b"g" * 64,
            "empty name": p.encode(p.Status(corr=1, gid="g"))[:12] + b"\x00",
            "name alphabet": p.encode(p.Status(corr=1, gid="g"))[:12] + b"\x01/",
            "op out of range": good[:20] + b"\x0b" + good[21:],
            "text with NUL": p.encode(p.Error(corr=1, code=2, text=""))[:-1] + b"\x01\x00",
            "blob over max": good[:47] + struct.pack(">I", p.PAYLOAD_MAX + 1)
            + b"x" * (p.PAYLOAD_MAX + 1),
        }
        for what, frame in cases.items():
            with self.subTest(what):
                self.assertEqual(self.code(frame), 2)

    def test_encode_refuses_what_the_wire_cannot_carry(self) -> None:
        for msg in (p.Status(corr=1, gid="bad name"), p.Begin(corr=1, mode=3, timeout_ms=0),
                    p.Begin(corr=1, mode=1, timeout_ms=1 << 32),
                    p.Try(corr=1, gid="g", resource="r", action="a",
                          payload=bytes(p.PAYLOAD_MAX + 1))):
            with self.subTest(msg=repr(msg)[:40]):
                with self.assertRaises(dtx.InvalidArgument):
                    p.encode(msg)

    def test_version_error_frame_is_version_1_framing(self) -> None:
        frame = p.error_frame(99, 3, "protocol version 2 not supported")
        self.assertEqual(frame[:4], b"DX\x01\xff")
        msg = p.decode(frame)
        assert isinstance(msg, p.Error)
        self.assertEqual((msg.corr, msg.code), (99, 3))


TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
BEGIN_V2_HEX = """44 58 02 01 01 02 03 04 05 06 07 08 01 00 00 75
30 01 00 37 30 30 2d 30 61 66 37 36 35 31 39 31
36 63 64 34 33 64 64 38 34 34 38 65 62 32 31 31
63 38 30 33 31 39 63 2d 62 37 61 64 36 62 37 31
36 39 32 30 33 33 33 31 2d 30 31"""
PHASE_V2_HEX = """44 58 02 88 00 00 00 00 00 00 00 2a 03 67 2d 31
00 00 00 01 02 00 00 00 03 04 62 61 6e 6b 08 74
72 61 6e 73 66 65 72 00 00 01 8b cf e5 68 00 00
00 00 02 7b 7d 01 00 37 30 30 2d 30 61 66 37 36
35 31 39 31 36 63 64 34 33 64 64 38 34 34 38 65
62 32 31 31 63 38 30 33 31 39 63 2d 62 37 61 64
36 62 37 31 36 39 32 30 33 33 33 31 2d 30 31"""


def ext(tag: int, value: bytes) -> bytes:
    return struct.pack(">BH", tag, len(value)) + value


class Version2(unittest.TestCase):
    """§15: version 1 bodies, then the extension section."""

    def code(self, frame: bytes) -> int:
        with self.assertRaises(p.MalformedFrame) as cm:
            p.decode(frame)
        return cm.exception.code

    def test_begin_matches_section_15_6(self) -> None:
        frame = unhex(BEGIN_V2_HEX)
        self.assertEqual(len(frame), 75)
        msg = p.Begin(corr=0x0102030405060708, mode=p.Mode.TCC, timeout_ms=30000,
                      version=2, traceparent=TRACEPARENT)
        self.assertEqual(p.encode(msg), frame)
        self.assertEqual(p.decode(frame), msg)

    def test_begin_without_trace_is_section_13_with_byte_2_set(self) -> None:
        frame = bytearray(unhex(BEGIN_HEX))
        frame[2] = 2
        msg = p.Begin(corr=0x0102030405060708, mode=p.Mode.TCC, timeout_ms=30000, version=2)
        self.assertEqual(p.encode(msg), bytes(frame))
        decoded = p.decode(bytes(frame))
        self.assertEqual((decoded, decoded.traceparent), (msg, None))

    def test_phase_matches_section_15_6(self) -> None:
        frame = unhex(PHASE_V2_HEX)
        self.assertEqual(len(frame), 111)
        v1 = bytearray(unhex(PHASE_HEX))
        v1[2] = 2
        self.assertEqual(frame[:53], bytes(v1))
        msg = p.decode(frame)
        self.assertEqual(msg, p.Phase(corr=42, gid="g-1", branch=1, op=p.Op.CONFIRM, attempt=3,
                                      resource="bank", action="transfer",
                                      deadline_ms=1700000000000, payload=b"{}", version=2,
                                      traceparent=TRACEPARENT))
        self.assertEqual(p.encode(msg), frame)
        self.assertEqual(p.trace_id(msg.traceparent), "0af7651916cd43dd8448eb211c80319c")

    def test_every_type_round_trips_in_version_2_with_and_without_trace(self) -> None:
        samples = [p.Begin(corr=1, mode=2, timeout_ms=0),
                   p.Try(corr=1, gid="g", resource="r", action="a", payload=b"x"),
                   p.BeginOk(corr=9, gid="g", deadline_ms=5),
                   p.RegisterOk(corr=1, resource="r", heartbeat_ms=1000, coordinator="c"),
                   p.Error(corr=1, code=18, text="t")]
        for msg in samples:
            for tp in (None, TRACEPARENT):
                with self.subTest(type=type(msg).__name__, tp=tp):
                    m2 = dataclasses.replace(msg, version=2, traceparent=tp)
                    frame = p.encode(m2)
                    self.assertEqual(len(frame), len(p.encode(msg)) + (58 if tp else 0))
                    self.assertEqual(frame[2], 2)
                    self.assertEqual(p.decode(frame), m2)

    def test_an_unknown_tag_is_skipped_and_dropped_on_re_encoding(self) -> None:
        frame = unhex(PHASE_V2_HEX) + ext(9, b"abc")
        msg = p.decode(frame)
        self.assertEqual(msg.traceparent, TRACEPARENT)
        self.assertEqual(p.encode(msg), unhex(PHASE_V2_HEX))
        # alone, with any bytes, and the largest tag
        begin = unhex(BEGIN_V2_HEX)[:17]
        for extra in (ext(4, b""), ext(200, b"\x00\xff" * 10), ext(255, b"z")):
            with self.subTest(extra=extra[:3]):
                self.assertIsNone(p.decode(begin + extra).traceparent)

    def test_a_section_of_512_bytes_is_accepted_513_is_not(self) -> None:
        begin = unhex(BEGIN_V2_HEX)[:17]
        self.assertEqual(p.decode(begin + ext(9, b"v" * 509)).TYPE, p.MessageType.BEGIN)
        self.assertEqual(self.code(begin + ext(9, b"v" * 510)), 2)
        self.assertEqual(self.code(begin + ext(1, TRACEPARENT.encode()) + ext(9, b"v" * 452)),
                         2)

    def test_malformed_extensions_are_code_2(self) -> None:
        begin = unhex(BEGIN_V2_HEX)[:17]
        tp = ext(1, TRACEPARENT.encode())
        bad_tps = {
            "upper case": TRACEPARENT.upper(),
            "version 01": "01" + TRACEPARENT[2:],
            "version ff": "ff" + TRACEPARENT[2:],
            "zero trace-id": "00-" + "0" * 32 + TRACEPARENT[35:],
            "zero parent-id": TRACEPARENT[:36] + "0" * 16 + "-01",
            "not hex": TRACEPARENT[:3] + "g" + TRACEPARENT[4:],
            "dash misplaced": TRACEPARENT[:35] + "x" + TRACEPARENT[36:],
            "longer": TRACEPARENT + "-",
            "shorter": TRACEPARENT[:-1],
        }
        cases = {f"traceparent {k}": begin + ext(1, v.encode()) for k, v in bad_tps.items()}
        cases.update({
            "traceparent with a non-ASCII byte": begin + ext(1, TRACEPARENT.encode()[:-1]
                                                             + b"\xff"),
            "tag 0": begin + ext(0, b""),
            "tag 1 twice": begin + tp + tp,
            "tag 9 before tag 1": begin + ext(9, b"abc") + tp,
            "1 byte left": begin + b"\x01",
            "2 bytes left": begin + b"\x01\x00",
            "value past the end": begin + tp[:-1],
            "unknown tag's value past the end": begin + b"\x09\x00\x04abc",
        })
        for what, frame in cases.items():
            with self.subTest(what):
                self.assertEqual(self.code(frame), 2)

    def test_body_checks_come_before_the_section(self) -> None:
        # a truncated version 1 body in version 2 is still a truncated field
        frame = unhex(PHASE_V2_HEX)[:40]
        with self.assertRaises(p.MalformedFrame) as cm:
            p.decode(frame)
        self.assertEqual(cm.exception.code, 2)
        self.assertIn("truncated", cm.exception.text)

    def test_unknown_type_in_version_2_is_code_18_with_its_corr(self) -> None:
        frame = unhex("44 58 02 4a 00 00 00 00 00 00 00 41")
        with self.assertRaises(p.MalformedFrame) as cm:
            p.decode(frame)
        self.assertEqual((cm.exception.code, cm.exception.corr), (18, 0x41))
        answer = p.error_frame(0x41, 18, "not supported", version=2)
        self.assertEqual(answer[:16], unhex("44 58 02 ff 00 00 00 00 00 00 00 41 00 00 00 12"))
        # version 1 keeps ERROR 2; a short version 2 header is still 2
        self.assertEqual(self.code(unhex("44 58 01 4a 00 00 00 00 00 00 00 41")), 2)
        self.assertEqual(self.code(unhex("44 58 02 0a 00 00")), 2)

    def test_encode_refuses_a_bad_trace_version_1_with_trace_and_version_3(self) -> None:
        for msg in (p.Begin(corr=1, mode=1, timeout_ms=0, version=2,
                            traceparent=TRACEPARENT.upper()),
                    p.Begin(corr=1, mode=1, timeout_ms=0, version=1, traceparent=TRACEPARENT),
                    p.Begin(corr=1, mode=1, timeout_ms=0, version=3)):
            with self.subTest(msg=msg):
                with self.assertRaises(dtx.InvalidArgument):
                    p.encode(msg)

    def test_traceparent_valid_and_trace_id(self) -> None:
        self.assertTrue(p.traceparent_valid(TRACEPARENT))
        self.assertFalse(p.traceparent_valid(TRACEPARENT.upper()))
        self.assertIsNone(p.trace_id(None))
        self.assertIsNone(p.trace_id("00-x"))


REGISTER_BUNDLE_HEX = "44 58 02 06 00 00 00 00 00 00 00 07 02 70 31 04 62 61 6e 6b 02 00 00"
BUNDLE_HEX = """44 58 02 0e 00 00 00 00 00 00 00 00 00 00 00 44
00 00 00 1e 44 58 02 08 00 00 00 00 00 00 00 2a
03 67 2d 31 00 00 00 01 02 00 00 00 03 00 00 00
00 00 00 00 00 1e 44 58 02 08 00 00 00 00 00 00
00 2b 03 67 2d 31 00 00 00 02 02 00 00 00 03 00
00 00 00 00"""


class Bundle(unittest.TestCase):
    """§20: tag 2 and the BUNDLE frame, on §20.3's hex examples."""

    def code(self, frame: bytes) -> int:
        with self.assertRaises(p.MalformedFrame) as cm:
            p.decode_bundle(frame)
        return cm.exception.code

    def test_register_with_tag_2_matches_section_20_3(self) -> None:
        msg = p.Register(corr=7, instance="p1", resource="bank", version=2, bundle=True)
        self.assertEqual(p.encode(msg), unhex(REGISTER_BUNDLE_HEX))
        self.assertEqual(p.decode(unhex(REGISTER_BUNDLE_HEX)), msg)
        # after a traceparent, in increasing tag order; never in version 1
        tp = p.encode(dataclasses.replace(msg, traceparent=TRACEPARENT))
        self.assertEqual(tp[-3:], b"\x02\x00\x00")
        self.assertEqual(p.decode(tp).traceparent, TRACEPARENT)
        with self.assertRaises(dtx.InvalidArgument):
            p.encode(dataclasses.replace(msg, version=1))

    def test_tag_2_with_a_value_is_malformed(self) -> None:
        frame = unhex(REGISTER_BUNDLE_HEX)[:-3] + ext(2, b"x")
        with self.assertRaises(p.MalformedFrame) as cm:
            p.decode(frame)
        self.assertEqual(cm.exception.code, 2)

    def test_bundle_matches_section_20_3(self) -> None:
        frame = unhex(BUNDLE_HEX)
        self.assertEqual(len(frame), 84)
        entries = p.decode_bundle(frame)
        replies = [p.decode(e) for e in entries]
        self.assertEqual([(r.corr, r.branch) for r in replies], [(42, 1), (43, 2)])  # type: ignore[attr-defined]
        self.assertEqual(p.encode_bundle(entries), frame)
        self.assertEqual(p.encode_bundle([p.encode(r) for r in replies]), frame)

    def test_malformed_bundles_of_section_20_3_and_20_1(self) -> None:
        frame = unhex(BUNDLE_HEX)
        into_next = frame[:16] + unhex("00 00 00 1f") + frame[20:]
        version_1 = frame[:56] + b"\x01" + frame[57:]
        one = frame[16:50]
        def bundle(blob: bytes, kind: int = 0x0E, version: int = 2) -> bytes:
            return b"DX" + bytes((version, kind)) + bytes(8) + struct.pack(">I", len(blob)) + blob
        cases = {
            "entry 1 runs into entry 2": into_next,
            "entry 2 in version 1": version_1,
            "no entry": bundle(b""),
            "65 entries": bundle(one * 65),
            "a stray byte after the last entry": bundle(one + b"\x00"),
            "an entry shorter than a header": bundle(struct.pack(">I", 4) + b"DX\x02\x08"),
            "a PHASE_REPLY in a BUNDLE of PHASEs": bundle(one, kind=0x8E),
            "a BUNDLE inside a BUNDLE": bundle(struct.pack(">I", 84) + frame),
            "the blob past the end": frame[:-1],
            "in version 1": bundle(one, version=1),
            "a bad extension after the blob": frame + b"\x01",
        }
        for what, f in cases.items():
            with self.subTest(what):
                self.assertEqual(self.code(f), 2)
        self.assertEqual(len(p.decode_bundle(bundle(one * 64))), 64)

    def test_an_entry_that_does_not_decode_is_its_own_problem(self) -> None:
        frame = unhex(BUNDLE_HEX)
        bad_gid = frame[:67] + b"!" + frame[68:]
        entries = p.decode_bundle(bad_gid)
        self.assertEqual(p.decode(entries[0]).corr, 42)
        with self.assertRaises(p.MalformedFrame) as cm:
            p.decode(entries[1])
        self.assertEqual((cm.exception.code, cm.exception.corr), (2, 43))

    def test_encode_bundle_refuses_what_the_wire_cannot_carry(self) -> None:
        reply = unhex(BUNDLE_HEX)[20:50]
        cases: List[List[bytes]] = [[], [reply] * 65, [unhex(REPLY_HEX)],
                                    [unhex(REGISTER_BUNDLE_HEX)]]
        for frames in cases:
            with self.subTest(n=len(frames)):
                with self.assertRaises(dtx.InvalidArgument):
                    p.encode_bundle(frames)


class KeyFile(unittest.TestCase):
    def write(self, text: str, mode: int = 0o600) -> str:
        fd, path = tempfile.mkstemp()
        os.write(fd, text.encode())
        os.close(fd)
        os.chmod(path, mode)
        self.addCleanup(os.unlink, path)
        return path

    def test_reads_what_dtxctl_keygen_writes(self) -> None:
        pub, sec = (k.decode() for k in zmq.curve_keypair())
        srv = zmq.curve_keypair()[0].decode()
        path = self.write(f"# dtx CURVE credentials\n\npublic-key = {pub}\n"
                          f"  secret-key={sec}  \nserver-key = {srv}\n")
        k = keys.load(path)
        self.assertEqual((k.public_key, k.secret_key, k.server_key), (pub, sec, srv))
        self.assertNotIn(sec, repr(k))

    def test_refuses_an_open_file_a_missing_server_key_and_a_mismatched_pair(self) -> None:
        pub, sec = (k.decode() for k in zmq.curve_keypair())
        other = zmq.curve_keypair()[0].decode()
        full = f"public-key = {pub}\nsecret-key = {sec}\nserver-key = {other}\n"
        for what, text, mode in (
                ("group readable", full, 0o640),
                ("no server-key", f"public-key = {pub}\nsecret-key = {sec}\n", 0o600),
                ("mismatch", f"public-key = {other}\nsecret-key = {sec}\nserver-key = {other}\n",
                 0o600),
                ("unknown name", full + "colour = blue\n", 0o600),
                ("repeated", full + f"server-key = {other}\n", 0o600),
                ("malformed", full.replace(pub, pub[:-1]), 0o600)):
            with self.subTest(what):
                path = self.write(text, mode)
                with self.assertRaises(dtx.ConfigError) as cm:
                    keys.load(path)
                self.assertNotIn(sec, str(cm.exception))
                self.assertEqual(cm.exception.code, 14)


class BarrierSql(unittest.TestCase):
    def test_is_the_c_sdk_migration_verbatim(self) -> None:
        path = os.path.join(harness.REPO_ROOT, "sql", "participant", "001_barrier.sql")
        with open(path) as f:
            self.assertEqual(BARRIER_SQL, f.read())


class NotSentError(unittest.TestCase):
    """A request that never left is NotSent (code 23, libdtx's DTX_ENOTSENT),
    a Timeout; an ERROR 23 from a peer is not mapped to it."""

    def test_no_coordinator_is_not_sent(self) -> None:
        with dtx.Client("tcp://127.0.0.1:9", timeout_ms=200) as c:
            with self.assertRaises(dtx.NotSent) as cm:
                c.begin()
        self.assertIsInstance(cm.exception, dtx.Timeout)
        self.assertEqual(cm.exception.code, 23)
        self.assertEqual(dtx.strerror(23), "request not sent (no connection), safe to retry")

    def test_error_23_on_the_wire_is_not_not_sent(self) -> None:
        from dtx.errors import error_from_code
        self.assertNotIsInstance(error_from_code(23), dtx.NotSent)


if __name__ == "__main__":
    unittest.main()
