"""On-disk journal of records the database has not taken yet.

A directory of append-only segments ``segment-<n>.jsonl`` (one JSON record per line), read back
oldest first and deleted once their records are in the database. A lock file keeps a second
writer out. Segments hold numbers and IPs: created 0640 in a directory created 0750. Bounded in size: above 80 % a warning, when full new records are refused (counted).
Thread-safe: appends may come from the event loop and from a worker thread at once.
"""

import fcntl
import logging
import os
import re
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from db.errors import JournalError
from sniffer.counters import Counters
from sniffer.privfiles import make_dirs, open_private

log = logging.getLogger(__name__)

SEGMENT_BYTES = 16 << 20
HIGH_WATER = 0.8
_SEGMENT = re.compile(r"segment-(\d{12})\.jsonl")
_LOCK_NAME = ".lock"


@dataclass(slots=True)
class _Segment:
    number: int
    path: Path
    size: int
    records: int


@dataclass(frozen=True, slots=True)
class ReadToken:
    """Where a :meth:`Journal.read` stopped: hand it to :meth:`Journal.consume`."""

    number: int
    offset: int
    records: int


class Journal:
    """Segmented JSON-lines journal in ``directory`` (see module doc)."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int,
        segment_bytes: int = SEGMENT_BYTES,
        counters: Counters | None = None,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError(f"journal max_bytes must be positive, got {max_bytes}")
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = max(1, segment_bytes)
        self.counters = counters if counters is not None else Counters()
        self._lock = threading.Lock()
        self._segments: deque[_Segment] = deque()
        self._active: BinaryIO | None = None
        self._read_offset = 0
        self._read_records = 0
        self._bytes = 0
        self._records = 0
        self._high = False
        self._dirty = False
        try:
            make_dirs(str(directory))
            self._lock_fd = open_private(str(directory / _LOCK_NAME), os.O_RDWR)
        except OSError as exc:
            raise JournalError(f"cannot use journal directory {directory}: {exc}") from exc
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._lock_fd)
            raise JournalError(
                f"journal directory {directory} is in use by another writer"
            ) from exc
        try:
            self._scan()
        except OSError as exc:
            self.close()
            raise JournalError(f"cannot read journal directory {directory}: {exc}") from exc
        self._next = self._segments[-1].number + 1 if self._segments else 1

    def _scan(self) -> None:
        found: list[_Segment] = []
        for entry in self.directory.iterdir():
            m = _SEGMENT.fullmatch(entry.name)
            if m is None:
                continue
            size = entry.stat().st_size
            if size == 0:
                entry.unlink()
                continue
            found.append(_Segment(int(m.group(1)), entry, size, _count_lines(entry)))
        found.sort(key=lambda s: s.number)
        self._segments.extend(found)
        self._bytes = sum(s.size for s in found)
        self._records = sum(s.records for s in found)
        if found:
            log.info(
                "journal %s: %d records (%d bytes) pending from a previous run",
                self.directory,
                self._records,
                self._bytes,
            )

    # -- state ----------------------------------------------------------------------------

    @property
    def nbytes(self) -> int:
        """Bytes on disk (a segment being replayed counts until it is deleted)."""
        return self._bytes

    @property
    def dirty(self) -> bool:
        """Lines were appended without fsync since the last one."""
        return self._dirty

    @property
    def records(self) -> int:
        """Records not yet consumed."""
        return self._records - self._read_records

    # -- writing --------------------------------------------------------------------------

    def append(self, lines: list[bytes], *, sync: bool = True) -> int:
        """Append newline-terminated lines (fsync when ``sync``); returns how many were kept.
        Lines that would take the journal past ``max_bytes`` are dropped and counted."""
        if not lines:
            return 0
        with self._lock:
            room = self.max_bytes - self._bytes
            kept = 0
            for line in lines:
                if len(line) > room:
                    break
                room -= len(line)
                kept += 1
            dropped = len(lines) - kept
            if kept:
                self._write(b"".join(lines[:kept]), kept)
                if sync:
                    self._sync_locked()
            self._watch_level(dropped)
        return kept

    def _write(self, data: bytes, records: int) -> None:
        active = self._segments[-1] if self._active is not None else None
        if active is None or active.size >= self.segment_bytes:
            active = self._open_segment()
        assert self._active is not None
        try:
            self._active.write(data)
            self._active.flush()
        except OSError as exc:
            raise JournalError(f"cannot write journal segment {active.path}: {exc}") from exc
        active.size += len(data)
        active.records += records
        self._bytes += len(data)
        self._records += records
        self._dirty = True

    def _open_segment(self) -> _Segment:
        self._close_active()
        path = self.directory / f"segment-{self._next:012d}.jsonl"
        try:
            fd = open_private(str(path), os.O_WRONLY | os.O_EXCL)
            self._active = os.fdopen(fd, "wb")  # owned until rotated/closed
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise JournalError(f"cannot create journal segment {path}: {exc}") from exc
        seg = _Segment(self._next, path, 0, 0)
        self._next += 1
        self._segments.append(seg)
        return seg

    def _watch_level(self, dropped: int) -> None:
        if dropped:
            self.counters.inc("journal_full_dropped", dropped)
            log.error(
                "journal %s is full (%d of %d bytes): %d records DROPPED",
                self.directory,
                self._bytes,
                self.max_bytes,
                dropped,
            )
        high = self._bytes > HIGH_WATER * self.max_bytes
        if high and not self._high:
            self.counters.inc("journal_above_80pct")
            log.warning(
                "journal %s is above 80%% of its limit (%d of %d bytes): database down?",
                self.directory,
                self._bytes,
                self.max_bytes,
            )
        self._high = high

    def sync(self) -> None:
        """fsync what was appended without ``sync``."""
        with self._lock:
            self._sync_locked()

    def _sync_locked(self) -> None:
        if self._active is not None and self._dirty:
            try:
                os.fsync(self._active.fileno())
            except OSError as exc:
                raise JournalError(f"cannot fsync journal: {exc}") from exc
            self._dirty = False

    def _close_active(self) -> None:
        if self._active is not None:
            self._sync_locked()
            self._active.close()
            self._active = None

    # -- reading --------------------------------------------------------------------------

    def read(self, max_records: int) -> tuple[list[bytes], ReadToken] | None:
        """Up to ``max_records`` oldest unconsumed lines (a torn last line included, as is);
        None when the journal is empty. Nothing is removed until :meth:`consume`."""
        with self._lock:
            while self._segments:
                seg = self._segments[0]
                if self._active is not None and len(self._segments) == 1:
                    self._close_active()  # rotate: new appends go to a new segment
                if self._read_offset >= seg.size:
                    self._drop_oldest()
                    continue
                lines: list[bytes] = []
                try:
                    with open(seg.path, "rb") as f:
                        f.seek(self._read_offset)
                        while len(lines) < max_records:
                            line = f.readline()
                            if not line:
                                break
                            lines.append(line)
                        offset = f.tell()
                except OSError as exc:
                    raise JournalError(f"cannot read journal segment {seg.path}: {exc}") from exc
                if not lines:  # shorter than recorded: treat as consumed
                    self._read_offset = seg.size
                    continue
                return lines, ReadToken(seg.number, offset, len(lines))
            return None

    def consume(self, token: ReadToken) -> None:
        """Forget the lines of ``token`` (they are in the database); delete finished segments."""
        with self._lock:
            if not self._segments or self._segments[0].number != token.number:
                return
            self._read_offset = token.offset
            self._read_records += token.records
            if self._read_offset >= self._segments[0].size:
                self._drop_oldest()

    def _drop_oldest(self) -> None:
        seg = self._segments.popleft()
        self._bytes -= seg.size
        self._records -= seg.records
        self._read_offset = 0
        self._read_records = 0
        try:
            seg.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise JournalError(f"cannot delete journal segment {seg.path}: {exc}") from exc
        self._watch_level(0)

    def close(self) -> None:
        """fsync and close the active segment, release the directory lock."""
        with self._lock:
            try:
                self._close_active()
            finally:
                if self._lock_fd >= 0:
                    os.close(self._lock_fd)
                    self._lock_fd = -1


def _count_lines(path: Path) -> int:
    """Newline-terminated lines, plus a torn last line."""
    count = 0
    last = b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")
