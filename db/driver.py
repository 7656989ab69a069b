"""The one place where database driver errors become callsift errors.

PyMySQL/aiomysql raise ``pymysql.err.*``, ``OSError``, ``TimeoutError`` (our ``asyncio.timeout``
limits) or ``asyncio.IncompleteReadError``; every function of ``db/`` that talks to the server
translates them with :func:`driver_errors` into one of three kinds (db/errors.py):
:class:`DbUnavailable` (retry later), :class:`DbRejected` (an operator must act) and
:class:`DbDataError` (this record's content). Nothing outside ``db/`` sees a driver error.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import pymysql

from db.errors import DbDataError, DbError, DbRejected, DbUnavailable

DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    pymysql.err.MySQLError,
    OSError,
    TimeoutError,
    asyncio.IncompleteReadError,
)
"""What a query or connection attempt may raise besides a :class:`DbError`."""

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

DATA_CODES = frozenset({1048, 1264, 1265, 1292, 1366, 1367, 1406})
"""MySQL errors about a value (NULL in NOT NULL, out of range, bad string/date, too long)."""

RECORD_ERRORS: tuple[type[Exception], ...] = (
    TypeError,
    AttributeError,
    ValueError,
    KeyError,
    OverflowError,
    UnicodeError,
)
"""Raised while turning a malformed record into column values (see :func:`record_errors`)."""


def _code(exc: BaseException) -> int | None:
    args: tuple[object, ...] = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


LOCK_CONFLICT_CODES = frozenset({1205, 1213})
"""Lock wait timeout and deadlock: InnoDB rolled the transaction back; running it again is safe."""


def lock_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` (a driver error, or a :class:`DbError` translated from one) is a lost
    lock conflict."""
    cause: BaseException | None = exc
    while cause is not None:
        if _code(cause) in LOCK_CONFLICT_CODES:
            return True
        cause = cause.__cause__
    return False


def kind(exc: BaseException) -> type[DbError]:
    """Which :class:`DbError` a driver error is."""
    if isinstance(exc, ssl.SSLCertVerificationError) or isinstance(
        exc.__cause__, ssl.SSLCertVerificationError
    ):
        return DbRejected  # the server's certificate will not become valid by waiting
    if isinstance(exc, OSError | TimeoutError | asyncio.IncompleteReadError):
        return DbUnavailable
    if isinstance(exc, pymysql.err.InterfaceError):  # used on a closed connection
        return DbUnavailable
    code = _code(exc)
    if code in TRANSIENT_CODES:
        return DbUnavailable
    if code in DATA_CODES or isinstance(exc, pymysql.err.DataError):
        return DbDataError
    return DbRejected


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
    code = _code(exc)
    args: tuple[object, ...] = getattr(exc, "args", ())
    if code is not None and len(args) >= 2:
        text = f"{args[1]} (MySQL error {code})"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def translate(
    exc: BaseException, what: str, *, host: str = "", timeout_s: float | None = None
) -> DbError:
    """``<kind>("<what>: <reason>")``; the caller chains it (``raise ... from exc``)."""
    return kind(exc)(f"{what}: {describe(exc, host, timeout_s)}")


@contextmanager
def driver_errors(what: str, *, host: str = "", timeout_s: float | None = None) -> Iterator[None]:
    """Translate the driver errors raised in the block (``what`` starts the message).
    :class:`DbError` passes through; cancellation and other errors are not touched."""
    try:
        yield
    except DbError:
        raise
    except DRIVER_ERRORS as exc:
        raise translate(exc, what, host=host, timeout_s=timeout_s) from exc


P = ParamSpec("P")
T = TypeVar("T")


def translated(
    what: str,
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Coroutine[Any, Any, T]]]:
    """Decorator: the coroutine's driver errors become ``DbError("<what>: <reason>")``."""

    def wrap(fn: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
        @functools.wraps(fn)
        async def inner(*args: P.args, **kwargs: P.kwargs) -> T:
            with driver_errors(what):
                return await fn(*args, **kwargs)

        return inner

    return wrap


@contextmanager
def record_errors(what: str) -> Iterator[None]:
    """A record whose fields cannot become column values (a producer bug: a wrong type) is a
    :class:`DbDataError`, like one the server refuses."""
    try:
        yield
    except DbError:
        raise
    except RECORD_ERRORS as exc:
        raise DbDataError(f"{what}: {type(exc).__name__}: {exc}") from exc
