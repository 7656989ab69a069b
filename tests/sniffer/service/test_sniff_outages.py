"""A live ``callsift sniff`` (in a network namespace of the test's own, traffic replayed on its
loopback, the real MariaDB through a relay) when the database is unreachable from start-up,
stalls with records in flight at SIGTERM, or when both cores are busy; and when the disk under
the spool and the journal is full."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from db.connect import connect
from db.queries import call_uids, duplicate_call_uids
from db.url import parse_db_url
from tests.live import Netns, Relay, SensorProcess
from tests.sniffer.service.metricnames import documented_metrics, exposed_metrics

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
BPF = "udp"
SHUTDOWN_S = 6.0
EXIT_MARGIN_S = 8.0
"""Beyond the deadline: the interpreter's start-up and exit, a loaded machine."""
ENV = {
    "CALLSIFT_SHUTDOWN_TIMEOUT_S": str(SHUTDOWN_S),
    "CALLSIFT_DB_RETRY_MIN_S": "0.2",
    "CALLSIFT_DB_RETRY_MAX_S": "1",
    "CALLSIFT_DB_CONNECT_TIMEOUT_S": "2",
    "CALLSIFT_HEARTBEAT_S": "2",
}


def make_capture(out: Path, calls: int, concurrent: int, packets: int) -> tuple[Path, set[str]]:
    """A bench/gen_load.py capture and its Call-IDs."""
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gen_load.py"), str(out), "--calls", str(calls),
         "--concurrent", str(concurrent), "--packets", str(packets)],
        check=True, capture_output=True,
    )  # fmt: skip
    truth = json.loads(out.with_name(out.name + ".truth.json").read_text())
    return out, {c["call_id"] for c in truth["calls"]}


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    """60 calls, about 30 at a time, 25 s of traffic."""
    return make_capture(tmp_path_factory.mktemp("load") / "calls.pcap", 60, 30, 40_000)


@pytest.fixture
def lab(netns: Callable[[], Netns]) -> Iterator[tuple[Netns, Relay]]:
    ns = netns()
    with Relay(ns, 3306) as relay:
        yield ns, relay


@pytest.fixture
def sensors() -> Iterator[list[SensorProcess]]:
    started: list[SensorProcess] = []
    yield started
    for s in started:
        s.kill()


def start(
    sensors: list[SensorProcess], ns: Netns, url: str, sensor: int, spool: Path, **env: str
) -> SensorProcess:
    s = SensorProcess(
        ns, iface="lo", bpf=BPF, db_url=url, sensor_id=sensor, spool=spool, env={**ENV, **env}
    )
    sensors.append(s)
    return s


