"""SDP session descriptions (RFC 8866, formerly RFC 4566), the parts a call tracker needs.

Tolerant: CRLF or LF, blank lines, unknown or malformed-but-irrelevant lines, missing ``v=``/``o=``.
Error messages (:class:`SdpParseError`):

* ``not an SDP body`` (no ``x=`` line, or neither ``m=`` nor ``c=``)
* ``bad c= line: '...'`` (fewer than 3 fields)
* ``bad m= line: '...'`` (fewer than 3 fields)
* ``bad port in m= line: '...'`` (not 0..65535, or a port count < 1)
* ``bad payload type in m= line: '...'`` (an RTP format that is not 0..127)
* ``bad rtpmap: '...'`` (payload type not 0..127, no encoding, bad clock rate or channels)
* ``bad rtcp attribute: '...'`` (port not 0..65535)
"""

from dataclasses import dataclass, field

from sniffer.rtp.codecs import STATIC_PT
from sniffer.sip.headers import ascii_int, show

DIRECTIONS = frozenset(("sendrecv", "sendonly", "recvonly", "inactive"))
"""RFC 8866 section 6.7 media direction attributes."""
DEFAULT_DIRECTION = "sendrecv"
MAX_PT = 127


class SdpParseError(ValueError):
    """A body that is not a usable SDP session description."""


@dataclass(slots=True)
class RtpMap:
    encoding: str
    """Encoding name as written (``PCMU``, ``telephone-event``, ``opus``...)."""
    clock_rate: int
    channels: int = 1


@dataclass(slots=True)
class MediaDescription:
    """One ``m=`` section, with session-level defaults (``c=``, direction) applied."""

    media: str
    """``audio``, ``video``, ``image``, ``application``..."""
    port: int
    """0 = disabled stream."""
    port_count: int
    proto: str
    """``RTP/AVP``, ``RTP/SAVP``, ``udptl``..."""
    formats: list[str]
    """Raw format tokens."""
    payload_types: list[int]
    """The formats as ints for RTP protocols (empty for others)."""
    connection: str | None = None
    """Effective address: media-level ``c=`` else session-level (no ``/ttl``)."""
    rtpmap: dict[int, RtpMap] = field(default_factory=dict)
    fmtp: dict[int, str] = field(default_factory=dict)
    ptime: int | None = None
    direction: str = DEFAULT_DIRECTION
    """Effective: media-level attribute, else session-level, else ``sendrecv``."""
    rtcp_port: int | None = None
    """``a=rtcp:`` port (RFC 3605)."""

    def encoding(self, pt: int) -> str | None:
        """Encoding name of ``pt``: its rtpmap, or the RFC 3551 static name for 0..34."""
        m = self.rtpmap.get(pt)
        if m is not None:
            return m.encoding
        static = STATIC_PT.get(pt)
        return static[0] if static else None

    def clock_rate(self, pt: int) -> int | None:
        """RTP clock rate of ``pt``: its rtpmap, or the RFC 3551 static rate (G722 = 8000)."""
        m = self.rtpmap.get(pt)
        if m is not None:
            return m.clock_rate
        static = STATIC_PT.get(pt)
        return static[1] if static else None


def _address(line: str) -> str:
    """``c=IN IP4 1.2.3.4/127`` -> ``1.2.3.4``."""
    fields = line[2:].split()
    if len(fields) < 3:
        raise SdpParseError(f"bad c= line: {show(line)}")
    return fields[2].split("/", 1)[0]


def _media(line: str) -> MediaDescription:
    fields = line[2:].split()
    if len(fields) < 3:
        raise SdpParseError(f"bad m= line: {show(line)}")
    port_text, _, count_text = fields[1].partition("/")
    port = ascii_int(port_text)
    count = ascii_int(count_text) if count_text else 1
    if port is None or port > 65535 or count is None or count < 1:
        raise SdpParseError(f"bad port in m= line: {show(line)}")
    proto = fields[2]
    formats = fields[3:]
    pts: list[int] = []
    if "RTP/" in proto.upper():
        for fmt in formats:
            pt = ascii_int(fmt)
            if pt is None or pt > MAX_PT:
                raise SdpParseError(f"bad payload type in m= line: {show(line)}")
            pts.append(pt)
    return MediaDescription(fields[0], port, count, proto, formats, pts)


