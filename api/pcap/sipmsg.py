"""A small SIP message reader for the ladder (RFC 3261 §7): start line, the headers the
ladder needs (compact forms included), the body. Not the sensor's parser: it tolerates what
it does not need."""

import re
from dataclasses import dataclass

SIP_VERSION = b"SIP/2.0"
COMPACT = {
    "i": "call-id",
    "f": "from",
    "t": "to",
    "v": "via",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "k": "supported",
    "s": "subject",
    "e": "content-encoding",
    "o": "event",
    "r": "refer-to",
    "u": "allow-events",
    "x": "session-expires",
    "b": "referred-by",
}
_REQUEST = re.compile(rb"^([A-Z][A-Z0-9._!%*+`'~-]*) (\S+) SIP/2\.0$")
_STATUS = re.compile(rb"^SIP/2\.0 ([1-6][0-9][0-9])(?: (.*))?$")
_START = re.compile(rb"(?:[A-Z][A-Z0-9._!%*+`'~-]* \S+ SIP/2\.0|SIP/2\.0 [1-6][0-9][0-9])")
MAX_HEADER_BYTES = 65536


class SipParseError(ValueError):
    """Not a SIP message (message says what is wrong)."""


@dataclass(frozen=True, slots=True)
class SipMessage:
    method: str | None
    """Request method; None for a response."""
    uri: str | None
    status: int | None
    reason: str | None
    headers: tuple[tuple[str, str], ...]
    """(lower-case full name, value) in order."""
    body: bytes
    raw: bytes

    @property
    def is_request(self) -> bool:
        return self.method is not None

    def header(self, name: str) -> str | None:
        for k, value in self.headers:
            if k == name:
                return value
        return None

    @property
    def call_id(self) -> str:
        return self.header("call-id") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        """(number, method) of the CSeq header; (0, "") when absent or bad."""
        value = self.header("cseq") or ""
        num, _, method = value.strip().partition(" ")
        return (int(num), method.strip()) if num.isdigit() else (0, "")

    @property
    def start_line(self) -> str:
        return self.raw.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")


def looks_like_sip(data: bytes) -> bool:
    """True when ``data`` starts with a SIP request or status line."""
    line = data[:256].split(b"\n", 1)[0].rstrip(b"\r")
    return bool(_REQUEST.match(line) or _STATUS.match(line))


def find_start(data: bytes | bytearray, pos: int = 0) -> int:
    """Offset of the next SIP start line at or after ``pos`` (at a line start), or -1."""
    m = _START.search(data, pos)
    while m is not None:
        s = m.start()
        if s == 0 or data[s - 1 : s] == b"\n":
            return s
        m = _START.search(data, s + 1)
    return -1


def header_end(data: bytes | bytearray) -> tuple[int, int]:
    """(end of the header section, length of its terminator); (-1, 0) when incomplete."""
    i = data.find(b"\r\n\r\n")
    j = data.find(b"\n\n")
    if i < 0 and j < 0:
        return -1, 0
    if j < 0 or (0 <= i < j):
        return i, 4
    return j, 2


def content_length(head: bytes | bytearray) -> int | None:
    """Content-Length (or ``l:``) of a header section; None when absent or bad."""
    for line in bytes(head).split(b"\n")[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            continue
        key = name.strip().lower()
        if key in (b"content-length", b"l"):
            v = value.strip()
            return int(v) if v.isdigit() else None
    return None


def parse(data: bytes) -> SipMessage:
    """Parse one whole message (a datagram, or a message framed out of a stream)."""
    end, term = header_end(data)
    if end < 0:
        head, body = data, b""
    else:
        head, body = data[:end], data[end + term :]
    if len(head) > MAX_HEADER_BYTES:
        raise SipParseError(f"SIP header section of {len(head)} bytes exceeds {MAX_HEADER_BYTES}")
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    first = lines[0].rstrip()
    method = uri = reason = None
    status = None
    m = _REQUEST.match(first)
    if m:
        method, uri = m.group(1).decode("ascii"), m.group(2).decode("utf-8", "replace")
    else:
        s = _STATUS.match(first)
        if not s:
            raise SipParseError(f"not a SIP start line: {first[:60]!r}")
        status = int(s.group(1))
        reason = (s.group(2) or b"").decode("utf-8", "replace").strip()
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t") and headers:  # folded continuation
            prev_name, prev_value = headers[-1]
            folded = line.strip().decode("utf-8", "replace")
            headers[-1] = (prev_name, prev_value + " " + folded)
            continue
        raw_name, colon, raw_value = line.partition(b":")
        if not colon:
            continue
        key = raw_name.strip().decode("utf-8", "replace").lower()
        headers.append((COMPACT.get(key, key), raw_value.strip().decode("utf-8", "replace")))
    clen = next((v for k, v in headers if k == "content-length"), None)
    if clen is not None and clen.isdigit():
        body = body[: int(clen)]
    return SipMessage(method, uri, status, reason, tuple(headers), body, data)
