"""RTCP compound packets (RFC 3550 section 6) and XR VoIP Metrics blocks (RFC 3611 s4.7).

:func:`parse_compound` walks every packet of a datagram and validates it; sender reports,
receiver reports and XR VoIP Metrics blocks are returned, SDES/BYE/APP/feedback packets and
other XR blocks are checked and skipped. Errors raise :class:`RtcpParseError`.
"""

import struct
from dataclasses import dataclass, field

RTCP_VERSION = 2
RTCP_SR = 200
RTCP_RR = 201
RTCP_SDES = 202
RTCP_BYE = 203
RTCP_APP = 204
RTCP_RTPFB = 205
RTCP_PSFB = 206
RTCP_XR = 207
RTCP_PT_MIN = 192
RTCP_PT_MAX = 223
"""RFC 5761 section 4: packet types 192..223 are RTCP; unknown ones are skipped."""
XR_VOIP_METRICS = 7
XR_VOIP_METRICS_WORDS = 8
UNAVAILABLE = 127
"""RFC 3611: value of the 8-bit VoIP metrics that could not be measured."""

HEADER_LEN = 4
REPORT_BLOCK_LEN = 24
SR_FIXED_LEN = 28
"""Header, sender SSRC and the 20-byte sender info."""
RR_FIXED_LEN = 8

_HEADER = struct.Struct("!BBH")
_SR = struct.Struct("!IIIIII")
_BLOCK = struct.Struct("!IIIIII")
_XR_BLOCK_HEADER = struct.Struct("!BBH")
_VOIP = struct.Struct("!IBBBBHHHHbbBBBBBBBBHHH")


class RtcpParseError(ValueError):
    """The datagram is not a well-formed RTCP compound packet."""


@dataclass(slots=True)
class ReportBlock:
    ssrc: int
    """Source the block is about."""
    fraction_lost: int
    """Fraction lost since the previous report, 0..255 (x/256)."""
    cumulative_lost: int
    """Signed 24-bit cumulative number of packets lost."""
    highest_seq: int
    """Extended highest sequence number received."""
    jitter: int
    """Interarrival jitter in RTP clock units."""
    lsr: int
    """Middle 32 bits of the NTP timestamp of the last SR received from ``ssrc`` (0: none)."""
    dlsr: int
    """Delay since that SR, in 1/65536 s."""


@dataclass(slots=True)
class SenderReport:
    ssrc: int
    ntp_sec: int
    ntp_frac: int
    rtp_ts: int
    packet_count: int
    octet_count: int
    reports: list[ReportBlock] = field(default_factory=list)


@dataclass(slots=True)
class ReceiverReport:
    ssrc: int
    reports: list[ReportBlock] = field(default_factory=list)


@dataclass(slots=True)
class XrVoipMetrics:
    """RFC 3611 section 4.7; rates and densities as fractions 0..1, None when unavailable."""

    ssrc: int
    """Source the block is about."""
    loss_rate: float
    discard_rate: float
    burst_density: float
    gap_density: float
    round_trip_delay: int
    """ms"""
    end_system_delay: int
    """ms"""
    signal_level: int | None
    """dBm0"""
    noise_level: int | None
    """dBm0"""
    r_factor: int | None
    ext_r_factor: int | None
    mos_lq: float | None
    mos_cq: float | None
    jb_nominal: int
    jb_max: int
    jb_abs_max: int
    reporter: int = 0
    """SSRC of the XR packet's sender."""
    burst_duration: int = 0
    gap_duration: int = 0
    rerl: int | None = None
    gmin: int = 16
    rx_config: int = 0


Report = SenderReport | ReceiverReport | XrVoipMetrics
"""What :func:`parse_compound` returns for one RTCP packet or XR block."""


def _opt(v: int) -> int | None:
    return None if v == UNAVAILABLE else v


def _mos(v: int) -> float | None:
    return None if v == UNAVAILABLE else v / 10.0


def _blocks(data: bytes, off: int, count: int) -> list[ReportBlock]:
    out = []
    for _ in range(count):
        ssrc, lost_word, highest, jitter, lsr, dlsr = _BLOCK.unpack_from(data, off)
        cum = lost_word & 0xFFFFFF
        if cum & 0x800000:
            cum -= 0x1000000
        out.append(ReportBlock(ssrc, lost_word >> 24, cum, highest, jitter, lsr, dlsr))
        off += REPORT_BLOCK_LEN
    return out


def _parse_voip(data: bytes, off: int, reporter: int) -> XrVoipMetrics:
    (ssrc, loss, discard, bd, gd, bdur, gdur, rtd, esd, sig, noise, rerl, gmin, r, ext_r,
     lq, cq, rxc, _res, jbn, jbm, jba) = _VOIP.unpack_from(data, off)  # fmt: skip
    return XrVoipMetrics(
        ssrc=ssrc,
        loss_rate=loss / 256.0,
        discard_rate=discard / 256.0,
        burst_density=bd / 256.0,
        gap_density=gd / 256.0,
        round_trip_delay=rtd,
        end_system_delay=esd,
        signal_level=_opt(sig),
        noise_level=_opt(noise),
        r_factor=_opt(r),
        ext_r_factor=_opt(ext_r),
        mos_lq=_mos(lq),
        mos_cq=_mos(cq),
        jb_nominal=jbn,
        jb_max=jbm,
        jb_abs_max=jba,
        reporter=reporter,
        burst_duration=bdur,
        gap_duration=gdur,
        rerl=_opt(rerl),
        gmin=gmin,
        rx_config=rxc,
    )


