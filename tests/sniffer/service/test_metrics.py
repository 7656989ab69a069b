"""The metrics/health listener: Prometheus text, JSON health, bad requests; data loss is
exported and makes /health fail; docs/SENSOR.md names exactly what a scrape shows."""

from __future__ import annotations

import asyncio
import json

from sniffer.service.metrics import LossWatch, MetricsServer, SensorSnapshot, health, loss_totals
from tests.sniffer.service.metricnames import documented_metrics, exposed_metrics


async def _get(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def _scrape(snap: SensorSnapshot) -> str:
    async with MetricsServer("127.0.0.1", 0, lambda: snap) as server:
        status, body = await _get(server.bound_port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200
    return body.decode()


async def test_metrics_and_health() -> None:
    snap = SensorSnapshot(packets=1234, active_calls=7, kernel_dropped=3, interface_dropped=4,
                          journal_backlog=5, db_up=False,
                          counters={"sip.parse_error": 2})  # fmt: skip
    async with MetricsServer("127.0.0.1", 0, lambda: snap) as server:
        port = server.bound_port
        status, body = await _get(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 200
        text = body.decode()
        assert "callsift_packets_total 1234.0" in text
        assert "callsift_active_calls 7.0" in text
        assert "callsift_kernel_dropped_packets_total 3.0" in text
        assert "callsift_interface_dropped_packets_total 4.0" in text
        assert "callsift_db_up 0.0" in text
        assert 'callsift_events_total{reason="sip.parse_error"} 2.0' in text
        status, body = await _get(port, b"GET /health HTTP/1.1\r\n\r\n")
        assert status == 200
        assert json.loads(body)["status"] == "degraded"
        snap.capture_running = False
        status, body = await _get(port, b"GET /health HTTP/1.1\r\n\r\n")
        assert (status, json.loads(body)["status"]) == (503, "failing")
        assert (await _get(port, b"GET /nope HTTP/1.1\r\n\r\n"))[0] == 404
        assert (await _get(port, b"POST /metrics HTTP/1.1\r\n\r\n"))[0] == 405
        assert (await _get(port, b"garbage\r\n\r\n"))[0] == 400


async def test_lost_records_and_pcaps_are_exported() -> None:
    snap = SensorSnapshot(
        writer={"journal_full_dropped": 6, "journal_errors_dropped": 400, "journaled": 1000,
                "replayed": 900, "failures": 4, "rejected": 1},
        spool={"write_errors": 3, "bytes_dropped": 5000, "pcap_failed.ENOSPC": 2},
    )  # fmt: skip
    text = await _scrape(snap)
    for line in (
        'callsift_records_lost_total{reason="journal_full"} 6.0',
        'callsift_records_lost_total{reason="journal_error"} 400.0',
        'callsift_records_lost_total{reason="unserialisable"} 0.0',
        'callsift_records_lost_total{reason="rejected_unwritable"} 0.0',
        "callsift_records_journaled_total 1000.0",
        "callsift_records_replayed_total 900.0",
        "callsift_db_failures_total 4.0",
        "callsift_records_rejected_total 1.0",
        "callsift_spool_write_errors_total 3.0",
        "callsift_spool_bytes_dropped_total 5000.0",
        'callsift_pcaps_failed_total{reason="ENOSPC"} 2.0',
    ):
        assert line in text.splitlines(), line


def test_losing_data_is_failing_for_a_while() -> None:
    watch = LossWatch(hold_s=300)
    snap = SensorSnapshot(db_up=False)
    assert watch.update(loss_totals(snap), now=1000.0) == []
    assert health(snap)[1]["status"] == "degraded"  # an outage alone: records are journalled

    snap.writer = {"journal_errors_dropped": 400}
    snap.losing = watch.update(loss_totals(snap), now=1010.0)
    assert snap.losing == ["records lost (journal_error): 400"]
    status, body = health(snap)
    assert (status, body["status"], body["records_lost"]) == (503, "failing", 400)
    assert body["losing"] == ["records lost (journal_error): 400"]

    snap.spool = {"write_errors": 1, "pcap_failed.ENOSPC": 1}
    snap.losing = watch.update(loss_totals(snap), now=1200.0)
    assert snap.losing == [
        "pcap write errors: 1",
        "pcaps not written: 1",
        "records lost (journal_error): 400",
    ]
    snap.losing = watch.update(loss_totals(snap), now=1400.0)  # no new loss for 390 s
    assert snap.losing == ["pcap write errors: 1", "pcaps not written: 1"]
    snap.losing = watch.update(loss_totals(snap), now=1600.0)
    assert snap.losing == []
    assert health(snap)[1]["status"] == "degraded"
    snap.db_up = True
    status, body = health(snap)
    assert (status, body["status"], body["losing"]) == (200, "ok", [])


async def test_the_doc_lists_exactly_the_exposed_metrics() -> None:
    snap = SensorSnapshot(counters={"sip.parse_error": 1}, spool={"pcap_failed.EACCES": 1})
    exposed = exposed_metrics(await _scrape(snap))
    assert documented_metrics() == exposed
