"""End to end: RTP/RTCP figures of streams bound to a call through SDP, and of RTP bound to no
call, through the real Analyzer, against the generator's reference (tests/pcapgen/stream.py)
or, where our figures deliberately differ from tshark's (docs/QUALITY.md), against
:func:`tests.sniffer.e2e.documented_jitter`."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

import pytest

from db.records import CallRecord, StreamRecord
from tests.pcapgen import (
    Call,
    DtmfEvent,
    IpPacket,
    MediaOpts,
    ReportBlock,
    RtpExpected,
    RtpStreamSpec,
    build_stream,
    rtcp_rr,
    rtcp_sr,
)
from tests.pcapgen.rtp import ntp_time
from tests.sniffer.e2e import (
    JITTER_ABS_MS,
    T0,
    Run,
    analyze_scenario,
    assert_call,
    documented_jitter,
)

CALL_ID = "rtp-e2e@pcapgen"
CALLER = ("10.0.0.1", 40000)
CALLEE = ("10.0.0.2", 50000)
START = T0 + 2.0
"""Streams start after the call is answered (200 OK at T0 + 1.05)."""


def _packets(direction: str, spec: RtpStreamSpec) -> list[IpPacket]:
    src, dst = (CALLER, CALLEE) if direction == "caller" else (CALLEE, CALLER)
    arrivals, _ = build_stream(spec)
    return [IpPacket(a.ts, *src, *dst, "udp", a.payload, "rtp") for a in arrivals]


def rtp_call(
    streams: Sequence[tuple[str, RtpStreamSpec]], extra: Sequence[IpPacket] = ()
) -> tuple[CallRecord, Run]:
    """An answered call (PCMU + telephone-event 101, no BYE) carrying exactly ``streams``
    (``("caller" | "callee", spec)``) and ``extra`` packets."""
    scen = Call(call_id=CALL_ID, rtp=False, bye=False).build()
    packets = list(scen.packets)
    for direction, spec in streams:
        packets += _packets(direction, spec)
    packets += extra
    packets.sort(key=lambda p: p.ts)
    run = analyze_scenario(packets)
    return run.call(CALL_ID), run


def _stream(rec: CallRecord, ssrc: int) -> StreamRecord:
    found = [s for s in rec.streams if s.ssrc == ssrc]
    assert len(found) == 1, rec.streams
    return found[0]


def _spec(**kw: object) -> RtpStreamSpec:
    base: dict[str, object] = {"ssrc": 0x1234ABCD, "start_seq": 1000, "start_ts": 160_000,
                               "count": 150, "start_time": START}  # fmt: skip
    base.update(kw)
    return RtpStreamSpec(**base)  # type: ignore[arg-type]


def _assert_counts(s: StreamRecord, e: RtpExpected) -> None:
    got = (s.packets, s.lost, s.duplicates, s.out_of_order, s.first_ts, s.last_ts)
    want = (e.packets, e.lost, e.duplicates, e.out_of_order, e.first_ts, e.last_ts)
    assert got == want
    assert s.loss_pct == pytest.approx(e.loss_pct, abs=0.0005)


def _assert_jitter(s: StreamRecord, max_delta: float, max_j: float, mean_j: float) -> None:
    assert s.max_delta_ms == pytest.approx(max_delta, abs=JITTER_ABS_MS)
    assert s.max_jitter_ms == pytest.approx(max_j, abs=JITTER_ABS_MS)
    assert s.mean_jitter_ms == pytest.approx(mean_j, abs=JITTER_ABS_MS)


def _jitter_pattern(seed: int, count: int, spread_ms: float = 6.0) -> dict[int, float]:
    """Arrival offsets that never reorder packets (|offset| < ptime / 2)."""
    rnd = random.Random(seed)
    return {i: round(rnd.uniform(-spread_ms, spread_ms), 3) for i in range(count)}


def test_reference_jitter_agrees_with_the_generator_on_plain_streams() -> None:
    """Our documented reference is tshark's on streams without events, duplicates or disorder."""
    for seed in range(5):
        spec = _spec(jitter_ms=_jitter_pattern(seed, 150), loss=frozenset({7, 8, 90}))
        arrivals, e = build_stream(spec)
        assert e.max_jitter_ms is not None and e.mean_jitter_ms is not None
        got = documented_jitter(arrivals, 8000)
        assert got == pytest.approx((e.max_delta_ms, e.max_jitter_ms, e.mean_jitter_ms), abs=1e-9)


