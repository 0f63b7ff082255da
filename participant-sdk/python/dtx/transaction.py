"""The initiator's context manager: one global transaction, begun on entry,
committed on a normal exit and rolled back on an exception.

    with dtx.Transaction(client, mode="tcc", timeout_ms=30000) as tx:
        tx.try_("bank-a", "debit", b'{"account":"alice","amount":500}')

It only calls :class:`dtx.Client` (client.py), which does every request.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional, Sequence, Tuple, TypeVar, Union

from . import plans
from . import protocol as p
from .client import Client, ModeLike, Payload, TryManyResult, TryResult, parse_mode
from .errors import DtxError, InvalidArgument

log = logging.getLogger("dtx.client")  # the initiator's logger (README.md)

T = TypeVar("T")


class Transaction:
    """A global transaction as a context manager.

    ``__enter__`` sends BEGIN; the block runs branches with :meth:`try_`;
    leaving the block normally COMMITs (raising Aborted when the
    coordinator decided abort), leaving it with an exception ROLLs BACK and
    lets the exception go on. :meth:`commit` and :meth:`rollback` may also
    be called inside the block; the exit then does nothing more.

    ``traceparent`` (a W3C traceparent, see :meth:`Client.set_traceparent`)
    is what the BEGIN and the block's TRYs carry; None: whatever the client
    has set (usually nothing: the coordinator then starts a trace). The
    client's own setting is back at the block's exit. After ``__enter__``,
    :attr:`traceparent` is the one the coordinator recorded (None from a
    version 1 coordinator).
    """

    def __init__(self, client: Client, mode: ModeLike = "tcc", timeout_ms: int = 0,
                 traceparent: Optional[str] = None) -> None:
        if traceparent and not p.traceparent_valid(traceparent):
            raise InvalidArgument(text=f"traceparent {traceparent!r} is not a version-00 W3C "
                                  "traceparent (lower-case hex, ids not all zeros)")
        self.client = client
        self.mode = parse_mode(mode)
        self.timeout_ms = timeout_ms
        self.traceparent: Optional[str] = traceparent or None
        self._saved_trace: Optional[str] = None
        self._trace_swapped = False
        self.gid = ""
        self.deadline_ms = 0
        self.state: Optional[p.State] = None
        self._done = False

    def __enter__(self) -> "Transaction":
        if self.traceparent is not None:
            self._saved_trace = self.client.traceparent_set
            self.client.set_traceparent(self.traceparent)
            self._trace_swapped = True
        try:
            begun = self.client.begin(self.mode, self.timeout_ms)
        except BaseException:
            self._restore_trace()
            raise
        self.gid, self.deadline_ms = begun.gid, begun.deadline_ms
        self.traceparent = self.client.traceparent
        self.state = p.State.ACTIVE
        return self

    def _restore_trace(self) -> None:
        if self._trace_swapped:
            self._trace_swapped = False
            self.client.set_traceparent(self._saved_trace)

    def _tracked(self, call: Callable[[], T]) -> T:
        """call's result; self.state follows what it (or its error) says."""
        try:
            result = call()
        except DtxError as e:
            if e.state is not None:
                self.state = p.State(e.state)
            raise
        self.state = p.State(getattr(result, "state"))
        return result

    def try_(self, resource: str, action: str, payload: Payload = b"") -> TryResult:
        """Runs one branch (Client.try_ on this gid)."""
        return self._tracked(lambda: self.client.try_(self.gid, resource, action, payload))

    def try_many(self, branches: Sequence[Union[plans.Branch, Tuple[str, str],
                                                Tuple[str, str, Payload]]]) -> TryManyResult:
        """Runs several branches in one request (Client.try_many on this gid)."""
        return self._tracked(lambda: self.client.try_many(self.gid, branches))

    def commit(self) -> p.State:
        self._done = True
        try:
            self.state = self.client.commit(self.gid)
        except DtxError as e:
            if e.state is not None:
                self.state = p.State(e.state)
            raise
        return self.state

    def rollback(self) -> p.State:
        self._done = True
        self.state = self.client.rollback(self.gid)
        return self.state

    def __exit__(self, exc_type: Optional[type], exc: Optional[BaseException],
                 tb: Any) -> None:
        try:
            self._exit(exc_type)
        finally:
            self._restore_trace()

    def _exit(self, exc_type: Optional[type]) -> None:
        if self._done or not self.gid:
            return
        if exc_type is None:
            self.commit()
            return
        self._done = True
        try:
            self.state = self.client.rollback(self.gid)
        except DtxError as e:
            # the original exception matters more; the coordinator aborts
            # the transaction at its deadline anyway.
            log.warning("rollback after an exception failed gid=%s error=%r", self.gid, str(e))
