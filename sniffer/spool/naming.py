"""File names of per-call pcaps: ``YYYY-MM-DD/HH/MM/<safe Call-ID>-<hash>.pcap[.gz]`` (UTC of the
call start). The name keeps only ``[A-Za-z0-9._-@+]`` of the Call-ID (others become ``_``, leading
dots are dropped, at most 120 characters); the hash of the raw Call-ID and start time keeps two
calls apart whatever their Call-IDs look like.
"""

import hashlib
import re
import time

MAX_NAME_CHARS = 120
HASH_HEX_CHARS = 10
_MIN_TS = -62135596800.0
"""0001-01-01T00:00:00Z; start times outside years 1..9999 go to 1970-01-01."""
_MAX_TS = 253402300800.0
_UNSAFE = re.compile(r"[^A-Za-z0-9._\-@+]")


def safe_name(call_id: str) -> str:
    """The Call-ID reduced to safe file-name characters (never empty, never starting with a dot)."""
    name = _UNSAFE.sub("_", call_id).lstrip(".")[:MAX_NAME_CHARS]
    return name or "call"


def call_hash(call_id: str, start_ts: float) -> str:
    """10 hex characters identifying (raw Call-ID, start time)."""
    raw = call_id.encode("utf-8", "surrogatepass") + b"\x00" + repr(float(start_ts)).encode()
    return hashlib.blake2b(raw, digest_size=HASH_HEX_CHARS // 2).hexdigest()


def call_pcap_relpath(call_id: str, start_ts: float, gzip: bool) -> str:
    """``"2026-11-26/06/57/<safe>-<hash>.pcap"`` (``.pcap.gz`` when gzip)."""
    t = time.gmtime(start_ts if _MIN_TS <= start_ts < _MAX_TS else 0)  # False for NaN
    ext = ".pcap.gz" if gzip else ".pcap"
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}/{t.tm_hour:02d}/{t.tm_min:02d}/"
        f"{safe_name(call_id)}-{call_hash(call_id, start_ts)}{ext}"
    )
