"""RTP (RFC 3550), RFC 4733 telephone-event and RTCP SR/RR/SDES packet builders."""

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

RTP_VERSION_BITS: Final = 0x80
RTCP_SR: Final = 200
RTCP_RR: Final = 201
RTCP_SDES: Final = 202
SDES_CNAME: Final = 1
NTP_UNIX_OFFSET: Final = 2_208_988_800
DTMF_EVENTS: Final = "0123456789*#ABCD"
"""RFC 4733 event codes 0-15, indexed by digit."""
SILENCE: Final = {0: 0xFF, 8: 0xD5}
"""G.711 silence byte per static payload type (others use 0x00)."""


def rtp_packet(
    seq: int,
    ts: int,
    ssrc: int,
    pt: int,
    payload: bytes = b"\xff" * 160,
    marker: bool = False,
) -> bytes:
    """RTP packet: 12-byte header (V=2, no padding/extension/CSRC) + payload."""
    return (
        struct.pack(
            "!BBHII",
            RTP_VERSION_BITS,
            (0x80 if marker else 0) | (pt & 0x7F),
            seq & 0xFFFF,
            ts & 0xFFFFFFFF,
            ssrc & 0xFFFFFFFF,
        )
        + payload
    )


def telephone_event(digit: str, end: bool, duration: int, volume: int = 10) -> bytes:
    """RFC 4733 section 2.3 event payload (4 bytes) for a DTMF digit; ``duration`` in clock units."""
    code = DTMF_EVENTS.find(digit.upper())
    if len(digit) != 1 or code < 0:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    return struct.pack("!BBH", code, (0x80 if end else 0) | (volume & 0x3F), duration & 0xFFFF)


def ntp_time(ts: float) -> tuple[int, int]:
    """``(seconds, fraction)`` NTP timestamp of a Unix time."""
    sec = int(ts)
    return (sec + NTP_UNIX_OFFSET) & 0xFFFFFFFF, int((ts - sec) * (1 << 32)) & 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """RTCP reception report block (RFC 3550 section 6.4.1); ``jitter`` in timestamp units."""

    ssrc: int
    fraction_lost: int = 0
    """Fixed point: lost fraction x 256, 0..255."""
    cumulative_lost: int = 0
    highest_seq: int = 0
    """Extended highest sequence number received (cycles << 16 | seq)."""
    jitter: int = 0
    lsr: int = 0
    dlsr: int = 0

    def pack(self) -> bytes:
        cum = self.cumulative_lost & 0xFFFFFF
        return struct.pack(
            "!IIIIII",
            self.ssrc,
            (self.fraction_lost & 0xFF) << 24 | cum,
            self.highest_seq & 0xFFFFFFFF,
            self.jitter & 0xFFFFFFFF,
            self.lsr,
            self.dlsr,
        )


def _rtcp_header(count: int, pt: int, body_len: int) -> bytes:
    if body_len % 4:
        raise ValueError("RTCP body must be a multiple of 4 bytes")
    return struct.pack("!BBH", 0x80 | count, pt, (body_len + 4) // 4 - 1)


def rtcp_sr(
    ssrc: int,
    ts: float,
    rtp_ts: int,
    packet_count: int,
    octet_count: int,
    blocks: Sequence[ReportBlock] = (),
) -> bytes:
    """Sender report with NTP time ``ts`` and up to 31 report blocks."""
    sec, frac = ntp_time(ts)
    body = struct.pack(
        "!IIIIII", ssrc, sec, frac, rtp_ts & 0xFFFFFFFF, packet_count, octet_count
    ) + b"".join(b.pack() for b in blocks)
    return _rtcp_header(len(blocks), RTCP_SR, len(body)) + body


def rtcp_rr(ssrc: int, blocks: Sequence[ReportBlock] = ()) -> bytes:
    """Receiver report from ``ssrc`` with up to 31 report blocks."""
    body = struct.pack("!I", ssrc) + b"".join(b.pack() for b in blocks)
    return _rtcp_header(len(blocks), RTCP_RR, len(body)) + body


def rtcp_sdes(ssrc: int, cname: str) -> bytes:
    """SDES packet with one chunk holding a CNAME item (padded to 32 bits)."""
    item = bytes([SDES_CNAME, len(cname)]) + cname.encode()
    chunk = struct.pack("!I", ssrc) + item + b"\x00"
    chunk += b"\x00" * (-len(chunk) % 4)
    return _rtcp_header(1, RTCP_SDES, len(chunk)) + chunk


def silence(pt: int, size: int) -> bytes:
    """Payload of ``size`` silence bytes for payload type ``pt``."""
    return bytes([SILENCE.get(pt, 0)]) * size
