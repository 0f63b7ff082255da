"""Errors of the dtx SDK: one exception class, carrying the protocol's code.

Every failure the SDK reports is a :class:`DtxError` whose ``code`` is the
positive wire code of docs/protocol.md §6.1 (the C library returns the same
number negated).  The common ones have a subclass of their own so that a
caller can ``except dtx.Aborted:``; a code this SDK does not know (a newer
coordinator may send one) is a plain ``DtxError`` with that code.
"""
from __future__ import annotations

import enum
from typing import Any, Dict, Optional, Type


class ErrorCode(enum.IntEnum):
    """The error codes of docs/protocol.md §6.1 (wire value, positive)."""

    INVAL = 1
    PROTO = 2
    VERSION = 3
    NOMEM = 4
    TOOBIG = 5
    NOTFOUND = 6
    STATE = 7
    TIMEOUT = 8
    NOPARTICIPANT = 9
    DB = 10
    BUSY = 11
    IO = 12
    REFUSED = 13
    CONFIG = 14
    EXPIRED = 15
    UNREGISTERED = 16
    INTERNAL = 17
    UNSUPPORTED = 18
    ABORTED = 19
    UNKNOWN = 20
    ACCES = 21
    LIMIT = 22
    NOT_SENT = 23  # local only (never on the wire): the request never left


_DESCRIPTIONS: Dict[int, str] = {
    1: "invalid argument",
    2: "malformed protocol message",
    3: "protocol version not supported",
    4: "out of memory",
    5: "message or payload too big",
    6: "unknown global transaction",
    7: "operation not allowed in the current state",
    8: "timed out",
    9: "no live participant serves the resource",
    10: "database error",
    11: "a branch is still trying, retry later",
    12: "transport error",
    13: "refused by the participant",
    14: "bad configuration",
    15: "transaction deadline passed",
    16: "instance not registered with this coordinator",
    17: "internal error, please report",
    18: "not supported",
    19: "transaction aborted",
    20: "outcome unknown, ask the transaction's status",
    21: "not allowed for this peer",
    22: "over a configured limit, retry later",
    23: "request not sent (no connection), safe to retry",
}


def strerror(code: int) -> str:
    """The text libdtx's dtx_strerror() gives for a (positive) code."""
    return _DESCRIPTIONS.get(code, "unknown error")


class DtxError(Exception):
    """A dtx failure.

    ``code`` is the protocol's error code (positive, §6.1); ``text`` is the
    coordinator's explanation when an ERROR frame carried one, else "".
    ``state`` is the global state when the failure came with one (a COMMIT
    answered ``aborting``, say), else None.
    """

    default_code: int = 0

    def __init__(self, code: Optional[int] = None, text: str = "",
                 state: Optional[int] = None) -> None:
        self.code: int = int(code if code is not None else self.default_code)
        self.text: str = text
        self.state: Optional[int] = state
        message = strerror(self.code)
        if text:
            message = f"{message}: {text}"
        super().__init__(message)

    @property
    def error_code(self) -> Optional[ErrorCode]:
        """The code as an ErrorCode, or None for a code this SDK does not know."""
        try:
            return ErrorCode(self.code)
        except ValueError:
            return None


class InvalidArgument(DtxError):
    """A value was refused before anything was sent (code 1)."""
    default_code = ErrorCode.INVAL


class ProtocolError(DtxError):
    """A malformed frame, or a reply of the wrong type (code 2)."""
    default_code = ErrorCode.PROTO


class NotFound(DtxError):
    """No transaction has that gid (code 6)."""
    default_code = ErrorCode.NOTFOUND


class InvalidState(DtxError):
    """Not allowed in the transaction's current state (code 7)."""
    default_code = ErrorCode.STATE


class Timeout(DtxError):
    """No reply in time (code 8). The request may still have been carried
    out: ask :meth:`dtx.Client.status`."""
    default_code = ErrorCode.TIMEOUT


class NotSent(Timeout):
    """The request never left (code 23, libdtx's DTX_ENOTSENT): no
    connection to the coordinator within the timeout. Nothing was carried
    out, so the same call may be made again. A Timeout, so that code
    catching every timeout still does; never sent by a peer (an ERROR 23
    on the wire is not mapped to it)."""
    default_code = ErrorCode.NOT_SENT


class NoParticipant(DtxError):
    """No live instance served the resource; the transaction was decided
    abort (code 9)."""
    default_code = ErrorCode.NOPARTICIPANT


class DatabaseError(DtxError):
    """A database failed (the coordinator's, or the barrier's) (code 10)."""
    default_code = ErrorCode.DB


class Busy(DtxError):
    """COMMIT while a try is still running (code 11)."""
    default_code = ErrorCode.BUSY


class TransportError(DtxError):
    """Socket or transport failure (code 12)."""
    default_code = ErrorCode.IO


class Refused(DtxError):
    """A participant voted no (code 13).

    Raised by :meth:`dtx.Client.try_` when the TRY's outcome was not ok (the
    coordinator has then already decided abort), and raised by a
    participant's handler to vote no.
    """
    default_code = ErrorCode.REFUSED
    #: the TryResult when a TRY_OK carried the no vote, else None
    result: Optional[Any] = None


class ConfigError(DtxError):
    """Unusable configuration, e.g. a CURVE key file (code 14)."""
    default_code = ErrorCode.CONFIG


class Expired(DtxError):
    """TRY after the transaction's deadline (code 15)."""
    default_code = ErrorCode.EXPIRED


class Unsupported(DtxError):
    """The coordinator does not know the request (code 18): it speaks
    protocol version 1 only, or is older than the request (SAGA, TMSG,
    TRY_MANY). Nothing was done."""
    default_code = ErrorCode.UNSUPPORTED


class Aborted(DtxError):
    """The transaction ended aborted: a COMMIT was answered ``aborting`` or
    ``aborted``, or a :meth:`dtx.Client.tcc_run` that commits had a branch
    that did not vote yes (code 19)."""
    default_code = ErrorCode.ABORTED
    #: the TccRunResult when a tcc_run's answer said so, else None
    result: Optional[Any] = None


class OutcomeUnknown(DtxError):
    """The request may or may not have taken effect: ask STATUS, never
    retry a TRY because of it (code 20)."""
    default_code = ErrorCode.UNKNOWN


class AccessDenied(DtxError):
    """This peer may not do that (code 21)."""
    default_code = ErrorCode.ACCES


class LimitExceeded(DtxError):
    """Over a limit of the coordinator; nothing was done (code 22)."""
    default_code = ErrorCode.LIMIT


_BY_CODE: Dict[int, Type[DtxError]] = {
    int(cls.default_code): cls
    for cls in (InvalidArgument, ProtocolError, NotFound, InvalidState, Timeout,
                NoParticipant, DatabaseError, Busy, TransportError, Refused,
                ConfigError, Expired, Unsupported, Aborted, OutcomeUnknown, AccessDenied,
                LimitExceeded)
}


def error_from_code(code: int, text: str = "", state: Optional[int] = None) -> DtxError:
    """The exception for a code: its subclass when it has one, else DtxError."""
    cls = _BY_CODE.get(code, DtxError)
    return cls(code, text, state)
