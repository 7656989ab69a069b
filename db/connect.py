"""Opening connections (driver errors translated by db.driver)."""

import asyncio
import datetime as dt
import math
import ssl
from collections.abc import Callable
from typing import Any

import aiomysql

from db.driver import DRIVER_ERRORS, describe, driver_errors, kind
from db.errors import DbRejected
from db.url import DbConfig, SslMode, TlsConfig

CONNECTION = Any
"""aiomysql ships no type hints: a connection is ``aiomysql.Connection``."""


async def connect(
    cfg: DbConfig, *, with_database: bool = True, timeout_s: float = 5.0
) -> CONNECTION:
    """Open one connection (UTC session time zone, utf8mb4, no autocommit).

    Raises :class:`~db.errors.DbUnavailable` (unreachable, timed out) or
    :class:`~db.errors.DbRejected` (credentials, unknown database) with the message
    ``cannot connect to MySQL at HOST:PORT as USER: reason``. A server certificate that does
    not verify is a rejection, not an outage.
    """
    try:
        tls = None if cfg.tls is None else ssl_context(cfg.tls)
    except (OSError, ssl.SSLError) as exc:
        raise DbRejected(f"cannot set up TLS to MySQL at {cfg.where}: {describe(exc)}") from exc
    try:
        async with asyncio.timeout(timeout_s + 1.0):
            conn = await aiomysql.connect(
                host=cfg.host,
                port=cfg.port,
                unix_socket=cfg.unix_socket,
                ssl=tls,
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
        error = kind(exc)(f"cannot connect to MySQL at {cfg.where} as {cfg.user}: {reason}")
        raise error from exc
    conn.escape = _parameter_escaper(conn)
    return conn


async def ping(conn: CONNECTION, *, timeout_s: float) -> None:
    """Check that an open connection still answers (no reconnection), within ``timeout_s``:
    :class:`~db.errors.DbUnavailable` when it does not."""
    with driver_errors("the database does not answer", timeout_s=timeout_s):
        async with asyncio.timeout(timeout_s):
            await conn.ping(reconnect=False)


def ssl_context(tls: TlsConfig) -> ssl.SSLContext:
    """The client TLS context for ``tls``; ``OSError``/``ssl.SSLError`` for unreadable files."""
    ctx = ssl.create_default_context(cafile=tls.ca)
    if tls.mode is SslMode.REQUIRED:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif tls.mode is SslMode.VERIFY_CA:
        ctx.check_hostname = False
    if tls.cert is not None:
        ctx.load_cert_chain(tls.cert, tls.key)
    return ctx


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
