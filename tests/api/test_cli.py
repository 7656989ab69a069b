"""`callsift users ...`, `callsift tokens ...` and `callsift api` refusing to start."""

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Stack, callsift

pytestmark = pytest.mark.slow  # one callsift process per command


def test_users_commands(stack: Stack, client: TestClient) -> None:
    db = ["--db", stack.url]
    r = callsift("users", "create", "frank", "--role", "operator", *db, stdin="short\n")
    assert r.returncode == 1
    assert (
        r.stderr
        == "callsift: the password is too short: at least 10 characters; user not created\n"
    )
    r = callsift("users", "create", "frank", "--role", "operator", *db, stdin="\n")
    assert r.returncode == 1 and "the password is empty" in r.stderr
    r = callsift(
        "users",
        "create",
        "frank",
        "--role",
        "operator",
        "--sensors",
        "12",
        *db,
        stdin="Quartz-river-42\n",
    )
    assert r.returncode == 0, r.stderr
    r = callsift("users", "create", "frank", "--role", "viewer", *db, stdin="Quartz-river-42\n")
    assert r.returncode == 1 and "exists already" in r.stderr
    ok = client.post(
        "/api/v1/auth/login", json={"username": "frank", "password": "Quartz-river-42"}
    )
    assert ok.status_code == 200 and ok.json()["role"] == "operator"
    listing = callsift("users", "list", *db).stdout
    assert "frank" in listing and "operator" in listing and " 12 " in listing
    assert (
        callsift("users", "reset-password", "frank", *db, stdin="Granite-lake-77\n").returncode == 0
    )
    h = {"Authorization": f"Bearer {ok.json()['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401  # sessions ended
    assert callsift("users", "disable", "frank", *db).returncode == 0
    r = client.post("/api/v1/auth/login", json={"username": "frank", "password": "Granite-lake-77"})
    assert r.status_code == 401


def test_tokens_commands(stack: Stack, client: TestClient) -> None:
    db = ["--db", stack.url]
    r = callsift(
        "tokens", "create", "--name", "grafana", "--role", "viewer", "--expires-days", "7", *db
    )
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    assert token.startswith("cs_") and "shown only this once" in r.stderr
    h = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/auth/me", headers=h).json()["name"] == "token:grafana"
    listing = callsift("tokens", "list", *db).stdout
    line = next(x for x in listing.splitlines() if "grafana" in x)
    assert token not in listing and "active" in line
    tid = line.split()[0]
    assert callsift("tokens", "revoke", tid, *db).returncode == 0
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401
    assert "revoked" in callsift("tokens", "list", *db).stdout


def test_api_refuses_to_start_without_its_key(stack: Stack) -> None:
    r = callsift("api", "--db", stack.url, env={"CALLSIFT_SECRET_KEY": ""})
    assert r.returncode == 1
    assert (
        r.stderr
        == "callsift: api.secret_key is required (set CALLSIFT_SECRET_KEY or [api] secret_key)\n"
    )
    r = callsift("api", "--db", stack.url, env={"CALLSIFT_SECRET_KEY": "short"})
    assert r.returncode == 1 and "CALLSIFT_SECRET_KEY" in r.stderr and r.stderr.count("\n") == 1
