"""``callsift sniff --workers 2`` against real traffic: sipp calls on the loopback of a network
namespace of the test's own; each call's SIP reaches both workers, its RTP one of them (some
calls the one that does not write the call's pcap); MariaDB must end up with one CDR per call
with both streams, and one pcap per call holding all of its packets; the live view shows the
calls while they are up."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.connect import connect
from db.queries.sensors import ActiveCall, fetch_active_calls
from db.url import parse_db_url
from sniffer.workers.shard import flow_owner
from tests.live import Netns, SensorProcess
from tests.sniffer.service.live import (
    BPF,
    G711A_PACKETS,
    UAS_MEDIA_PORT,
    Uas,
    place_calls,
    row_counts,
    stored_calls,
    wait_for,
)

pytestmark = pytest.mark.slow

N_CALLS = 3
FIRST_MEDIA_PORT = 7000


async def _active(url: str, sensor: int) -> list[ActiveCall]:
    conn = await connect(parse_db_url(url))
    try:
        return await fetch_active_calls(conn, sensor)
    finally:
        conn.close()


@pytest.fixture
def uas(ns: Netns) -> Iterator[Uas]:
    peer = Uas(ns)
    yield peer
    peer.close()


def test_two_workers_one_cdr_per_call(
    ns: Netns, uas: Uas, db_url: str, sensor_id: int, tmp_path: Path
) -> None:
    lo = socket.inet_aton("127.0.0.1")
    owners = {
        flow_owner(lo, lo, FIRST_MEDIA_PORT + 10 * i, UAS_MEDIA_PORT, 2) for i in range(N_CALLS)
    }
    assert owners == {0, 1}, "the calls' media must land in both workers"
    spool = tmp_path / "spool"
    sensor = SensorProcess(
        ns, iface="lo", bpf=BPF, db_url=db_url, sensor_id=sensor_id, spool=spool,
        env={"CALLSIFT_HEARTBEAT_S": "1", "CALLSIFT_SPOOL_MAX_GB": "0", "CALLSIFT_WORKERS": "2"},
    )  # fmt: skip
    try:
        sensor.wait_ready(60)
        wait_for(lambda: sensor.health()["status"] == "ok", 60, "/health ok (both workers)")
        seen: set[str] = set()
        calls_done = threading.Event()
        caller = threading.Thread(
            target=lambda: (place_calls(ns, N_CALLS, first_media_port=FIRST_MEDIA_PORT),
                            calls_done.set()),
        )  # fmt: skip
        caller.start()
        while not calls_done.is_set():  # the live view (worker 0's calls) during the calls
            seen |= {c.call_id for c in asyncio.run(_active(db_url, sensor_id))}
            time.sleep(0.5)
        caller.join()
        assert len(seen) == N_CALLS, seen
        wait_for(lambda: row_counts(db_url, sensor_id)["cdr"] >= N_CALLS, 40, "the CDRs")
        metrics = sensor.metrics_text()
    finally:
        rc, _took, err = sensor.stop()
    assert rc == 0, err
    assert "callsift_packets" in metrics
    calls = stored_calls(db_url, sensor_id)
    assert len(calls) == N_CALLS
    counts = row_counts(db_url, sensor_id)
    assert (counts["cdr"], counts["duplicates"]) == (N_CALLS, 0)
    for c in calls:
        assert (c.final_code, c.state, c.hangup_by) == (200, "completed", "caller")
        assert len(c.streams) == 2, c.streams
        for s in c.streams:
            assert (s.codec, s.packets, s.lost) == ("PCMA", G711A_PACKETS, 0), s
        assert {s.direction for s in c.streams} == {"caller", "callee"}
        assert c.pcap is not None
        out = subprocess.run(
            ["tshark", "-r", str(spool / c.pcap), "-Y", "rtp", "-d", "udp.port==7000-7200,rtp"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert len(out.stdout.splitlines()) == 2 * G711A_PACKETS
    assert not [p for p in spool.rglob("*.pcap") if ".w1" in p.parts]


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        out |= {int(c) for c in (task / "children").read_text().split()}
    return out


def test_workers_end_with_a_killed_sensor(
    ns: Netns, db_url: str, sensor_id: int, tmp_path: Path
) -> None:
    """SIGKILL of the sensor (OOM killer, kill -9): its workers must not go on capturing."""
    sensor = SensorProcess(
        ns, iface="lo", bpf=BPF, db_url=db_url, sensor_id=sensor_id, spool=tmp_path / "spool",
        env={"CALLSIFT_SPOOL_MAX_GB": "0", "CALLSIFT_WORKERS": "2"},
    )  # fmt: skip
    try:
        sensor.wait_ready(60)
        wait_for(lambda: sensor.health()["status"] == "ok", 60, "/health ok (both workers)")
        workers = {
            p for p in _children(sensor.proc.pid)
            if b"worker_main" in Path(f"/proc/{p}/cmdline").read_bytes()
            or b"multiprocessing" in Path(f"/proc/{p}/cmdline").read_bytes()
        }  # fmt: skip
        assert workers
        sensor.proc.kill()
        sensor.proc.wait()
        wait_for(lambda: not any(Path(f"/proc/{p}").exists() for p in workers), 10, "no worker")
    finally:
        sensor.kill()
