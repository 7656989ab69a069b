"""What the rules read of one finished call: its record, its live state (streams, SIP notes),
the settings, the sensor's drops while it was up; and the per-direction RTP activity."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sniffer.calls.media import CALLEE, CALLER
from sniffer.diagnosis.notes import CallNotes
from sniffer.netaddr import ip_to_text

if TYPE_CHECKING:
    from db.records import CallRecord
    from db.settings import DiagnosisSettings
    from sniffer.calls.call import Call
    from sniffer.calls.media import CallStream

DIRECTIONS = (CALLER, CALLEE)
Interval = tuple[float, float]


def arrow(side: str | None) -> str:
    """``caller->callee`` for what the caller sends."""
    if side not in DIRECTIONS:
        return "unknown direction"
    return f"{side}->{CALLEE if side == CALLER else CALLER}"


def endpoint(ip: bytes, port: int) -> str:
    """``ip:port`` (``[ip]:port`` for IPv6)."""
    text = ip_to_text(ip)
    return f"[{text}]:{port}" if ":" in text else f"{text}:{port}"


def merge(intervals: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def clip(intervals: list[Interval], lo: float, hi: float) -> list[Interval]:
    return [(max(a, lo), min(b, hi)) for a, b in intervals if b > lo and a < hi]


def holes(intervals: list[Interval], lo: float, hi: float) -> list[Interval]:
    """The parts of [lo, hi] that ``intervals`` (merged) leave uncovered."""
    out: list[Interval] = []
    t = lo
    for a, b in clip(intervals, lo, hi):
        if a > t:
            out.append((t, a))
        t = max(t, b)
    if hi > t:
        out.append((t, hi))
    return out


def overlap(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """Intersection of two merged interval lists."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if hi > lo:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def activity(stream: CallStream, min_gap: float) -> list[Interval]:
    """When the stream's RTP flowed: first to last packet, less its largest arrival gap when
    that is at least ``min_gap`` s (a stream stopped and resumed)."""
    st = stream.stats
    first, last = st.first_ts, st.last_ts
    gap = st.max_delta_ms
    if gap is not None and gap / 1000.0 >= min_gap and first < st.gap_end <= last:
        start = st.gap_end - gap / 1000.0
        return [(first, start), (st.gap_end, last)]
    return [(first, last)]


@dataclass(slots=True)
class Facts:
    call: Call
    rec: CallRecord
    cfg: DiagnosisSettings
    notes: CallNotes = field(default_factory=CallNotes)
    drops: tuple[int, int] = (0, 0)
    """(kernel, queue) packets the sensor dropped while the call was up."""
    bye_ts: float | None = None
    flows: dict[str, list[Interval]] = field(default_factory=dict)
    """Per direction (``caller``, ``callee``): when its RTP flowed (merged intervals)."""
    packets: dict[str, int] = field(default_factory=dict)
    answered: bool = False
    """A 2xx answered the call (``answer_ts``)."""
    talk_window: Interval = (0.0, 0.0)
    """From the answer (else the INVITE) to the end of the call (the BYE, else the last
    packet)."""

    @classmethod
    def of(
        cls, call: Call, rec: CallRecord, cfg: DiagnosisSettings, drops: tuple[int, int]
    ) -> Facts:
        """Everything the rules read, computed once per call (the rules run at close, off the
        packet path; each is a few microseconds)."""
        min_gap = min(cfg.one_way_gap_s, cfg.media_timeout_s)
        flows: dict[str, list[Interval]] = {}
        packets: dict[str, int] = {}
        for side in DIRECTIONS:
            spans: list[Interval] = []
            n = 0
            for s in call.streams:
                if s.sender == side and s.stats.packets:
                    spans += activity(s, min_gap)
                    n += s.stats.packets
            flows[side] = merge(spans) if len(spans) > 1 else spans
            packets[side] = n
        answer = rec.answer_ts
        start = answer if answer is not None else rec.invite_ts
        return cls(
            call, rec, cfg, call.notes or CallNotes(), drops, call.bye_ts, flows, packets,
            answer is not None, (start, max(start, rec.end_ts)),
        )  # fmt: skip
