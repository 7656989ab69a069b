"""RTP streams with injected impairments and their expected figures.

A stream is ``count`` packet slots, one every ``ptime_ms``: slot ``i`` carries sequence number
``start_seq + i`` (mod 2**16) and timestamp ``start_ts + i * samples`` (mod 2**32) and would
arrive at ``start_time + i * ptime``. Impairments are given by slot index: ``loss`` (never
sent), ``duplicates`` (sent twice), ``reorder`` (pairs of slots that swap arrival times),
``jitter_ms`` (arrival offset). DTMF events replace audio slots by RFC 4733 packets.

The expected figures come from a plain reference computed on the true slot indices:

* ``packets``: datagrams received (duplicates included); ``expected``: last received index -
  first received index + 1 (tshark uses the first and last packets *seen*, so reorder swaps
  should not involve the first or last slot); ``lost = expected - packets`` (negative with
  duplicates, like tshark); ``duplicates``: extra copies; ``out_of_order``: packets arriving
  after a higher index (duplicates excluded).
* Jitter follows tshark 4.0's recurrence (tap-rtp-analysis.c), i.e. RFC 3550 section 6.4.1:
  for each packet after the first, in order of arrival,
  ``D = |(arrival - prev_arrival) - (rtp_ts - prev_rtp_ts) / clock|`` in ms, ``J += (D - J)/16``,
  where ``prev`` is the previous packet in order of arrival (late packets and duplicates
  included) whose timestamp is not older than the *first* packet's. Max/mean skip packets with
  the marker bit and packets older than the first. Telephone-event packets (clock 0 for
  Wireshark) do not update J nor ``prev_rtp_ts`` but do move ``prev_arrival`` and count in the
  mean's divisor. Checked against ``tshark -z rtp,streams`` for loss, duplicates, reordering,
  jitter and DTMF (tests/pcapgen_tests/test_stream.py).
"""

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from tests.pcapgen.rtp import ReportBlock, rtp_packet, silence, telephone_event


@dataclass(frozen=True, slots=True)
class DtmfEvent:
    """An RFC 4733 digit occupying ``packets`` slots from ``start`` (the last 3 are the E-bit
    end packets, so ``packets >= 4``)."""

    digit: str
    start: int
    packets: int = 8
    volume: int = 10


@dataclass(frozen=True)
class RtpStreamSpec:
    """One RTP stream and its impairments (all indices are slot indices)."""

    ssrc: int
    pt: int = 0
    clock: int = 8000
    ptime_ms: int = 20
    start_seq: int = 1000
    start_ts: int = 0
    count: int = 50
    start_time: float = 0.0
    """Arrival time of slot 0 (epoch seconds)."""
    payload_size: int = 160
    loss: frozenset[int] = frozenset()
    duplicates: frozenset[int] = frozenset()
    reorder: tuple[tuple[int, int], ...] = ()
    jitter_ms: Mapping[int, float] = field(default_factory=dict)
    dtmf: tuple[DtmfEvent, ...] = ()
    event_pt: int = 101
    duplicate_delay_ms: float = 0.1
    marker_first: bool = True

    @property
    def samples(self) -> int:
        """Timestamp increment per slot."""
        return self.clock * self.ptime_ms // 1000


class RtpArrival(NamedTuple):
    """One received RTP datagram; ``payload`` is the whole RTP packet (the UDP payload)."""

    ts: float
    seq: int
    rtp_ts: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class RtpExpected:
    """Reference figures of a stream (see the module docstring for definitions)."""

    ssrc: int
    pt: int
    packets: int
    expected: int
    lost: int
    loss_pct: float
    duplicates: int
    out_of_order: int
    max_delta_ms: float
    max_jitter_ms: float | None
    mean_jitter_ms: float | None
    first_ts: float
    last_ts: float
    telephone_events: int
    payload_bytes: int


class _Pkt(NamedTuple):
    us: int
    order: int
    slot: int
    rtp_ts: int
    """Unwrapped timestamp."""
    pt: int
    marker: bool
    data: bytes


def _slots(spec: RtpStreamSpec) -> list[tuple[int, int, bool, bytes]]:
    """Per slot: (unwrapped rtp ts, pt, marker, payload)."""
    audio = silence(spec.pt, spec.payload_size)
    out = [
        (spec.start_ts + i * spec.samples, spec.pt, spec.marker_first and i == 0, audio)
        for i in range(spec.count)
    ]
    for ev in spec.dtmf:
        if ev.packets < 4 or ev.start < 0 or ev.start + ev.packets > spec.count:
            raise ValueError(f"DTMF event {ev} does not fit the stream")
        ts0 = spec.start_ts + ev.start * spec.samples
        n = ev.packets
        for k in range(n):
            end = k >= n - 3
            dur = (n - 2 if end else k + 1) * spec.samples
            payload = telephone_event(ev.digit, end, dur, ev.volume)
            out[ev.start + k] = (ts0, spec.event_pt, k == 0, payload)
    return out


