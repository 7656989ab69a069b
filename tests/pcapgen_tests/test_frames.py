"""Frame builders: header layouts, checksums, fragmentation round trips."""

import struct

import dpkt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hypo import examples
from tests.pcapgen import frames as f
from tests.pcapgen.fragment import fragment_ipv4, fragment_ipv6

V4A, V4B = "192.0.2.1", "198.51.100.7"
V6A, V6B = "2001:db8::1", "2001:db8:ffff::2"


def pseudo_ok(src: str, dst: str, proto: int, seg: bytes) -> bool:
    s, d = f.pack_ip(src), f.pack_ip(dst)
    if len(s) == 4:
        ph = s + d + struct.pack("!BBH", 0, proto, len(seg))
    else:
        ph = s + d + struct.pack("!I3xB", len(seg), proto)
    return f.checksum(ph + seg) == 0


def test_checksum_rfc1071_example() -> None:
    # RFC 1071 section 3 example words sum to 0xddf2 -> checksum 0x220d
    assert f.checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D
    assert f.checksum(b"\x01") == f.checksum(b"\x01\x00")


def test_ipv4_header_fields_and_checksum() -> None:
    pkt = f.ipv4(V4A, V4B, f.IPPROTO_UDP, b"x" * 10, ident=0x1234, ttl=33, tos=0xB8, df=True)
    assert f.checksum(pkt[:20]) == 0
    ip = dpkt.ip.IP(pkt)
    assert (ip.len, ip.id, ip.ttl, ip.tos, ip.p) == (30, 0x1234, 33, 0xB8, 17)
    assert ip.df == 1 and ip.mf == 0 and ip.offset == 0
    assert ip.src == f.pack_ip(V4A) and ip.dst == f.pack_ip(V4B)


def test_ipv4_fragment_fields() -> None:
    pkt = f.ipv4(V4A, V4B, 17, b"y" * 8, mf=True, frag_offset=1480)
    ip = dpkt.ip.IP(pkt)
    assert ip.mf == 1 and ip.offset == 1480 // 8  # dpkt counts 8-byte units
    with pytest.raises(ValueError, match="fragment offset 3 is not a multiple of 8"):
        f.ipv4(V4A, V4B, 17, b"", frag_offset=3)


def test_ipv4_options_padded() -> None:
    pkt = f.ipv4(V4A, V4B, 17, b"", options=b"\x01\x01\x01\x00")
    assert pkt[0] == 0x46 and f.checksum(pkt[:24]) == 0
    with pytest.raises(ValueError, match="multiple of 4"):
        f.ipv4(V4A, V4B, 17, b"", options=b"\x01")


def test_pack_ip_errors() -> None:
    with pytest.raises(ValueError, match="not an IP address: 'nope'"):
        f.pack_ip("nope")
    with pytest.raises(ValueError, match="must be 4 or 16 bytes, got 3"):
        f.pack_ip(b"abc")


@given(st.binary(max_size=1600), st.integers(0, 65535), st.integers(0, 65535))
@settings(max_examples=examples(200))
def test_udp_checksum_valid_v4_v6(payload: bytes, sport: int, dport: int) -> None:
    for a, b in ((V4A, V4B), (V6A, V6B)):
        seg = f.udp(sport, dport, payload, src=a, dst=b)
        assert struct.unpack_from("!H", seg, 6)[0] != 0
        assert pseudo_ok(a, b, f.IPPROTO_UDP, seg)


def test_udp_without_addresses_has_zero_checksum() -> None:
    assert f.udp(1, 2, b"abc")[6:8] == b"\x00\x00"


