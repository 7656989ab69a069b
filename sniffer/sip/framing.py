"""Framing of SIP messages on a byte stream (RFC 3261 section 18.3: Content-Length is mandatory
on stream transports).

Used by the TCP and WebSocket reassemblers: they keep a per-direction buffer and cut complete
messages out of it with :func:`message_length`.
"""

import re

MAX_HEADER_BYTES = 64 * 1024
"""A header block larger than this without a blank line is not SIP."""
MAX_BODY_BYTES = 1024 * 1024

_CONTENT_LENGTH = re.compile(rb"\n[ \t]*(?:content-length|l)[ \t]*:[ \t]*(\d{1,9})", re.IGNORECASE)


class FramingError(ValueError):
    """The stream does not hold a SIP message where one was expected."""


def _header_end(buf: bytes | bytearray, start: int) -> tuple[int, int] | None:
    """Return (end of header block, length of the terminating blank line), or None."""
    crlf = buf.find(b"\r\n\r\n", start)
    lf = buf.find(b"\n\n", start)
    if crlf < 0 and lf < 0:
        return None
    if crlf >= 0 and (lf < 0 or crlf <= lf):
        return crlf, 4
    return lf, 2


def message_length(buf: bytes | bytearray, start: int = 0) -> int | None:
    """Length of the complete SIP message that begins at ``buf[start]``.

    Returns None when more bytes are needed. Raises :class:`FramingError` when the header block
    is absurdly long or the Content-Length is too large. A message with no Content-Length has an
    empty body (tolerated, though RFC 3261 requires it on streams).
    """
    found = _header_end(buf, start)
    if found is None:
        if len(buf) - start > MAX_HEADER_BYTES:
            raise FramingError(f"no end of SIP headers within {MAX_HEADER_BYTES} bytes")
        return None
    end, sep = found
    if end - start > MAX_HEADER_BYTES:
        raise FramingError(f"SIP header block longer than {MAX_HEADER_BYTES} bytes")
    m = _CONTENT_LENGTH.search(buf, start, end)
    body = int(m.group(1)) if m else 0
    if body > MAX_BODY_BYTES:
        raise FramingError(f"Content-Length {body} exceeds {MAX_BODY_BYTES}")
    total = end + sep - start + body
    if len(buf) - start < total:
        return None
    return total


_SIP_METHODS = (
    b"INVITE ",
    b"ACK ",
    b"BYE ",
    b"CANCEL ",
    b"OPTIONS ",
    b"REGISTER ",
    b"PRACK ",
    b"SUBSCRIBE ",
    b"NOTIFY ",
    b"PUBLISH ",
    b"INFO ",
    b"REFER ",
    b"MESSAGE ",
    b"UPDATE ",
)
_FIRST_BYTES = frozenset(m[0] for m in _SIP_METHODS) | {ord("S")}


def looks_like_sip(data: bytes | bytearray, start: int = 0) -> bool:
    """Cheap test: does a SIP start line begin at ``data[start]``?

    True for ``SIP/2.0 <code>`` status lines and for request lines of the RFC 3261 family of
    methods. Used to classify UDP payloads and TCP streams before parsing.
    """
    if len(data) - start < 12 or data[start] not in _FIRST_BYTES:
        return False
    head = bytes(data[start : start + 10])
    if head.startswith(b"SIP/2.0 "):
        return True
    if not head.startswith(_SIP_METHODS):
        return False
    sp = data.find(b" ", start)
    line_end = data.find(b"\n", start, start + 2048)
    return line_end > 0 and data.find(b" SIP/2.0", sp, line_end + 1) > 0
