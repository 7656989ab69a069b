"""The OpenAPI document against the running API (uvicorn, real MariaDB, one analysed capture):
schemathesis generates requests for every operation; no 5xx, no response outside its schema.
Also: every operation but the public ones answers 401 without a token."""

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import create_app
from api.auth.tokens import digest, new_api_token
from api.config import ApiConfig
from db.connect import connect
from db.migrate import migrate
from db.queries import apiauth
from db.url import parse_db_url
from tests.api.conftest import GOLDEN, SECRET, callsift, run
from tests.db.mariadb import drop_test_database, ensure_server, new_db_name, url_of
from tests.hypo import examples

pytestmark = pytest.mark.slow  # schemathesis over every operation, on a live server

PUBLIC = {
    ("GET", "/api/v1/health"),
    ("POST", "/api/v1/auth/login"),
    ("GET", "/api/v1/metrics"),
    ("GET", "/api/v1/share/{token}"),
    ("GET", "/api/v1/share/{token}/{name}"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/docs"),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _admin_token(url: str) -> str:
    token, prefix = new_api_token()
    conn = await connect(parse_db_url(url))
    try:
        await apiauth.create_token(
            conn,
            name="schemathesis",
            token_hash=digest(token),
            prefix=prefix,
            role="admin",
            sensor_scope=None,
            created_by="test",
            expires_at=None,
        )
        await conn.commit()
    finally:
        conn.close()
    return token


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    ensure_server()
    name = new_db_name()
    url = url_of(name)
    run(migrate(url))
    spool = tmp_path_factory.mktemp("spool-oa")
    r = callsift(
        "analyze",
        "--db",
        url,
        "--sensor-id",
        "5",
        "--spool",
        str(spool),
        "--journal",
        str(tmp_path_factory.mktemp("journal-oa")),
        "--json",
        str(GOLDEN / "sip_call_rtp_g711_wireshark_sample.pcap"),
    )
    assert r.returncode == 0, r.stderr
    token = run(_admin_token(url))
    config = ApiConfig(
        db_url=url,
        secret_key=SECRET,
        spool_dir=spool,
        import_dir=Path(tmp_path_factory.mktemp("imports-oa")),
        import_max_bytes=1 << 20,
    )
    port = _free_port()
    srv = uvicorn.Server(
        uvicorn.Config(
            create_app(config), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=lambda: asyncio.run(srv.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", token
    srv.should_exit = True
    thread.join(timeout=15)
    drop_test_database(name)


SEMANTIC = {
    ("POST", "/api/v1/users"),
    ("PATCH", "/api/v1/users/{user_id}"),
    ("POST", "/api/v1/auth/password"),
    ("POST", "/api/v1/imports"),
    ("PUT", "/api/v1/aliases/{ip}"),
    ("GET", "/api/v1/aliases/{ip}"),
    ("DELETE", "/api/v1/aliases/{ip}"),
    ("GET", "/api/v1/stats"),
    ("GET", "/api/v1/calls"),
    ("GET", "/api/v1/calls/export"),
    ("POST", "/api/v1/calls/{call_id}/share"),
}
"""Operations whose inputs have rules a schema cannot state (a password's strength, a text
that must be an IP address, a range whose end follows its start, a capture's content): a
schema-valid request may be refused with 422, so that one check is left out for them."""


def _semantic(method: str, path: str) -> bool:
    return (method.upper(), path) in SEMANTIC


def test_every_operation_conforms(server: tuple[str, str]) -> None:
    """Schemathesis' checks (no server error, documented status, content type, headers and
    response schema) on generated requests for each operation, with an admin API token."""
    base, token = server
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) > 30
    for op in operations:
        excluded = [positive_data_acceptance] if _semantic(op.method, op.path) else []

        @settings(
            max_examples=examples(12),
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(op.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=base,
                headers=headers,
                excluded_checks=excluded,  # noqa: B023 - run now
            )

        check()


def test_401_everywhere_but_public(server: tuple[str, str]) -> None:
    base = server[0]
    doc = httpx.get(f"{base}/api/v1/openapi.json").json()
    checked = 0
    for path, ops in doc["paths"].items():
        for method in ops:
            if (method.upper(), path) in PUBLIC:
                continue
            concrete = (
                path.replace("{call_id}", "1")
                .replace("{user_id}", "1")
                .replace("{token_id}", "1")
                .replace("{share_id}", "1")
                .replace("{ip}", "192.0.2.1")
                .replace("{job_id}", "0123456789abcdef")
            )
            r = httpx.request(
                method.upper(), base + concrete, params={"since": "2026-01-01T00:00:00"}
            )
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.json()["error"] == "unauthorized"
            checked += 1
    assert checked > 30
