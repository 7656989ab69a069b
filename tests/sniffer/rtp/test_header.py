"""RtpHeader.parse and looks_like_rtp."""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.rtp.header import RtpHeader, RtpParseError, looks_like_rtp
from tests.hypo import examples


def rtp(
    pt: int = 0,
    seq: int = 1,
    ts: int = 160,
    ssrc: int = 0x11223344,
    marker: bool = False,
    csrcs: tuple[int, ...] = (),
    ext_words: int | None = None,
    payload: bytes = b"\xff" * 160,
    pad: int = 0,
) -> bytes:
    b0 = 0x80 | len(csrcs) | (0x10 if ext_words is not None else 0) | (0x20 if pad else 0)
    out = struct.pack("!BBHII", b0, (0x80 if marker else 0) | pt, seq, ts, ssrc)
    out += b"".join(struct.pack("!I", c) for c in csrcs)
    if ext_words is not None:
        out += struct.pack("!HH", 0xBEDE, ext_words) + b"\x00" * (4 * ext_words)
    out += payload
    if pad:
        out += b"\x00" * (pad - 1) + bytes([pad])
    return out


def test_plain_packet() -> None:
    h = RtpHeader.parse(rtp(pt=8, seq=65535, ts=0xFFFFFFFF, marker=True))
    assert (h.version, h.padding, h.extension, h.csrc_count, h.marker) == (2, False, False, 0, True)
    assert (h.payload_type, h.seq, h.timestamp, h.ssrc) == (8, 65535, 0xFFFFFFFF, 0x11223344)
    assert (h.header_len, h.payload_len) == (12, 160)


def test_csrcs_extension_and_padding() -> None:
    h = RtpHeader.parse(rtp(pt=96, csrcs=(1, 2, 3), ext_words=2, payload=b"abc", pad=5))
    assert (h.csrc_count, h.extension, h.padding) == (3, True, True)
    assert h.header_len == 12 + 12 + 4 + 8
    assert h.payload_len == 3


def test_empty_payload() -> None:
    h = RtpHeader.parse(rtp(payload=b""))
    assert (h.header_len, h.payload_len) == (12, 0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x80\x00\x00\x01\x00\x00\x00", "RTP packet too short: 7 bytes"),
        (b"", "RTP packet too short: 0 bytes"),
        (b"\x40" + bytes(11), "RTP version 1 != 2"),
        (b"\x00" + bytes(11), "RTP version 0 != 2"),
        (b"\x82" + bytes(11) + bytes(4), "CSRC list exceeds packet"),
        (b"\x90" + bytes(11) + b"\xbe\xde", "header extension exceeds packet"),
        (b"\x90" + bytes(11) + b"\xbe\xde\x00\x02" + bytes(4), "header extension exceeds packet"),
        (b"\xa0" + bytes(11), "padding exceeds payload"),
        (b"\xa0" + bytes(11) + b"\x00\x05", "padding exceeds payload"),
        (b"\xa0" + bytes(11) + b"\x00\x00", "RTP padding count is 0"),
    ],
)
def test_errors(data: bytes, message: str) -> None:
    with pytest.raises(RtpParseError) as e:
        RtpHeader.parse(data)
    assert str(e.value) == message


def test_padding_may_fill_the_whole_payload() -> None:
    h = RtpHeader.parse(b"\xa0" + bytes(11) + b"\x00\x00\x03")
    assert h.payload_len == 0


def test_looks_like_rtp() -> None:
    assert looks_like_rtp(rtp(pt=0))
    assert looks_like_rtp(rtp(pt=101, marker=True))
    assert not looks_like_rtp(rtp(pt=0)[:11])
    assert not looks_like_rtp(b"\x40" + rtp()[1:])
    for rtcp_pt in range(200, 208):  # SR..XR read as marker + PT 72..79
        assert not looks_like_rtp(b"\x80" + bytes([rtcp_pt]) + bytes(10))
    assert looks_like_rtp(b"\x80" + bytes([71]) + bytes(10))


@settings(max_examples=examples(500))
@given(st.binary(max_size=80))
def test_arbitrary_bytes_raise_only_parse_error(data: bytes) -> None:
    try:
        h = RtpHeader.parse(data)
    except RtpParseError:
        return
    assert h.header_len + h.payload_len <= len(data)
    assert h.payload_len >= 0 and h.version == 2


@settings(max_examples=examples(300))
@given(
    st.integers(0, 127),
    st.integers(0, 65535),
    st.integers(0, 2**32 - 1),
    st.lists(st.integers(0, 2**32 - 1), max_size=15),
    st.one_of(st.none(), st.integers(0, 4)),
    st.binary(max_size=40),
    st.integers(0, 255),
)
def test_round_trip(
    pt: int, seq: int, ts: int, csrcs: list[int], ext: int | None, payload: bytes, pad: int
) -> None:
    h = RtpHeader.parse(rtp(pt, seq, ts, 7, True, tuple(csrcs), ext, payload, pad))
    assert (h.payload_type, h.seq, h.timestamp, h.ssrc, h.marker) == (pt, seq, ts, 7, True)
    assert h.csrc_count == len(csrcs) and h.payload_len == len(payload)
    assert h.header_len == 12 + 4 * len(csrcs) + (0 if ext is None else 4 + 4 * ext)
