"""``callsift sniff --workers 2`` against real traffic: sipp calls on the loopback of a network
namespace of the test's own; each call's SIP reaches both workers, its RTP one of them (some
calls the one that does not write the call's pcap); MariaDB must end up with one CDR per call
with both streams, and one pcap per call holding all of its packets."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

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
        place_calls(ns, N_CALLS, first_media_port=FIRST_MEDIA_PORT)
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
