"""RtcpTracker summaries: report blocks about a stream, RTT from LSR/DLSR, XR VoIP metrics."""

import pytest

from sniffer.rtp.rtcp import ReceiverReport, ReportBlock, SenderReport, XrVoipMetrics
from sniffer.rtp.rtcp_tracker import SR_MEMORY, RtcpTracker

A = 0xA0A0A0A0  # the stream summarised: its source sends SRs
B = 0xB0B0B0B0  # the receiving side
T0 = 1_700_000_000.0


def sr_of(ssrc: int, ntp_sec: int, ntp_frac: int, *blocks: ReportBlock) -> SenderReport:
    return SenderReport(ssrc, ntp_sec, ntp_frac, 0, 0, 0, list(blocks))


def middle(ntp_sec: int, ntp_frac: int) -> int:
    return ((ntp_sec & 0xFFFF) << 16) | (ntp_frac >> 16)


def xr_about(ssrc: int, lq: float | None, loss: float) -> XrVoipMetrics:
    return XrVoipMetrics(
        ssrc, loss, 0.01, 0.0, 0.0, 10, 20, None, None, 88, None, lq, 3.9, 40, 60, 100, reporter=B
    )


def test_nothing_known() -> None:
    assert RtcpTracker().summary(A, 8000) is None


def test_sender_reports_only() -> None:
    t = RtcpTracker()
    t.add(T0, [sr_of(A, 100, 0), sr_of(A, 105, 0)])
    s = t.summary(A, 8000)
    assert s is not None
    assert (s.sr_count, s.rr_count, s.fraction_lost_max, s.rtt_avg_ms, s.jitter_max_ms) == (
        2,
        0,
        None,
        None,
        None,
    )


def test_receiver_blocks_and_rtt() -> None:
    t = RtcpTracker()
    t.add(T0, [sr_of(A, 3711615344, 0x40000000)])
    t.add(T0 + 5, [sr_of(A, 3711615349, 0x80000000)])
    # B reports 1.5 s after the first SR, having held it 1.48 s: 20 ms round trip
    b1 = ReportBlock(A, 26, 3, 1000, 160, middle(3711615344, 0x40000000), int(1.48 * 65536))
    t.add(T0 + 1.5, [ReceiverReport(B, [b1])])
    # an SR of B carrying a block about A: 40 ms round trip against the second SR of A
    b2 = ReportBlock(A, 13, 5, 1250, 80, middle(3711615349, 0x80000000), int(0.46 * 65536))
    t.add(T0 + 5.5, [sr_of(B, 1, 1, b2)])
    # LSR 0 (no SR received yet) and an unknown LSR do not give a round trip
    t.add(T0 + 6, [ReceiverReport(B, [ReportBlock(A, 0, 6, 1300, 40, 0, 0)])])
    t.add(T0 + 7, [ReceiverReport(B, [ReportBlock(A, 0, 6, 1350, 40, 0xDEADBEEF, 10)])])
    s = t.summary(A, 8000)
    assert s is not None
    assert (s.sr_count, s.rr_count, s.cumulative_lost) == (2, 4, 6)
    assert s.fraction_lost_max == pytest.approx(26 / 256)
    assert s.jitter_max_ms == pytest.approx(160 / 8)
    assert s.rtt_max_ms == pytest.approx(40.0, abs=0.02)
    assert s.rtt_avg_ms == pytest.approx(30.0, abs=0.02)
    unknown_clock = t.summary(A, 0)
    assert unknown_clock is not None and unknown_clock.jitter_max_ms is None
    sb = t.summary(B, 8000)
    assert sb is not None and (sb.sr_count, sb.rr_count) == (1, 0)


def test_negative_round_trip() -> None:
    t = RtcpTracker()
    t.add(T0, [sr_of(A, 10, 0)])
    t.add(
        T0 + 1.0,
        [ReceiverReport(B, [ReportBlock(A, 0, 0, 0, 0, middle(10, 0), int(1.0005 * 65536))])],
    )
    t.add(
        T0 + 1.0, [ReceiverReport(B, [ReportBlock(A, 0, 0, 0, 0, middle(10, 0), int(1.2 * 65536))])]
    )
    s = t.summary(A, 8000)
    assert s is not None
    assert s.rtt_max_ms == s.rtt_avg_ms == 0.0  # -0.5 ms clamped, -200 ms discarded


def test_sr_memory_is_bounded() -> None:
    t = RtcpTracker()
    for i in range(SR_MEMORY + 5):
        t.add(T0 + i, [sr_of(A, 1000 + i, 0)])
    t.add(T0 + 100, [ReceiverReport(B, [ReportBlock(A, 0, 0, 0, 0, middle(1000, 0), 0)])])
    t.add(
        T0 + 101,
        [ReceiverReport(B, [ReportBlock(A, 0, 0, 0, 0, middle(1000 + SR_MEMORY + 4, 0), 0)])],
    )
    s = t.summary(A, 8000)
    assert s is not None and s.sr_count == SR_MEMORY + 5
    assert s.rtt_avg_ms == pytest.approx((101 - (SR_MEMORY + 4)) * 1000)


def test_xr_voip_metrics_last_wins() -> None:
    t = RtcpTracker()
    t.add(T0, [xr_about(A, 4.1, 0.02)])
    t.add(T0 + 5, [xr_about(A, 3.8, 0.05)])
    s = t.summary(A, 8000)
    assert s is not None
    assert (s.sr_count, s.rr_count, s.xr_mos_lq, s.xr_mos_cq, s.xr_r_factor) == (0, 0, 3.8, 3.9, 88)
    assert (s.xr_loss_rate, s.xr_discard_rate) == (0.05, 0.01)
    assert s.fraction_lost_max is None