def test_known_loss() -> None:
    spec = _spec(loss=frozenset({3, 10, 11, 12, 40, 148}))
    rec, run = rtp_call([("caller", spec)])
    _, e = build_stream(spec)
    s = _stream(rec, spec.ssrc)
    _assert_counts(s, e)
    assert (s.packets, s.lost, s.direction, s.codec) == (144, 6, "caller", "PCMU")
    _assert_jitter(s, e.max_delta_ms, e.max_jitter_ms or 0, e.mean_jitter_ms or 0)
    assert s.max_delta_ms == pytest.approx(80.0, abs=JITTER_ABS_MS)
    assert run.counters["rtp.unbound_packets"] == 0


def test_loss_at_the_edges_is_invisible() -> None:
    spec = _spec(loss=frozenset({0, 1, 149}))
    rec, _ = rtp_call([("callee", spec)])
    s = _stream(rec, spec.ssrc)
    assert (s.packets, s.lost, s.direction) == (147, 0, "callee")


def test_duplicates() -> None:
    spec = _spec(duplicates=frozenset({5, 20, 21}), jitter_ms=_jitter_pattern(1, 150))
    arrivals, e = build_stream(spec)
    rec, _ = rtp_call([("caller", spec)])
    s = _stream(rec, spec.ssrc)
    _assert_counts(s, e)
    assert (s.packets, s.lost, s.duplicates, s.out_of_order) == (153, -3, 3, 0)
    # duplicates do not feed the estimator (docs/QUALITY.md), unlike tshark
    _assert_jitter(s, *documented_jitter(arrivals, 8000))


def test_reordering() -> None:
    spec = _spec(reorder=((10, 11), (30, 33), (100, 101)), jitter_ms=_jitter_pattern(2, 150, 3))
    arrivals, e = build_stream(spec)
    rec, _ = rtp_call([("caller", spec)])
    s = _stream(rec, spec.ssrc)
    _assert_counts(s, e)
    assert (s.packets, s.lost, s.out_of_order, s.duplicates) == (150, 0, 5, 0)
    _assert_jitter(s, *documented_jitter(arrivals, 8000))


@pytest.mark.parametrize("start_seq", [65500, 65535, 0])
def test_sequence_wrap(start_seq: int) -> None:
    spec = _spec(start_seq=start_seq, count=200, loss=frozenset({20, 36, 37, 120}),
                 duplicates=frozenset({35}), start_ts=0xFFFFF000)  # fmt: skip
    arrivals, e = build_stream(spec)
    rec, _ = rtp_call([("caller", spec)])
    s = _stream(rec, spec.ssrc)
    _assert_counts(s, e)
    assert (s.packets, s.lost, s.duplicates) == (197, 3, 1)
    _assert_jitter(s, *documented_jitter(arrivals, 8000))


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_jitter_from_a_known_arrival_pattern(seed: int) -> None:
    spec = _spec(count=300, jitter_ms=_jitter_pattern(seed, 300, 9.0), loss=frozenset({50}))
    _, e = build_stream(spec)
    assert e.max_jitter_ms is not None and e.mean_jitter_ms is not None
    rec, _ = rtp_call([("callee", spec)])
    s = _stream(rec, spec.ssrc)
    _assert_counts(s, e)
    assert e.max_jitter_ms > 2.0  # a pattern that does move the estimator
    _assert_jitter(s, e.max_delta_ms, e.max_jitter_ms, e.mean_jitter_ms)


