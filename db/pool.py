"""A pool of connections for long-running readers (the REST API): autocommit, so that every
request sees the latest committed rows, UTC session time zone, utf8mb4."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

import aiomysql

from db.connect import CONNECTION, _parameter_escaper
from db.driver import DRIVER_ERRORS, describe, kind, translate
from db.errors import DbUnavailable
from db.url import DbConfig, parse_db_url

ACQUIRE_TIMEOUT_S = 10.0


class DbPool:
    """``async with DbPool(url) as pool: async with pool.connection() as conn: ...``

    Connections are checked out for one unit of work; a driver error while opening the pool
    or acquiring a connection becomes a :class:`DbError` naming the server."""

    def __init__(
        self, url: str, *, minsize: int = 1, maxsize: int = 10, timeout_s: float = 5.0
    ) -> None:
        self.cfg: DbConfig = parse_db_url(url)
        self.minsize = minsize
        self.maxsize = maxsize
        self.timeout_s = timeout_s
        self._pool: Any = None

    async def __aenter__(self) -> Self:
        cfg = self.cfg
        try:
            async with asyncio.timeout(self.timeout_s + 1.0):
                self._pool = await aiomysql.create_pool(
                    minsize=self.minsize,
                    maxsize=self.maxsize,
                    host=cfg.host,
                    port=cfg.port,
                    user=cfg.user,
                    password=cfg.password,
                    db=cfg.database,
                    charset="utf8mb4",
                    autocommit=True,
                    connect_timeout=self.timeout_s,
                    init_command="SET time_zone = '+00:00'",
                    pool_recycle=3600,
                )
        except DRIVER_ERRORS as exc:
            reason = describe(exc, cfg.host, self.timeout_s)
            raise kind(exc)(
                f"cannot connect to MySQL at {cfg.where} as {cfg.user}: {reason}"
            ) from exc
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.close()
            await self._pool.wait_closed()
            self._pool = None

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[CONNECTION]:
        """One connection for the caller's unit of work (returned to the pool after)."""
        if self._pool is None:
            raise DbUnavailable("the database pool is closed")
        try:
            async with asyncio.timeout(ACQUIRE_TIMEOUT_S):
                conn = await self._pool.acquire()
        except DRIVER_ERRORS as exc:
            cfg = self.cfg
            raise kind(exc)(
                f"cannot connect to MySQL at {cfg.where} as {cfg.user}: "
                f"{describe(exc, cfg.host, ACQUIRE_TIMEOUT_S)}"
            ) from exc
        if not getattr(conn, "_callsift_escape", False):
            conn.escape = _parameter_escaper(conn)
            conn._callsift_escape = True
        try:
            yield conn
        except DRIVER_ERRORS as exc:
            conn.close()  # state unknown: never reused
            raise translate(exc, "database query failed") from exc
        except asyncio.CancelledError:
            conn.close()  # cancelled mid-query: the protocol state is unknown
            raise
        finally:
            self._pool.release(conn)
