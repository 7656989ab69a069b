"""HEP (Homer Encapsulation Protocol): HEP3/EEP chunks (github.com/sipcapture/HEP) and the
older HEP2 fixed header, plus the synthesized Ethernet/IP/UDP frame used to store a
HEP-delivered payload in a pcap that opens in Wireshark as plain SIP."""

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from struct import pack, unpack_from

from .datagram import Datagram

HEP3_MAGIC = b"HEP3"
HEP3_HDR = 6
CHUNK_HDR = 6
# vendor 0 chunk types
CHUNK_IP_FAMILY = 1
CHUNK_IP_PROTO = 2
CHUNK_IPV4_SRC = 3
CHUNK_IPV4_DST = 4
CHUNK_IPV6_SRC = 5
CHUNK_IPV6_DST = 6
CHUNK_SRC_PORT = 7
CHUNK_DST_PORT = 8
CHUNK_TS_SEC = 9
CHUNK_TS_USEC = 10
CHUNK_PROTO_TYPE = 11
CHUNK_CAPTURE_ID = 12
CHUNK_AUTH_KEY = 14
CHUNK_PAYLOAD = 15
CHUNK_COMPRESSED_PAYLOAD = 16
CHUNK_CORRELATION_ID = 17
CHUNK_VLAN = 18
CHUNK_NODE_NAME = 19
_INT_CHUNKS = {
    CHUNK_IP_FAMILY: "ip_family",
    CHUNK_IP_PROTO: "ip_proto",
    CHUNK_SRC_PORT: "src_port",
    CHUNK_DST_PORT: "dst_port",
    CHUNK_TS_SEC: "ts_sec",
    CHUNK_TS_USEC: "ts_usec",
    CHUNK_PROTO_TYPE: "proto_type",
    CHUNK_CAPTURE_ID: "capture_id",
    CHUNK_VLAN: "vlan",
}
_ADDR_CHUNKS = {
    CHUNK_IPV4_SRC: ("src_ip", 4),
    CHUNK_IPV4_DST: ("dst_ip", 4),
    CHUNK_IPV6_SRC: ("src_ip", 16),
    CHUNK_IPV6_DST: ("dst_ip", 16),
}

AF_INET = 2
AF_INET6 = 10
PROTO_TYPE_SIP = 1
PROTO_TYPE_RTP = 4
PROTO_TYPE_RTCP = 5
PROTO_TYPE_LOG = 100
MAX_PAYLOAD = 1 << 20
"""Largest (decompressed) payload accepted."""
HEP_TRANSPORTS = frozenset({6, 17, 132})
"""IP protocols a HEP packet's payload keeps (TCP, UDP, SCTP); anything else is UDP."""
MAX_HEP3_LEN = 0xFFFF
HEP2_HDR = 8
HEP2_TIME_HDR = 12
"""struct hep_timehdr {u32 tv_sec; u32 tv_usec; u16 captid;} with its padding, host order."""


class HepParseError(ValueError):
    """The bytes are not a valid HEP packet."""


