"""Frame builders for the link, network and transport layers (all return ``bytes``).

Each builder wraps a payload in one header. Stack them inside out::

    ip = ipv4("10.0.0.1", "10.0.0.2", IPPROTO_UDP, udp(5060, 5060, sip, src=..., dst=...))
    frame = ethernet(vlan(ip, ETH_P_IP, vid=100), ETH_P_8021Q)

Addresses are text (``"10.0.0.1"``, ``"2001:db8::1"``) or packed bytes (4 or 16).
Checksums (IPv4 header, UDP, TCP) are always valid; UDP/TCP need ``src``/``dst`` for the
pseudo-header (without them the UDP checksum is 0, "none", which is only legal over IPv4).
"""

import socket
import struct
from collections.abc import Sequence
from typing import Final

ETH_P_IP: Final = 0x0800
ETH_P_IPV6: Final = 0x86DD
ETH_P_8021Q: Final = 0x8100
ETH_P_8021AD: Final = 0x88A8
ETH_P_MPLS: Final = 0x8847
ETH_P_TEB: Final = 0x6558
"""Transparent Ethernet Bridging (GRE protocol of an Ethernet payload)."""
ETH_P_ERSPAN2: Final = 0x88BE
ETH_P_ERSPAN3: Final = 0x22EB

IPPROTO_HOPOPTS: Final = 0
IPPROTO_IPIP: Final = 4
IPPROTO_TCP: Final = 6
IPPROTO_UDP: Final = 17
IPPROTO_IPV6: Final = 41
IPPROTO_ROUTING: Final = 43
IPPROTO_FRAGMENT: Final = 44
IPPROTO_GRE: Final = 47
IPPROTO_DSTOPTS: Final = 60

TCP_FIN: Final = 0x01
TCP_SYN: Final = 0x02
TCP_RST: Final = 0x04
TCP_PSH: Final = 0x08
TCP_ACK: Final = 0x10

LINKTYPE_NULL: Final = 0
LINKTYPE_ETHERNET: Final = 1
LINKTYPE_RAW: Final = 101
LINKTYPE_LOOP: Final = 108
LINKTYPE_LINUX_SLL: Final = 113
LINKTYPE_LINUX_SLL2: Final = 276

BSD_AF_INET: Final = 2
BSD_AF_INET6: Final = 24
"""NetBSD/OpenBSD value; Wireshark accepts 24, 28 and 30 for IPv6 on NULL/LOOP."""

DEFAULT_SRC_MAC: Final = b"\x02\x00\x00\x00\x00\x01"
DEFAULT_DST_MAC: Final = b"\x02\x00\x00\x00\x00\x02"

Addr = str | bytes


def pack_ip(addr: Addr) -> bytes:
    """Packed form (4 or 16 bytes) of a text or packed address; ValueError if neither."""
    if isinstance(addr, bytes):
        if len(addr) in (4, 16):
            return addr
        raise ValueError(f"packed IP address must be 4 or 16 bytes, got {len(addr)}")
    try:
        if ":" in addr:
            return socket.inet_pton(socket.AF_INET6, addr)
        return socket.inet_pton(socket.AF_INET, addr)
    except OSError:
        raise ValueError(f"not an IP address: {addr!r}") from None


def mac_for_ip(addr: Addr) -> bytes:
    """A locally administered MAC derived from an address (``02:00`` + its last 4 bytes)."""
    return b"\x02\x00" + pack_ip(addr)[-4:]


def checksum(data: bytes | bytearray) -> int:
    """Internet checksum (RFC 1071) of ``data``: the ones' complement of the ones' complement sum."""
    if len(data) % 2:
        data = bytes(data) + b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _pseudo_header(src: Addr, dst: Addr, proto: int, length: int) -> bytes:
    s, d = pack_ip(src), pack_ip(dst)
    if len(s) != len(d):
        raise ValueError("source and destination address families differ")
    if len(s) == 4:
        return s + d + struct.pack("!BBH", 0, proto, length)
    return s + d + struct.pack("!I3xB", length, proto)


def ethernet(
    payload: bytes,
    ethertype: int = ETH_P_IP,
    src_mac: bytes = DEFAULT_SRC_MAC,
    dst_mac: bytes = DEFAULT_DST_MAC,
) -> bytes:
    """Ethernet II frame (no FCS)."""
    return dst_mac + src_mac + struct.pack("!H", ethertype) + payload


