"""Fixtures shared by the whole suite: the real MariaDB (tests/db/mariadb.py) and network
namespaces for live tests (tests/live/netns.py)."""

from collections.abc import Callable, Iterator

import pytest

from tests.db.mariadb import conn, db_url, fresh_db, sensor_id
from tests.live.netns import Netns

__all__ = ["conn", "db_url", "fresh_db", "netns", "sensor_id"]


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
