"""Frame the IP-level packets of a scenario for one link type and encapsulation.

``encapsulate(packets, how)`` returns ``(linktype, frames)`` ready for ``write_pcap``. Every
encapsulation carries the same SIP messages, RTP and RTCP at the same timestamps, so a sensor
must report the same calls for all of them, except for what the encapsulation itself changes:
``ipv6``, ``6in4`` and ``frag6`` move every address to ``2001:db8::/96`` (see :func:`ipv6_for`),
SIP text included (Call-ID excepted); ``tcp`` makes the SIP transport TCP; ``vlan``/``qinq``
tag the frames with ``EncapOptions.vlan_id`` (inner) / ``outer_vlan_id``. Tunnel outer
packets go ``tunnel_src`` -> ``tunnel_dst``; HEP3 goes ``hep_agent`` -> ``hep_collector``:9060.
SIP fragments and TCP segments carry the timestamp of their message (the TCP handshake
precedes a connection's first message by 3/2/1 ms), so every message completes at its
scenario time.
"""

import ipaddress
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, NamedTuple

from tests.pcapgen import frames as f
from tests.pcapgen import tunnels as tn
from tests.pcapgen.fragment import fragment_ipv4, fragment_ipv6
from tests.pcapgen.tcpseg import tcp_segments
from tests.pcapgen.truth import IpPacket

ENCAPSULATIONS: Final = (
    "plain", "vlan", "qinq", "mpls", "ipv6", "ipip", "6in4", "gre", "gre-teb", "erspan2",
    "erspan3", "vxlan", "tzsp", "hep3", "sll", "sll2", "raw", "null", "loop", "frag", "frag6",
    "tcp",
)  # fmt: skip
"""Every value of ``how``. ``hep3`` sends SIP as HEP3 to a collector and RTP/RTCP plain;
``frag``/``frag6`` fragment every SIP datagram at ``mtu``; ``tcp`` carries SIP over TCP."""

V6_PREFIX: Final = 0x20010DB8 << 96
_V4_TEXT = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")
_CONTENT_LENGTH = re.compile(r"(?im)^(content-length|l)([ \t]*:[ \t]*)\d+")
_CALL_ID_LINE = re.compile(r"(?i)^(call-id|i)[ \t]*:")


class Encapsulated(NamedTuple):
    linktype: int
    frames: list[tuple[float, bytes]]


@dataclass(frozen=True)
class EncapOptions:
    """Tunnel parameters (defaults give a realistic, deterministic capture)."""

    vlan_id: int = 100
    outer_vlan_id: int = 200
    mpls_labels: tuple[int, ...] = (16, 1001)
    tunnel_src: str = "192.0.2.1"
    tunnel_dst: str = "192.0.2.2"
    gre_key: int = 7
    erspan_session: int = 5
    vni: int = 5001
    hep_agent: str = "192.0.2.20"
    hep_collector: str = "192.0.2.30"
    hep_capture_id: int = 2001
    hep_compress: bool = False
    mtu: int = 576
    tcp_segment: int = 200
    tcp_shuffle: bool = False
    tcp_coalesce: bool = False
    seed: int = 0


def ipv6_for(addr: str) -> str:
    """The IPv6 address an IPv4 address becomes in the IPv6 encapsulations (2001:db8::/96)."""
    if ":" in addr:
        return addr
    return str(ipaddress.IPv6Address(V6_PREFIX | int(ipaddress.IPv4Address(addr))))


def _sip_to_v6(msg: bytes) -> bytes:
    text = msg.decode()
    m = re.search(r"\r?\n\r?\n", text)
    head, sep, body = (
        (text, "", "") if m is None else (text[: m.start()], m.group(), text[m.end() :])
    )
    body = re.sub(r"IN IP4 (\S+)", lambda x: f"IN IP6 {ipv6_for(x.group(1))}", body)
    body = _V4_TEXT.sub(lambda x: ipv6_for(x.group(1)), body)
    eol = "\r\n" if "\r\n" in head else "\n"
    lines = [
        ln if _CALL_ID_LINE.match(ln) else _V4_TEXT.sub(lambda x: f"[{ipv6_for(x.group(1))}]", ln)
        for ln in head.split(eol)
    ]
    head = _CONTENT_LENGTH.sub(
        lambda x: f"{x.group(1)}{x.group(2)}{len(body.encode())}", eol.join(lines)
    )
    return (head + sep + body).encode()


