"""UDP flow cache entries: what a 4-tuple (src ip, dst ip, sport, dport) carries.

The analyzer keys flows by the 12 bytes ``src_ip + dst_ip + sport + dport`` for IPv4 (exactly
``frame[26:38]`` of an untagged Ethernet/IPv4 frame) and 36 bytes for IPv6.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from sniffer.rtp.stats import StreamStats

if TYPE_CHECKING:
    from sniffer.calls.call import Call
    from sniffer.calls.media import CallStream, PayloadMap
    from sniffer.spool.spool import CallPcap

RTP = 0
"""RTP bound to a call through SDP."""
RTCP = 1
"""RTCP of a call."""
UNBOUND = 2
"""RTP-looking traffic bound to no call (counted; reported as an orphan stream if it persists)."""

_PORTS = struct.Struct("!HH")


class _NoStream(StreamStats):
    """:attr:`Flow.stats` until a stream is selected; the fast path cannot feed it (its
    ``ssrc`` is -1), and nothing else may."""

    def add(self, seq: int, rtp_ts: int, arrival_ts: float, pt: int, marker: bool = False) -> None:
        raise AssertionError("Flow.stats.add called before a stream was selected")


_NO_STREAM = _NoStream({})


def flow_key(src: bytes, dst: bytes, sport: int, dport: int) -> bytes:
    return src + dst + _PORTS.pack(sport, dport)


def split_key(key: bytes) -> tuple[bytes, bytes, int, int]:
    """Inverse of :func:`flow_key`: (src, dst, sport, dport)."""
    n = (len(key) - 4) // 2
    sport, dport = _PORTS.unpack_from(key, 2 * n)
    return key[:n], key[n : 2 * n], sport, dport


class _FastFields:
    """What the inline fast path reads and writes of a flow, first in its memory layout
    (CPython puts a base class's slots first, each class's in name order): with thousands of
    flows the flow is cold at each packet, and these fields then share its first cache line
    instead of being spread over three."""

    __slots__ = ("pcap", "pt", "ssrc", "stats")

    stats: StreamStats
    ssrc: int
    pt: int
    pcap: CallPcap | None


class Flow(_FastFields):
    """One cached UDP 4-tuple. ``ssrc``/``pt``/``stats``/``pcap`` mirror the current stream so
    the fast path reads them with one attribute access each."""

    __slots__ = (
        "call",
        "generation",
        "key",
        "kind",
        "payloads",
        "sender",
        "stream",
        "streams",
    )

    def __init__(
        self,
        key: bytes,
        kind: int,
        call: Call | None,
        payloads: PayloadMap,
        sender: str | None = None,
        generation: int = 0,
    ) -> None:
        self.key = key
        self.kind = kind
        self.call = call
        self.payloads = payloads
        """What the payload types mean (from the SDP of both sides)."""
        self.sender = sender
        """``caller`` or ``callee``: who sends on this flow (None if unbound)."""
        self.generation = generation
        """The tracker's media generation when an unbound flow was last looked up."""
        self.ssrc = -1
        self.pt = -1
        self.stats = _NO_STREAM
        self.stream: CallStream | None = None
        self.pcap = None
        self.streams: dict[int, CallStream] = {}

    def select(self, stream: CallStream, pt: int) -> None:
        """Make ``stream`` the current one (new SSRC or main payload type); through
        :meth:`sniffer.flowtable.FlowTable.select`, which keeps the index's hint."""
        self.stream = stream
        self.ssrc = stream.ssrc
        self.stats = stream.stats
        self.pt = pt
        self.streams[stream.ssrc] = stream