def vlan(payload: bytes, ethertype: int, vid: int, pcp: int = 0) -> bytes:
    """802.1Q tag body (TCI + inner ethertype) + payload; wrap it with ethertype 0x8100 (or
    0x88A8 for the outer tag of QinQ)."""
    if not 0 <= vid < 4096:
        raise ValueError(f"VLAN id out of range: {vid}")
    return struct.pack("!HH", (pcp << 13) | vid, ethertype) + payload


def qinq(payload: bytes, ethertype: int, outer_vid: int, inner_vid: int) -> bytes:
    """802.1ad stack: the result goes in a frame of ethertype ``ETH_P_8021AD`` (0x88A8)."""
    return vlan(vlan(payload, ethertype, inner_vid), ETH_P_8021Q, outer_vid)


def mpls(labels: Sequence[int], payload: bytes, tc: int = 0, ttl: int = 64) -> bytes:
    """MPLS label stack (outermost first, bottom-of-stack bit on the last) + payload; the
    result goes in a frame of ethertype ``ETH_P_MPLS``."""
    if not labels:
        raise ValueError("MPLS needs at least one label")
    out = bytearray()
    for i, label in enumerate(labels):
        bos = 1 if i == len(labels) - 1 else 0
        out += struct.pack("!I", (label << 12) | (tc << 9) | (bos << 8) | ttl)
    return bytes(out) + payload


def ipv4(
    src: Addr,
    dst: Addr,
    proto: int,
    payload: bytes,
    *,
    ident: int = 0,
    ttl: int = 64,
    tos: int = 0,
    df: bool = False,
    mf: bool = False,
    frag_offset: int = 0,
    options: bytes = b"",
) -> bytes:
    """IPv4 packet with a valid header checksum. ``frag_offset`` is in bytes (multiple of 8)."""
    if frag_offset % 8:
        raise ValueError(f"fragment offset {frag_offset} is not a multiple of 8")
    if len(options) % 4:
        raise ValueError("IPv4 options must be padded to a multiple of 4 bytes")
    ihl = 5 + len(options) // 4
    flags = (0x4000 if df else 0) | (0x2000 if mf else 0) | (frag_offset >> 3)
    total = ihl * 4 + len(payload)
    if total > 0xFFFF:
        raise ValueError(f"IPv4 packet too long: {total}")
    hdr = bytearray(
        struct.pack(
            "!BBHHHBBH4s4s",
            0x40 | ihl,
            tos,
            total,
            ident & 0xFFFF,
            flags,
            ttl,
            proto,
            0,
            pack_ip(src),
            pack_ip(dst),
        )
        + options
    )
    struct.pack_into("!H", hdr, 10, checksum(hdr))
    return bytes(hdr) + payload


