"""IPv4, IPv6 extension headers, IP-in-IP, ICMP and UDP edge cases."""

from struct import pack

import pytest

from .build import A4, A6, B4, B6, eth, ext, ipv4, ipv6, new_decoder, sip, udp

SIP_UDP = udp(sip(), 5062, 5060)


def test_ipv4_options_skipped() -> None:
    dec, _c = new_decoder()
    (d,) = dec.decode(1, 0.0, eth(ipv4(SIP_UDP, options=b"\x01" * 8)))
    assert d.payload == sip() and d.sport == 5062 and d.payload_offset == 14 + 28 + 8


def test_ipv4_zero_total_length_uses_capture_length() -> None:
    dec, _ = new_decoder()
    (d,) = dec.decode(1, 0.0, eth(ipv4(SIP_UDP, total=0)))
    assert d.payload == sip()


@pytest.mark.parametrize(
    ("linktype", "packet", "reason"),
    [
        (228, ipv4(SIP_UDP)[:19], "decode.truncated_ipv4"),
        (228, b"\x55" + ipv4(SIP_UDP)[1:], "decode.ipv4_bad_version"),
        (228, b"\x44" + ipv4(SIP_UDP)[1:], "decode.ipv4_bad_ihl"),
        (228, ipv4(SIP_UDP, total=10), "decode.ipv4_bad_total_length"),
        (228, ipv4(SIP_UDP, total=2000), "decode.truncated_ipv4"),
        (228, ipv4(b"\0" * 8, proto=1), "decode.icmp"),
        (228, ipv4(b"\0" * 8, proto=2), "decode.ip_proto_2"),
        (228, ipv4(b"\0" * 8, proto=112), "decode.ip_proto_112"),
        (228, ipv4(udp(b"x")[:7]), "decode.truncated_udp"),
        (228, ipv4(udp(b"xyz", length=5)), "decode.udp_bad_length"),
        (228, ipv4(udp(b"xyz", length=100)), "decode.truncated_udp"),
        (228, ipv4(b"\0" * 19, proto=6), "decode.truncated_tcp"),
        (
            228,
            ipv4(pack("!HHIIBBHHH", 1, 2, 0, 0, 4 << 4, 0, 0, 0, 0), proto=6),
            "decode.tcp_bad_offset",
        ),
        (
            228,
            ipv4(pack("!HHIIBBHHH", 1, 2, 0, 0, 15 << 4, 0, 0, 0, 0), proto=6),
            "decode.truncated_tcp",
        ),
        (229, ipv6(SIP_UDP)[:39], "decode.truncated_ipv6"),
        (229, b"\x40" + ipv6(SIP_UDP)[1:], "decode.ipv6_bad_version"),
        (229, ipv6(SIP_UDP, plen=5000), "decode.truncated_ipv6"),
        (229, ipv6(b"\0" * 8, nh=58), "decode.icmp"),
        (229, ipv6(b"\0" * 16, nh=50), "decode.ipv6_esp"),
        (229, ipv6(b"", nh=59), "decode.ipv6_no_next_header"),
        (229, ipv6(b"\x11", nh=0), "decode.truncated_ipv6_ext"),
        (229, ipv6(b"\x11\x05" + b"\0" * 10, nh=60), "decode.truncated_ipv6_ext"),
        (229, ipv6(ext(0) * 17, nh=0), "decode.ipv6_too_many_ext_headers"),
        (229, ipv6(b"\0" * 7, nh=44), "decode.truncated_ipv6_ext"),
    ],
)
def test_ip_errors(linktype: int, packet: bytes, reason: str) -> None:
    dec, c = new_decoder()
    assert dec.decode(linktype, 0.0, packet) == []
    assert c.snapshot() == {reason: 1}


def test_ipv6_extension_headers() -> None:
    ah = bytes([17, 4]) + b"\0" * 22  # AH: (4 + 2) * 4 = 24 bytes
    # hop-by-hop(8) -> routing(16) -> dest opts(8) -> AH(24) -> UDP
    pkt = ipv6(ext(43, 0) + ext(60, 1) + ext(51, 0) + ah + SIP_UDP, nh=0)
    dec, c = new_decoder()
    (d,) = dec.decode(101, 0.0, pkt)
    assert d.payload == sip() and (d.src, d.dst) == (A6, B6)
    assert d.payload_offset == 40 + 8 + 16 + 8 + 24 + 8
    assert c.snapshot() == {}


def test_ipv6_atomic_fragment() -> None:
    dec, c = new_decoder()
    (d,) = dec.decode(101, 0.0, ipv6(pack("!BBHI", 17, 0, 0, 99) + SIP_UDP, nh=44))
    assert d.payload == sip() and d.frames[0][1][d.payload_offset :].startswith(b"INVITE")
    assert c.snapshot() == {}


def test_ipv6_zero_payload_length_uses_capture_length() -> None:
    dec, _ = new_decoder()
    (d,) = dec.decode(101, 0.0, ipv6(SIP_UDP, plen=0))
    assert d.payload == sip()


@pytest.mark.parametrize(
    ("outer", "inner"),
    [
        (lambda p: ipv4(p, proto=4), ipv4),
        (lambda p: ipv4(p, proto=41), ipv6),
        (lambda p: ipv6(p, nh=4), ipv4),
        (lambda p: ipv6(p, nh=41), ipv6),
    ],
    ids=["4in4", "6in4", "4in6", "6in6"],
)
def test_ip_in_ip(outer, inner) -> None:  # type: ignore[no-untyped-def]
    dec, c = new_decoder()
    inner_pkt = inner(SIP_UDP)
    (d,) = dec.decode(1, 0.0, eth(outer(inner_pkt), 0x0800 if outer(b"")[0] >> 4 == 4 else 0x86DD))
    assert d.encap == "ipip" and d.payload == sip() and len(d.src) == (4 if inner is ipv4 else 16)
    assert c.snapshot() == {}


def test_nested_ipip_chain_and_depth_limit() -> None:
    pkt = SIP_UDP
    pkt = ipv4(pkt)
    for _ in range(3):
        pkt = ipv4(pkt, proto=4)
    dec, c = new_decoder()
    (d,) = dec.decode(101, 0.0, pkt)
    assert d.encap == "ipip/ipip/ipip"
    dec, c = new_decoder(max_tunnel_depth=2)
    assert dec.decode(101, 0.0, pkt) == []
    assert c.snapshot() == {"decode.tunnel_too_deep": 1}


def test_deep_recursion_is_bounded() -> None:
    pkt = ipv4(SIP_UDP)
    for _ in range(3000):
        pkt = ipv4(pkt, proto=4, total=0)
    dec, c = new_decoder()
    assert dec.decode(101, 0.0, pkt) == []
    assert c.snapshot() == {"decode.tunnel_too_deep": 1}


def test_icmp_error_quoting_sip_is_not_delivered() -> None:
    quoted = ipv4(udp(sip()), src=B4, dst=A4)
    dec, c = new_decoder()
    assert dec.decode(1, 0.0, eth(ipv4(b"\x03\x03\0\0\0\0\0\0" + quoted, proto=1))) == []
    assert (
        dec.decode(1, 0.0, eth(ipv6(b"\x01\x04\0\0\0\0\0\0" + ipv6(udp(sip())), nh=58), 0x86DD))
        == []
    )
    assert c.snapshot() == {"decode.icmp": 2}
