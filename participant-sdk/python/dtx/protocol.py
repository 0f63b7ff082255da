"""The dtx wire protocol, versions 1 and 2 (docs/protocol.md), as Python
values.

Written from docs/protocol.md alone; the section numbers below are that
page's.  A frame is one ZeroMQ frame: a 12-byte header (magic ``DX``,
version, type, u64 ``corr``) and the fields of the type in order, all
integers unsigned big-endian, no padding, no optional field, no trailing
byte (§2, §3).  A version 2 frame (§15) is the same, followed by the
extension section: ``tag`` u8, ``length`` u16, value, tags strictly
increasing, at most 512 bytes in all.  Tag 1 is the W3C traceparent; it is
:attr:`Message.traceparent` (None: absent); tag 2 (empty) says "I accept
BUNDLEs" (§20.2); it is :attr:`Message.bundle`; :attr:`Message.version` is
the frame's version byte.  Unknown tags are skipped on decode (and so
dropped).  A BUNDLE (§20: several PHASEs, or PHASE_REPLYs, in one frame)
is not a :class:`Message`: :func:`decode_bundle` cuts one into its
entries' frames and :func:`encode_bundle` makes one.  :func:`encode` and :func:`decode` are
exact inverses on every frame :func:`decode` accepts that holds no unknown
extension (nor tag 3 on another type than TCC_RUN: checked, then dropped).

Field kinds (§3) map to Python types: u8/u32/u64 -> int, name -> str (ASCII
of the name alphabet), text -> str (UTF-8; invalid bytes survive a
decode/encode round trip through ``surrogateescape``), blob -> bytes.
"""
from __future__ import annotations

import dataclasses
import enum
import re
import struct
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, FrozenSet, List, Optional, Tuple, Type, TypeVar

from .errors import DtxError
from .errors import ErrorCode as ErrorCode  # re-exported: MalformedFrame.code is one


VERSION = 1                   # the version of §2-§13
VERSION_2 = 2                 # §15: version 1 bodies + an extension section
VERSIONS = (VERSION, VERSION_2)
MAGIC = b"DX"
HEADER_SIZE = 12
NAME_MAX = 63
TEXT_MAX = 255
PAYLOAD_MAX = 262144          # DTX_PAYLOAD_MAX
MSG_MAX = PAYLOAD_MAX + 1024  # DTX_MSG_MAX: a larger frame is ERROR 5 (§7, §8)

EXT_MAX = 512                 # §15.2: the whole extension section
EXT_TRACEPARENT = 1           # §15.2: tag 1
EXT_BUNDLE = 2                # §20.2: tag 2, empty
EXT_GID = 3                   # §19.3: tag 3, TCC_RUN's gid, the initiator's (an id)
ID_LEN = 26                   # §15.2: an id as coordinators make them (a ULID)
BUNDLE_REPLIES = 0x0E         # §20: a BUNDLE of PHASE_REPLYs, participant -> coordinator
BUNDLE_PHASES = 0x8E          # §20: a BUNDLE of PHASEs, coordinator -> participant
BUNDLE_MAX = 64               # DTX_BUNDLE_MAX: entries of one BUNDLE
TRACEPARENT_LEN = 55

_NAME_RE = re.compile(rb"[A-Za-z0-9._:\-]{1,63}\Z")
_TRACEPARENT_RE = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}\Z")


class Mode(enum.IntEnum):
    """Transaction modes (§6.2)."""
    TCC = 1
    TWO_PC = 2


class State(enum.IntEnum):
    """Global transaction states (§6.3)."""
    ACTIVE = 1
    COMMITTING = 2
    COMMITTED = 3
    ABORTING = 4
    ABORTED = 5
    STUCK = 6


class Op(enum.IntEnum):
    """Phase operations (§6.4)."""
    TRY = 1
    CONFIRM = 2
    CANCEL = 3
    PREPARE = 4
    COMMIT = 5
    ABORT = 6
    ACTION = 7      # Saga: run the step's action (§6.4, §16)
    COMPENSATE = 8  # Saga: undo it (also for an action never seen)
    DELIVER = 9     # transactional message: apply it to a destination (§6.4, §17)
    QUERY_PREPARED = 10  # transactional message: the check-back (branch 0)