def test_telephone_events_counted_but_not_feeding_jitter() -> None:
    events = (DtmfEvent("4", 20, 10), DtmfEvent("#", 60, 8), DtmfEvent("D", 100, 6))
    spec = _spec(jitter_ms=_jitter_pattern(5, 150), dtmf=events)
    arrivals, with_events = build_stream(spec)
    slots = frozenset(i for ev in events for i in range(ev.start, ev.start + ev.packets))
    _, audio_only = build_stream(replace(spec, dtmf=(), loss=slots))
    assert audio_only.max_jitter_ms is not None and audio_only.mean_jitter_ms is not None
    rec, _ = rtp_call([("caller", spec)])
    s = _stream(rec, spec.ssrc)
    _assert_counts(s, with_events)
    assert (s.packets, s.telephone_events, s.payload_type) == (150, 24, 0)
    # jitter: that of the same stream without its events (docs/QUALITY.md)
    assert s.max_jitter_ms == pytest.approx(audio_only.max_jitter_ms, abs=JITTER_ABS_MS)
    assert s.mean_jitter_ms == pytest.approx(audio_only.mean_jitter_ms, abs=JITTER_ABS_MS)
    # delta: to the previous packet of any kind, events included (as Wireshark)
    _assert_jitter(s, *documented_jitter(arrivals, 8000))
    assert s.max_delta_ms == pytest.approx(with_events.max_delta_ms, abs=JITTER_ABS_MS)
    assert s.max_delta_ms < audio_only.max_delta_ms - 100
    # tshark 4.0 (the generator's reference) makes the event the next audio packet's jitter
    # reference: J jumps after each digit; we deliberately do not
    assert with_events.max_jitter_ms is not None
    assert with_events.max_jitter_ms > s.max_jitter_ms + 1.0
    assert rec.dtmf == "4#D"


def test_new_ssrc_on_the_same_five_tuple_is_a_new_stream() -> None:
    first = _spec(ssrc=0x11111111, count=50, loss=frozenset({7}))
    second = _spec(ssrc=0x22222222, count=80, start_seq=30000, start_ts=999,
                   start_time=START + 1.5, duplicates=frozenset({3}))  # fmt: skip
    rec, _ = rtp_call([("caller", first), ("caller", second)])
    assert [s.ssrc for s in rec.streams] == [0x11111111, 0x22222222]
    for spec in (first, second):
        _, e = build_stream(spec)
        _assert_counts(_stream(rec, spec.ssrc), e)
    assert {(s.src_port, s.dst_port) for s in rec.streams} == {(40000, 50000)}


def test_interleaved_ssrcs_on_one_five_tuple() -> None:
    a = _spec(ssrc=0xAAAA0001, count=100, loss=frozenset({40}))
    b = _spec(ssrc=0xBBBB0002, count=100, start_seq=5, start_time=START + 0.005)
    rec, _ = rtp_call([("callee", a), ("callee", b)])
    for spec in (a, b):
        arrivals, e = build_stream(spec)
        s = _stream(rec, spec.ssrc)
        _assert_counts(s, e)
        _assert_jitter(s, *documented_jitter(arrivals, 8000))


def _lsr(ts: float) -> int:
    sec, frac = ntp_time(ts)
    return ((sec & 0xFFFF) << 16) | (frac >> 16)


def test_rtcp_sr_rr_attached_to_the_right_stream() -> None:
    x = _spec(ssrc=0x0000AAAA, count=200)
    y = _spec(ssrc=0x0000BBBB, count=200, start_seq=7000, start_time=START + 0.010)
    rtcp: list[IpPacket] = []
    rr_delays = (0.045, 0.060, 0.030)
    dlsr = round(0.025 * 65536)
    for k, delay in enumerate(rr_delays):
        t_sr = round(START + 0.5 + k, 6)
        about_y = ReportBlock(y.ssrc, fraction_lost=0, cumulative_lost=0, jitter=16 + k)
        sr = rtcp_sr(x.ssrc, t_sr, 0, 25 + 50 * k, 160 * (25 + 50 * k), [about_y])
        rtcp.append(IpPacket(t_sr, CALLER[0], 40001, CALLEE[0], 50001, "udp", sr, "rtcp"))
        about_x = ReportBlock(x.ssrc, fraction_lost=(64, 128, 32)[k], cumulative_lost=3 + k,
                              jitter=40 * (k + 1), lsr=_lsr(t_sr), dlsr=dlsr)  # fmt: skip
        rr = rtcp_rr(y.ssrc, [about_x])
        t_rr = round(t_sr + delay, 6)
        rtcp.append(IpPacket(t_rr, CALLEE[0], 50001, CALLER[0], 40001, "udp", rr, "rtcp"))
    rec, run = rtp_call([("caller", x), ("callee", y)], rtcp)
    sx, sy = _stream(rec, x.ssrc), _stream(rec, y.ssrc)
    assert sx.rtcp is not None and sy.rtcp is not None
    rtts = [(d - dlsr / 65536) * 1000 for d in rr_delays]
    assert (sx.rtcp.sr_count, sx.rtcp.rr_count) == (3, 3)
    assert (sx.rtcp.fraction_lost_max, sx.rtcp.cumulative_lost) == (0.5, 5)
    assert sx.rtcp.jitter_max_ms == pytest.approx(120 * 1000 / 8000)
    assert sx.rtcp.rtt_avg_ms == pytest.approx(sum(rtts) / 3, abs=0.002)
    assert sx.rtcp.rtt_max_ms == pytest.approx(max(rtts), abs=0.002)
    assert (sy.rtcp.sr_count, sy.rtcp.rr_count, sy.rtcp.cumulative_lost) == (0, 3, 0)
    assert (sy.rtcp.fraction_lost_max, sy.rtcp.rtt_avg_ms) == (0.0, None)
    assert sy.rtcp.jitter_max_ms == pytest.approx(18 * 1000 / 8000)
    assert run.counters["rtcp.packets"] == 6
    assert run.counters["rtp.unbound_packets"] == 0


