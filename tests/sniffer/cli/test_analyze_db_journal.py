"""``callsift analyze --db`` through outages: records wait in the journal of their own database
and sensor, are never written into another database, and the next healthy run against theirs
writes all of them (every journal file, not one per run) and exits 0."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.connect import connect
from db.migrate import migrate
from db.queries import call_uids, sensor_row_counts
from db.url import parse_db_url
from tests.db.mariadb import db_url, fresh_db, sensor_id, url_of  # noqa: F401  (fixtures)
from tests.sniffer.golden import GOLDEN
from tests.sniffer.storage.proxy_thread import ProxyThread

ROOT = Path(__file__).resolve().parents[3]
X = GOLDEN / "sip_call_rtp_g711_wireshark_sample.pcap"
Y = GOLDEN / "sip_register_auth_cancel_aaa.pcap"
Z = GOLDEN / "sip_tcp_call_rtp_rtcp.pcap"
pytestmark = pytest.mark.slow  # five or six callsift processes each, through database outages
FAST_RETRY = {"CALLSIFT_DB_RETRY_MIN_S": "0.05", "CALLSIFT_DB_RETRY_MAX_S": "0.2"}


def analyze(
    capture: Path, url: str, sensor: int, journal: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sniffer.cli.main", "analyze", "--json", "--no-progress",
         "--db", url, "--sensor-id", str(sensor), "--journal", str(journal), str(capture)],
        capture_output=True, text=True, timeout=300, env={**os.environ, **FAST_RETRY},
    )  # fmt: skip


def uids(result: subprocess.CompletedProcess[str]) -> set[str]:
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return {r["uid"] for r in lines if r["type"] == "call"}


def stored(url: str, sensor: int) -> tuple[set[str], dict[str, int]]:
    async def go() -> tuple[set[str], dict[str, int]]:
        conn = await connect(parse_db_url(url))
        try:
            return set(await call_uids(conn, sensor)), await sensor_row_counts(conn, sensor)
        finally:
            conn.close()

    return asyncio.run(go())


def segments(journal: Path) -> list[Path]:
    return sorted(journal.glob("*/segment-*.jsonl"))


@pytest.fixture
def proxy() -> Iterator[ProxyThread]:
    with ProxyThread() as p:
        yield p


def test_stale_records_never_go_to_another_database(
    db_url: str,  # noqa: F811
    fresh_db: str,  # noqa: F811
    sensor_id: int,  # noqa: F811
    tmp_path: Path,
    proxy: ProxyThread,
) -> None:
    journal = tmp_path / "journal"
    proxy.down()  # nothing answers at the proxy's port: a wrong port, or an outage there
    wrong_port = analyze(X, proxy.url(db_url), sensor_id, journal)
    assert wrong_port.returncode == 1
    stale = uids(wrong_port)
    assert stale
    last = wrong_port.stderr.strip().splitlines()[-1]
    records = len(wrong_port.stdout.splitlines())  # calls, registrations, unbound streams
    assert last.startswith(f"callsift: the database did not take {records} records (cannot")
    assert "connection refused" in last and f"wait in the journal {journal}/sensor-" in last

    # refusals are said at once, before any analysis: nothing is journalled for them
    wrong_password = analyze(Y, db_url.replace("root@", "root:wrong@"), sensor_id, journal)
    assert wrong_password.returncode == 1 and wrong_password.stdout == ""
    assert "Access denied" in wrong_password.stderr
    unknown = analyze(Y, url_of(fresh_db), sensor_id, journal)
    assert unknown.returncode == 1 and f"Unknown database '{fresh_db}'" in unknown.stderr
    assert len(segments(journal)) == 1

    # another, healthy database with the same sensor id and journal folder: this run's records
    # only; the stale ones stay in their own journal (a warning says where and whose)
    asyncio.run(migrate(url_of(fresh_db)))
    other = analyze(Z, url_of(fresh_db), sensor_id, journal)
    assert other.returncode == 0, other.stderr
    assert "waits for another database or sensor" in other.stderr
    in_other, _ = stored(url_of(fresh_db), sensor_id)
    assert in_other == uids(other) and not in_other & stale
    assert stored(db_url, sensor_id)[0] == set()
    assert len(segments(journal)) == 1

    # the database they were meant for answers again: they go there, and only there
    proxy.up()
    back = analyze(Z, proxy.url(db_url), sensor_id, journal)
    assert back.returncode == 0, back.stderr
    assert stored(db_url, sensor_id)[0] == stale | uids(back)
    assert stored(url_of(fresh_db), sensor_id)[0] == in_other
    assert segments(journal) == []


def test_a_healthy_run_drains_every_journal_file(
    db_url: str,  # noqa: F811
    sensor_id: int,  # noqa: F811
    tmp_path: Path,
    proxy: ProxyThread,
) -> None:
    journal = tmp_path / "journal"
    url = proxy.url(db_url)
    proxy.down()
    expected: set[str] = set()
    for capture in (X, Y, Z):  # three runs during the outage: three journal files
        run = analyze(capture, url, sensor_id, journal)
        assert run.returncode == 1
        expected |= uids(run)
    assert len(segments(journal)) == 3
    _, counts = stored(db_url, sensor_id)
    assert counts["cdr"] == 0

    proxy.up()
    first = analyze(X, url, sensor_id, journal)  # new records and the whole backlog
    assert first.returncode == 0, first.stderr
    assert segments(journal) == []
    found, counts = stored(db_url, sensor_id)
    assert found == expected and counts["cdr"] == len(expected)
    second = analyze(X, url, sensor_id, journal)  # nothing left behind, nothing twice
    assert second.returncode == 0, second.stderr
    assert stored(db_url, sensor_id) == (found, counts)


def test_a_long_analysis_does_not_starve_the_writer(
    db_url: str,  # noqa: F811
    sensor_id: int,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Seconds of CPU-bound analysis (300 concurrent calls) with a connection time limit far
    below them: the writer, in its own thread, connects and writes all the same; exit 0."""
    pcap = tmp_path / "load.pcap"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gen_load.py"), str(pcap), "--calls", "3000",
         "--concurrent", "300", "--packets", "400000"],
        check=True, capture_output=True,
    )  # fmt: skip
    env = {**os.environ, "CALLSIFT_DB_CONNECT_TIMEOUT_S": "0.2", "CALLSIFT_DB_RETRY_MAX_S": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "sniffer.cli.main", "analyze", "--json", "--no-progress",
         "--db", db_url, "--sensor-id", str(sensor_id), "--journal", str(tmp_path / "j"),
         str(pcap)],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    found, _ = stored(db_url, sensor_id)
    assert found == uids(run) and len(found) == 3000
    assert segments(tmp_path / "j") == []
