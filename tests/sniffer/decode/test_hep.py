"""HEP3/HEP2 parsing and HEP-delivered SIP in the decoder."""

import zlib
from struct import pack

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.decode.hep import HepPacket, HepParseError, synth_udp_frame
from tests.hypo import examples

from .build import A6, B6, eth, ipv4, new_decoder, sip, udp

SRC = bytes([192, 168, 1, 10])
DST = bytes([192, 168, 1, 20])


def chunk(ctype: int, value: bytes, vendor: int = 0) -> bytes:
    return pack("!HHH", vendor, ctype, 6 + len(value)) + value


def hep3(
    payload: bytes = b"",
    proto_type: int = 1,
    compressed: bool = False,
    v6: bool = False,
    extra: bytes = b"",
) -> bytes:
    body = chunk(1, b"\x0a" if v6 else b"\x02") + chunk(2, b"\x11")
    body += chunk(5, A6) + chunk(6, B6) if v6 else chunk(3, SRC) + chunk(4, DST)
    body += chunk(7, pack("!H", 5060)) + chunk(8, pack("!H", 5080))
    body += chunk(9, pack("!I", 1_700_000_000)) + chunk(10, pack("!I", 250_000))
    body += chunk(11, bytes([proto_type])) + chunk(12, pack("!I", 2001)) + chunk(14, b"myHep")
    body += chunk(16, zlib.compress(payload)) if compressed else chunk(15, payload)
    body += chunk(17, b"corr-1") + chunk(99, b"vendor", vendor=0x1234) + extra
    return b"HEP3" + pack("!H", 6 + len(body)) + body


def test_parse_hep3_fields() -> None:
    p = HepPacket.parse(hep3(sip()))
    assert (p.version, p.ip_family, p.ip_proto, p.src_ip, p.dst_ip, p.src_port, p.dst_port) == (
        3,
        2,
        17,
        SRC,
        DST,
        5060,
        5080,
    )
    assert (p.ts_sec, p.ts_usec, p.ts, p.proto_type, p.capture_id) == (
        1_700_000_000,
        250_000,
        1_700_000_000.25,
        1,
        2001,
    )
    assert (p.auth_key, p.payload, p.compressed, p.correlation_id) == (
        b"myHep",
        sip(),
        False,
        b"corr-1",
    )


def test_parse_hep3_compressed_and_ipv6() -> None:
    p = HepPacket.parse(hep3(sip(), compressed=True, v6=True))
    assert p.payload == sip() and p.compressed and p.src_ip == A6 and p.ip_family == 10


def test_trailing_bytes_after_total_length_ignored() -> None:
    assert HepPacket.parse(hep3(sip()) + b"junk").payload == sip()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"HEP", "not a HEP packet (no HEP3 magic, version byte not 1 or 2)"),
        (b"HEP3\x00", "HEP3 header truncated: 5 bytes"),
        (b"HEP3\x00\x05", "HEP3 total length 5 invalid for a 6-byte datagram"),
        (b"HEP3\x00\x20" + b"\0" * 10, "HEP3 total length 32 invalid for a 16-byte datagram"),
        (b"HEP3\x00\x0a\x00\x00\x00\x01", "HEP3 chunk header truncated at offset 6"),
        (
            b"HEP3\x00\x0c" + pack("!HHH", 0, 1, 5),
            "HEP3 chunk type 1 at offset 6 has invalid length 5",
        ),
        (
            b"HEP3\x00\x0c" + pack("!HHH", 0, 1, 9),
            "HEP3 chunk type 1 at offset 6 has invalid length 9",
        ),
        (b"HEP3\x00\x0c" + chunk(7, b""), "HEP3 chunk type 7 has 0 value bytes"),
        (b"HEP3\x00\x0f" + chunk(3, b"abc"), "HEP3 address chunk type 3 has 3 bytes, expected 4"),
        (
            b"HEP3\x00\x0f" + chunk(16, b"xyz"),
            "HEP3 compressed payload: Error -3 while decompressing data: incorrect header check",
        ),
        (b"\x02\x10\x07\x11" + b"\0" * 4, "HEP2 unknown address family 7"),
        (b"\x02\x10", "HEP2 header truncated: 2 bytes"),
        (b"\x02\x10\x02\x11" + b"\0" * 12, "HEP2 time header truncated"),
        (b"\x01\x10\x02\x11" + b"\0" * 8, "HEP1 address header truncated"),
    ],
)
def test_parse_errors(data: bytes, message: str) -> None:
    with pytest.raises(HepParseError) as e:
        HepPacket.parse(data)
    assert str(e.value) == message


def test_zip_bomb_is_refused() -> None:
    with pytest.raises(HepParseError, match="inflates to more than"):
        HepPacket.parse(
            b"HEP3" + pack("!H", 6 + 6 + len(z := zlib.compress(b"\0" * (2 << 20)))) + chunk(16, z)
        )