@dataclass(slots=True)
class HepPacket:
    """One HEP packet. Integer chunks absent from the packet are 0, address chunks b""."""

    version: int = 3
    ip_family: int = 0
    ip_proto: int = 0
    src_ip: bytes = b""
    dst_ip: bytes = b""
    src_port: int = 0
    dst_port: int = 0
    ts_sec: int = 0
    ts_usec: int = 0
    proto_type: int = 0
    capture_id: int = 0
    auth_key: bytes | None = None
    payload: bytes = b""
    compressed: bool = False
    """The payload came from chunk 0x0010 (zlib) and was inflated."""
    correlation_id: bytes | None = None
    vlan: int = 0
    node_name: bytes | None = None

    @property
    def ts(self) -> float:
        return self.ts_sec + self.ts_usec / 1e6

    @classmethod
    def parse(cls, data: bytes) -> "HepPacket":
        """Parse a HEP3 packet (``HEP3`` magic) or a HEP1/HEP2 one (first byte 1 or 2)."""
        if data[:4] == HEP3_MAGIC:
            return cls._parse3(data)
        if data[:1] in (b"\x01", b"\x02"):
            return cls._parse2(data)
        raise HepParseError("not a HEP packet (no HEP3 magic, version byte not 1 or 2)")

    @classmethod
    def _parse3(cls, data: bytes) -> "HepPacket":
        if len(data) < HEP3_HDR:
            raise HepParseError(f"HEP3 header truncated: {len(data)} bytes")
        total = (data[4] << 8) | data[5]
        if total < HEP3_HDR or total > len(data):
            raise HepParseError(
                f"HEP3 total length {total} invalid for a {len(data)}-byte datagram"
            )
        pkt = cls()
        p = HEP3_HDR
        while p < total:
            if total - p < CHUNK_HDR:
                raise HepParseError(f"HEP3 chunk header truncated at offset {p}")
            vendor, ctype, clen = unpack_from("!HHH", data, p)
            if clen < CHUNK_HDR or p + clen > total:
                raise HepParseError(
                    f"HEP3 chunk type {ctype} at offset {p} has invalid length {clen}"
                )
            if vendor == 0:
                pkt._chunk(ctype, data[p + CHUNK_HDR : p + clen])
            p += clen
        return pkt

    def _chunk(self, ctype: int, v: bytes) -> None:
        name = _INT_CHUNKS.get(ctype)
        if name is not None:
            if not 1 <= len(v) <= 4:
                raise HepParseError(f"HEP3 chunk type {ctype} has {len(v)} value bytes")
            setattr(self, name, int.from_bytes(v, "big"))
        elif ctype in _ADDR_CHUNKS:
            name, size = _ADDR_CHUNKS[ctype]
            if len(v) != size:
                raise HepParseError(
                    f"HEP3 address chunk type {ctype} has {len(v)} bytes, expected {size}"
                )
            setattr(self, name, v)
        elif ctype == CHUNK_PAYLOAD:
            self.payload = v
        elif ctype == CHUNK_COMPRESSED_PAYLOAD:
            self.payload = inflate(v)
            self.compressed = True
        elif ctype == CHUNK_AUTH_KEY:
            self.auth_key = v
        elif ctype == CHUNK_CORRELATION_ID:
            self.correlation_id = v
        elif ctype == CHUNK_NODE_NAME:
            self.node_name = v

    @classmethod
    def _parse2(cls, data: bytes) -> "HepPacket":
        if len(data) < HEP2_HDR:
            raise HepParseError(f"HEP2 header truncated: {len(data)} bytes")
        version, _hlen, family, proto, sport, dport = unpack_from("!BBBBHH", data, 0)
        if family == AF_INET:
            size = 4
        elif family == AF_INET6:
            size = 16
        else:
            raise HepParseError(f"HEP{version} unknown address family {family}")
        p = HEP2_HDR + 2 * size
        pkt = cls(
            version,
            family,
            proto,
            data[HEP2_HDR : HEP2_HDR + size],
            data[HEP2_HDR + size : p],
            sport,
            dport,
        )
        if version == 2:
            if len(data) < p + HEP2_TIME_HDR:
                raise HepParseError("HEP2 time header truncated")
            pkt.ts_sec, pkt.ts_usec, pkt.capture_id = unpack_from("<IIH", data, p)
            p += HEP2_TIME_HDR
        elif len(data) < p:
            raise HepParseError("HEP1 address header truncated")
        pkt.proto_type = PROTO_TYPE_SIP
        pkt.payload = data[p:]
        return pkt


def encode_hep3(
    pkt: HepPacket,
    *,
    compress: bool = False,
    order: Sequence[int] | None = None,
    extra: Sequence[tuple[int, int, bytes]] = (),
) -> bytes:
    """A HEP3 packet of ``pkt`` (the sender of ``--hep-out`` and the tests): ``compress``
    puts the payload in a zlib chunk (0x0010), ``order`` permutes the chunks, ``extra`` adds
    ``(vendor, type, value)`` chunks. ValueError if it exceeds 65535 bytes."""
    v6 = len(pkt.src_ip) == 16
    chunks: list[tuple[int, int, bytes]] = [
        (0, CHUNK_IP_FAMILY, bytes([AF_INET6 if v6 else AF_INET])),
        (0, CHUNK_IP_PROTO, bytes([pkt.ip_proto or 17])),
        (0, CHUNK_IPV6_SRC if v6 else CHUNK_IPV4_SRC, pkt.src_ip),
        (0, CHUNK_IPV6_DST if v6 else CHUNK_IPV4_DST, pkt.dst_ip),
        (0, CHUNK_SRC_PORT, pack("!H", pkt.src_port)),
        (0, CHUNK_DST_PORT, pack("!H", pkt.dst_port)),
        (0, CHUNK_TS_SEC, pack("!I", pkt.ts_sec)),
        (0, CHUNK_TS_USEC, pack("!I", pkt.ts_usec)),
        (0, CHUNK_PROTO_TYPE, bytes([pkt.proto_type])),
        (0, CHUNK_CAPTURE_ID, pack("!I", pkt.capture_id)),
    ]
    if pkt.auth_key is not None:
        chunks.append((0, CHUNK_AUTH_KEY, pkt.auth_key))
    if pkt.node_name is not None:
        chunks.append((0, CHUNK_NODE_NAME, pkt.node_name))
    if pkt.correlation_id is not None:
        chunks.append((0, CHUNK_CORRELATION_ID, pkt.correlation_id))
    if compress:
        chunks.append((0, CHUNK_COMPRESSED_PAYLOAD, zlib.compress(pkt.payload)))
    else:
        chunks.append((0, CHUNK_PAYLOAD, pkt.payload))
    chunks.extend(extra)
    if order is not None:
        chunks = [chunks[i] for i in order]
    total = HEP3_HDR + sum(CHUNK_HDR + len(d) for _, _, d in chunks)
    if total > MAX_HEP3_LEN:
        raise ValueError(f"HEP3 packet of {total} bytes exceeds {MAX_HEP3_LEN}")
    body = b"".join(pack("!HHH", v, t, CHUNK_HDR + len(d)) + d for v, t, d in chunks)
    return HEP3_MAGIC + pack("!H", total) + body


