"""Link layers: Ethernet tags, MPLS, PPPoE, PPP, Linux cooked, NULL/LOOP, raw IP."""

from struct import pack

import pytest

from sniffer.decode.datagram import Datagram

from .build import A4, B4, eth, ipv4, ipv6, new_decoder, sip, udp, udp_sip_frame

IP_UDP_SIP = ipv4(udp(sip()))


def one(linktype: int, frame: bytes, **kw: object) -> Datagram:
    dec, c = new_decoder(**kw)
    out = dec.decode(linktype, 1.5, frame)
    assert len(out) == 1, c.snapshot()
    assert c.snapshot() == {}
    return out[0]


def test_plain_ethernet_udp() -> None:
    frame = udp_sip_frame()
    d = one(1, frame)
    assert (d.transport, d.src, d.sport, d.dst, d.dport) == (17, A4, 5060, B4, 5060)
    assert d.payload == sip() and d.vlan is None and d.encap == "" and d.ts == 1.5
    assert d.frames == [(1.5, frame)] and d.payload_offset == 42


def test_ethernet_padding_is_trimmed_by_ip_length() -> None:
    frame = eth(ipv4(udp(b"x"))) + b"\0" * 20
    assert one(1, frame).payload == b"x"


@pytest.mark.parametrize("tpid", [0x8100, 0x88A8, 0x9100])
def test_single_tag(tpid: int) -> None:
    d = one(1, eth(IP_UDP_SIP, tags=((tpid, 0x2000 | 42),)))
    assert d.vlan == 42 and d.payload_offset == 46


def test_qinq_inner_tag_wins() -> None:
    d = one(1, eth(IP_UDP_SIP, tags=((0x88A8, 100), (0x8100, 200))))
    assert d.vlan == 200 and d.payload_offset == 50


def test_priority_tag_keeps_outer_vlan() -> None:
    assert one(1, eth(IP_UDP_SIP, tags=((0x8100, 7), (0x8100, 0x6000)))).vlan == 7


def test_too_many_tags() -> None:
    dec, c = new_decoder()
    assert dec.decode(1, 0.0, eth(IP_UDP_SIP, tags=tuple((0x8100, i + 1) for i in range(9)))) == []
    assert c.snapshot() == {"decode.vlan_too_many_tags": 1}


def mpls(labels: list[int]) -> bytes:
    out = b""
    for i, lab in enumerate(labels):
        out += pack("!I", (lab << 12) | (0x100 if i == len(labels) - 1 else 0) | 64)
    return out


def test_mpls_ipv4_and_ipv6() -> None:
    assert one(1, eth(mpls([16, 17, 18]) + IP_UDP_SIP, 0x8847)).payload == sip()
    d = one(1, eth(mpls([99]) + ipv6(udp(sip())), 0x8848))
    assert len(d.src) == 16


def test_mpls_pseudowire_control_word_then_ethernet() -> None:
    inner = eth(IP_UDP_SIP, tags=((0x8100, 33),))
    d = one(1, eth(mpls([20, 21]) + b"\0\0\0\0" + inner, 0x8847, tags=((0x8100, 5),)))
    assert d.vlan == 33 and d.payload == sip()


def test_mpls_errors() -> None:
    dec, c = new_decoder()
    dec.decode(1, 0.0, eth(mpls([1])[:3], 0x8847))
    dec.decode(1, 0.0, eth(pack("!I", 1 << 12) * 17, 0x8847))
    dec.decode(1, 0.0, eth(mpls([1]) + b"\x90" * 30, 0x8847))
    assert c.snapshot() == {
        "decode.truncated_mpls": 1,
        "decode.mpls_too_many_labels": 1,
        "decode.mpls_unknown_payload": 1,
    }


def test_pppoe_session() -> None:
    payload = b"\x00\x21" + IP_UDP_SIP
    frame = eth(pack("!BBHH", 0x11, 0, 0x1234, len(payload)) + payload + b"\0" * 8, 0x8864)
    assert one(1, frame).payload == sip()


