"""The buffer of one call's pcap file: the per-packet half of the spool (:mod:`sniffer.spool.spool`
writes the buffers to disk).

:meth:`CallPcap.write` runs for every frame of every call, so it does the least it can: it packs
the 16-byte record header and appends it and the frame (the same ``bytes`` object, no copy) to the
call's list of chunks; the spool joins them into one write when the buffer is full, the byte
budget of all buffers is spent, the capture-time timer fires or the call ends.

Measured on the bench capture (docs/BENCHMARKS.md), the timestamp's split into seconds and
microseconds was the dearest step of the record header: ``round(ts * 1e6)`` makes a two-digit
integer that ``//`` and ``%`` then divide. The handle keeps the second of its last record instead,
so a record within the same second costs one float subtraction and the rounding of a number below
one million (the same round-half-even result; the last microsecond of a second and any clock jump
take the exact path).
"""

from __future__ import annotations

import math
from typing import Protocol

from sniffer.spool.pcapfile import RECORD_HEADER, USEC_PER_SEC, record_header

_pack = RECORD_HEADER.pack
_fround = float.__round__
_U32 = 0xFFFFFFFF


class BufferOwner(Protocol):
    """What a handle needs of its spool: the slow path of :meth:`CallPcap.write`."""

    def _service(self, handle: CallPcap) -> None: ...


class CallPcap:
    """The pcap file of one call; obtained from ``CallPcapSpool.open_call``.

    The handle may buffer ``_limit`` bytes of records, its share of the spool's byte budget
    (granted by the spool when its first record after a write arrives); ``_room`` is what is
    left of it. A record that uses the room up calls the spool, which grants a share or writes
    the buffer: a frame touches no state but its call's.
    """

    __slots__ = (
        "_base",
        "_chunks",
        "_created",
        "_last",
        "_limit",
        "_room",
        "_sec",
        "_snaplen",
        "_spool",
        "closed",
        "failed",
        "relpath",
    )
    failed: str | None

    def __init__(self, spool: BufferOwner, relpath: str, snaplen: int) -> None:
        self._spool = spool
        self.relpath = relpath
        """Path relative to the spool root (the call record's ``pcap`` value)."""
        self._chunks: list[bytes] = []
        """Record headers and frames not yet written, in order."""
        self._limit = 0
        """Bytes of records this handle may buffer (its share of the budget; 0: none yet, or
        closed or failed, when every write goes to the spool, which drops it)."""
        self._room = 0
        """``_limit`` minus the bytes buffered (negative: a record beyond the share)."""
        self._snaplen = snaplen
        self._base = math.inf
        """Start of the second of the last record (a float), and that second as written."""
        self._sec = 0
        self._last: bytes | None = None
        self._created = False
        self.closed = False
        self.failed = None
        """Why the file could not be written (an errno name such as ``ENOSPC``), or None."""

    @property
    def buffered(self) -> int:
        """Bytes of records waiting to be written."""
        return self._limit - self._room

    def write(self, ts: float, frame: bytes, caplen: int = -1) -> None:
        """Append ``frame`` captured at ``ts``, keeping its first ``caplen`` bytes if >= 0.

        The very object written last is skipped (one TCP segment can complete two SIP messages).
        ``frame`` is kept as it is until written: it must not change (``bytes`` does not).
        """
        if frame is self._last:
            return
        self._last = frame
        orig = incl = len(frame)
        if caplen >= 0 and caplen < orig:
            incl = caplen
            frame = frame[:incl]
        if incl > self._snaplen:
            incl = self._snaplen
            frame = frame[:incl]
        d = ts - self._base
        if d >= 0.0 and d < 0.999999:  # the current second, not its last microsecond
            header = _pack(self._sec, _fround(d * 1e6), incl, orig)
        else:
            header = self._header_rebased(ts, incl, orig)
        chunks = self._chunks
        chunks.append(header)
        chunks.append(frame)
        room = self._room = self._room - 16 - incl  # RECORD_HEADER.size
        if room <= 0:
            self._spool._service(self)

    def _header_rebased(self, ts: float, incl: int, orig: int) -> bytes:
        """The record header of a frame outside the current second (or in its last
        microsecond), which becomes the current second. NaN and infinity give ``0.000000``;
        seconds outside 32 bits wrap (libpcap reads them as signed: negative values survive)."""
        try:
            sec = math.floor(ts)
        except (ValueError, OverflowError):
            return record_header(ts, incl, orig)
        self._base = base = float(sec)
        self._sec = sec & _U32
        usec = _fround((ts - base) * 1e6)
        if usec >= USEC_PER_SEC:  # rounds up into the next second
            return _pack((sec + 1) & _U32, usec - USEC_PER_SEC, incl, orig)
        return _pack(self._sec, usec, incl, orig)

    def _take(self) -> list[bytes]:
        """The buffered chunks (the caller writes them); the buffer starts empty again, without
        a share of the budget (the caller returns ``_limit`` to the budget first)."""
        chunks = self._chunks
        self._chunks = []
        self._limit = self._room = 0
        return chunks