class Outcome(enum.IntEnum):
    """Results of a phase (§6.5)."""
    OK = 0
    REFUSED = 1
    FAILED = 2


class MessageType(enum.IntEnum):
    """Message types (§4); the high bit marks what the coordinator sends."""
    BEGIN = 0x01
    TRY = 0x02
    COMMIT = 0x03
    ROLLBACK = 0x04
    STATUS = 0x05
    REGISTER = 0x06
    HEARTBEAT = 0x07
    PHASE_REPLY = 0x08
    RESUME = 0x09
    SAGA = 0x0A         # version 2 only (§16)
    TMSG = 0x0B         # version 2 only (§17)
    TRY_MANY = 0x0C     # version 2 only (§18)
    TCC_RUN = 0x0D      # version 2 only (§19)
    BEGIN_OK = 0x81
    TRY_OK = 0x82
    STATE = 0x83
    REGISTER_OK = 0x86
    HEARTBEAT_OK = 0x87
    PHASE = 0x88
    TRY_MANY_OK = 0x8C  # version 2 only (§18)
    ERROR = 0xFF


def name_valid(value: str) -> bool:
    """True when value is a valid name (§3): 1..63 of ``[A-Za-z0-9._:-]``."""
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        return False
    return _NAME_RE.match(raw) is not None


def traceparent_valid(value: str) -> bool:
    """True when value may travel as extension 1 (§15.2): a version-00 W3C
    traceparent, 55 characters, lower-case hex, neither id all zeros."""
    if not isinstance(value, str) or len(value) != TRACEPARENT_LEN:
        return False
    m = _TRACEPARENT_RE.match(value)
    return m is not None and m.group(1) != "0" * 32 and m.group(2) != "0" * 16


_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_ID_RE = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}\Z")


def id_valid(value: object) -> bool:
    """True when value may travel as extension 3 (§15.2, §19.3): 26
    characters of a ULID in Crockford base32, upper case, the first 0-7."""
    return isinstance(value, str) and _ID_RE.match(value) is not None


def new_id() -> str:
    """A new id as coordinators make them (a ULID: 48 bits of epoch
    milliseconds, then 80 random bits), for a TCC_RUN the caller may repeat
    (§19.3)."""
    import os
    import time
    n = (int(time.time() * 1000) & (1 << 48) - 1) << 80 | int.from_bytes(os.urandom(10), "big")
    return "".join(_ID_ALPHABET[n >> 5 * (25 - i) & 31] for i in range(ID_LEN))


def trace_id(traceparent: Optional[str]) -> Optional[str]:
    """The 32-hex-digit trace-id of a valid traceparent, else None."""
    if traceparent is None or not traceparent_valid(traceparent):
        return None
    return traceparent[3:35]


class MalformedFrame(DtxError):
    """A frame that decode() refused; ``code`` is 2, 3, 5 or (a version 2
    frame of an unknown type, §15.3) 18 as §8 and §15.3 order,
    ``corr`` the frame's corr when bytes 4..11 were there (else 0)."""

    def __init__(self, code: int, text: str, corr: int = 0) -> None:
        super().__init__(code, text)
        self.corr = corr


# --- field kinds ---------------------------------------------------------

def _u8(*allowed: int) -> Any:
    return field(metadata={"kind": "u8", "allowed": frozenset(allowed)})


def _kind(kind: str) -> Any:
    return field(metadata={"kind": kind})


_MODES = tuple(int(m) for m in Mode)
_STATES = tuple(int(s) for s in State)
_OPS = tuple(int(o) for o in Op)
_OUTCOMES = tuple(int(o) for o in Outcome)


