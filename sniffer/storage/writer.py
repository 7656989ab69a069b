"""CdrWriter: records -> MySQL/MariaDB in batches, through an on-disk journal when it is down.

Delivery contract: every submitted record reaches the database exactly once (inserts are
idempotent, so a batch whose commit answer was lost is simply written again). Nothing is
dropped except when the journal is full (counted ``journal_full_dropped``, logged ERROR) or a
record the database refuses for its content (set aside in ``rejected.jsonl``, counted).

One owned task does the work. It collects batches (``batch_size`` records or
``flush_interval_s``) and writes each in one transaction on one of ``connections`` database
connections (two by default: one batch is prepared while the other is in the database). A
batch that fails is appended to the journal and the database is retried with exponential
backoff; while the journal holds records, new batches are appended behind them and the
journal is replayed oldest first on one connection. Order between batches is not kept (the
records are independent; registration state only moves forward in time).

``submit`` never blocks: a full queue spills the record straight to the journal. It must be
called from the event loop's thread (``loop.call_soon_threadsafe`` from others).
"""

import asyncio
import logging
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Self

from db.errors import JournalError, StorageError
from db.records import Record, RecordError
from db.settings import StorageSettings
from db.url import parse_db_url
from sniffer.counters import Counters
from sniffer.storage.codec import decode, encode
from sniffer.storage.database import Database, Lane
from sniffer.storage.journal import Journal

log = logging.getLogger(__name__)

REJECTED_FILE = "rejected.jsonl"
_D = StorageSettings()
"""The defaults of the settings tree (db/settings.py): defined there only."""