def _rtpmap(value: str, line: str) -> tuple[int, RtpMap]:
    """``8 PCMA/8000[/1]`` -> (8, RtpMap)."""
    pt_text, _, spec = value.partition(" ")
    pt = ascii_int(pt_text)
    parts = spec.strip().split("/")
    rate = ascii_int(parts[1].strip()) if len(parts) > 1 else None
    channels = ascii_int(parts[2].strip()) if len(parts) > 2 else 1
    if pt is None or pt > MAX_PT or not parts[0] or rate is None or channels is None:
        raise SdpParseError(f"bad rtpmap: {show(line)}")
    return pt, RtpMap(parts[0], rate, channels)


def _attribute(line: str, m: MediaDescription) -> None:
    """Apply a media-level ``a=`` line (rtpmap, fmtp, ptime, rtcp; direction is done by caller)."""
    name, _, value = line[2:].partition(":")
    if name == "rtpmap":
        pt, rtpmap = _rtpmap(value.strip(), line)
        m.rtpmap[pt] = rtpmap
    elif name == "fmtp":
        pt_text, _, params = value.strip().partition(" ")
        fpt = ascii_int(pt_text)
        if fpt is not None:
            m.fmtp[fpt] = params.strip()
    elif name == "ptime":
        m.ptime = _ptime(value)
    elif name == "rtcp":
        port = ascii_int(value.split(None, 1)[0] if value.strip() else "")
        if port is None or port > 65535:
            raise SdpParseError(f"bad rtcp attribute: {show(line)}")
        m.rtcp_port = port


def _ptime(value: str) -> int | None:
    """``20`` or ``20.0`` -> 20; anything else -> None (ignored)."""
    text = value.strip()
    whole, _, frac = text.partition(".")
    if frac and not (frac.isascii() and frac.isdigit()):
        return None
    return ascii_int(whole)


@dataclass(slots=True)
class SessionDescription:
    origin_session: str
    """``o=`` sess-id, ``""`` when there is no ``o=`` line."""
    origin_version: str
    """``o=`` sess-version (changes when the offer/answer changes)."""
    origin_address: str | None
    connection: str | None
    """Session-level ``c=`` address."""
    direction: str
    """Session-level direction attribute, else ``sendrecv``."""
    media: list[MediaDescription]

    @classmethod
    def parse(cls, data: bytes) -> "SessionDescription":
        """Parse an SDP body; raise :class:`SdpParseError` when it is not usable SDP."""
        text = data.decode("utf-8", "replace")
        origin_session = origin_version = ""
        origin_address: str | None = None
        connection: str | None = None
        direction: str | None = None
        session_ptime: int | None = None
        media: list[MediaDescription] = []
        media_conn: list[str | None] = []
        media_dir: list[str | None] = []
        cur: MediaDescription | None = None
        seen_line = False
        for raw in text.split("\n"):
            line = raw.strip()
            if len(line) < 2 or line[1] != "=":
                continue
            seen_line = True
            kind = line[0]
            if kind == "a":
                attr = line[2:]
                if attr in DIRECTIONS:
                    if cur is None:
                        direction = attr
                    else:
                        media_dir[-1] = attr
                elif cur is not None:
                    _attribute(line, cur)
                elif attr.startswith("ptime:"):
                    session_ptime = _ptime(attr[6:])
            elif kind == "m":
                cur = _media(line)
                media.append(cur)
                media_conn.append(None)
                media_dir.append(None)
            elif kind == "c":
                addr = _address(line)
                if cur is None:
                    connection = addr
                else:
                    media_conn[-1] = addr
            elif kind == "o" and cur is None:
                fields = line[2:].split()
                origin_session = fields[1] if len(fields) > 1 else ""
                origin_version = fields[2] if len(fields) > 2 else ""
                origin_address = fields[5] if len(fields) > 5 else None
        if not seen_line or (not media and connection is None):
            raise SdpParseError("not an SDP body")
        session_dir = direction or DEFAULT_DIRECTION
        for m, conn, mdir in zip(media, media_conn, media_dir, strict=True):
            m.connection = conn if conn is not None else connection
            m.direction = mdir or session_dir
            if m.ptime is None:
                m.ptime = session_ptime
        return cls(origin_session, origin_version, origin_address, connection, session_dir, media)
