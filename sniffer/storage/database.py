"""The writer's database side: one connection per lane, one transaction per batch, the state of
the database as last seen (up, down with a backoff, or not known yet), and records the database
refuses for their content set aside. Every call is bounded (``connect_timeout_s`` for a
connection and the schema check, ``db_timeout_s`` for a batch or a ping)."""

import asyncio
import enum
import errno
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from db.connect import CONNECTION, ping
from db.errors import DbDataError, DbError, DbUnavailable
from db.migrate import connect_checked
from db.queries import LookupCache, store_batch
from db.records import Record, RecordError
from db.url import DbConfig, parse_db_url
from sniffer.counters import Counters
from sniffer.privfiles import open_private
from sniffer.storage.codec import encode

log = logging.getLogger(__name__)


class DbState(enum.Enum):
    UNKNOWN = "unknown"
    """Not tried yet: a probe (a connection and its schema check) says."""
    UP = "up"
    """The last contact succeeded: batches go to the database."""
    DOWN = "down"
    """The last contact failed: batches go to the journal; one probe when the backoff ends."""


@dataclass(slots=True)
class Lane:
    """One database connection and the batch it is writing."""

    lookups: LookupCache = field(default_factory=LookupCache)
    conn: CONNECTION | None = None
    task: asyncio.Task[None] | None = None
    batch: list[Record] = field(default_factory=list)
    used: float = 0.0
    """``time.monotonic()`` when its connection last answered (idle pings go to the oldest)."""

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()

    def drop_conn(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Database:
    """Batch writes for one sensor with failure accounting (``failures``, ``written``,
    ``rejected`` in ``counters``), the database's state and an exponential backoff shared by
    all lanes."""

    def __init__(
        self,
        cfg: DbConfig,
        sensor_id: int,
        counters: Counters,
        rejected_path: Path,
        *,
        retry_min_s: float,
        retry_max_s: float,
        db_timeout_s: float,
        connect_timeout_s: float,
    ) -> None:
        self.cfg = cfg
        self.sensor_id = sensor_id
        self.counters = counters
        self.rejected_path = rejected_path
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self.db_timeout_s = db_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.state = DbState.UNKNOWN
        self.last_error: str | None = None
        self.backoff = 0.0
        self.failures_in_row = 0
        """Failed contacts since the last success (the writer gives up at close after a few)."""
        self.last_contact = 0.0
        """``time.monotonic()`` of the last successful contact."""
        self._retry_at = 0.0

    @property
    def up(self) -> bool:
        return self.state is DbState.UP

    def probe_due(self) -> bool:
        """Not known yet, or down and its backoff is over."""
        if self.state is DbState.UNKNOWN:
            return True
        return self.state is DbState.DOWN and time.monotonic() >= self._retry_at

    def retry_in(self) -> float:
        return max(0.0, self._retry_at - time.monotonic())

    async def probe(self, lane: Lane) -> bool:
        """Connect the lane (schema checked) or ping its connection; True when it answers."""
        try:
            if lane.conn is None or lane.conn.closed:
                lane.drop_conn()
                lane.conn = await connect_checked(self.cfg, timeout_s=self.connect_timeout_s)
            else:
                await ping(lane.conn, timeout_s=self.db_timeout_s)
        except Exception as exc:
            lane.drop_conn()
            return self._failed(exc, "database unavailable")
        self._succeeded(lane)
        return True

    async def write(self, lane: Lane, records: list[Record]) -> bool:
        """One transaction; True when committed. A record the database refuses for its content
        is isolated (halving the batch) and set aside in the rejected file."""
        try:
            await self._write_once(lane, records)
        except DbDataError as exc:
            return await self._isolate(lane, records, exc)
        except Exception as exc:  # every other failure is journaled and retried
            return self._failed(exc, "database write failed, journaling")
        self.counters.inc("written", len(records))
        self._succeeded(lane)
        return True

    async def _write_once(self, lane: Lane, records: list[Record]) -> None:
        try:
            if lane.conn is None or lane.conn.closed:
                lane.drop_conn()
                lane.conn = await connect_checked(self.cfg, timeout_s=self.connect_timeout_s)
            await store_batch(
                lane.conn, self.sensor_id, records, lane.lookups, timeout_s=self.db_timeout_s
            )
        except BaseException:
            lane.drop_conn()  # in an unknown state: the transaction dies with it
            raise

    def _succeeded(self, lane: Lane) -> None:
        lane.used = time.monotonic()
        if self.state is DbState.DOWN:
            log.info("database %s is back", self.cfg.where)
        self.state = DbState.UP
        self.backoff = 0.0
        self._retry_at = 0.0
        self.failures_in_row = 0
        self.last_error = None
        self.last_contact = lane.used

    def _failed(self, exc: BaseException, what: str) -> bool:
        self.counters.inc("failures")
        self.failures_in_row += 1
        self.state = DbState.DOWN
        self.backoff = min(self.retry_max_s, max(self.retry_min_s, self.backoff * 2))
        self._retry_at = time.monotonic() + self.backoff
        expected = isinstance(exc, DbError)
        reason = str(exc) if expected else repr(exc)
        if reason != self.last_error:
            log.log(
                logging.WARNING if isinstance(exc, DbUnavailable) else logging.ERROR,
                "%s (retry in %.1f s): %s",
                what,
                self.backoff,
                reason,
                exc_info=None if expected else exc,
            )
        self.last_error = reason
        return False

    async def _isolate(self, lane: Lane, records: list[Record], exc: BaseException) -> bool:
        if len(records) == 1:
            self._reject(records[0], exc)
            self._succeeded(lane)  # the database answered
            return True
        mid = len(records) // 2
        for part in (records[:mid], records[mid:]):
            if not await self.write(lane, part):
                return False
        return True

    def _reject(self, rec: Record, exc: BaseException) -> None:
        self.counters.inc("rejected")
        log.error("database refused a record (%s): kept in %s", exc, self.rejected_path)
        try:
            line = encode(rec)
            fd = open_private(str(self.rejected_path), os.O_WRONLY | os.O_APPEND)
            try:
                size = os.fstat(fd).st_size
                if os.write(fd, line) != len(line):  # no torn line left behind
                    os.ftruncate(fd, size)
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            finally:
                os.close(fd)
        except (OSError, RecordError) as err:
            self.counters.inc("rejected_lost")
            log.error("cannot write %s: %s: 1 record LOST", self.rejected_path, err)


async def check_database(url: str, timeout_s: float) -> None:
    """Before a run: wrong credentials, an unknown database or a missing schema are the
    user's mistakes and raise :class:`~db.errors.DbRejected`; an unreachable server is an
    outage (a warning): records are journalled until it answers."""
    cfg = parse_db_url(url)
    try:
        conn = await connect_checked(cfg, timeout_s=timeout_s)
    except DbUnavailable as exc:
        log.warning("%s: records are journalled until the database answers", exc)
        return
    conn.close()
