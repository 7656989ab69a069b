"""SIP messages (RFC 3261 section 7) parsed tolerantly from one datagram or one framed message.

Accepts CRLF or bare-LF line endings (mixed too), leading CRLFs, folded header lines, header names
in any case and compact form, whitespace around ``:``. Header values are UTF-8 decoded with
``errors="replace"``; the body stays bytes, framed by Content-Length (cut to it when shorter than
what is there; when longer, what is there is kept and ``body_truncated`` is set; absent or not a
number -> the rest of the data). A missing blank line after the headers means an empty body.

Error messages (:class:`SipParseError`):

* ``empty message`` (nothing but CR/LF)
* ``bad start line: '...'`` (neither ``METHOD uri SIP/2.0`` nor ``SIP/2.0 code reason``)
* ``bad status code: '...'`` (not three digits 100..699)
* ``missing Call-ID header`` / ``missing From header`` / ``missing To header`` /
  ``missing CSeq header`` (absent or empty)
* ``bad CSeq: '...'`` (not ``<number below 2**31> <method>``)
* ``bad From header: <reason>`` / ``bad To header: <reason>`` (reason from :class:`NameAddr`)
"""

import re

from sniffer.sip.headers import (
    COMPACT_FORMS,
    SipParseError,
    ascii_int,
    canonical_name,
    media_type,
    show,
    split_header_list,
    via_summary,
)
from sniffer.sip.multipart import MultipartParseError, find_part
from sniffer.sip.nameaddr import NameAddr
from sniffer.sip.sdp import SdpParseError, SessionDescription

__all__ = ["SipMessage", "SipParseError", "extract_sdp"]

SIP_VERSION = "SIP/2.0"
MAX_CSEQ = 2**31 - 1
"""RFC 3261 section 8.1.1.5: the CSeq sequence number MUST be less than 2**31."""
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")
_MANDATORY = (("call-id", "Call-ID"), ("from", "From"), ("to", "To"), ("cseq", "CSeq"))
_FOLDING = re.compile(r"[ \t]*\n[ \t]+")
"""RFC 3261 section 7.3.1: a line starting with SP/HT continues the previous header line."""
_UNSET = -1


def _header_block_end(data: bytes, start: int) -> tuple[int, int]:
    """(end of the header block, start of the body); (len, len) when there is no blank line."""
    lf = data.find(b"\n\n", start)
    crlf = data.find(b"\n\r\n", start)
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return crlf, crlf + 3
    if lf >= 0:
        return lf, lf + 2
    n = len(data)
    return n, n


