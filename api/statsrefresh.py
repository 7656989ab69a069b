"""Keeps the hourly statistics (``cdr_stats_hour``) current: every ``period_s`` the hours of
the calls stored since the last round are computed again (db/queries/statsummary.py). API
processes sharing a database (replicas) take turns: a round finding another process's round
under way skips."""

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Self

from db.errors import DbError
from db.pool import DbPool
from db.queries.statsummary import refresh, try_lock_refresh, unlock_refresh

log = logging.getLogger(__name__)


class StatsRefresher:
    """``async with StatsRefresher(pool):`` — one task, cancelled on exit."""

    def __init__(self, pool: DbPool, period_s: float = 30.0) -> None:
        self.pool = pool
        self.period_s = period_s
        self.rounds = 0
        self.skipped = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._loop(), name="stats-refresh")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> int:
        """One round: the hours recomputed (0 also when another process is refreshing)."""
        async with self.pool.connection() as conn:
            if not await try_lock_refresh(conn):
                self.skipped += 1
                return 0
            try:
                n = await refresh(conn)
            finally:
                await unlock_refresh(conn)
        self.rounds += 1
        if n:
            log.info("hourly statistics: %d hours computed", n)
        return n

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except DbError as exc:  # the database is down: the next round tries again
                log.warning("hourly statistics not refreshed: %s", exc)
            await asyncio.sleep(self.period_s)
