"""Golden captures: StreamStats against tshark 4.0's ``-z rtp,streams`` (tshark_rtp_streams.json),
DtmfDetector against the digits listed in MANIFEST.md, RTCP parser and tracker on a real capture."""

import json
import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import dpkt
import pytest

from sniffer.rtp.dtmf import DtmfDetector
from sniffer.rtp.rtcp import ReceiverReport, SenderReport, looks_like_rtcp, parse_compound
from sniffer.rtp.rtcp_tracker import RtcpTracker
from sniffer.rtp.stats import StreamStats

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "golden"
TSHARK = json.loads((GOLDEN / "tshark_rtp_streams.json").read_text())
STREAMS = [(fn, s) for fn, streams in TSHARK.items() for s in streams]

LINKTYPE_ETHERNET = 1
LINKTYPE_LINUX_SLL = 113
SLL_HEADER_LEN = 16
PT_CLOCK = {0: 8000, 8: 8000, 13: 8000}
EVENT_PT = 101
TS_FAX = "sip_t38_fax_megaco_g711a.pcap"
FAX_SSRC_SWITCHING_TO_T38 = 0x0EAF0EAF

Key = tuple[str, int, str, int, int]


def udp_datagrams(name: str) -> Iterator[tuple[float, str, int, str, int, bytes]]:
    """(ts, src, sport, dst, dport, payload) of every IPv4/UDP packet of a golden capture."""
    with (GOLDEN / name).open("rb") as f:
        reader = dpkt.pcapng.Reader(f) if name.endswith(".pcapng") else dpkt.pcap.Reader(f)
        link = reader.datalink()
        for ts, buf in reader:
            if link == LINKTYPE_ETHERNET:
                ip = dpkt.ethernet.Ethernet(buf).data
            elif link == LINKTYPE_LINUX_SLL:
                ip = dpkt.ip.IP(buf[SLL_HEADER_LEN:])
            else:
                continue
            if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.udp.UDP):
                u = ip.data
                src, dst = socket.inet_ntoa(ip.src), socket.inet_ntoa(ip.dst)
                yield float(ts), src, u.sport, dst, u.dport, bytes(u.data)


def tshark_sees_as_rtp(name: str, ssrc: int, seq: int) -> bool:
    """tshark decodes part of one fax stream as T.38 (the SDP moved the port to image/t38
    while G.711 packets still flowed): sequence numbers 1832..1837 and from 1844 on."""
    if name == TS_FAX and ssrc == FAX_SSRC_SWITCHING_TO_T38:
        return seq < 1832 or 1838 <= seq <= 1843
    return True


def feed(name: str) -> dict[Key, StreamStats]:
    """StreamStats of the streams tshark lists for ``name``, fed in capture order."""
    keys = {(s["src"], s["sport"], s["dst"], s["dport"], int(s["ssrc"], 16)) for s in TSHARK[name]}
    events = frozenset({EVENT_PT}) if "dtmf" in name else frozenset()
    stats = {k: StreamStats(PT_CLOCK, events) for k in keys}
    for ts, src, sport, dst, dport, data in udp_datagrams(name):
        if len(data) < 12:
            continue
        _b0, b1, seq, rtp_ts, ssrc = struct.unpack_from("!BBHII", data)
        st = stats.get((src, sport, dst, dport, ssrc))
        if st is not None and tshark_sees_as_rtp(name, ssrc, seq):
            st.add(seq, rtp_ts, ts, b1 & 0x7F, bool(b1 & 0x80))
    return stats


_FED: dict[str, dict[Key, StreamStats]] = {}


def stream_stats(name: str, s: dict[str, object]) -> StreamStats:
    if name not in _FED:
        _FED[name] = feed(name)
    ssrc = int(str(s["ssrc"]), 16)
    return _FED[name][
        (str(s["src"]), int(str(s["sport"])), str(s["dst"]), int(str(s["dport"])), ssrc)
    ]


def close(ours: float, theirs: float) -> bool:
    return abs(ours - theirs) <= max(0.05, 0.02 * abs(theirs))


def ids(p: tuple[str, dict[str, object]]) -> str:
    return f"{p[0]}:{p[1]['ssrc']}"


def test_every_listed_capture_has_streams() -> None:
    assert len(STREAMS) == 17


