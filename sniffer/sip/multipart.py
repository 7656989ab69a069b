"""MIME multipart bodies (RFC 2046 section 5.1) as carried by SIP (SDP + ISUP in SIP-I, RFC 3204).

Tolerant: CRLF or LF, preamble/epilogue, a missing close delimiter (the last part runs to the
end of the body), parts without headers. Error messages (:class:`MultipartParseError`):

* ``missing multipart boundary`` (no ``boundary=`` parameter in the Content-Type)
* ``multipart boundary not found`` (the body never contains the delimiter line)
"""

from dataclasses import dataclass, field

from sniffer.sip.headers import SipParseError, canonical_name, media_type, param_value

MAX_BOUNDARY = 200
"""RFC 2046 allows 70 characters; longer values are still accepted up to this."""
MAX_DEPTH = 3
"""Nesting levels of multipart inside multipart searched by :func:`find_part`."""


class MultipartParseError(SipParseError):
    """A multipart body that cannot be split into parts."""


@dataclass(slots=True)
class BodyPart:
    headers: dict[str, str] = field(default_factory=dict)
    """Part headers: lower-case long names -> value (first occurrence)."""
    body: bytes = b""

    @property
    def content_type(self) -> str:
        """Lower-case media type without parameters; ``text/plain`` when absent (RFC 2046)."""
        ct = self.headers.get("content-type")
        return media_type(ct) if ct else "text/plain"


def boundary_of(content_type: str) -> str:
    """The ``boundary`` parameter of a multipart Content-Type value."""
    b = param_value(content_type, "boundary")
    if not b or len(b) > MAX_BOUNDARY:
        raise MultipartParseError("missing multipart boundary")
    return b


def _part(raw: bytes) -> BodyPart:
    """One part between delimiters: headers, blank line, body."""
    if raw.startswith(b"\r\n"):
        return BodyPart({}, raw[2:])
    if raw.startswith(b"\n"):
        return BodyPart({}, raw[1:])
    crlf = raw.find(b"\r\n\r\n")
    lf = raw.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        head, body = raw[:crlf], raw[crlf + 4 :]
    elif lf >= 0:
        head, body = raw[:lf], raw[lf + 2 :]
    else:
        head, body = raw, b""
    headers: dict[str, str] = {}
    last = ""
    for line in head.decode("utf-8", "replace").split("\n"):
        if line[:1] in (" ", "\t") and last:
            headers[last] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if not colon:
            continue
        key = canonical_name(name)
        if key and key not in headers:
            headers[key] = value.strip()
            last = key
    return BodyPart(headers, body)


def parse_multipart(body: bytes, content_type: str) -> list[BodyPart]:
    """Split ``body`` into its parts; ``content_type`` is the enclosing Content-Type value."""
    delim = b"--" + boundary_of(content_type).encode("utf-8", "replace")
    if body.startswith(delim):
        pos = 0
    else:
        pos = body.find(b"\n" + delim)
        if pos < 0:
            raise MultipartParseError("multipart boundary not found")
        pos += 1
    parts: list[BodyPart] = []
    sep = b"\n" + delim
    while True:
        after = pos + len(delim)
        if body.startswith(b"--", after):
            break  # close delimiter
        eol = body.find(b"\n", after)
        if eol < 0:
            break  # delimiter line without content
        start = eol + 1
        nxt = body.find(sep, start - 1)
        if nxt < 0:
            parts.append(_part(body[start:]))
            break
        end = nxt - 1 if nxt > 0 and body[nxt - 1] == 0x0D else nxt
        parts.append(_part(body[start : max(start, end)]))
        pos = nxt + 1
    return parts


def find_part(body: bytes, content_type: str, media: str, depth: int = 0) -> bytes | None:
    """Body of the first part of type ``media`` (lower-case), searching nested multiparts."""
    for part in parse_multipart(body, content_type):
        ct = part.content_type
        if ct == media:
            return part.body
        if ct.startswith("multipart/") and depth < MAX_DEPTH:
            found = find_part(part.body, part.headers["content-type"], media, depth + 1)
            if found is not None:
                return found
    return None
