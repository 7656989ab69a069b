"""Per-call pcap files: every SIP and RTP/RTCP frame of a call, as captured, in one pcap file.

Frames are appended to a per-call buffer (:mod:`sniffer.spool.callpcap`: a list of record headers
and the frames themselves, no copy). A call's buffered frames are written, in one ``write`` of
whole records, when:

- its buffer reaches ``flush_bytes``;
- all buffers together exceed ``max_buffer_bytes`` (the largest are written until half the budget
  is free): memory stays bounded whatever the number of calls;
- ``flush_interval_s`` of capture time has passed since the last timed flush (every buffer);
- the call ends, the crash-recovery snapshot is taken (``flush_all``) or the spool closes.

So a crash loses at most the frames of the last ``flush_interval_s`` (and never more than
``max_buffer_bytes``); a process killed in the middle of a write can leave the last record cut
short, which crash recovery cuts off (:func:`~sniffer.spool.pcapfile.whole_length`).

At most ``max_open_files`` files are open at once (least recently written closed first, and
reopened in append mode when needed), so any number of concurrent calls fit in a few file
descriptors. With gzip, every write is one gzip member (a multi-member gzip file, as gzip, zlib
and Wireshark read it), so no compressor state is kept per call.

Disk errors never reach the packet loop: they are counted, the call's file is marked failed and
removed (a CDR never names a pcap that is missing, empty or cut short: its ``pcap`` is null, and
``pcap_failed.<errno>`` counts why). Files are created 0640 in directories 0750, optionally owned
by a group (the API's reader): see :mod:`sniffer.privfiles`.
"""

import contextlib
import errno
import logging
import math
import os
import tempfile
import zlib
from collections import OrderedDict
from pathlib import Path
from types import TracebackType
from typing import Self

from db.errors import SpoolError
from db.settings import SpoolMode
from sniffer.counters import Counters
from sniffer.privfiles import group_id, make_dirs, open_private, world_accessible
from sniffer.spool.callpcap import CallPcap
from sniffer.spool.naming import call_pcap_relpath
from sniffer.spool.pcapfile import file_header, whole_length

__all__ = ["CallPcap", "CallPcapSpool", "is_relative_subdir"]

log = logging.getLogger(__name__)

MIN_SHARE_BYTES = 4096
"""The least a call's buffer gets, however many calls share the budget (beyond, the largest
buffers are written to make room)."""


def is_relative_subdir(path: str) -> bool:
    """``a`` or ``a/b``: no absolute path, no empty, ``.`` or ``..`` component, no NUL."""
    parts = path.split("/")
    return "\x00" not in path and all(p not in ("", ".", "..") for p in parts)