class CdrWriter:
    """Batching, journaling database writer for one sensor (see module doc)."""

    def __init__(
        self,
        url: str,
        sensor_id: int,
        journal_dir: Path,
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
    ) -> None:
        if batch_size < 1 or queue_size < 1 or connections < 1:
            raise ValueError("batch_size, queue_size and connections must be at least 1")
        cfg = parse_db_url(url)
        self.sensor_id = sensor_id
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.counters = Counters()
        self.journal = Journal(
            journal_dir,
            max_bytes=journal_max_bytes,
            segment_bytes=segment_bytes,
            counters=self.counters,
        )
        self.db = Database(
            cfg,
            sensor_id,
            self.counters,
            journal_dir / REJECTED_FILE,
            retry_min_s=retry_min_s,
            retry_max_s=retry_max_s,
            db_timeout_s=db_timeout_s,
            connect_timeout_s=connect_timeout_s,
        )
        self._queue: asyncio.Queue[Record] = asyncio.Queue(queue_size)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lanes = [Lane() for _ in range(connections)]
        self._holding: list[Record] = []
        """A collected batch not yet handed to a lane or the journal."""
        self._closing = False
        self._closed = False

    @classmethod
    def from_settings(cls, storage: StorageSettings, sensor_id: int, journal_dir: Path) -> Self:
        """The writer the settings tree describes (``storage.db_url`` required)."""
        return cls(
            storage.require_db_url(),
            sensor_id,
            journal_dir,
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

    # -- public state ---------------------------------------------------------------------

    @property
    def backlog_records(self) -> int:
        """Records submitted and not yet in the database (queue, in flight, journal)."""
        inflight = len(self._holding) + sum(len(lane.batch) for lane in self._lanes)
        return self._queue.qsize() + inflight + self.journal.records

    @property
    def journal_bytes(self) -> int:
        return self.journal.nbytes

    @property
    def written(self) -> int:
        """Records committed to the database (replayed duplicates included)."""
        return self.counters["written"]

    @property
    def failures(self) -> int:
        """Failed database writes (the batch went to the journal, retried later)."""
        return self.counters["failures"]

    @property
    def journal_full_dropped(self) -> int:
        return self.counters["journal_full_dropped"]

    @property
    def db_up(self) -> bool:
        """False while the writer backs off after a failure."""
        return self.db.backoff == 0.0

    @property
    def last_error(self) -> str | None:
        """Why the last database write failed; None once one succeeds."""
        return self.db.last_error

    # -- lifecycle ------------------------------------------------------------------------

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
        """Start the flusher task (it replays a journal left by a previous run first)."""
        if self._closed:
            raise StorageError("CdrWriter is closed")
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="cdr-writer")

    def submit(self, rec: Record) -> None:
        """Queue one record without blocking; a full queue spills it to the journal."""
        if self._closing:
            raise StorageError("CdrWriter is closed")
        try:
            self._queue.put_nowait(rec)
        except asyncio.QueueFull:
            self.counters.inc("queue_full_journaled")
            self.journal.append(self._encode([rec]), sync=False)
            return
        if self._queue.qsize() >= self.batch_size:
            self._wake.set()

    async def aclose(self) -> None:
        """Write (or journal) everything submitted, stop the task, close the journal. Does
        not wait for a journal replay: what is still journaled is replayed on the next start."""
        if self._closed:
            return
        self._closing = True
        self._wake.set()
        try:
            if self._task is None:
                self._spill(self._drain(self._queue.qsize()))
            else:
                await self._task
        finally:
            self._closed = True
            for lane in self._lanes:
                lane.drop_conn()
            self.journal.close()

    # -- the task -------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            async with asyncio.TaskGroup() as lanes:
                while not (self._closing and self._queue.empty()):
                    replay_due = self.journal.records > 0 and self.db.retry_due()
                    self._holding = await self._collect(
                        0.0 if replay_due or self._closing else None
                    )
                    if self._holding:
                        await self._deliver(self._holding, lanes)
                    self._holding = []
                    if self.journal.dirty:  # records spilled by submit() on a full queue
                        await asyncio.to_thread(self.journal.sync)
                    if not self._closing and self.journal.records > 0 and self.db.retry_due():
                        await self._idle_lanes()
                        if self.db.retry_due():  # no lane failed meanwhile
                            await self._replay_one()
                await self._idle_lanes()
            self.journal.sync()
        except BaseException:
            # cancelled (or a bug): whatever is not in the database goes to the journal
            self._spill([r for lane in self._lanes for r in lane.batch])
            self._spill(self._holding)
            self._spill(self._drain(self._queue.qsize()))
            raise
        finally:
            self._holding = []
            for lane in self._lanes:
                lane.batch = []

    async def _collect(self, timeout: float | None) -> list[Record]:
        """Wait up to ``timeout`` (default: the flush interval) for a full batch; take one."""
        if self._queue.qsize() < self.batch_size and not self._closing:
            wait = self.flush_interval_s if timeout is None else timeout
            if self.journal.records > 0 and not self.db.retry_due():
                wait = min(wait, self.db.retry_in())
            if wait > 0:
                try:
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
                except TimeoutError:
                    pass
            self._wake.clear()
        return self._drain(self.batch_size)

    def _drain(self, n: int) -> list[Record]:
        out: list[Record] = []
        while len(out) < n:
            try:
                out.append(self._queue.get_nowait())
            except asyncio.QueueEmpty:
                break
        return out

    def _direct(self) -> bool:
        """New batches go straight to the database (else behind the journal's records)."""
        return self.journal.records == 0 and self.db.retry_due()

    async def _deliver(self, batch: list[Record], lanes: asyncio.TaskGroup) -> None:
        if self._direct():
            lane = await self._free_lane()
            if self._direct():  # a lane may have failed while we waited
                lane.batch, self._holding = batch, []
                lane.task = lanes.create_task(self._lane_write(lane))
                return
        await self._to_journal(batch)

    async def _free_lane(self) -> Lane:
        while True:
            for lane in self._lanes:
                if not lane.busy:
                    return lane
            await asyncio.wait(
                [lane.task for lane in self._lanes if lane.task is not None],
                return_when=asyncio.FIRST_COMPLETED,
            )

    async def _idle_lanes(self) -> None:
        tasks = [lane.task for lane in self._lanes if lane.busy and lane.task is not None]
        if tasks:
            await asyncio.wait(tasks)

    async def _lane_write(self, lane: Lane) -> None:
        if not await self.db.write(lane, lane.batch):
            await self._to_journal(lane.batch)
        lane.batch = []

    async def _replay_one(self) -> None:
        lane = self._lanes[0]
        try:
            got = await asyncio.to_thread(self.journal.read, self.batch_size)
            if got is None:
                return
            lines, token = got
            records = self._decode(lines)
            if not records or await self.db.write(lane, records):
                self.journal.consume(token)
                self.counters.inc("replayed", len(records))
        except JournalError as exc:
            self.counters.inc("journal_errors")
            log.error("journal replay failed: %s", exc)
            self.db.back_off()

    def _decode(self, lines: list[bytes]) -> list[Record]:
        records: list[Record] = []
        for line in lines:
            try:
                records.append(decode(line))
            except RecordError as exc:
                self.counters.inc("journal_corrupt_lines")
                log.warning("journal: skipping unreadable line (%s)", exc)
        return records

    def _encode(self, records: Iterable[Record]) -> list[bytes]:
        """Journal lines; a record JSON cannot hold (a producer bug) is counted and logged."""
        lines: list[bytes] = []
        for rec in records:
            try:
                lines.append(encode(rec))
            except RecordError as exc:
                self.counters.inc("unserialisable_dropped")
                log.error("record DROPPED: %s", exc)
        return lines

    async def _to_journal(self, batch: list[Record]) -> None:
        lines = self._encode(batch)
        try:
            kept = await asyncio.to_thread(self.journal.append, lines)
        except JournalError as exc:
            self.counters.inc("journal_errors_dropped", len(batch))
            log.error("%s: %d records LOST", exc, len(batch))
            return
        self.counters.inc("journaled", kept)

    def _spill(self, records: Iterable[Record]) -> None:
        """Synchronous last resort (cancellation, never started): everything to the journal."""
        lines = self._encode(records)
        if lines:
            try:
                self.counters.inc("journaled", self.journal.append(lines))
            except JournalError as exc:
                self.counters.inc("journal_errors_dropped", len(lines))
                log.error("%s: %d records LOST", exc, len(lines))
