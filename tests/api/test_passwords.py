"""Password hashes: the API's parameters are argon2-cffi's defaults (RFC 9106's low-memory
argon2id), and a hash made with weaker parameters is upgraded at the next good login. (The
other API and GUI tests hash with the CHEAPEST profile: tests/conftest.py.)"""

import pytest
from argon2 import PasswordHasher, extract_parameters, profiles
from fastapi.testclient import TestClient

from api.auth import passwords
from db.connect import connect
from db.queries import apiauth
from db.url import parse_db_url
from tests.api.conftest import Stack, run


def test_the_api_hashes_with_rfc9106_low_memory_argon2id() -> None:
    made_at_import = extract_parameters(passwords.DUMMY_HASH)  # by the API's own hasher
    assert made_at_import == profiles.RFC_9106_LOW_MEMORY
    assert made_at_import.type.name == "ID" and made_at_import.memory_cost == 65536


async def _user_hash(url: str, name: str, new_hash: str | None = None) -> str:
    conn = await connect(parse_db_url(url))
    try:
        if new_hash is not None:
            await apiauth.create_user(conn, name, new_hash, "viewer", None)
            await conn.commit()
        user = await apiauth.user_by_name(conn, name)
        assert user is not None
        return user.password_hash
    finally:
        conn.close()


def test_a_weaker_hash_is_upgraded_at_login(
    client: TestClient, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY))  # fmt: skip
    password = "Upgrade-me-0123"
    weak = PasswordHasher.from_parameters(profiles.CHEAPEST).hash(password)
    assert run(_user_hash(stack.url, "old-hash", weak)) == weak
    bad = client.post("/api/v1/auth/login", json={"username": "old-hash", "password": "nope"})
    assert bad.status_code == 401
    assert run(_user_hash(stack.url, "old-hash")) == weak  # a wrong password changes nothing
    r = client.post("/api/v1/auth/login", json={"username": "old-hash", "password": password})
    assert r.status_code == 200, r.text
    upgraded = run(_user_hash(stack.url, "old-hash"))
    assert upgraded != weak
    assert extract_parameters(upgraded) == profiles.RFC_9106_LOW_MEMORY
    assert PasswordHasher().verify(upgraded, password)