@dataclass(frozen=True)
class Message:
    """A decoded frame: ``corr`` (u64, §2) and the fields of its type."""

    TYPE: ClassVar[int] = 0
    corr: int
    #: the frame's version byte (1 or 2); extensions need 2
    version: int = field(default=VERSION, kw_only=True, metadata={"header": True})
    #: extension 1 (§15.2), version 2 only; None when absent
    traceparent: Optional[str] = field(default=None, kw_only=True,
                                       metadata={"header": True})
    #: extension 2 (§20.2), version 2 only: the sender accepts BUNDLEs
    bundle: bool = field(default=False, kw_only=True, metadata={"header": True})


@dataclass(frozen=True)
class Begin(Message):
    TYPE: ClassVar[int] = MessageType.BEGIN
    mode: int = _u8(*_MODES)
    timeout_ms: int = _kind("u32")


@dataclass(frozen=True)
class Try(Message):
    TYPE: ClassVar[int] = MessageType.TRY
    gid: str = _kind("name")
    resource: str = _kind("name")
    action: str = _kind("name")
    payload: bytes = _kind("blob")


@dataclass(frozen=True)
class Commit(Message):
    TYPE: ClassVar[int] = MessageType.COMMIT
    gid: str = _kind("name")


@dataclass(frozen=True)
class Rollback(Message):
    TYPE: ClassVar[int] = MessageType.ROLLBACK
    gid: str = _kind("name")


@dataclass(frozen=True)
class Status(Message):
    TYPE: ClassVar[int] = MessageType.STATUS
    gid: str = _kind("name")


@dataclass(frozen=True)
class Register(Message):
    TYPE: ClassVar[int] = MessageType.REGISTER
    instance: str = _kind("name")
    resource: str = _kind("name")


@dataclass(frozen=True)
class Heartbeat(Message):
    TYPE: ClassVar[int] = MessageType.HEARTBEAT
    instance: str = _kind("name")


@dataclass(frozen=True)
class PhaseReply(Message):
    TYPE: ClassVar[int] = MessageType.PHASE_REPLY
    gid: str = _kind("name")
    branch: int = _kind("u32")
    op: int = _u8(*_OPS)
    attempt: int = _kind("u32")
    outcome: int = _u8(*_OUTCOMES)
    payload: bytes = _kind("blob")


@dataclass(frozen=True)
class Resume(Message):
    TYPE: ClassVar[int] = MessageType.RESUME
    gid: str = _kind("name")


@dataclass(frozen=True)
class BeginOk(Message):
    TYPE: ClassVar[int] = MessageType.BEGIN_OK
    gid: str = _kind("name")
    deadline_ms: int = _kind("u64")


@dataclass(frozen=True)
class TryOk(Message):
    TYPE: ClassVar[int] = MessageType.TRY_OK
    gid: str = _kind("name")
    branch: int = _kind("u32")
    outcome: int = _u8(*_OUTCOMES)
    state: int = _u8(*_STATES)
    payload: bytes = _kind("blob")


@dataclass(frozen=True)
class StateReply(Message):
    TYPE: ClassVar[int] = MessageType.STATE
    gid: str = _kind("name")
    state: int = _u8(*_STATES)


@dataclass(frozen=True)
class RegisterOk(Message):
    TYPE: ClassVar[int] = MessageType.REGISTER_OK
    resource: str = _kind("name")
    heartbeat_ms: int = _kind("u32")
    coordinator: str = _kind("name")


@dataclass(frozen=True)
class HeartbeatOk(Message):
    TYPE: ClassVar[int] = MessageType.HEARTBEAT_OK
    coordinator: str = _kind("name")


@dataclass(frozen=True)
class Phase(Message):
    TYPE: ClassVar[int] = MessageType.PHASE
    gid: str = _kind("name")
    branch: int = _kind("u32")
    op: int = _u8(*_OPS)
    attempt: int = _kind("u32")
    resource: str = _kind("name")
    action: str = _kind("name")
    deadline_ms: int = _kind("u64")
    payload: bytes = _kind("blob")


