"""RTP fixed header (RFC 3550 section 5.1): slow-path and validation parser.

The analyzer's fast path unpacks the 12 fixed bytes inline; this module is used where a packet
must be checked completely (CSRC list, header extension, padding): an event's payload
(:func:`rtp_payload`), the header kept by the ``rtp-headers`` spool (:func:`header_len`).
"""

import struct
from dataclasses import dataclass

RTP_VERSION = 2
RTP_FIXED_HEADER_LEN = 12
RTCP_CONFLICT_PTS = range(72, 80)
"""RTCP packet types 200..207 seen as an RTP marker bit plus payload type 72..79 (RFC 5761 s4)."""

_FIXED = struct.Struct("!BBHII")
_EXT = struct.Struct("!HH")


class RtpParseError(ValueError):
    """The bytes are not a well-formed RTP packet."""


@dataclass(slots=True)
class RtpHeader:
    version: int
    padding: bool
    extension: bool
    csrc_count: int
    marker: bool
    payload_type: int
    seq: int
    timestamp: int
    ssrc: int
    header_len: int
    """Bytes before the payload: fixed header, CSRC list and header extension."""
    payload_len: int
    """Payload bytes, padding excluded."""

    @classmethod
    def parse(cls, data: bytes) -> "RtpHeader":
        n = len(data)
        if n < RTP_FIXED_HEADER_LEN:
            raise RtpParseError(f"RTP packet too short: {n} bytes")
        b0, b1, seq, ts, ssrc = _FIXED.unpack_from(data)
        version = b0 >> 6
        if version != RTP_VERSION:
            raise RtpParseError(f"RTP version {version} != {RTP_VERSION}")
        cc = b0 & 0x0F
        hlen = RTP_FIXED_HEADER_LEN + 4 * cc
        if hlen > n:
            raise RtpParseError("CSRC list exceeds packet")
        extension = bool(b0 & 0x10)
        if extension:
            if hlen + 4 > n:
                raise RtpParseError("header extension exceeds packet")
            _profile, words = _EXT.unpack_from(data, hlen)
            hlen += 4 + 4 * words
            if hlen > n:
                raise RtpParseError("header extension exceeds packet")
        padding = bool(b0 & 0x20)
        pad = 0
        if padding:
            if n == hlen:
                raise RtpParseError("padding exceeds payload")
            pad = data[-1]
            if pad == 0:
                raise RtpParseError("RTP padding count is 0")
            if pad > n - hlen:
                raise RtpParseError("padding exceeds payload")
        return cls(
            version=version,
            padding=padding,
            extension=extension,
            csrc_count=cc,
            marker=bool(b1 & 0x80),
            payload_type=b1 & 0x7F,
            seq=seq,
            timestamp=ts,
            ssrc=ssrc,
            header_len=hlen,
            payload_len=n - hlen - pad,
        )


def header_len(data: bytes, off: int, end: int) -> int:
    """Length of the RTP header at ``data[off]`` (CSRCs and extension), or -1 if it overruns
    ``end``; the packet's first byte is there (no copy: the spool's slow path)."""
    n = RTP_FIXED_HEADER_LEN + 4 * (data[off] & 0x0F)
    if data[off] & 0x10:
        if off + n + 4 > end:
            return -1
        n += 4 + 4 * ((data[off + n + 2] << 8) | data[off + n + 3])
    return n if off + n <= end else -1


def rtp_payload(data: bytes, off: int, end: int) -> bytes | None:
    """The payload of the RTP packet at ``data[off:end]`` without its padding, or None when
    :meth:`RtpHeader.parse` refuses it."""
    try:
        h = RtpHeader.parse(data[off:end])
    except RtpParseError:
        return None
    return data[off + h.header_len : off + h.header_len + h.payload_len]


def looks_like_rtp(data: bytes) -> bool:
    """Cheap heuristic: at least 12 bytes, version 2, payload type outside the RTCP range."""
    return (
        len(data) >= RTP_FIXED_HEADER_LEN
        and data[0] >> 6 == RTP_VERSION
        and (data[1] & 0x7F) not in RTCP_CONFLICT_PTS
    )
