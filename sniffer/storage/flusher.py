"""The CDR writer's work, in the writer's own thread (see sniffer/storage/writer.py): batches
to the database or the journal, probes and pings, journal replay, and the end of it all."""

import asyncio
import logging
import time
from collections import deque
from collections.abc import Coroutine, Iterable
from typing import Any

from db.errors import JournalError
from db.records import Record, RecordError
from sniffer.counters import Counters
from sniffer.storage.codec import decode, encode
from sniffer.storage.database import Database, DbState, Lane
from sniffer.storage.journal import Journal

log = logging.getLogger(__name__)

CLOSE_ATTEMPTS = 3
"""While closing, the database counts as down after this many failed contacts in a row."""
MAX_WAIT_S = 1.0


class Flusher:
    """Takes records from ``queue`` (filled by other threads; :attr:`wake` is set when a batch
    is full) and delivers them. ``closing`` (and ``drain``) are set by the writer."""

    def __init__(
        self,
        queue: deque[Record],
        journal: Journal,
        db: Database,
        counters: Counters,
        *,
        batch_size: int,
        flush_interval_s: float,
        queue_size: int,
        connections: int,
        ping_interval_s: float,
    ) -> None:
        self.queue = queue
        self.journal = journal
        self.db = db
        self.counters = counters
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.queue_size = queue_size
        self.ping_interval_s = ping_interval_s
        self.lanes = [Lane() for _ in range(connections)]
        self.wake = asyncio.Event()
        self.wake_pending = False
        self.closing = False
        self.drain = False
        self._probe: Lane | None = None
        self._replay: Lane | None = None
        self._replay_after = 0.0

    def pending(self) -> int:
        """Records queued or being written (not those of the journal)."""
        return len(self.queue) + sum(len(lane.batch) for lane in self.lanes)

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as tg:
                await self._schedule(tg)
        except BaseException:
            # cancelled (the deadline) or a bug: what is not in the database goes to the journal
            self.spill([r for lane in self.lanes for r in lane.batch])
            self.spill(self.take(len(self.queue)))
            raise
        finally:
            for lane in self.lanes:
                lane.batch = []
                lane.drop_conn()
            self.journal.sync()

    async def _schedule(self, tg: asyncio.TaskGroup) -> None:
        flush_at = 0.0
        while True:
            self.wake_pending = False
            self.wake.clear()
            if self.journal.dirty:  # records spilled by submit() on a full queue
                self.journal.sync()
            now = time.monotonic()
            if self.closing and not self.drain and self.db.state is DbState.DOWN:
                self._cancel_probe()  # its answer would come too late to matter
            lane = self._free_lane()
            queued = len(self.queue)
            ready = queued > 0 and (queued >= self.batch_size or now >= flush_at or self.closing)
            if self._probe is None and lane is not None and self._should_probe(now):
                if self.db.up:  # an idle ping: to the connection idle longest (keeps all alive)
                    lane = min(self.lanes, key=lambda ln: ln.used)
                self._probe = lane
                self._start(tg, lane, self._lane_probe(lane))
                continue
            if ready and (self.db.state is DbState.DOWN or self._given_up()):
                self._to_journal(self.take(self.batch_size))
                flush_at = now + self.flush_interval_s
                continue
            if lane is not None and self._replay_due(now) and queued < self.queue_size // 2:
                self._replay = lane
                self._start(tg, lane, self._lane_replay(lane))
                continue
            if ready and self.db.up and lane is not None:
                lane.batch = self.take(self.batch_size)
                self._start(tg, lane, self._lane_write(lane))
                flush_at = now + self.flush_interval_s
                continue
            if lane is not None and self._replay_due(now):
                self._replay = lane
                self._start(tg, lane, self._lane_replay(lane))
                continue
            if self._done():
                return
            await self._sleep(self._wait_time(now, queued, ready, flush_at))

    def _should_probe(self, now: float) -> bool:
        if self._given_up():
            return False
        if self.closing and not self.drain and self.db.state is not DbState.UNKNOWN:
            return False  # closing: what the database does not take now waits in the journal
        if self.db.probe_due():
            return True
        idle = not any(lane.busy for lane in self.lanes)
        return (
            self.db.up
            and idle
            and not self.closing
            and now - self.db.last_contact >= self.ping_interval_s
        )

    def _cancel_probe(self) -> None:
        task = self._probe.task if self._probe is not None else None
        if task is not None and not task.done():
            task.cancel()

    def _given_up(self) -> bool:
        """Closing and the database failed too often in a row: the rest goes to the journal."""
        return (
            self.closing
            and self.db.state is DbState.DOWN
            and self.db.failures_in_row >= CLOSE_ATTEMPTS
        )

    def _replay_due(self, now: float) -> bool:
        return (
            self._replay is None
            and self.db.up
            and self.journal.records > 0
            and now >= self._replay_after
            and (self.drain or not self.closing)
        )

    def _done(self) -> bool:
        if not self.closing or self.queue or any(lane.busy for lane in self.lanes):
            return False
        if not self.drain or self.journal.records == 0 or self._given_up():
            return True
        return time.monotonic() < self._replay_after  # the journal cannot be read now

    def _wait_time(self, now: float, queued: int, ready: bool, flush_at: float) -> float:
        """Until the next timer (a wake-up comes earlier: a full batch, a lane done, close)."""
        wait = MAX_WAIT_S
        if queued and not ready:
            wait = min(wait, flush_at - now)
        if self._probe is None and not any(lane.busy for lane in self.lanes):
            if self.db.state is DbState.DOWN and not self._given_up():
                wait = min(wait, self.db.retry_in())
            if self.db.up and not self.closing:
                wait = min(wait, self.db.last_contact + self.ping_interval_s - now)
        if self.journal.records and self._replay_after > now:
            wait = min(wait, self._replay_after - now)
        return max(0.001, wait)

    async def _sleep(self, wait: float) -> None:
        try:
            async with asyncio.timeout(wait):
                await self.wake.wait()
        except TimeoutError:
            pass

    def _free_lane(self) -> Lane | None:
        return next((lane for lane in self.lanes if not lane.busy), None)

    def _start(self, tg: asyncio.TaskGroup, lane: Lane, job: Coroutine[Any, Any, None]) -> None:
        lane.task = tg.create_task(job)
        lane.task.add_done_callback(lambda _t: self.wake.set())

    def take(self, n: int) -> list[Record]:
        out: list[Record] = []
        queue = self.queue
        while queue and len(out) < n:
            out.append(queue.popleft())
        return out

    # -- lane jobs ------------------------------------------------------------------------

    async def _lane_probe(self, lane: Lane) -> None:
        try:
            await self.db.probe(lane)
        finally:
            self._probe = None

    async def _lane_write(self, lane: Lane) -> None:
        if not await self.db.write(lane, lane.batch):
            self._to_journal(lane.batch)
        lane.batch = []

    async def _lane_replay(self, lane: Lane) -> None:
        try:
            got = self.journal.read(self.batch_size)
            if got is None:  # nothing to read after all: never spin on it
                self._replay_after = time.monotonic() + self.db.retry_max_s
                return
            lines, token = got
            records = self._decode(lines)
            if not records or await self.db.write(lane, records):
                self.journal.consume(token)
                self.counters.inc("replayed", len(records))
        except JournalError as exc:
            self.counters.inc("journal_errors")
            log.error("journal replay failed (retry in %.0f s): %s", self.db.retry_max_s, exc)
            self._replay_after = time.monotonic() + self.db.retry_max_s
        finally:
            self._replay = None

    # -- journal --------------------------------------------------------------------------

    def _decode(self, lines: list[bytes]) -> list[Record]:
        records: list[Record] = []
        for line in lines:
            try:
                records.append(decode(line))
            except RecordError as exc:
                self.counters.inc("journal_corrupt_lines")
                log.warning("journal: skipping unreadable line (%s)", exc)
        return records

    def encode(self, records: Iterable[Record]) -> list[bytes]:
        """Journal lines; a record JSON cannot hold (a producer bug) is counted and logged."""
        lines: list[bytes] = []
        for rec in records:
            try:
                lines.append(encode(rec))
            except RecordError as exc:
                self.counters.inc("unserialisable_dropped")
                log.error("record DROPPED: %s", exc)
        return lines

    def _to_journal(self, records: list[Record]) -> None:
        """Append with fsync; what the journal cannot keep it counts and logs itself."""
        self.counters.inc("journaled", self.journal.append(self.encode(records)))

    def spill(self, records: list[Record]) -> None:
        if records:
            self._to_journal(records)