@dataclass(frozen=True)
class Saga(Message):
    """A Saga submitted whole (§16); plan is :func:`dtx.plans.encode_saga`'s."""
    TYPE: ClassVar[int] = MessageType.SAGA
    timeout_ms: int = _kind("u32")
    plan: bytes = _kind("blob")


@dataclass(frozen=True)
class Tmsg(Message):
    """A transactional message prepared (§17); plan is
    :func:`dtx.plans.encode_tmsg`'s."""
    TYPE: ClassVar[int] = MessageType.TMSG
    timeout_ms: int = _kind("u32")
    plan: bytes = _kind("blob")


@dataclass(frozen=True)
class TryMany(Message):
    """Several Tries in one request (§18); batch is
    :func:`dtx.plans.encode_batch`'s."""
    TYPE: ClassVar[int] = MessageType.TRY_MANY
    gid: str = _kind("name")
    batch: bytes = _kind("blob")


#: TCC_RUN's flag bit 0 (§19): the coordinator commits when every branch votes yes
TCC_RUN_COMMIT = 0x01
#: TCC_RUN's flag bit 1 (§19.3): the gid is the initiator's (TccRun.run_id); needs bit 0
TCC_RUN_GID = 0x02


@dataclass(frozen=True)
class TccRun(Message):
    """A whole TCC transaction in one request (§19): BEGIN's timeout_ms,
    flags (TCC_RUN_COMMIT, with TCC_RUN_GID, or 0) and TRY_MANY's batch;
    answered TRY_MANY_OK (a repeat of one with the initiator's gid: STATE,
    §19.3). run_id is extension 3, the initiator's gid: set exactly when
    flags has TCC_RUN_GID."""
    TYPE: ClassVar[int] = MessageType.TCC_RUN
    timeout_ms: int = _kind("u32")
    flags: int = _u8(0, TCC_RUN_COMMIT, TCC_RUN_COMMIT | TCC_RUN_GID)
    batch: bytes = _kind("blob")
    run_id: Optional[str] = field(default=None, kw_only=True, metadata={"header": True})


@dataclass(frozen=True)
class TryManyOk(Message):
    """TRY_MANY's reply (§18); outcomes is :func:`dtx.plans.decode_outcomes`'s."""
    TYPE: ClassVar[int] = MessageType.TRY_MANY_OK
    gid: str = _kind("name")
    state: int = _u8(*_STATES)
    outcomes: bytes = _kind("blob")


@dataclass(frozen=True)
class Error(Message):
    TYPE: ClassVar[int] = MessageType.ERROR
    code: int = _kind("u32")
    text: str = _kind("text")


_ALL: Tuple[Type[Message], ...] = (Begin, Try, Commit, Rollback, Status, Register, Heartbeat,
                                   PhaseReply, Resume, BeginOk, TryOk, StateReply, RegisterOk,
                                   HeartbeatOk, Phase, Saga, Tmsg, TryMany, TccRun, TryManyOk,
                                   Error)
MESSAGE_CLASSES: Dict[int, Type[Message]] = {
    cls.TYPE: cls for cls in _ALL
}
#: types added inside version 2 (§15.3): a version 1 frame of one is malformed
V2_ONLY: FrozenSet[int] = frozenset({MessageType.SAGA, MessageType.TMSG, MessageType.TRY_MANY,
                                     MessageType.TCC_RUN, MessageType.TRY_MANY_OK})

# (name, kind, allowed) per type, in wire order; corr is the header's.
_Schema = List[Tuple[str, str, Optional[FrozenSet[int]]]]
_SCHEMAS: Dict[int, _Schema] = {
    t: [(f.name, f.metadata["kind"], f.metadata.get("allowed"))
        for f in dataclasses.fields(cls) if f.name != "corr" and "header" not in f.metadata]
    for t, cls in MESSAGE_CLASSES.items()
}

M = TypeVar("M", bound=Message)


# --- encoding ---------------------------------------------------------------

