"""Tunnel and mirroring encapsulations: GRE, ERSPAN II/III, VXLAN, TZSP and HEP3 (EEP).

Each returns the bytes to put inside the carrier: GRE and ERSPAN builders return an IP payload
of protocol ``IPPROTO_GRE``; ``vxlan``/``tzsp``/``hep3`` return a UDP payload for
``VXLAN_PORT``/``TZSP_PORT``/``HEP_PORT``. IP-in-IP and 6in4 need no builder: use
``ipv4(..., proto=IPPROTO_IPIP, payload=inner_ipv4)`` / ``proto=IPPROTO_IPV6``.
"""

import struct
import zlib
from typing import Final

from tests.pcapgen.frames import ETH_P_ERSPAN2, ETH_P_ERSPAN3, Addr, pack_ip
from tests.pcapgen.frames import checksum as inet_checksum

VXLAN_PORT: Final = 4789
TZSP_PORT: Final = 37008
HEP_PORT: Final = 9060

GRE_CSUM: Final = 0x8000
GRE_KEY: Final = 0x2000
GRE_SEQ: Final = 0x1000

TZSP_ENCAP_ETHERNET: Final = 1
TZSP_TAG_END: Final = 1

HEP_PROTO_SIP: Final = 1
HEP_PROTO_RTCP: Final = 5
HEP_CHUNK_IP_FAMILY: Final = 0x0001
HEP_CHUNK_IP_PROTO: Final = 0x0002
HEP_CHUNK_IPV4_SRC: Final = 0x0003
HEP_CHUNK_IPV4_DST: Final = 0x0004
HEP_CHUNK_IPV6_SRC: Final = 0x0005
HEP_CHUNK_IPV6_DST: Final = 0x0006
HEP_CHUNK_SRC_PORT: Final = 0x0007
HEP_CHUNK_DST_PORT: Final = 0x0008
HEP_CHUNK_TS_SEC: Final = 0x0009
HEP_CHUNK_TS_USEC: Final = 0x000A
HEP_CHUNK_PROTO_TYPE: Final = 0x000B
HEP_CHUNK_CAPTURE_ID: Final = 0x000C
HEP_CHUNK_AUTH_KEY: Final = 0x000E
HEP_CHUNK_PAYLOAD: Final = 0x000F
HEP_CHUNK_COMPRESSED: Final = 0x0010
HEP_CHUNK_CORRELATION_ID: Final = 0x0011
HEP_AF_INET: Final = 2
HEP_AF_INET6: Final = 10


def gre(
    payload: bytes,
    proto: int,
    key: int | None = None,
    seq: int | None = None,
    checksum: bool = False,
) -> bytes:
    """GRE (RFC 2784/2890) header + payload; optional checksum, key and sequence fields."""
    flags = (GRE_CSUM if checksum else 0) | (GRE_KEY if key is not None else 0)
    flags |= GRE_SEQ if seq is not None else 0
    hdr = bytearray(struct.pack("!HH", flags, proto))
    if checksum:
        hdr += b"\x00\x00\x00\x00"
    if key is not None:
        hdr += struct.pack("!I", key)
    if seq is not None:
        hdr += struct.pack("!I", seq & 0xFFFFFFFF)
    if checksum:
        struct.pack_into("!H", hdr, 4, inet_checksum(bytes(hdr) + payload))
    return bytes(hdr) + payload


def erspan2(
    frame: bytes, session_id: int, vlan: int = 0, *, seq: int = 0, index: int = 0, cos: int = 0
) -> bytes:
    """GRE (with sequence number, proto 0x88BE) + ERSPAN type II header + Ethernet frame."""
    w0 = (1 << 28) | ((vlan & 0xFFF) << 16) | ((cos & 7) << 13) | (session_id & 0x3FF)
    hdr = struct.pack("!II", w0, index & 0xFFFFF)
    return gre(hdr + frame, ETH_P_ERSPAN2, seq=seq)


def erspan3(
    frame: bytes,
    session_id: int,
    vlan: int = 0,
    *,
    seq: int = 0,
    timestamp: int = 0,
    sgt: int = 0,
    hw_id: int = 0,
    cos: int = 0,
) -> bytes:
    """GRE (with sequence number, proto 0x22EB) + ERSPAN type III header (12 bytes, no
    platform subheader, frame type Ethernet) + Ethernet frame."""
    w0 = (2 << 28) | ((vlan & 0xFFF) << 16) | ((cos & 7) << 13) | (session_id & 0x3FF)
    w2 = ((sgt & 0xFFFF) << 16) | ((hw_id & 0x3F) << 4)
    hdr = struct.pack("!III", w0, timestamp & 0xFFFFFFFF, w2)
    return gre(hdr + frame, ETH_P_ERSPAN3, seq=seq)