def test_non_ip_ethertypes_and_llc() -> None:
    dec, c = new_decoder()
    dec.decode(1, 0.0, eth(b"\0" * 28, 0x0806))  # ARP
    dec.decode(1, 0.0, eth(b"\x42\x42\x03" + b"\0" * 40, 0x0027))  # 802.3 length + STP LLC
    dec.decode(1, 0.0, eth(b"\0" * 10, 0x8863))  # PPPoE discovery
    assert c.snapshot() == {"decode.non_ip": 3}


def test_linux_sll_and_sll2() -> None:
    sll = pack("!HHH8sH", 0, 1, 6, b"\0" * 8, 0x0800) + IP_UDP_SIP
    assert one(113, sll).payload_offset == 16 + 28
    sll_vlan = pack("!HHH8sH", 0, 1, 6, b"\0" * 8, 0x8100) + pack("!HH", 77, 0x0800) + IP_UDP_SIP
    assert one(113, sll_vlan).vlan == 77
    sll2 = pack("!HHIHBB8s", 0x86DD, 0, 3, 1, 0, 6, b"\0" * 8) + ipv6(udp(sip()))
    assert one(276, sll2).payload_offset == 20 + 48


@pytest.mark.parametrize(
    ("linktype", "header"),
    [
        (0, pack("<I", 2)),
        (0, pack(">I", 2)),
        (108, pack(">I", 2)),
        (12, b""),
        (14, b""),
        (101, b""),
        (228, b""),
        (9, b"\xff\x03\x00\x21"),
        (9, b"\x00\x21"),
        (9, b"\x21"),
        (50, b"\xff\x03\x00\x21"),
        (104, b"\x0f\x00\x08\x00"),
    ],
)
def test_ipv4_link_types(linktype: int, header: bytes) -> None:
    d = one(linktype, header + IP_UDP_SIP)
    assert d.payload == sip() and d.payload_offset == len(header) + 28


@pytest.mark.parametrize(
    ("linktype", "header"),
    [
        (0, pack("<I", 24)),
        (0, pack("<I", 28)),
        (0, pack("<I", 30)),
        (108, pack(">I", 30)),
        (101, b""),
        (229, b""),
        (9, b"\x00\x57"),
    ],
)
def test_ipv6_link_types(linktype: int, header: bytes) -> None:
    assert len(one(linktype, header + ipv6(udp(sip()))).dst) == 16


@pytest.mark.parametrize(
    ("linktype", "frame", "reason"),
    [
        (147, b"abc", "decode.unknown_linktype_147"),
        (1, b"\0" * 13, "decode.truncated_ethernet"),
        (1, eth(b"\0\0", 0x8100), "decode.truncated_vlan"),
        (113, b"\0" * 15, "decode.truncated_sll"),
        (276, b"\0" * 19, "decode.truncated_sll2"),
        (0, b"\2\0", "decode.truncated_loopback"),
        (0, pack("<I", 7) + IP_UDP_SIP, "decode.non_ip"),
        (101, b"", "decode.truncated_ip"),
        (101, b"\x50" * 40, "decode.non_ip"),
        (9, b"\xff\x03", "decode.truncated_ppp"),
        (9, b"\xff\x03\xc0", "decode.truncated_ppp"),
        (9, b"\xc0\x21\x01\x01", "decode.ppp_proto_0xc021"),
        (104, b"\x0f\x00", "decode.truncated_chdlc"),
        (1, eth(b"\x11\x00\x00\x01\x00\x02", 0x8864), "decode.truncated_pppoe"),
        (1, eth(b"\x12\x00\x00\x01\x00\x02\x00\x21", 0x8864), "decode.pppoe_bad_header"),
    ],
)
def test_link_errors(linktype: int, frame: bytes, reason: str) -> None:
    dec, c = new_decoder()
    assert dec.decode(linktype, 0.0, frame) == []
    assert c.snapshot() == {reason: 1}
