"""The initiator: begin a global transaction, run its branches, decide it.

    with dtx.Client("tcp://127.0.0.1:7070") as client:
        with dtx.Transaction(client, mode="tcc", timeout_ms=30000) as tx:
            tx.try_("bank-a", "debit", b'{"account":"alice","amount":500}')
            tx.try_("bank-b", "credit", b'{"account":"bob","amount":500}')
        # committed here; an exception inside the block rolled it back

Each call sends one request on the client's DEALER socket and waits (up to
the client's timeout, connection included: nothing is queued for a
coordinator that is not connected) for the reply with the same ``corr``
(docs/protocol.md §2, §5.1); replies to earlier calls that timed out are
dropped.  A call that times out raises :class:`dtx.Timeout`; the request
may still have been carried out, so ask :meth:`Client.status` (§5.1); one
that never connected raises its subclass :class:`dtx.NotSent` (safe to retry).
After a call that found no connection the socket is made anew (same
lineage), as libdtx does.  A Client is not thread-safe: one per thread.

Requests go out in protocol version 2 (docs/protocol.md §15): BEGIN, TRY
and the version 2 requests that begin or run branches (SAGA, TMSG,
TRY_MANY: :meth:`Client.saga`, :meth:`Client.tmsg_prepare`,
:meth:`Client.try_many`) carry the traceparent set with :meth:`Client.set_traceparent` (or a
:class:`Transaction`'s ``traceparent``), and BEGIN_OK brings back the one
the coordinator recorded (:attr:`Client.traceparent`: the one sent, or one
it made).  A coordinator that speaks only version 1 answers ERROR 3 without
acting: the request is sent again at once in version 1 (without the trace)
and the client speaks version 1 from then on.  ``protocol_version=1`` or
``DTX_PROTO_VERSION=1`` makes it speak version 1 from the start.  The
version 2 requests then raise :class:`dtx.Unsupported` (nothing done).
"""
from __future__ import annotations

import dataclasses
import logging
import time
from typing import (Any, Iterable, NamedTuple, Optional, Sequence, Tuple, Type, TypeVar,
                    Union)

import zmq

from . import keys as _keys
from . import plans
from . import protocol as p
from . import transport
from .errors import (Aborted, DtxError, InvalidArgument, InvalidState, ProtocolError, Refused,
                     NotSent, Timeout, TransportError, Unsupported, error_from_code)

log = logging.getLogger("dtx.client")

DEFAULT_TIMEOUT_MS = 30000

ModeLike = Union[str, int, p.Mode]
Payload = Union[bytes, bytearray, memoryview, str]
R = TypeVar("R", bound=p.Message)


class Begun(NamedTuple):
    """A new global transaction: its gid and deadline (epoch ms)."""
    gid: str
    deadline_ms: int


class TryResult(NamedTuple):
    """What a TRY_OK said: the branch number, the participant's vote, the
    global state after it, and the (version 1: empty) payload."""
    branch: int
    outcome: p.Outcome
    state: p.State
    payload: bytes


class TryManyResult(NamedTuple):
    """What :meth:`Client.try_many` got: the transaction's ``state`` when
    the reply left, and one :class:`dtx.plans.BranchOutcome` per branch,
    in the order given."""
    state: p.State
    outcomes: Tuple[plans.BranchOutcome, ...]

    @property
    def ok(self) -> bool:
        """True when every branch voted yes."""
        return all(o.code == 0 and o.outcome == p.Outcome.OK for o in self.outcomes)


_TRACED = (p.MessageType.BEGIN, p.MessageType.TRY, p.MessageType.SAGA, p.MessageType.TMSG,
           p.MessageType.TRY_MANY, p.MessageType.TCC_RUN)
_BEGINS = (p.MessageType.SAGA, p.MessageType.TMSG)


class TccRunResult(NamedTuple):
    """What :meth:`Client.tcc_run` got: the new transaction's ``gid``, its
    ``state`` when the answer left, and one :class:`dtx.plans.BranchOutcome`
    per branch, in the order given."""
    gid: str
    state: p.State
    outcomes: Tuple[plans.BranchOutcome, ...]

    @property
    def ok(self) -> bool:
        """True when every branch voted yes."""
        return all(o.code == 0 and o.outcome == p.Outcome.OK for o in self.outcomes)


