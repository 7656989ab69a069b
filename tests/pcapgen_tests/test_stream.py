"""RTP streams: packet layout, reference figures by hand, and agreement with tshark 4.0."""

from pathlib import Path

import pytest

from tests.pcapgen.frames import ethernet, ipv4, udp
from tests.pcapgen.reader import tshark_rtp_streams
from tests.pcapgen.rtp import ReportBlock, rtcp_rr, rtcp_sdes, rtcp_sr, rtp_packet, telephone_event
from tests.pcapgen.stream import (
    DtmfEvent,
    ReceiverState,
    RtpStreamSpec,
    build_stream,
    receiver_report,
)
from tests.pcapgen.writer import write_pcap

T0 = 1_700_000_000.0


def test_rtp_packet_and_events() -> None:
    pkt = rtp_packet(0x1234, 0xDEADBEEF, 0xCAFEBABE, 8, b"ab", marker=True)
    assert pkt == bytes.fromhex("80881234deadbeefcafebabe") + b"ab"
    assert telephone_event("#", True, 800, 10) == bytes.fromhex("0b8a0320")
    assert telephone_event("d", False, 160) == bytes.fromhex("0f0a00a0")
    with pytest.raises(ValueError, match="not a DTMF digit: 'x'"):
        telephone_event("x", False, 0)


def test_rtcp_layouts() -> None:
    rb = ReportBlock(ssrc=7, fraction_lost=64, cumulative_lost=-1, highest_seq=70000, jitter=12)
    sr = rtcp_sr(1, 1.5, 160, 10, 1600, [rb])
    assert sr[:4] == bytes.fromhex("81c8000c") and len(sr) == 4 * 13
    assert sr[8:12] == (2_208_988_801).to_bytes(4, "big") and sr[12:16] == bytes.fromhex("80000000")
    assert sr[28:32] == (7).to_bytes(4, "big") and sr[32:36] == bytes.fromhex("40ffffff")
    assert rtcp_rr(2)[:8] == bytes.fromhex("80c9000100000002")
    sdes = rtcp_sdes(3, "a@b")
    assert sdes[:4] == bytes.fromhex("81ca0003") and sdes[8:13] == b"\x01\x03a@b"


def test_slots_seq_ts_wrap() -> None:
    spec = RtpStreamSpec(ssrc=5, start_seq=65534, start_ts=2**32 - 160, count=4, start_time=T0)
    pkts, exp = build_stream(spec)
    assert [p.seq for p in pkts] == [65534, 65535, 0, 1]
    assert [p.rtp_ts for p in pkts] == [2**32 - 160, 0, 160, 320]
    assert [p.ts for p in pkts] == pytest.approx([T0, T0 + 0.02, T0 + 0.04, T0 + 0.06])
    assert pkts[0].payload[1] == 0x80 and pkts[1].payload[1] == 0x00
    assert (exp.packets, exp.expected, exp.lost, exp.max_jitter_ms) == (4, 4, 0, 0.0)


def test_loss_duplicates_reorder_by_hand() -> None:
    spec = RtpStreamSpec(ssrc=1, count=10, start_time=T0, loss=frozenset({3, 4}),
                         duplicates=frozenset({6}), reorder=((7, 8),))  # fmt: skip
    pkts, exp = build_stream(spec)
    assert [p.seq - 1000 for p in pkts] == [0, 1, 2, 5, 6, 6, 8, 7, 9]
    assert (exp.packets, exp.expected, exp.lost) == (9, 10, 1)
    assert (exp.duplicates, exp.out_of_order) == (1, 1)
    # in order of arrival (ms): 0@0 1@20 2@40 5@100 6@120 6@120.1 8@140 7@160 9@180; each
    # packet against the previous one: D = 0, 0, 0, 0, 0.1, -20.1, +40, -20
    j, js = 0.0, []
    for d in (0.0, 0.0, 0.0, 0.0, 0.1, 20.1, 40.0, 20.0):
        j += (d - j) / 16
        js.append(j)
    assert exp.max_jitter_ms == pytest.approx(max(js), abs=1e-6)
    assert exp.mean_jitter_ms == pytest.approx(sum(js) / len(js), abs=1e-6)
    first_lost = build_stream(RtpStreamSpec(ssrc=1, count=10, loss=frozenset({0})))[1]
    assert (first_lost.expected, first_lost.lost) == (9, 0)


