"""CurveZMQ credentials files, read as libdtx reads them.

A credentials file (made by ``dtxctl keygen FILE --server-key KEY``) is
text, one ``name = value`` a line; a line whose first non-blank character
is ``#`` is a comment, blank lines are ignored::

    # dtx CURVE credentials: keep secret (mode 0600)
    public-key = <40 Z85 characters>
    secret-key = <40 Z85 characters>
    server-key = <40 Z85 characters>   (the coordinator's public key)

The name ends at the first ``=``; the value is the rest of the line without
surrounding blanks (Z85 holds ``#`` and ``=``, so nothing after the ``=`` is
a comment).  The file holds a secret: one readable or writable by group or
others is refused, as are unknown or repeated names, malformed keys, a
public key that is not the secret key's, and (for a peer) a missing
server-key.  No key is ever written to a log or an error message.

``DTX_CURVE_KEY_FILE``, when set and not empty, names the file a client or
participant uses when none is given explicitly (as libdtx does).
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Dict, Optional

import zmq
from zmq.utils import z85 as _z85

from .errors import ConfigError

KEY_LEN = 40
ENV_KEY_FILE = "DTX_CURVE_KEY_FILE"
_LINE_MAX = 1024
_NAMES = ("public-key", "secret-key", "server-key")


@dataclass(frozen=True)
class CurveKeys:
    """A peer's key pair and the coordinator's public key (Z85 text)."""

    public_key: str
    secret_key: str
    server_key: str

    def __repr__(self) -> str:  # never show a secret
        return "CurveKeys(public_key=%r, secret_key=<hidden>, server_key=%r)" % (
            self.public_key, self.server_key)

    def apply(self, socket: zmq.Socket) -> None:  # type: ignore[type-arg]
        """Makes socket a CURVE client with these keys (before it connects)."""
        socket.curve_serverkey = self.server_key.encode("ascii")
        socket.curve_publickey = self.public_key.encode("ascii")
        socket.curve_secretkey = self.secret_key.encode("ascii")


def key_valid(z85: str) -> bool:
    """True when z85 is 40 characters that decode to a 32-byte key."""
    if len(z85) != KEY_LEN:
        return False
    try:
        return len(_z85.decode(z85.encode("ascii"))) == 32  # type: ignore[no-untyped-call]
    except (ValueError, UnicodeEncodeError, KeyError, IndexError):
        return False


def load(path: str) -> CurveKeys:
    """Reads a peer's credentials file. Raises :class:`dtx.ConfigError`
    (naming the file and line, never a key) when it cannot be used."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise ConfigError(text=f"{path}: cannot open: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(text=f"{path}: accessible by group or others "
                              f"(mode {stat.S_IMODE(st.st_mode):04o}); chmod 600 it")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(1 << 20)
    finally:
        os.close(fd)
    values: Dict[str, str] = {}
    for number, raw in enumerate(data.split(b"\n"), 1):
        if len(raw) > _LINE_MAX:
            raise ConfigError(text=f"{path}:{number}: line too long")
        try:
            line = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            raise ConfigError(text=f"{path}:{number}: not ASCII") from None
        if not line or line.startswith("#"):
            continue
        name, eq, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not eq or not name:
            raise ConfigError(text=f"{path}:{number}: not 'name = value'")
        if name not in _NAMES:
            raise ConfigError(text=f"{path}:{number}: unknown name '{name}'")
        if name in values:
            raise ConfigError(text=f"{path}:{number}: '{name}' repeated")
        if not key_valid(value):
            raise ConfigError(text=f"{path}:{number}: malformed {name}")
        values[name] = value
    for name in ("public-key", "secret-key", "server-key"):
        if name not in values:
            raise ConfigError(text=f"{path}: no {name}")
    if zmq.curve_public(values["secret-key"].encode("ascii")).decode("ascii") != \
            values["public-key"]:
        raise ConfigError(text=f"{path}: public-key is not the secret-key's")
    return CurveKeys(values["public-key"], values["secret-key"], values["server-key"])


def resolve(key_file: Optional[str]) -> Optional[CurveKeys]:
    """The keys of key_file, or of ``DTX_CURVE_KEY_FILE`` when key_file is
    None and it is set and not empty; None for plain ZeroMQ."""
    if key_file is None:
        key_file = os.environ.get(ENV_KEY_FILE) or None
    return load(key_file) if key_file else None