def to_ipv6(packets: Iterable[IpPacket]) -> list[IpPacket]:
    """The same packets on IPv6 addresses (:func:`ipv6_for`), SIP bodies and headers rewritten."""
    return [
        p._replace(
            src=ipv6_for(p.src),
            dst=ipv6_for(p.dst),
            payload=_sip_to_v6(p.payload) if p.kind == "sip" else p.payload,
        )
        for p in packets
    ]


class _Framer:
    def __init__(self, how: str, o: EncapOptions) -> None:
        self.how, self.o = how, o
        self.ident = 0x1000
        self.outer_ident = 0x8000
        self.seq = 0

    def ip(self, src: str, dst: str, proto: int, payload: bytes) -> bytes:
        if ":" in src:
            return f.ipv6(src, dst, proto, payload)
        self.ident = (self.ident + 1) & 0xFFFF
        return f.ipv4(src, dst, proto, payload, ident=self.ident)

    def outer(self, proto: int, payload: bytes) -> bytes:
        o = self.o
        self.outer_ident = (self.outer_ident + 1) & 0xFFFF
        ip = f.ipv4(o.tunnel_src, o.tunnel_dst, proto, payload, ident=self.outer_ident)
        return f.ethernet(ip, f.ETH_P_IP, f.mac_for_ip(o.tunnel_src), f.mac_for_ip(o.tunnel_dst))

    def outer_udp(self, sport: int, dport: int, payload: bytes) -> bytes:
        o = self.o
        return self.outer(
            f.IPPROTO_UDP, f.udp(sport, dport, payload, src=o.tunnel_src, dst=o.tunnel_dst)
        )

    def frame(self, ip: bytes, src: str, dst: str) -> bytes:
        """Wrap one IP packet (whose endpoints are ``src``/``dst``) per ``how``."""
        how, o = self.how, self.o
        et = f.ip_ethertype(ip)
        eth = f.ethernet(ip, et, f.mac_for_ip(src), f.mac_for_ip(dst))
        self.seq += 1
        wrap: dict[str, Callable[[], bytes]] = {
            "vlan": lambda: f.ethernet(
                f.vlan(ip, et, o.vlan_id), f.ETH_P_8021Q, eth[6:12], eth[:6]
            ),
            "qinq": lambda: f.ethernet(
                f.qinq(ip, et, o.outer_vlan_id, o.vlan_id), f.ETH_P_8021AD, eth[6:12], eth[:6]
            ),
            "mpls": lambda: f.ethernet(f.mpls(o.mpls_labels, ip), f.ETH_P_MPLS, eth[6:12], eth[:6]),
            "ipip": lambda: self.outer(f.IPPROTO_IPIP, ip),
            "6in4": lambda: self.outer(f.IPPROTO_IPV6, ip),
            "gre": lambda: self.outer(f.IPPROTO_GRE, tn.gre(ip, et)),
            "gre-teb": lambda: self.outer(f.IPPROTO_GRE, tn.gre(eth, f.ETH_P_TEB, key=o.gre_key)),
            "erspan2": lambda: self.outer(
                f.IPPROTO_GRE, tn.erspan2(eth, o.erspan_session, seq=self.seq, index=1)
            ),
            "erspan3": lambda: self.outer(
                f.IPPROTO_GRE, tn.erspan3(eth, o.erspan_session, seq=self.seq, timestamp=self.seq)
            ),
            "vxlan": lambda: self.outer_udp(
                49152 + zlib.crc32(ip[12:20]) % 16384, tn.VXLAN_PORT, tn.vxlan(eth, o.vni)
            ),
            "tzsp": lambda: self.outer_udp(37009, tn.TZSP_PORT, tn.tzsp(eth)),
            "sll": lambda: f.sll(ip, src_mac=eth[6:12]),
            "sll2": lambda: f.sll2(ip, src_mac=eth[6:12]),
            "raw": lambda: f.raw(ip),
            "null": lambda: f.null(ip),
            "loop": lambda: f.loop(ip),
        }
        builder = wrap.get(how)
        return builder() if builder else eth


