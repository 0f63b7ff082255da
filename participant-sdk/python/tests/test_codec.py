"""The frame codec against docs/protocol.md §13's hex examples and §8's
malformed frames; the CURVE key file reader; the barrier's SQL."""
from __future__ import annotations

import os
import struct
import tempfile
import unittest

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
        self.assertEqual(len(samples), len(p.MESSAGE_CLASSES))
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
        frame = b"DX\x02\x01" + struct.pack(">Q", 77) + b"anything"
        with self.assertRaises(p.MalformedFrame) as cm:
            p.decode(frame)
        self.assertEqual((cm.exception.code, cm.exception.corr), (3, 77))
        self.assertEqual(self.code(b"DX\x02\x01"), 3)

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
            "op out of range": good[:20] + b"\x07" + good[21:],
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


if __name__ == "__main__":
    unittest.main()
