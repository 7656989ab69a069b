"""IPv4 and IPv6 (with extension headers and fragments) and the dispatch on the IP protocol."""

from struct import unpack_from

from .base import NONE, DecoderBase, Frames
from .datagram import SCTP, TCP, UDP, Datagram
from .fragments import FragmentTable

IPV4_MIN_HDR = 20
IPV6_HDR = 40
IP_MF = 0x2000
IP_OFFMASK = 0x1FFF

PROTO_ICMP = 1
PROTO_IPIP = 4
PROTO_IPV6 = 41
PROTO_GRE = 47
PROTO_ICMPV6 = 58

# IPv6 extension headers (RFC 8200 section 4; IANA "IPv6 Extension Header Types")
NH_HOP_BY_HOP = 0
NH_ROUTING = 43
NH_FRAGMENT = 44
NH_ESP = 50
NH_AH = 51
NH_NONE = 59
NH_DEST_OPTS = 60
NH_MOBILITY = 135
NH_HIP = 139
NH_SHIM6 = 140
GENERIC_EXT = frozenset({NH_HOP_BY_HOP, NH_ROUTING, NH_DEST_OPTS, NH_MOBILITY, NH_HIP, NH_SHIM6})
MAX_EXT_HEADERS = 16


class IpLayer(DecoderBase):
    """IP decoding; fragments go through ``self._frags``."""

    _frags: FragmentTable

    def _ip_any(
        self,
        data: bytes,
        off: int,
        end: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram]:
        """An IP header of either version (raw IP link types, MPLS, ERSPAN III)."""
        if off >= end:
            return self._count("decode.truncated_ip")
        v = data[off] >> 4
        if v == 4:
            return self._ipv4(data, off, end, vlan, encap, depth, frames)
        if v == 6:
            return self._ipv6(data, off, end, vlan, encap, depth, frames)
        return self._count("decode.non_ip")

    def _ipv4(
        self,
        data: bytes,
        off: int,
        end: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram]:
        if end - off < IPV4_MIN_HDR:
            return self._count("decode.truncated_ipv4")
        vihl = data[off]
        if vihl >> 4 != 4:
            return self._count("decode.ipv4_bad_version")
        ihl = (vihl & 15) << 2
        if ihl < IPV4_MIN_HDR:
            return self._count("decode.ipv4_bad_ihl")
        total, ident, frag, proto = unpack_from("!HHHxB", data, off + 2)
        if total == 0:  # TCP segmentation offload: the length is left to the NIC
            total = end - off
        if total < ihl:
            return self._count("decode.ipv4_bad_total_length")
        if off + total > end:
            return self._count("decode.truncated_ipv4")
        end = off + total
        src = data[off + 12 : off + 16]
        dst = data[off + 16 : off + 20]
        if frag & (IP_MF | IP_OFFMASK):
            done = self._frags.add(
                (src, dst, ident, proto),
                (frag & IP_OFFMASK) << 3,
                bool(frag & IP_MF),
                data,
                off + ihl,
                end,
                proto,
                self._ts,
                frames if frames is not None else [(self._ts, self._frame)],
            )
            if done is None:
                return NONE
            payload, frames, _ = done
            return self._ip_payload(
                proto, payload, 0, len(payload), src, dst, vlan, encap, depth, frames
            )
        if proto == UDP:
            return self._udp(data, off + ihl, end, src, dst, vlan, encap, depth, frames)
        return self._ip_payload(proto, data, off + ihl, end, src, dst, vlan, encap, depth, frames)

    def _ipv6(
        self,
        data: bytes,
        off: int,
        end: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram]:
        if end - off < IPV6_HDR:
            return self._count("decode.truncated_ipv6")
        if data[off] >> 4 != 6:
            return self._count("decode.ipv6_bad_version")
        plen, nh = unpack_from("!HB", data, off + 4)
        src = data[off + 8 : off + 24]
        dst = data[off + 24 : off + 40]
        p = off + IPV6_HDR
        if plen:  # 0: jumbogram or segmentation offload, the capture length rules
            if p + plen > end:
                return self._count("decode.truncated_ipv6")
            end = p + plen
        for _ in range(MAX_EXT_HEADERS):
            if nh in GENERIC_EXT or nh == NH_AH:
                if end - p < 2:
                    return self._count("decode.truncated_ipv6_ext")
                hlen = (data[p + 1] + 2) << 2 if nh == NH_AH else (data[p + 1] + 1) << 3
                nh = data[p]
                p += hlen
                if p > end:
                    return self._count("decode.truncated_ipv6_ext")
            elif nh == NH_FRAGMENT:
                if end - p < 8:
                    return self._count("decode.truncated_ipv6_ext")
                fnh = data[p]
                offm, ident = unpack_from("!HI", data, p + 2)
                p += 8
                if offm & 0xFFF9 == 0:  # atomic fragment (RFC 6946)
                    nh = fnh
                    continue
                done = self._frags.add(
                    (src, dst, ident),
                    offm & 0xFFF8,
                    bool(offm & 1),
                    data,
                    p,
                    end,
                    fnh,
                    self._ts,
                    frames if frames is not None else [(self._ts, self._frame)],
                )
                if done is None:
                    return NONE
                data, frames, nh = done
                p = 0
                end = len(data)
            elif nh == NH_ESP:
                return self._count("decode.ipv6_esp")
            elif nh == NH_NONE:
                return self._count("decode.ipv6_no_next_header")
            else:
                return self._ip_payload(nh, data, p, end, src, dst, vlan, encap, depth, frames)
        return self._count("decode.ipv6_too_many_ext_headers")

    def _ip_payload(
        self,
        proto: int,
        data: bytes,
        off: int,
        end: int,
        src: bytes,
        dst: bytes,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram]:
        """Dispatch on the IP protocol / IPv6 next header."""
        if proto == UDP:
            return self._udp(data, off, end, src, dst, vlan, encap, depth, frames)
        if proto == TCP:
            return self._tcp(data, off, end, src, dst, vlan, encap, frames)
        if proto in (PROTO_ICMP, PROTO_ICMPV6):
            return self._count("decode.icmp")
        if proto == SCTP:
            return self._sctp(data, off, end, src, dst, vlan, encap, frames)
        if proto in (PROTO_IPIP, PROTO_IPV6, PROTO_GRE):
            if depth >= self._max_depth:
                return self._count("decode.tunnel_too_deep")
            if proto == PROTO_GRE:
                return self._gre(data, off, end, vlan, encap, depth + 1, frames)
            encap = encap + "/ipip" if encap else "ipip"
            if proto == PROTO_IPIP:
                return self._ipv4(data, off, end, vlan, encap, depth + 1, frames)
            return self._ipv6(data, off, end, vlan, encap, depth + 1, frames)
        return self._count(f"decode.ip_proto_{proto}")
