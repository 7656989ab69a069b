"""A call's pcap as a byte stream: as stored (gzip undone), SIP only (filtered on the fly),
or redacted (rebuilt as raw-IP frames with chosen addresses and numbers replaced)."""

import gzip
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

from dpkt.crc32c import cksum as crc32c

from api.pcap.capfile import CaptureFile, pcap_header, pcap_record
from api.pcap.layers import LINKTYPE_RAW, Datagram, Decapsulator
from api.pcap.sipmsg import looks_like_sip
from api.pcap.sipstream import HEP3_MAGIC

CHUNK = 1 << 16
MAX_HELD_FRAMES = 4096
"""Frames held back while waiting to know whether their datagram is SIP (IP fragments)."""


def stream_raw(path: Path) -> Iterator[bytes]:
    """The file as a plain pcap (a gzip-compressed one is decompressed on the fly)."""
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    with gzip.open(path, "rb") if gz else open(path, "rb") as src:
        while chunk := src.read(CHUNK):
            yield chunk


def _is_sip(d: Datagram, sip_tcp: set[tuple[str, int, str, int]]) -> bool:
    if d.transport == "tcp":
        key = (d.src, d.sport, d.dst, d.dport)
        if key in sip_tcp:
            return True
        if not d.payload or looks_like_sip(d.payload) or d.payload[:4] == b"GET ":
            sip_tcp.add(key)
            sip_tcp.add((d.dst, d.dport, d.src, d.sport))
            return True
        return False
    if d.payload[:4] == HEP3_MAGIC:
        return True
    return d.transport == "sctp" or looks_like_sip(d.payload)


def stream_sip_only(path: Path) -> Iterator[bytes]:
    """A pcap of the frames that carry SIP (every fragment of a SIP datagram, and every
    segment of a TCP connection that carries SIP), in capture order."""
    with CaptureFile(path) as cap:
        yield pcap_header(cap.linktype)
        dec = Decapsulator(cap.linktype)
        held: dict[int, bytes] = {}
        sip_tcp: set[tuple[str, int, str, int]] = set()
        out = bytearray()
        for frame in cap:
            record = pcap_record(frame.ts, frame.data)
            datagrams = dec.decode(frame.index, frame.ts, frame.data)
            if not datagrams:
                held[frame.index] = record  # maybe a fragment: decided when its datagram is whole
                if len(held) > MAX_HELD_FRAMES:
                    del held[next(iter(held))]
                continue
            if any(_is_sip(d, sip_tcp) for d in datagrams):
                for d in datagrams:
                    for i in d.frames:
                        if i in held:
                            out += held.pop(i)
                out += record
            else:
                for d in datagrams:
                    for i in d.frames:
                        held.pop(i, None)
            if len(out) >= CHUNK:
                yield bytes(out)
                out.clear()
        if out:
            yield bytes(out)


# -- redaction -------------------------------------------------------------------------------


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _pack_ip(text: str) -> bytes:
    import ipaddress

    return ipaddress.ip_address(text).packed


def build_frame(d: Datagram, src: str, dst: str, payload: bytes) -> bytes:
    """A raw-IP frame carrying ``payload`` from ``src`` to ``dst`` with ``d``'s ports,
    transport, TCP sequence number and flags; checksums computed."""
    s, t = _pack_ip(src), _pack_ip(dst)
    if d.transport == "udp":
        proto = 17
        seg = struct.pack("!HHHH", d.sport, d.dport, 8 + len(payload), 0) + payload
        ck_off = 6
    elif d.transport == "tcp":
        proto = 6
        seg = (
            struct.pack(
                "!HHIIBBHHH",
                d.sport,
                d.dport,
                d.tcp_seq,
                0,
                5 << 4,
                d.tcp_flags & 0xEF,
                65535,
                0,
                0,
            )
            + payload
        )
        ck_off = 16
    else:  # sctp: common header + one DATA chunk (unordered, B and E set)
        proto = 132
        chunk = struct.pack("!BBHIHHI", 0, 0x07, 16 + len(payload), 0, 0, 0, 0) + payload
        chunk += b"\0" * (-len(chunk) % 4)
        seg = struct.pack("!HHII", d.sport, d.dport, 0, 0) + chunk
        seg = seg[:8] + struct.pack("<I", crc32c(seg)) + seg[12:]
        ck_off = -1
    if len(s) == 4:
        pseudo = s + t + struct.pack("!BBH", 0, proto, len(seg))
    else:
        pseudo = s + t + struct.pack("!IxxxB", len(seg), proto)
    if ck_off >= 0:
        ck = _checksum(pseudo + seg) or 0xFFFF
        seg = seg[:ck_off] + struct.pack("!H", ck) + seg[ck_off + 2 :]
    if len(s) == 4:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 0, 0, 64, proto, 0, s, t)
        hdr = hdr[:10] + struct.pack("!H", _checksum(hdr)) + hdr[12:]
    else:
        hdr = struct.pack("!IHBB16s16s", 6 << 28, len(seg), proto, 64, s, t)
    return hdr + seg


def stream_redacted(
    path: Path, ip_map: dict[str, str], replace_text: Callable[[bytes], bytes]
) -> Iterator[bytes]:
    """The call's pcap rebuilt as raw-IP frames (no link layer, no tunnel headers, so no MAC
    address or outer address survives), addresses mapped by ``ip_map`` and every payload
    passed through ``replace_text`` (which keeps lengths, so TCP and SIP framing hold)."""
    yield pcap_header(LINKTYPE_RAW)
    with CaptureFile(path) as cap:
        dec = Decapsulator(cap.linktype)
        out = bytearray()
        for frame in cap:
            for d in dec.decode(frame.index, frame.ts, frame.data):
                payload = d.payload if _is_media(d) else replace_text(d.payload)
                data = build_frame(d, ip_map.get(d.src, d.src), ip_map.get(d.dst, d.dst), payload)
                out += pcap_record(d.ts, data)
            if len(out) >= CHUNK:
                yield bytes(out)
                out.clear()
        if out:
            yield bytes(out)


def _is_media(d: Datagram) -> bool:
    """RTP/RTCP (version 2, not text): their payload is audio, left as is."""
    return (
        d.transport == "udp"
        and bool(d.payload)
        and d.payload[0] >> 6 == 2
        and not looks_like_sip(d.payload)
    )
