"""Per-sensor secrets and the mutual challenge-response (docs/MIRROR.md, "Handshake").

Each sender has its own secret; the receiver keeps the table ``NAME SECRET`` (one pair a
line), so a leaked or retired secret opens nothing else. No secret crosses the wire: each side
sends a fresh 32-byte nonce and proves it knows the secret with an HMAC-SHA256 over both nonces
and the sensor name, under a label of its own role (a proof cannot be reflected). The session
key, from the same nonces, authenticates every later frame. A receiver remembers the nonces it
has seen, so a captured handshake replayed is refused twice over (new nonce, nonce seen).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import stat
from collections import OrderedDict
from pathlib import Path
from typing import Any

from db.errors import ConfigError

NONCE_LEN = 32
MIN_SECRET_LEN = 16
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
"""Sensor names: what a file name, a metrics label and the ``sensors`` row all accept."""
LABEL_SENDER = b"callsift-mirror-1 sender\0"
LABEL_RECEIVER = b"callsift-mirror-1 receiver\0"
LABEL_SESSION = b"callsift-mirror-1 session\0"
SEEN_NONCES = 65536
"""Nonces a receiver remembers (about 2 MB)."""


class HandshakeError(ValueError):
    """A handshake message is malformed."""


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise ValueError(
            f"sensor name {name[:80]!r} must be 1..64 letters, digits, '.', '_' or '-'"
        )
    return name


def check_secret(secret: str, where: str) -> bytes:
    if len(secret) < MIN_SECRET_LEN:
        raise ConfigError(f"{where}: the secret must be at least {MIN_SECRET_LEN} characters")
    return secret.encode()


def load_secrets(path: Path) -> dict[str, bytes]:
    """``NAME SECRET`` per line (``#`` comments, blank lines); the file must not be readable by
    others. :class:`ConfigError` naming the file and line for anything wrong."""
    try:
        st = path.stat()
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"mirror secrets {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"mirror secrets {path}: not UTF-8 text") from exc
    if st.st_mode & stat.S_IROTH:
        raise ConfigError(f"mirror secrets {path}: readable by others (chmod o-r)")
    table: dict[str, bytes] = {}
    for no, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        where = f"mirror secrets {path} line {no}"
        if len(parts) != 2:
            raise ConfigError(f"{where}: expected 'NAME SECRET'")
        name, secret = parts
        try:
            check_name(name)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if name in table:
            raise ConfigError(f"{where}: sensor {name!r} is listed twice")
        table[name] = check_secret(secret, where)
    if not table:
        raise ConfigError(f"mirror secrets {path}: no 'NAME SECRET' line")
    return table


def new_nonce() -> bytes:
    return os.urandom(NONCE_LEN)


def _mac(secret: bytes, label: bytes, *parts: bytes) -> bytes:
    m = hmac.new(secret, label, hashlib.sha256)
    for p in parts:
        m.update(len(p).to_bytes(2, "big"))
        m.update(p)
    return m.digest()


def sender_proof(secret: bytes, name: str, client: bytes, server: bytes) -> bytes:
    return _mac(secret, LABEL_SENDER, name.encode(), server, client)


def receiver_proof(secret: bytes, name: str, client: bytes, server: bytes) -> bytes:
    return _mac(secret, LABEL_RECEIVER, name.encode(), client, server)


def session_key(secret: bytes, name: str, client: bytes, server: bytes) -> bytes:
    return _mac(secret, LABEL_SESSION, name.encode(), client, server)


def proofs_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def decoy_secret() -> bytes:
    """For an unknown sensor name: the handshake goes on with a random secret and fails at
    the proof, like a wrong secret (names are not revealed)."""
    return secrets.token_bytes(32)


class NonceCache:
    """The last :data:`SEEN_NONCES` sender nonces: :meth:`seen` is True for a repeat."""

    def __init__(self, size: int = SEEN_NONCES) -> None:
        self.size = size
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def seen(self, nonce: bytes) -> bool:
        if nonce in self._seen:
            return True
        self._seen[nonce] = None
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return False


# -- handshake messages (JSON objects) -----------------------------------------------------


def dump(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg, separators=(",", ":")).encode()


def load(body: bytes, what: str, fields: dict[str, type]) -> dict[str, Any]:
    """A JSON object with at least ``fields`` of the given types; nonces and proofs are hex."""
    try:
        msg = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HandshakeError(f"{what} is not JSON") from None
    if not isinstance(msg, dict):
        raise HandshakeError(f"{what} is not a JSON object")
    for key, kind in fields.items():
        value = msg.get(key)
        if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
            raise HandshakeError(f"{what}: field {key!r} missing or not {kind.__name__}")
    return msg


def unhex(msg: dict[str, Any], key: str, what: str, size: int = NONCE_LEN) -> bytes:
    try:
        value = bytes.fromhex(msg[key])
    except (ValueError, TypeError, KeyError):
        raise HandshakeError(f"{what}: field {key!r} is not hex") from None
    if len(value) != size:
        raise HandshakeError(f"{what}: field {key!r} has {len(value)} bytes, expected {size}")
    return value
