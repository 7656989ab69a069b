"""Where a call's media goes: SDP endpoints and the RTP streams bound to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sniffer.rtp.codecs import (
    STATIC_PT,
    canonical_encoding,
    clock_rate_for,
    is_audio_encoding,
    is_telephone_event,
)
from sniffer.rtp.dtmf import DtmfDetector, EventGuess
from sniffer.rtp.stats import StreamStats

if TYPE_CHECKING:
    from sniffer.diagnosis.level import LevelMeter
    from sniffer.sip.sdp import MediaDescription
    from sniffer.spool.spool import CallPcap

CALLER = "caller"
CALLEE = "callee"
DYNAMIC_PT = 96
"""RFC 3551 section 3: payload types 96..127 are dynamic (their meaning comes from SDP)."""


def other_side(side: str) -> str:
    return CALLEE if side == CALLER else CALLER


INTERNED_MAX = 1024
"""Distinct payload maps kept for sharing (:func:`interned`); the table starts again past it."""
_interned: dict[tuple[Any, ...], PayloadMap] = {}


def interned(pm: PayloadMap) -> PayloadMap:
    """The one shared map equal to ``pm`` (the same items in the same order). Maps are never
    changed once made, and the calls of one trunk offer the same few: sharing them saved
    about 2 KiB per concurrent call (tracemalloc, 5,000 calls)."""
    key = (tuple(pm.encodings.items()), tuple(pm.clocks.items()), pm.events, pm.ptime, pm.media)
    got = _interned.get(key)
    if got is None:
        if len(_interned) >= INTERNED_MAX:
            _interned.clear()
        _interned[key] = got = pm
    return got


@dataclass(slots=True)
class PayloadMap:
    """What the payload types of one SDP media line mean. Read-only once made (maps are
    shared between calls: :func:`interned`)."""

    encodings: dict[int, str] = field(default_factory=dict)
    """Payload type -> canonical (upper-case) encoding name."""
    clocks: dict[int, int] = field(default_factory=dict)
    events: frozenset[int] = frozenset()
    ptime: int | None = None
    media: str = "audio"
    """SDP media type of the line (``audio``, ``video``...): only audio streams get a MOS."""

    @classmethod
    def from_media(cls, m: MediaDescription, offer: MediaDescription | None = None) -> PayloadMap:
        """The payload map of ``m``; for an answer, ``offer`` is the offer's matching media
        line: a payload type the answer lists without an rtpmap keeps the offer's mapping
        (RFC 3264 section 6.1: the answer uses the offer's payload type numbers)."""
        pm = cls(ptime=m.ptime, media=m.media.lower())
        events: set[int] = set()
        for pt in m.payload_types:
            name = m.encoding(pt)
            rtpmap = m.rtpmap.get(pt)
            if rtpmap is None and offer is not None and pt in offer.rtpmap:
                rtpmap = offer.rtpmap[pt]
                name = rtpmap.encoding
            if name is None:
                continue
            pm.encodings[pt] = canonical_encoding(name)
            rate = clock_rate_for(name, rtpmap.clock_rate if rtpmap else None)
            if rate:
                pm.clocks[pt] = rate
            if is_telephone_event(name):
                events.add(pt)
        pm.events = frozenset(events)
        return interned(pm)

    def merged_with(self, other: PayloadMap) -> PayloadMap:
        """Both sides' maps: the receiver's SDP names the PTs it expects, the sender's those it sends."""
        enc = {**other.encodings, **self.encodings}
        clk = {**other.clocks, **self.clocks}
        events = self.events | other.events
        return interned(PayloadMap(enc, clk, events, self.ptime or other.ptime, self.media))

    def with_event(self, pt: int) -> PayloadMap:
        """This map with ``pt`` recognised as RFC 4733 telephone-event (RTP without SDP)."""
        enc = {**self.encodings, pt: "TELEPHONE-EVENT"}
        clk = {**self.clocks, pt: 8000}
        return interned(PayloadMap(enc, clk, self.events | {pt}, self.ptime, self.media))

    def encoding(self, pt: int) -> str:
        name = self.encodings.get(pt)
        if name is not None:
            return name
        static = STATIC_PT.get(pt)
        return static[0] if static else f"PT{pt}"

    def is_audio(self, pt: int) -> bool:
        """Is ``pt`` a voice stream (audio media line, an audio encoding)? Video, text,
        image and other non-audio streams get no MOS."""
        return self.media == "audio" and is_audio_encoding(self.encoding(pt))


class CallStream:
    """One RTP stream (one SSRC on one 5-tuple) of a call."""

    __slots__ = (
        "dport",
        "dst",
        "dtmf",
        "guesses",
        "level",
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
        self.level: LevelMeter | None = None
        """Sampled audio level (sniffer/diagnosis/level.py), made on the first sample."""
        self.guesses: dict[int, EventGuess] | None = None
        """Dynamic payload types no SDP mapped: are they telephone-events (RTP without SDP)?"""

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with its call (``--workers``): made again through ``__init__`` (a class
        compiled by mypyc cannot be made without it), then every attribute restored."""
        args = (self.src, self.sport, self.dst, self.dport, self.ssrc, self.sender, self.payloads)
        return CallStream, (*args, None), self.__getstate__()

    def unmapped(self, pt: int) -> bool:
        """A dynamic payload type that neither SDP maps: its meaning is guessed from its packets."""
        return pt >= DYNAMIC_PT and pt not in self.payloads.encodings

    def recognise_event(self, pt: int, guess: EventGuess) -> list[tuple[float, str]]:
        """``pt`` was confirmed as telephone-event: count and decode its packets so far;
        returns the digits found with their arrival times."""
        self.payloads = self.payloads.with_event(pt)
        self.stats.mark_event_pt(pt)
        self.stats.add_event_packets(len(guess.pending))
        if self.dtmf is None:
            self.dtmf = DtmfDetector()
        digits = []
        for arrival, rtp_ts, payload in guess.pending:
            digit = self.dtmf.add(rtp_ts, payload)
            if digit is not None:
                digits.append((arrival, digit))
        guess.pending = []
        return digits

    def fast_pt(self) -> int:
        """The payload type the analyzer's inline fast path may take for this stream (the main
        one), or -1: events need their payload decoded and unmapped payload types their shape
        checked, so those packets go through the slow path."""
        pt = self.stats.payload_type
        if pt in self.payloads.events:
            return -1
        if self.unmapped(pt):
            g = self.guesses.get(pt) if self.guesses is not None else None
            if g is None or g.state is None:
                return -1
        return pt
