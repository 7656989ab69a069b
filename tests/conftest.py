"""Fixtures shared by the whole suite: the real MariaDB (tests/db/mariadb.py) and network
namespaces for live tests (tests/live/netns.py); hypothesis without deadlines, and a fast
hypothesis profile for the fast loop (tests/hypo.py); cheap password hashes in process."""

from collections.abc import Callable, Iterator

import pytest
from argon2 import PasswordHasher, profiles
from hypothesis import settings

from api.auth import passwords
from tests.api.stackdata import client, stack
from tests.db.mariadb import conn, db_url, fresh_db, sensor_id
from tests.hypo import register_profiles, select_profile
from tests.live.netns import Netns
from tests.smallfs import small_fs

__all__ = ["client", "conn", "db_url", "fresh_db", "netns", "sensor_id", "small_fs", "stack"]

register_profiles()
settings.load_profile("callsift")


def pytest_configure(config: pytest.Config) -> None:
    select_profile(config)


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashes() -> Iterator[None]:
    """The API in process hashes with argon2-cffi's CHEAPEST profile (its profile for tests):
    the production one (64 MiB, 3 passes) costs 0.1-0.2 s of CPU per login, and the API and
    GUI tests log in hundreds of times. The rules (verify, rehash on weaker parameters) are
    the same; tests/api/test_passwords.py checks the production parameters and the upgrade
    of a hash made with weaker ones."""
    mp = pytest.MonkeyPatch()
    mp.setattr(passwords, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))
    yield
    mp.undo()


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
