"""Frames -> transport datagrams: link layers, VLAN, IPv4/IPv6 (fragments reassembled),
IP-in-IP, GRE (TEB, ERSPAN II/III, PPP), VXLAN, UDP, TCP segments and SCTP DATA chunks.

One :class:`Decapsulator` per file (it keeps the fragments waiting for their siblings). A frame
it cannot read gives no datagram and is counted in :attr:`Decapsulator.skipped`."""

import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

# Link types (tcpdump.org LINKTYPE_* values, and the DLT aliases found in files)
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
DLT_RAW_ALIASES = (12, 14)
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

# EtherTypes
ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_VLAN = (0x8100, 0x88A8, 0x9100)
ETH_TEB = 0x6558
ETH_ERSPAN_2 = 0x88BE
ETH_ERSPAN_3 = 0x22EB
ETH_PPP = 0x880B
PPP_IPV4 = 0x0021
PPP_IPV6 = 0x0057

# IP protocol numbers
IPPROTO_IPIP = 4
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_IPV6 = 41
IPPROTO_GRE = 47
IPPROTO_SCTP = 132
IPV6_EXT_HEADERS = frozenset({0, 43, 60})  # hop-by-hop, routing, destination options
IPV6_FRAGMENT = 44

VXLAN_PORT = 4789
SCTP_DATA = 0
MAX_DEPTH = 6
"""Nested encapsulations followed at most."""
MAX_PENDING_FRAGMENTS = 1024
FRAGMENT_TIMEOUT_S = 30.0

_U16 = struct.Struct("!H")


@dataclass(slots=True)
class Datagram:
    """One transport payload with its addresses (text form)."""

    ts: float
    src: str
    dst: str
    sport: int
    dport: int
    transport: str
    """``udp``, ``tcp`` or ``sctp``."""
    payload: bytes
    frames: tuple[int, ...]
    """Indexes of the frames that carried it (several for a fragmented datagram)."""
    vlan: int | None = None
    tcp_seq: int = 0
    tcp_flags: int = 0
    truncated: bool = False
    """The capture holds less than the datagram (snap length, header-only spool mode)."""


@dataclass(slots=True)
class _Fragments:
    first_ts: float
    parts: dict[int, bytes] = field(default_factory=dict)
    frames: list[int] = field(default_factory=list)
    total: int | None = None
    proto: int = 0


