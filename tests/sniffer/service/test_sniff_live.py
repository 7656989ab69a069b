"""The live sensor against real traffic: sipp makes calls with RTP on the loopback of a network
namespace of the test's own while ``callsift sniff -i lo`` runs there too; the real MariaDB
(reached through a relay into the namespace) must end up with exactly those calls, also
across a database outage and a sensor restart during it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from db.records import CallRecord
from db.url import parse_db_url
from tests.live import Netns, Relay, SensorProcess
from tests.sniffer.service.live import (
    G711A_PACKETS,
    UAS_MEDIA_PORT,
    Uas,
    place_calls,
    row_counts,
    start_sniffer,
    stored_calls,
    wait_for,
)

pytestmark = pytest.mark.slow

N_CALLS = 3


@pytest.fixture
def sniffers(ns: Netns) -> Iterator[Callable[[str, int, Path], SensorProcess]]:
    """Starts sensors; any still running when the test ends (a failed assert) is killed."""
    started: list[SensorProcess] = []

    def start(url: str, sensor: int, spool: Path) -> SensorProcess:
        s = start_sniffer(ns, url, sensor, spool)
        started.append(s)
        return s

    yield start
    for s in started:
        s.kill()


@pytest.fixture
def uas(ns: Netns) -> Iterator[Uas]:
    peer = Uas(ns)
    yield peer
    peer.close()


_calls = stored_calls
_counts = row_counts


def _check_calls(calls: list[CallRecord], spool: Path) -> None:
    assert len(calls) == N_CALLS
    for c in calls:
        assert (c.final_code, c.state, c.hangup_by) == (200, "completed", "caller")
        assert 7.0 < c.duration_s < 10.0, c.duration_s
        assert c.answer_ts is not None and c.connect_duration_s > 6.5
        streams = sorted(c.streams, key=lambda s: s.dst_port == UAS_MEDIA_PORT)
        assert len(streams) == 2, streams
        for s in streams:
            assert (s.codec, s.packets, s.lost) == ("PCMA", G711A_PACKETS, 0), s
        assert {s.direction for s in streams} == {"caller", "callee"}
        assert c.pcap is not None
        pcap = spool / c.pcap
        assert pcap.is_file(), pcap
        out = subprocess.run(
            ["tshark", "-r", str(pcap), "-Y", "sip || rtp", "-d", "udp.port==7000-7200,rtp"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert len(out.stdout.splitlines()) >= 2 * G711A_PACKETS


def test_sipp_calls_become_cdrs(
    ns: Netns,
    uas: Uas,
    sniffers: Callable[[str, int, Path], SensorProcess],
    db_url: str,
    sensor_id: int,
    tmp_path: Path,
) -> None:
    spool = tmp_path / "spool"
    sniffer = sniffers(db_url, sensor_id, spool)
    try:
        # "degraded" until the writer's first contact with the database through the relay
        # (seen once on a loaded machine): ok within a few seconds
        last: dict[str, object] = {}

        def healthy() -> bool:
            last.update(sniffer.health())
            return last["status"] == "ok"

        try:
            wait_for(healthy, 15, "/health ok")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last /health: {last}") from None
        place_calls(ns, N_CALLS)
        wait_for(lambda: _counts(db_url, sensor_id)["cdr"] >= N_CALLS, 30, "the CDRs in MariaDB")
        metrics = sniffer.metrics_text()
        assert "callsift_cdrs_written" in metrics and "callsift_active_calls" in metrics
    finally:
        rc, took, err = sniffer.stop()
    assert rc == 0, err
    assert took < 20
    _check_calls(_calls(db_url, sensor_id), spool)
    counts = _counts(db_url, sensor_id)
    assert (counts["cdr"], counts["duplicates"]) == (N_CALLS, 0)


def test_outage_and_restart_lose_nothing(
    ns: Netns,
    uas: Uas,
    sniffers: Callable[[str, int, Path], SensorProcess],
    db_url: str,
    sensor_id: int,
    tmp_path: Path,
) -> None:
    spool = tmp_path / "spool"
    cfg = parse_db_url(db_url)
    with Relay(ns, 0) as outage:  # the sensor's own way to MariaDB, cut and restored
        via_proxy = f"mysql://{cfg.user}@127.0.0.1:{outage.port}/{cfg.database}"
        sniffer = sniffers(via_proxy, sensor_id, spool)
        outage.down()
        place_calls(ns, N_CALLS)
        wait_for(
            lambda: (h := sniffer.health())["journal_backlog"] > 0 and h["status"] == "degraded",
            30,
            "records in the journal, health degraded",
        )
        rc, _took, err = sniffer.stop()  # restart during the outage
        assert rc == 0, err
        journal = spool / ".journal"
        assert any(journal.iterdir()), "the journal must survive the restart"
        sniffer = sniffers(via_proxy, sensor_id, spool)
        assert _counts(db_url, sensor_id)["cdr"] == 0
        outage.up()
        wait_for(lambda: _counts(db_url, sensor_id)["cdr"] >= N_CALLS, 40, "the replay")
        wait_for(lambda: sniffer.health()["journal_backlog"] == 0, 20, "an empty journal")
        rc, _took, err = sniffer.stop()
        assert rc == 0, err
    _check_calls(_calls(db_url, sensor_id), spool)
    counts = _counts(db_url, sensor_id)
    assert (counts["cdr"], counts["duplicates"]) == (N_CALLS, 0)
