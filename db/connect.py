"""Opening connections, and turning driver errors into one-line :class:`DbError` messages."""

import asyncio
import datetime as dt
import math
import socket
from collections.abc import Callable
from typing import Any

import aiomysql
import pymysql

from db.errors import DbError
from db.url import DbConfig

DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    pymysql.err.MySQLError,
    OSError,
    TimeoutError,
    asyncio.IncompleteReadError,
)
"""What a query or connection attempt may raise besides :class:`DbError`."""

TRANSIENT_CODES = frozenset(
    {
        1040,  # too many connections
        1053,  # server shutdown in progress
        1205,  # lock wait timeout
        1213,  # deadlock
        1290,  # --read-only (fail-over in progress)
        1317,  # query interrupted
        1927,  # connection killed (MariaDB)
        2002,  # cannot connect through socket
        2003,  # cannot connect
        2006,  # server has gone away
        2013,  # lost connection during query
        2014,  # commands out of sync
        2055,  # lost connection at handshake
    }
)
"""MySQL error codes meaning "try again later", not "this statement is wrong"."""

CONNECTION = Any
"""aiomysql ships no type hints: a connection is ``aiomysql.Connection``."""


async def connect(
    cfg: DbConfig, *, with_database: bool = True, timeout_s: float = 5.0
) -> CONNECTION:
    """Open one connection (UTC session time zone, utf8mb4, no autocommit).

    Raises :class:`DbError` ``cannot connect to MySQL at HOST:PORT as USER: reason``.
    """
    try:
        async with asyncio.timeout(timeout_s + 1.0):
            conn = await aiomysql.connect(
                host=cfg.host,
                port=cfg.port,
                user=cfg.user,
                password=cfg.password,
                db=cfg.database if with_database else None,
                charset="utf8mb4",
                autocommit=False,
                connect_timeout=timeout_s,
                init_command="SET time_zone = '+00:00'",
            )
    except DRIVER_ERRORS as exc:
        reason = describe(exc, cfg.host, timeout_s)
        raise DbError(f"cannot connect to MySQL at {cfg.where} as {cfg.user}: {reason}") from exc
    conn.escape = _parameter_escaper(conn)
    return conn


def _parameter_escaper(conn: CONNECTION) -> Callable[[object], str]:
    """The connection's parameter escaper, replaced for two reasons: aiomysql 0.3.2 with
    PyMySQL >= 1.2.3 cannot escape ``bytes`` (aio-libs/aiomysql#1080, ``'str' object is not
    callable``), and the generic one is the bottleneck of batched inserts. Produces the same
    literals as PyMySQL; other types (and non-finite floats) go to the original."""
    original = conn.escape
    escape_string = conn.escape_string  # honours NO_BACKSLASH_ESCAPES

    def esc_str(obj: str) -> str:
        return "'" + str(escape_string(obj)) + "'"

    def esc_float(obj: float) -> str:
        if not math.isfinite(obj):
            return str(original(obj))
        s = repr(obj)
        return s if "e" in s else s + "e0"

    def esc_datetime(obj: dt.datetime) -> str:
        return "'" + obj.isoformat(" ") + "'"

    def esc_bytes(obj: bytes | bytearray) -> str:
        return "_binary X'" + obj.hex() + "'"

    table: dict[type, Callable[[Any], str]] = {
        str: esc_str,
        int: str,
        bool: lambda b: "1" if b else "0",
        float: esc_float,
        type(None): lambda _none: "NULL",
        dt.datetime: esc_datetime,
        bytes: esc_bytes,
        bytearray: esc_bytes,
    }

    def escape(obj: object) -> str:
        f = table.get(type(obj))
        return f(obj) if f is not None else str(original(obj))

    return escape


def describe(exc: BaseException, host: str = "", timeout_s: float | None = None) -> str:
    """One line saying why a driver call failed."""
    cause = exc.__cause__
    if isinstance(exc, pymysql.err.MySQLError) and isinstance(cause, OSError):
        exc = cause
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout_s:g} s" if timeout_s else "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host {host!r} ({exc.strerror})"
    if isinstance(exc, asyncio.IncompleteReadError):
        return "connection closed by the server"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    args: tuple[object, ...] = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[0], int):
        text = f"{args[1]} (MySQL error {args[0]})"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def is_transient(exc: BaseException) -> bool:
    """True when the failure is about the connection or the server's state, not the statement."""
    if isinstance(exc, DbError):
        return exc.__cause__ is not None and is_transient(exc.__cause__)
    if isinstance(exc, OSError | TimeoutError | asyncio.IncompleteReadError):
        return True
    if isinstance(exc, pymysql.err.InterfaceError):
        return True
    args: tuple[object, ...] = getattr(exc, "args", ())
    return bool(args) and isinstance(args[0], int) and args[0] in TRANSIENT_CODES


def translate(exc: BaseException, what: str) -> DbError:
    """``DbError("<what>: <reason>")`` chained to ``exc`` by the caller's ``raise ... from``."""
    return DbError(f"{what}: {describe(exc)}")
