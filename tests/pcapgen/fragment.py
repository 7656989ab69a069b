"""IP fragmentation: split an IPv4 or IPv6 packet into fragments that fit an MTU."""

import struct

from tests.pcapgen.frames import IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_ROUTING, checksum


def fragment_ipv4(packet: bytes, mtu: int) -> list[bytes]:
    """Fragments of an IPv4 packet, each at most ``mtu`` bytes, in offset order.

    A packet that fits is returned alone. The header (options included) is copied into every
    fragment with its checksum recomputed; fragmenting a fragment keeps its offset and MF bit.
    Raises ValueError when DF is set and the packet does not fit, or the MTU is too small.
    """
    if len(packet) < 20 or packet[0] >> 4 != 4:
        raise ValueError("not an IPv4 packet")
    ihl = (packet[0] & 0x0F) * 4
    (total, flags) = struct.unpack_from("!H2xH", packet, 2)
    if total <= mtu:
        return [packet]
    if flags & 0x4000:
        raise ValueError(f"DF set on a {total}-byte packet larger than MTU {mtu}")
    block = (mtu - ihl) // 8 * 8
    if block <= 0:
        raise ValueError(f"MTU {mtu} too small for a {ihl}-byte header")
    base = (flags & 0x1FFF) * 8
    last_mf = flags & 0x2000
    data = packet[ihl:total]
    out = []
    for off in range(0, len(data), block):
        chunk = data[off : off + block]
        more = 0x2000 if off + block < len(data) else last_mf
        hdr = bytearray(packet[:ihl])
        struct.pack_into("!H", hdr, 2, ihl + len(chunk))
        struct.pack_into("!H", hdr, 6, more | ((base + off) >> 3))
        struct.pack_into("!H", hdr, 10, 0)
        struct.pack_into("!H", hdr, 10, checksum(hdr))
        out.append(bytes(hdr) + chunk)
    return out


def fragment_ipv6(packet: bytes, mtu: int, ident: int) -> list[bytes]:
    """Fragments of an IPv6 packet (RFC 8200 section 4.5), each at most ``mtu`` bytes.

    The unfragmentable part is the fixed header plus any leading hop-by-hop and routing
    headers; a fragment header with identification ``ident`` follows it in every fragment.
    A packet that fits is returned alone. Raises ValueError on a too-small MTU.
    """
    if len(packet) < 40 or packet[0] >> 4 != 6:
        raise ValueError("not an IPv6 packet")
    if len(packet) <= mtu:
        return [packet]
    nh_pos, pos = 6, 40
    nh = packet[6]
    while nh in (IPPROTO_HOPOPTS, IPPROTO_ROUTING):
        if pos + 2 > len(packet):
            raise ValueError("truncated IPv6 extension header")
        nh_pos = pos
        nh = packet[pos]
        pos += (packet[pos + 1] + 1) * 8
    unfrag = bytearray(packet[:pos])
    unfrag[nh_pos] = IPPROTO_FRAGMENT
    data = packet[pos:]
    block = (mtu - len(unfrag) - 8) // 8 * 8
    if block <= 0:
        raise ValueError(f"MTU {mtu} too small for a {len(unfrag)}-byte unfragmentable part")
    out = []
    for off in range(0, len(data), block):
        chunk = data[off : off + block]
        more = 1 if off + block < len(data) else 0
        fh = struct.pack("!BBHI", nh, 0, off | more, ident & 0xFFFFFFFF)
        hdr = bytearray(unfrag)
        struct.pack_into("!H", hdr, 4, len(unfrag) - 40 + 8 + len(chunk))
        out.append(bytes(hdr) + fh + chunk)
    return out
