"""Login, tokens, roles, throttling, revocation."""

from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORDS, login


def test_login_returns_bearer_token(client: TestClient) -> None:
    r = client.post(
        "/api/v1/auth/login", json={"username": "viewer", "password": PASSWORDS["viewer"]}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["access_token"].count(".") == 2
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["name"] == "viewer" and me.json()["role"] == "viewer"


def test_bad_password_is_401_json(client: TestClient) -> None:
    r = client.post("/api/v1/auth/login", json={"username": "operator", "password": "nope"})
    assert r.status_code == 401
    assert r.json() == {
        "error": "invalid_credentials",
        "message": "wrong user name or password",
        "field": None,
    }


def test_unauthenticated_and_garbage_tokens(client: TestClient) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer x.y.z"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer cs_not-a-token"},
    ):
        r = client.get("/api/v1/auth/me", headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"] == "Bearer"


def test_viewer_cannot_manage_users(
    client: TestClient, viewer: dict[str, str], operator: dict[str, str]
) -> None:
    for who in (viewer, operator):
        assert client.get("/api/v1/users", headers=who).status_code == 403
        r = client.post(
            "/api/v1/users",
            headers=who,
            json={"username": "x1", "password": "Zz-long-enough-1", "role": "admin"},
        )
        assert r.status_code == 403
        assert (
            r.json()["message"]
            == "this needs the admin role (you are "
            + ("viewer" if who is viewer else "operator")
            + ")"
        )


def test_admin_creates_user_weak_password_refused(
    client: TestClient, admin: dict[str, str]
) -> None:
    r = client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "weakling", "password": "short", "role": "viewer"},
    )
    assert r.status_code == 422 and r.json()["field"] == "password"
    r = client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "weakling", "password": "password123", "role": "viewer"},
    )
    assert r.status_code == 422
    assert r.json() == {
        "error": "weak_password",
        "field": "password",
        "message": "the password is too easy to guess",
    }
    r = client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "carol", "password": "Tulip-secret-99", "role": "operator"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "operator" and r.json()["sensor_scope"] is None
    r = client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "CAROL", "password": "Tulip-secret-99", "role": "operator"},
    )
    assert r.status_code == 409


def test_disabled_user_is_refused_at_once(client: TestClient, admin: dict[str, str]) -> None:
    r = client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "dave", "password": "Maple-secret-77", "role": "viewer"},
    )
    uid = r.json()["id"]
    dave = login(client, "dave", "Maple-secret-77")
    assert client.get("/api/v1/auth/me", headers=dave).status_code == 200
    r = client.patch(f"/api/v1/users/{uid}", headers=admin, json={"disabled": True})
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert client.get("/api/v1/auth/me", headers=dave).status_code == 401
    r = client.post("/api/v1/auth/login", json={"username": "dave", "password": "Maple-secret-77"})
    assert r.status_code == 401


def test_logout_ends_the_session(client: TestClient) -> None:
    h = login(client, "viewer")
    assert client.post("/api/v1/auth/logout", headers=h).status_code == 204
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401


def test_api_token_lifecycle(client: TestClient, admin: dict[str, str]) -> None:
    r = client.post(
        "/api/v1/tokens",
        headers=admin,
        json={"name": "exporter", "role": "viewer", "expires_in_days": 30},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    token = created["token"]
    assert token.startswith("cs_") and created["prefix"] == token[:10]
    h = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/v1/auth/me", headers=h).json()
    assert me == {
        "kind": "token",
        "name": "token:exporter",
        "role": "viewer",
        "sensor_scope": None,
        "expires_at": None,
    }
    listed = client.get("/api/v1/tokens", headers=admin).json()["items"]
    assert all("token" not in t for t in listed)
    assert client.get("/api/v1/users", headers=h).status_code == 403
    assert client.delete(f"/api/v1/tokens/{created['id']}", headers=admin).status_code == 204
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401
    assert client.delete(f"/api/v1/tokens/{created['id']}", headers=admin).status_code == 404


def test_repeated_bad_logins_are_throttled(client: TestClient, admin: dict[str, str]) -> None:
    r = client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "erin", "password": "Cedar-secret-55", "role": "viewer"},
    )
    assert r.status_code == 201
    codes = [
        client.post(
            "/api/v1/auth/login", json={"username": "erin", "password": f"bad{i}"}
        ).status_code
        for i in range(7)
    ]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
    r = client.post("/api/v1/auth/login", json={"username": "erin", "password": "Cedar-secret-55"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    log = client.get(
        "/api/v1/audit", headers=admin, params={"action": "login_failed", "actor": "erin"}
    )
    assert len(log.json()["items"]) == 5
    assert log.json()["items"][0]["ip"] == "198.51.100.7"


def test_health_needs_no_auth(client: TestClient) -> None:
    r = client.get("/api/v1/health")
    assert r.status_code == 200 and r.json()["database"] == "ok"
