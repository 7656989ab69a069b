"""Tunnels: GRE (RFC 2784/2890, RFC 1701 routing, enhanced GRE v1 of PPTP RFC 2637), ERSPAN
types I/II/III, VXLAN (RFC 7348, GPE next protocol), TZSP and HEP over UDP."""

from struct import unpack_from

from .base import DecoderBase, Frames
from .datagram import Datagram
from .hep import PROTO_TYPE_SIP, HepPacket, HepParseError, hep_datagram
from .linktypes import (
    ETH_P_ERSPAN2,
    ETH_P_ERSPAN3,
    ETH_P_IPV4,
    ETH_P_IPV6,
    ETH_P_MPLS_MC,
    ETH_P_MPLS_UC,
    ETH_P_PPP,
    ETH_P_TEB,
)

GRE_C = 0x8000
GRE_R = 0x4000
GRE_K = 0x2000
GRE_S = 0x1000
GRE_A = 0x0080
"""Acknowledgment number present (enhanced GRE, version 1)."""
GRE_VERSION = 0x0007
GRE_MAX_SRE = 16
ERSPAN2_HDR = 8
ERSPAN3_HDR = 12
ERSPAN3_SUBHDR = 8
ERSPAN3_FT_ETHERNET = 0
ERSPAN3_FT_IP = 2
ERSPAN2_EN_ISL = 1
ERSPAN2_EN_8021Q = 2
VXLAN_HDR = 8
VXLAN_I = 0x08
VXLAN_GPE_P = 0x04
VXLAN_GPE_IPV4 = 1
VXLAN_GPE_IPV6 = 2
VXLAN_GPE_ETHERNET = 3
TZSP_VERSION = 1
TZSP_TYPES_WITH_PACKET = frozenset({0, 1})
TZSP_TAG_PADDING = 0
TZSP_TAG_END = 1
TZSP_ENCAP_ETHERNET = 1


def _chain(encap: str, name: str) -> str:
    return encap + "/" + name if encap else name


