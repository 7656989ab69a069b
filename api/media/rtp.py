"""RTP packets (RFC 3550 §5.1) of a call's streams, read from its pcap."""

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from api.pcap.capfile import CaptureFile
from api.pcap.layers import Decapsulator

RTP_VERSION = 2
RTP_HEADER_SIZE = 12
_HEADER = struct.Struct("!BBHII")


class RtpParseError(ValueError):
    """Not an RTP packet."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    arrival: float
    seq: int
    timestamp: int
    ssrc: int
    payload_type: int
    marker: bool
    payload: bytes
    truncated: bool
    """The capture kept less than the datagram (header-only spool mode)."""


def parse_rtp(data: bytes, arrival: float, truncated: bool = False) -> RtpPacket:
    if len(data) < RTP_HEADER_SIZE:
        raise RtpParseError(f"RTP packet of {len(data)} bytes is shorter than its header")
    b0, b1, seq, ts, ssrc = _HEADER.unpack_from(data)
    if b0 >> 6 != RTP_VERSION:
        raise RtpParseError(f"RTP version {b0 >> 6}, expected 2")
    off = RTP_HEADER_SIZE + 4 * (b0 & 0x0F)
    if b0 & 0x10:  # header extension
        if len(data) < off + 4:
            raise RtpParseError("RTP header extension cut short")
        off += 4 + 4 * struct.unpack_from("!H", data, off + 2)[0]
    end = len(data)
    if b0 & 0x20 and not truncated and end > off:  # padding: the last byte counts it
        end -= data[-1]
    if end < off:
        end = off
    return RtpPacket(arrival, seq, ts, ssrc, b1 & 0x7F, bool(b1 & 0x80), data[off:end], truncated)


@dataclass(frozen=True, slots=True)
class StreamKey:
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int
    ssrc: int


def rtp_packets(path: str | Path, keys: Iterable[StreamKey]) -> dict[StreamKey, list[RtpPacket]]:
    """The packets of each stream (5-tuple + SSRC), in capture order."""
    wanted = {(k.src_ip, k.src_port, k.dst_ip, k.dst_port): k for k in keys}
    out: dict[StreamKey, list[RtpPacket]] = {k: [] for k in wanted.values()}
    for tup, pkt in _udp_rtp(path, wanted.keys()):
        k = wanted[tup]
        if pkt.ssrc == k.ssrc:
            out[k].append(pkt)
    return out


def _udp_rtp(
    path: str | Path, tuples: Iterable[tuple[str, int, str, int]]
) -> Iterator[tuple[tuple[str, int, str, int], RtpPacket]]:
    want = set(tuples)
    with CaptureFile(path) as cap:
        dec = Decapsulator(cap.linktype)
        for frame in cap:
            for d in dec.decode(frame.index, frame.ts, frame.data):
                if d.transport != "udp":
                    continue
                tup = (d.src, d.sport, d.dst, d.dport)
                if tup not in want:
                    continue
                try:
                    yield tup, parse_rtp(d.payload, d.ts, d.truncated)
                except RtpParseError:
                    continue
