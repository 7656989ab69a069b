"""A batch of captured frames as a DATA frame's body (docs/MIRROR.md, "Batches").

Before compression, column by column (cheaper to build and to read than packet by packet, and
it compresses better)::

    linktype u16 | flags u16 | count u32
    ts_ns i64 x count | caplen u32 x count | origlen u32 x count | the frames, concatenated

Timestamps are nanoseconds since the epoch (a capture with microsecond resolution has them to
the microsecond). The body is one zstd frame (``FLAG_ZSTD``) unless compressing does not pay.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import zstandard

BATCH_HEAD = struct.Struct("!HHI")
PER_PACKET = 16
"""Bytes of columns per packet: timestamp, caplen, origlen."""
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

    def encode(self, linktype: int, packets: Sequence[tuple[float, bytes]]) -> tuple[bytes, bool]:
        """The body and whether it is compressed."""
        n = len(packets)
        lens = [len(f) for _, f in packets]
        lens_col = struct.pack(f"!{n}I", *lens)
        raw = b"".join(
            (
                BATCH_HEAD.pack(linktype, 0, n),
                struct.pack(f"!{n}q", *[int(ts * 1e9) for ts, _ in packets]),
                lens_col,
                lens_col,
                *[f for _, f in packets],
            )
        )
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
    p = BATCH_HEAD.size
    if count * PER_PACKET > end - p:
        raise MirrorBatchError(f"batch claims {count} frames in {end} bytes")
    stamps = struct.unpack_from(f"!{count}q", raw, p)
    p += 8 * count
    lens = struct.unpack_from(f"!{count}I", raw, p)
    p += 8 * count  # caplens, then origlens (kept on the wire, not needed here)
    if max(lens, default=0) > MAX_FRAME_BYTES:
        i = next(i for i, n in enumerate(lens) if n > MAX_FRAME_BYTES)
        raise MirrorBatchError(f"batch frame {i} of {lens[i]} bytes is too large")
    if p + sum(lens) != end:
        raise MirrorBatchError(
            f"batch frames add up to {sum(lens)} bytes, the batch holds {end - p}"
        )
    out: list[tuple[float, bytes]] = []
    append = out.append
    for ts_ns, n in zip(stamps, lens, strict=True):
        append((ts_ns / 1e9, raw[p : p + n]))
        p += n
    return linktype, out
