"""IPv4 (RFC 791) and IPv6 (RFC 8200 section 4.5) fragment reassembly, bounded in bytes, sets
and capture time. Overlapping fragments with different bytes drop the whole set (RFC 5722)."""

from collections.abc import Hashable

from .base import Frames

MAX_DATAGRAM = 65535
"""Largest reassembled payload (no jumbograms)."""
MAX_SETS = 65536


class _FragSet:
    __slots__ = ("first_ts", "frames", "nh", "pieces", "size", "total")

    def __init__(self, ts: float) -> None:
        self.first_ts = ts
        self.pieces: list[tuple[int, bytes]] = []
        self.frames: Frames = []
        self.size = 0
        self.total = -1
        """Payload length, known once the last fragment (MF clear) arrived."""
        self.nh = -1
        """Protocol / next header carried by the first fragment (offset 0)."""


class FragmentTable:
    """Pending fragment sets keyed by ``(src, dst, id, proto)`` (IPv4) or ``(src, dst, id)``
    (IPv6). Every outcome is counted in ``counters`` under ``decode.frag_*``."""

    __slots__ = ("_bytes", "_cnt", "_max_bytes", "_sets", "_timeout")

    def __init__(self, counters: dict[str, int], max_bytes: int, timeout_s: float) -> None:
        self._cnt = counters
        self._max_bytes = max_bytes
        self._timeout = timeout_s
        self._sets: dict[Hashable, _FragSet] = {}
        self._bytes = 0

    def _inc(self, reason: str) -> None:
        self._cnt[reason] = self._cnt.get(reason, 0) + 1

    def _drop(self, key: Hashable, reason: str) -> None:
        s = self._sets.pop(key)
        self._bytes -= s.size
        self._inc(reason)

    def add(
        self,
        key: Hashable,
        offset: int,
        more: bool,
        data: bytes,
        off: int,
        end: int,
        nh: int,
        ts: float,
        frames: Frames,
    ) -> tuple[bytes, Frames, int] | None:
        """Add the fragment ``data[off:end]`` at byte ``offset`` of the original payload.

        ``nh`` is the protocol (IPv6: the Fragment header's next header; it counts only for the
        first fragment). Returns ``(payload, frames, nh)`` when the datagram is complete, with
        the frames of all its fragments in capture order; else None.
        """
        length = end - off
        if length <= 0 or (more and length & 7):
            self._inc("decode.frag_bad_length")
            return None
        piece_end = offset + length
        if piece_end > MAX_DATAGRAM:
            self._inc("decode.frag_too_big")
            return None
        sets = self._sets
        s = sets.get(key)
        if s is not None and ts - s.first_ts > self._timeout:
            self._drop(key, "decode.frag_expired")
            s = None
        if s is None:
            if len(sets) >= MAX_SETS:
                self._drop(next(iter(sets)), "decode.frag_evicted")
            s = sets[key] = _FragSet(ts)
        if not more:
            if s.total >= 0 and s.total != piece_end:
                self._drop(key, "decode.frag_inconsistent")
                return None
            s.total = piece_end
        if 0 <= s.total < piece_end:
            self._drop(key, "decode.frag_inconsistent")
            return None
        for o, b in s.pieces:
            if o < piece_end and offset < o + len(b):
                if (
                    o <= offset
                    and piece_end <= o + len(b)
                    and data[off:end] == b[offset - o : piece_end - o]
                ):
                    self._inc("decode.frag_duplicate")
                    return None
                self._drop(key, "decode.frag_overlap")
                return None
        s.pieces.append((offset, data[off:end]))
        s.size += length
        s.frames.extend(frames)
        if offset == 0:
            s.nh = nh
        self._bytes += length
        while self._bytes > self._max_bytes:
            oldest = next(iter(sets))
            self._drop(oldest, "decode.frag_evicted")
            if oldest == key:
                return None
        if s.size != s.total:
            self._inc("decode.frag_pending")
            return None
        del sets[key]
        self._bytes -= s.size
        self._inc("decode.frag_reassembled")
        s.pieces.sort()
        return b"".join([b for _, b in s.pieces]), s.frames, s.nh

    def expire(self, now_ts: float) -> None:
        """Drop the sets whose first fragment is older than the timeout (``decode.frag_expired``)."""
        if not self._sets:
            return
        limit = now_ts - self._timeout
        for key in [k for k, s in self._sets.items() if s.first_ts < limit]:
            self._drop(key, "decode.frag_expired")

    @property
    def pending_sets(self) -> int:
        return len(self._sets)

    @property
    def pending_bytes(self) -> int:
        return self._bytes
