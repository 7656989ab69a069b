"""RTCP compound parsing: round trips, exact errors, arbitrary bytes."""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.rtp.rtcp import (
    ReceiverReport,
    ReportBlock,
    RtcpParseError,
    SenderReport,
    XrVoipMetrics,
    looks_like_rtcp,
    parse_compound,
)
from tests.hypo import examples


def header(pt: int, count: int, body: bytes, padding: int = 0) -> bytes:
    """One RTCP packet around ``body`` (a multiple of 4 bytes), optionally padded."""
    if padding:
        body += b"\x00" * (padding - 1) + bytes([padding])
    assert len(body) % 4 == 0
    b0 = 0x80 | (0x20 if padding else 0) | count
    return struct.pack("!BBH", b0, pt, len(body) // 4) + body


def block(b: ReportBlock) -> bytes:
    lost = (b.fraction_lost << 24) | (b.cumulative_lost & 0xFFFFFF)
    return struct.pack("!IIIIII", b.ssrc, lost, b.highest_seq, b.jitter, b.lsr, b.dlsr)


def sr(p: SenderReport, padding: int = 0) -> bytes:
    body = struct.pack(
        "!IIIIII", p.ssrc, p.ntp_sec, p.ntp_frac, p.rtp_ts, p.packet_count, p.octet_count
    )
    return header(200, len(p.reports), body + b"".join(block(b) for b in p.reports), padding)


def rr(p: ReceiverReport) -> bytes:
    return header(
        201, len(p.reports), struct.pack("!I", p.ssrc) + b"".join(block(b) for b in p.reports)
    )


def sdes(ssrc: int, cname: bytes) -> bytes:
    chunk = struct.pack("!IBB", ssrc, 1, len(cname)) + cname + b"\x00"
    chunk += b"\x00" * (-len(chunk) % 4)
    return header(202, 1, chunk)


def bye(ssrcs: list[int], reason: bytes = b"") -> bytes:
    body = b"".join(struct.pack("!I", s) for s in ssrcs)
    if reason:
        body += bytes([len(reason)]) + reason
        body += b"\x00" * (-len(body) % 4)
    return header(203, len(ssrcs), body)


def voip_block(m: XrVoipMetrics, raw: dict[str, int]) -> bytes:
    return struct.pack(
        "!BBHIBBBBHHHHbbBBBBBBBBHHH",
        7,
        0,
        8,
        m.ssrc,
        raw["loss"],
        raw["discard"],
        raw["bd"],
        raw["gd"],
        m.burst_duration,
        m.gap_duration,
        m.round_trip_delay,
        m.end_system_delay,
        raw["signal"],
        raw["noise"],
        raw["rerl"],
        m.gmin,
        raw["r"],
        raw["ext_r"],
        raw["lq"],
        raw["cq"],
        m.rx_config,
        0,
        m.jb_nominal,
        m.jb_max,
        m.jb_abs_max,
    )


BLOCKS = [
    ReportBlock(0xAAAA0001, 12, -5, 70000, 80, 0x12345678, 65536),
    ReportBlock(0xAAAA0002, 255, 0x7FFFFF, 1, 0, 0, 0),
]
SR = SenderReport(0x11111111, 3711615344, 1298222584, 32000, 200, 32000, BLOCKS)
RR = ReceiverReport(0x22222222, [BLOCKS[1]])
RAW = {
    "loss": 64,
    "discard": 128,
    "bd": 32,
    "gd": 16,
    "signal": -20,
    "noise": 127,
    "rerl": 127,
    "r": 90,
    "ext_r": 127,
    "lq": 42,
    "cq": 39,
}
VOIP = XrVoipMetrics(
    ssrc=0x11111111,
    loss_rate=0.25,
    discard_rate=0.5,
    burst_density=0.125,
    gap_density=0.0625,
    round_trip_delay=120,
    end_system_delay=45,
    signal_level=-20,
    noise_level=None,
    r_factor=90,
    ext_r_factor=None,
    mos_lq=4.2,
    mos_cq=3.9,
    jb_nominal=40,
    jb_max=80,
    jb_abs_max=200,
    reporter=0x22222222,
    burst_duration=60,
    gap_duration=4000,
    rerl=None,
    gmin=16,
    rx_config=0x80,
)


def xr(reporter: int, *blocks: bytes) -> bytes:
    return header(207, 0, struct.pack("!I", reporter) + b"".join(blocks))


def test_round_trip_compound() -> None:
    other_xr_block = struct.pack(
        "!BBHII", 4, 0, 2, 0xDD3AC170, 0x4D61A000
    )  # receiver reference time
    data = (
        sr(SR)
        + sdes(SR.ssrc, b"alice@example.com")
        + rr(RR)
        + xr(0x22222222, other_xr_block, voip_block(VOIP, RAW))
        + header(204, 1, struct.pack("!I4s", 1, b"TEST") + b"data")
        + header(205, 1, struct.pack("!II", 1, 2))
        + bye([SR.ssrc, 5], b"bye now")
    )
    assert looks_like_rtcp(data)
    assert parse_compound(data) == [SR, RR, VOIP]


def test_padding_on_last_packet() -> None:
    data = rr(RR) + sr(SR, padding=8)
    assert parse_compound(data) == [RR, SR]


def test_cumulative_lost_is_signed_24_bit() -> None:
    (p,) = parse_compound(rr(ReceiverReport(1, [ReportBlock(2, 0, -1, 0, 0, 0, 0)])))
    assert isinstance(p, ReceiverReport)
    assert p.reports[0].cumulative_lost == -1


def test_unknown_packet_type_in_range_is_skipped() -> None:
    assert parse_compound(header(195, 0, b"\x00" * 8) + rr(RR)) == [RR]


def test_empty_reports() -> None:
    assert parse_compound(rr(ReceiverReport(7, []))) == [ReceiverReport(7, [])]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "RTCP packet too short: 0 bytes"),
        (b"\x80\xc9\x00", "RTCP packet too short: 3 bytes"),
        (rr(RR) + b"\x80\xc9", "RTCP packet too short: 2 bytes"),
        (b"\x00\xc9\x00\x01\x00\x00\x00\x00", "RTCP version 0 != 2"),
        (b"\x40\xc9\x00\x01\x00\x00\x00\x00", "RTCP version 1 != 2"),
        (b"\x80\x48\x00\x01\x00\x00\x00\x00", "RTCP packet type 72 not in 192..223"),
        (b"\x81\xc9\x00\x09" + bytes(24), "RTCP length 40 exceeds datagram (28 bytes)"),
        (b"\xa0\xc9\x00\x01\x00\x00\x00\x00", "RTCP padding 0 exceeds packet (8 bytes)"),
        (b"\xa0\xc9\x00\x01\x00\x00\x00\x05", "RTCP padding 5 exceeds packet (8 bytes)"),
        (header(200, 0, bytes(20)), "RTCP SR with 0 report blocks needs 28 bytes, has 24"),
        (header(200, 2, bytes(48)), "RTCP SR with 2 report blocks needs 76 bytes, has 52"),
        (header(201, 1, bytes(4)), "RTCP RR with 1 report blocks needs 32 bytes, has 8"),
        (header(202, 1, b"\x00\x00\x00\x01"), "RTCP SDES chunk exceeds packet"),
        (
            header(202, 1, b"\x00\x00\x00\x01\x01\x09ab\x00\x00\x00\x00"),
            "RTCP SDES item exceeds packet",
        ),
        (header(203, 3, bytes(8)), "RTCP BYE with 3 sources exceeds packet (12 bytes)"),
        (header(203, 1, bytes(4) + b"\x09abc"), "RTCP BYE reason exceeds packet"),
        (header(204, 0, bytes(4)), "RTCP APP too short: 8 bytes"),
        (header(206, 0, bytes(4)), "RTCP feedback packet too short: 8 bytes"),
        (header(207, 0, b""), "RTCP XR too short: 4 bytes"),
        (
            header(207, 0, bytes(4) + b"\x07\x00\x00\x08"),
            "RTCP XR block length 36 exceeds packet (4 bytes)",
        ),
        (
            header(207, 0, bytes(4) + b"\x07\x00\x00\x01" + bytes(4)),
            "RTCP XR VoIP metrics block length 1 != 8",
        ),
    ],
)
def test_errors(data: bytes, message: str) -> None:
    with pytest.raises(RtcpParseError) as e:
        parse_compound(data)
    assert str(e.value) == message


