"""The blobs inside version 2's whole-plan requests (docs/protocol.md):
a Saga's plan (§16), a transactional message's plan (§17), TRY_MANY's
batch and TRY_MANY_OK's outcomes (§18).

Each layout has one rule check (``_saga_rule``, ...) that both directions
use: :func:`encode_saga` and friends raise :class:`dtx.InvalidArgument`
(nothing is sent) for a value the coordinator would refuse as malformed,
and :func:`decode_saga` and friends raise
:class:`dtx.protocol.MalformedFrame` (code 2) for bytes that break the
layout or a rule, with the same text.  ``decode_x(encode_x(v)) == v`` for
every v that encodes.

Integers are big-endian; a name is a u8 length and 1..63 bytes of the
name alphabet (§3); a compensation is a u8 length 0..63 and name bytes;
a payload (blob) is a u32 length and its bytes.  A whole blob is at most
256 KiB (``PAYLOAD_MAX``).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple, Union

from . import protocol as p
from .errors import ErrorCode, InvalidArgument

SAGA_STEPS_MAX = 64     # §16: nsteps 1..64
TMSG_DESTS_MAX = 32     # §17: ndests 1..32
TRY_MANY_MAX = 16       # §18: n 1..16
SAGA_CONCURRENT = 0x01  # plan flag bit 0
STEP_PIVOT = 0x01       # step flag bit 0

Payload = Union[bytes, bytearray, memoryview, str]


def _bytes(payload: Payload) -> bytes:
    return payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)


@dataclass(frozen=True)
class Step:
    """One step of a Saga. ``compensation`` is empty only for the pivot
    (``pivot=True``: non-compensable; once its action is done the Saga only
    goes forward). ``after`` lists the step numbers (1-based, increasing)
    this step waits for, in a concurrent plan only. ``payload`` (bytes, or
    str sent as UTF-8) goes to both the action and the compensation."""
    resource: str
    action: str
    compensation: str = ""
    payload: Payload = b""
    pivot: bool = False
    after: Tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "payload", _bytes(self.payload))
        object.__setattr__(self, "after", tuple(self.after))


@dataclass(frozen=True)
class SagaPlan:
    steps: Tuple[Step, ...]
    concurrent: bool = False


@dataclass(frozen=True)
class _Call:
    """A resource, the op name its call carries, and the bytes it gets
    (bytes, or str sent as UTF-8)."""
    resource: str
    action: str
    payload: Payload = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "payload", _bytes(self.payload))


@dataclass(frozen=True)
class Destination(_Call):
    """One destination of a transactional message: the resource that
    receives it, the op name its deliver call carries, and the message."""


@dataclass(frozen=True)
class MessagePlan:
    checkback: str
    destinations: Tuple[Destination, ...]


@dataclass(frozen=True)
class Branch(_Call):
    """One Try of a TRY_MANY: as :meth:`dtx.Client.try_`'s arguments."""


@dataclass(frozen=True)
class BranchOutcome:
    """What became of one branch of a TRY_MANY (§18): ``branch`` its number
    (0 when the coordinator did not say); ``code`` 0 when its Try ran
    (``outcome`` is then its vote), else the error a single TRY would have
    got (``outcome`` is then FAILED and ``text`` the reason)."""
    branch: int
    outcome: p.Outcome
    code: int = 0
    text: str = ""


# --- the rules (one place for both directions) ------------------------------

def _name_rule(what: str, value: object) -> Optional[str]:
    if not isinstance(value, str) or not p.name_valid(value):
        return f"{what} is not a valid name (1..63 of A-Za-z0-9._:-)"
    return None


