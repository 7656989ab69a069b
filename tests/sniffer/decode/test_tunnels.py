"""GRE, ERSPAN I/II/III, VXLAN (+GPE) and TZSP decapsulation on synthetic frames."""

from struct import pack

import pytest

from .build import eth, gre, ipv4, ipv6, new_decoder, sip, udp

INNER_UDP = udp(sip(), 5070, 5060)
INNER_IP = ipv4(INNER_UDP, src=b"\xc0\xa8\x00\x01", dst=b"\xc0\xa8\x00\x02")
INNER_ETH = eth(INNER_IP)


def decode_one(frame: bytes, **kw: object):  # type: ignore[no-untyped-def]
    dec, c = new_decoder(**kw)
    out = dec.decode(1, 3.0, frame)
    assert len(out) == 1, c.snapshot()
    assert c.snapshot() == {}
    d = out[0]
    assert d.frames == [(3.0, frame)] and frame[d.payload_offset :] == d.payload
    return d


@pytest.mark.parametrize(
    "kw",
    [{}, {"key": 5}, {"seq": 9}, {"csum": True}, {"key": 1, "seq": 2, "csum": True}],
    ids=["plain", "key", "seq", "csum", "all"],
)
def test_gre_ipv4_payload(kw: dict[str, object]) -> None:
    d = decode_one(eth(ipv4(gre(INNER_IP, 0x0800, **kw), proto=47)))  # type: ignore[arg-type]
    assert d.encap == "gre" and d.src == b"\xc0\xa8\x00\x01" and d.sport == 5070


def test_gre_ipv6_payload_and_teb() -> None:
    d = decode_one(eth(ipv4(gre(ipv6(INNER_UDP), 0x86DD), proto=47)))
    assert len(d.src) == 16
    d = decode_one(
        eth(ipv6(gre(eth(INNER_IP, tags=((0x8100, 9),)), 0x6558, key=77), nh=47), 0x86DD)
    )
    assert d.vlan == 9 and d.encap == "gre"


def test_gre_rfc1701_routing() -> None:
    sre = pack("!HBB", 0x0800, 0, 4) + b"\x01\x02\x03\x04" + pack("!HBB", 0, 0, 0)
    hdr = pack("!HH", 0x4000, 0x0800) + b"\0\0\0\0" + sre
    assert decode_one(eth(ipv4(hdr + INNER_IP, proto=47))).payload == sip()


def test_gre_outer_vlan_kept() -> None:
    frame = eth(ipv4(gre(INNER_IP, 0x0800), proto=47), tags=((0x8100, 142),))
    assert decode_one(frame).vlan == 142


def enhanced_gre(ppp: bytes, ack: bool = True) -> bytes:
    flags = 0x2000 | 0x1000 | (0x0080 if ack else 0) | 1
    out = pack("!HHHH", flags, 0x880B, len(ppp), 6) + pack("!I", 1)
    if ack:
        out += pack("!I", 0)
    return out + ppp


@pytest.mark.parametrize("ppp_head", [b"\xff\x03\x00\x21", b"\x00\x21", b"\x21"])
def test_enhanced_gre_ppp(ppp_head: bytes) -> None:
    d = decode_one(eth(ipv4(enhanced_gre(ppp_head + INNER_IP), proto=47), tags=((0x8100, 142),)))
    assert d.encap == "gre" and d.vlan == 142


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\0\0\x08", "decode.truncated_gre"),
        (pack("!HH", 0x2000, 0x0800) + b"\0\0", "decode.truncated_gre"),
        (gre(b"", 0x880B), "decode.truncated_ppp"),
        (pack("!HH", 0x3001, 0x0800), "decode.gre_v1_bad_header"),
        (pack("!HHHH", 0x2081, 0x880B, 0, 6) + b"\0" * 4, "decode.gre_no_payload"),
        (pack("!HH", 0x0002, 0x0800), "decode.gre_bad_version_2"),
        (gre(b"\0" * 20, 0x1234), "decode.gre_unknown_proto_0x1234"),
        (
            pack("!HH", 0x4000, 0x0800) + b"\0\0\0\0" + pack("!HBB", 1, 0, 0) * 17,
            "decode.gre_bad_routing",
        ),
        (gre(b"\0" * 7, 0x88BE, seq=1), "decode.truncated_erspan"),
        (gre(b"\x20" + b"\0" * 30, 0x88BE, seq=1), "decode.erspan2_bad_version"),
        (gre(b"\x10" + b"\0" * 30, 0x22EB), "decode.erspan3_bad_version"),
        (
            gre(b"\x20" + b"\0" * 9 + b"\x04\x00" + b"\0" * 20, 0x22EB),
            "decode.erspan3_frame_type_1",
        ),
    ],
)
def test_gre_errors(payload: bytes, reason: str) -> None:
    dec, c = new_decoder()
    assert dec.decode(1, 0.0, eth(ipv4(payload, proto=47))) == []
    assert c.snapshot() == {reason: 1}


def erspan2(vlan: int, en: int, frame: bytes) -> bytes:
    return gre(pack("!HHI", 0x1000 | vlan, (en << 11) | 23, 5) + frame, 0x88BE, seq=1)


