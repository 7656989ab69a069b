"""Packet builders for the decoder tests (struct only, no checksums: the decoder ignores them)."""

from struct import pack
from typing import Any

from db.settings import DecoderSettings
from sniffer.counters import Counters
from sniffer.decode.decoder import Decoder

MAC_A = b"\x00\x11\x22\x33\x44\x55"
MAC_B = b"\x00\x66\x77\x88\x99\xaa"
A4 = bytes([10, 0, 0, 1])
B4 = bytes([10, 0, 0, 2])
A6 = bytes.fromhex("20010db8000000000000000000000001")
B6 = bytes.fromhex("20010db8000000000000000000000002")
ACK = 0x10
PSH = 0x08
SYN = 0x02
FIN = 0x01
RST = 0x04


def sip(call_id: str = "c1@x", method: str = "INVITE", body: bytes = b"", cseq: int = 1) -> bytes:
    return (
        f"{method} sip:bob@example.com SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK{cseq}\r\n"
        f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def eth(payload: bytes, etype: int = 0x0800, tags: tuple[tuple[int, int], ...] = ()) -> bytes:
    """Ethernet with optional (tpid, vid) tags, outermost first."""
    out = MAC_B + MAC_A
    for tpid, vid in tags:
        out += pack("!H", tpid) + pack("!H", vid)
    return out + pack("!H", etype) + payload


def ipv4(
    payload: bytes,
    proto: int = 17,
    src: bytes = A4,
    dst: bytes = B4,
    ident: int = 1,
    frag: int = 0,
    total: int | None = None,
    options: bytes = b"",
) -> bytes:
    ihl = 5 + len(options) // 4
    tl = ihl * 4 + len(payload) if total is None else total
    return (
        pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tl, ident, frag, 64, proto, 0, src, dst)
        + options
        + payload
    )


def ipv6(
    payload: bytes, nh: int = 17, src: bytes = A6, dst: bytes = B6, plen: int | None = None
) -> bytes:
    n = len(payload) if plen is None else plen
    return pack("!IHBB16s16s", 0x60000000, n, nh, 64, src, dst) + payload


def ext(nh: int, length8: int = 0) -> bytes:
    """A generic IPv6 extension header (hop-by-hop, routing, destination options) of
    ``(length8 + 1) * 8`` bytes."""
    return bytes([nh, length8]) + b"\x01" + bytes((length8 + 1) * 8 - 3)


def frag6(nh: int, offset: int, more: bool, ident: int) -> bytes:
    return pack("!BBHI", nh, 0, offset | int(more), ident)


def udp(payload: bytes, sport: int = 5060, dport: int = 5060, length: int | None = None) -> bytes:
    return pack("!HHHH", sport, dport, 8 + len(payload) if length is None else length, 0) + payload


def tcp(
    payload: bytes, seq: int, sport: int = 40000, dport: int = 5060, flags: int = ACK | PSH
) -> bytes:
    return (
        pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, 0, 5 << 4, flags, 65535, 0, 0) + payload
    )


def gre(
    payload: bytes, proto: int, key: int | None = None, seq: int | None = None, csum: bool = False
) -> bytes:
    flags = (
        (0x8000 if csum else 0)
        | (0x2000 if key is not None else 0)
        | (0x1000 if seq is not None else 0)
    )
    out = pack("!HH", flags, proto)
    if csum:
        out += b"\x00\x00\x00\x00"
    if key is not None:
        out += pack("!I", key)
    if seq is not None:
        out += pack("!I", seq)
    return out + payload


def udp_sip_frame(body: bytes | None = None, sport: int = 5060, dport: int = 5060) -> bytes:
    return eth(ipv4(udp(sip() if body is None else body, sport, dport)))


def new_decoder(**limits: Any) -> tuple[Decoder, Counters]:
    """A decoder with default ports and these ``decoder`` settings (db/settings.py)."""
    c = Counters()
    return Decoder(c, DecoderSettings(**limits)), c


def errors(c: Counters) -> dict[str, int]:
    """Counters that indicate a decoding problem."""
    bad = ("truncated", "bad", "unknown", "internal", "too_", "overlap", "inconsistent")
    return {k: v for k, v in c.items() if any(b in k for b in bad)}