class SipMessage:
    """One SIP request or response. Call-ID, CSeq, From and To are parsed eagerly."""

    __slots__ = (
        "_contacts",
        "_content_type",
        "_via_branch",
        "_via_count",
        "body",
        "body_truncated",
        "call_id",
        "cseq_method",
        "cseq_num",
        "from_",
        "headers",
        "is_request",
        "method",
        "reason",
        "status",
        "to",
        "uri",
    )

    def __init__(
        self,
        is_request: bool,
        method: str,
        uri: str | None,
        status: int,
        reason: str,
        headers: dict[str, list[str]],
        body: bytes,
        body_truncated: bool,
        call_id: str,
        cseq_num: int,
        cseq_method: str,
        from_: NameAddr,
        to: NameAddr,
    ) -> None:
        self.is_request = is_request
        self.method = method
        """Request method, upper-case; for responses the CSeq method."""
        self.uri = uri
        self.status = status
        self.reason = reason
        self.headers = headers
        """Lower-case long header names -> values in order of appearance."""
        self.body = body
        self.body_truncated = body_truncated
        self.call_id = call_id
        self.cseq_num = cseq_num
        self.cseq_method = cseq_method
        self.from_ = from_
        self.to = to
        self._via_count = _UNSET
        self._via_branch: str | None = None
        self._contacts: list[NameAddr] | None = None
        self._content_type: str | None = None

    def __repr__(self) -> str:
        first = f"{self.method} {self.uri}" if self.is_request else f"{self.status} {self.reason}"
        return (
            f"<SipMessage {first} call_id={self.call_id!r} cseq={self.cseq_num} {self.cseq_method}>"
        )

    @classmethod
    def parse(cls, data: bytes) -> "SipMessage":
        """Parse one SIP message; raise :class:`SipParseError` when it is unusable."""
        n = len(data)
        start = 0
        while start < n and data[start] in (10, 13):
            start += 1
        if start == n:
            raise SipParseError("empty message")
        head_end, body_start = _header_block_end(data, start)
        head = data[start:head_end].decode("utf-8", "replace")
        if "\r" in head:
            head = head.replace("\r\n", "\n")
        if "\n " in head or "\n\t" in head:
            head = _FOLDING.sub(" ", head)
        lines = head.split("\n")
        first = lines[0].strip()

        # start line
        if first[:7].upper() == SIP_VERSION and first[7:8] in (" ", "\t"):
            is_request = False
            parts = first.split(None, 2)
            code_text = parts[1] if len(parts) > 1 else ""
            code = ascii_int(code_text) if len(code_text) == 3 else None
            if code is None or not 100 <= code <= 699:
                raise SipParseError(f"bad status code: {show(code_text)}")
            status, reason, uri = code, parts[2] if len(parts) > 2 else "", None
            method = ""
        else:
            is_request = True
            parts = first.split()
            if (
                len(parts) != 3
                or parts[2].upper() != SIP_VERSION
                or not _TOKEN_CHARS.issuperset(parts[0])
            ):
                raise SipParseError(f"bad start line: {show(first)}")
            method, uri, status, reason = parts[0].upper(), parts[1], 0, ""

        # headers (folding was undone above)
        headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                continue
            name = name.strip().lower()
            if len(name) < 2:
                if not name:
                    continue
                name = COMPACT_FORMS.get(name, name)
            value = value.strip()
            values = headers.get(name)
            if values is None:
                headers[name] = [value]
            else:
                values.append(value)

        for key, label in _MANDATORY:
            values = headers.get(key)
            if not values or not values[0]:
                raise SipParseError(f"missing {label} header")
        cseq = headers["cseq"][0]
        cseq_parts = cseq.split()
        cseq_num = ascii_int(cseq_parts[0]) if len(cseq_parts) == 2 else None
        if cseq_num is None or cseq_num > MAX_CSEQ:
            raise SipParseError(f"bad CSeq: {show(cseq)}")
        cseq_method = cseq_parts[1].upper()
        from_ = _name_addr(headers["from"][0], "From")
        to = _name_addr(headers["to"][0], "To")
        if not is_request:
            method = cseq_method

        # body
        body = data[body_start:]
        truncated = False
        cl_values = headers.get("content-length")
        if cl_values is not None:
            length = ascii_int(cl_values[0])
            if length is not None:
                if length < len(body):
                    body = body[:length]
                elif length > len(body):
                    truncated = True
        return cls(
            is_request,
            method,
            uri,
            status,
            reason,
            headers,
            bytes(body),
            truncated,
            headers["call-id"][0],
            cseq_num,
            cseq_method,
            from_,
            to,
        )

    # --- header access -------------------------------------------------------------------------

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (any case, long or compact form), or None."""
        values = self.headers.get(canonical_name(name))
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        """All values of header ``name`` in order (each as it appeared on its line)."""
        return self.headers.get(canonical_name(name), [])

    def _parse_via(self) -> None:
        self._via_branch, self._via_count = via_summary(self.headers.get("via", []))

    @property
    def via_branch(self) -> str | None:
        """``branch`` parameter of the top-most Via."""
        if self._via_count == _UNSET:
            self._parse_via()
        return self._via_branch

    @property
    def via_count(self) -> int:
        """Number of Via entries (comma-separated ones counted one by one)."""
        if self._via_count == _UNSET:
            self._parse_via()
        return self._via_count

    @property
    def user_agent(self) -> str | None:
        """User-Agent, else Server."""
        return self.header("user-agent") or self.header("server")

    @property
    def content_type(self) -> str | None:
        """Lower-case media type of the body without parameters, or None."""
        if self._content_type is None:
            ct = self.header("content-type")
            if ct is None:
                return None
            self._content_type = media_type(ct)
        return self._content_type

    @property
    def expires(self) -> int | None:
        """Expires header as an int; None when absent or not a number."""
        v = self.header("expires")
        return ascii_int(v) if v is not None else None

    @property
    def max_forwards(self) -> int | None:
        v = self.header("max-forwards")
        return ascii_int(v) if v is not None else None

    @property
    def contacts(self) -> list[NameAddr]:
        """All Contact entries; unparsable ones are skipped, ``*`` gives none."""
        if self._contacts is None:
            out: list[NameAddr] = []
            for value in self.headers.get("contact", ()):
                for item in split_header_list(value):
                    if item == "*":
                        continue
                    try:
                        out.append(NameAddr.parse(item))
                    except SipParseError:
                        pass
            self._contacts = out
        return self._contacts

    @property
    def asserted_identity(self) -> NameAddr | None:
        """First parsable P-Asserted-Identity entry (RFC 3325), or None."""
        for value in self.headers.get("p-asserted-identity", ()):
            for item in split_header_list(value):
                try:
                    return NameAddr.parse(item)
                except SipParseError:
                    pass
        return None

    def to_bytes(self) -> bytes:
        """Serialise (start line, headers under their lower-case names, CRLF, body as is)."""
        if self.is_request:
            first = f"{self.method} {self.uri} {SIP_VERSION}"
        else:
            first = f"{SIP_VERSION} {self.status} {self.reason}".rstrip()
        lines = [first]
        for name, values in self.headers.items():
            lines.extend(f"{name}: {v}" for v in values)
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


def extract_sdp(msg: SipMessage) -> SessionDescription | None:
    """The SDP of ``msg``: an ``application/sdp`` body, the first ``application/sdp`` part of a
    ``multipart/*`` body, or a body starting with ``v=0`` and no Content-Type. None when there is
    no SDP. Raises :class:`SdpParseError` for a malformed SDP (or multipart) body.
    """
    body = msg.body
    if not body:
        return None
    ct = msg.content_type
    if ct == "application/sdp" or (ct is None and body.startswith(b"v=0")):
        return SessionDescription.parse(body)
    if ct is not None and ct.startswith("multipart/"):
        try:
            sdp = find_part(body, msg.header("content-type") or "", "application/sdp")
        except MultipartParseError as e:
            problem = str(e)
        else:
            return SessionDescription.parse(sdp) if sdp is not None else None
        # raised outside the handler: no chained context, compiled or not
        raise SdpParseError(f"bad multipart body: {problem}")
    return None


def _name_addr(value: str, label: str) -> NameAddr:
    """The From or To header's name-addr; :class:`SipParseError` ``bad <label> header: ...``
    raised outside the handler, so that no chained context comes with it (compiled)."""
    try:
        return NameAddr.parse(value)
    except SipParseError as e:
        problem = str(e)
    raise SipParseError(f"bad {label} header: {problem}")
