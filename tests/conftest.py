"""Fixtures shared by the whole suite: the real MariaDB (tests/db/mariadb.py) and network
namespaces for live tests (tests/live/netns.py); hypothesis without deadlines."""

from collections.abc import Callable, Iterator

import pytest
from hypothesis import settings

from tests.api.stackdata import client, stack
from tests.db.mariadb import conn, db_url, fresh_db, sensor_id
from tests.live.netns import Netns
from tests.smallfs import small_fs

__all__ = ["client", "conn", "db_url", "fresh_db", "netns", "sensor_id", "small_fs", "stack"]

settings.register_profile("callsift", deadline=None)
settings.load_profile("callsift")
"""No timing assertion in a unit test: hypothesis' default 200 ms deadline per example failed
fuzz tests (DeadlineExceeded, then FlakyFailure) on the shared 2-core machine under load."""


@pytest.fixture
def netns() -> Iterator[Callable[[], Netns]]:
    """``netns()`` -> a new open namespace; every one made is closed (processes inside killed,
    namespace and veths deleted) when the test ends, failed or not."""
    made: list[Netns] = []

    def make() -> Netns:
        ns = Netns()
        made.append(ns)
        return ns.open()

    try:
        yield make
    finally:
        for ns in reversed(made):
            ns.close()
