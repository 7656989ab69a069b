"""Crash recovery, for real: sipp calls in a network namespace of the test's own, a
``callsift sniff`` there killed with SIGKILL mid-call and started again; the calls' BYE and
RTP after the restart complete their CDRs (flagged ``recovered``) in the real MariaDB, reached
from inside through a relay (tests/live). Nothing becomes an orphan stream, nothing is written
twice, and each call's pcap goes on in the same file."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from db.records import CallRecord
from sniffer.capture.files import open_capture
from tests.live import Netns, SensorProcess
from tests.sniffer.service.live import row_counts, stored_calls, wait_for

pytestmark = pytest.mark.slow

SCENARIO = Path(__file__).parent / "sipp" / "uac_long_call.xml"
N_CALLS = 3
UAS_PORT, UAS_MEDIA = 5070, 6000
BPF = f"udp and (port {UAS_PORT} or port {UAS_MEDIA} or portrange 5081-5099 or portrange 7000-7200)"


def _sensor(
    ns: Netns, url: str, sensor: int, spool: Path, log: Path, workers: int = 1
) -> SensorProcess:
    """``callsift sniff -i lo`` inside the namespace, answering /health (``ok``: every worker
    captures)."""
    proc = SensorProcess(
        ns, iface="lo", bpf=BPF, db_url=url, sensor_id=sensor, spool=spool, log_path=log,
        env={"CALLSIFT_HEARTBEAT_S": "1", "CALLSIFT_SPOOL_MAX_GB": "0",
             "CALLSIFT_WORKERS": str(workers)},
    )  # fmt: skip
    try:
        proc.wait_ready(30)
        if workers > 1:
            wait_for(lambda: proc.health()["status"] == "ok", 30, "every worker capturing")
    except BaseException:
        proc.kill()
        raise
    return proc


def _caller(ns: Netns, i: int) -> subprocess.Popen[bytes]:
    """One sipp caller (own SIP and RTP ports) placing one long call."""
    cmd = ["sipp", f"127.0.0.1:{UAS_PORT}", "-sf", str(SCENARIO), "-i", "127.0.0.1",
           "-p", str(5081 + i), "-mi", "127.0.0.1", "-mp", str(7000 + 10 * i), "-m", "1",
           "-nostdin", "-timeout", "60s"]  # fmt: skip
    return ns.popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _db(url: str, sensor: int) -> tuple[list[CallRecord], dict[str, int]]:
    return stored_calls(url, sensor), row_counts(url, sensor)


def _snapshot_calls(spool: Path, sensor: int) -> int:
    try:
        doc = json.loads((spool / ".state" / f"calls-{sensor}.json").read_bytes())
    except (OSError, ValueError):
        return 0
    return sum(1 for states in doc["calls"].values() for s in states if s["answer_ts"])


@pytest.mark.parametrize("workers", [1, 2])
def test_a_sensor_killed_mid_call_completes_the_calls_after_its_restart(
    ns: Netns,
    db_url: str,
    sensor_id: int,
    tmp_path: Path,
    workers: int,
) -> None:
    spool = tmp_path / "spool"
    url = db_url  # inside the namespace, 127.0.0.1:3306 is the host's MariaDB (a relay)
    ns.popen(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(UAS_PORT), "-mi",
              "127.0.0.1", "-mp", str(UAS_MEDIA), "-rtp_echo", "-nostdin"],
             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    sensor = _sensor(ns, url, sensor_id, spool, tmp_path / "first.log", workers)
    try:
        callers = [_caller(ns, i) for i in range(N_CALLS)]
        wait_for(lambda: _snapshot_calls(spool, sensor_id) == N_CALLS, 15,
                 "the answered calls in the sensor's snapshot")  # fmt: skip
        killed_at = time.time()
        sensor.kill()  # SIGKILL: no shutdown at all, as a crash or the OOM killer
        sensor = _sensor(ns, url, sensor_id, spool, tmp_path / "restarted.log", workers)
        restarted_at = time.time()
        assert restarted_at - killed_at < 8, "restart too slow for the scenario's silence"
        for p in callers:
            _out, err = p.communicate(timeout=60)
            assert p.returncode == 0, f"sipp caller failed: {err.decode()[-400:]}"
        wait_for(lambda: _db(db_url, sensor_id)[1]["cdr"] >= N_CALLS, 30, "the CDRs")
        rc, _took, err = sensor.stop(40)
        assert rc == 0, err
    finally:
        sensor.kill()
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