@given(st.binary(max_size=1500), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
@settings(max_examples=examples(200))
def test_tcp_checksum_valid(payload: bytes, seq: int, ack: int) -> None:
    for a, b in ((V4A, V4B), (V6A, V6B)):
        seg = f.tcp(5060, 40000, seq, ack, f.TCP_ACK | f.TCP_PSH, payload, src=a, dst=b)
        assert pseudo_ok(a, b, f.IPPROTO_TCP, seg)
        t = dpkt.tcp.TCP(seg)
        assert (t.seq, t.ack, t.flags, t.data) == (seq, ack, 0x18, payload)


def test_ipv6_ext_header_chain() -> None:
    udp = f.udp(1, 2, b"hi", src=V6A, dst=V6B)
    pkt = f.ipv6(V6A, V6B, f.IPPROTO_UDP, udp,
                 ext_headers=[(f.IPPROTO_HOPOPTS, b""), (f.IPPROTO_DSTOPTS, b"\x01\x02ab")])  # fmt: skip
    assert pkt[6] == f.IPPROTO_HOPOPTS
    assert pkt[40] == f.IPPROTO_DSTOPTS and pkt[41] == 0
    assert pkt[48] == f.IPPROTO_UDP and pkt[49] == 0
    assert struct.unpack_from("!H", pkt, 4)[0] == 16 + len(udp)
    assert pkt[56:] == udp
    with pytest.raises(ValueError, match="not 8-byte aligned"):
        f.ipv6_ext(f.IPPROTO_ROUTING, 17, b"abc")


def test_link_layers() -> None:
    ip4 = f.ipv4(V4A, V4B, 17, b"")
    ip6 = f.ipv6(V6A, V6B, 17, b"")
    eth = f.ethernet(ip4, f.ETH_P_IP, b"\x02" * 6, b"\x04" * 6)
    assert eth[:14] == b"\x04" * 6 + b"\x02" * 6 + b"\x08\x00"
    assert f.vlan(ip4, f.ETH_P_IP, 100, pcp=5)[:4] == bytes.fromhex("a0640800")
    assert f.qinq(ip4, f.ETH_P_IP, 200, 100)[:8] == bytes.fromhex("00c8810000640800")
    assert f.mpls([16, 17], ip4)[:8] == bytes.fromhex("0001004000011140")
    assert f.sll(ip4)[:16] == bytes.fromhex("0000000100060200000000010000") + b"\x08\x00"
    s2 = f.sll2(ip6, ifindex=3)
    assert s2[:2] == b"\x86\xdd" and s2[4:8] == b"\x00\x00\x00\x03" and s2[20:] == ip6
    assert f.null(ip4)[:4] == b"\x02\x00\x00\x00" and f.loop(ip6)[:4] == b"\x00\x00\x00\x18"
    assert f.raw(ip4) == ip4
    with pytest.raises(ValueError, match="VLAN id out of range: 4096"):
        f.vlan(ip4, f.ETH_P_IP, 4096)
    with pytest.raises(ValueError, match=r"not an IP packet \(version 0\)"):
        f.sll(b"\x00\x01")


@given(st.binary(min_size=0, max_size=3000), st.integers(68, 1500))
@settings(max_examples=examples(200))
def test_fragment_ipv4_round_trip(payload: bytes, mtu: int) -> None:
    pkt = f.ipv4(V4A, V4B, 253, payload, ident=77)
    frags = fragment_ipv4(pkt, mtu)
    data = b""
    for i, fr in enumerate(frags):
        assert len(fr) <= mtu and f.checksum(fr[:20]) == 0
        total, ident, flags = struct.unpack_from("!HHH", fr, 2)
        assert total == len(fr) and ident == 77
        assert (flags & 0x1FFF) * 8 == len(data)
        assert bool(flags & 0x2000) == (i < len(frags) - 1)
        data += fr[20:]
    assert data == payload


def test_fragment_ipv4_df_and_tiny_mtu() -> None:
    pkt = f.ipv4(V4A, V4B, 17, b"z" * 1000, df=True)
    with pytest.raises(ValueError, match="DF set on a 1020-byte packet larger than MTU 576"):
        fragment_ipv4(pkt, 576)
    with pytest.raises(ValueError, match="MTU 24 too small for a 20-byte header"):
        fragment_ipv4(f.ipv4(V4A, V4B, 17, b"z" * 100), 24)


@given(st.binary(min_size=0, max_size=3000), st.integers(104, 1500), st.booleans())
@settings(max_examples=examples(200))
def test_fragment_ipv6_round_trip(payload: bytes, mtu: int, hbh: bool) -> None:
    ext = [(f.IPPROTO_HOPOPTS, b"")] if hbh else []
    pkt = f.ipv6(V6A, V6B, 253, payload, ext_headers=ext)
    frags = fragment_ipv6(pkt, mtu, ident=0xABCDEF)
    if len(pkt) <= mtu:
        assert frags == [pkt]
        return
    unfrag = 40 + (8 if hbh else 0)
    data = b""
    for i, fr in enumerate(frags):
        assert len(fr) <= mtu
        assert struct.unpack_from("!H", fr, 4)[0] == len(fr) - 40
        assert fr[unfrag - 8 if hbh else 6] == f.IPPROTO_FRAGMENT
        nh, _, offm, ident = struct.unpack_from("!BBHI", fr, unfrag)
        assert nh == 253 and ident == 0xABCDEF
        assert offm & ~7 == len(data) and (offm & 1) == (i < len(frags) - 1)
        data += fr[unfrag + 8 :]
    assert data == payload