def ipv6_ext(header_type: int, next_header: int, body: bytes) -> bytes:
    """One IPv6 extension header. For hop-by-hop/destination options the body (options) is
    zero-padded (Pad1) to a multiple of 8 bytes; a fragment header body is its 6 bytes."""
    if header_type == IPPROTO_FRAGMENT:
        if len(body) != 6:
            raise ValueError("fragment header body must be 6 bytes")
        return struct.pack("!BB", next_header, 0) + body
    pad = (-(len(body) + 2)) % 8
    if pad and header_type not in (IPPROTO_HOPOPTS, IPPROTO_DSTOPTS):
        raise ValueError(f"extension header {header_type} body is not 8-byte aligned")
    body += b"\x00" * pad
    return struct.pack("!BB", next_header, (len(body) + 2) // 8 - 1) + body


def ipv6(
    src: Addr,
    dst: Addr,
    next_header: int,
    payload: bytes,
    *,
    ext_headers: Sequence[tuple[int, bytes]] = (),
    hop_limit: int = 64,
    traffic_class: int = 0,
    flow_label: int = 0,
) -> bytes:
    """IPv6 packet. ``ext_headers`` are ``(type, body)`` pairs in wire order (see
    :func:`ipv6_ext`); ``next_header`` is the protocol of ``payload`` after them."""
    chain = b""
    nh = next_header
    for htype, body in reversed(ext_headers):
        chain = ipv6_ext(htype, nh, body) + chain
        nh = htype
    plen = len(chain) + len(payload)
    if plen > 0xFFFF:
        raise ValueError(f"IPv6 payload too long: {plen}")
    first = (6 << 28) | (traffic_class << 20) | flow_label
    return (
        struct.pack("!IHBB16s16s", first, plen, nh, hop_limit, pack_ip(src), pack_ip(dst))
        + chain
        + payload
    )


def udp(
    sport: int, dport: int, payload: bytes, *, src: Addr | None = None, dst: Addr | None = None
) -> bytes:
    """UDP datagram; checksum computed when ``src`` and ``dst`` are given (required for IPv6)."""
    length = 8 + len(payload)
    seg = bytearray(struct.pack("!HHHH", sport, dport, length, 0) + payload)
    if src is not None and dst is not None:
        c = checksum(_pseudo_header(src, dst, IPPROTO_UDP, length) + seg)
        struct.pack_into("!H", seg, 6, c or 0xFFFF)
    return bytes(seg)


def tcp(
    sport: int,
    dport: int,
    seq: int,
    ack: int,
    flags: int,
    payload: bytes = b"",
    *,
    src: Addr | None = None,
    dst: Addr | None = None,
    window: int = 65535,
    options: bytes = b"",
) -> bytes:
    """TCP segment; checksum computed when ``src`` and ``dst`` are given."""
    if len(options) % 4:
        raise ValueError("TCP options must be padded to a multiple of 4 bytes")
    off = (5 + len(options) // 4) << 12
    seg = bytearray(
        struct.pack(
            "!HHIIHHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, off | flags, window, 0, 0
        )
        + options
        + payload
    )
    if src is not None and dst is not None:
        struct.pack_into(
            "!H", seg, 16, checksum(_pseudo_header(src, dst, IPPROTO_TCP, len(seg)) + seg)
        )
    return bytes(seg)


def ip_ethertype(ip_packet: bytes) -> int:
    """``ETH_P_IP`` or ``ETH_P_IPV6`` from the version nibble of an IP packet."""
    version = ip_packet[0] >> 4 if ip_packet else 0
    if version == 4:
        return ETH_P_IP
    if version == 6:
        return ETH_P_IPV6
    raise ValueError(f"not an IP packet (version {version})")


def sll(ip_packet: bytes, pkttype: int = 0, src_mac: bytes = DEFAULT_SRC_MAC) -> bytes:
    """Linux cooked capture v1 header (``LINKTYPE_LINUX_SLL``) + IP packet."""
    addr = src_mac.ljust(8, b"\x00")
    return (
        struct.pack("!HHH8sH", pkttype, 1, len(src_mac), addr, ip_ethertype(ip_packet)) + ip_packet
    )


def sll2(
    ip_packet: bytes, pkttype: int = 0, ifindex: int = 1, src_mac: bytes = DEFAULT_SRC_MAC
) -> bytes:
    """Linux cooked capture v2 header (``LINKTYPE_LINUX_SLL2``) + IP packet."""
    addr = src_mac.ljust(8, b"\x00")
    return (
        struct.pack(
            "!HHIHBB8s", ip_ethertype(ip_packet), 0, ifindex, 1, pkttype, len(src_mac), addr
        )
        + ip_packet
    )


def null(ip_packet: bytes) -> bytes:
    """BSD loopback (``LINKTYPE_NULL``): address family in host (here little-endian) order."""
    af = BSD_AF_INET if ip_ethertype(ip_packet) == ETH_P_IP else BSD_AF_INET6
    return struct.pack("<I", af) + ip_packet


def loop(ip_packet: bytes) -> bytes:
    """OpenBSD loopback (``LINKTYPE_LOOP``): address family in network byte order."""
    af = BSD_AF_INET if ip_ethertype(ip_packet) == ETH_P_IP else BSD_AF_INET6
    return struct.pack("!I", af) + ip_packet


def raw(ip_packet: bytes) -> bytes:
    """``LINKTYPE_RAW``: the IP packet itself (for symmetry with the other link builders)."""
    ip_ethertype(ip_packet)
    return ip_packet