def replay(ns: Netns, pcap: Path, multiplier: float) -> subprocess.Popen[bytes]:
    """tcpreplay on the namespace's loopback, ahead of CPU hogs (it keeps the pace)."""
    return ns.popen(
        ["nice", "-n", "-10", "tcpreplay", "-q", "-i", "lo", f"--multiplier={multiplier}",
         str(pcap)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def in_db(url: str, sensor: int) -> tuple[list[str], int]:
    async def go() -> tuple[list[str], int]:
        conn = await connect(parse_db_url(url))
        try:
            return await call_uids(conn, sensor), await duplicate_call_uids(conn, sensor)
        finally:
            conn.close()

    return asyncio.run(go())


def journalled(spool: Path) -> list[dict[str, object]]:
    lines = [
        json.loads(line)
        for seg in sorted(spool.glob(".journal/*/segment-*.jsonl"))
        for line in seg.read_text().splitlines()
    ]
    return [r for r in lines if r["type"] == "call"]


def wait_for(what: str, pred: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.2)


def test_health_is_degraded_while_the_database_is_unreachable_from_start(
    lab: tuple[Netns, Relay],
    sensors: list[SensorProcess],
    db_url: str,
    sensor_id: int,
    tmp_path: Path,
) -> None:
    ns, relay = lab
    relay.down()  # refused: the sensor starts all the same, and says so
    s = start(sensors, ns, db_url, sensor_id, tmp_path / "spool")
    s.wait_ready(status="degraded")
    assert s.health()["db_up"] is False
    assert s.metrics()["callsift_db_up"] == 0.0

    relay.up()
    s.wait_ready(status="ok")
    assert s.metrics()["callsift_db_up"] == 1.0
    assert exposed_metrics(s.metrics_text()) <= documented_metrics()

    relay.down()
    relay.proxy.hang = True  # accepts and never answers: down as well
    relay.up()
    s.wait_ready(status="degraded")
    rc, took, log = s.stop()
    assert rc == 0, log[-2000:]
    assert took < SHUTDOWN_S + EXIT_MARGIN_S, log[-2000:]


def test_sigterm_with_a_stalled_database_keeps_the_deadline(
    lab: tuple[Netns, Relay],
    sensors: list[SensorProcess],
    capture: tuple[Path, set[str]],
    db_url: str,
    sensor_id: int,
    tmp_path: Path,
) -> None:
    """Records written, then the database stalls (connections open, no answers) while calls
    are still up; SIGTERM: the sensor exits by its deadline, what it could not write is in the
    journal, and all of it reaches the database once it answers."""
    ns, relay = lab
    pcap, call_ids = capture
    spool = tmp_path / "spool"
    s = start(sensors, ns, db_url, sensor_id, spool, CALLSIFT_DB_TIMEOUT_S="600")
    s.wait_ready(status="ok")
    traffic = replay(ns, pcap, 2.0)
    wait_for("first CDRs written", lambda: s.metrics()["callsift_cdrs_written"] > 0)
    relay.proxy.freeze()
    time.sleep(1.0)  # more calls end: their batches hang in the stalled database
    rc, took, log = s.stop()
    traffic.kill()
    traffic.wait()
    assert rc == 0, log[-3000:]
    assert took < SHUTDOWN_S + EXIT_MARGIN_S, log[-3000:]
    assert "deadline reached" in log
    stored, _ = in_db(db_url, sensor_id)
    waiting = journalled(spool)
    assert waiting, log[-3000:]
    seen = set(stored) | {str(r["uid"]) for r in waiting}
    assert {str(r["call_id"]) for r in waiting} <= call_ids

    relay.down()
    relay.proxy.hang = False
    relay.up()
    again = start(sensors, ns, db_url, sensor_id, spool)
    wait_for("journal replayed", lambda: journalled(spool) == [])
    rc, _, log = again.stop()
    assert rc == 0, log[-3000:]
    stored, duplicates = in_db(db_url, sensor_id)
    assert set(stored) == seen and duplicates == 0


def test_both_cores_busy_every_record_is_written(
    lab: tuple[Netns, Relay],
    sensors: list[SensorProcess],
    db_url: str,
    sensor_id: int,
    tmp_path: Path,
) -> None:
    """A CPU hog on each core while the traffic plays: the writer keeps its connection and
    its timeouts; every CDR the sensor makes is in the database, none in the journal."""
    ns, _relay = lab
    pcap, call_ids = make_capture(tmp_path / "calls.pcap", 40, 20, 12_000)
    hogs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count() or 2)
    ]
    try:
        s = start(sensors, ns, db_url, sensor_id, tmp_path / "spool")
        s.wait_ready(status="ok")
        traffic = replay(ns, pcap, 2.0)
        traffic.wait(300)
        wait_for("CDRs written", lambda: s.metrics()["callsift_journal_backlog_records"] == 0)
        figures = s.metrics()
        rc, _took, log = s.stop(timeout=120)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert rc == 0, log[-3000:]
    assert figures["callsift_db_failures"] == 0, log[-3000:]
    assert figures["callsift_records_journaled"] == 0, log[-3000:]
    stored, duplicates = in_db(db_url, sensor_id)
    assert duplicates == 0 and journalled(tmp_path / "spool") == []
    assert len(stored) >= len(call_ids) * 0.9, log[-3000:]  # a few INVITEs the kernel dropped


def test_full_disk_makes_health_failing(
    lab: tuple[Netns, Relay],
    sensors: list[SensorProcess],
    capture: tuple[Path, set[str]],
    db_url: str,
    sensor_id: int,
    small_fs: Path,
) -> None:
    """Database down and the spool's disk (journal included) fills up: the lost records and
    pcaps are counted and /health says ``failing``, not merely ``degraded``."""
    ns, relay = lab
    pcap, _ = capture
    relay.down()
    s = start(sensors, ns, db_url, sensor_id, small_fs / "spool")
    s.wait_ready(status="degraded")
    traffic = replay(ns, pcap, 4.0)
    try:
        s.wait_ready(status="failing", timeout=120)
        health = s.health()
        assert health["losing"] and health["capture_running"] is True
        text = s.metrics_text()
        lost = [line for line in text.splitlines() if line.startswith("callsift_records_lost")]
        spool_errors = s.metrics()["callsift_spool_write_errors"]
        assert spool_errors > 0 or any(not line.endswith(" 0.0") for line in lost), text
    finally:
        traffic.kill()
        traffic.wait()
    rc, _, log = s.stop()
    assert rc == 0, log[-3000:]