def test_rtcp_of_a_generated_call_matches_its_truth() -> None:
    call = Call(rtcp=True, talk_s=4.0, caller_media=MediaOpts(loss=frozenset({30, 31, 150})),
                callee_media=MediaOpts(jitter_ms=_jitter_pattern(3, 200)))  # fmt: skip
    scen = call.build()
    rec = analyze_scenario(scen).call(call.call_id)
    assert_call(rec, scen.calls[0], scen)
    for st in scen.calls[0].streams:
        got = next(s for s in rec.streams if s.ssrc == st.ssrc).rtcp
        t = st.rtcp
        assert got is not None and t is not None
        assert (got.sr_count, got.rr_count, got.cumulative_lost) == (
            t.sr_count,
            t.report_blocks,
            t.cumulative_lost,
        )
        assert got.fraction_lost_max == t.fraction_lost_max
        assert got.jitter_max_ms == pytest.approx(t.jitter_max_ms)
    assert any((s.rtcp.cumulative_lost or 0) > 0 for s in rec.streams if s.rtcp)


def test_rtp_bound_to_no_call_is_counted_and_reported() -> None:
    orphan = RtpStreamSpec(ssrc=0xDEAD0001, count=60, start_time=START, loss=frozenset({9}),
                           jitter_ms=_jitter_pattern(4, 60))  # fmt: skip
    short = RtpStreamSpec(ssrc=0xDEAD0002, count=4, start_time=START)
    five = RtpStreamSpec(ssrc=0xDEAD0003, count=5, start_time=START)
    extra: list[IpPacket] = []
    for spec, sport, dport in ((orphan, 30000, 30002), (short, 31000, 31002), (five, 32000, 32002)):
        arrivals, _ = build_stream(spec)
        extra += [IpPacket(a.ts, "10.9.9.1", sport, "10.9.9.2", dport, "udp", a.payload, "rtp")
                  for a in arrivals]  # fmt: skip
    call_stream = _spec(count=50)
    rec, run = rtp_call([("caller", call_stream)], extra)
    assert [s.ssrc for s in rec.streams] == [call_stream.ssrc]
    assert run.counters["rtp.unbound_packets"] == 59 + 4 + 5
    got = {s.ssrc: s for s in run.orphan_streams}
    assert sorted(got) == [0xDEAD0001, 0xDEAD0003]
    arrivals, e = build_stream(orphan)
    s = got[0xDEAD0001]
    assert (s.src_ip, s.src_port, s.dst_ip, s.dst_port) == ("10.9.9.1", 30000, "10.9.9.2", 30002)
    assert (s.direction, s.codec, s.payload_type) == (None, "PCMU", 0)
    _assert_counts(s, e)
    assert e.max_jitter_ms is not None and e.mean_jitter_ms is not None
    _assert_jitter(s, e.max_delta_ms, e.max_jitter_ms, e.mean_jitter_ms)
    assert got[0xDEAD0003].packets == 5
