"""The writer's database side: one connection per lane, one transaction per batch, backoff
after a failure, and records the database refuses for their content set aside."""

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from db.connect import CONNECTION
from db.errors import DbDataError, DbError, DbUnavailable
from db.migrate import connect_checked
from db.queries import LookupCache, store_batch
from db.records import Record, RecordError
from db.url import DbConfig
from sniffer.counters import Counters
from sniffer.privfiles import open_private
from sniffer.storage.codec import encode

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Lane:
    """One database connection and the batch it is writing."""

    lookups: LookupCache = field(default_factory=LookupCache)
    conn: CONNECTION | None = None
    task: asyncio.Task[None] | None = None
    batch: list[Record] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()

    def drop_conn(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Database:
    """Batch writes for one sensor with failure accounting (``failures``, ``written``,
    ``rejected`` in ``counters``) and exponential backoff shared by all lanes."""

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
        self.last_error: str | None = None
        self.backoff = 0.0
        self._retry_at = 0.0

    def retry_due(self) -> bool:
        return time.monotonic() >= self._retry_at

    def retry_in(self) -> float:
        return max(0.0, self._retry_at - time.monotonic())

    def back_off(self) -> None:
        self.backoff = min(self.retry_max_s, max(self.retry_min_s, self.backoff * 2))
        self._retry_at = time.monotonic() + self.backoff

    async def write(self, lane: Lane, records: list[Record]) -> bool:
        """One transaction; True when committed. A record the database refuses for its content
        is isolated (halving the batch) and set aside in the rejected file."""
        try:
            await self._write_once(lane, records)
        except DbDataError as exc:
            return await self._isolate(lane, records, exc)
        except Exception as exc:  # every other failure is journaled and retried
            return self._failed(exc)
        self.counters.inc("written", len(records))
        if self.backoff:
            log.info("database %s is back", self.cfg.where)
        self.backoff = 0.0
        self._retry_at = 0.0
        self.last_error = None
        return True

    async def _write_once(self, lane: Lane, records: list[Record]) -> None:
        try:
            if lane.conn is None:
                lane.conn = await connect_checked(self.cfg, timeout_s=self.connect_timeout_s)
            await store_batch(
                lane.conn, self.sensor_id, records, lane.lookups, timeout_s=self.db_timeout_s
            )
        except BaseException:
            lane.drop_conn()  # in an unknown state: the transaction dies with it
            raise

    def _failed(self, exc: BaseException) -> bool:
        self.counters.inc("failures")
        self.back_off()
        expected = isinstance(exc, DbError)
        reason = str(exc) if expected else repr(exc)
        if reason != self.last_error:
            log.log(
                logging.WARNING if isinstance(exc, DbUnavailable) else logging.ERROR,
                "database write failed, journaling (retry in %.1f s): %s",
                self.backoff,
                reason,
                exc_info=None if expected else exc,
            )
        self.last_error = reason
        return False

    async def _isolate(self, lane: Lane, records: list[Record], exc: BaseException) -> bool:
        if len(records) == 1:
            self._reject(records[0], exc)
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
            with os.fdopen(
                open_private(str(self.rejected_path), os.O_WRONLY | os.O_APPEND), "ab"
            ) as f:
                f.write(line)
        except (OSError, RecordError) as err:
            self.counters.inc("rejected_lost")
            log.error("cannot write %s: %s", self.rejected_path, err)