class Decapsulator:
    """Decodes the frames of one capture file (one link type)."""

    def __init__(self, linktype: int) -> None:
        self.linktype = LINKTYPE_RAW if linktype in DLT_RAW_ALIASES else linktype
        self.skipped = 0
        self._frags: dict[tuple[bytes, bytes, int, int], _Fragments] = {}

    def decode(self, index: int, ts: float, frame: bytes) -> list[Datagram]:
        out: list[Datagram] = []
        try:
            self._link(self.linktype, frame, (index,), ts, out, None, 0)
        except (IndexError, struct.error, ValueError):
            self.skipped += 1
        return out

    # -- link layers ---------------------------------------------------------------------------

    def _link(
        self,
        lt: int,
        b: bytes,
        fr: tuple[int, ...],
        ts: float,
        out: list[Datagram],
        vlan: int | None,
        depth: int,
    ) -> None:
        if lt == LINKTYPE_ETHERNET:
            self._ether(b, 12, fr, ts, out, vlan, depth)
        elif lt == LINKTYPE_LINUX_SLL:
            self._ethertype(_U16.unpack_from(b, 14)[0], b[16:], fr, ts, out, vlan, depth)
        elif lt == LINKTYPE_LINUX_SLL2:
            self._ethertype(_U16.unpack_from(b, 0)[0], b[20:], fr, ts, out, vlan, depth)
        elif lt in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6):
            self._ip(b, fr, ts, out, vlan, depth)
        elif lt in (LINKTYPE_NULL, LINKTYPE_LOOP):
            family = struct.unpack_from("<I" if b[0] or b[1] else ">I", b, 0)[0]
            if family in (2, 24, 28, 30):  # AF_INET, AF_INET6 (BSDs)
                self._ip(b[4:], fr, ts, out, vlan, depth)
        else:
            self.skipped += 1

    def _ether(
        self,
        b: bytes,
        off: int,
        fr: tuple[int, ...],
        ts: float,
        out: list[Datagram],
        vlan: int | None,
        depth: int,
    ) -> None:
        etype = _U16.unpack_from(b, off)[0]
        off += 2
        while etype in ETH_VLAN:
            vlan = _U16.unpack_from(b, off)[0] & 0x0FFF  # the innermost tag wins (QinQ C-tag)
            etype = _U16.unpack_from(b, off + 2)[0]
            off += 4
        self._ethertype(etype, b[off:], fr, ts, out, vlan, depth)

    def _ethertype(
        self,
        etype: int,
        b: bytes,
        fr: tuple[int, ...],
        ts: float,
        out: list[Datagram],
        vlan: int | None,
        depth: int,
    ) -> None:
        if etype in (ETH_IPV4, ETH_IPV6):
            self._ip(b, fr, ts, out, vlan, depth)
        elif etype in ETH_VLAN:
            self._ether(b"\0" * 12 + _U16.pack(etype) + b, 12, fr, ts, out, vlan, depth)

    # -- IP ------------------------------------------------------------------------------------

    def _ip(
        self,
        b: bytes,
        fr: tuple[int, ...],
        ts: float,
        out: list[Datagram],
        vlan: int | None,
        depth: int,
    ) -> None:
        if depth > MAX_DEPTH:
            raise ValueError("too deeply nested")
        version = b[0] >> 4
        if version == 4:
            ihl = (b[0] & 0x0F) * 4
            total = _U16.unpack_from(b, 2)[0]
            ident = _U16.unpack_from(b, 4)[0]
            frag = _U16.unpack_from(b, 6)[0]
            proto = b[9]
            src, dst = b[12:16], b[16:20]
            if total == 0:  # segmentation offload: the length was never filled in
                total = len(b)
            if total < ihl:
                raise ValueError("bad IPv4 total length")
            payload = b[ihl:total]
            more, offset = bool(frag & 0x2000), (frag & 0x1FFF) * 8
            if more or offset:
                done = self._fragment((src, dst, ident, proto), offset, more, payload, fr, ts)
                if done is None:
                    return
                payload, fr = done
        elif version == 6:
            plen = _U16.unpack_from(b, 4)[0]
            proto = b[6]
            src, dst = b[8:24], b[24:40]
            payload = b[40 : 40 + plen]
            while proto in IPV6_EXT_HEADERS or proto == IPV6_FRAGMENT:
                nxt = payload[0]
                if proto == IPV6_FRAGMENT:
                    fo = _U16.unpack_from(payload, 2)[0]
                    ident = struct.unpack_from("!I", payload, 4)[0]
                    done = self._fragment(
                        (src, dst, ident, nxt), fo & 0xFFF8, bool(fo & 1), payload[8:], fr, ts
                    )
                    if done is None:
                        return
                    payload, fr = done
                else:
                    payload = payload[(payload[1] + 1) * 8 :]
                proto = nxt
        else:
            raise ValueError("not IP")
        self._transport(proto, src, dst, payload, fr, ts, out, vlan, depth)

    def _fragment(
        self,
        key: tuple[bytes, bytes, int, int],
        offset: int,
        more: bool,
        data: bytes,
        fr: tuple[int, ...],
        ts: float,
    ) -> tuple[bytes, tuple[int, ...]] | None:
        """Store one fragment; the whole datagram and its frames once every part is in."""
        entry = self._frags.get(key)
        if entry is None:
            if len(self._frags) >= MAX_PENDING_FRAGMENTS:
                self._expire(ts, force=True)
            entry = self._frags[key] = _Fragments(first_ts=ts, proto=key[3])
        entry.parts[offset] = data
        entry.frames.extend(fr)
        if not more:
            entry.total = offset + len(data)
        if entry.total is None:
            return None
        have = 0
        for off in sorted(entry.parts):
            if off > have:
                return None
            have = max(have, off + len(entry.parts[off]))
        if have < entry.total:
            return None
        buf = bytearray(entry.total)
        for off in sorted(entry.parts):
            part = entry.parts[off]
            buf[off : off + len(part)] = part
        del self._frags[key]
        return bytes(buf), tuple(entry.frames)

    def _expire(self, now: float, force: bool = False) -> None:
        for k in [
            k for k, e in self._frags.items() if force or now - e.first_ts > FRAGMENT_TIMEOUT_S
        ]:
            del self._frags[k]
            self.skipped += 1

    def _transport(
        self,
        proto: int,
        src_b: bytes,
        dst_b: bytes,
        p: bytes,
        fr: tuple[int, ...],
        ts: float,
        out: list[Datagram],
        vlan: int | None,
        depth: int,
    ) -> None:
        if proto == IPPROTO_UDP:
            sport, dport, length = struct.unpack_from("!HHH", p, 0)
            data = p[8:length] if length >= 8 else p[8:]
            if dport == VXLAN_PORT and len(data) >= 8 and data[0] & 0x08:
                self._ether(data[8:], 12, fr, ts, out, None, depth + 1)
                return
            src, dst = _ip_text(src_b), _ip_text(dst_b)
            cut = length > len(p)
            out.append(Datagram(ts, src, dst, sport, dport, "udp", data, fr, vlan, truncated=cut))
        elif proto == IPPROTO_TCP:
            sport, dport, seq = struct.unpack_from("!HHI", p, 0)
            hlen = (p[12] >> 4) * 4
            flags = p[13]
            src, dst = _ip_text(src_b), _ip_text(dst_b)
            out.append(Datagram(ts, src, dst, sport, dport, "tcp", p[hlen:], fr, vlan, seq, flags))
        elif proto == IPPROTO_SCTP:
            self._sctp(src_b, dst_b, p, fr, ts, out, vlan)
        elif proto in (IPPROTO_IPIP, IPPROTO_IPV6):
            self._ip(p, fr, ts, out, vlan, depth + 1)
        elif proto == IPPROTO_GRE:
            self._gre(p, fr, ts, out, vlan, depth + 1)

    def _sctp(
        self,
        src_b: bytes,
        dst_b: bytes,
        p: bytes,
        fr: tuple[int, ...],
        ts: float,
        out: list[Datagram],
        vlan: int | None,
    ) -> None:
        sport, dport = struct.unpack_from("!HH", p, 0)
        off = 12
        src, dst = _ip_text(src_b), _ip_text(dst_b)
        while off + 4 <= len(p):
            ctype, _flags, clen = struct.unpack_from("!BBH", p, off)
            if clen < 4:
                break
            if ctype == SCTP_DATA and clen > 16:
                out.append(
                    Datagram(ts, src, dst, sport, dport, "sctp", p[off + 16 : off + clen], fr, vlan)
                )
            off += (clen + 3) & ~3

    def _gre(
        self,
        p: bytes,
        fr: tuple[int, ...],
        ts: float,
        out: list[Datagram],
        vlan: int | None,
        depth: int,
    ) -> None:
        flags, proto = struct.unpack_from("!HH", p, 0)
        off = 4
        if flags & 0x8000:  # checksum present
            off += 4
        if flags & 0x2000:  # key present
            off += 4
        if flags & 0x1000:  # sequence number present
            off += 4
        if flags & 0x0007 == 1 and flags & 0x0080:  # enhanced GRE (PPTP): acknowledgment
            off += 4
        body = p[off:]
        if proto in (ETH_IPV4, ETH_IPV6):
            self._ip(body, fr, ts, out, vlan, depth)
        elif proto == ETH_TEB:
            self._ether(body, 12, fr, ts, out, None, depth)
        elif proto == ETH_ERSPAN_2:
            self._ether(body[8:], 12, fr, ts, out, None, depth)
        elif proto == ETH_ERSPAN_3:
            sub = 8 if body[11] & 0x01 else 0  # O flag: platform-specific subheader follows
            self._ether(body[12 + sub :], 12, fr, ts, out, None, depth)
        elif proto == ETH_PPP:
            if body[:2] == b"\xff\x03":
                body = body[2:]
            ppp = _U16.unpack_from(body, 0)[0]
            if ppp in (PPP_IPV4, PPP_IPV6):
                self._ip(body[2:], fr, ts, out, vlan, depth)


def _ip_text(b: bytes) -> str:
    return str(IPv4Address(b)) if len(b) == 4 else str(IPv6Address(b))
