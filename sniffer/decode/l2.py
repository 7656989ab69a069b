"""Link layers: Ethernet with 802.1Q/802.1ad/QinQ tags, MPLS, PPPoE, PPP, and the pcap link
types (Linux cooked v1/v2, NULL/LOOP, raw IP, PPP, Cisco HDLC)."""

from struct import unpack_from

from .base import DecoderBase, Frames
from .datagram import Datagram
from .linktypes import (
    AF_INET,
    AF_INET6_VALUES,
    DLT_C_HDLC,
    DLT_EN10MB,
    DLT_IPV4,
    DLT_IPV6,
    DLT_LINUX_SLL,
    DLT_LINUX_SLL2,
    DLT_LOOP,
    DLT_NULL,
    DLT_PPP,
    DLT_PPP_HDLC,
    DLT_RAW,
    DLT_RAW_12,
    DLT_RAW_14,
    ETH_P_IPV4,
    ETH_P_IPV6,
    ETH_P_MPLS_MC,
    ETH_P_MPLS_UC,
    ETH_P_PPPOE_SESS,
    PPP_IPV4,
    PPP_IPV6,
    VLAN_TPIDS,
)

ETH_HDR = 14
SLL_HDR = 16
SLL2_HDR = 20
PPPOE_HDR = 6
MAX_VLAN_TAGS = 8
MAX_MPLS_LABELS = 16
MPLS_BOTTOM_OF_STACK = 0x100
PPP_ADDR_CTRL = b"\xff\x03"