@pytest.mark.parametrize("case", STREAMS, ids=[ids(c) for c in STREAMS])
def test_packets_and_lost_equal_tshark(case: tuple[str, dict[str, object]]) -> None:
    name, s = case
    st = stream_stats(name, s)
    assert st.packets == s["packets"]
    assert st.lost == s["lost"]
    assert round(st.loss_pct, 1) == s["lost_pct"]


def has_events(s: dict[str, object]) -> bool:
    """telephone-event / un-negotiated event payload types: the jitter rule deliberately differs."""
    return "rtpevent" in str(s["payload"]) or "RTPType" in str(s["payload"])


AUDIO = [c for c in STREAMS if not has_events(c[1])]


@pytest.mark.parametrize("case", AUDIO, ids=[ids(c) for c in AUDIO])
def test_delta_and_jitter_agree_with_tshark(case: tuple[str, dict[str, object]]) -> None:
    name, s = case
    st = stream_stats(name, s)
    assert st.max_jitter_ms is not None and st.mean_jitter_ms is not None
    assert st.max_delta_ms is not None
    assert close(st.max_jitter_ms, float(str(s["max_jitter_ms"])))
    assert close(st.mean_jitter_ms, float(str(s["mean_jitter_ms"])))
    assert close(st.max_delta_ms, float(str(s["max_delta_ms"])))
    # tshark prints three decimals: on these streams we agree to the last digit
    assert round(st.max_jitter_ms, 3) == s["max_jitter_ms"]
    assert round(st.mean_jitter_ms, 3) == s["mean_jitter_ms"]
    assert round(st.max_delta_ms, 3) == s["max_delta_ms"]


def test_fax_stream_with_one_event_packet_still_agrees() -> None:
    """0x0EAF0EAF carries one PT 102 (ANS tone) packet: tshark feeds it to its delta/jitter
    reference, we do not; the figures still agree within the tolerance."""
    (s,) = [s for s in TSHARK[TS_FAX] if s["ssrc"] == "0x0EAF0EAF"]
    st = stream_stats(TS_FAX, s)
    assert st.max_jitter_ms is not None and st.mean_jitter_ms is not None
    assert st.max_delta_ms is not None
    assert st.payload_types == {8, 102}
    assert round(st.max_delta_ms, 3) == s["max_delta_ms"] == 140.44
    assert round(st.mean_jitter_ms, 3) == s["mean_jitter_ms"] == 0.629
    assert round(st.max_jitter_ms, 3) == 6.974  # tshark 7.007: its event packet inflates J
    assert close(st.max_jitter_ms, 7.007)


def test_fax_stream_with_timestamp_reset_differs_on_purpose() -> None:
    """0x17D90134 restarts its RTP timestamps at 0 (seq 1145). tshark 4.0 then treats 9.2 s of
    packets as timestamp-backwards and reports a 9199.8 ms delta and 2730 ms jitter; we restart
    the jitter reference at the discontinuity. The real network figures remain visible."""
    (s,) = [s for s in TSHARK[TS_FAX] if s["ssrc"] == "0x17D90134"]
    st = stream_stats(TS_FAX, s)
    assert st.max_jitter_ms is not None and st.max_delta_ms is not None
    assert s["max_delta_ms"] == 9199.842 and s["max_jitter_ms"] == 2730.468
    assert round(st.max_delta_ms, 3) == 179.647  # 180 ms network stall at seq 1329
    assert 15.0 < st.max_jitter_ms < 16.0
    assert st.payload_types == {8, 13, 100}
    assert st.audio_packets == 3147 - 3  # the three PT 100 packets have no known clock rate


ALL_MARKED = 0x37ED87F3
"""Every packet of this event-only stream has the marker bit: no packet is regular."""


def test_event_only_streams_have_no_jitter() -> None:
    """Events never feed the jitter estimator: jitter is null (not computed), not 0.0. An
    arrival gap needs no clock: max delta equals tshark's, except where no packet is regular
    (all marked), where tshark prints 0.000 and we null."""
    for name in ("rtp_rfc2833_dtmf_all_digits.pcapng", "rtp_rfc2833_dtmf_digit1_sipp.pcap"):
        for s in TSHARK[name]:
            st = stream_stats(name, s)
            assert st.event_packets == st.packets == s["packets"]
            assert st.max_jitter_ms is None and st.mean_jitter_ms is None
            if int(str(s["ssrc"]), 16) == ALL_MARKED:
                assert st.max_delta_ms is None and s["max_delta_ms"] == 0.0
            else:
                assert st.max_delta_ms is not None
                assert round(st.max_delta_ms, 3) == s["max_delta_ms"]
            assert st.mos("telephone-event") is None
            assert st.payload_type == EVENT_PT


