"""The sender's buffer of DATA frames not yet acknowledged (docs/MIRROR.md, "Buffering").

Frames stay until the receiver acknowledges them: after a reconnect (to the same receiver or
a failover) the sender resends from the first unacknowledged one. Memory holds at most
``memory_bytes``; beyond that the oldest frames go to an optional disk buffer (segment files
of ``SEGMENT_BYTES``, at most ``disk_bytes``); when both are full the oldest frames are dropped
and counted (frames and packets). Frames leave in sequence order whatever their place.
"""

from __future__ import annotations

import logging
import os
import struct
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from db.errors import MirrorError
from sniffer.counters import Counters

log = logging.getLogger(__name__)

SEGMENT_BYTES = 4 << 20
_REC = struct.Struct("!QIHI")
"""On disk, per frame: seq, packets, flags, body length, then the body."""


@dataclass(slots=True)
class Pending:
    seq: int
    flags: int
    body: bytes
    packets: int


@dataclass(slots=True)
class _Segment:
    path: Path
    first: int
    last: int
    frames: int
    packets: int
    size: int


class SendBuffer:
    """Unacknowledged frames, oldest first; :meth:`next_unsent` walks them in order."""

    def __init__(
        self,
        memory_bytes: int,
        *,
        disk_dir: Path | None = None,
        disk_bytes: int = 0,
        counters: Counters | None = None,
    ) -> None:
        self.memory_max = memory_bytes
        self.disk_max = disk_bytes if disk_dir is not None else 0
        self.disk_dir = disk_dir
        self.counters = counters if counters is not None else Counters()
        self.mem: deque[Pending] = deque()
        self.mem_bytes = 0
        self.segments: deque[_Segment] = deque()
        self.disk_bytes = 0
        self._writing: tuple[_Segment, int] | None = None  # open segment and its descriptor
        self._loaded: tuple[Path, list[Pending]] | None = None
        self.acked = 0
        self.sent = 0
        """Highest sequence handed to the connection (reset to ``acked`` on reconnect)."""
        if disk_dir is not None:
            try:
                disk_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
                for old in disk_dir.glob("seg-*.bin"):
                    old.unlink()  # sequence numbers restart with the process
            except OSError as exc:
                raise MirrorError(f"disk buffer {disk_dir}: {exc.strerror or exc}") from exc

    # -- state ------------------------------------------------------------------------------

    @property
    def frames(self) -> int:
        return len(self.mem) + sum(s.frames for s in self.segments)

    @property
    def packets(self) -> int:
        return sum(p.packets for p in self.mem) + sum(s.packets for s in self.segments)

    @property
    def empty(self) -> bool:
        return not self.mem and not self.segments

    # -- producer ---------------------------------------------------------------------------

    def push(self, frame: Pending) -> None:
        self.mem.append(frame)
        self.mem_bytes += len(frame.body)
        while self.mem_bytes > self.memory_max and len(self.mem) > 1:
            old = self.mem.popleft()
            self.mem_bytes -= len(old.body)
            if old.seq <= self.acked:
                continue
            if self.disk_max and self._spill(old):
                continue
            self._dropped(1, old.packets, old.seq)
        while self.disk_bytes > self.disk_max and self.segments:
            seg = self.segments.popleft()
            if self._writing is not None and self._writing[0] is seg:
                self._close_writing()
            self._remove(seg)
            self._dropped(seg.frames, seg.packets, seg.last)

    def _dropped(self, frames: int, packets: int, last_seq: int) -> None:
        self.counters.inc("dropped_frames.buffer_full", frames)
        self.counters.inc("dropped_packets.buffer_full", packets)
        self.sent = max(self.sent, last_seq)
        self.acked = max(self.acked, last_seq)

    def _spill(self, frame: Pending) -> bool:
        assert self.disk_dir is not None
        if self._writing is None or self._writing[0].size >= SEGMENT_BYTES:
            self._close_writing()
            path = self.disk_dir / f"seg-{frame.seq:020d}.bin"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            except OSError as exc:
                self._disk_error(exc)
                return False
            seg = _Segment(path, frame.seq, frame.seq, 0, 0, 0)
            self.segments.append(seg)
            self._writing = (seg, fd)
        seg, fd = self._writing
        rec = _REC.pack(frame.seq, frame.packets, frame.flags, len(frame.body)) + frame.body
        try:
            os.write(fd, rec)
        except OSError as exc:
            self._disk_error(exc)
            return False
        seg.last, seg.frames, seg.packets = frame.seq, seg.frames + 1, seg.packets + frame.packets
        seg.size += len(rec)
        self.disk_bytes += len(rec)
        self.counters.inc("spilled_frames")
        return True

    def _disk_error(self, exc: OSError) -> None:
        self.counters.inc("disk_errors")
        log.warning("disk buffer: %s; frames beyond memory are dropped", exc.strerror or exc)

    def _close_writing(self) -> None:
        if self._writing is not None:
            os.close(self._writing[1])
            self._writing = None

    def _remove(self, seg: _Segment) -> None:
        self.disk_bytes -= seg.size
        if self._loaded is not None and self._loaded[0] == seg.path:
            self._loaded = None
        try:
            seg.path.unlink()
        except OSError:
            pass

    # -- consumer ---------------------------------------------------------------------------

    def ack(self, seq: int) -> None:
        """Every frame up to ``seq`` was analysed: forget them."""
        if seq <= self.acked:
            return
        self.acked = seq
        self.sent = max(self.sent, seq)
        while self.segments and self.segments[0].last <= seq:
            seg = self.segments.popleft()
            if self._writing is not None and self._writing[0] is seg:
                self._close_writing()
            self._remove(seg)
        while self.mem and self.mem[0].seq <= seq:
            self.mem_bytes -= len(self.mem.popleft().body)

    def rewind(self) -> None:
        """A new connection: resend from the first unacknowledged frame."""
        self.sent = self.acked

    def next_unsent(self) -> Pending | None:
        """The first frame after :attr:`sent` (it then counts as sent), or None."""
        want = self.sent + 1
        for seg in self.segments:
            if seg.last >= want:
                frame = self._from_disk(seg, want)
                if frame is not None:
                    self.sent = frame.seq
                    return frame
        for frame in self.mem:  # short: scanned from the old end, usually stops at once
            if frame.seq >= want:
                self.sent = frame.seq
                return frame
        return None

    def _from_disk(self, seg: _Segment, want: int) -> Pending | None:
        if self._loaded is None or self._loaded[0] != seg.path:
            if self._writing is not None and self._writing[0] is seg:
                self._close_writing()
            try:
                data = seg.path.read_bytes()
            except OSError as exc:
                self._disk_error(exc)
                return None
            frames: list[Pending] = []
            p = 0
            while p + _REC.size <= len(data):
                seq, packets, flags, n = _REC.unpack_from(data, p)
                p += _REC.size
                frames.append(Pending(seq, flags, data[p : p + n], packets))
                p += n
            self._loaded = (seg.path, frames)
        for frame in self._loaded[1]:
            if frame.seq >= want:
                return frame
        return None

    def close(self) -> None:
        self._close_writing()
        while self.segments:
            self._remove(self.segments.popleft())