class L2Layer(DecoderBase):
    """Link-layer decoding down to the first IP header."""

    def _link(self, linktype: int, frame: bytes) -> list[Datagram]:
        """Decode one captured frame of pcap link type ``linktype``."""
        end = len(frame)
        if linktype == DLT_EN10MB:
            return self._ethernet(frame, 0, end, None, "", 0, None)
        if linktype == DLT_LINUX_SLL:
            if end < SLL_HDR:
                return self._count("decode.truncated_sll")
            etype = (frame[14] << 8) | frame[15]
            return self._ethertype(etype, frame, SLL_HDR, end, None, "", 0, None)
        if linktype == DLT_LINUX_SLL2:
            if end < SLL2_HDR:
                return self._count("decode.truncated_sll2")
            etype = (frame[0] << 8) | frame[1]
            return self._ethertype(etype, frame, SLL2_HDR, end, None, "", 0, None)
        if linktype in (DLT_RAW, DLT_RAW_12, DLT_RAW_14):
            return self._ip_any(frame, 0, end, None, "", 0, None)
        if linktype == DLT_IPV4:
            return self._ipv4(frame, 0, end, None, "", 0, None)
        if linktype == DLT_IPV6:
            return self._ipv6(frame, 0, end, None, "", 0, None)
        if linktype in (DLT_NULL, DLT_LOOP):
            if end < 4:
                return self._count("decode.truncated_loopback")
            (af,) = unpack_from(">I" if linktype == DLT_LOOP else "<I", frame, 0)
            if af > 0xFFFF:  # DLT_NULL is in the capturing host's byte order
                (af,) = unpack_from(">I", frame, 0)
            if af == AF_INET:
                return self._ipv4(frame, 4, end, None, "", 0, None)
            if af in AF_INET6_VALUES:
                return self._ipv6(frame, 4, end, None, "", 0, None)
            return self._count("decode.non_ip")
        if linktype in (DLT_PPP, DLT_PPP_HDLC):
            return self._ppp(frame, 0, end, None, "", 0, None)
        if linktype == DLT_C_HDLC:
            if end < 4:
                return self._count("decode.truncated_chdlc")
            etype = (frame[2] << 8) | frame[3]
            return self._ethertype(etype, frame, 4, end, None, "", 0, None)
        return self._count(f"decode.unknown_linktype_{linktype}")

    def _ethernet(
        self,
        data: bytes,
        off: int,
        end: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram]:
        if end - off < ETH_HDR:
            return self._count("decode.truncated_ethernet")
        etype = (data[off + 12] << 8) | data[off + 13]
        return self._ethertype(etype, data, off + ETH_HDR, end, vlan, encap, depth, frames)

    def _ethertype(
        self,
        etype: int,
        data: bytes,
        off: int,
        end: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram]:
        """Dispatch on an EtherType whose payload starts at ``off``; 802.1Q tags are walked here
        (the innermost tag wins; VLAN id 0, a priority-only tag, keeps the previous value)."""
        tags = 0
        while True:
            if etype == ETH_P_IPV4:
                return self._ipv4(data, off, end, vlan, encap, depth, frames)
            if etype == ETH_P_IPV6:
                return self._ipv6(data, off, end, vlan, encap, depth, frames)
            if etype in VLAN_TPIDS:
                if end - off < 4:
                    return self._count("decode.truncated_vlan")
                tags += 1
                if tags > MAX_VLAN_TAGS:
                    return self._count("decode.vlan_too_many_tags")
                tci, etype = unpack_from("!HH", data, off)
                if tci & 0xFFF:
                    vlan = tci & 0xFFF
                off += 4
                continue
            if etype in (ETH_P_MPLS_UC, ETH_P_MPLS_MC):
                return self._mpls(data, off, end, vlan, encap, depth, frames)
            if etype == ETH_P_PPPOE_SESS:
                if end - off < PPPOE_HDR + 2:
                    return self._count("decode.truncated_pppoe")
                if data[off] != 0x11 or data[off + 1] != 0:
                    return self._count("decode.pppoe_bad_header")
                (length,) = unpack_from("!H", data, off + 4)
                off += PPPOE_HDR
                if off + length < end:
                    end = off + length
                return self._ppp(data, off, end, vlan, encap, depth, frames)
            return self._count("decode.non_ip")

    def _mpls(
        self,
        data: bytes,
        off: int,
        end: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram]:
        """Walk the label stack to the bottom-of-stack bit, then guess the payload: IPv4/IPv6 by
        the version nibble, a zero nibble is a pseudowire control word followed by Ethernet."""
        for _ in range(MAX_MPLS_LABELS):
            if end - off < 4:
                return self._count("decode.truncated_mpls")
            bottom = data[off + 2] & 1
            off += 4
            if bottom:
                break
        else:
            return self._count("decode.mpls_too_many_labels")
        if off >= end:
            return self._count("decode.truncated_mpls")
        nibble = data[off] >> 4
        if nibble == 4:
            return self._ipv4(data, off, end, vlan, encap, depth, frames)
        if nibble == 6:
            return self._ipv6(data, off, end, vlan, encap, depth, frames)
        if nibble == 0:
            if depth >= self._max_depth:
                return self._count("decode.tunnel_too_deep")
            return self._ethernet(data, off + 4, end, vlan, encap, depth + 1, frames)
        return self._count("decode.mpls_unknown_payload")

    def _ppp(
        self,
        data: bytes,
        off: int,
        end: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram]:
        """PPP frame: optional ``FF 03`` address/control, 1-byte (compressed) or 2-byte protocol."""
        if data.startswith(PPP_ADDR_CTRL, off):
            off += 2
        if off >= end:
            return self._count("decode.truncated_ppp")
        if data[off] & 1:
            proto = data[off]
            off += 1
        else:
            if end - off < 2:
                return self._count("decode.truncated_ppp")
            proto = (data[off] << 8) | data[off + 1]
            off += 2
        if proto == PPP_IPV4:
            return self._ipv4(data, off, end, vlan, encap, depth, frames)
        if proto == PPP_IPV6:
            return self._ipv6(data, off, end, vlan, encap, depth, frames)
        return self._count(f"decode.ppp_proto_0x{proto:04x}")