def _saga_rule(steps: Sequence[Step], concurrent: bool) -> Optional[str]:
    if not 1 <= len(steps) <= SAGA_STEPS_MAX:
        return f"saga plan: {len(steps)} steps (1..{SAGA_STEPS_MAX} allowed)"
    pivot = 0
    for no, st in enumerate(steps, 1):
        for what, value in (("resource", st.resource), ("action", st.action)):
            bad = _name_rule(f"saga step {no}: {what}", value)
            if bad:
                return bad
        if st.compensation and not p.name_valid(st.compensation):
            return f"saga step {no}: compensation is not a valid name"
        if not st.compensation and not st.pivot:
            return f"saga step {no}: no compensation (only a pivot may have none)"
        if st.pivot and pivot:
            return f"saga step {no}: a second pivot (step {pivot} is one already)"
        if st.after and not concurrent:
            return f"saga step {no}: dependencies in a sequential plan"
        prev = 0
        for d in st.after:
            if not isinstance(d, int) or d <= prev or d >= no:
                return (f"saga step {no}: dependency {d} is not an earlier step in "
                        "increasing order")
            prev = d
        if concurrent and pivot and pivot not in st.after:
            return (f"saga step {no}: must depend on the pivot (step {pivot}): no action "
                    "runs beside a pivot")
        if concurrent and st.pivot and len(st.after) != no - 1:
            return f"saga step {no}: a pivot must depend on every earlier step"
        if st.pivot:
            pivot = no
    return None


def _tmsg_rule(checkback: str, dests: Sequence[Destination]) -> Optional[str]:
    bad = _name_rule("message plan: check-back resource", checkback)
    if bad:
        return bad
    if not 1 <= len(dests) <= TMSG_DESTS_MAX:
        return f"message plan: {len(dests)} destinations (1..{TMSG_DESTS_MAX} allowed)"
    for no, d in enumerate(dests, 1):
        bad = (_name_rule(f"message destination {no}: resource", d.resource) or
               _name_rule(f"message destination {no}: action", d.action))
        if bad:
            return bad
    return None


def _batch_rule(branches: Sequence[Branch]) -> Optional[str]:
    if not 1 <= len(branches) <= TRY_MANY_MAX:
        return f"batch of {len(branches)} branches, not 1..{TRY_MANY_MAX}"
    for no, b in enumerate(branches, 1):
        bad = (_name_rule(f"branch {no}: resource", b.resource) or
               _name_rule(f"branch {no}: action", b.action))
        if bad:
            return bad
    return None


def _outcome_rule(no: int, o: BranchOutcome) -> Optional[str]:
    if int(o.outcome) not in tuple(p.Outcome):
        return f"outcome {no}: value {int(o.outcome)} out of range"
    if not 0 <= o.branch < 1 << 32 or not 0 <= o.code < 1 << 32:
        return f"outcome {no}: branch or code out of range"
    raw = o.text.encode("utf-8", "surrogateescape")
    if len(raw) > p.TEXT_MAX or b"\x00" in raw:
        return f"outcome {no}: text over {p.TEXT_MAX} bytes or holds NUL"
    if (o.code == 0) != (not raw) or (o.code != 0 and o.outcome != p.Outcome.FAILED):
        return (f"outcome {no}: code {o.code} with outcome {int(o.outcome)} and a text of "
                f"{len(raw)} bytes")
    return None


# --- writing ------------------------------------------------------------------

def _name(out: bytearray, value: str) -> None:
    raw = value.encode("ascii")
    out.append(len(raw))
    out += raw


def _blob(out: bytearray, value: bytes) -> None:
    out += struct.pack(">I", len(value))
    out += value


def _done(out: bytearray, what: str) -> bytes:
    if len(out) > p.PAYLOAD_MAX:
        raise InvalidArgument(text=f"{what} of {len(out)} bytes over {p.PAYLOAD_MAX}")
    return bytes(out)


def _refuse(rule: Optional[str]) -> None:
    if rule:
        raise InvalidArgument(text=rule)


