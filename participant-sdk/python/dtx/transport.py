"""DEALER sockets towards a coordinator (docs/protocol.md §1).

Every socket gets the routing id layout libdtx uses, so that without CURVE
the coordinator sees all sockets of this process as one principal (its
*lineage*): a transaction begun by one socket can be finished by a socket
made later, after a reconnection::

    0xD7, 0x01, 16 random bytes drawn once per process, u32 counter (BE)

A forked child draws a lineage of its own.

Protocol version: clients and participants speak version 2
(docs/protocol.md §15) unless told otherwise (:func:`proto_version`), as
libdtx does.
"""
from __future__ import annotations

import os
import struct
import threading
from typing import Callable, Optional

import zmq

from .errors import InvalidArgument
from .keys import CurveKeys
from .protocol import MSG_MAX, VERSION, VERSION_2, VERSIONS

_lock = threading.Lock()
_lineage_pid = -1
_lineage = b""
_counter = 0


def proto_version(option: Optional[int]) -> int:
    """The protocol version to speak: option when given (1 or 2), else 1
    when ``DTX_PROTO_VERSION=1`` is in the environment, else 2."""
    if option is not None:
        if option not in VERSIONS:
            raise InvalidArgument(text=f"protocol_version {option!r}: use 1 or 2")
        return option
    return VERSION if os.environ.get("DTX_PROTO_VERSION") == "1" else VERSION_2


def next_routing_id() -> bytes:
    """A fresh 22-byte routing id of this process's lineage."""
    global _lineage_pid, _lineage, _counter
    with _lock:
        if _lineage_pid != os.getpid():
            _lineage_pid = os.getpid()
            _lineage = os.urandom(16)
            _counter = 0
        _counter = (_counter + 1) & 0xFFFFFFFF
        return b"\xd7\x01" + _lineage + struct.pack(">I", _counter)


def lineage() -> bytes:
    """This process's 16-byte lineage."""
    next_routing_id()
    return _lineage


def make_dealer(context: zmq.Context,  # type: ignore[type-arg]
                endpoint: str, keys: Optional[CurveKeys],
                immediate: bool,
                before_connect: Optional[Callable[[zmq.Socket], None]] = None  # type: ignore[type-arg]
                ) -> zmq.Socket:  # type: ignore[type-arg]
    """A DEALER connected (in the background) to endpoint. With immediate,
    nothing is queued for a connection that is not up: a send then fails
    at once (zmq.Again) instead of waiting for the coordinator.
    before_connect(socket) runs just before connect (to attach a monitor
    that must not miss the first handshake)."""
    sock: zmq.Socket = context.socket(zmq.DEALER)  # type: ignore[type-arg]
    try:
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.ROUTING_ID, next_routing_id())
        sock.setsockopt(zmq.MAXMSGSIZE, MSG_MAX)
        if immediate:
            sock.setsockopt(zmq.IMMEDIATE, 1)
        if keys is not None:
            keys.apply(sock)
        if before_connect is not None:
            before_connect(sock)
        sock.connect(endpoint)
    except zmq.ZMQError:
        sock.close(0)
        raise
    return sock


def recv_frame(sock: zmq.Socket) -> Optional[bytes]:  # type: ignore[type-arg]
    """One dtx frame, or None for a multi-frame message (malformed, §1:
    every frame of it is read and dropped). Never blocks on the first part
    (call after poll)."""
    parts = sock.recv_multipart(zmq.NOBLOCK)
    if len(parts) != 1:
        return None
    return bytes(parts[0])
