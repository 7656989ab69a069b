"""A batch of captured frames as a DATA frame's body (docs/MIRROR.md, "Batches").

Before compression::

    linktype u16 | flags u16 | count u32
    count x ( ts_ns i64 | caplen u32 | origlen u32 | caplen bytes )

Timestamps are nanoseconds since the epoch (a capture with microsecond resolution has them to
the microsecond). The body is one zstd frame (``FLAG_ZSTD``) unless compressing does not pay.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

import zstandard

BATCH_HEAD = struct.Struct("!HHI")
PACKET_HEAD = struct.Struct("!qII")
MAX_RAW_BATCH = 32 << 20
"""Largest batch accepted once decompressed."""
MAX_FRAME_BYTES = 262144
"""Largest captured frame accepted (libpcap's own limit)."""
ZSTD_LEVEL = 1
"""Fast: the sender runs where CPU is scarce; captured VoIP traffic still halves."""
_MIN_GAIN = 0.95
"""A body sent compressed only when zstd makes it at least 5 % smaller."""


class MirrorBatchError(ValueError):
    """A DATA frame's body is not a valid batch."""


class BatchEncoder:
    """Builds batch bodies; one per sender (keeps its zstd context)."""

    def __init__(self, level: int = ZSTD_LEVEL) -> None:
        self._zstd = zstandard.ZstdCompressor(level=level)
        self.raw_bytes = 0
        self.wire_bytes = 0

    def encode(self, linktype: int, packets: Iterable[tuple[float, bytes]]) -> tuple[bytes, bool]:
        """The body and whether it is compressed."""
        pack = PACKET_HEAD.pack
        parts = [b""]
        n = 0
        for ts, frame in packets:
            parts.append(pack(round(ts * 1e9), len(frame), len(frame)))
            parts.append(frame)
            n += 1
        parts[0] = BATCH_HEAD.pack(linktype, 0, n)
        raw = b"".join(parts)
        out = self._zstd.compress(raw)
        self.raw_bytes += len(raw)
        if len(out) < len(raw) * _MIN_GAIN:
            self.wire_bytes += len(out)
            return out, True
        self.wire_bytes += len(raw)
        return raw, False


class BatchDecoder:
    """Reads batch bodies; one per connection."""

    def __init__(self, max_raw: int = MAX_RAW_BATCH) -> None:
        self._zstd = zstandard.ZstdDecompressor()
        self.max_raw = max_raw

    def inflate(self, body: bytes) -> bytes:
        try:
            size = zstandard.frame_content_size(body)
        except zstandard.ZstdError as exc:
            raise MirrorBatchError(f"batch is not a zstd frame: {exc}") from None
        if size > self.max_raw:
            raise MirrorBatchError(f"batch inflates to {size} bytes, above {self.max_raw}")
        try:
            return self._zstd.decompress(body, max_output_size=self.max_raw)
        except zstandard.ZstdError as exc:
            raise MirrorBatchError(f"batch does not decompress: {exc}") from None

    def decode(self, body: bytes, compressed: bool) -> tuple[int, list[tuple[float, bytes]]]:
        """``(linktype, [(ts, frame), ...])``; :class:`MirrorBatchError` for a bad body."""
        raw = self.inflate(body) if compressed else body
        return parse_batch(raw)


def parse_batch(raw: bytes) -> tuple[int, list[tuple[float, bytes]]]:
    end = len(raw)
    if end < BATCH_HEAD.size:
        raise MirrorBatchError(f"batch header truncated: {end} bytes")
    linktype, _flags, count = BATCH_HEAD.unpack_from(raw)
    if count > (end - BATCH_HEAD.size) // PACKET_HEAD.size:
        raise MirrorBatchError(f"batch claims {count} frames in {end} bytes")
    unpack = PACKET_HEAD.unpack_from
    hlen = PACKET_HEAD.size
    out: list[tuple[float, bytes]] = []
    p = BATCH_HEAD.size
    for i in range(count):
        if p + hlen > end:
            raise MirrorBatchError(f"batch frame {i} header truncated at offset {p}")
        ts_ns, caplen, _origlen = unpack(raw, p)
        p += hlen
        if caplen > MAX_FRAME_BYTES:
            raise MirrorBatchError(f"batch frame {i} of {caplen} bytes is too large")
        if p + caplen > end:
            raise MirrorBatchError(f"batch frame {i} truncated: {end - p} of {caplen} bytes")
        out.append((ts_ns / 1e9, raw[p : p + caplen]))
        p += caplen
    if p != end:
        raise MirrorBatchError(f"batch has {end - p} bytes after its {count} frames")
    return linktype, out