def vxlan(frame: bytes, vni: int) -> bytes:
    """VXLAN header (RFC 7348, I flag set) + Ethernet frame; UDP destination port 4789."""
    return struct.pack("!B3xI", 0x08, (vni & 0xFFFFFF) << 8) + frame


def tzsp(frame: bytes, encapsulation: int = TZSP_ENCAP_ETHERNET) -> bytes:
    """TZSP v1 "received" header with only the END tag + frame; UDP destination port 37008."""
    return struct.pack("!BBHB", 1, 0, encapsulation, TZSP_TAG_END) + frame


def _chunk(ctype: int, value: bytes) -> bytes:
    return struct.pack("!HHH", 0, ctype, 6 + len(value)) + value


def hep3(
    payload: bytes,
    src: Addr,
    sport: int,
    dst: Addr,
    dport: int,
    ts: float,
    proto_type: int = HEP_PROTO_SIP,
    capture_id: int = 2001,
    compress: bool = False,
    *,
    ip_proto: int = 17,
    auth_key: str | None = None,
    correlation_id: str | None = None,
) -> bytes:
    """HEP3/EEP packet (vendor 0 chunks 1-12, 15 or zlib-compressed 16, optional 14 and 17).

    ``ts`` is split into chunk 9 (seconds) and chunk 10 (microseconds).
    """
    s, d = pack_ip(src), pack_ip(dst)
    if len(s) != len(d):
        raise ValueError("HEP source and destination address families differ")
    usec_total = round(ts * 1_000_000)
    sec, usec = divmod(usec_total, 1_000_000)
    v4 = len(s) == 4
    body = [
        _chunk(HEP_CHUNK_IP_FAMILY, bytes([HEP_AF_INET if v4 else HEP_AF_INET6])),
        _chunk(HEP_CHUNK_IP_PROTO, bytes([ip_proto])),
        _chunk(HEP_CHUNK_IPV4_SRC if v4 else HEP_CHUNK_IPV6_SRC, s),
        _chunk(HEP_CHUNK_IPV4_DST if v4 else HEP_CHUNK_IPV6_DST, d),
        _chunk(HEP_CHUNK_SRC_PORT, struct.pack("!H", sport)),
        _chunk(HEP_CHUNK_DST_PORT, struct.pack("!H", dport)),
        _chunk(HEP_CHUNK_TS_SEC, struct.pack("!I", sec)),
        _chunk(HEP_CHUNK_TS_USEC, struct.pack("!I", usec)),
        _chunk(HEP_CHUNK_PROTO_TYPE, bytes([proto_type])),
        _chunk(HEP_CHUNK_CAPTURE_ID, struct.pack("!I", capture_id)),
    ]
    if auth_key is not None:
        body.append(_chunk(HEP_CHUNK_AUTH_KEY, auth_key.encode()))
    if compress:
        body.append(_chunk(HEP_CHUNK_COMPRESSED, zlib.compress(payload)))
    else:
        body.append(_chunk(HEP_CHUNK_PAYLOAD, payload))
    if correlation_id is not None:
        body.append(_chunk(HEP_CHUNK_CORRELATION_ID, correlation_id.encode()))
    data = b"".join(body)
    return b"HEP3" + struct.pack("!H", 6 + len(data)) + data


def parse_hep3(data: bytes) -> dict[int, bytes]:
    """Chunks of a HEP3 packet as ``{type: value}`` (vendor 0 only; compressed payload
    inflated into type 15). For tests of this package; raises ValueError on bad input."""
    if data[:4] != b"HEP3" or len(data) < 6:
        raise ValueError("not a HEP3 packet")
    (total,) = struct.unpack_from("!H", data, 4)
    if total != len(data):
        raise ValueError(f"HEP3 length {total} != {len(data)}")
    out: dict[int, bytes] = {}
    pos = 6
    while pos < total:
        if pos + 6 > total:
            raise ValueError("truncated HEP3 chunk header")
        vendor, ctype, clen = struct.unpack_from("!HHH", data, pos)
        if clen < 6 or pos + clen > total:
            raise ValueError(f"bad HEP3 chunk length {clen}")
        if vendor == 0:
            out[ctype] = data[pos + 6 : pos + clen]
        pos += clen
    if HEP_CHUNK_COMPRESSED in out:
        try:
            out[HEP_CHUNK_PAYLOAD] = zlib.decompress(out[HEP_CHUNK_COMPRESSED])
        except zlib.error as e:
            raise ValueError(f"bad zlib HEP3 payload: {e}") from None
    return out