def erspan3(vlan: int, frame: bytes, ft: int = 0, sub: bool = False) -> bytes:
    hdr = pack("!HHIHBB", 0x2000 | vlan, 1, 123456, 0, ft << 2, 1 if sub else 0)
    return gre(hdr + (b"\0" * 8 if sub else b"") + frame, 0x22EB, seq=1)


def test_erspan_type1_and_2() -> None:
    d = decode_one(eth(ipv4(gre(INNER_ETH, 0x88BE), proto=47)))
    assert d.encap == "erspan1"
    d = decode_one(eth(ipv4(erspan2(23, 0, INNER_ETH), proto=47)))
    assert d.encap == "erspan2" and d.vlan is None
    d = decode_one(eth(ipv4(erspan2(23, 2, INNER_ETH), proto=47)))  # tag stripped into the header
    assert d.vlan == 23
    d = decode_one(eth(ipv4(erspan2(23, 3, eth(INNER_IP, tags=((0x8100, 24),))), proto=47)))
    assert d.vlan == 24


def test_erspan_type3() -> None:
    d = decode_one(eth(ipv4(erspan3(20, eth(INNER_IP, tags=((0x8100, 20),))), proto=47)))
    assert (d.encap, d.vlan) == ("erspan3", 20)
    d = decode_one(eth(ipv4(erspan3(0, INNER_ETH, sub=True), proto=47)))
    assert d.vlan is None
    d = decode_one(eth(ipv4(erspan3(5, INNER_IP, ft=2), proto=47)))
    assert d.vlan == 5 and d.payload == sip()


def vxlan(frame: bytes, flags: int = 0x08, np: int = 0) -> bytes:
    return pack("!BBBB", flags, 0, 0, np) + pack("!I", 100 << 8) + frame


def test_vxlan() -> None:
    d = decode_one(eth(ipv4(udp(vxlan(INNER_ETH), 40000, 4789))))
    assert d.encap == "vxlan" and d.dport == 5060 and d.sport == 5070
    d = decode_one(
        eth(ipv4(udp(vxlan(INNER_IP, 0x0C, 1), 4789, 4790)))
    )  # GPE, found by source port
    assert d.encap == "vxlan"
    d = decode_one(eth(ipv4(udp(vxlan(ipv6(INNER_UDP), 0x0C, 2), 1, 4789))))
    assert len(d.src) == 16
    d = decode_one(eth(ipv4(udp(vxlan(INNER_ETH, 0x0C, 3), 1, 4789))))
    assert d.sport == 5070


def test_vxlan_custom_port_and_gre_chain() -> None:
    frame = eth(ipv4(gre(ipv4(udp(vxlan(INNER_ETH), 1, 8472)), 0x0800), proto=47))
    d = decode_one(frame, vxlan_ports=frozenset({8472}))
    assert d.encap == "gre/vxlan"


def test_not_vxlan_is_plain_udp() -> None:
    dec, c = new_decoder()
    rtp = b"\x80\x00" + b"\0" * 30
    (d,) = dec.decode(1, 0.0, eth(ipv4(udp(rtp, 30000, 4789))))
    assert d.payload == rtp and d.encap == "" and c.snapshot() == {"decode.vxlan_bad_header": 1}


def tzsp(frame: bytes, typ: int = 0, encap: int = 1, tags: bytes = b"\x01") -> bytes:
    return pack("!BBH", 1, typ, encap) + tags + frame


def test_tzsp() -> None:
    d = decode_one(eth(ipv4(udp(tzsp(INNER_ETH), 1, 37008))))
    assert d.encap == "tzsp"
    tags = b"\x00\x00" + b"\x0a\x01\x05" + b"\x28\x04abcd" + b"\x01"
    assert decode_one(eth(ipv4(udp(tzsp(INNER_ETH, 1, 1, tags), 1, 37008)))).payload == sip()


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (tzsp(INNER_ETH, typ=4), "decode.tzsp_type_4"),
        (tzsp(INNER_ETH, encap=18), "decode.tzsp_encap_18"),
        (tzsp(b"", tags=b"\x00\x00"), "decode.truncated_tzsp"),
        (tzsp(b"", tags=b"\x0a"), "decode.truncated_tzsp"),
    ],
)
def test_tzsp_errors(payload: bytes, reason: str) -> None:
    dec, c = new_decoder()
    assert dec.decode(1, 0.0, eth(ipv4(udp(payload, 1, 37008)))) == []
    assert c.snapshot() == {reason: 1}


def test_tzsp_bad_version_is_plain_udp() -> None:
    dec, c = new_decoder()
    (d,) = dec.decode(1, 0.0, eth(ipv4(udp(b"\x02\x00\x00\x01\x01", 1, 37008))))
    assert d.dport == 37008 and c.snapshot() == {"decode.tzsp_bad_header": 1}


def test_tunnel_depth_limit_on_udp_tunnels() -> None:
    frame = INNER_ETH
    for _ in range(10):
        frame = eth(ipv4(udp(vxlan(frame), 1, 4789)))
    dec, c = new_decoder()
    assert dec.decode(1, 0.0, frame) == []
    assert c.snapshot() == {"decode.tunnel_too_deep": 1}
