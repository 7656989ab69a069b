"""Where a call's media goes: SDP endpoints and the RTP streams bound to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sniffer.rtp.codecs import STATIC_PT, clock_rate_for, is_telephone_event
from sniffer.rtp.dtmf import DtmfDetector
from sniffer.rtp.stats import StreamStats

if TYPE_CHECKING:
    from sniffer.calls.call import Call
    from sniffer.sip.sdp import MediaDescription
    from sniffer.spool.spool import CallPcap

CALLER = "caller"
CALLEE = "callee"


def other_side(side: str) -> str:
    return CALLEE if side == CALLER else CALLER


@dataclass(slots=True)
class PayloadMap:
    """What the payload types of one SDP media line mean."""

    encodings: dict[int, str] = field(default_factory=dict)
    clocks: dict[int, int] = field(default_factory=dict)
    events: frozenset[int] = frozenset()
    ptime: int | None = None

    @classmethod
    def from_media(cls, m: MediaDescription) -> PayloadMap:
        pm = cls(ptime=m.ptime)
        events: set[int] = set()
        for pt in m.payload_types:
            name = m.encoding(pt)
            if name is None:
                continue
            pm.encodings[pt] = name
            rtpmap = m.rtpmap.get(pt)
            rate = clock_rate_for(name, rtpmap.clock_rate if rtpmap else None)
            if rate:
                pm.clocks[pt] = rate
            if is_telephone_event(name):
                events.add(pt)
        pm.events = frozenset(events)
        return pm

    def merged_with(self, other: PayloadMap) -> PayloadMap:
        """Both sides' maps: the receiver's SDP names the PTs it expects, the sender's those it sends."""
        enc = {**other.encodings, **self.encodings}
        clk = {**other.clocks, **self.clocks}
        return PayloadMap(enc, clk, self.events | other.events, self.ptime or other.ptime)

    def encoding(self, pt: int) -> str:
        name = self.encodings.get(pt)
        if name is not None:
            return name
        static = STATIC_PT.get(pt)
        return static[0] if static else f"PT{pt}"


@dataclass(slots=True)
class MediaTarget:
    """An ip:port that one side of a call announced in SDP to receive RTP (or RTCP) on."""

    call: Call
    side: str
    """The side that RECEIVES here (``caller`` or ``callee``)."""
    payloads: PayloadMap
    rtcp: bool = False


class CallStream:
    """One RTP stream (one SSRC on one 5-tuple) of a call."""

    __slots__ = (
        "dport",
        "dst",
        "dtmf",
        "payloads",
        "pcap",
        "sender",
        "sport",
        "src",
        "ssrc",
        "stats",
    )

    def __init__(
        self,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        ssrc: int,
        sender: str | None,
        payloads: PayloadMap,
        pcap: CallPcap | None,
    ) -> None:
        self.src = src
        self.sport = sport
        self.dst = dst
        self.dport = dport
        self.ssrc = ssrc
        self.sender = sender
        self.payloads = payloads
        clocks = dict(payloads.clocks)
        for pt, (_name, rate) in STATIC_PT.items():
            clocks.setdefault(pt, rate)
        self.stats = StreamStats(clocks, payloads.events)
        self.dtmf: DtmfDetector | None = DtmfDetector() if payloads.events else None
        self.pcap = pcap
