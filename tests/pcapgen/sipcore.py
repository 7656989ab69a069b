"""SIP message text primitives: render, split, inspect, and the generic request builder."""

import hashlib
import re
from collections.abc import Sequence
from typing import Final, NamedTuple

Header = tuple[str, str]

COMPACT_NAMES: Final = {
    "Via": "v",
    "From": "f",
    "To": "t",
    "Call-ID": "i",
    "Contact": "m",
    "Content-Type": "c",
    "Content-Length": "l",
    "Supported": "k",
    "Subject": "s",
}
_CANONICAL: Final = {n.lower(): n for n in (*COMPACT_NAMES, "CSeq", "Record-Route")} | {
    c: n for n, c in COMPACT_NAMES.items()
}
REASONS: Final = {
    100: "Trying",
    180: "Ringing",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    503: "Service Unavailable",
    603: "Decline",
}
USER_AGENT: Final = "callsift-pcapgen/1.0"
ALLOW: Final = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, MESSAGE, UPDATE"
_TAG = re.compile(r";\s*tag=([^;>\s]+)")
BRANCH_RE = re.compile(r";\s*branch=[^;\s]+")
URI_RE = re.compile(r"<([^>]+)>")


class SipText(NamedTuple):
    """A SIP message split for inspection: start line, headers (canonical long names), body."""

    start: str
    headers: list[Header]
    body: bytes

    def get(self, name: str) -> str | None:
        """First value of a header (long name, case-insensitive), or None."""
        low = name.lower()
        return next((v for n, v in self.headers if n.lower() == low), None)


def token(*parts: object, n: int = 10) -> str:
    """Deterministic hex token from ``parts`` (for branches, tags, Call-IDs)."""
    return hashlib.md5("/".join(map(str, parts)).encode()).hexdigest()[:n]


def parse(msg: bytes) -> SipText:
    """Split a message built here (or any well-formed SIP message); ValueError if no header end."""
    m = re.search(rb"\r?\n\r?\n", msg)
    if m is None:
        raise ValueError("no end of SIP headers")
    lines = msg[: m.start()].decode().replace("\r\n", "\n").split("\n")
    headers: list[Header] = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip()
        headers.append((_CANONICAL.get(name.lower(), name), value.strip()))
    return SipText(lines[0], headers, msg[m.end() :])


def summary(msg: bytes) -> str:
    """``"INVITE"`` for a request, ``"200 INVITE"`` (code + CSeq method) for a response."""
    p = parse(msg)
    if p.start.startswith("SIP/2.0 "):
        cseq = p.get("CSeq") or "0 ?"
        return f"{p.start.split()[1]} {cseq.split()[1]}"
    return p.start.split()[0]


def style(msg: bytes) -> tuple[bool, bool]:
    """``(compact, lf_only)`` of a message: compact if its Call-ID uses the short name ``i``."""
    return re.search(rb"(?m)^i[ \t]*:", msg) is not None, b"\r\n" not in msg


def tag_of(value: str) -> str | None:
    """The ``tag`` parameter of a From/To value."""
    m = _TAG.search(value)
    return m.group(1) if m else None


def render(
    start: str, headers: Sequence[Header], body: bytes, compact: bool, lf_only: bool
) -> bytes:
    """Serialise a message; Content-Length is appended from ``body``."""
    eol = "\n" if lf_only else "\r\n"
    out = [start]
    for name, value in headers:
        out.append(f"{COMPACT_NAMES.get(name, name) if compact else name}: {value}")
    out.append(f"{'l' if compact else 'Content-Length'}: {len(body)}")
    return (eol.join(out) + eol + eol).encode() + body


def _name_addr(uri: str, tag: str | None) -> str:
    return f"<{uri}>" + (f";tag={tag}" if tag else "")


def request(
    method: str,
    request_uri: str,
    *,
    call_id: str,
    from_uri: str,
    from_tag: str,
    to_uri: str,
    to_tag: str | None = None,
    cseq: int,
    via: str,
    branch: str | None = None,
    contact: str | None = None,
    body: bytes = b"",
    content_type: str | None = None,
    extra_headers: Sequence[Header] = (),
    compact: bool = False,
    lf_only: bool = False,
    transport: str = "UDP",
) -> bytes:
    """Generic request; the builders of :mod:`tests.pcapgen.sip` are thin wrappers around it.
    ``via`` is the Via sent-by ``host:port``; the branch defaults to one derived from the
    Call-ID, CSeq and method."""
    branch = branch or "z9hG4bK" + token(call_id, cseq, method, "branch")
    headers: list[Header] = [
        ("Via", f"SIP/2.0/{transport} {via};branch={branch};rport"),
        ("Max-Forwards", "70"),
        ("From", _name_addr(from_uri, from_tag)),
        ("To", _name_addr(to_uri, to_tag)),
        ("Call-ID", call_id),
        ("CSeq", f"{cseq} {method}"),
    ]
    if contact is not None:
        headers.append(("Contact", contact))
    headers += [("User-Agent", USER_AGENT), *extra_headers]
    if body:
        headers.append(("Content-Type", content_type or "application/sdp"))
    return render(f"{method} {request_uri} SIP/2.0", headers, body, compact, lf_only)
