"""The default capture filter, run by libpcap's own BPF interpreter on built and golden frames.

Offline semantics: every VLAN tag is in the frame (on a live Linux capture the kernel strips
the outer one first, see test_live's QinQ replay)."""

import struct
from collections.abc import Callable
from pathlib import Path

import pcap
import pytest

from sniffer.capture.bpf import DEFAULT_BPF

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "golden"
DLT_EN10MB = 1
DLT_RAW = 12
DLT_LINUX_SLL = 113
DLT_LINUX_SLL2 = 276
UDP, TCP, SCTP, GRE, IPIP, IPV6, FRAG6, ICMP, ICMP6 = 17, 6, 132, 47, 4, 41, 44, 1, 58


def l4(sport: int, dport: int) -> bytes:
    return struct.pack(">HH", sport, dport) + bytes(16)


def ipv4(proto: int, payload: bytes, options: bytes = b"", frag: int = 0) -> bytes:
    ihl = 5 + len(options) // 4
    total = ihl * 4 + len(payload)
    hdr = struct.pack(
        ">BBHHHBBH4s4s", 0x40 | ihl, 0, total, 1, frag, 64, proto, 0, b"\n\0\0\1", b"\n\0\0\2"
    )
    return hdr + options + payload


def ipv6(nh: int, payload: bytes) -> bytes:
    return struct.pack(">IHBB", 0x60000000, len(payload), nh, 64) + bytes(32) + payload


INNER: dict[str, tuple[bytes, bool]] = {
    "udp4 rtp": (ipv4(UDP, l4(40000, 40002)), True),
    "tcp4 5060": (ipv4(TCP, l4(40000, 5060)), True),
    "tcp4 to 5061": (ipv4(TCP, l4(40000, 5061)), True),
    "tcp4 from 5080": (ipv4(TCP, l4(5080, 40000)), True),
    "tcp4 5060 after ip options": (ipv4(TCP, l4(40000, 5060), options=bytes(4)), True),
    "tcp4 80, options look like 5060": (
        ipv4(TCP, l4(40000, 80), options=b"\x13\xc4\x13\xc4"),
        False,
    ),
    "tcp4 5062": (ipv4(TCP, l4(40000, 5062)), False),
    "tcp4 443": (ipv4(TCP, l4(443, 40000)), False),
    "tcp4 later fragment": (ipv4(TCP, l4(5060, 5060), frag=100), False),
    "sctp4 5060": (ipv4(SCTP, l4(5060, 5060)), True),
    "sctp4 m3ua 2905": (ipv4(SCTP, l4(2905, 2905)), False),
    "gre4": (ipv4(GRE, bytes(24)), True),
    "ipip": (ipv4(IPIP, ipv4(UDP, l4(1, 2))), True),
    "6in4": (ipv4(IPV6, ipv6(UDP, l4(1, 2))), True),
    "icmp4": (ipv4(ICMP, bytes(24)), False),
    "udp6": (ipv6(UDP, l4(40000, 40002)), True),
    "tcp6 5060": (ipv6(TCP, l4(5060, 40000)), True),
    "tcp6 443": (ipv6(TCP, l4(40000, 443)), False),
    "sctp6 5061": (ipv6(SCTP, l4(40000, 5061)), True),
    "ipv6 fragment": (ipv6(FRAG6, bytes(32)), True),
    "gre6": (ipv6(GRE, bytes(24)), True),
    "icmp6": (ipv6(ICMP6, bytes(24)), False),
}


def ethertype(packet: bytes) -> int:
    return 0x0800 if packet[0] >> 4 == 4 else 0x86DD


def eth(etype: int, payload: bytes) -> bytes:
    return b"\x00\x11\x22\x33\x44\x55\x00\x66\x77\x88\x99\xaa" + struct.pack(">H", etype) + payload


def sll(etype: int, payload: bytes) -> bytes:
    return struct.pack(">HHH8sH", 0, 1, 6, b"\x00\x66\x77\x88\x99\xaa\0\0", etype) + payload


def sll2(etype: int, payload: bytes) -> bytes:
    return struct.pack(">HHIHBB8s", etype, 0, 2, 1, 0, 6, b"\x00\x66\x77\x88\x99\xaa\0\0") + payload


def vlan(tpid: int) -> Callable[[bytes], tuple[int, bytes]]:
    return lambda p: (tpid, struct.pack(">HH", 100, ethertype(p)) + p)


