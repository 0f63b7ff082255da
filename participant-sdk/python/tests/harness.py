"""Test harness: real dtxd, real PostgreSQL, CURVE keys, child processes.

Reads the variables tests/run.sh provides: DTX_TEST_BIN (dtxd, dtxctl,
bank-participant, bank-transfer), DTX_TEST_TESTBIN (test-participant),
DTX_TEST_PGHOST / DTX_TEST_PGPORT (a
private PostgreSQL, superuser postgres, trust), DTX_TEST_DIR (scratch).
Tests that need them are skipped when they are missing.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from typing import Dict, List, Optional

import psycopg

HERE = os.path.dirname(os.path.abspath(__file__))
PKG_ROOT = os.path.dirname(HERE)
REPO_ROOT = os.path.dirname(os.path.dirname(PKG_ROOT))
sys.path.insert(0, PKG_ROOT)

import dtx  # noqa: E402

BIN = os.environ.get("DTX_TEST_BIN", "")
TESTBIN = os.environ.get("DTX_TEST_TESTBIN", "")
PGHOST = os.environ.get("DTX_TEST_PGHOST", "")
PGPORT = os.environ.get("DTX_TEST_PGPORT", "5432")
WORK = os.environ.get("DTX_TEST_DIR") or tempfile.gettempdir()
PYTHON = "/usr/bin/python3"

HAVE_LIVE = bool(BIN and PGHOST and os.path.exists(os.path.join(BIN, "dtxd")))
live = unittest.skipUnless(HAVE_LIVE, "needs DTX_TEST_BIN and DTX_TEST_PGHOST")


def conninfo(dbname: str) -> str:
    return f"host={PGHOST} port={PGPORT} user=postgres dbname={dbname}"


def createdb(name: str) -> str:
    """A fresh, empty database; returns its conninfo."""
    with psycopg.connect(conninfo("postgres"), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    return conninfo(name)


def scratch(name: str) -> str:
    path = os.path.join(WORK, "python-sdk", name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o700)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(pred, timeout_s: float = 20.0, what: str = "condition",  # type: ignore[no-untyped-def]
             interval_s: float = 0.05):
    end = time.monotonic() + timeout_s
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval_s)


class Proc:
    """A child process with its output in a log file; stopped by stop()."""

    def __init__(self, name: str, argv: List[str], directory: str,
                 env: Optional[Dict[str, str]] = None) -> None:
        self.name = name
        self.log_path = os.path.join(directory, f"{name}.log")
        self.log = open(self.log_path, "ab")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=full_env)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def output(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


class Curve:
    """dtxd's key pair and allow-list, and peers' credentials (dtxctl keygen)."""

    def __init__(self, directory: str) -> None:
        self.dir = os.path.join(directory, "keys")
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        self.dtxd_keys = os.path.join(self.dir, "dtxd.keys")
        self.allow = os.path.join(self.dir, "allow")
        subprocess.run([os.path.join(BIN, "dtxctl"), "keygen", self.dtxd_keys], check=True,
                       stdout=subprocess.DEVNULL)
        open(self.allow, "w").close()

    def peer(self, file: str, principal: str, *roles: str, allow: bool = True) -> str:
        path = os.path.join(self.dir, f"{file}.keys")
        out = subprocess.run([os.path.join(BIN, "dtxctl"), "keygen", path,
                              "--server-key-file", self.dtxd_keys], check=True,
                             stdout=subprocess.PIPE, text=True).stdout.strip()
        if allow:
            with open(self.allow, "a") as f:
                f.write(f"{out} {principal} {' '.join(roles)}\n")
        return path

    def dtxd_args(self) -> List[str]:
        return ["--curve-secret-file", self.dtxd_keys, "--curve-allow-file", self.allow]


class Dtxd(Proc):
    """dtxd on a fresh log database; .endpoint is where it listens."""

    def __init__(self, directory: str, db: str, *extra: str, name: str = "dtxd",
                 listen: str = "tcp://127.0.0.1:*") -> None:
        self.endpoint_file = os.path.join(directory, f"{name}.endpoint")
        if os.path.exists(self.endpoint_file):
            os.unlink(self.endpoint_file)
        super().__init__(name, [os.path.join(BIN, "dtxd"), "--db", db, "--listen", listen,
                                "--endpoint-file", self.endpoint_file, "--http-listen", "off",
                                "--log-level", "info", *extra], directory)
        self.endpoint = wait_for(self._read_endpoint, 30, "dtxd endpoint file")

    def _read_endpoint(self) -> str:
        if not self.alive():
            raise AssertionError(f"dtxd exited:\n{self.output()[-3000:]}")
        try:
            with open(self.endpoint_file) as f:
                return f.readline().strip()
        except FileNotFoundError:
            return ""


class Served:
    """A Participant polled by a background thread until stop()."""

    def __init__(self, participant: dtx.Participant) -> None:
        self.participant = participant
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.participant.run()
        except BaseException as e:  # reported by stop()
            self.error = e

    def stop(self) -> None:
        self.participant.stop()
        self.thread.join(10)
        self.participant.close()
        if self.error is not None:
            raise self.error