def parse_mode(mode: ModeLike) -> p.Mode:
    """"tcc" / "2pc" (any case), 1 / 2 or a Mode -> Mode; else InvalidArgument."""
    if isinstance(mode, str):
        named = {"tcc": p.Mode.TCC, "2pc": p.Mode.TWO_PC}.get(mode.lower())
        if named is None:
            raise InvalidArgument(text=f"mode {mode!r}: use 'tcc' or '2pc'")
        return named
    try:
        return p.Mode(int(mode))
    except ValueError:
        raise InvalidArgument(text=f"mode {mode!r}: use 'tcc' or '2pc'") from None


def _payload_bytes(payload: Payload) -> bytes:
    return payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)


def _check_name(what: str, value: str) -> None:
    if not isinstance(value, str) or not p.name_valid(value):
        raise InvalidArgument(text=f"{what} {value!r} is not a valid name "
                              "(1..63 of A-Z a-z 0-9 . _ : -)")


class Client:
    """A connection to one coordinator, for initiators (and operators).

    ``key_file`` is a CURVE credentials file (module dtx.keys); None reads
    ``DTX_CURVE_KEY_FILE`` and, when that is unset, speaks plain ZeroMQ.
    ``timeout_ms`` bounds every call. ``protocol_version`` is 2 or 1 (None:
    2, or 1 when ``DTX_PROTO_VERSION=1``). Raises ConfigError for an
    unusable key file, InvalidArgument for a malformed endpoint or version.
    """

    def __init__(self, endpoint: str, *, key_file: Optional[str] = None,
                 timeout_ms: int = DEFAULT_TIMEOUT_MS,
                 protocol_version: Optional[int] = None,
                 context: Optional[zmq.Context] = None) -> None:  # type: ignore[type-arg]
        self.endpoint = endpoint
        self.timeout_ms = timeout_ms if timeout_ms > 0 else DEFAULT_TIMEOUT_MS
        #: the protocol version requests go out in (2, or 1: forced or fallen back)
        self.protocol_version = transport.proto_version(protocol_version)
        self.last_error = ""
        self._trace_out: Optional[str] = None    # what BEGIN and TRY carry
        self._trace_in: Optional[str] = None     # what the last BEGIN_OK recorded
        self._keys = _keys.resolve(key_file)
        self._context = context or zmq.Context.instance()
        self._corr = 0
        self._socket: Optional[zmq.Socket] = None  # type: ignore[type-arg]
        self._open()

    # -- lifecycle ---------------------------------------------------------

    def _open(self) -> None:
        try:
            self._socket = transport.make_dealer(self._context, self.endpoint, self._keys,
                                                 immediate=True)
        except zmq.ZMQError as e:
            raise InvalidArgument(text=f"endpoint {self.endpoint!r}: {e}") from None

    def close(self) -> None:
        """Closes the connection (idempotent)."""
        if self._socket is not None:
            self._socket.close(0)
            self._socket = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- trace context -----------------------------------------------------

    def set_traceparent(self, traceparent: Optional[str]) -> None:
        """Sets the W3C traceparent the following begin and try_ calls
        carry, until set again: version 00, 55 characters of lower-case hex
        and dashes, neither id all zeros (docs/protocol.md §15.2). None or
        "" clears it: BEGIN then carries none and the coordinator starts a
        trace of its own. Raises InvalidArgument (the previous one stays)."""
        if not traceparent:
            self._trace_out = None
            return
        if not p.traceparent_valid(traceparent):
            raise InvalidArgument(text=f"traceparent {traceparent!r} is not a version-00 W3C "
                                  "traceparent (lower-case hex, ids not all zeros)")
        self._trace_out = traceparent

    @property
    def traceparent_set(self) -> Optional[str]:
        """What :meth:`set_traceparent` set (None: nothing)."""
        return self._trace_out

    @property
    def traceparent(self) -> Optional[str]:
        """The traceparent the coordinator recorded for the transaction the
        last successful :meth:`begin` began: the one set, or one it made.
        None before any, after a failed begin, or when the coordinator
        speaks only protocol version 1."""
        return self._trace_in

    # -- requests ----------------------------------------------------------

    def _call(self, request: p.Message, expect: Type[R]) -> R:
        """Sends request, returns its reply of type expect; raises the
        ERROR's exception, Timeout, or ProtocolError for another type.
        Falls back to version 1 on ERROR 3 to a version 2 request."""
        while True:
            if request.TYPE in p.V2_ONLY and self.protocol_version == p.VERSION:
                raise Unsupported(text=f"the coordinator speaks protocol version 1 only: no "
                                  f"{p.MessageType(request.TYPE).name}")
            traced = request.TYPE in _TRACED
            tp = self._trace_out if traced and self.protocol_version > p.VERSION else None
            try:
                return self._round_trip(dataclasses.replace(
                    request, version=self.protocol_version, traceparent=tp), expect)
            except DtxError as e:
                if e.code != p.ErrorCode.VERSION or self.protocol_version == p.VERSION:
                    raise
            # Not acted on (protocol.md §9, §15.5): the same request in version 1.
            log.info("coordinator speaks protocol version 1 only: using it (no trace "
                     "context) endpoint=%s", self.endpoint)
            self.protocol_version = p.VERSION

    def _round_trip(self, request: p.Message, expect: Type[R]) -> R:
        if self._socket is None:
            self._open()
        assert self._socket is not None
        self.last_error = ""
        self._corr = (self._corr + 1) & 0xFFFFFFFFFFFFFFFF
        corr = self._corr
        frame = p.encode(dataclasses.replace(request, corr=corr))
        deadline = time.monotonic() + self.timeout_ms / 1000.0
        sent = False
        while not sent:
            try:
                self._socket.send(frame, zmq.NOBLOCK)
                sent = True
            except zmq.Again:
                if time.monotonic() >= deadline:
                    # never connected within the budget: a new socket for
                    # the next call (a refused handshake is not retried by
                    # the old one).
                    self.close()
                    raise NotSent(text=f"no connection to {self.endpoint}") from None
                time.sleep(0.01)
            except zmq.ZMQError as e:
                raise TransportError(text=str(e)) from None
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self._socket.poll(max(1, int(left * 1000)), zmq.POLLIN):
                raise Timeout(text=f"no reply from {self.endpoint} within "
                              f"{self.timeout_ms} ms")
            data = transport.recv_frame(self._socket)
            if data is None:
                log.warning("multi-frame message dropped endpoint=%s", self.endpoint)
                continue
            try:
                reply = p.decode(data)
            except p.MalformedFrame as e:
                if e.code == p.ErrorCode.VERSION and data[3:4] != b"\xff":
                    self._socket.send(p.error_frame(e.corr, e.code, str(e)), zmq.NOBLOCK)
                log.warning("bad frame dropped endpoint=%s error=%r", self.endpoint, e.text)
                continue
            if reply.corr != corr:
                log.debug("late reply dropped corr=%d", reply.corr)
                continue
            if isinstance(reply, p.Error):
                self.last_error = p.display_text(reply.text)
                raise error_from_code(reply.code, self.last_error)
            if not isinstance(reply, expect):
                raise ProtocolError(text=f"{p.MessageType(reply.TYPE).name} answered "
                                    f"{p.MessageType(request.TYPE).name}")
            return reply

    def begin(self, mode: ModeLike = "tcc", timeout_ms: int = 0) -> Begun:
        """Starts a global transaction ("tcc" or "2pc"); timeout_ms is how
        long it may stay active (0: the coordinator's default)."""
        m = parse_mode(mode)
        if not 0 <= timeout_ms < 1 << 32:
            raise InvalidArgument(text="timeout_ms out of range")
        self._trace_in = None
        reply = self._call(p.Begin(corr=0, mode=m, timeout_ms=timeout_ms), p.BeginOk)
        self._trace_in = reply.traceparent
        return Begun(reply.gid, reply.deadline_ms)

    def try_(self, gid: str, resource: str, action: str, payload: Payload = b"") -> TryResult:
        """Runs one branch: the participant's Try (TCC) or the branch's
        enlistment (2PC). Raises Refused (with ``.state``) when the
        participant voted no or failed: the coordinator has then already
        decided abort. NoParticipant, InvalidState, Expired, Timeout,
        OutcomeUnknown... otherwise (never re-run a TRY after one of them
        without asking status: it would add a branch)."""
        _check_name("gid", gid)
        _check_name("resource", resource)
        _check_name("action", action)
        data = _payload_bytes(payload)
        if len(data) > p.PAYLOAD_MAX:
            raise InvalidArgument(text=f"payload of {len(data)} bytes over {p.PAYLOAD_MAX}")
        reply = self._call(p.Try(corr=0, gid=gid, resource=resource, action=action,
                                 payload=data), p.TryOk)
        result = TryResult(reply.branch, p.Outcome(reply.outcome), p.State(reply.state),
                           reply.payload)
        if result.outcome != p.Outcome.OK:
            err = Refused(text=f"{resource} {action} branch {result.branch}",
                          state=result.state)
            err.result = result
            raise err
        return result

    def try_many(self, gid: str,
                 branches: Iterable[Union[plans.Branch, Tuple[str, str], Tuple[str, str, Payload]]]
                 ) -> TryManyResult:
        """Runs 1..16 branches of gid in one request (docs/protocol.md §18):
        the coordinator records them in one log write, sends their Tries in
        parallel and answers when every branch has its outcome. branches are
        :class:`dtx.plans.Branch` values or (resource, action[, payload])
        tuples. Returns the :class:`TryManyResult` when every branch voted
        yes; raises Refused (``.state``, ``.result``: the TryManyResult)
        when at least one did not — the coordinator has then decided abort,
        as after a refused :meth:`try_`. Raises InvalidArgument (nothing
        sent) for a bad batch; Unsupported (nothing done) when the
        coordinator does not know TRY_MANY: send the branches with
        :meth:`try_`; otherwise the request's error as :meth:`try_`'s
        (OutcomeUnknown: ask status, never repeat the call)."""
        _check_name("gid", gid)
        items = tuple(b if isinstance(b, plans.Branch) else plans.Branch(*b) for b in branches)
        batch = plans.encode_batch(items)
        reply = self._call(p.TryMany(corr=0, gid=gid, batch=batch), p.TryManyOk)
        try:
            outcomes = plans.decode_outcomes(reply.outcomes)
        except p.MalformedFrame as e:
            raise ProtocolError(text=f"TRY_MANY_OK: {e.text}") from None
        if len(outcomes) != len(items):
            raise ProtocolError(text=f"TRY_MANY_OK: {len(outcomes)} outcomes for "
                                f"{len(items)} branches")
        result = TryManyResult(p.State(reply.state), outcomes)
        if not result.ok:
            bad = [f"{items[i].resource} {o.text or o.outcome.name.lower()}"
                   for i, o in enumerate(outcomes) if o.code or o.outcome != p.Outcome.OK]
            err = Refused(text=f"gid {gid}: " + "; ".join(bad), state=result.state)
            err.result = result
            raise err
        return result

    def tcc_run(self,
                branches: Iterable[Union[plans.Branch, Tuple[str, str], Tuple[str, str, Payload]]],
                timeout_ms: int = 0, commit: bool = True,
                run_id: Optional[str] = None) -> TccRunResult:
        """Begins a TCC transaction and runs its 1..16 branches in one request
        (docs/protocol.md §19): BEGIN, :meth:`try_many` and, with commit, the
        COMMIT, which the coordinator decides itself once every branch voted
        yes (the answer leaves once that decision is durable). Returns the
        :class:`TccRunResult` (state ``committing`` with commit, ``active``
        without: commit or roll back by its gid). Raises Aborted (with commit)
        or Refused (without) when a branch did not vote yes — the
        transaction is then decided abort; ``.result`` is the TccRunResult.
        Raises as :meth:`try_many` does otherwise (InvalidArgument, nothing
        sent; Unsupported, nothing done; Limit, nothing recorded;
        OutcomeUnknown). A Timeout leaves the outcome unknown and no gid
        known: never run the same work again as a new call without finding
        out first (§19.2) — unless the call named run_id.

        run_id (with commit only; :func:`dtx.protocol.new_id` makes one) is
        the transaction's id, the caller's (§19.3): the same call with the
        same run_id may be made again after a Timeout, OutcomeUnknown or a
        lost connection. A repeat begins nothing and returns (or raises
        Aborted for) what became of the first; its result's outcomes are
        empty (the answer carries the state only), its gid the first's.
        The id is remembered as long as the coordinator's log keeps its
        transaction (--retention)."""
        items = tuple(b if isinstance(b, plans.Branch) else plans.Branch(*b) for b in branches)
        batch = plans.encode_batch(items)
        if run_id is not None and (not commit or not p.id_valid(run_id)):
            raise InvalidArgument(text="run_id needs commit and an id (26 characters of a "
                                  "ULID, upper case: dtx.protocol.new_id)")
        flags = (p.TCC_RUN_COMMIT if commit else 0) | (p.TCC_RUN_GID if run_id else 0)
        request = p.TccRun(corr=0, timeout_ms=timeout_ms, flags=flags, batch=batch,
                           run_id=run_id)
        reply = self._call(request, p.Message)
        if run_id is not None and isinstance(reply, p.StateReply):  # a repeat (§19.3)
            repeat = TccRunResult(reply.gid, p.State(reply.state), ())
            if repeat.state in (p.State.ABORTING, p.State.ABORTED):
                stop = Aborted(text=f"gid {repeat.gid}: {repeat.state.name.lower()}",
                               state=repeat.state)
                stop.result = repeat
                raise stop
            return repeat
        if not isinstance(reply, p.TryManyOk):
            raise ProtocolError(text=f"{p.MessageType(reply.TYPE).name} answered TCC_RUN")
        try:
            outcomes = plans.decode_outcomes(reply.outcomes)
        except p.MalformedFrame as e:
            raise ProtocolError(text=f"TRY_MANY_OK: {e.text}") from None
        if len(outcomes) != len(items):
            raise ProtocolError(text=f"TRY_MANY_OK: {len(outcomes)} outcomes for "
                                f"{len(items)} branches")
        result = TccRunResult(reply.gid, p.State(reply.state), outcomes)
        aborted = result.state in (p.State.ABORTING, p.State.ABORTED)
        if not result.ok or aborted:
            bad = [f"{items[i].resource} {o.text or o.outcome.name.lower()}"
                   for i, o in enumerate(outcomes) if o.code or o.outcome != p.Outcome.OK]
            text = f"gid {result.gid}: " + ("; ".join(bad) or result.state.name.lower())
            if commit and aborted:
                stop = Aborted(text=text, state=result.state)
                stop.result = result
                raise stop
            refused = Refused(text=text, state=result.state)
            refused.result = result
            raise refused
        return result

    def _begin_whole(self, request: p.Message) -> Begun:
        self._trace_in = None
        reply = self._call(request, p.BeginOk)
        self._trace_in = reply.traceparent
        return Begun(reply.gid, reply.deadline_ms)

    def saga(self, steps: Iterable[plans.Step], concurrent: bool = False,
             timeout_ms: int = 0) -> Begun:
        """Submits a Saga whole (docs/sagas.md, protocol.md §16): the
        coordinator records the plan, answers its gid, and runs it by
        itself — actions in order (or by their ``after`` lists when
        ``concurrent``), compensations in reverse after a refused step.
        timeout_ms is its deadline (0: the coordinator's default). Follow
        it with :meth:`saga_wait`. Raises InvalidArgument (nothing sent)
        for a plan that breaks a rule (the text says which), Unsupported,
        LimitExceeded, AccessDenied, OutcomeUnknown (the plan may run: the
        text names its gid)."""
        if not 0 <= timeout_ms < 1 << 32:
            raise InvalidArgument(text="timeout_ms out of range")
        plan = plans.encode_saga(steps, concurrent)
        return self._begin_whole(p.Saga(corr=0, timeout_ms=timeout_ms, plan=plan))

    def saga_wait(self, gid: str, timeout_ms: int = 30000) -> p.State:
        """Waits for the Saga gid to end: returns COMMITTED (every step
        done); raises Aborted when it was compensated, InvalidState when it
        is stuck (an operator must resume it), Timeout when still running."""
        state = self.wait_final(gid, timeout_ms)
        if state == p.State.ABORTED:
            raise Aborted(text=f"saga {gid} compensated", state=state)
        if state == p.State.STUCK:
            raise InvalidState(text=f"saga {gid} is stuck", state=state)
        return state

    def tmsg_prepare(self, checkback: str,
                     destinations: Iterable[Union[plans.Destination, Tuple[str, str],
                                                  Tuple[str, str, Payload]]],
                     timeout_ms: int = 0) -> Begun:
        """Prepares a transactional message (docs/sagas.md, protocol.md
        §17): the coordinator records it with one branch per destination
        ((resource, action[, payload]) tuples or
        :class:`dtx.plans.Destination` values) and answers its gid. Then
        commit the local change with the outbox row
        (:func:`dtx.barrier.outbox_commit`) and :meth:`tmsg_submit`; the
        check-back resource's handler (:meth:`dtx.Barrier.query_prepared`)
        answers for the service when no submit came within timeout_ms (0:
        the coordinator's default). Raises InvalidArgument (nothing sent),
        Unsupported, LimitExceeded, AccessDenied, OutcomeUnknown."""
        if not 0 <= timeout_ms < 1 << 32:
            raise InvalidArgument(text="timeout_ms out of range")
        dests = tuple(d if isinstance(d, plans.Destination) else plans.Destination(*d)
                      for d in destinations)
        plan = plans.encode_tmsg(checkback, dests)
        return self._begin_whole(p.Tmsg(corr=0, timeout_ms=timeout_ms, plan=plan))

    def tmsg_submit(self, gid: str) -> p.State:
        """Submits the prepared message gid once its local transaction
        committed: returns once the decision to deliver is durable
        (deliveries run in the background). Raises Aborted when it was
        already dropped (rolled back, or the check-back found no outbox
        row). Safe to call again."""
        return self.commit(gid)

    def tmsg_abort(self, gid: str) -> p.State:
        """Drops the prepared message gid (its local transaction rolled
        back): nothing is delivered. InvalidState when already submitted."""
        return self.rollback(gid)

    def commit(self, gid: str) -> p.State:
        """Decides commit; returns the state (committing or committed).
        Raises Aborted (with ``.state``) when the transaction is or was
        decided abort instead; Busy while a try runs."""
        _check_name("gid", gid)
        state = p.State(self._call(p.Commit(corr=0, gid=gid), p.StateReply).state)
        if state in (p.State.ABORTING, p.State.ABORTED):
            raise Aborted(text=f"gid {gid} is {state.name.lower()}", state=state)
        return state

    def rollback(self, gid: str) -> p.State:
        """Decides abort; returns the state (aborting, aborted, or stuck
        after an abort decision). Raises InvalidState when it was decided
        commit."""
        _check_name("gid", gid)
        state = p.State(self._call(p.Rollback(corr=0, gid=gid), p.StateReply).state)
        if state in (p.State.COMMITTING, p.State.COMMITTED):
            raise InvalidState(text=f"gid {gid} is {state.name.lower()}", state=state)
        return state

    def status(self, gid: str) -> p.State:
        """The transaction's current state."""
        _check_name("gid", gid)
        return p.State(self._call(p.Status(corr=0, gid=gid), p.StateReply).state)

    def resume(self, gid: str) -> p.State:
        """Operator action: puts a stuck transaction back to its decision."""
        _check_name("gid", gid)
        return p.State(self._call(p.Resume(corr=0, gid=gid), p.StateReply).state)

    def wait_final(self, gid: str, timeout_ms: int = 30000,
                   interval_ms: int = 50) -> p.State:
        """Polls status until committed or aborted (or stuck); raises Timeout."""
        deadline = time.monotonic() + timeout_ms / 1000.0
        while True:
            state = self.status(gid)
            if state in (p.State.COMMITTED, p.State.ABORTED, p.State.STUCK):
                return state
            if time.monotonic() >= deadline:
                raise Timeout(text=f"gid {gid} still {state.name.lower()}", state=state)
            time.sleep(interval_ms / 1000.0)