def mpls(labels: int) -> Callable[[bytes], tuple[int, bytes]]:
    def wrap(p: bytes) -> tuple[int, bytes]:
        stack = b"".join(
            struct.pack(">I", (1000 + i) << 12 | (i == labels - 1) << 8 | 64) for i in range(labels)
        )
        return 0x8847, stack + p

    return wrap


def pppoe(p: bytes) -> tuple[int, bytes]:
    ppp = 0x0021 if p[0] >> 4 == 4 else 0x0057
    return 0x8864, struct.pack(">BBHHH", 0x11, 0, 1, len(p) + 2, ppp) + p


ENCAPS: dict[str, Callable[[bytes], tuple[int, bytes]]] = {
    "plain": lambda p: (ethertype(p), p),
    "802.1q": vlan(0x8100),
    "802.1ad": vlan(0x88A8),
    "qinq 9100": vlan(0x9100),
    "mpls 1 label": mpls(1),
    "mpls 2 labels": mpls(2),
    "pppoe": pppoe,
}
LINKS = {DLT_EN10MB: eth, DLT_LINUX_SLL: sll, DLT_LINUX_SLL2: sll2}


def accepts(dlt: int) -> Callable[[bytes], bool]:
    return pcap.bpf(DEFAULT_BPF.encode(), dlt).filter


@pytest.mark.parametrize("dlt", [DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW])
def test_compiles_on_ethernet_cooked_and_raw(dlt: int) -> None:
    assert callable(accepts(dlt))


@pytest.mark.parametrize("encap", sorted(ENCAPS))
@pytest.mark.parametrize("dlt", sorted(LINKS))
def test_keeps_sip_rtp_and_tunnels_drops_the_rest(dlt: int, encap: str) -> None:
    keep = accepts(dlt)
    frames = {name: LINKS[dlt](*ENCAPS[encap](packet)) for name, (packet, _) in INNER.items()}
    assert {n: keep(f) for n, f in frames.items()} == {n: exp for n, (_, exp) in INNER.items()}


def test_raw_ip_link_type() -> None:
    keep = accepts(DLT_RAW)
    assert {n: keep(p) for n, (p, _) in INNER.items()} == {n: e for n, (_, e) in INNER.items()}


@pytest.mark.parametrize(
    ("name", "frame"),
    [
        ("arp", eth(0x0806, bytes(28))),
        ("arp in vlan", eth(0x8100, struct.pack(">HH", 1, 0x0806) + bytes(28))),
        ("lldp", eth(0x88CC, bytes(40))),
        ("3 mpls labels (not looked into)", eth(*mpls(3)(INNER["udp4 rtp"][0]))),
        ("pppoe discovery", eth(0x8863, bytes(20))),
        ("vlan tag, unknown inner type", eth(0x8100, bytes(4) + bytes(40))),
    ],
)
def test_drops_non_ip_and_unsupported_encapsulations(name: str, frame: bytes) -> None:
    assert not accepts(DLT_EN10MB)(frame)


@pytest.mark.parametrize(
    "name",
    [
        "hep3_sip_rtcp_log_hepgen.pcap",
        "hep3_zlib_register_sll.pcapng",
        "rtcp_compound_sll.pcap",
        "rtp_rfc2833_dtmf_all_digits.pcapng",
        "sip_t38_fax_megaco_g711a.pcap",
        "sip_gre_teb_mirror.pcapng",
        "sip_ipv6_fragmented_sll.pcap",
        "sip_ipv6_udp_call.pcap",
        "sip_register_invite_rawip_linktype.pcap",
        "sip_sctp_sll_403.pcap",
        "sip_tcp_call_rtp_rtcp.pcap",
        "sip_vlan_gre_ppp_single_packet.pcapng",
        "nonvoip_vxlan_icmp_arp.pcap",
        "nonvoip_erspan_type3_vlan_icmp.pcap",
    ],
)
def test_golden_voip_and_tunnel_captures_are_kept_whole(name: str) -> None:
    p = pcap.pcap(str(GOLDEN / name))
    keep = accepts(p.datalink())
    frames = [bytes(f) for _, f in p]
    assert frames and all(keep(f) for f in frames)


def test_golden_sip_on_other_tcp_ports_is_not_kept() -> None:
    """SIP over TCP 6060 (and WebSocket, TLS 443) need a custom filter: documented limit."""
    p = pcap.pcap(str(GOLDEN / "sip_tcp6060_segmented_avaya_486_cancel.pcap"))
    keep = accepts(p.datalink())
    assert not any(keep(bytes(f)) for _, f in p)