class CallPcapSpool:
    """Writes one pcap file per call under ``root``; see the module docstring."""

    def __init__(
        self,
        root: str | Path,
        linktype: int,
        *,
        mode: SpoolMode = SpoolMode.SIP_RTP,
        gzip: bool = False,
        snaplen: int = 262144,
        max_open_files: int = 256,
        max_buffer_bytes: int = 64 << 20,
        flush_bytes: int = 256 << 10,
        flush_interval_s: float = 10.0,
        compresslevel: int = 6,
        group: str | None = None,
        subdir: str = "",
    ) -> None:
        """``linktype`` is the DLT value of the packet source; ``group`` (name or gid) owns the
        files and directories the spool creates; ``subdir`` (a relative path) puts the files
        under ``root/subdir`` and into their relative paths, for sensors sharing one spool.
        Raises :class:`SpoolError` now if the directory cannot be created or written, or the
        group cannot be used."""
        if subdir and not is_relative_subdir(subdir):
            raise SpoolError(f"spool subdirectory must be a relative path, got {subdir!r}")
        if max_open_files < 1:
            raise SpoolError(f"max_open_files must be at least 1, got {max_open_files}")
        if snaplen < 1 or flush_bytes < 1 or max_buffer_bytes < 1:
            raise SpoolError("snaplen, flush_bytes and max_buffer_bytes must be positive")
        if not flush_interval_s > 0:
            raise SpoolError(f"flush_interval_s must be positive, got {flush_interval_s}")
        self.root = Path(root)
        self.linktype = linktype
        self.mode = SpoolMode(mode)
        self.gzip = gzip
        self.snaplen = snaplen
        self.max_open_files = max_open_files
        self.max_buffer_bytes = max_buffer_bytes
        self.flush_bytes = flush_bytes
        self.flush_interval_s = flush_interval_s
        self.compresslevel = compresslevel
        self.counters = Counters()
        """files_opened, reopened, evictions, flushes, bytes_written, budget_flushes,
        timed_flushes, write_errors, bytes_dropped, calls_opened, calls_closed,
        pcap_failed.<errno> (calls whose pcap could not be written)."""
        try:
            self.gid = group_id(group)
        except ValueError as exc:
            raise SpoolError(f"spool group: {exc}") from None
        self.last_error: str | None = None
        self.subdir = subdir
        self._root = str(self.root)
        self._header = file_header(linktype, snaplen)
        self._calls: dict[str, CallPcap] = {}
        self._files: OrderedDict[CallPcap, int] = OrderedDict()
        """Open descriptors, least recently written first."""
        self._budget_left = max_buffer_bytes
        self._next_timed = -math.inf
        self._closed = False
        self._check_root()

    def _check_root(self) -> None:
        where = os.path.join(self._root, self.subdir) if self.subdir else self._root
        try:
            make_dirs(where)
            fd, probe = tempfile.mkstemp(prefix=".callsift-probe-", dir=where)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise SpoolError(
                f"spool directory {where} is not writable: {exc.strerror or exc}"
            ) from exc
        if self.gid is not None and os.stat(self._root).st_gid != self.gid:
            try:  # the reader must be able to enter the root
                os.chown(self._root, -1, self.gid)
            except OSError as exc:
                raise SpoolError(
                    f"spool files cannot be given to group {self.gid}: "
                    f"{exc.strerror or exc} (the sensor's user must be a member of it)"
                ) from exc
        if world_accessible(self._root):
            log.warning(
                "spool directory %s is open to every user (mode %o): call pcaps are private, "
                "consider chmod o-rwx",
                self._root,
                os.stat(self._root).st_mode & 0o7777,
            )

    # -- calls -------------------------------------------------------------------------------

    def open_call(self, call_id: str, start_ts: float) -> CallPcap:
        """The handle of a call's file (the same handle while that call is open). No I/O."""
        if self._closed:
            raise SpoolError("the pcap spool is closed")
        relpath = call_pcap_relpath(call_id, start_ts, self.gzip)
        if self.subdir:
            relpath = f"{self.subdir}/{relpath}"
        handle = self._calls.get(relpath)
        if handle is None:
            handle = CallPcap(self, relpath, self.snaplen)
            self._calls[relpath] = handle
            self.counters.inc("calls_opened")
        return handle

    def adopt_call(self, call_id: str, start_ts: float) -> CallPcap:
        """The handle of a call a previous process of this sensor was writing (crash
        recovery): its file is continued. A tail cut short by the crash is cut off first; a
        file that is missing or not even a whole header is started afresh."""
        handle = self.open_call(call_id, start_ts)
        path = os.path.join(self._root, handle.relpath)
        try:
            whole = whole_length(path, self.gzip)
            if whole:
                os.truncate(path, whole)
                handle._created = True
                self.counters.inc("calls_adopted")
            else:
                os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            self._fail(handle, exc, 0)
        return handle

    def flush_all(self) -> None:
        """Write every call's buffered frames now (the crash-recovery snapshot does, so a
        killed sensor loses at most the frames since the last one)."""
        for handle in list(self._calls.values()):
            if handle._chunks:
                self._flush(handle)

    def tick(self, ts: float) -> None:
        """Housekeeping at capture time ``ts``: every ``flush_interval_s`` every buffer is
        written (a crash loses at most that much capture time)."""
        if ts >= self._next_timed:
            if self._next_timed > -math.inf:
                self.counters.inc("timed_flushes")
                self.flush_all()
            self._next_timed = ts + self.flush_interval_s

    def close_call(self, handle: CallPcap) -> str | None:
        """Write what is buffered, close the file; returns its path relative to the root, or
        None when the file could not be written whole (it is then removed, see ``failed``).

        A call with no frame still gets a file (header only).
        """
        if not handle.closed:
            self._flush(handle)
            self._drop_file(handle)
            handle.closed = True
            handle._last = None
            if self._calls.get(handle.relpath) is handle:
                del self._calls[handle.relpath]
            self.counters.inc("calls_closed")
        return None if handle.failed else handle.relpath

    def close(self) -> None:
        """Flush and close every call's file."""
        for handle in list(self._calls.values()):
            self.close_call(handle)
        for handle in list(self._files):
            self._drop_file(handle)
        self._closed = True

    def open_relpaths(self) -> frozenset[str]:
        """Paths (relative to the root) of the calls still open: retention never deletes them."""
        return frozenset(self._calls)

    @property
    def open_files(self) -> int:
        return len(self._files)

    @property
    def buffered_bytes(self) -> int:
        """Bytes of the budget the calls' buffers hold (what they buffer is at most that)."""
        return self.max_buffer_bytes - self._budget_left

    def share(self) -> int:
        """The budget one call's buffer gets: ``flush_bytes``, less when there are so many
        calls that their buffers would take more than 3/4 of ``max_buffer_bytes`` together (the
        rest absorbs the larger shares given while there were fewer calls); 4 KiB at least."""
        fair = self.max_buffer_bytes * 3 // (4 * max(1, len(self._calls)))
        return min(self.flush_bytes, self.max_buffer_bytes, max(fair, MIN_SHARE_BYTES))

    # -- writing -----------------------------------------------------------------------------

    def _service(self, handle: CallPcap) -> None:
        """Called by :meth:`CallPcap.write` when the handle's room is used up: it gets a share
        of the budget if it had none, else (or if the frame is larger than the share) its
        buffer is written. A closed or failed handle's frames are dropped."""
        if not handle._limit and not (handle.closed or handle.failed):
            share = self.share()
            if self._budget_left < share:
                self._relieve(share)
            self._budget_left -= share
            handle._limit = share
            handle._room += share
            if handle._room > 0:
                return
        self._flush(handle)

    def _relieve(self, need: int) -> None:
        """Write the buffers with the largest shares (the fullest first among equal shares)
        until a quarter of the budget, and at least ``need``, is free."""
        self.counters.inc("budget_flushes")
        target = max(need, self.max_buffer_bytes // 4)
        for handle in sorted(self._calls.values(), key=_share_and_fill, reverse=True):
            if self._budget_left >= target or not handle._limit:
                break
            self._flush(handle)

    def _flush(self, handle: CallPcap) -> None:
        if handle._created and not handle._chunks:
            return
        size = handle.buffered
        self._budget_left += handle._limit
        chunks = handle._take()
        if handle.failed or handle.closed:
            if size:
                self.counters.inc("bytes_dropped", size)
            return
        if not handle._created:
            chunks.insert(0, self._header)
        payload = b"".join(chunks)
        if self.gzip:
            payload = zlib.compress(payload, self.compresslevel, wbits=31)
        try:
            _write_all(self._file(handle), payload)
        except OSError as exc:
            self._fail(handle, exc, size)
            return
        handle._created = True
        self.counters.inc("flushes")
        self.counters.inc("bytes_written", len(payload))

    def _file(self, handle: CallPcap) -> int:
        fd = self._files.get(handle)
        if fd is not None:
            self._files.move_to_end(handle)
            return fd
        while len(self._files) >= self.max_open_files:
            self._drop_file(next(iter(self._files)))
            self.counters.inc("evictions")
        path = os.path.join(self._root, handle.relpath)
        if handle._created:
            fd = open_private(path, os.O_WRONLY | os.O_APPEND)
            self.counters.inc("reopened")
        else:
            flags = os.O_WRONLY | os.O_TRUNC
            try:
                fd = open_private(path, flags, self.gid)
            except FileNotFoundError:
                make_dirs(os.path.dirname(path), self.gid)
                fd = open_private(path, flags, self.gid)
            self.counters.inc("files_opened")
        self._files[handle] = fd
        return fd

    def _drop_file(self, handle: CallPcap) -> None:
        fd = self._files.pop(handle, None)
        if fd is not None:
            try:
                os.close(fd)
            except OSError as exc:
                self._fail(handle, exc, 0)

    def _fail(self, handle: CallPcap, exc: OSError, size: int) -> None:
        """The call's pcap cannot be written whole: drop what comes, remove what was written."""
        self.counters.inc("write_errors")
        pending = handle.buffered  # frames still buffered (its file was evicted): lost too
        self._budget_left += handle._limit
        handle._take()
        if size + pending:
            self.counters.inc("bytes_dropped", size + pending)
        path = os.path.join(self._root, handle.relpath)
        self.last_error = f"{path}: {exc.strerror or exc}"
        if not handle.failed:
            handle.failed = errno.errorcode.get(exc.errno, "EIO") if exc.errno else "EIO"
            self.counters.inc(f"pcap_failed.{handle.failed}")
            if self.counters["write_errors"] == 1:
                log.warning("pcap spool write error: %s", self.last_error)
            else:
                log.debug("pcap spool write error: %s", self.last_error)
        fd = self._files.pop(handle, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        if handle._created or os.path.isfile(path):
            with contextlib.suppress(OSError):
                os.unlink(path)
            handle._created = False

    # -- context managers --------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _share_and_fill(handle: CallPcap) -> tuple[int, int]:
    return handle._limit, handle.buffered


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if not written:
            raise OSError(errno.EIO, "short write")
        view = view[written:]
