"""Crash recovery, for real: sipp calls in a network namespace of the test's own, a
``callsift sniff`` there killed with SIGKILL mid-call and started again; the calls' BYE and
RTP after the restart complete their CDRs (flagged ``recovered``) in the real MariaDB, reached
from inside through a veth and a relay on the host. Nothing becomes an orphan stream, nothing
is written twice, and each call's pcap goes on in the same file."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from db.connect import connect
from db.queries import call_uids, duplicate_call_uids, fetch_call, sensor_row_counts
from db.records import CallRecord
from db.url import parse_db_url
from sniffer.capture.files import open_capture
from tests.db.mariadb import db_url, sensor_id  # noqa: F401  (fixtures)
from tests.sniffer.service.live import Outage, wait_for
from tests.sniffer.service.netns import Netns

pytestmark = pytest.mark.slow

SCENARIO = Path(__file__).parent / "sipp" / "uac_long_call.xml"
N_CALLS = 3
UAS_PORT, UAS_MEDIA = 5070, 6000
METRICS_PORT = 9108
BPF = f"udp and (port {UAS_PORT} or port {UAS_MEDIA} or portrange 5081-5099 or portrange 7000-7200)"


class Sensor:
    """``callsift sniff -i lo`` inside the namespace; /health on the veth's inner end."""

    def __init__(self, ns: Netns, url: str, sensor: int, spool: Path) -> None:
        self.ns = ns
        env = {**os.environ, "CALLSIFT_HEARTBEAT_S": "1", "CALLSIFT_SPOOL_MAX_GB": "0"}
        self.proc = ns.popen(
            [sys.executable, "-m", "sniffer.cli.main", "sniff", "-i", "lo", "--bpf", BPF,
             "--db", url, "--sensor-id", str(sensor), "--spool", str(spool),
             "--metrics-listen", f"{ns.inner_ip}:{METRICS_PORT}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )  # fmt: skip
        wait_for(self._ready, 30, "the sensor's /health")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            _out, err = self.proc.communicate()
            raise AssertionError(f"callsift sniff exited {self.proc.returncode}: {err.decode()}")
        try:
            self.health()
        except OSError:
            return False
        return True

    def health(self) -> dict[str, Any]:
        url = f"http://{self.ns.inner_ip}:{METRICS_PORT}/health"
        with urllib.request.urlopen(url, timeout=2) as r:
            body: dict[str, Any] = json.loads(r.read())
        return body

    def kill(self) -> str:
        """SIGKILL: no shutdown at all, as a crash or the OOM killer."""
        self.proc.send_signal(signal.SIGKILL)
        _out, err = self.proc.communicate(timeout=20)
        return str(err.decode())

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        _out, err = self.proc.communicate(timeout=40)
        return self.proc.returncode, err.decode()


def _caller(ns: Netns, i: int) -> subprocess.Popen[bytes]:
    """One sipp caller (own SIP and RTP ports) placing one long call."""
    cmd = ["sipp", f"127.0.0.1:{UAS_PORT}", "-sf", str(SCENARIO), "-i", "127.0.0.1",
           "-p", str(5081 + i), "-mi", "127.0.0.1", "-mp", str(7000 + 10 * i), "-m", "1",
           "-nostdin", "-timeout", "60s"]  # fmt: skip
    return ns.popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture
def ns() -> Iterator[Netns]:
    with Netns() as n:
        yield n


def _db(url: str, sensor: int) -> tuple[list[CallRecord], dict[str, int]]:
    async def go() -> tuple[list[CallRecord], dict[str, int]]:
        conn = await connect(parse_db_url(url))
        try:
            calls = []
            for uid in await call_uids(conn, sensor):
                rec = await fetch_call(conn, sensor, uid)
                assert rec is not None
                calls.append(rec)
            counts = await sensor_row_counts(conn, sensor)
            counts["duplicates"] = await duplicate_call_uids(conn, sensor)
            return calls, counts
        finally:
            conn.close()

    return asyncio.run(go())


def _snapshot_calls(spool: Path, sensor: int) -> int:
    try:
        doc = json.loads((spool / ".state" / f"calls-{sensor}.json").read_bytes())
    except (OSError, ValueError):
        return 0
    return sum(1 for states in doc["calls"].values() for s in states if s["answer_ts"])


def test_a_sensor_killed_mid_call_completes_the_calls_after_its_restart(
    ns: Netns,
    db_url: str,  # noqa: F811
    sensor_id: int,  # noqa: F811
    tmp_path: Path,
) -> None:
    spool = tmp_path / "spool"
    relay = Outage(listen_host=ns.host_ip)
    cfg = parse_db_url(db_url)
    url = f"mysql://{cfg.user}@{ns.host_ip}:{relay.port}/{cfg.database}"
    try:
        ns.popen(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(UAS_PORT), "-mi",
                  "127.0.0.1", "-mp", str(UAS_MEDIA), "-rtp_echo", "-nostdin"],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        sensor = Sensor(ns, url, sensor_id, spool)
        callers = [_caller(ns, i) for i in range(N_CALLS)]
        wait_for(lambda: _snapshot_calls(spool, sensor_id) == N_CALLS, 15,
                 "the answered calls in the sensor's snapshot")  # fmt: skip
        killed_at = time.time()
        sensor.kill()
        sensor = Sensor(ns, url, sensor_id, spool)
        restarted_at = time.time()
        assert restarted_at - killed_at < 8, "restart too slow for the scenario's silence"
        for p in callers:
            _out, err = p.communicate(timeout=60)
            assert p.returncode == 0, f"sipp caller failed: {err.decode()[-400:]}"
        wait_for(lambda: _db(db_url, sensor_id)[1]["cdr"] >= N_CALLS, 30, "the CDRs")
        rc, err = sensor.stop()
        assert rc == 0, err
    finally:
        relay.close()
    assert f"adopting {N_CALLS} calls in progress" in err, err  # said by the restarted one
    calls, counts = _db(db_url, sensor_id)
    assert (counts["cdr"], counts["duplicates"], counts["rtp_orphan"]) == (N_CALLS, 0, 0), counts
    for c in calls:
        assert (c.state, c.final_code, c.hangup_by, c.bye_code) == ("completed", 200, "caller", 200)
        assert "recovered" in c.flags, c.flags
        assert c.answer_ts is not None and c.answer_ts < killed_at
        assert c.end_ts > restarted_at and 12 < c.duration_s < 20, c.duration_s
        # RTP after the restart is the call's, in both directions: the second play at least
        assert {s.direction for s in c.streams} == {"caller", "callee"}, c.streams
        for s in c.streams:
            assert s.codec == "PCMA" and s.first_ts >= killed_at
        for direction in ("caller", "callee"):
            assert sum(s.packets for s in c.streams if s.direction == direction) >= 236
        # one pcap: the INVITE of the first process and the BYE of the second
        assert c.pcap is not None
        with open_capture(str(spool / c.pcap)) as src:
            times = [ts for ts, _frame in src.packets()]
            assert src.warning is None
        assert times[0] < killed_at and times[-1] > restarted_at
