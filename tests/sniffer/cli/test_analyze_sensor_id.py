"""``callsift analyze --db`` without ``--sensor-id``: the records go under the sensor
``analyze:NAME``, whose id the database gives once and keeps."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from db.connect import connect
from db.queries import sensor_row_counts
from db.url import parse_db_url
from tests.db.mariadb import db_url  # noqa: F401  (fixture)
from tests.sniffer.cli.test_analyze import callsift
from tests.sniffer.golden import GOLDEN

pytestmark = pytest.mark.slow  # one or two callsift processes per test

CAPTURE = GOLDEN / "sip_tcp_call_rtp_rtcp.pcap"


def _sensor(url: str, name: str) -> tuple[int, str, int]:
    async def go() -> tuple[int, str, int]:
        conn = await connect(parse_db_url(url))
        try:
            async with conn.cursor() as cur:
                await cur.execute("SELECT id, identity FROM sensors WHERE name = %s", (name,))
                rows = await cur.fetchall()
            assert len(rows) == 1, rows
            sid, ident = rows[0]
            return int(sid), str(ident), (await sensor_row_counts(conn, int(sid)))["cdr"]
        finally:
            conn.close()

    return asyncio.run(go())


def test_the_sensor_id_is_claimed_once(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    name = f"analyze-test-{uuid.uuid4().hex[:8]}"
    args = ["analyze", "--config", str(_config(tmp_path, name)), "--no-progress",
            "--db", db_url, "--journal", str(tmp_path / "j"), str(CAPTURE)]  # fmt: skip
    first = callsift(*args)
    assert first.returncode == 0, first.stderr
    sid, ident, cdrs = _sensor(db_url, name)
    assert (ident, cdrs) == (f"analyze:{name}", 1)
    again = callsift(*args)
    assert again.returncode == 0, again.stderr
    assert _sensor(db_url, name) == (sid, ident, 1)


def test_without_a_database_it_says_how_to_journal(tmp_path: Path) -> None:
    r = callsift("analyze", "--no-progress", "--db", "mysql://u@127.0.0.1:1/x",
                 "--journal", str(tmp_path / "j"), str(CAPTURE))  # fmt: skip
    assert r.returncode == 1
    assert "cannot connect to MySQL at 127.0.0.1:1 as u: connection refused" in r.stderr
    assert "with one they wait in the journal until it answers" in r.stderr


def _config(tmp_path: Path, name: str) -> Path:
    cfg = tmp_path / "analyze.toml"
    cfg.write_text(f'[sensor]\nname = "{name}"\n')
    return cfg
