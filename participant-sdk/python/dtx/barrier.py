"""The idempotency barrier in the participant's own PostgreSQL (psycopg 3).

The same table and the same semantics as libdtx's dtx/barrier.h, so a C
and a Python instance of one resource may share a database.  A barrier row
(gid, branch, op) is inserted in the SAME local transaction as the
handler's business change:

    op       barrier row already there      what happens
    -------  -----------------------------  -----------------------------
    try      no                             run fn, commit both
    try      yes, from an earlier try       duplicate: skip fn, ok
    try      yes, written by a cancel       hanging try: skip, Refused
    confirm  no / yes                       run fn / duplicate: skip, ok
    cancel   try row absent                 null compensation: record, skip
                                            fn, ok; a later try refuses
    cancel   no / yes                       run fn / duplicate: skip, ok

Rows each op inserts (``ON CONFLICT DO NOTHING``), in one transaction:
try inserts (try, origin try); confirm (confirm, confirm); cancel first
(try, origin cancel) — inserted means no try came: a null compensation,
which also inserts (cancel, cancel) and commits — then (cancel, cancel),
whose conflict means a duplicate.  2PC ops use the rows of their TCC
counterpart (prepare as try, commit as confirm, abort as cancel; the
table's CHECK allows only those three); a prepare COMMITs locally here.
Saga ops do the same: an action as try, a compensation as cancel (a
compensation before its action is a null compensation; an action after
its compensation is refused); a transactional message's delivery as try
(a duplicate is skipped).  :func:`query_prepared` is a message's
check-back on the same table (docs/protocol.md §17): the outbox row is
(gid, 0, 'try') of origin 'try', the rollback marker the same key of
origin 'cancel'.

Two deliveries of the same (gid, branch) serialise on the primary key.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional, Tuple

import psycopg
from psycopg import pq

from . import protocol as p
from .errors import DatabaseError, InvalidArgument, Refused
from .participant import Call, Handler

log = logging.getLogger("dtx.barrier")

#: sql/participant/001_barrier.sql, verbatim (a test compares them).
BARRIER_SQL = """\
-- The participant's idempotency barrier (participant-sdk/include/dtx/barrier.h).
-- origin is the op whose handler wrote the row: a 'try' row with origin
-- 'cancel' marks a null compensation, which a later (hanging) try refuses.
CREATE TABLE IF NOT EXISTS dtx_barrier (
    gid        text        NOT NULL,
    branch     integer     NOT NULL,
    op         text        NOT NULL CHECK (op IN ('try', 'confirm', 'cancel')),
    origin     text        NOT NULL CHECK (origin IN ('try', 'confirm', 'cancel')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (gid, branch, op)
);
"""

_MIGRATE_LOCK = 0x647478  # "dtx": the lock libdtx's migrations take
_COMPONENT, _VERSION, _NAME = "participant", 1, "001_barrier"

_INSERT = ("INSERT INTO dtx_barrier (gid, branch, op, origin) VALUES (%s, %s, %s, %s) "
           "ON CONFLICT DO NOTHING")
_ORIGIN = "SELECT origin FROM dtx_barrier WHERE gid = %s AND branch = %s AND op = 'try'"

#: The business part of a handler: runs its SQL on the connection, inside
#: the barrier's transaction (it must not commit or roll back itself).
#: Return normally when done; raise Refused to vote no (try/prepare: all is
#: rolled back, the barrier row too); any other exception rolls back and
#: fails the phase (it is delivered again).
BarrierFn = Callable[["psycopg.Connection[Any]", Call], None]

_ROW_OP = {p.Op.TRY: "try", p.Op.PREPARE: "try", p.Op.CONFIRM: "confirm",
           p.Op.COMMIT: "confirm", p.Op.CANCEL: "cancel", p.Op.ABORT: "cancel",
           p.Op.ACTION: "try", p.Op.COMPENSATE: "cancel", p.Op.DELIVER: "try"}


def migrate(conn: psycopg.Connection) -> None:  # type: ignore[type-arg]
    """Creates the barrier table if missing and records it in
    dtx_schema_version as libdtx does (component 'participant', version 1),
    under libdtx's migration lock. Idempotent; shares a database with C
    participants. Raises DatabaseError."""
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        raise InvalidArgument(text="migrate needs a connection outside any transaction")
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS dtx_schema_version ("
                         " component text NOT NULL, version integer NOT NULL,"
                         " name text NOT NULL,"
                         " applied_at timestamptz NOT NULL DEFAULT now(),"
                         " PRIMARY KEY (component, version))")
            done = conn.execute("SELECT 1 FROM dtx_schema_version WHERE component = %s "
                                "AND version = %s", (_COMPONENT, _VERSION)).fetchone()
            if done is None:
                conn.execute(BARRIER_SQL)
                conn.execute("INSERT INTO dtx_schema_version (component, version, name) "
                             "VALUES (%s, %s, %s)", (_COMPONENT, _VERSION, _NAME))
                log.info("migration applied component=%s version=%d name=%s",
                         _COMPONENT, _VERSION, _NAME)
    except psycopg.Error as e:
        raise DatabaseError(text=f"barrier migration: {_first_line(e)}") from None


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


class _Rollback(Exception):
    """Ends the barrier's transaction with ROLLBACK and a result."""

    def __init__(self, action: str) -> None:
        self.action = action


def call(conn: psycopg.Connection, call: Call, fn: BarrierFn) -> str:  # type: ignore[type-arg]
    """Runs fn for call under the barrier on conn (open, outside any
    transaction). Returns what happened: "run", "duplicate" or
    "null_compensation". Raises Refused for a try after its cancel (and
    whatever fn raises: Refused to vote no), DatabaseError when the
    database fails (nothing changed), InvalidArgument for a bad call or a
    connection inside a transaction."""
    row_op = _ROW_OP.get(call.op)
    if row_op is None or not p.name_valid(call.gid) or not 0 <= call.branch <= 0x7FFFFFFF:
        raise InvalidArgument(text="barrier: bad gid, branch or op")
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        raise InvalidArgument(text="barrier needs a connection outside any transaction")
    is_2pc = call.op in (p.Op.PREPARE, p.Op.COMMIT, p.Op.ABORT)
    is_saga = call.op in (p.Op.ACTION, p.Op.COMPENSATE)
    fields = (call.gid, call.branch)
    action = "run"

    def insert(op: str, origin: str) -> bool:
        return conn.execute(_INSERT, (*fields, op, origin)).rowcount == 1

    try:
        with conn.transaction():
            if row_op == "try":
                if not insert("try", "try"):
                    row = conn.execute(_ORIGIN, fields).fetchone()
                    origin = row[0] if row else None
                    if origin == "try":
                        raise _Rollback("duplicate")
                    if origin == "cancel":
                        raise _Rollback("hanging")
                    raise DatabaseError(text=f"barrier table in an unexpected state "
                                        f"(try row origin {origin!r})")
            elif row_op == "confirm":
                if not insert("confirm", "confirm"):
                    raise _Rollback("duplicate")
            else:
                null_compensation = insert("try", "cancel")
                fresh = insert("cancel", "cancel")
                if null_compensation:
                    action = "null_compensation"
                elif not fresh:
                    raise _Rollback("duplicate")
            if action == "run":
                fn(conn, call)
                status = conn.info.transaction_status
                if status == pq.TransactionStatus.INERROR:
                    raise DatabaseError(text="handler returned after a failed statement; "
                                        "rolled back")
                if status != pq.TransactionStatus.INTRANS:
                    raise InvalidArgument(text="handler ended the barrier transaction itself")
    except _Rollback as r:
        if r.action == "hanging":
            first, undo = ("prepare", "abort") if is_2pc else \
                ("action", "compensation") if is_saga else ("try", "cancel")
            log.info("%s after its %s refused gid=%s branch=%d attempt=%d", first, undo,
                     call.gid, call.branch, call.attempt)
            raise Refused(text=f"{first} after its {undo}") from None
        log.debug("duplicate delivery skipped gid=%s branch=%d op=%s attempt=%d",
                  call.gid, call.branch, call.op.name.lower(), call.attempt)
        return r.action
    except psycopg.Error as e:
        log.error("barrier database error gid=%s branch=%d op=%s error=%r",
                  call.gid, call.branch, call.op.name.lower(), _first_line(e))
        raise DatabaseError(text=_first_line(e)) from None
    if action == "null_compensation":
        log.info("%s gid=%s branch=%d",
                 "abort before its prepare: recorded, nothing to undo" if is_2pc
                 else "compensation before its action: recorded, nothing to undo" if is_saga
                 else "cancel before its try: recorded, nothing to undo",
                 call.gid, call.branch)
    return action


_MARKER = ("INSERT INTO dtx_barrier (gid, branch, op, origin) VALUES (%s, 0, 'try', 'cancel') "
           "ON CONFLICT DO NOTHING")
_OUTBOX = "SELECT origin FROM dtx_barrier WHERE gid = %s AND branch = 0 AND op = 'try'"


def query_prepared(conn: psycopg.Connection, call: Call) -> None:  # type: ignore[type-arg]
    """A transactional message's check-back (a QUERY_PREPARED handler's
    body), as libdtx's dtx_tmsg_pg_query_prepared: returns when call.gid's
    outbox row is there (its local transaction committed); raises Refused
    when it is not, after writing the rollback marker that keeps that
    transaction from ever committing its row; DatabaseError (unknown: asked
    again) when the database fails. conn must be outside a transaction
    (autocommit); it waits for a transaction that holds the row uncommitted."""
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        raise InvalidArgument(text="query_prepared needs a connection outside any transaction")
    try:
        with conn.transaction():
            conn.execute(_MARKER, (call.gid,))
        row = conn.execute(_OUTBOX, (call.gid,)).fetchone()
    except psycopg.Error as e:
        raise DatabaseError(text=_first_line(e)) from None
    if row is not None and row[0] == "try":
        return
    if row is not None and row[0] == "cancel":
        raise Refused(text=f"message {call.gid}: its local transaction did not commit")
    raise DatabaseError(text=f"message {call.gid}: no outbox row nor marker")


class Barrier:
    """Handlers guarded by the barrier on one connection.

    ``connection`` is a psycopg connection, or a callable returning one
    (so a lost connection can be made again: raise to fail the phase).
    ``wrap(fn)`` gives a participant handler that runs fn(conn, call)
    under the barrier.
    """

    def __init__(self, connection: "psycopg.Connection | Callable[[], psycopg.Connection]"  # type: ignore[type-arg]
                 ) -> None:
        self._connection = connection

    def connection(self) -> psycopg.Connection:  # type: ignore[type-arg]
        c = self._connection
        return c if isinstance(c, psycopg.Connection) else c()

    def migrate(self) -> None:
        """Creates the barrier table (see :func:`migrate`)."""
        migrate(self.connection())

    def run(self, call_: Call, fn: BarrierFn) -> str:
        """:func:`call` on this barrier's connection."""
        return call(self.connection(), call_, fn)

    def query_prepared(self, call_: Call) -> Optional[p.Outcome]:
        """:func:`query_prepared` on this barrier's connection: a ready
        on_query_prepared handler."""
        query_prepared(self.connection(), call_)
        return None

    def wrap(self, fn: BarrierFn) -> Handler:
        """A participant handler running fn under the barrier."""
        def handler(c: Call) -> Optional[p.Outcome]:
            self.run(c, fn)
            return None
        return handler


__all__: Tuple[str, ...] = ("Barrier", "BarrierFn", "BARRIER_SQL", "call", "migrate",
                            "query_prepared")
