"""Driver errors become the three kinds of DbError inside db/ (against the real MariaDB)."""

from __future__ import annotations

import asyncio

import pymysql
import pytest

from db.connect import CONNECTION, connect
from db.driver import kind, translate
from db.errors import (
    CallsiftError,
    DbDataError,
    DbError,
    DbRejected,
    DbUnavailable,
    SchemaError,
    StorageError,
)
from db.migrate import connect_checked
from db.queries import LookupCache, fetch_sensor, store_batch
from db.url import parse_db_url
from tests.db.factories import make_call
from tests.db.mariadb import ensure_server, url_of
from tests.sniffer.storage.proxy import TcpProxy


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ConnectionRefusedError(111, "refused"), DbUnavailable),
        (TimeoutError(), DbUnavailable),
        (asyncio.IncompleteReadError(b"", 4), DbUnavailable),
        (pymysql.err.OperationalError(2013, "Lost connection"), DbUnavailable),
        (pymysql.err.OperationalError(1213, "Deadlock found"), DbUnavailable),
        (pymysql.err.InterfaceError(0, ""), DbUnavailable),
        (pymysql.err.OperationalError(1045, "Access denied"), DbRejected),
        (pymysql.err.OperationalError(1049, "Unknown database 'x'"), DbRejected),
        (pymysql.err.ProgrammingError(1146, "Table 'x.cdr' doesn't exist"), DbRejected),
        (pymysql.err.DataError(1406, "Data too long"), DbDataError),
        (pymysql.err.IntegrityError(1048, "Column 'uid' cannot be null"), DbDataError),
    ],
)
def test_kinds(exc: BaseException, expected: type[DbError]) -> None:
    assert kind(exc) is expected
    err = translate(exc, "doing x")
    assert type(err) is expected and str(err).startswith("doing x: ")
    assert isinstance(err, StorageError) and isinstance(err, CallsiftError)


def test_messages_are_one_line() -> None:
    exc = pymysql.err.OperationalError(1045, "Access denied for\nuser 'x'")
    assert str(translate(exc, "cannot connect")) == (
        "cannot connect: Access denied for user 'x' (MySQL error 1045)"
    )
    assert str(translate(TimeoutError(), "w", timeout_s=2.5)) == "w: timed out after 2.5 s"


async def test_connect_errors_are_classified() -> None:
    ensure_server()
    with pytest.raises(DbRejected, match="Access denied"):
        await connect(parse_db_url(url_of("mysql", password="definitely-wrong")))
    with pytest.raises(DbRejected, match="Unknown database"):
        await connect(parse_db_url(url_of("callsift_no_such_db")))
    with pytest.raises(DbUnavailable, match="connection refused"):
        await connect(parse_db_url(url_of("x", port=1)))
    with pytest.raises(SchemaError, match="callsift db migrate"):
        await connect_checked(parse_db_url(url_of("mysql")), timeout_s=5)


async def test_a_server_that_never_answers_is_unavailable() -> None:
    proxy = TcpProxy("127.0.0.1", 3306)
    proxy.hang = True
    await proxy.start()
    try:
        with pytest.raises(DbUnavailable, match="timed out"):
            await connect_checked(parse_db_url(url_of("x", port=proxy.port)), timeout_s=0.5)
    finally:
        await proxy.stop()


async def test_queries_on_a_closed_connection_are_unavailable(db_url: str, sensor_id: int) -> None:
    conn: CONNECTION = await connect(parse_db_url(db_url))
    conn.close()
    with pytest.raises(DbUnavailable, match="cannot read the sensor row"):
        await fetch_sensor(conn, sensor_id)


async def test_a_malformed_record_is_a_data_error(conn: CONNECTION, sensor_id: int) -> None:
    bad = make_call(1)
    bad.caller_port = "not a port"  # type: ignore[assignment]
    with pytest.raises(DbDataError, match="a record cannot be stored: ValueError"):
        await store_batch(conn, sensor_id, [bad], LookupCache(), timeout_s=10)
    await conn.rollback()
    assert await store_batch(conn, sensor_id, [make_call(2)], LookupCache(), timeout_s=10) == 1
