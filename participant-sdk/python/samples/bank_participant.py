#!/usr/bin/python3
"""bank_participant.py — one bank as a TCC resource over its own PostgreSQL,
the Python twin of samples/bank/participant.c (same table, same actions,
same payload), so a C bank and a Python bank take part in one transfer.

    accounts(id, balance, frozen, incoming)     amounts in cents

    action  try                            confirm                 cancel
    ------  -----------------------------  ----------------------  ------------------------
    debit   balance -= a, frozen += a      frozen -= a             balance += a, frozen -= a
            (refused when balance < a)
    credit  incoming += a                  balance += a,           incoming -= a
                                           incoming -= a

The payload is {"account":"alice","amount":1250} (integer cents, > 0).
Every handler runs under dtx.Barrier: a duplicate confirm or cancel changes
nothing, a cancel without its try changes nothing, and a try that arrives
after its cancel is refused. A try for an unknown account or with a
malformed payload is refused (vote no). TCC only (the C sample also serves
2PC through dtx/pgres.h, which this SDK does not have).

    bank_participant.py --resource bank-b --db "dbname=bank_b" \\
        --coordinator tcp://127.0.0.1:7070 [--instance NAME] \\
        [--seed alice=10000,bob=5000] [--ready-file FILE] [--heartbeat-ms N] \\
        [--lock-timeout-ms N] [--log-level debug|info|warn|error]

CURVE keys come from DTX_CURVE_KEY_FILE, as for the C sample.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import psycopg  # noqa: E402

import dtx  # noqa: E402

log = logging.getLogger("bank")

AMOUNT_MAX = 100000000000000  # 10^12 units, in cents (BANK_AMOUNT_MAX)
_ACCOUNT_RE = re.compile(r"[A-Za-z0-9._-]{1,63}\Z")

SCHEMA_SQL = (
    "CREATE TABLE IF NOT EXISTS accounts ("
    "  id       text   PRIMARY KEY,"
    "  balance  bigint NOT NULL CHECK (balance >= 0),"
    "  frozen   bigint NOT NULL DEFAULT 0,"
    "  incoming bigint NOT NULL DEFAULT 0)")

# SQL of each (action, op). An UPDATE that changes no row means the try
# cannot reserve (try) or the reservation is not there (confirm/cancel).
SQL: Dict[Tuple[str, dtx.Op], str] = {
    ("debit", dtx.Op.TRY): "UPDATE accounts SET balance = balance - %(a)s, "
                           "frozen = frozen + %(a)s WHERE id = %(id)s AND balance >= %(a)s",
    ("debit", dtx.Op.CONFIRM): "UPDATE accounts SET frozen = frozen - %(a)s "
                               "WHERE id = %(id)s AND frozen >= %(a)s",
    ("debit", dtx.Op.CANCEL): "UPDATE accounts SET balance = balance + %(a)s, "
                              "frozen = frozen - %(a)s WHERE id = %(id)s AND frozen >= %(a)s",
    ("credit", dtx.Op.TRY): "UPDATE accounts SET incoming = incoming + %(a)s "
                            "WHERE id = %(id)s",
    ("credit", dtx.Op.CONFIRM): "UPDATE accounts SET balance = balance + %(a)s, "
                                "incoming = incoming - %(a)s "
                                "WHERE id = %(id)s AND incoming >= %(a)s",
    ("credit", dtx.Op.CANCEL): "UPDATE accounts SET incoming = incoming - %(a)s "
                               "WHERE id = %(id)s AND incoming >= %(a)s",
}


def decode_payload(raw: bytes) -> Optional[Tuple[str, int]]:
    """(account, cents) of {"account":..,"amount":..}, or None when malformed."""
    if not raw or len(raw) > 4096:
        return None
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(obj, dict):
        return None
    account, amount = obj.get("account"), obj.get("amount")
    if not isinstance(account, str) or not _ACCOUNT_RE.match(account):
        return None
    if type(amount) is not int or not 0 < amount <= AMOUNT_MAX:
        return None
    return account, amount


class Bank:
    def __init__(self, resource: str, db: str, lock_timeout_ms: int) -> None:
        self.resource = resource
        self.db = db
        self.lock_timeout_ms = lock_timeout_ms
        self.conn: Optional[psycopg.Connection] = None  # type: ignore[type-arg]

    def connection(self) -> psycopg.Connection:  # type: ignore[type-arg]
        """The bank's connection, made again after a loss (the phase that
        finds it down fails, and the coordinator retries it)."""
        if self.conn is None or self.conn.closed or self.conn.broken:
            self.conn = psycopg.connect(self.db, autocommit=True)
        return self.conn

    def apply(self, conn: psycopg.Connection, call: dtx.Call) -> None:  # type: ignore[type-arg]
        """The business part, inside the barrier's transaction."""
        op = call.op.name.lower()
        is_try = call.op == dtx.Op.TRY
        if call.action not in ("debit", "credit") or call.op not in (
                dtx.Op.TRY, dtx.Op.CONFIRM, dtx.Op.CANCEL):
            log.warning("unknown action gid=%s branch=%d op=%s action=%s", call.gid,
                        call.branch, op, call.action)
            raise dtx.Refused() if is_try else dtx.InvalidArgument(text="unknown action")
        pay = decode_payload(call.payload)
        if pay is None:
            log.warning("malformed payload gid=%s branch=%d op=%s bytes=%d", call.gid,
                        call.branch, op, len(call.payload))
            raise dtx.Refused() if is_try else dtx.InvalidArgument(text="malformed payload")
        account, amount = pay
        # Never wait forever for an account row (one phase at a time here).
        conn.execute(f"SET LOCAL lock_timeout = {int(self.lock_timeout_ms)}")
        rows = conn.execute(SQL[(call.action, call.op)], {"a": amount, "id": account}).rowcount
        if rows == 0:
            if is_try:
                exists = conn.execute("SELECT 1 FROM accounts WHERE id = %s",
                                      (account,)).fetchone()
                why = "insufficient funds" if exists else "unknown account"
                log.info("refused gid=%s branch=%d resource=%s action=%s account=%s "
                         "amount=%d reason=%r", call.gid, call.branch, self.resource,
                         call.action, account, amount, why)
                raise dtx.Refused(text=why)
            # the barrier guarantees the try was applied: keep failing so it shows.
            log.error("reservation missing gid=%s branch=%d resource=%s op=%s action=%s "
                      "account=%s amount=%d", call.gid, call.branch, self.resource, op,
                      call.action, account, amount)
            raise dtx.DtxError(dtx.ErrorCode.INTERNAL, "reservation missing")
        log.info("applied gid=%s branch=%d resource=%s op=%s action=%s account=%s amount=%d "
                 "trace=%s", call.gid, call.branch, self.resource, op, call.action, account,
                 amount, call.trace_id or "-")

    def seed(self, spec: str) -> None:
        seeds: List[Tuple[str, int]] = []
        for item in spec.split(","):
            account, eq, cents = item.partition("=")
            if not eq or not _ACCOUNT_RE.match(account) or not cents.isdigit():
                raise SystemExit("bank_participant: --seed wants account=cents[,account=cents...]")
            seeds.append((account, int(cents)))
        conn = self.connection()
        with conn.transaction():
            for account, balance in seeds:
                conn.execute("INSERT INTO accounts (id, balance) VALUES (%s, %s) "
                             "ON CONFLICT (id) DO UPDATE SET balance = EXCLUDED.balance, "
                             "frozen = 0, incoming = 0", (account, balance))
                log.info("seeded resource=%s account=%s balance=%d", self.resource, account,
                         balance)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="One bank as a TCC dtx resource (Python).")
    ap.add_argument("--resource", required=True)
    ap.add_argument("--db", required=True, help="libpq conninfo of the bank's database")
    ap.add_argument("--coordinator", action="append", required=True)
    ap.add_argument("--instance")
    ap.add_argument("--seed")
    ap.add_argument("--ready-file")
    ap.add_argument("--heartbeat-ms", type=int, default=0)
    ap.add_argument("--lock-timeout-ms", type=int, default=2000)
    ap.add_argument("--log-level", default="info",
                    choices=("debug", "info", "warn", "error"))
    args = ap.parse_args(argv)
    instance = args.instance or f"{args.resource}-1"
    level = {"warn": "WARNING"}.get(args.log_level, args.log_level.upper())
    logging.basicConfig(level=level, stream=sys.stderr,
                        format=f"%(asctime)s %(levelname)s {instance} %(name)s: %(message)s")
    if not dtx.protocol.name_valid(args.resource) or not dtx.protocol.name_valid(instance):
        ap.error("--resource and --instance are 1..63 of [A-Za-z0-9._:-]")

    bank = Bank(args.resource, args.db, args.lock_timeout_ms)
    part = dtx.Participant(instance, heartbeat_ms=args.heartbeat_ms)
    part.stop_on_signals()
    conn = bank.connection()
    dtx.barrier.migrate(conn)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('dtx bank-participant schema'))")
        conn.execute(SCHEMA_SQL)
    if args.seed:
        bank.seed(args.seed)

    guarded = dtx.Barrier(bank.connection).wrap(bank.apply)
    part.serve(args.resource, on_try=guarded, on_confirm=guarded, on_cancel=guarded)
    for endpoint in args.coordinator:
        part.connect(endpoint)

    def on_ready(p: dtx.Participant) -> None:
        log.info("registered with every coordinator resource=%s", args.resource)
        if args.ready_file:
            with open(args.ready_file, "w") as f:
                f.write("ready\n")

    part.set_ready(on_ready)
    log.info("bank participant started resource=%s instance=%s coordinators=%d",
             args.resource, instance, len(args.coordinator))
    part.run()
    log.info("bank participant stopping resource=%s", args.resource)
    part.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
