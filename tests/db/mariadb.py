"""The real MariaDB at 127.0.0.1:3306 (root, no password) for tests: started when down, one
throw-away database per fixture use."""

import asyncio
import itertools
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from db.connect import CONNECTION, connect
from db.migrate import create_database, drop_database, migrate
from db.url import parse_db_url

HOST, PORT = "127.0.0.1", 3306
MARIADBD = "/usr/sbin/mariadbd"
TEST_DAYS_AHEAD = 0
"""Test databases get today's daily partitions only: each day ahead is one more InnoDB file
per partitioned table (10), and creating them was most of a migration's time (3 s of 9 s
under load). Partitions ahead are tested where they are the subject (tests/db/test_migrate.py,
test_retention.py)."""
_names = itertools.count(1)
_sensors = itertools.count(100)


def port_open(host: str = HOST, port: int = PORT) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def ensure_server() -> None:
    """Start mariadbd (as configured in /etc/mysql) when nothing listens on 3306."""
    if port_open():
        return
    Path("/run/mysqld").mkdir(exist_ok=True)
    subprocess.run(["chown", "mysql:mysql", "/run/mysqld"], check=False)
    subprocess.run(
        ["start-stop-daemon", "--start", "--oknodo", "--background", "--exec", MARIADBD],
        check=True,
    )
    deadline = time.monotonic() + 60
    while not port_open():
        if time.monotonic() > deadline:
            raise RuntimeError("mariadbd did not start listening on 127.0.0.1:3306")
        time.sleep(0.2)


def new_db_name() -> str:
    return f"callsift_test_{os.getpid()}_{next(_names)}"


def url_of(name: str, user: str = "root", password: str = "", port: int = PORT) -> str:
    auth = f"{user}:{password}" if password else user
    return f"mysql://{auth}@{HOST}:{port}/{name}"


def drop_test_database(name: str) -> None:
    asyncio.run(drop_database(url_of(name)))


async def create_empty_database(name: str) -> None:
    assert await create_database(url_of(name))


def next_sensor_id() -> int:
    return next(_sensors)


@pytest.fixture(scope="session")
def db_url() -> Iterator[str]:
    """A migrated database shared by the session (tests separate by sensor id), with today's
    partitions only (:data:`TEST_DAYS_AHEAD`)."""
    ensure_server()
    name = new_db_name()
    url = url_of(name)
    asyncio.run(migrate(url, days_ahead=TEST_DAYS_AHEAD))
    yield url
    drop_test_database(name)


@pytest.fixture
def fresh_db() -> Iterator[str]:
    """Name of a database that does not exist yet; dropped after the test."""
    ensure_server()
    name = new_db_name()
    yield name
    drop_test_database(name)


@pytest.fixture
async def conn(db_url: str) -> AsyncIterator[CONNECTION]:
    c = await connect(parse_db_url(db_url))
    yield c
    c.close()


@pytest.fixture
def sensor_id() -> int:
    """A sensor id no other test of the session uses."""
    return next_sensor_id()