def encode_saga(steps: Iterable[Step], concurrent: bool = False) -> bytes:
    """A SAGA request's plan (§16)."""
    steps = tuple(steps)
    _refuse(_saga_rule(steps, concurrent))
    out = bytearray((SAGA_CONCURRENT if concurrent else 0, len(steps)))
    for st in steps:
        _name(out, st.resource)
        _name(out, st.action)
        comp = st.compensation.encode("ascii")
        out.append(len(comp))
        out += comp
        out += bytes((STEP_PIVOT if st.pivot else 0, len(st.after)))
        out += bytes(st.after)
        _blob(out, _bytes(st.payload))
    return _done(out, "saga plan")


def encode_tmsg(checkback: str, destinations: Iterable[Destination]) -> bytes:
    """A TMSG request's plan (§17)."""
    dests = tuple(destinations)
    _refuse(_tmsg_rule(checkback, dests))
    out = bytearray()
    _name(out, checkback)
    out.append(len(dests))
    for d in dests:
        _name(out, d.resource)
        _name(out, d.action)
        _blob(out, _bytes(d.payload))
    return _done(out, "message plan")


def encode_batch(branches: Iterable[Branch]) -> bytes:
    """A TRY_MANY request's batch (§18)."""
    items = tuple(branches)
    _refuse(_batch_rule(items))
    out = bytearray((len(items),))
    for b in items:
        _name(out, b.resource)
        _name(out, b.action)
        _blob(out, _bytes(b.payload))
    return _done(out, "batch")


def encode_outcomes(outcomes: Iterable[BranchOutcome]) -> bytes:
    """A TRY_MANY_OK reply's outcomes (§18): what a coordinator sends."""
    items = tuple(outcomes)
    if not 1 <= len(items) <= TRY_MANY_MAX:
        raise InvalidArgument(text=f"{len(items)} outcomes, not 1..{TRY_MANY_MAX}")
    out = bytearray((len(items),))
    for no, o in enumerate(items, 1):
        _refuse(_outcome_rule(no, o))
        raw = o.text.encode("utf-8", "surrogateescape")
        out += struct.pack(">IBIB", o.branch, int(o.outcome), o.code, len(raw))
        out += raw
    return _done(out, "outcomes")


# --- reading ------------------------------------------------------------------

class _Reader:
    """Bytes read in order; every shortfall or bad value is MalformedFrame."""

    def __init__(self, blob: bytes, what: str) -> None:
        if len(blob) > p.PAYLOAD_MAX:
            raise p.MalformedFrame(ErrorCode.PROTO,
                                   f"{what} of {len(blob)} bytes over {p.PAYLOAD_MAX}")
        self.blob, self.pos, self.what = bytes(blob), 0, what

    def fail(self, text: str) -> p.MalformedFrame:
        return p.MalformedFrame(ErrorCode.PROTO, text)

    def take(self, n: int, field: str) -> bytes:
        if self.pos + n > len(self.blob):
            raise self.fail(f"{field} truncated at byte {self.pos}")
        raw = self.blob[self.pos:self.pos + n]
        self.pos += n
        return raw

    def u8(self, field: str) -> int:
        return self.take(1, field)[0]

    def u32(self, field: str) -> int:
        return int(struct.unpack(">I", self.take(4, field))[0])

    def name(self, field: str, empty_ok: bool = False) -> str:
        raw = self.take(self.u8(field), field)
        if not raw and empty_ok:
            return ""
        text = raw.decode("ascii", "replace")
        if not p.name_valid(text):
            raise self.fail(f"{field} is not a valid name at byte {self.pos - len(raw) - 1}")
        return text

    def blob_field(self, field: str) -> bytes:
        return self.take(self.u32(field), field)

    def end(self) -> None:
        if self.pos != len(self.blob):
            raise self.fail(f"{self.what}: {len(self.blob) - self.pos} trailing byte(s)")

    def check(self, rule: Optional[str]) -> None:
        if rule:
            raise self.fail(rule)


