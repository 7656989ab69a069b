"""Python values -> column values that the schema accepts, so that no record can make a batch
fail: text cut to the column length (lone surrogates replaced), integers clamped to the column
range, non-finite floats dropped, epoch seconds -> naive UTC ``datetime`` (``DATETIME(6)``)."""

import datetime as dt
import hashlib
import json
import math
import socket

from db.records import Record, record_to_dict

U16 = 0xFFFF
U32 = 0xFFFF_FFFF
U64 = 0xFFFF_FFFF_FFFF_FFFF
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1

_EPOCH = dt.datetime(1970, 1, 1)
_MAX_TS = 253402300799.0
"""9999-12-31 23:59:59: the last second a DATETIME holds."""


def text(value: str | None, size: int) -> str:
    """``value`` cut to ``size`` characters, encodable as utf8mb4 (None -> "")."""
    if not value:
        return ""
    if value.isascii():
        return value if len(value) <= size else value[:size]
    clean = value.encode("utf-8", "replace").decode("utf-8")
    return clean[:size]


def opt_text(value: str | None, size: int) -> str | None:
    return None if value is None else text(value, size)


def atext(value: str | None, size: int) -> str:
    """For ``CHARACTER SET ascii`` columns: non-ASCII characters become ``?``."""
    if not value:
        return ""
    if not value.isascii():
        value = value.encode("ascii", "replace").decode("ascii")
    return value if len(value) <= size else value[:size]


def opt_atext(value: str | None, size: int) -> str | None:
    return None if value is None else atext(value, size)


def uint(value: int | None, hi: int) -> int:
    """Clamp to ``0..hi`` (None -> 0)."""
    if value is None:
        return 0
    v = int(value)
    return 0 if v < 0 else hi if v > hi else v


def opt_uint(value: int | None, hi: int) -> int | None:
    return None if value is None else uint(value, hi)


def sint(value: int | None, lo: int = I32_MIN, hi: int = I32_MAX) -> int | None:
    if value is None:
        return None
    v = int(value)
    return lo if v < lo else hi if v > hi else v


def real(value: float | None) -> float:
    """Finite float (None, NaN and infinities -> 0.0)."""
    if value is None:
        return 0.0
    v = float(value)
    return v if math.isfinite(v) else 0.0


def opt_real(value: float | None) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def ts(value: float) -> dt.datetime:
    """Epoch seconds -> naive UTC datetime with microseconds (clamped to 1970..9999)."""
    v = float(value)
    if not v > 0.0:  # also NaN
        return _EPOCH
    if v >= _MAX_TS:
        v = _MAX_TS
    return dt.datetime.fromtimestamp(v, dt.UTC).replace(tzinfo=None)


def opt_ts(value: float | None) -> dt.datetime | None:
    return None if value is None else ts(value)


def from_ts(value: dt.datetime) -> float:
    """Naive UTC datetime (as read back) -> epoch seconds."""
    return value.replace(tzinfo=dt.UTC).timestamp()


def ip(value: str | None) -> bytes | None:
    """IP text (IPv6 in brackets too) -> packed 4/16 bytes (``INET6_ATON`` layout); None when
    not an address."""
    if not value:
        return None
    t = value.strip()
    if t.startswith("[") and t.endswith("]"):
        t = t[1:-1]
    try:
        return socket.inet_pton(socket.AF_INET6 if ":" in t else socket.AF_INET, t)
    except (OSError, ValueError):  # ValueError: an embedded NUL
        return None


def ip_text(value: bytes | None) -> str:
    """Packed 4/16 bytes -> text (``INET6_NTOA``); "" for anything else."""
    if not value or len(value) not in (4, 16):
        return ""
    return socket.inet_ntop(socket.AF_INET if len(value) == 4 else socket.AF_INET6, bytes(value))


def joined(items: list[str], size: int, *, ascii_only: bool = True) -> str:
    """List column: items joined by ``,`` (``FIND_IN_SET`` friendly)."""
    value = ",".join(i.replace(",", ";") for i in items)
    return atext(value, size) if ascii_only else text(value, size)


def split(value: str) -> list[str]:
    return value.split(",") if value else []


def digest(rec: Record) -> bytes:
    """16-byte content hash: the idempotency key of records that carry no uid."""
    data = json.dumps(record_to_dict(rec), sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(data.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def uid(value: str, size: int = 64) -> str:
    """Call record uid as stored (ASCII, <= 64): anything else is replaced by a stable hash."""
    if value.isascii() and len(value) <= size:
        return value
    return "h" + hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=24).hexdigest()