def encode(msg: Message) -> bytes:
    """The frame of msg. Raises :class:`dtx.InvalidArgument` for a value the
    protocol cannot carry (a bad name, a text over 255 bytes or holding
    NUL, a payload over 256 KiB, an integer or enumeration out of range)."""
    from .errors import InvalidArgument
    if not 0 <= msg.corr < 1 << 64:
        raise InvalidArgument(text="corr out of range")
    if msg.version not in VERSIONS:
        raise InvalidArgument(text=f"protocol version {msg.version} not spoken")
    if msg.traceparent is not None:
        if msg.version == VERSION:
            raise InvalidArgument(text="a version 1 frame carries no traceparent")
        if not traceparent_valid(msg.traceparent):
            raise InvalidArgument(text="traceparent is not a version-00 W3C traceparent "
                                  "(55 characters, lower-case hex, ids not all zeros)")
    if msg.bundle and msg.version == VERSION:
        raise InvalidArgument(text="a version 1 frame carries no extension")
    run_id = msg.run_id if isinstance(msg, TccRun) else None
    if isinstance(msg, TccRun) and (run_id is None) != (not msg.flags & TCC_RUN_GID):
        raise InvalidArgument(text="run_id goes with flag TCC_RUN_GID, and only with it")
    if run_id is not None and not id_valid(run_id):
        raise InvalidArgument(text="run_id is not an id (26 characters of a ULID, upper case)")
    if msg.version == VERSION and msg.TYPE in V2_ONLY:
        raise InvalidArgument(text=f"{MessageType(msg.TYPE).name} needs protocol version 2")
    out = bytearray(MAGIC)
    out += struct.pack(">BBQ", msg.version, msg.TYPE, msg.corr)
    for name, kind, allowed in _SCHEMAS[msg.TYPE]:
        value = getattr(msg, name)
        if kind == "u8":
            if allowed is not None and int(value) not in allowed:
                raise InvalidArgument(text=f"{name} {value} out of range")
            out.append(int(value))
        elif kind == "u32":
            if not 0 <= value < 1 << 32:
                raise InvalidArgument(text=f"{name} out of range")
            out += struct.pack(">I", value)
        elif kind == "u64":
            if not 0 <= value < 1 << 64:
                raise InvalidArgument(text=f"{name} out of range")
            out += struct.pack(">Q", value)
        elif kind == "name":
            if not isinstance(value, str) or not name_valid(value):
                raise InvalidArgument(text=f"{name} is not a valid name")
            raw = value.encode("ascii")
            out.append(len(raw))
            out += raw
        elif kind == "text":
            raw = value.encode("utf-8", "surrogateescape")
            if len(raw) > TEXT_MAX or b"\x00" in raw:
                raise InvalidArgument(text=f"{name} over 255 bytes or holds NUL")
            out.append(len(raw))
            out += raw
        else:  # blob
            raw = bytes(value)
            if len(raw) > PAYLOAD_MAX:
                raise InvalidArgument(text=f"{name} over {PAYLOAD_MAX} bytes")
            out += struct.pack(">I", len(raw))
            out += raw
    if msg.traceparent is not None:  # the section in increasing tag order
        out += struct.pack(">BH", EXT_TRACEPARENT, TRACEPARENT_LEN)
        out += msg.traceparent.encode("ascii")
    if msg.bundle:
        out += struct.pack(">BH", EXT_BUNDLE, 0)
    if run_id is not None:
        out += struct.pack(">BH", EXT_GID, ID_LEN)
        out += run_id.encode("ascii")
    return bytes(out)


# --- decoding ---------------------------------------------------------------

def peek_corr(frame: bytes) -> int:
    """The corr of a frame whose magic is right and bytes 4..11 are there,
    else 0 (what §8 and §9 say an ERROR about a bad frame carries)."""
    if len(frame) >= HEADER_SIZE and frame[:2] == MAGIC:
        return int(struct.unpack_from(">Q", frame, 4)[0])
    return 0


