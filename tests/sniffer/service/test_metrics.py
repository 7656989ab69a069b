"""The metrics/health listener: Prometheus text, JSON health, bad requests."""

from __future__ import annotations

import asyncio
import json

from sniffer.service.metrics import MetricsServer, SensorSnapshot


async def _get(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


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
