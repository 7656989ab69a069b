"""The API against the real MariaDB: one migrated database per session, filled by the real
analyser (`callsift analyze --db --spool`, run by its entry point in process) from golden
captures, served by the real app.

The ``stack`` and ``client`` fixtures are registered once, by tests/conftest.py, so the API's
and the GUI's tests share one database per session."""

import asyncio
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.passwords import hash_password
from api.config import ApiConfig
from db.connect import connect
from db.migrate import migrate
from db.queries import apiauth
from db.url import parse_db_url
from tests.db.mariadb import (
    TEST_DAYS_AHEAD,
    drop_test_database,
    ensure_server,
    new_db_name,
    url_of,
)

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
SECRET = "test-secret-key-0123456789-abcdefghijklmnop"
PASSWORDS = {
    "admin": "Adm1n-secret-pass",
    "operator": "0perator-secret-pass",
    "viewer": "V1ewer-secret-pass",
}
SENSOR_A, SENSOR_B, SENSOR_C = 11, 12, 13
CAPTURES_A = (
    "sip_call_rtp_g711_wireshark_sample.pcap",
    "sip_rtp_g711u_call_register_voipshark.pcap",
    "sip_tcp_call_rtp_rtcp.pcap",
    "sip_register_auth_cancel_aaa.pcap",
    "sip_ipv6_fragmented_sll.pcap",
    "sip_websocket_and_udp.pcap",
)
CAPTURES_B = ("sip_tcp6060_segmented_avaya_486_cancel.pcap", "sip_t38_fax_megaco_g711a.pcap")
CAPTURES_C = ("sip_tcp_call_rtp_rtcp.pcap",)
"""Also seen by sensor A: the same Call-ID on two sensors (legs); spooled as RTP headers only."""


def callsift(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("callsift")
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def analyze_in_process(*args: str) -> subprocess.CompletedProcess[str]:
    """``callsift ARGS`` run by its entry point in this process, its output captured: the same
    analyser as the command, without starting an interpreter for each of the stack's nine
    captures (about 0.3 s of CPU each, seconds without bytecode caches)."""
    from sniffer.cli.main import main  # the tests' own import of the sensor: api/ never does

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(args))
    return subprocess.CompletedProcess(["callsift", *args], rc, out.getvalue(), err.getvalue())


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


async def _create_user(url: str, name: str, role: str, scope: list[int] | None = None) -> int:
    conn = await connect(parse_db_url(url))
    try:
        uid = await apiauth.create_user(
            conn, name, hash_password(PASSWORDS.get(role, "x")), role, scope
        )
        await conn.commit()
    finally:
        conn.close()
    assert uid is not None
    return uid


async def _prefix_pcaps(url: str, sensor: int, prefix: str) -> None:
    """Sensor C's pcaps live in a sub-directory of the API's spool."""
    conn = await connect(parse_db_url(url))
    try:
        async with conn.cursor() as cur:
            await cur.execute(
                "UPDATE cdr SET pcap = CONCAT(%s, pcap) WHERE sensor_id = %s", (prefix, sensor)
            )
        await conn.commit()
    finally:
        conn.close()


async def _query(url: str, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
    conn = await connect(parse_db_url(url))
    try:
        async with conn.cursor() as cur:
            await cur.execute(sql, params)
            return list(await cur.fetchall())
    finally:
        conn.close()


def cdr_id(url: str, call_id: str, sensor: int = SENSOR_A) -> int:
    rows = run(
        _query(url, "SELECT id FROM cdr WHERE call_id = %s AND sensor_id = %s", (call_id, sensor))
    )
    assert len(rows) == 1, (call_id, sensor, rows)
    return int(rows[0][0])  # type: ignore[call-overload]


@dataclass
class Stack:
    url: str
    spool: Path
    config: ApiConfig
    records: dict[tuple[int, str], dict[str, Any]]
    """The analyser's call records, by (sensor, Call-ID)."""


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    ensure_server()
    name = new_db_name()
    url = url_of(name)
    run(migrate(url, days_ahead=TEST_DAYS_AHEAD))
    spool = tmp_path_factory.mktemp("spool")
    journal = tmp_path_factory.mktemp("journal")
    spool_c = spool / "sensor-c"
    records: dict[tuple[int, str], dict[str, Any]] = {}
    for sensor, captures, where, mode in (
        (SENSOR_A, CAPTURES_A, spool, "sip+rtp"),
        (SENSOR_B, CAPTURES_B, spool, "sip+rtp"),
        (SENSOR_C, CAPTURES_C, spool_c, "rtp-headers"),
    ):
        for c in captures:  # one file at a time: one link type per analysis
            r = analyze_in_process(
                "analyze",
                "--db",
                url,
                "--sensor-id",
                str(sensor),
                "--spool",
                str(where),
                "--spool-mode",
                mode,
                "--journal",
                str(journal / str(sensor)),
                "--json",
                str(GOLDEN / c),
            )
            assert r.returncode == 0, r.stderr
            for line in r.stdout.splitlines():
                rec = json.loads(line)
                if rec["type"] == "call":
                    records[(sensor, rec["call_id"])] = rec
    run(_prefix_pcaps(url, SENSOR_C, "sensor-c/"))
    for role in PASSWORDS:
        run(_create_user(url, role, role))
    run(_create_user(url, "scoped", "viewer", [SENSOR_B]))
    config = ApiConfig(
        db_url=url,
        secret_key=SECRET,
        spool_dir=spool,
        import_dir=tmp_path_factory.mktemp("imports"),
    )
    yield Stack(url, spool, config, records)
    shutil.rmtree(spool, ignore_errors=True)
    drop_test_database(name)


@pytest.fixture(scope="session")
def client(stack: Stack) -> Iterator[TestClient]:
    with TestClient(create_app(stack.config), client=("198.51.100.7", 50000)) as c:
        yield c
