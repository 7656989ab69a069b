"""On-disk journal of records the database has not taken yet.

A directory of append-only segments ``segment-<n>.jsonl`` (one JSON record per line), read back
oldest first and deleted once their records are in the database. A lock file keeps a second
writer out; with an ``owner`` the directory belongs to one database and one sensor
(:mod:`sniffer.storage.owner`). Segments hold numbers and IPs: created 0640 in a directory
created 0750.

An append is all or nothing: when a write or its fsync fails (a full disk), the segment is cut
back to where it was, so a torn line never remains to swallow the next record, and the records
that could not be kept are counted exactly (``journal_errors_dropped``) and logged. A segment
that cannot be cut back is never appended to again. Bounded in size: above 80 % a warning; when
full, new records are refused (``journal_full_dropped``). Thread-safe: appends may come from
several threads at once.
"""

import errno
import fcntl
import logging
import os
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from db.errors import JournalError
from sniffer.counters import Counters
from sniffer.privfiles import make_dirs, open_private
from sniffer.storage.owner import JournalOwner, claim
from sniffer.storage.segments import Segment, fsync_dir, scan_segments, segment_path

log = logging.getLogger(__name__)

SEGMENT_BYTES = 16 << 20
HIGH_WATER = 0.8
_LOCK_NAME = ".lock"


