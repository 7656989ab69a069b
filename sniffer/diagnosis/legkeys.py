"""Leg correlation keys read from SIP headers: correlation headers (X-CID...), RFC 7989
Session-ID uuids, RFC 7315 P-Charging-Vector icid-value."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sniffer.sip.message import SipMessage

MAX_KEYS = 8
"""Values kept per kind of key and call."""
MAX_VALUE = 255
NULL_UUID = "0" * 32
"""RFC 7989 section 6: the null UUID of a Session-ID whose remote end is not known yet."""
_UUID = re.compile(r"[0-9a-fA-F]{32}")
_ICID = re.compile(r"(?:^|;)\s*icid-value\s*=\s*(\"[^\"]*\"|[^;\s]+)", re.IGNORECASE)


class KeySet:
    """The keys of one call, in order of appearance, without repeats."""

    __slots__ = ("cids", "icids", "session_ids")

    def __init__(self) -> None:
        self.cids: list[str] = []
        self.session_ids: list[str] = []
        self.icids: list[str] = []


def _add(values: list[str], value: str) -> None:
    value = value.strip()[:MAX_VALUE]
    if value and value not in values and len(values) < MAX_KEYS:
        values.append(value)


def session_uuids(value: str) -> list[str]:
    """The uuids of a Session-ID header value (RFC 7989 section 4: ``local;remote=remote``),
    lower-case, the null uuid left out; a pre-RFC 7329 id is kept as it is."""
    out = []
    parts = value.split(";")
    candidates = [parts[0]]
    for p in parts[1:]:
        name, _, val = p.partition("=")
        if name.strip().lower() == "remote":
            candidates.append(val)
    for c in candidates:
        c = c.strip().lower()
        if c and c != NULL_UUID and (_UUID.fullmatch(c) or len(parts) == 1):
            out.append(c)
    return out


def icid_value(value: str) -> str | None:
    m = _ICID.search(value)
    return m.group(1).strip('"') if m else None


def read_keys(keys: KeySet, msg: SipMessage, headers: tuple[str, ...]) -> None:
    """Add the keys ``msg`` carries (an INVITE or a response to one)."""
    h = msg.headers
    for name in headers:
        for value in h.get(name, ()):
            _add(keys.cids, value)
    for value in h.get("session-id", ()):
        for uuid in session_uuids(value):
            _add(keys.session_ids, uuid)
    for value in h.get("p-charging-vector", ()):
        icid = icid_value(value)
        if icid:
            _add(keys.icids, icid)
