"""WebSocket framing (RFC 6455 section 5) for SIP over WebSocket (RFC 7118)."""

import re

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA
DATA_OPCODES = frozenset({OP_CONTINUATION, OP_TEXT, OP_BINARY})
CONTROL_OPCODES = frozenset({OP_CLOSE, OP_PING, OP_PONG})
MAX_CONTROL_PAYLOAD = 125
FIN = 0x80
RSV1 = 0x40
"""Set on the first frame of a permessage-deflate compressed message (RFC 7692)."""
RSV23 = 0x30
MASK_BIT = 0x80
LEN16 = 126
LEN64 = 127

_UPGRADE = re.compile(rb"\r?\nupgrade[ \t]*:[ \t]*websocket", re.IGNORECASE)
_SIP_PROTOCOL = re.compile(rb"\r?\nsec-websocket-protocol[ \t]*:[^\r\n]*\bsip\b", re.IGNORECASE)
MAX_HANDSHAKE = 16 * 1024


class WebSocketError(ValueError):
    """The bytes are not a valid WebSocket frame."""


class WsFrame:
    """Header of one WebSocket frame; the payload follows ``header_len`` bytes after its start."""

    __slots__ = ("fin", "header_len", "mask", "opcode", "payload_len", "rsv1")

    def __init__(
        self,
        fin: bool,
        rsv1: bool,
        opcode: int,
        mask: bytes | None,
        header_len: int,
        payload_len: int,
    ) -> None:
        self.fin = fin
        self.rsv1 = rsv1
        self.opcode = opcode
        self.mask = mask
        """The 4-byte masking key (client-to-server frames), else None."""
        self.header_len = header_len
        self.payload_len = payload_len

    @property
    def total_len(self) -> int:
        return self.header_len + self.payload_len

    @classmethod
    def parse(cls, data: bytes | bytearray, start: int = 0) -> "WsFrame | None":
        """Parse the frame header at ``data[start]``; None when more bytes are needed."""
        avail = len(data) - start
        if avail < 2:
            return None
        b0 = data[start]
        b1 = data[start + 1]
        if b0 & RSV23:
            raise WebSocketError(f"reserved bits 0x{b0 & RSV23:02x} set")
        opcode = b0 & 0x0F
        if opcode not in DATA_OPCODES and opcode not in CONTROL_OPCODES:
            raise WebSocketError(f"reserved opcode 0x{opcode:x}")
        n = b1 & 0x7F
        hlen = 2
        if n == LEN16:
            hlen = 4
            if avail < hlen:
                return None
            n = int.from_bytes(data[start + 2 : start + 4], "big")
        elif n == LEN64:
            hlen = 10
            if avail < hlen:
                return None
            n = int.from_bytes(data[start + 2 : start + 10], "big")
            if n >> 63:
                raise WebSocketError("64-bit payload length has its most significant bit set")
        if opcode in CONTROL_OPCODES and (n > MAX_CONTROL_PAYLOAD or not b0 & FIN):
            raise WebSocketError(f"control frame 0x{opcode:x} fragmented or longer than 125 bytes")
        mask = None
        if b1 & MASK_BIT:
            if avail < hlen + 4:
                return None
            mask = bytes(data[start + hlen : start + hlen + 4])
            hlen += 4
        return cls(bool(b0 & FIN), bool(b0 & RSV1), opcode, mask, hlen, n)


def unmask(payload: bytes, key: bytes) -> bytes:
    """XOR ``payload`` with the repeated 4-byte masking key (RFC 6455 section 5.3)."""
    n = len(payload)
    if not n:
        return payload
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def is_sip_upgrade(data: bytes | bytearray, off: int, end: int) -> bool:
    """True if ``data[off:end]`` begins an HTTP GET asking to upgrade to WebSocket with the
    ``sip`` subprotocol (RFC 7118 section 4)."""
    if not data.startswith(b"GET ", off):
        return False
    stop = min(end, off + MAX_HANDSHAKE)
    head_end = data.find(b"\r\n\r\n", off, stop)
    if head_end < 0:
        head_end = stop
    return (
        _UPGRADE.search(data, off, head_end) is not None
        and _SIP_PROTOCOL.search(data, off, head_end) is not None
    )


def http_status(head: bytes | bytearray) -> int | None:
    """Status code of an HTTP response header block, None if it is not one."""
    if not head.startswith(b"HTTP/"):
        return None
    parts = bytes(head[: head.find(b"\n") if b"\n" in head else len(head)]).split()
    if len(parts) < 2 or not parts[1].isdigit():
        return None
    return int(parts[1])