def test_parse_hep2() -> None:
    data = (
        pack("!BBBBHH", 2, 28, 2, 17, 5060, 5062) + SRC + DST + pack("<IIHxx", 1000, 5, 7) + sip()
    )
    p = HepPacket.parse(data)
    assert (p.version, p.src_ip, p.dst_ip, p.src_port, p.dst_port, p.ts, p.capture_id) == (
        2,
        SRC,
        DST,
        5060,
        5062,
        1000.000005,
        7,
    )
    assert p.payload == sip() and p.proto_type == 1
    v1 = HepPacket.parse(pack("!BBBBHH", 1, 16, 10, 6, 1, 2) + A6 + B6 + b"x")
    assert (v1.version, v1.ip_proto, v1.payload, v1.src_ip) == (1, 6, b"x", A6)


@settings(max_examples=examples(300))
@given(st.binary(max_size=300))
def test_parse_fuzz_raises_only_hep_parse_error(data: bytes) -> None:
    for blob in (data, b"HEP3" + data, b"HEP3" + pack("!H", len(data) + 6) + data, b"\x02" + data):
        try:
            HepPacket.parse(blob)
        except HepParseError:
            pass


def ones_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = 0
    for i in range(0, len(data), 2):
        s += (data[i] << 8) | data[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def test_synthesized_frames_have_valid_checksums() -> None:
    frame, off = synth_udp_frame(SRC, 5060, DST, 5080, sip())
    assert frame[off:] == sip() and off == 42
    assert ones_sum(frame[14:34]) == 0xFFFF
    udp_part = frame[34:]
    assert ones_sum(SRC + DST + pack("!BBH", 0, 17, len(udp_part)) + udp_part) == 0xFFFF
    frame, off = synth_udp_frame(A6, 1, B6, 2, b"odd")
    assert off == 62 and frame[12:14] == b"\x86\xdd"
    udp_part = frame[54:]
    assert ones_sum(A6 + B6 + pack("!IxxxB", len(udp_part), 17) + udp_part) == 0xFFFF
    with pytest.raises(ValueError, match="address lengths 4/16"):
        synth_udp_frame(SRC, 1, B6, 2, b"")
    with pytest.raises(ValueError, match="does not fit in an IPv4 packet"):
        synth_udp_frame(SRC, 1, DST, 2, b"x" * 65508)


def test_decoder_hep3_sip() -> None:
    dec, c = new_decoder()
    outer = eth(ipv4(udp(hep3(sip("hep@x")), 40000, 9060)), tags=((0x8100, 3),))
    (d,) = dec.decode(1, 5.0, outer)
    assert (d.transport, d.src, d.sport, d.dst, d.dport, d.payload) == (
        17,
        SRC,
        5060,
        DST,
        5080,
        sip("hep@x"),
    )
    assert (d.ts, d.vlan, d.encap) == (1_700_000_000.25, None, "hep3")
    ((fts, frame),) = d.frames
    assert fts == d.ts and frame[d.payload_offset :] == d.payload
    (back,) = new_decoder()[0].decode(1, 0.0, frame)
    assert (back.src, back.dst, back.payload) == (SRC, DST, d.payload)
    assert c.snapshot() == {}


def test_decoder_hep_non_sip_and_errors() -> None:
    dec, c = new_decoder()
    assert dec.decode(1, 0.0, eth(ipv4(udp(hep3(b"{}", proto_type=5), 1, 9060)))) == []
    assert dec.decode(1, 0.0, eth(ipv4(udp(hep3(b"log", proto_type=100), 1, 9060)))) == []
    assert dec.decode(1, 0.0, eth(ipv4(udp(b"HEP3\x00\x01", 1, 9060)))) == []
    no_addr = b"HEP3" + pack("!H", 6 + 7 + 9) + chunk(11, b"\x01") + chunk(15, b"abc")
    assert dec.decode(1, 0.0, eth(ipv4(udp(no_addr, 1, 9060)))) == []
    assert c.snapshot() == {
        "decode.hep_type_5": 1,
        "decode.hep_type_100": 1,
        "decode.hep_bad_packet": 1,
        "decode.hep_bad_addresses_or_size": 1,
    }
    (d,) = dec.decode(
        1, 0.0, eth(ipv4(udp(b"\x80\x08" + b"\0" * 20, 1, 9060)))
    )  # RTP on the HEP port
    assert d.encap == "" and d.dport == 9060


def test_decoder_hep_custom_port_tcp_transport_and_missing_ts() -> None:
    body = (
        chunk(2, b"\x06")
        + chunk(3, SRC)
        + chunk(4, DST)
        + chunk(7, b"\x13\xc4")
        + chunk(8, b"\x13\xc4")
    )
    body += chunk(11, b"\x01") + chunk(15, sip())
    pkt = b"HEP3" + pack("!H", 6 + len(body)) + body
    dec, _ = new_decoder(hep_ports=frozenset({9999}))
    (d,) = dec.decode(1, 42.0, eth(ipv4(udp(pkt, 1, 9999))))
    assert (d.transport, d.ts, d.sport) == (6, 42.0, 5060)
