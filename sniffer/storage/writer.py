"""CdrWriter: records -> MySQL/MariaDB in batches, through an on-disk journal when it is down.

Delivery contract: every submitted record reaches the database exactly once (inserts are
idempotent, so a batch whose commit answer was lost is simply written again), or waits in the
journal of *that* database and sensor (:mod:`sniffer.storage.owner`) for the next run. Nothing is
dropped except when the journal is full or cannot be written (``journal_full_dropped``,
``journal_errors_dropped``, logged ERROR with the exact count), or a record the database
refuses for its content (set aside in ``rejected.jsonl``, counted).

The writer runs in a thread of its own with its own event loop: whatever the thread that
submits does (a CPU-bound analysis never yields for seconds), connections are made, batches
written and timeouts measured on time. In that loop one owned task collects batches
(``batch_size`` records or ``flush_interval_s``) and writes each in one transaction on one of
``connections`` database connections (two by default: one batch is prepared while the other is
in the database). The database is *up* (batches go to it), *down* (batches go to the journal;
one probe, a connection and its schema check, when the backoff ends) or *unknown* (a probe at
start says). While it is up the journal is replayed oldest first on one connection, beside the
new batches. Order between batches is not kept (the records are independent; registration
state only moves forward in time). An idle writer pings its database every ``ping_interval_s``,
so :attr:`db_up` is true only while the database answers.

``submit`` never blocks and may be called from any thread: a full queue spills the record
straight to the journal. Closing writes what was submitted (to the database, or to the journal
when it is down: :data:`CLOSE_ATTEMPTS` failures in a row), optionally replays the whole
journal first (``drain_journal``), and is bounded by a deadline: what is not written by then is
put in the journal and the thread ends.
"""

import asyncio
import logging
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import Self

from db.errors import StorageError
from db.records import Record
from db.settings import StorageSettings
from db.url import parse_db_url
from sniffer.counters import SharedCounters
from sniffer.storage.database import Database
from sniffer.storage.flusher import Flusher
from sniffer.storage.journal import Journal
from sniffer.storage.loopthread import LoopThread
from sniffer.storage.owner import JournalOwner, report_others

log = logging.getLogger(__name__)

REJECTED_FILE = "rejected.jsonl"
IDLE_PING_S = 10.0
"""An idle writer checks its database this often (keeps ``db_up`` true to the facts)."""
SPILL_GRACE_S = 5.0
"""After the deadline, how long the thread may take to put what is in flight in the journal."""
LOSS_COUNTERS = (
    "journal_full_dropped",
    "journal_errors_dropped",
    "unserialisable_dropped",
    "rejected_lost",
)
"""Writer counters of records lost for good (each logged with its count)."""
_D = StorageSettings()
"""The defaults of the settings tree (db/settings): defined there only."""