def test_looks_like_rtcp() -> None:
    assert looks_like_rtcp(sr(SR)) and looks_like_rtcp(rr(RR))
    assert looks_like_rtcp(xr(1, voip_block(VOIP, RAW)))
    assert not looks_like_rtcp(rr(RR)[:7])
    assert not looks_like_rtcp(b"\x80\x00" + rr(RR)[2:])  # RTP PT 0
    assert not looks_like_rtcp(b"\x80\xca\x00\x09" + bytes(8))  # length beyond datagram
    assert not looks_like_rtcp(b"\x40" + rr(RR)[1:])


@settings(max_examples=examples(500))
@given(st.binary(max_size=120))
def test_arbitrary_bytes_raise_only_parse_error(data: bytes) -> None:
    try:
        parse_compound(data)
    except RtcpParseError:
        pass


@settings(max_examples=examples(500))
@given(
    st.sampled_from([200, 201, 202, 203, 204, 205, 207]),
    st.integers(0, 31),
    st.binary(max_size=100),
    st.booleans(),
)
def test_plausible_headers_raise_only_parse_error(
    pt: int, count: int, body: bytes, pad: bool
) -> None:
    body += b"\x00" * (-len(body) % 4)
    data = struct.pack("!BBH", 0x80 | (0x20 if pad else 0) | count, pt, len(body) // 4) + body
    try:
        parse_compound(data)
    except RtcpParseError:
        pass