class TunnelLayer(DecoderBase):
    """Decapsulation of GRE-family and UDP tunnels."""

    def _gre(
        self,
        data: bytes,
        off: int,
        end: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram]:
        """GRE header at ``off`` (``depth`` already counts this tunnel)."""
        if end - off < 4:
            return self._count("decode.truncated_gre")
        fv, proto = unpack_from("!HH", data, off)
        version = fv & GRE_VERSION
        p = off + 4
        if version == 0:
            if fv & (GRE_C | GRE_R):
                p += 4
            if fv & GRE_K:
                p += 4
            if fv & GRE_S:
                p += 4
            if fv & GRE_R:  # RFC 1701 source route entries, ended by a NULL SRE
                for _ in range(GRE_MAX_SRE):
                    if end - p < 4:
                        return self._count("decode.truncated_gre")
                    af, sre_len = unpack_from("!HxB", data, p)
                    p += 4 + sre_len
                    if af == 0 and sre_len == 0:
                        break
                else:
                    return self._count("decode.gre_bad_routing")
        elif version == 1:
            if proto != ETH_P_PPP or not fv & GRE_K:
                return self._count("decode.gre_v1_bad_header")
            if end - off < 8:
                return self._count("decode.truncated_gre")
            (plen,) = unpack_from("!H", data, off + 4)
            p = off + 8
            if fv & GRE_S:
                p += 4
            if fv & GRE_A:
                p += 4
            if not plen or not fv & GRE_S:
                return self._count("decode.gre_no_payload")
            if p + plen < end:
                end = p + plen
        else:
            return self._count(f"decode.gre_bad_version_{version}")
        if p > end:
            return self._count("decode.truncated_gre")
        if proto == ETH_P_TEB:
            return self._ethernet(data, p, end, vlan, _chain(encap, "gre"), depth, frames)
        if proto == ETH_P_IPV4:
            return self._ipv4(data, p, end, vlan, _chain(encap, "gre"), depth, frames)
        if proto == ETH_P_IPV6:
            return self._ipv6(data, p, end, vlan, _chain(encap, "gre"), depth, frames)
        if proto == ETH_P_ERSPAN2:
            if not fv & GRE_S:  # type I: no ERSPAN header
                return self._ethernet(data, p, end, vlan, _chain(encap, "erspan1"), depth, frames)
            if end - p < ERSPAN2_HDR:
                return self._count("decode.truncated_erspan")
            vv, w2 = unpack_from("!HH", data, p)
            if vv >> 12 != 1:
                return self._count("decode.erspan2_bad_version")
            if (w2 >> 11) & 3 in (ERSPAN2_EN_ISL, ERSPAN2_EN_8021Q) and vv & 0xFFF:
                vlan = vv & 0xFFF
            return self._ethernet(
                data, p + ERSPAN2_HDR, end, vlan, _chain(encap, "erspan2"), depth, frames
            )
        if proto == ETH_P_ERSPAN3:
            return self._erspan3(data, p, end, vlan, _chain(encap, "erspan3"), depth, frames)
        if proto == ETH_P_PPP:
            return self._ppp(data, p, end, vlan, _chain(encap, "gre"), depth, frames)
        if proto in (ETH_P_MPLS_UC, ETH_P_MPLS_MC):
            return self._ethertype(proto, data, p, end, vlan, _chain(encap, "gre"), depth, frames)
        return self._count(f"decode.gre_unknown_proto_0x{proto:04x}")

    def _erspan3(
        self,
        data: bytes,
        off: int,
        end: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram]:
        if end - off < ERSPAN3_HDR:
            return self._count("decode.truncated_erspan")
        vv = (data[off] << 8) | data[off + 1]
        if vv >> 12 != 2:
            return self._count("decode.erspan3_bad_version")
        if vv & 0xFFF:
            vlan = vv & 0xFFF
        last = data[off + 11]
        ft = (data[off + 10] >> 2) & 0x1F
        p = off + ERSPAN3_HDR
        if last & 1:  # O: platform specific subheader
            p += ERSPAN3_SUBHDR
            if p > end:
                return self._count("decode.truncated_erspan")
        if ft == ERSPAN3_FT_ETHERNET:
            return self._ethernet(data, p, end, vlan, encap, depth, frames)
        if ft == ERSPAN3_FT_IP:
            return self._ip_any(data, p, end, vlan, encap, depth, frames)
        return self._count(f"decode.erspan3_frame_type_{ft}")

    def _udp_tunnel(
        self,
        data: bytes,
        off: int,
        end: int,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram] | None:
        if depth >= self._max_depth:
            return self._count("decode.tunnel_too_deep")
        if dport in self._vxlan_ports or sport in self._vxlan_ports:
            return self._vxlan(data, off, end, vlan, encap, depth + 1, frames)
        if dport in self._hep_ports:
            return self._hep(data, off, end, encap)
        if dport in self._tzsp_ports:
            return self._tzsp(data, off, end, vlan, encap, depth + 1, frames)
        return None

    def _vxlan(
        self,
        data: bytes,
        off: int,
        end: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram] | None:
        if end - off < VXLAN_HDR or not data[off] & VXLAN_I:
            self._count("decode.vxlan_bad_header")
            return None  # not VXLAN after all: a plain UDP datagram
        encap = _chain(encap, "vxlan")
        p = off + VXLAN_HDR
        if data[off] & VXLAN_GPE_P:
            np = data[off + 3]
            if np == VXLAN_GPE_IPV4:
                return self._ipv4(data, p, end, vlan, encap, depth, frames)
            if np == VXLAN_GPE_IPV6:
                return self._ipv6(data, p, end, vlan, encap, depth, frames)
            if np != VXLAN_GPE_ETHERNET:
                return self._count(f"decode.vxlan_gpe_next_{np}")
        return self._ethernet(data, p, end, vlan, encap, depth, frames)

    def _tzsp(
        self,
        data: bytes,
        off: int,
        end: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram] | None:
        if end - off < 4 or data[off] != TZSP_VERSION:
            self._count("decode.tzsp_bad_header")
            return None
        typ = data[off + 1]
        proto = (data[off + 2] << 8) | data[off + 3]
        if typ not in TZSP_TYPES_WITH_PACKET:
            return self._count(f"decode.tzsp_type_{typ}")
        p = off + 4
        while True:
            if p >= end:
                return self._count("decode.truncated_tzsp")
            tag = data[p]
            if tag == TZSP_TAG_END:
                p += 1
                break
            if tag == TZSP_TAG_PADDING:
                p += 1
            elif p + 1 >= end:
                return self._count("decode.truncated_tzsp")
            else:
                p += 2 + data[p + 1]
        if proto != TZSP_ENCAP_ETHERNET:
            return self._count(f"decode.tzsp_encap_{proto}")
        return self._ethernet(data, p, end, vlan, _chain(encap, "tzsp"), depth, frames)

    def _hep(self, data: bytes, off: int, end: int, encap: str) -> list[Datagram] | None:
        """A HEP packet: SIP becomes a datagram between the captured endpoints it reports."""
        if not (data.startswith(b"HEP3", off) or (end > off and data[off] in (1, 2))):
            return None
        try:
            pkt = HepPacket.parse(data[off:end])
        except HepParseError:
            return self._count("decode.hep_bad_packet")
        if pkt.proto_type != PROTO_TYPE_SIP:
            return self._count(f"decode.hep_type_{pkt.proto_type}")
        try:
            return [hep_datagram(pkt, self._ts, encap)]
        except ValueError:
            return self._count("decode.hep_bad_addresses_or_size")
