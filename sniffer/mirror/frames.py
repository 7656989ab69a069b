"""The mirror stream's frames (docs/MIRROR.md, "Framing").

Every frame is an 18-byte header then ``length`` body bytes::

    magic "CM" | version u8 | type u8 | flags u16 | length u32 | seq u64   (network order)

After the handshake every frame carries a 16-byte MAC as the last bytes of its body
(``FLAG_MAC``): HMAC-SHA256 under the session key of the header and the body before it,
truncated. DATA frames number the batches from 1; other frames carry 0 or, in an ACK, nothing
(the acknowledged sequence is in the body).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import struct
from dataclasses import dataclass

MAGIC = b"CM"
VERSION = 1
HEADER = struct.Struct("!2sBBHIQ")
HEADER_LEN = HEADER.size
MAC_LEN = 16

HELLO = 1
"""sender -> receiver: sensor name, nonce, clock, resume state (JSON)."""
CHALLENGE = 2
"""receiver -> sender: the receiver's nonce and clock (JSON)."""
AUTH = 3
"""sender -> receiver: the sender's proof (JSON)."""
WELCOME = 4
"""receiver -> sender: the receiver's proof, where to resume, the clock offset (JSON)."""
REFUSED = 5
"""receiver -> sender: the handshake failed; body: the reason (UTF-8)."""
DATA = 16
"""sender -> receiver: one batch of frames (:mod:`sniffer.mirror.batch`), numbered by seq."""
ACK = 17
"""receiver -> sender: every DATA frame up to the sequence in the body was analysed."""
PING = 18
"""sender -> receiver while idle: keeps the read timeouts quiet; answered by an ACK."""
BYE = 19
"""sender -> receiver: the sender ends (body: ``1`` when its input ended); answered by an ACK."""
TYPES = {HELLO, CHALLENGE, AUTH, WELCOME, REFUSED, DATA, ACK, PING, BYE}
HANDSHAKE_TYPES = {HELLO, CHALLENGE, AUTH, WELCOME, REFUSED}

FLAG_ZSTD = 0x1
"""The body (before the MAC) is one zstd frame."""
FLAG_MAC = 0x2
"""The body ends with a MAC (every frame after the handshake)."""
KNOWN_FLAGS = FLAG_ZSTD | FLAG_MAC

MAX_HANDSHAKE_BODY = 4096
MAX_BODY = 8 << 20
"""Largest frame body accepted (a compressed batch and its MAC)."""

ACK_BODY = struct.Struct("!Qq")
"""ACK: the highest sequence analysed, then the receiver's clock (ns since the epoch)."""
PING_BODY = struct.Struct("!q")
"""PING: the sender's clock (ns since the epoch)."""


class MirrorFrameError(ValueError):
    """The bytes are not a valid mirror frame."""


@dataclass(slots=True)
class FrameHeader:
    type: int
    flags: int
    length: int
    seq: int = 0
    version: int = VERSION

    @classmethod
    def parse(cls, data: bytes, *, max_body: int = MAX_BODY) -> FrameHeader:
        """Parse and check the 18-byte header (magic, version, type, flags, length)."""
        if len(data) < HEADER_LEN:
            raise MirrorFrameError(f"frame header truncated: {len(data)} of {HEADER_LEN} bytes")
        magic, version, ftype, flags, length, seq = HEADER.unpack_from(data)
        if magic != MAGIC:
            raise MirrorFrameError(f"not a mirror frame (magic 0x{magic.hex()})")
        if version != VERSION:
            raise MirrorFrameError(f"unsupported mirror protocol version {version} (speaks 1)")
        if ftype not in TYPES:
            raise MirrorFrameError(f"unknown frame type {ftype}")
        if flags & ~KNOWN_FLAGS:
            raise MirrorFrameError(f"unknown frame flags 0x{flags:04x}")
        limit = MAX_HANDSHAKE_BODY if ftype in HANDSHAKE_TYPES else max_body
        if length > limit:
            raise MirrorFrameError(
                f"frame type {ftype} body of {length} bytes exceeds the limit of {limit}"
            )
        if flags & FLAG_MAC and length < MAC_LEN:
            raise MirrorFrameError(f"frame body of {length} bytes is too short for its MAC")
        return cls(ftype, flags, length, seq, version)

    def pack(self) -> bytes:
        return HEADER.pack(MAGIC, self.version, self.type, self.flags, self.length, self.seq)


def mac_of(key: bytes, header: bytes, body: bytes) -> bytes:
    m = hmac.new(key, header, hashlib.sha256)
    m.update(body)
    return m.digest()[:MAC_LEN]


def encode(
    ftype: int, body: bytes, *, seq: int = 0, flags: int = 0, key: bytes | None = None
) -> bytes:
    """One frame; with ``key`` its MAC is appended (``FLAG_MAC``)."""
    if key is None:
        return FrameHeader(ftype, flags, len(body), seq).pack() + body
    header = FrameHeader(ftype, flags | FLAG_MAC, len(body) + MAC_LEN, seq).pack()
    return header + body + mac_of(key, header, body)


@dataclass(slots=True)
class Frame:
    header: FrameHeader
    body: bytes
    """Without the MAC."""

    @property
    def type(self) -> int:
        return self.header.type

    @property
    def seq(self) -> int:
        return self.header.seq


def open_frame(head: bytes, header: FrameHeader, raw: bytes, key: bytes | None) -> Frame:
    """Check the MAC of a frame read off the stream (required when ``key`` is set)."""
    if key is None:
        if header.flags & FLAG_MAC:
            raise MirrorFrameError(f"frame type {header.type} has a MAC before the handshake")
        return Frame(header, raw)
    if not header.flags & FLAG_MAC:
        raise MirrorFrameError(f"frame type {header.type} has no MAC")
    body, mac = raw[:-MAC_LEN], raw[-MAC_LEN:]
    if not hmac.compare_digest(mac, mac_of(key, head, body)):
        raise MirrorFrameError(f"frame type {header.type} seq {header.seq} has a wrong MAC")
    return Frame(header, body)


class FrameReader:
    """Reads whole frames off a stream, each within ``timeout_s`` of asking (a stalled peer
    raises ``TimeoutError``), refusing bodies above ``max_body`` before reading them."""

    def __init__(self, reader: asyncio.StreamReader, *, max_body: int = MAX_BODY) -> None:
        self.reader = reader
        self.max_body = max_body
        self.key: bytes | None = None
        """The session key once the handshake is done: every frame must then carry its MAC."""
        self.bytes_read = 0

    async def read(self, timeout_s: float) -> Frame:
        """The next frame; ``asyncio.IncompleteReadError`` at the end of the stream (or in the
        middle of a frame), :class:`MirrorFrameError` for a bad one."""
        async with asyncio.timeout(timeout_s):
            head = await self.reader.readexactly(HEADER_LEN)
            header = FrameHeader.parse(head, max_body=self.max_body)
            raw = await self.reader.readexactly(header.length) if header.length else b""
        self.bytes_read += HEADER_LEN + header.length
        return open_frame(head, header, raw, self.key)
