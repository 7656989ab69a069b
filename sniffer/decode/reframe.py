"""Frames of one link type as frames of another, for a per-call pcap of one link type.

A sensor whose sources deliver different link types (an Ethernet port and a tunnel device,
a mirror sender capturing on ``any``) spools one link type: a frame of another keeps its
network-layer packet byte for byte behind a header of the spool's type (Ethernet: the locally
administered addresses of :mod:`sniffer.decode.hep`'s synthesized frames; Linux cooked: a
packet "to us" from those; raw IP: nothing).
"""

from collections.abc import Iterable, Iterator
from struct import pack, unpack_from

from sniffer.counters import Counters

from .hep import SYNTH_DST_MAC, SYNTH_SRC_MAC
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
    PPP_IPV4,
    PPP_IPV6,
)

ETH_HDR = 14
SLL_HDR = 16
SLL2_HDR = 20
ARPHRD_ETHER = 1
PACKET_HOST = 0
_MACS = SYNTH_DST_MAC + SYNTH_SRC_MAC
_SLL_HEAD = pack("!HHH8s", PACKET_HOST, ARPHRD_ETHER, 6, SYNTH_SRC_MAC)
"""Linux cooked v1 up to its protocol: packet type, ARPHRD, address length, address."""
_SLL2_TAIL = pack("!HIHBB8s", 0, 0, ARPHRD_ETHER, PACKET_HOST, 6, SYNTH_SRC_MAC)
"""Linux cooked v2 after its protocol: reserved, interface index, ARPHRD, packet type,
address length, address."""
_RAW_IP = frozenset({DLT_RAW, DLT_RAW_12, DLT_RAW_14, DLT_IPV4, DLT_IPV6})
_IP_TYPES = frozenset({ETH_P_IPV4, ETH_P_IPV6})
_RAW_ONLY = {DLT_IPV4: ETH_P_IPV4, DLT_IPV6: ETH_P_IPV6}


def _by_version(frame: bytes, off: int) -> int | None:
    if len(frame) <= off:
        return None
    version = frame[off] >> 4
    return ETH_P_IPV4 if version == 4 else ETH_P_IPV6 if version == 6 else None


def _network_layer(linktype: int, frame: bytes) -> tuple[int, int] | None:
    """(EtherType, offset) of what follows the link-layer header, None if unknown."""
    n = len(frame)
    if linktype in _RAW_IP:
        etype = _by_version(frame, 0)
        return None if etype is None else (etype, 0)
    if linktype == DLT_LINUX_SLL:
        return None if n < SLL_HDR else ((frame[14] << 8) | frame[15], SLL_HDR)
    if linktype == DLT_LINUX_SLL2:
        return None if n < SLL2_HDR else ((frame[0] << 8) | frame[1], SLL2_HDR)
    if linktype == DLT_C_HDLC:
        return None if n < 4 else ((frame[2] << 8) | frame[3], 4)
    if linktype in (DLT_NULL, DLT_LOOP):
        if n < 4:
            return None
        (af,) = unpack_from(">I" if linktype == DLT_LOOP else "<I", frame, 0)
        if af > 0xFFFF:  # DLT_NULL is in the capturing host's byte order
            (af,) = unpack_from(">I", frame, 0)
        if af == AF_INET:
            return ETH_P_IPV4, 4
        return (ETH_P_IPV6, 4) if af in AF_INET6_VALUES else None
    if linktype in (DLT_PPP, DLT_PPP_HDLC):
        off = 2 if frame.startswith(b"\xff\x03") else 0
        if n < off + 2:
            return None
        proto = (frame[off] << 8) | frame[off + 1]
        if proto == PPP_IPV4:
            return ETH_P_IPV4, off + 2
        return (ETH_P_IPV6, off + 2) if proto == PPP_IPV6 else None
    return None


def reframe(frame: bytes, linktype: int, to: int) -> bytes | None:
    """``frame`` (of DLT ``linktype``) as a frame of DLT ``to`` (Ethernet, Linux cooked v1/v2
    or raw IP); None when its link-layer header is cut short, names a protocol the target
    cannot carry, or the target is another link type."""
    if linktype == to:
        return frame
    if linktype == DLT_EN10MB:
        found: tuple[int, int] | None = None
        if len(frame) >= ETH_HDR:
            found = ((frame[12] << 8) | frame[13], ETH_HDR)
    else:
        found = _network_layer(linktype, frame)
    if found is None:
        return None
    etype, off = found
    proto = etype.to_bytes(2, "big")
    if to == DLT_EN10MB:
        return _MACS + proto + frame[off:]
    if to == DLT_LINUX_SLL:
        return _SLL_HEAD + proto + frame[off:]
    if to == DLT_LINUX_SLL2:
        return proto + _SLL2_TAIL + frame[off:]
    if to in _RAW_IP and etype == _RAW_ONLY.get(to, etype) and etype in _IP_TYPES:
        return frame[off:]
    return None


def reframed(
    packets: Iterable[tuple[float, bytes]], linktype: int, to: int, counters: Counters
) -> Iterator[tuple[float, bytes]]:
    """``packets`` of DLT ``linktype`` as frames of DLT ``to``; a frame that cannot be is
    counted (``capture.not_reframed.<from>_<to>``) and skipped."""
    for ts, buf in packets:
        frame = reframe(buf, linktype, to)
        if frame is None:
            counters.inc(f"capture.not_reframed.{linktype}_{to}")
            continue
        yield ts, frame