def test_dtmf_retransmissions_are_duplicates() -> None:
    (s,) = TSHARK["rtp_rfc2833_dtmf_digit1_sipp.pcap"]
    st = stream_stats("rtp_rfc2833_dtmf_digit1_sipp.pcap", s)
    assert (st.packets, st.expected, st.lost, st.duplicates, st.missing) == (10, 8, -2, 2, 0)


def dtmf_digits(name: str) -> dict[int, str]:
    detectors: dict[int, DtmfDetector] = {}
    for _ts, _src, _sport, _dst, _dport, data in udp_datagrams(name):
        _b0, b1, _seq, rtp_ts, ssrc = struct.unpack_from("!BBHII", data)
        if b1 & 0x7F == EVENT_PT:
            detectors.setdefault(ssrc, DtmfDetector()).add(rtp_ts, data[12:])
    return {ssrc: d.digits for ssrc, d in detectors.items()}


def test_dtmf_digit1_capture() -> None:
    assert dtmf_digits("rtp_rfc2833_dtmf_digit1_sipp.pcap") == {0x0E05384E: "1"}


def test_dtmf_all_digits_capture() -> None:
    assert dtmf_digits("rtp_rfc2833_dtmf_all_digits.pcapng") == {
        0x37ED87F3: "123456789*0#5",
        0xEE693E61: "54321#",
    }


def rtcp_datagrams() -> list[tuple[float, bytes]]:
    return [(ts, data) for ts, *_addr, data in udp_datagrams("rtcp_compound_sll.pcap")]


SR_SSRC = 0x5D931534
RR_SSRC = 0x01932DB4


def test_rtcp_capture_fields() -> None:
    datagrams = rtcp_datagrams()
    assert len(datagrams) == 5
    assert all(looks_like_rtcp(d) for _ts, d in datagrams)
    parsed = [parse_compound(d) for _ts, d in datagrams]
    assert [type(p[0]) for p in parsed] == [SenderReport, ReceiverReport] * 2 + [SenderReport]
    assert all(len(p) == 1 for p in parsed)  # SDES (and BYE) validated and skipped
    sr = parsed[0][0]
    assert isinstance(sr, SenderReport)
    assert (sr.ssrc, sr.ntp_sec, sr.rtp_ts, sr.packet_count, sr.octet_count) == (
        SR_SSRC,
        3711615344,
        32000,
        200,
        32000,
    )
    rr = parsed[1][0]
    assert isinstance(rr, ReceiverReport)
    (b,) = rr.reports
    assert (rr.ssrc, b.ssrc, b.fraction_lost, b.cumulative_lost, b.highest_seq, b.jitter) == (
        RR_SSRC,
        0,
        1,
        1,
        48834,
        1,
    )
    rr2 = parsed[3][0]
    assert isinstance(rr2, ReceiverReport)
    (b2,) = rr2.reports
    assert (b2.ssrc, b2.highest_seq, b2.jitter, b2.dlsr) == (SR_SSRC, 49035, 6, 263452)
    assert b2.lsr == ((sr.ntp_sec & 0xFFFF) << 16) | (sr.ntp_frac >> 16)


def test_rtcp_tracker_on_capture() -> None:
    tracker = RtcpTracker()
    datagrams = rtcp_datagrams()
    for ts, d in datagrams:
        tracker.add(ts, parse_compound(d))
    s = tracker.summary(SR_SSRC, 8000)
    assert s is not None
    assert (s.sr_count, s.rr_count, s.cumulative_lost) == (3, 1, 1)
    assert s.fraction_lost_max == 0.0
    assert s.jitter_max_ms == pytest.approx(6 / 8)
    rtt = datagrams[3][0] - datagrams[0][0] - 263452 / 65536
    assert s.rtt_avg_ms == s.rtt_max_ms == pytest.approx(rtt * 1000)
    assert 8.0 < rtt * 1000 < 8.4
    r = tracker.summary(RR_SSRC, 8000)
    assert r is not None
    assert (r.sr_count, r.rr_count, r.rtt_avg_ms, r.jitter_max_ms) == (0, 2, None, 0.0)
