"""dtx — a pure-Python SDK for the dtx distributed transaction coordinator.

Initiator (:class:`Client`, :class:`Transaction`) and participant
(:class:`Participant`, :class:`Barrier`) over ZeroMQ (pyzmq), speaking
versions 1 and 2 of the wire protocol (docs/protocol.md): TCC and 2PC,
Sagas, transactional messages and several Tries in one request. See README.md.
"""
from .barrier import Barrier, BarrierFn
from .client import Begun, Client, TccRunResult, TryManyResult, TryResult
from .transaction import Transaction
from .plans import Branch, BranchOutcome, Destination, Step
from .errors import (Aborted, AccessDenied, Busy, ConfigError, DatabaseError, DtxError,
                     ErrorCode, Expired, InvalidArgument, InvalidState, LimitExceeded,
                     NoParticipant, NotFound, NotSent, OutcomeUnknown, ProtocolError, Refused,
                     Timeout,
                     TransportError, Unsupported, strerror)
from .participant import Call, Handler, Participant
from .protocol import Mode, Op, Outcome, State

__version__ = "0.1.0"

__all__ = [
    "Aborted", "AccessDenied", "Barrier", "BarrierFn", "Begun", "Busy", "Call", "Client",
    "ConfigError", "DatabaseError", "DtxError", "ErrorCode", "Expired", "Handler",
    "InvalidArgument", "InvalidState", "LimitExceeded", "Mode", "NoParticipant", "NotFound", "NotSent",
    "Op", "Outcome", "OutcomeUnknown", "Participant", "ProtocolError", "Refused", "State",
    "TccRunResult", "Timeout", "Transaction", "TransportError", "TryManyResult", "TryResult", "Unsupported",
    "strerror", "Branch", "BranchOutcome", "Destination", "Step",
]
