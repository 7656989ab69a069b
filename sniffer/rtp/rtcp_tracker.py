"""RTCP reports of one call, summarised per RTP stream (records.RtcpSummary).

A stream (SSRC X) is described by the sender reports X sends and by the report blocks and XR
VoIP Metrics blocks *about* X that its receiver sends back. The round-trip time is measured at
the sniffer's position: when a report block about X echoes, in LSR, the middle 32 bits of the
NTP timestamp of an SR of X seen at capture time t_sr, and arrives at t_rr with a delay since
that SR of DLSR, rtt = t_rr - t_sr - DLSR / 65536: the time the SR took from the sniffer to the
receiver plus the time the report took back to the sniffer (RFC 3550 section 6.4.1).
"""

from dataclasses import dataclass

from db.records import RtcpSummary
from sniffer.rtp.rtcp import ReceiverReport, Report, ReportBlock, SenderReport, XrVoipMetrics

SR_MEMORY = 32
"""Sender reports remembered per SSRC for matching LSR values."""
RTT_TOLERANCE_S = 0.001
"""Negative round trips down to -1 ms (DLSR rounding, capture timestamps) count as 0."""
DLSR_UNITS = 65536.0


@dataclass(slots=True)
class _About:
    """What the receiver said about one source."""

    blocks: int = 0
    fraction_lost_max: int = -1
    cumulative_lost: int | None = None
    jitter_max: int = -1
    rtt_sum: float = 0.0
    rtt_n: int = 0
    rtt_max: float = 0.0
    xr: XrVoipMetrics | None = None


class RtcpTracker:
    """Accumulates RTCP for the streams of one call."""

    __slots__ = ("_about", "_sr_count", "_sr_times")

    def __init__(self) -> None:
        self._sr_count: dict[int, int] = {}
        self._sr_times: dict[int, dict[int, float]] = {}
        """SSRC -> {middle 32 bits of the SR's NTP timestamp: capture time}."""
        self._about: dict[int, _About] = {}

    def absorb(self, other: "RtcpTracker") -> None:
        """Take in what ``other`` saw of the same call (another worker's streams,
        sniffer/workers): the reports of an SSRC come to one worker, so counts add up and
        per-SSRC state is taken as it is where only ``other`` has it."""
        for ssrc, n in other._sr_count.items():
            self._sr_count[ssrc] = self._sr_count.get(ssrc, 0) + n
        for ssrc, times in other._sr_times.items():
            self._sr_times.setdefault(ssrc, times)
        for ssrc, about in other._about.items():
            self._about.setdefault(ssrc, about)

    def add(self, ts: float, packets: list[Report]) -> None:
        """Account the reports of one RTCP datagram captured at ``ts`` (epoch seconds)."""
        for p in packets:
            if isinstance(p, SenderReport):
                self._sr_count[p.ssrc] = self._sr_count.get(p.ssrc, 0) + 1
                times = self._sr_times.setdefault(p.ssrc, {})
                times[((p.ntp_sec & 0xFFFF) << 16) | (p.ntp_frac >> 16)] = ts
                if len(times) > SR_MEMORY:
                    del times[next(iter(times))]
                for b in p.reports:
                    self._block(ts, b)
            elif isinstance(p, ReceiverReport):
                for b in p.reports:
                    self._block(ts, b)
            else:
                self._about_ssrc(p.ssrc).xr = p

    def _about_ssrc(self, ssrc: int) -> _About:
        a = self._about.get(ssrc)
        if a is None:
            a = self._about[ssrc] = _About()
        return a

    def _block(self, ts: float, b: ReportBlock) -> None:
        a = self._about_ssrc(b.ssrc)
        a.blocks += 1
        a.fraction_lost_max = max(a.fraction_lost_max, b.fraction_lost)
        a.cumulative_lost = b.cumulative_lost
        a.jitter_max = max(a.jitter_max, b.jitter)
        if b.lsr == 0:
            return
        t_sr = self._sr_times.get(b.ssrc, {}).get(b.lsr)
        if t_sr is None:
            return
        rtt = ts - t_sr - b.dlsr / DLSR_UNITS
        if rtt < -RTT_TOLERANCE_S:
            return
        rtt = max(rtt, 0.0)
        a.rtt_sum += rtt
        a.rtt_n += 1
        a.rtt_max = max(a.rtt_max, rtt)

    def summary(self, ssrc: int, clock_rate: int) -> RtcpSummary | None:
        """RTCP about stream ``ssrc`` (jitter converted with ``clock_rate``); None if none."""
        sr = self._sr_count.get(ssrc, 0)
        a = self._about.get(ssrc)
        if a is None:
            return RtcpSummary(sr_count=sr) if sr else None
        s = RtcpSummary(sr_count=sr, rr_count=a.blocks)
        if a.blocks:
            s.fraction_lost_max = a.fraction_lost_max / 256.0
            s.cumulative_lost = a.cumulative_lost
            if clock_rate > 0:
                s.jitter_max_ms = a.jitter_max * 1000.0 / clock_rate
        if a.rtt_n:
            s.rtt_avg_ms = a.rtt_sum * 1000.0 / a.rtt_n
            s.rtt_max_ms = a.rtt_max * 1000.0
        xr = a.xr
        if xr is not None:
            s.xr_mos_lq = xr.mos_lq
            s.xr_mos_cq = xr.mos_cq
            s.xr_r_factor = xr.r_factor
            s.xr_loss_rate = xr.loss_rate
            s.xr_discard_rate = xr.discard_rate
        return s