def decode(frame: bytes) -> Message:
    """Decodes one frame of version 1 or 2, checking it in the order of §8
    and §15.3. Raises :class:`MalformedFrame` with code 5 (too big), 3
    (another version), 18 (a version 2 frame of an unknown type) or 2
    (anything else malformed)."""
    n = len(frame)
    corr = peek_corr(frame)
    if n > MSG_MAX:
        raise MalformedFrame(ErrorCode.TOOBIG, f"frame of {n} bytes over {MSG_MAX}", corr)
    if n < 4 or frame[:2] != MAGIC:
        raise MalformedFrame(ErrorCode.PROTO, "bad magic or frame shorter than 4 bytes", 0)
    version = frame[2]
    if version not in VERSIONS:
        raise MalformedFrame(ErrorCode.VERSION, f"protocol version {frame[2]} not supported",
                             corr)
    if n < HEADER_SIZE:
        raise MalformedFrame(ErrorCode.PROTO, f"header truncated ({n} bytes)", corr)
    mtype = frame[3]
    cls = MESSAGE_CLASSES.get(mtype)
    if cls is not None and version == VERSION and mtype in V2_ONLY:
        cls = None
    if cls is None:
        if version == VERSION_2:
            raise MalformedFrame(ErrorCode.UNSUPPORTED,
                                 f"message type 0x{mtype:02x} not supported", corr)
        raise MalformedFrame(ErrorCode.PROTO, f"unknown message type 0x{mtype:02x}", corr)
    tname = MessageType(mtype).name
    pos = HEADER_SIZE
    values: Dict[str, Any] = {}

    def need(count: int, fname: str) -> None:
        if pos + count > n:
            raise MalformedFrame(ErrorCode.PROTO, f"{tname}: field '{fname}' truncated at "
                                 f"byte {pos} (frame has {n} bytes)", corr)

    for fname, kind, allowed in _SCHEMAS[mtype]:
        if kind == "u8":
            need(1, fname)
            v = frame[pos]
            if allowed is not None and v not in allowed:
                raise MalformedFrame(ErrorCode.PROTO, f"{tname}: field '{fname}' value {v} "
                                     f"out of range at byte {pos}", corr)
            values[fname] = v
            pos += 1
        elif kind == "u32":
            need(4, fname)
            values[fname] = struct.unpack_from(">I", frame, pos)[0]
            pos += 4
        elif kind == "u64":
            need(8, fname)
            values[fname] = struct.unpack_from(">Q", frame, pos)[0]
            pos += 8
        elif kind in ("name", "text"):
            need(1, fname)
            length = frame[pos]
            need(1 + length, fname)
            raw = bytes(frame[pos + 1:pos + 1 + length])
            if kind == "name":
                if _NAME_RE.match(raw) is None:
                    raise MalformedFrame(ErrorCode.PROTO, f"{tname}: field '{fname}' is not "
                                         f"a valid name at byte {pos}", corr)
                values[fname] = raw.decode("ascii")
            else:
                if b"\x00" in raw:
                    raise MalformedFrame(ErrorCode.PROTO, f"{tname}: field '{fname}' holds "
                                         f"a NUL byte at byte {pos}", corr)
                values[fname] = raw.decode("utf-8", "surrogateescape")
            pos += 1 + length
        else:  # blob
            need(4, fname)
            length = struct.unpack_from(">I", frame, pos)[0]
            if length > PAYLOAD_MAX:
                raise MalformedFrame(ErrorCode.PROTO, f"{tname}: field '{fname}' length "
                                     f"{length} over {PAYLOAD_MAX} at byte {pos}", corr)
            need(4 + length, fname)
            values[fname] = bytes(frame[pos + 4:pos + 4 + length])
            pos += 4 + length
    if version == VERSION:
        if pos != n:
            raise MalformedFrame(ErrorCode.PROTO, f"{tname}: {n - pos} trailing bytes at "
                                 f"byte {pos}", corr)
        return cls(corr=corr, **values)
    traceparent, bundle, run_id = _decode_extensions(frame, pos, tname, corr)
    if cls is TccRun:
        flags = values["flags"]
        if (run_id is None) != (not flags & TCC_RUN_GID):
            raise MalformedFrame(ErrorCode.PROTO, f"{tname}: flag bit 1 (the initiator's gid) "
                                 + ("clear, but extension 'gid' present" if run_id is not None
                                    else "set without extension 'gid'"), corr)
        return TccRun(corr=corr, version=version, traceparent=traceparent, bundle=bundle,
                      run_id=run_id, **values)
    return cls(corr=corr, version=version, traceparent=traceparent, bundle=bundle, **values)