def decode_saga(blob: bytes) -> SagaPlan:
    """A SAGA request's plan (§16), checked against every rule."""
    r = _Reader(blob, "saga plan")
    flags, n = r.u8("saga plan flags"), r.u8("saga plan step count")
    if flags & ~SAGA_CONCURRENT:
        raise r.fail(f"saga plan: unknown flag bits 0x{flags:02x}")
    r.check(None if 1 <= n <= SAGA_STEPS_MAX else
            f"saga plan: {n} steps (1..{SAGA_STEPS_MAX} allowed)")
    steps: List[Step] = []
    for no in range(1, n + 1):
        resource = r.name(f"saga step {no}: resource")
        action = r.name(f"saga step {no}: action")
        comp = r.name(f"saga step {no}: compensation", empty_ok=True)
        sflags, ndeps = r.u8(f"saga step {no}: flags"), r.u8(f"saga step {no}: dependencies")
        if sflags & ~STEP_PIVOT:
            raise r.fail(f"saga step {no}: unknown flag bits 0x{sflags:02x}")
        after = tuple(r.take(ndeps, f"saga step {no}: dependencies"))
        payload = r.blob_field(f"saga step {no}: payload")
        steps.append(Step(resource, action, comp, payload, bool(sflags & STEP_PIVOT), after))
    r.end()
    r.check(_saga_rule(steps, bool(flags & SAGA_CONCURRENT)))
    return SagaPlan(tuple(steps), bool(flags & SAGA_CONCURRENT))


def decode_tmsg(blob: bytes) -> MessagePlan:
    """A TMSG request's plan (§17)."""
    r = _Reader(blob, "message plan")
    checkback = r.name("message plan: check-back resource")
    n = r.u8("message plan: destination count")
    r.check(None if 1 <= n <= TMSG_DESTS_MAX else
            f"message plan: {n} destinations (1..{TMSG_DESTS_MAX} allowed)")
    dests = tuple(Destination(r.name(f"message destination {no}: resource"),
                              r.name(f"message destination {no}: action"),
                              r.blob_field(f"message destination {no}: payload"))
                  for no in range(1, n + 1))
    r.end()
    return MessagePlan(checkback, dests)


def decode_batch(blob: bytes) -> Tuple[Branch, ...]:
    """A TRY_MANY request's batch (§18)."""
    r = _Reader(blob, "batch")
    n = r.u8("batch branch count")
    r.check(None if 1 <= n <= TRY_MANY_MAX else f"batch of {n} branches, not 1..{TRY_MANY_MAX}")
    items = tuple(Branch(r.name(f"branch {no}: resource"), r.name(f"branch {no}: action"),
                         r.blob_field(f"branch {no}: payload"))
                  for no in range(1, n + 1))
    r.end()
    return items


def decode_outcomes(blob: bytes) -> Tuple[BranchOutcome, ...]:
    """A TRY_MANY_OK reply's outcomes (§18)."""
    r = _Reader(blob, "outcomes")
    n = r.u8("outcome count")
    r.check(None if 1 <= n <= TRY_MANY_MAX else f"{n} outcomes, not 1..{TRY_MANY_MAX}")
    items: List[BranchOutcome] = []
    for no in range(1, n + 1):
        branch, outcome = r.u32(f"outcome {no}"), r.u8(f"outcome {no}")
        code = r.u32(f"outcome {no}")
        raw = r.take(r.u8(f"outcome {no}: text"), f"outcome {no}: text")
        if outcome not in tuple(p.Outcome):
            raise r.fail(f"outcome {no}: value {outcome} out of range")
        o = BranchOutcome(branch, p.Outcome(outcome), code,
                          raw.decode("utf-8", "surrogateescape"))
        r.check(_outcome_rule(no, o))
        items.append(o)
    r.end()
    return tuple(items)


__all__: Tuple[str, ...] = (
    "Branch", "BranchOutcome", "Destination", "MessagePlan", "SagaPlan", "Step",
    "decode_batch", "decode_outcomes", "decode_saga", "decode_tmsg", "encode_batch",
    "encode_outcomes", "encode_saga", "encode_tmsg")
