"""The URL's connection options reach the driver: a Unix socket, TLS settings."""

from pathlib import Path

import pytest

from db.connect import connect
from db.errors import DbError
from db.url import parse_db_url
from tests.db.mariadb import ensure_server

SOCKET = "/run/mysqld/mysqld.sock"


async def test_connect_through_the_unix_socket() -> None:
    ensure_server()
    conn = await connect(parse_db_url(f"mysql://root@localhost/mysql?unix_socket={SOCKET}"))
    try:
        async with conn.cursor() as cur:
            await cur.execute("SELECT @@socket, USER()")
            sock, user = await cur.fetchone()
    finally:
        conn.close()
    assert (sock, user) == (SOCKET, "root@localhost")


async def test_a_missing_socket_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "none.sock"
    with pytest.raises(DbError) as err:
        await connect(parse_db_url(f"mysql://root@localhost/mysql?unix_socket={missing}"))
    assert str(err.value).startswith(f"cannot connect to MySQL at {missing} as root: ")


async def test_an_unreadable_ca_file_is_named(tmp_path: Path) -> None:
    ca = tmp_path / "no-ca.pem"
    with pytest.raises(DbError) as err:
        await connect(parse_db_url(f"mysql://u@127.0.0.1/db?ssl_ca={ca}"))
    assert str(err.value) == (
        "cannot set up TLS to MySQL at 127.0.0.1:3306: No such file or directory"
    )