def _decode_extensions(frame: bytes, pos: int, tname: str,
                       corr: int) -> Tuple[Optional[str], bool, Optional[str]]:
    """The extension section from pos to the frame's end (§15.2): the
    traceparent of tag 1 (None when absent), whether tag 2 is there, and
    the id of tag 3 (None when absent; checked on every type, meant for
    TCC_RUN's); unknown tags skipped."""
    n = len(frame)

    def bad(why: str) -> MalformedFrame:
        return MalformedFrame(ErrorCode.PROTO, f"{tname}: extension {why} at byte {pos}", corr)

    if n - pos > EXT_MAX:
        raise bad(f"section of {n - pos} bytes over {EXT_MAX}")
    last = 0
    traceparent: Optional[str] = None
    bundle = False
    run_id: Optional[str] = None
    while pos < n:
        if n - pos < 3:
            raise bad("header truncated")
        tag, length = struct.unpack_from(">BH", frame, pos)
        if tag <= last:
            raise bad(f"tag {tag} not above {last}")
        if pos + 3 + length > n:
            raise bad(f"tag {tag} value of {length} bytes runs past the end")
        value = bytes(frame[pos + 3:pos + 3 + length])
        if tag == EXT_TRACEPARENT:
            text = value.decode("ascii", "replace")
            if length != TRACEPARENT_LEN or not traceparent_valid(text):
                raise bad("1 is not a valid traceparent")
            traceparent = text
        elif tag == EXT_BUNDLE:
            if length != 0:
                raise bad(f"2 has a value of {length} bytes (it is empty)")
            bundle = True
        elif tag == EXT_GID:
            text = value.decode("ascii", "replace")
            if length != ID_LEN or not id_valid(text):
                raise bad("'gid' is not a 26-character id (ULID, upper case)")
            run_id = text
        last = tag
        pos += 3 + length
    return traceparent, bundle, run_id


# --- BUNDLE (§20) -----------------------------------------------------------