def _xr(data: bytes, start: int, end: int, out: list[Report]) -> None:
    if end - start < 8:
        raise RtcpParseError(f"RTCP XR too short: {end - start} bytes")
    reporter = int.from_bytes(data[start + 4 : start + 8], "big")
    off = start + 8
    while off < end:
        if end - off < 4:
            raise RtcpParseError(f"RTCP XR block header exceeds packet ({end - off} bytes)")
        bt, _spec, words = _XR_BLOCK_HEADER.unpack_from(data, off)
        blen = 4 + 4 * words
        if blen > end - off:
            raise RtcpParseError(f"RTCP XR block length {blen} exceeds packet ({end - off} bytes)")
        if bt == XR_VOIP_METRICS:
            if words != XR_VOIP_METRICS_WORDS:
                raise RtcpParseError(f"RTCP XR VoIP metrics block length {words} != 8")
            out.append(_parse_voip(data, off + 4, reporter))
        off += blen


def _sdes(data: bytes, start: int, end: int, chunks: int) -> None:
    off = start + HEADER_LEN
    for _ in range(chunks):
        off += 4  # SSRC/CSRC
        while True:
            if off >= end:
                raise RtcpParseError("RTCP SDES chunk exceeds packet")
            if data[off] == 0:  # end of item list, then pad to a 32-bit boundary
                off = (off - start) // 4 * 4 + 4 + start
                break
            if off + 2 > end or off + 2 + data[off + 1] > end:
                raise RtcpParseError("RTCP SDES item exceeds packet")
            off += 2 + data[off + 1]
    if off > end:
        raise RtcpParseError("RTCP SDES chunk exceeds packet")


def _bye(data: bytes, start: int, end: int, count: int) -> None:
    off = start + HEADER_LEN + 4 * count
    if off > end:
        raise RtcpParseError(f"RTCP BYE with {count} sources exceeds packet ({end - start} bytes)")
    if off < end and off + 1 + data[off] > end:
        raise RtcpParseError("RTCP BYE reason exceeds packet")


def parse_compound(data: bytes) -> list[Report]:
    """Reports of one RTCP datagram, in order. Raises :class:`RtcpParseError`."""
    out: list[Report] = []
    total = len(data)
    if total < HEADER_LEN:
        raise RtcpParseError(f"RTCP packet too short: {total} bytes")
    off = 0
    while off < total:
        left = total - off
        if left < HEADER_LEN:
            raise RtcpParseError(f"RTCP packet too short: {left} bytes")
        b0, pt, words = _HEADER.unpack_from(data, off)
        version = b0 >> 6
        if version != RTCP_VERSION:
            raise RtcpParseError(f"RTCP version {version} != {RTCP_VERSION}")
        if not RTCP_PT_MIN <= pt <= RTCP_PT_MAX:
            raise RtcpParseError(f"RTCP packet type {pt} not in {RTCP_PT_MIN}..{RTCP_PT_MAX}")
        plen = 4 * (words + 1)
        if plen > left:
            raise RtcpParseError(f"RTCP length {plen} exceeds datagram ({left} bytes)")
        end = off + plen
        if b0 & 0x20:
            pad = data[end - 1]
            if pad == 0 or pad > plen - HEADER_LEN:
                raise RtcpParseError(f"RTCP padding {pad} exceeds packet ({plen} bytes)")
            end -= pad
        count = b0 & 0x1F
        if pt == RTCP_SR:
            need = SR_FIXED_LEN + REPORT_BLOCK_LEN * count
            if end - off < need:
                raise RtcpParseError(
                    f"RTCP SR with {count} report blocks needs {need} bytes, has {end - off}"
                )
            ssrc, ntp_sec, ntp_frac, rtp_ts, pkts, octets = _SR.unpack_from(data, off + 4)
            blocks = _blocks(data, off + SR_FIXED_LEN, count)
            out.append(SenderReport(ssrc, ntp_sec, ntp_frac, rtp_ts, pkts, octets, blocks))
        elif pt == RTCP_RR:
            need = RR_FIXED_LEN + REPORT_BLOCK_LEN * count
            if end - off < need:
                raise RtcpParseError(
                    f"RTCP RR with {count} report blocks needs {need} bytes, has {end - off}"
                )
            ssrc = int.from_bytes(data[off + 4 : off + 8], "big")
            out.append(ReceiverReport(ssrc, _blocks(data, off + RR_FIXED_LEN, count)))
        elif pt == RTCP_SDES:
            _sdes(data, off, end, count)
        elif pt == RTCP_BYE:
            _bye(data, off, end, count)
        elif pt == RTCP_APP:
            if end - off < 12:
                raise RtcpParseError(f"RTCP APP too short: {end - off} bytes")
        elif pt in (RTCP_RTPFB, RTCP_PSFB):
            if end - off < 12:
                raise RtcpParseError(f"RTCP feedback packet too short: {end - off} bytes")
        elif pt == RTCP_XR:
            _xr(data, off, end, out)
        off += plen
    return out


def looks_like_rtcp(data: bytes) -> bool:
    """Cheap heuristic: version 2, packet type 200..207, first packet fits the datagram."""
    return (
        len(data) >= 8
        and data[0] >> 6 == RTCP_VERSION
        and RTCP_SR <= data[1] <= RTCP_XR
        and 4 * (((data[2] << 8) | data[3]) + 1) <= len(data)
    )