def test_jitter_recurrence_by_hand() -> None:
    # Slot 2 arrives 4 ms late: D2 = 4, D3 = 4, then 0: J = 1/4, 1/4 + (4 - 1/4)/16, ...
    _, exp = build_stream(RtpStreamSpec(ssrc=1, count=5, start_time=T0, jitter_ms={2: 4.0}))
    j, js = 0.0, []
    for d in (0.0, 4.0, 4.0, 0.0):
        j += (d - j) / 16
        js.append(j)
    assert exp.max_jitter_ms == pytest.approx(max(js))
    assert exp.mean_jitter_ms == pytest.approx(sum(js) / 4)
    assert exp.max_delta_ms == pytest.approx(24.0)


def test_dtmf_event_packets() -> None:
    spec = RtpStreamSpec(ssrc=9, count=12, start_time=T0, dtmf=(DtmfEvent("7", 2, 5),))
    pkts, exp = build_stream(spec)
    ev = pkts[2:7]
    assert {p.rtp_ts for p in ev} == {2 * 160} and [p.payload[1] for p in ev] == [0xE5] + [0x65] * 4
    durations = [int.from_bytes(p.payload[14:16], "big") for p in ev]
    ends = [p.payload[13] >> 7 for p in ev]
    assert durations == [160, 320, 480, 480, 480] and ends == [0, 0, 1, 1, 1]
    assert exp.telephone_events == 1 and pkts[7].rtp_ts == 7 * 160
    with pytest.raises(ValueError, match="does not fit the stream"):
        build_stream(RtpStreamSpec(ssrc=9, count=5, dtmf=(DtmfEvent("1", 3, 4),)))


def test_receiver_report() -> None:
    spec = RtpStreamSpec(ssrc=3, start_seq=65530, count=20, start_time=T0, loss=frozenset({2, 3}))
    pkts, _ = build_stream(spec)
    rep = receiver_report(spec, pkts, T0 + 0.1, ReceiverState())
    assert rep is not None
    block, state = rep
    assert (block.ssrc, block.cumulative_lost, block.highest_seq) == (3, 2, 65535)
    assert block.fraction_lost == (2 << 8) // 6 and state == ReceiverState(6, 4)
    assert receiver_report(spec, pkts, T0 - 1, ReceiverState()) is None


SPECS = {
    "loss_jitter_wrap": RtpStreamSpec(
        ssrc=0x1111, start_seq=65500, count=300, start_time=T0, loss=frozenset({5, 6, 7, 150, 299}),
        jitter_ms={i: ((i * 37) % 11 - 5) * 0.7 for i in range(300)},
    ),
    "duplicates": RtpStreamSpec(
        ssrc=0x2222, count=200, start_time=T0, duplicates=frozenset({10, 11, 100}),
        jitter_ms={i: (i % 4) * 1.5 for i in range(200)}, start_ts=2**32 - 8000,
    ),
    "dtmf": RtpStreamSpec(
        ssrc=0x3333, count=200, start_time=T0, pt=8, dtmf=(DtmfEvent("1", 20), DtmfEvent("9", 60, 12)),
        jitter_ms={i: (i % 3) * 2.0 for i in range(200)}, loss=frozenset({30}),
    ),
}  # fmt: skip


def test_reference_agrees_with_tshark(tmp_path: Path) -> None:
    frames = []
    expected = {}
    for k, (name, spec) in enumerate(SPECS.items()):
        pkts, exp = build_stream(spec)
        expected[spec.ssrc] = exp
        src, dst = f"10.9.0.{k + 1}", "10.9.1.1"
        for i, p in enumerate(pkts):
            dgram = udp(30000 + 2 * k, 40000, p.payload, src=src, dst=dst)
            frames.append((p.ts, ethernet(ipv4(src, dst, 17, dgram, ident=i))))
        assert exp.max_jitter_ms is not None, name
    frames.sort(key=lambda x: x[0])
    path = tmp_path / "streams.pcap"
    write_pcap(path, 1, frames)
    rows = {r.ssrc: r for r in tshark_rtp_streams(path)}
    assert set(rows) == set(expected)
    for ssrc, exp in expected.items():
        row = rows[ssrc]
        assert (row.packets, row.lost) == (exp.packets, exp.lost), hex(ssrc)
        assert row.max_jitter_ms == pytest.approx(exp.max_jitter_ms, abs=0.05)
        assert row.mean_jitter_ms == pytest.approx(exp.mean_jitter_ms, abs=0.05)
        assert row.max_delta_ms == pytest.approx(exp.max_delta_ms, abs=0.002)