def decode_bundle(frame: bytes) -> List[bytes]:
    """The entries of a BUNDLE frame (type 0x8E: PHASEs, 0x0E:
    PHASE_REPLYs), each one complete frame, in order, after the framing
    checks of §20.1: the frame itself, 1..64 entries filling the blob
    exactly, each at least a header long, in version 2 and of the one type
    its BUNDLE allows. Raises :class:`MalformedFrame` (code 2; 5 too big,
    3 another version) when the BUNDLE is malformed: then nothing in it
    counts. An entry's own fields are not checked here: :func:`decode`
    each (one that does not decode is that entry's problem alone)."""
    n = len(frame)
    corr = peek_corr(frame)
    if n > MSG_MAX:
        raise MalformedFrame(ErrorCode.TOOBIG, f"frame of {n} bytes over {MSG_MAX}", corr)
    if n < HEADER_SIZE or frame[:2] != MAGIC:
        raise MalformedFrame(ErrorCode.PROTO, "bad magic or header truncated", corr)
    if frame[2] != VERSION_2:
        raise MalformedFrame(ErrorCode.VERSION if frame[2] not in VERSIONS else ErrorCode.PROTO,
                             f"a BUNDLE in protocol version {frame[2]}", corr)
    kind = frame[3]
    if kind not in (BUNDLE_PHASES, BUNDLE_REPLIES):
        raise MalformedFrame(ErrorCode.PROTO, f"type 0x{kind:02x} is not a BUNDLE", corr)
    inner = MessageType.PHASE if kind == BUNDLE_PHASES else MessageType.PHASE_REPLY
    pos = HEADER_SIZE
    if n - pos < 4:
        raise MalformedFrame(ErrorCode.PROTO, "BUNDLE: field 'frames' truncated", corr)
    size = struct.unpack_from(">I", frame, pos)[0]
    if size > PAYLOAD_MAX or pos + 4 + size > n:
        raise MalformedFrame(ErrorCode.PROTO, f"BUNDLE: field 'frames' length {size} over "
                             f"{PAYLOAD_MAX} or past the end", corr)
    _decode_extensions(frame, pos + 4 + size, "BUNDLE", corr)
    at, end = pos + 4, pos + 4 + size
    entries: List[bytes] = []
    while at < end:
        if len(entries) == BUNDLE_MAX:
            raise MalformedFrame(ErrorCode.PROTO, f"BUNDLE: over {BUNDLE_MAX} entries", corr)
        if end - at < 4:
            raise MalformedFrame(ErrorCode.PROTO, f"BUNDLE: entry {len(entries) + 1}'s "
                                 "length truncated", corr)
        length = struct.unpack_from(">I", frame, at)[0]
        if length > end - at - 4:
            raise MalformedFrame(ErrorCode.PROTO, f"BUNDLE: entry {len(entries) + 1} of "
                                 f"{length} bytes runs past the end", corr)
        entry = bytes(frame[at + 4:at + 4 + length])
        if length < HEADER_SIZE or entry[:2] != MAGIC or entry[2] != VERSION_2 or \
                entry[3] != inner:
            raise MalformedFrame(ErrorCode.PROTO, f"BUNDLE: entry {len(entries) + 1} is not "
                                 f"a version 2 {inner.name}", corr)
        entries.append(entry)
        at += 4 + length
    if not entries:
        raise MalformedFrame(ErrorCode.PROTO, "BUNDLE: no entry", corr)
    return entries


def encode_bundle(frames: List[bytes], kind: int = BUNDLE_REPLIES) -> bytes:
    """A BUNDLE (version 2, corr 0) of 1..64 complete frames: PHASE_REPLYs
    (kind 0x0E, what a participant sends) or PHASEs (0x8E). Raises
    :class:`dtx.InvalidArgument` for a count or size the protocol cannot
    carry, or an entry of the wrong type or version."""
    from .errors import InvalidArgument
    inner = MessageType.PHASE if kind == BUNDLE_PHASES else MessageType.PHASE_REPLY
    if kind not in (BUNDLE_PHASES, BUNDLE_REPLIES) or not 1 <= len(frames) <= BUNDLE_MAX:
        raise InvalidArgument(text=f"a BUNDLE holds 1..{BUNDLE_MAX} frames")
    blob = bytearray()
    for f in frames:
        if len(f) < HEADER_SIZE or f[:2] != MAGIC or f[2] != VERSION_2 or f[3] != inner:
            raise InvalidArgument(text=f"a BUNDLE entry must be a version 2 {inner.name}")
        blob += struct.pack(">I", len(f)) + f
    if len(blob) > PAYLOAD_MAX:
        raise InvalidArgument(text=f"BUNDLE's frames over {PAYLOAD_MAX} bytes")
    return MAGIC + struct.pack(">BBQI", VERSION_2, kind, 0, len(blob)) + bytes(blob)


def error_frame(corr: int, code: int, text: str, version: int = VERSION) -> bytes:
    """An ERROR frame in version 1 framing (also the answer to a frame of
    another version, §9 rule 2), or in version 2. text is cut to 255 bytes."""
    raw = text.encode("utf-8", "replace").replace(b"\x00", b"?")[:TEXT_MAX]
    return encode(Error(corr=corr, code=code, text=raw.decode("utf-8", "ignore"),
                        version=version))


def display_text(text: str) -> str:
    """A peer's text ready for a log line: invalid UTF-8 replaced (§3)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
