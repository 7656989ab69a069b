"""Fixtures of the API tests: logged-in headers per role. The database and the app
(``stack``, ``client``) come from tests/api/stackdata.py through tests/conftest.py; the names
below are re-exported for the test modules."""

import pytest
from fastapi.testclient import TestClient

from tests.api.stackdata import (
    GOLDEN,
    PASSWORDS,
    SECRET,
    SENSOR_A,
    SENSOR_B,
    SENSOR_C,
    Stack,
    _create_user,
    callsift,
    cdr_id,
    run,
)

__all__ = [
    "GOLDEN",
    "PASSWORDS",
    "SECRET",
    "SENSOR_A",
    "SENSOR_B",
    "SENSOR_C",
    "Stack",
    "_create_user",
    "callsift",
    "cdr_id",
    "login",
    "run",
]


def login(client: TestClient, user: str, password: str | None = None) -> dict[str, str]:
    r = client.post(
        "/api/v1/auth/login", json={"username": user, "password": password or PASSWORDS[user]}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="session")
def admin(client: TestClient) -> dict[str, str]:
    return login(client, "admin")


@pytest.fixture(scope="session")
def operator(client: TestClient) -> dict[str, str]:
    return login(client, "operator")


@pytest.fixture(scope="session")
def viewer(client: TestClient) -> dict[str, str]:
    return login(client, "viewer")