LINKTYPES: Final = {
    "sll": f.LINKTYPE_LINUX_SLL,
    "sll2": f.LINKTYPE_LINUX_SLL2,
    "raw": f.LINKTYPE_RAW,
    "null": f.LINKTYPE_NULL,
    "loop": f.LINKTYPE_LOOP,
}


def encapsulate(
    packets: Iterable[IpPacket], how: str = "plain", options: EncapOptions | None = None
) -> Encapsulated:
    """Frames (sorted by time, stable) of ``packets`` for encapsulation ``how``
    (one of :data:`ENCAPSULATIONS`); ValueError for an unknown one."""
    if how not in ENCAPSULATIONS:
        raise ValueError(f"unknown encapsulation {how!r}; expected one of {ENCAPSULATIONS}")
    o = options or EncapOptions()
    pkts = list(packets)
    if how in ("ipv6", "6in4", "frag6"):
        pkts = to_ipv6(pkts)
    if how == "tcp":
        pkts = [p._replace(transport="tcp") if p.kind == "sip" else p for p in pkts]
    fr = _Framer(how, o)
    out: list[tuple[float, bytes]] = []
    tcp_groups = iter(tcp_segments(pkts, o.tcp_segment, o.tcp_shuffle, o.tcp_coalesce, seed=o.seed))
    for p in pkts:
        if how == "hep3" and p.kind == "sip":
            hep = tn.hep3(p.payload, p.src, p.sport, p.dst, p.dport, p.ts,
                          capture_id=o.hep_capture_id, compress=o.hep_compress,
                          ip_proto=f.IPPROTO_TCP if p.transport == "tcp" else f.IPPROTO_UDP)  # fmt: skip
            udp = f.udp(tn.HEP_PORT, tn.HEP_PORT, hep, src=o.hep_agent, dst=o.hep_collector)
            ip = f.ipv4(o.hep_agent, o.hep_collector, f.IPPROTO_UDP, udp, ident=fr.ident)
            fr.ident += 1
            out.append((p.ts, f.ethernet(ip, f.ETH_P_IP, f.mac_for_ip(o.hep_agent))))
            continue
        if p.transport == "tcp":
            for seg in next(tcp_groups):
                tcp = f.tcp(seg.sport, seg.dport, seg.seq, seg.ack, seg.flags, seg.payload,
                            src=seg.src, dst=seg.dst)  # fmt: skip
                ipb = fr.ip(seg.src, seg.dst, f.IPPROTO_TCP, tcp)
                out.append((seg.ts, fr.frame(ipb, seg.src, seg.dst)))
            continue
        udp = f.udp(p.sport, p.dport, p.payload, src=p.src, dst=p.dst)
        ipb = fr.ip(p.src, p.dst, f.IPPROTO_UDP, udp)
        parts = [ipb]
        if how == "frag" and p.kind == "sip":
            parts = fragment_ipv4(ipb, o.mtu)
        elif how == "frag6" and p.kind == "sip":
            parts = fragment_ipv6(ipb, o.mtu, ident=fr.ident)
            fr.ident += 1
        out += [(p.ts, fr.frame(x, p.src, p.dst)) for x in parts]
    out.sort(key=lambda x: x[0])
    return Encapsulated(LINKTYPES.get(how, f.LINKTYPE_ETHERNET), out)
