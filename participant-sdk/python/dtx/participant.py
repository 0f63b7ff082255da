"""The participant: serves resources with phase handlers (docs/protocol.md
§10, §11).

    p = dtx.Participant("bank-b-1")
    p.serve("bank-b", on_try=reserve, on_confirm=finalise, on_cancel=release)
    p.serve_saga("bank-b", on_action=debit, on_compensate=refund)   # Saga steps
    p.connect("tcp://127.0.0.1:7070")
    p.run()                       # until p.stop() (or a signal, see stop_on_signals)

A handler takes a :class:`Call` and returns None when done (for Try and
Prepare: a yes vote); it raises :class:`dtx.Refused` to vote no (a Saga
action: a definitive no), and any other exception means "could not run
now" (a Try or Prepare then counts as no, a Confirm, Cancel, Commit, Abort,
Saga action or compensation is delivered again later).  Handlers
run one at a time inside :meth:`Participant.poll` / :meth:`run`.

Delivery is at least once, a Cancel may come before its Try and a Try after
its Cancel: wrap handlers with :class:`dtx.Barrier` (module dtx.barrier)
to get all three right in the participant's PostgreSQL.

Per coordinator link (one DEALER each, §1), the registration state machine:

    connected (handshake done) ---------> round: REGISTER every resource
    REGISTER_OK (this round)  ----------> resource acknowledged; heartbeats
                                          start (every min(ours, theirs) ms)
    HEARTBEAT_OK / REGISTER_OK naming
      another coordinator  -------------> round (the coordinator restarted)
    ERROR 16 to a HEARTBEAT sent after
      the latest round  ----------------> round (it dropped this instance)
    no REGISTER_OK / HEARTBEAT_OK for
      3 intervals  ---------------------> round (and a new socket when ZeroMQ
                                          gave the connection up: a refused
                                          handshake, or a disconnection it
                                          does not retry)
    ERROR 3 to a REGISTER of this round,
      the link speaking version 2  -----> round in version 1 (a coordinator
                                          that speaks only version 1; no
                                          trace context then)
    ERROR other than 16 to a REGISTER --> logged once a round; stay
                                          unregistered until the 3-interval
                                          rule starts the next round

A link speaks protocol version 2 (docs/protocol.md §15), or version 1 with
``protocol_version=1`` or ``DTX_PROTO_VERSION=1``.  Registered in version
2, it gets its PHASEs in version 2 with the transaction's W3C traceparent,
which the handler reads as :attr:`Call.traceparent`.  Every frame a link sends
(REGISTER, HEARTBEAT, PHASE_REPLY) goes in the link's version.

BUNDLEs (§20): in version 2 a REGISTER carries tag 2 ("I accept BUNDLEs";
not with ``DTX_BUNDLE=0`` in the environment), so the coordinator may send
several PHASEs in one frame; they are handled one by one, in order, as
lone ones. The replies to the frames read from a link in one pass of
:meth:`Participant.poll` (at most 64 messages, a BUNDLE's entries counted
one each) are sent at the end of the pass, more than one as one BUNDLE,
while the coordinator's latest REGISTER_OK on that link carried tag 2
(otherwise each goes at once). Before a handler runs, the queued replies
leave if the previous handler took 2 ms or more or the oldest has waited
2 ms: no reply waits longer than that plus one handler's run.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Set

import zmq
from zmq.utils.monitor import recv_monitor_message

from . import keys as _keys
from . import protocol as p
from . import transport
from .errors import InvalidArgument, Refused

log = logging.getLogger("dtx.participant")

DEFAULT_HEARTBEAT_MS = 1000
HEARTBEAT_MIN_MS = 50
HEARTBEAT_MAX_MS = 60000
_SLICE_MS = 100  # stop() is noticed within this
_PASS_MAX = 64   # messages read from a link in one pass (a BUNDLE's entries each count)
_HOLD_S = 0.002  # a queued reply leaves before the next handler after this (§20.4)
_BUNDLE_HEAD = p.MAGIC + bytes((p.VERSION_2, p.BUNDLE_PHASES))  # a frame's first 4 bytes


@dataclass(frozen=True)
class Call:
    """One phase call as a handler sees it (the fields of PHASE, §4)."""

    gid: str           #: global transaction id
    branch: int        #: branch number within gid, 1-based
    attempt: int       #: delivery attempt, 1-based
    op: p.Op           #: TRY, CONFIRM, CANCEL (TCC), PREPARE, COMMIT, ABORT (2PC), ACTION, COMPENSATE (Saga)
    resource: str      #: the resource name
    action: str        #: the action the initiator named
    payload: bytes     #: the TRY's payload (on every op)
    deadline_ms: int   #: the transaction's deadline, epoch ms
    endpoint: str = ""  #: the coordinator link it came through
    #: the transaction's W3C traceparent (docs/protocol.md §15.4), the same
    #: on every phase of every branch; None when the PHASE carried none (a
    #: version 1 link, or a transaction begun before dtxd recorded traces)
    traceparent: Optional[str] = None

    @property
    def trace_id(self) -> Optional[str]:
        """The 32-hex-digit trace-id of :attr:`traceparent`, or None."""
        return p.trace_id(self.traceparent)


Handler = Callable[[Call], Optional[p.Outcome]]
ReadyCallback = Callable[["Participant"], None]

_TCC_OPS = (p.Op.TRY, p.Op.CONFIRM, p.Op.CANCEL)
_2PC_OPS = (p.Op.PREPARE, p.Op.COMMIT, p.Op.ABORT)


def _clamp_interval(ms: int) -> int:
    return max(HEARTBEAT_MIN_MS, min(HEARTBEAT_MAX_MS, ms))


class _Link:
    """One coordinator connection and its registration state."""

    def __init__(self, owner: "Participant", endpoint: str,
                 keys: Optional[_keys.CurveKeys]) -> None:
        self.owner = owner
        self.endpoint = endpoint
        self.keys = keys
        self.version = owner.protocol_version     # 2, or 1 (forced, or fallen back)
        self.socket: Optional[zmq.Socket] = None  # type: ignore[type-arg]
        self.monitor: Optional[zmq.Socket] = None  # type: ignore[type-arg]
        self.corr = 0
        self.coordinator: Optional[str] = None   # name of the latest registration
        self.interval_ms = owner.heartbeat_ms
        self.round_corr = 0                      # first corr of the latest round
        self.round_at = 0.0                      # when the latest round was sent
        self.register_corrs: Dict[int, str] = {}
        self.acked: Set[str] = set()
        self.last_ack = 0.0
        self.heartbeating = False
        self.next_heartbeat = 0.0
        self.handshake_ok = False
        self.handshake_refused = False
        self.given_up = False
        self.refusal_logged = False
        self.peer_bundles = False                # latest REGISTER_OK carried tag 2
        self.in_pass = False                     # replies are queued (poll's pass)
        self.queue: List[bytes] = []             # PHASE_REPLY frames to send
        self.queued_at = 0.0                     # when the oldest was queued
        self.handler_s = 0.0                     # how long the latest handler took
        self.open()

    # -- socket ------------------------------------------------------------

    def open(self) -> None:
        def attach(sock: zmq.Socket) -> None:  # type: ignore[type-arg]
            self.monitor = sock.get_monitor_socket(
                zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED |
                zmq.EVENT_CONNECT_RETRIED |
                zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL |
                zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)

        self.socket = transport.make_dealer(self.owner.context, self.endpoint, self.keys,
                                            immediate=True, before_connect=attach)
        self.handshake_ok = False
        self.handshake_refused = False
        self.given_up = False
        self.round_at = time.monotonic()

    def close(self) -> None:
        if self.socket is not None:
            try:
                self.socket.disable_monitor()
            except zmq.ZMQError:
                pass
            self.socket.close(0)
            self.socket = None
        if self.monitor is not None:
            self.monitor.close(0)
            self.monitor = None

    def reopen(self) -> None:
        log.info("new connection to coordinator endpoint=%s", self.endpoint)
        self.close()
        self.open()

    def send(self, msg: p.Message) -> int:
        """Sends msg with the next corr; returns the corr (0 when nothing
        could be sent: no connection)."""
        self.corr = (self.corr + 1) & 0xFFFFFFFFFFFFFFFF or 1
        assert self.socket is not None
        try:
            self.socket.send(p.encode(dataclasses.replace(msg, corr=self.corr,
                                                          version=self.version)),
                             zmq.NOBLOCK)
        except zmq.Again:
            return 0
        except zmq.ZMQError as e:
            log.warning("send failed endpoint=%s error=%r", self.endpoint, str(e))
            return 0
        return self.corr

    # -- registration --------------------------------------------------------

    def registered(self, now: float) -> bool:
        return (bool(self.owner.resources) and self.acked >= set(self.owner.resources)
                and now - self.last_ack < 3 * self.interval_ms / 1000.0)

    def register_round(self, now: float, why: str) -> None:
        log.debug("registering endpoint=%s reason=%s", self.endpoint, why)
        self.acked.clear()
        self.register_corrs = {}
        self.round_corr = self.corr + 1
        self.round_at = now
        self.refusal_logged = False
        for resource in self.owner.resources:
            corr = self.send(p.Register(corr=0, instance=self.owner.instance,
                                        resource=resource,
                                        bundle=self.owner.bundles and self.version >= 2))
            if corr:
                self.register_corrs[corr] = resource

    def tick(self, now: float) -> None:
        """Timers: heartbeats and the 3-interval re-registration."""
        if not self.owner.resources:
            return
        three = 3 * self.interval_ms / 1000.0
        # The handshake's event starts the first round; this rule is the
        # safety net (it counts from the socket's creation, see open()).
        if now - max(self.last_ack, self.round_at) >= three:
            if self.handshake_refused or self.given_up:
                # ZeroMQ does not reconnect after these: a new socket does.
                self.reopen()
            self.register_round(now, "no acknowledgement for 3 intervals")
        if self.heartbeating and now >= self.next_heartbeat:
            self.send(p.Heartbeat(corr=0, instance=self.owner.instance))
            self.next_heartbeat = now + self.interval_ms / 1000.0

    def on_monitor(self, now: float) -> None:
        assert self.monitor is not None
        while self.monitor.poll(0):
            event = recv_monitor_message(self.monitor)
            kind = event["event"]
            if kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.handshake_ok, self.handshake_refused = True, False
                self.register_round(now, "connected")
            elif kind == zmq.EVENT_DISCONNECTED:
                if self.handshake_ok:
                    log.info("coordinator connection lost endpoint=%s", self.endpoint)
                self.handshake_ok = False
                self.given_up = True      # unless ZeroMQ says it retries
            elif kind == zmq.EVENT_CONNECT_RETRIED:
                self.given_up = False
            elif kind & (zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                         | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL):
                if not self.handshake_refused:
                    log.warning("coordinator refused the handshake endpoint=%s "
                                "(is this key in its allow-list?)", self.endpoint)
                self.handshake_refused = True

    # -- messages ------------------------------------------------------------

    def on_frame(self, data: bytes, now: float) -> int:
        """Handles one frame; returns the messages it counted (a BUNDLE:
        its entries)."""
        if data[:4] == _BUNDLE_HEAD:
            try:
                entries = p.decode_bundle(data)
            except p.MalformedFrame as e:
                # §20.1: a malformed BUNDLE is dropped whole, nothing in it acted on
                log.warning("bad BUNDLE dropped endpoint=%s error=%r", self.endpoint, e.text)
                return 1
            self.owner.bundles_received += 1
            for entry in entries:
                self.on_frame(entry, now)
            return len(entries)
        try:
            msg = p.decode(data)
        except p.MalformedFrame as e:
            if e.code == p.ErrorCode.VERSION and data[3:4] != b"\xff" and self.socket:
                try:
                    self.socket.send(p.error_frame(e.corr, e.code, str(e)), zmq.NOBLOCK)
                except zmq.ZMQError:
                    pass
            log.warning("bad frame dropped endpoint=%s error=%r", self.endpoint, e.text)
            return 1
        if isinstance(msg, p.Phase):
            self.on_phase(msg)
        elif isinstance(msg, p.RegisterOk):
            self.on_register_ok(msg, now)
        elif isinstance(msg, p.HeartbeatOk):
            self.last_ack = now
            if self.coordinator is not None and msg.coordinator != self.coordinator:
                log.info("coordinator restarted, registering again endpoint=%s "
                         "coordinator=%s was=%s", self.endpoint, msg.coordinator,
                         self.coordinator)
                self.coordinator = None
                self.register_round(now, "coordinator name changed")
        elif isinstance(msg, p.Error):
            self.on_error(msg, now)
        else:
            log.warning("unexpected %s dropped endpoint=%s",
                        p.MessageType(msg.TYPE).name, self.endpoint)
        return 1

    def on_register_ok(self, msg: p.RegisterOk, now: float) -> None:
        # An earlier round's REGISTER_OK still registered the resource (one
        # connection keeps its order, so none comes after the ERROR 16 or
        # name change that started this round); only its name is stale.
        self.last_ack = now
        self.acked.add(msg.resource)
        self.peer_bundles = msg.bundle and msg.version >= 2
        theirs = msg.heartbeat_ms or DEFAULT_HEARTBEAT_MS
        self.interval_ms = _clamp_interval(min(self.owner.heartbeat_ms, theirs))
        if not self.heartbeating:
            self.heartbeating = True
            self.next_heartbeat = now + self.interval_ms / 1000.0
        if msg.corr < self.round_corr:
            return
        if self.coordinator is None:
            self.coordinator = msg.coordinator
            log.info("registered endpoint=%s coordinator=%s resource=%s",
                     self.endpoint, msg.coordinator, msg.resource)
        elif msg.coordinator != self.coordinator:
            log.info("coordinator restarted, registering again endpoint=%s coordinator=%s "
                     "was=%s", self.endpoint, msg.coordinator, self.coordinator)
            self.coordinator = msg.coordinator
            self.register_round(now, "coordinator name changed")

    def on_error(self, msg: p.Error, now: float) -> None:
        text = p.display_text(msg.text)
        if msg.code == p.ErrorCode.VERSION and self.version > p.VERSION and \
                msg.corr in self.register_corrs:
            # A coordinator that speaks only version 1 did not act on our
            # REGISTER (§15.5): register again in version 1 (no trace then).
            log.info("coordinator speaks protocol version 1 only: using it (no trace "
                     "context) endpoint=%s", self.endpoint)
            self.version = p.VERSION
            self.register_round(now, "protocol version 1")
            return
        if msg.corr in self.register_corrs:
            if not self.refusal_logged:
                log.warning("coordinator refused the registration endpoint=%s resource=%s "
                            "code=%d error=%r", self.endpoint, self.register_corrs[msg.corr],
                            msg.code, text)
                self.refusal_logged = True
            return
        if msg.code == p.ErrorCode.UNREGISTERED:
            if msg.corr >= self.round_corr:
                log.info("coordinator dropped this instance, registering again endpoint=%s",
                         self.endpoint)
                self.register_round(now, "ERROR 16")
            return
        log.warning("coordinator error endpoint=%s code=%d error=%r", self.endpoint,
                    msg.code, text)

    def on_phase(self, msg: p.Phase) -> None:
        call = Call(msg.gid, msg.branch, msg.attempt, p.Op(msg.op), msg.resource, msg.action,
                    msg.payload, msg.deadline_ms, self.endpoint, msg.traceparent)
        start = time.monotonic()
        if self.queue and (self.handler_s >= _HOLD_S or start - self.queued_at >= _HOLD_S):
            self.flush()  # a slow handler must not hold its predecessors' replies
        outcome = self.owner._dispatch(call)
        self.handler_s = time.monotonic() - start
        self.send_reply(msg, outcome)

    def send_reply(self, msg: p.Phase, outcome: p.Outcome) -> None:
        reply = p.PhaseReply(corr=msg.corr, gid=msg.gid, branch=msg.branch, op=msg.op,
                             attempt=msg.attempt, outcome=outcome, payload=b"",
                             version=self.version)
        frame = p.encode(reply)
        if self.in_pass and self.peer_bundles and self.owner.bundles and self.version >= 2:
            if not self.queue:
                self.queued_at = time.monotonic()
            self.queue.append(frame)
            if len(self.queue) == p.BUNDLE_MAX:
                self.flush()
            return
        self.send_frame(frame, f"gid={msg.gid} branch={msg.branch}")

    def send_frame(self, frame: bytes, what: str) -> None:
        assert self.socket is not None
        try:
            self.socket.send(frame, zmq.NOBLOCK)
        except zmq.ZMQError as e:
            # the coordinator re-sends confirm/cancel; a lost try vote is a no.
            log.warning("phase reply not sent endpoint=%s %s error=%r", self.endpoint, what,
                        str(e))

    def flush(self) -> None:
        """Sends the queued replies: one plain, more as one BUNDLE."""
        if not self.queue:
            return
        frames, self.queue = self.queue, []
        if len(frames) == 1:
            self.send_frame(frames[0], "(queued)")
        else:
            self.send_frame(p.encode_bundle(frames), f"(a BUNDLE of {len(frames)})")
            self.owner.bundles_sent += 1


class Participant:
    """A participant instance serving resources through one or more
    coordinators.

    ``instance`` names this process (unique among all instances, e.g.
    "bank-b-1"). ``key_file`` is a CURVE credentials file for the links
    made by later :meth:`connect` calls (None: ``DTX_CURVE_KEY_FILE``, else
    plain ZeroMQ). ``heartbeat_ms`` is our interval; a coordinator asking
    for a shorter one gets it (kept within 50 ms .. 60 s).
    ``protocol_version`` is 2 (traced PHASEs) or 1; None: 2, or 1 when
    ``DTX_PROTO_VERSION=1`` is in the environment.
    """

    def __init__(self, instance: str, *, key_file: Optional[str] = None,
                 heartbeat_ms: int = DEFAULT_HEARTBEAT_MS,
                 protocol_version: Optional[int] = None,
                 context: Optional[zmq.Context] = None) -> None:  # type: ignore[type-arg]
        if not p.name_valid(instance):
            raise InvalidArgument(text=f"instance {instance!r} is not a valid name")
        self.instance = instance
        self.protocol_version = transport.proto_version(protocol_version)
        #: BUNDLEs accepted and sent (§20); False with DTX_BUNDLE=0
        self.bundles = os.environ.get("DTX_BUNDLE") != "0"
        #: BUNDLEs of PHASEs received and of replies sent, over every link
        self.bundles_received = 0
        self.bundles_sent = 0
        self.heartbeat_ms = _clamp_interval(heartbeat_ms if heartbeat_ms > 0
                                            else DEFAULT_HEARTBEAT_MS)
        self.context = context or zmq.Context.instance()
        self.resources: List[str] = []
        self._handlers: Dict[str, Dict[p.Op, Handler]] = {}
        self._key_file = key_file
        self._keys: Optional[_keys.CurveKeys] = None
        self._keys_loaded = False
        self._links: List[_Link] = []
        self._stop = threading.Event()
        self._on_ready: Optional[ReadyCallback] = None
        self._ready_armed = False

    # -- set-up ----------------------------------------------------------------

    def set_curve(self, key_file: Optional[str]) -> None:
        """Links made by later connects use key_file (None: plain ZeroMQ,
        ignoring DTX_CURVE_KEY_FILE). Raises ConfigError; then nothing changes."""
        self._keys = _keys.load(key_file) if key_file else None
        self._keys_loaded = True

    def _add_handlers(self, resource: str, handlers: Dict[p.Op, Handler]) -> None:
        if not p.name_valid(resource):
            raise InvalidArgument(text=f"resource {resource!r} is not a valid name")
        for op, fn in handlers.items():
            if not callable(fn):
                raise InvalidArgument(text=f"{op.name.lower()} handler of {resource} missing")
        served = self._handlers.setdefault(resource, {})
        if any(op in served for op in handlers):
            raise InvalidArgument(text=f"{resource} already served in this mode")
        served.update(handlers)
        if resource not in self.resources:
            self.resources.append(resource)
            now = time.monotonic()
            for link in self._links:
                link.register_round(now, "new resource")

    def serve(self, resource: str, *, on_try: Handler, on_confirm: Handler,
              on_cancel: Handler) -> None:
        """Serves resource with TCC handlers (may be combined with serve_2pc)."""
        self._add_handlers(resource, {p.Op.TRY: on_try, p.Op.CONFIRM: on_confirm,
                                      p.Op.CANCEL: on_cancel})

    def serve_2pc(self, resource: str, *, on_prepare: Handler, on_commit: Handler,
                  on_abort: Handler) -> None:
        """Serves resource with 2PC handlers: on_prepare does the work and
        votes, on_commit / on_abort are retried until they succeed (on_abort
        also for a prepare never seen)."""
        self._add_handlers(resource, {p.Op.PREPARE: on_prepare, p.Op.COMMIT: on_commit,
                                      p.Op.ABORT: on_abort})

    def serve_saga(self, resource: str, *, on_action: Handler,
                   on_compensate: Handler) -> None:
        """Serves resource with Saga handlers (beside any TCC or 2PC ones;
        docs/sagas.md): on_action runs the step's action (call.action is the
        plan's action name) and returns None when done or raises Refused for
        a definitive no (the Saga is then compensated); on_compensate
        (call.action is the compensation's name) undoes it and is retried
        until it returns. Both are delivered at least once and a
        compensation may come before, or instead of, its action: run them
        through dtx.Barrier, which applies a duplicate once, makes a
        compensation before its action a recorded no-op and refuses an
        action that comes after its compensation."""
        self._add_handlers(resource, {p.Op.ACTION: on_action,
                                      p.Op.COMPENSATE: on_compensate})

    def serve_tmsg(self, resource: str, *, on_deliver: Optional[Handler] = None,
                   on_query_prepared: Optional[Handler] = None) -> None:
        """Serves resource with transactional message handlers (docs/sagas.md,
        "Transactional messages"; at least one): on_deliver applies a message
        to this destination (call.action and call.payload are the
        destination's) and returns when done; any exception means "not now"
        (delivered again). It is delivered at least once: run it through
        dtx.Barrier. on_query_prepared is the check-back of a service that
        sends messages: return when call.gid's local transaction committed,
        raise Refused when it did not and never will, anything else when it
        cannot tell yet (asked again); Barrier.query_prepared is such a
        handler for libdtx's outbox rows."""
        handlers: Dict[p.Op, Handler] = {}
        if on_deliver is not None:
            handlers[p.Op.DELIVER] = on_deliver
        if on_query_prepared is not None:
            handlers[p.Op.QUERY_PREPARED] = on_query_prepared
        if not handlers:
            raise InvalidArgument(text=f"serve_tmsg of {resource}: no handler")
        self._add_handlers(resource, handlers)

    def connect(self, endpoint: str) -> None:
        """Adds a coordinator (once per coordinator); registration follows
        as soon as the connection is up. Raises InvalidArgument for a
        malformed endpoint, ConfigError for an unusable key file."""
        if not self._keys_loaded:
            self._keys = _keys.resolve(self._key_file)
            self._keys_loaded = True
        try:
            self._links.append(_Link(self, endpoint, self._keys))
        except zmq.ZMQError as e:
            raise InvalidArgument(text=f"endpoint {endpoint!r}: {e}") from None

    def set_ready(self, callback: Optional[ReadyCallback]) -> None:
        """callback(participant) runs once, from poll, when every coordinator
        acknowledges the registration. None clears it."""
        self._on_ready = callback
        self._ready_armed = callback is not None

    def registered(self) -> int:
        """How many coordinators currently acknowledge every resource."""
        now = time.monotonic()
        return sum(1 for link in self._links if link.registered(now))

    @property
    def coordinators(self) -> List[Optional[str]]:
        """The coordinator name each link registered with (None: not yet)."""
        return [link.coordinator for link in self._links]

    # -- running -------------------------------------------------------------

    def poll(self, timeout_ms: int = -1) -> None:
        """Handles messages and timers for up to timeout_ms (-1: until stop()).
        Returns early after stop()."""
        end = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000.0
        while not self._stop.is_set():
            now = time.monotonic()
            for link in self._links:
                link.tick(now)
            self._check_ready()
            poller = zmq.Poller()
            for link in self._links:
                assert link.socket is not None and link.monitor is not None
                poller.register(link.socket, zmq.POLLIN)
                poller.register(link.monitor, zmq.POLLIN)
            wait = _SLICE_MS
            if self._links:
                nearest = min(min(l.next_heartbeat if l.heartbeating else now + 1,
                                  max(l.last_ack, l.round_at) + 3 * l.interval_ms / 1000.0)
                              for l in self._links)
                wait = max(1, min(wait, int((nearest - now) * 1000) + 1))
            if end is not None:
                left = end - now
                if left <= 0:
                    return
                wait = max(1, min(wait, int(left * 1000) + 1))
            ready = dict(poller.poll(wait)) if self._links else {}
            if not self._links:
                time.sleep(wait / 1000.0)
            now = time.monotonic()
            for link in list(self._links):
                if link.monitor is not None and link.monitor in ready:
                    link.on_monitor(now)
                if link.socket is not None and link.socket in ready:
                    link.in_pass = True
                    try:
                        count = 0
                        while count < _PASS_MAX and link.socket is not None:
                            try:
                                data = transport.recv_frame(link.socket)
                            except zmq.Again:
                                break
                            if data is None:
                                log.warning("multi-frame message dropped endpoint=%s",
                                            link.endpoint)
                                count += 1
                                continue
                            count += link.on_frame(data, time.monotonic())
                    finally:
                        link.in_pass = False
                        if link.socket is not None:
                            link.flush()
        self._stop.clear()

    def run(self) -> None:
        """Serves until stop()."""
        self.poll(-1)

    def stop(self) -> None:
        """Makes run/poll return soon (within about 100 ms). Safe from
        another thread and from a signal handler."""
        self._stop.set()

    def stop_on_signals(self) -> None:
        """SIGTERM and SIGINT call stop() (main thread only)."""
        def handler(signum: int, frame: Any) -> None:
            self.stop()
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def close(self) -> None:
        """Closes every link (idempotent)."""
        for link in self._links:
            link.close()
        self._links = []

    def __enter__(self) -> "Participant":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- internals -----------------------------------------------------------

    def _check_ready(self) -> None:
        if self._ready_armed and self._on_ready is not None and self._links and \
                self.registered() == len(self._links):
            self._ready_armed = False
            self._on_ready(self)

    def _dispatch(self, call: Call) -> p.Outcome:
        fn = self._handlers.get(call.resource, {}).get(call.op)
        if fn is None:
            log.warning("phase for no handler answered failed gid=%s branch=%d op=%s "
                        "resource=%s", call.gid, call.branch, call.op.name.lower(),
                        call.resource)
            return p.Outcome.FAILED
        decides = call.op in (p.Op.TRY, p.Op.PREPARE, p.Op.ACTION, p.Op.QUERY_PREPARED)
        try:
            result = fn(call)
        except Refused:
            return p.Outcome.REFUSED if decides else p.Outcome.FAILED
        except Exception as e:  # a handler's failure is an outcome, not a crash
            log.warning("handler failed gid=%s branch=%d op=%s attempt=%d error=%r",
                        call.gid, call.branch, call.op.name.lower(), call.attempt, str(e),
                        exc_info=log.isEnabledFor(logging.DEBUG))
            return p.Outcome.FAILED
        if result is None:
            return p.Outcome.OK
        outcome = p.Outcome(result)
        if outcome == p.Outcome.REFUSED and not decides:
            return p.Outcome.FAILED
        return outcome