class _WriteFailed(Exception):
    """A segment could not be created, written or synced; it was cut back. ``earlier``:
    records appended before (without fsync) that went with it, besides the caller's."""

    def __init__(self, message: str, earlier: int = 0) -> None:
        super().__init__(message)
        self.earlier = earlier


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
        owner: JournalOwner | None = None,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError(f"journal max_bytes must be positive, got {max_bytes}")
        self.directory = directory
        self.owner = owner
        self.max_bytes = max_bytes
        self.segment_bytes = max(1, segment_bytes)
        self.counters = counters if counters is not None else Counters()
        self._lock = threading.Lock()
        self._segments: deque[Segment] = deque()
        self._fd = -1
        """The active segment (the newest, opened by this process), or -1."""
        self._synced = 0
        """Size of the active segment at its last fsync."""
        self._unsynced = 0
        """Records appended to the active segment since its last fsync."""
        self._read_offset = 0
        self._read_records = 0
        self._bytes = 0
        self._records = 0
        self._high = False
        self._lock_fd = -1
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
            if owner is not None:
                claim(directory, owner)
            self._scan()
        except OSError as exc:
            self.close()
            raise JournalError(f"cannot read journal directory {directory}: {exc}") from exc
        except BaseException:
            self.close()
            raise
        self._next = self._segments[-1].number + 1 if self._segments else 1

    def _scan(self) -> None:
        found = scan_segments(self.directory)
        self._segments.extend(found)
        self._bytes = sum(seg.size for seg in found)
        self._records = sum(seg.records for seg in found)
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
        """Records were appended without fsync since the last one."""
        return self._unsynced > 0

    @property
    def records(self) -> int:
        """Records not yet consumed (read without the lock by other threads: never < 0)."""
        return max(0, self._records - self._read_records)

    # -- writing --------------------------------------------------------------------------

    def append(self, lines: list[bytes], *, sync: bool = True) -> int:
        """Append newline-terminated lines, all or none (fsync when ``sync``); returns how
        many are kept. Lines that would take the journal past ``max_bytes`` are refused and
        counted (``journal_full_dropped``); lines that cannot be written are counted
        (``journal_errors_dropped``, with the unsynced ones an fsync failure takes along) and
        logged: nothing raises."""
        if not lines:
            return 0
        with self._lock:
            room = self.max_bytes - self._bytes
            fit = 0
            for line in lines:
                if len(line) > room:
                    break
                room -= len(line)
                fit += 1
            kept = fit
            if fit:
                try:
                    self._write(b"".join(lines[:fit]), fit)
                except _WriteFailed as exc:
                    self._lost(exc, fit)
                    kept = 0
                if kept and sync:
                    try:
                        self._sync_locked()
                    except _WriteFailed as exc:  # these lines and the unsynced ones before
                        self._lost(exc, 0)
                        kept = 0
            self._watch_level(len(lines) - fit)
        return kept

    def _write(self, data: bytes, records: int) -> None:
        """Write at the end of the active segment, or cut it back and raise
        :class:`_WriteFailed`."""
        seg = self._segments[-1] if self._fd >= 0 else None
        if seg is None or seg.size >= self.segment_bytes:
            seg = self._open_segment()
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            self._cut_back(seg, seg.size)
            raise _WriteFailed(f"cannot write journal segment {seg.path}: {exc.strerror}") from exc
        seg.size += len(data)
        seg.records += records
        self._bytes += len(data)
        self._records += records
        self._unsynced += records

    def _open_segment(self) -> Segment:
        self._close_active()
        path = segment_path(self.directory, self._next)
        try:
            self._fd = open_private(str(path), os.O_WRONLY | os.O_EXCL | os.O_APPEND)
            fsync_dir(self.directory)
        except OSError as exc:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
                _unlink_quietly(path)
            raise _WriteFailed(f"cannot create journal segment {path}: {exc.strerror}") from exc
        seg = Segment(self._next, path, 0, 0)
        self._next += 1
        self._segments.append(seg)
        self._synced = 0
        self._unsynced = 0
        return seg

    def _cut_back(self, seg: Segment, size: int) -> None:
        """Truncate the active segment to ``size`` bytes (appends use O_APPEND: the next one
        lands there). When that fails too, the segment is closed for good (it may end in a
        torn line, which is read back as an unreadable line, never glued to another)."""
        try:
            os.ftruncate(self._fd, size)
            return
        except OSError as exc:
            log.error(
                "cannot cut journal segment %s back after a failed write (%s): it is closed; "
                "a torn last line in it will be skipped when it is replayed",
                seg.path,
                exc.strerror,
            )
        try:
            real = os.fstat(self._fd).st_size
        except OSError:
            real = seg.size
        self._bytes += real - seg.size
        seg.size = real
        os.close(self._fd)
        self._fd = -1

    def _lost(self, exc: _WriteFailed, records: int) -> None:
        lost = records + exc.earlier
        self.counters.inc("journal_errors_dropped", lost)
        log.error("%s: %d records LOST", exc, lost)

    def _watch_level(self, dropped: int) -> None:
        """Count and log what a full journal refused; warn once above 80 %."""
        if dropped:
            self.counters.inc("journal_full_dropped", dropped)
            log.error(
                "journal %s is full (%d of %d bytes): %d records DROPPED",
                self.directory,
                self._bytes,
                self.max_bytes,
                dropped,
            )
        self._check_high()

    def _check_high(self) -> None:
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
        """fsync what was appended without ``sync``; when that fails, those records are cut
        off, counted (``journal_errors_dropped``) and logged."""
        with self._lock:
            try:
                self._sync_locked()
            except _WriteFailed as exc:
                self._lost(exc, 0)

    def _sync_locked(self) -> None:
        """fsync the active segment, or cut it back to its last synced size and raise
        :class:`_WriteFailed` (``earlier``: the records appended without fsync before)."""
        if self._fd < 0 or not self._unsynced:
            return
        seg = self._segments[-1]
        try:
            os.fsync(self._fd)
        except OSError as exc:
            lost = self._unsynced
            cut = seg.size - self._synced
            self._cut_back(seg, self._synced)
            if self._fd >= 0:  # cut back: the lost records and bytes are gone
                seg.size -= cut
                self._bytes -= cut
            seg.records -= lost
            self._records -= lost
            self._unsynced = 0
            why = errno.errorcode.get(exc.errno or 0, str(exc.errno))
            raise _WriteFailed(
                f"cannot fsync journal segment {seg.path}: {exc.strerror} ({why})", lost
            ) from exc
        self._synced = seg.size
        self._unsynced = 0

    def _close_active(self) -> None:
        if self._fd >= 0:
            try:
                self._sync_locked()
            except _WriteFailed as exc:
                self._lost(exc, 0)
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    # -- reading --------------------------------------------------------------------------

    def read(self, max_records: int) -> tuple[list[bytes], ReadToken] | None:
        """Up to ``max_records`` oldest unconsumed lines (a torn last line included, as is);
        None when the journal is empty. Nothing is removed until :meth:`consume`."""
        with self._lock:
            while self._segments:
                seg = self._segments[0]
                if self._fd >= 0 and len(self._segments) == 1:
                    self._close_active()  # rotate: new appends go to a new segment
                if self._read_offset >= seg.size:
                    self._drop_oldest()
                    continue
                lines: list[bytes] = []
                try:
                    with open(seg.path, "rb") as f:
                        f.seek(self._read_offset)
                        while len(lines) < max_records and f.tell() < seg.size:
                            line = f.readline(seg.size - f.tell())
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
        self._read_records = 0  # first: a reader in another thread may count more, never less
        self._read_offset = 0
        self._bytes -= seg.size
        self._records -= seg.records
        try:
            seg.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise JournalError(f"cannot delete journal segment {seg.path}: {exc}") from exc
        self._check_high()

    def close(self) -> None:
        """fsync and close the active segment, release the directory lock."""
        with self._lock:
            try:
                self._close_active()
            finally:
                if self._lock_fd >= 0:
                    os.close(self._lock_fd)
                    self._lock_fd = -1


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