def _arrivals(spec: RtpStreamSpec) -> list[_Pkt]:
    base = round(spec.start_time * 1_000_000)
    step = spec.ptime_ms * 1000
    when = {
        i: base + i * step + round(spec.jitter_ms.get(i, 0.0) * 1000) for i in range(spec.count)
    }
    for a, b in spec.reorder:
        when[a], when[b] = when[b], when[a]
    pkts: list[_Pkt] = []
    for i, (ts, pt, marker, payload) in enumerate(_slots(spec)):
        if i in spec.loss:
            continue
        data = rtp_packet(spec.start_seq + i, ts, spec.ssrc, pt, payload, marker)
        pkts.append(_Pkt(when[i], 2 * i, i, ts, pt, marker, data))
        if i in spec.duplicates:
            dup_us = when[i] + round(spec.duplicate_delay_ms * 1000)
            pkts.append(_Pkt(dup_us, 2 * i + 1, i, ts, pt, marker, data))
    pkts.sort(key=lambda p: (p.us, p.order))
    return pkts


def _reference(spec: RtpStreamSpec, pkts: list[_Pkt]) -> RtpExpected:
    if not pkts:
        raise ValueError("stream sends no packet")
    first, last = pkts[0], pkts[-1]
    expected = last.slot - first.slot + 1
    seen: set[int] = set()
    highest = -1
    dups = ooo = 0
    for p in pkts:
        if p.slot in seen:
            dups += 1
            continue
        ooo += p.slot < highest
        seen.add(p.slot)
        highest = max(highest, p.slot)
    jitter = max_j = mean_j = max_delta = 0.0
    prev_us, prev_ts = first.us, first.rtp_ts
    for n, p in enumerate(pkts[1:], start=1):
        in_time = p.rtp_ts >= first.rtp_ts  # tshark 4.0 judges against the first packet
        delta = (p.us - prev_us) / 1000
        regular = in_time and not p.marker
        if p.pt != spec.event_pt and in_time:
            d = abs(delta - (p.rtp_ts - prev_ts) * 1000 / spec.clock)
            jitter = (15 * jitter + d) / 16
            if regular:
                max_j = max(max_j, jitter)
                mean_j = (mean_j * (n - 1) + jitter) / n
            prev_ts = p.rtp_ts
        if regular:
            max_delta = max(max_delta, delta)
        if in_time:
            prev_us = p.us
    lost = expected - len(pkts)
    return RtpExpected(
        ssrc=spec.ssrc,
        pt=spec.pt,
        packets=len(pkts),
        expected=expected,
        lost=lost,
        loss_pct=100.0 * lost / expected,
        duplicates=dups,
        out_of_order=ooo,
        max_delta_ms=max_delta,
        max_jitter_ms=max_j,
        mean_jitter_ms=mean_j,
        first_ts=first.us / 1_000_000,
        last_ts=last.us / 1_000_000,
        telephone_events=len(spec.dtmf),
        payload_bytes=sum(len(p.data) - 12 for p in pkts),
    )


def build_stream(spec: RtpStreamSpec) -> tuple[list[RtpArrival], RtpExpected]:
    """The stream's datagrams in arrival order and its expected figures."""
    pkts = _arrivals(spec)
    arrivals = [
        RtpArrival(
            p.us / 1_000_000, (spec.start_seq + p.slot) & 0xFFFF, p.rtp_ts & 0xFFFFFFFF, p.data
        )
        for p in pkts
    ]
    return arrivals, _reference(spec, pkts)


class ReceiverState(NamedTuple):
    """What a receiver reported last time (for the interval fraction lost)."""

    expected: int = 0
    received: int = 0


def receiver_report(
    spec: RtpStreamSpec, arrivals: Sequence[RtpArrival], until: float, prev: ReceiverState
) -> tuple[ReportBlock, ReceiverState] | None:
    """RTCP report block a receiver of the stream would send at ``until`` (RFC 3550 A.3/A.8:
    cumulative and interval loss, extended highest sequence, jitter in timestamp units over
    the audio packets in arrival order); None before the first packet arrives."""
    got = [a for a in arrivals if a.ts <= until]
    if not got:
        return None
    idx = [(a.seq - spec.start_seq) & 0xFFFF for a in got]
    expected = max(idx) - idx[0] + 1
    lost = expected - len(got)
    e_int, r_int = expected - prev.expected, len(got) - prev.received
    fraction = ((e_int - r_int) << 8) // e_int if e_int > 0 and e_int > r_int else 0
    jitter = 0.0
    audio = [a for a in got if a.payload[1] & 0x7F != spec.event_pt]
    for a, b in itertools.pairwise(audio):
        d = (b.ts - a.ts) * spec.clock - ((b.rtp_ts - a.rtp_ts + (1 << 31)) % (1 << 32) - (1 << 31))
        jitter += (abs(d) - jitter) / 16
    block = ReportBlock(
        ssrc=spec.ssrc,
        fraction_lost=min(fraction, 255),
        cumulative_lost=lost,
        highest_seq=spec.start_seq + max(idx),
        jitter=int(jitter),
    )
    return block, ReceiverState(expected, len(got))