class CdrWriter:
    """Batching, journaling database writer for one sensor, in a thread of its own (see the
    module doc). Journals live in ``journal_root/<key of database and sensor>/``. A context
    manager, sync (``with``) or async (``async with``)."""

    def __init__(
        self,
        url: str,
        sensor_id: int,
        journal_root: Path,
        *,
        batch_size: int = _D.batch_size,
        flush_interval_s: float = _D.flush_interval_s,
        queue_size: int = _D.queue_size,
        journal_max_bytes: int = _D.journal_max_mb << 20,
        segment_bytes: int = _D.journal_segment_mb << 20,
        connections: int = _D.connections,
        retry_min_s: float = _D.retry_min_s,
        retry_max_s: float = _D.retry_max_s,
        db_timeout_s: float = _D.timeout_s,
        connect_timeout_s: float = _D.connect_timeout_s,
        ping_interval_s: float = IDLE_PING_S,
    ) -> None:
        if batch_size < 1 or queue_size < 1 or connections < 1:
            raise ValueError("batch_size, queue_size and connections must be at least 1")
        cfg = parse_db_url(url)
        self.sensor_id = sensor_id
        self.batch_size = batch_size
        self.queue_size = queue_size
        self.owner = JournalOwner.of(cfg, sensor_id)
        self.journal_dir = journal_root / self.owner.key
        self.counters = SharedCounters()
        self.journal = Journal(
            self.journal_dir,
            max_bytes=journal_max_bytes,
            segment_bytes=segment_bytes,
            counters=self.counters,
            owner=self.owner,
        )
        report_others(journal_root, self.owner)
        self.db = Database(
            cfg,
            sensor_id,
            self.counters,
            self.journal_dir / REJECTED_FILE,
            retry_min_s=retry_min_s,
            retry_max_s=retry_max_s,
            db_timeout_s=db_timeout_s,
            connect_timeout_s=connect_timeout_s,
        )
        self._queue: deque[Record] = deque()
        self._flusher = Flusher(
            self._queue,
            self.journal,
            self.db,
            self.counters,
            batch_size=batch_size,
            flush_interval_s=flush_interval_s,
            queue_size=queue_size,
            connections=connections,
            ping_interval_s=ping_interval_s,
        )
        self._thread = LoopThread(f"cdr-writer-{sensor_id}")
        self._closed = False

    @classmethod
    def from_settings(cls, storage: StorageSettings, sensor_id: int, journal_root: Path) -> Self:
        """The writer the settings tree describes (``storage.db_url`` required)."""
        return cls(
            storage.require_db_url(),
            sensor_id,
            journal_root,
            batch_size=storage.batch_size,
            flush_interval_s=storage.flush_interval_s,
            queue_size=storage.queue_size,
            journal_max_bytes=storage.journal_max_mb << 20,
            segment_bytes=storage.journal_segment_mb << 20,
            connections=storage.connections,
            retry_min_s=storage.retry_min_s,
            retry_max_s=storage.retry_max_s,
            db_timeout_s=storage.timeout_s,
            connect_timeout_s=storage.connect_timeout_s,
        )

    # -- public state (read from any thread) ----------------------------------------------

    @property
    def backlog_records(self) -> int:
        """Records submitted and not yet in the database (queue, in flight, journal)."""
        return self._flusher.pending() + self.journal.records

    @property
    def journal_bytes(self) -> int:
        return self.journal.nbytes

    @property
    def written(self) -> int:
        """Records committed to the database (replayed duplicates included)."""
        return self.counters["written"]

    @property
    def failures(self) -> int:
        """Failed database contacts (batches went to the journal, retried later)."""
        return self.counters["failures"]

    @property
    def journal_full_dropped(self) -> int:
        return self.counters["journal_full_dropped"]

    @property
    def records_lost(self) -> dict[str, int]:
        """Records lost for good, by reason (the counter names of :data:`LOSS_COUNTERS`)."""
        snap = self.counters.snapshot()
        return {name: snap.get(name, 0) for name in LOSS_COUNTERS}

    @property
    def db_up(self) -> bool:
        """True while the database answers (false until the first contact succeeds)."""
        return self.db.up

    @property
    def last_error(self) -> str | None:
        """Why the last database contact failed; None once one succeeds."""
        return self.db.last_error

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def start(self) -> None:
        """Start the writer's thread (it replays a journal left by a previous run)."""
        if self._flusher.closing:
            raise StorageError("CdrWriter is closed")
        if not self._thread.started:
            self._thread.start(self._flusher.run())

    def submit(self, rec: Record) -> None:
        """Queue one record without blocking (any thread); a full queue spills it to the
        journal."""
        if self._flusher.closing:
            raise StorageError("CdrWriter is closed")
        if len(self._queue) >= self.queue_size:
            self.counters.inc("queue_full_journaled")
            kept = self.journal.append(self._flusher.encode([rec]), sync=False)
            self.counters.inc("journaled", kept)
            self._kick()  # fsync soon
            return
        self._queue.append(rec)
        if len(self._queue) >= self.batch_size:
            self._kick()

    def _kick(self) -> None:
        flusher = self._flusher
        if not flusher.wake_pending:
            flusher.wake_pending = True
            self._thread.call(flusher.wake.set)

    def close(self, timeout: float | None = None, *, drain_journal: bool = False) -> None:
        """Blocking :meth:`aclose` (for callers without an event loop)."""
        if self._closed:
            return
        self._begin_close(drain_journal)
        if not self._thread.join(timeout):
            self._deadline()
            self._thread.join(SPILL_GRACE_S)
        self._end_close()

    async def aclose(self, timeout: float | None = None, *, drain_journal: bool = False) -> None:
        """Write (or journal) everything submitted, then stop. With ``drain_journal`` the
        journal is replayed too as long as the database answers. After ``timeout`` seconds
        (None: no limit) what is still queued or in flight goes to the journal and the writer
        stops anyway. Cancelling this call does the same at once."""
        if self._closed:
            return
        self._begin_close(drain_journal)
        try:
            if not await self._thread.wait(timeout):
                self._deadline()
                await self._thread.wait(SPILL_GRACE_S)
        except asyncio.CancelledError:
            self._thread.cancel()
            self._thread.join(SPILL_GRACE_S)
            self._end_close()
            raise
        self._end_close()

    def _begin_close(self, drain_journal: bool) -> None:
        flusher = self._flusher
        flusher.drain = flusher.drain or drain_journal
        flusher.closing = True
        flusher.wake_pending = False
        self._kick()

    def _deadline(self) -> None:
        log.warning(
            "CDR writer: deadline reached: %d records not written yet go to the journal",
            self._flusher.pending(),
        )
        self._thread.cancel()

    def _end_close(self) -> None:
        self._closed = True
        if self._thread.running:
            log.error(
                "CDR writer thread did not stop within %.0f s of its deadline: %d records may "
                "be lost",
                SPILL_GRACE_S,
                self._flusher.pending(),
            )
            return
        self._flusher.spill(self._flusher.take(len(self._queue)))  # after its last look
        self.journal.close()