def hep_datagram(pkt: HepPacket, fallback_ts: float, encap: str = "") -> Datagram:
    """The payload of a HEP packet as the datagram the analyzer takes, in a synthesized
    Ethernet/IP/UDP frame between the endpoints it reports (``fallback_ts`` when the packet
    has no time). ValueError when its addresses or size do not make a packet."""
    frame, poff = synth_udp_frame(pkt.src_ip, pkt.src_port, pkt.dst_ip, pkt.dst_port, pkt.payload)
    ts = pkt.ts if pkt.ts_sec else fallback_ts
    transport = pkt.ip_proto if pkt.ip_proto in HEP_TRANSPORTS else 17
    name = "hep3" if pkt.version == 3 else f"hep{pkt.version}"
    return Datagram(
        transport, pkt.src_ip, pkt.src_port, pkt.dst_ip, pkt.dst_port, pkt.payload, None, ts,
        [(ts, frame)], poff, f"{encap}/{name}" if encap else name,
    )  # fmt: skip


def inflate(v: bytes) -> bytes:
    """Inflate a zlib (or gzip) compressed payload chunk, at most :data:`MAX_PAYLOAD` bytes."""
    d = zlib.decompressobj(zlib.MAX_WBITS | 32)
    try:
        out = d.decompress(v, MAX_PAYLOAD)
    except zlib.error as e:
        raise HepParseError(f"HEP3 compressed payload: {e}") from None
    if d.unconsumed_tail:
        raise HepParseError(f"HEP3 compressed payload inflates to more than {MAX_PAYLOAD} bytes")
    return out


def _checksum(data: bytes) -> int:
    """Internet checksum (RFC 1071) of ``data``."""
    if len(data) & 1:
        data += b"\0"
    s: int = sum(unpack_from(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


SYNTH_SRC_MAC = b"\x02\x00\x00\x00\x00\x01"
SYNTH_DST_MAC = b"\x02\x00\x00\x00\x00\x02"
MAX_UDP_PAYLOAD_V4 = 65535 - 20 - 8
MAX_UDP_PAYLOAD_V6 = 65535 - 8


def synth_udp_frame(
    src: bytes, sport: int, dst: bytes, dport: int, payload: bytes
) -> tuple[bytes, int]:
    """An Ethernet/IPv4-or-IPv6/UDP frame carrying ``payload`` between the given endpoints
    (4- or 16-byte addresses), with valid checksums; returns the frame and the payload offset.
    Raises ValueError if the payload does not fit in one IP packet."""
    ulen = 8 + len(payload)
    if len(src) == 4 and len(dst) == 4:
        if len(payload) > MAX_UDP_PAYLOAD_V4:
            raise ValueError(f"payload of {len(payload)} bytes does not fit in an IPv4 packet")
        ip = bytearray(pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0, 0x4000, 64, 17, 0, src, dst))
        ip[10:12] = _checksum(bytes(ip)).to_bytes(2, "big")
        pseudo = pack("!4s4sBBH", src, dst, 0, 17, ulen)
        etype = b"\x08\x00"
    elif len(src) == 16 and len(dst) == 16:
        if len(payload) > MAX_UDP_PAYLOAD_V6:
            raise ValueError(f"payload of {len(payload)} bytes does not fit in an IPv6 packet")
        ip = bytearray(pack("!IHBB16s16s", 0x60000000, ulen, 17, 64, src, dst))
        pseudo = pack("!16s16sIxxxB", src, dst, ulen, 17)
        etype = b"\x86\xdd"
    else:
        raise ValueError(f"address lengths {len(src)}/{len(dst)} are not 4/4 or 16/16")
    udp = pack("!HHHH", sport, dport, ulen, 0)
    csum = _checksum(pseudo + udp + payload) or 0xFFFF
    head = SYNTH_DST_MAC + SYNTH_SRC_MAC + etype + bytes(ip) + udp[:6] + csum.to_bytes(2, "big")
    return head + payload, len(head)
