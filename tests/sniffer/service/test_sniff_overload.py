"""A sensor overloaded on purpose: its kernel drop counter must count each lost packet once
(kernel drops + packets received never exceed what was sent), and must count them."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.live import Netns, SensorProcess
from tests.live.counters import backlog_drops

pytestmark = pytest.mark.slow

PORT = 40_000
FLOOD = 100_000
SETTLE_S = 2.5
"""Counters unchanged this long are final (the capture threads read the kernel's every 1 s)."""

SENDER = f"""
import socket, struct, sys
sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sink.bind(("127.0.0.1", {PORT}))
sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sent = 0
payload = bytes(160)
for i in range({FLOOD}):
    try:
        tx.sendto(payload + struct.pack(">I", i), ("127.0.0.1", {PORT}))
        sent += 1
    except OSError:
        pass
print(sent)
"""


def _counters(sensor: SensorProcess) -> tuple[int, int, int]:
    m = sensor.metrics()
    return (
        int(m["callsift_kernel_dropped_packets"]),
        int(m["callsift_packets"]),
        int(m["callsift_queue_dropped_packets"]),
    )


def _settled(sensor: SensorProcess, timeout: float = 60.0) -> tuple[int, int, int]:
    deadline = time.monotonic() + timeout
    last, since = _counters(sensor), time.monotonic()
    while time.monotonic() - since < SETTLE_S:
        if time.monotonic() > deadline:
            raise AssertionError(f"the sensor's counters still move after {timeout:.0f} s")
        time.sleep(0.25)
        now = _counters(sensor)
        if now != last:
            last, since = now, time.monotonic()
    return last


def test_a_stalled_sensor_counts_each_kernel_drop_once(
    ns: Netns, db_url: str, sensor_id: int, tmp_path: Path
) -> None:
    sensor = SensorProcess(
        ns, iface="lo", bpf=f"udp port {PORT}", db_url=db_url, sensor_id=sensor_id,
        spool=tmp_path / "spool", env={"CALLSIFT_BUFFER_MB": "1", "CALLSIFT_SPOOL_MAX_GB": "0"},
    )  # fmt: skip
    try:
        sensor.wait_ready(30, status="ok")
        backlog = backlog_drops()
        os.kill(sensor.pid, signal.SIGSTOP)  # nothing reads the 1 MiB ring meanwhile
        try:
            out = ns.run([sys.executable, "-c", SENDER], capture_output=True, text=True,
                         timeout=120, check=True)  # fmt: skip
        finally:
            os.kill(sensor.pid, signal.SIGCONT)
        backlog = backlog_drops() - backlog
        sent = int(out.stdout)
        kernel, analysed, queue = _settled(sensor)
        rc, _took, log = sensor.stop()
    finally:
        sensor.kill()
    assert rc == 0, log
    assert sent == FLOOD
    assert kernel > 0 and analysed > 0
    figures = f"sent {sent}, kernel drops {kernel}, analysed {analysed}, queue drops {queue}, backlog drops {backlog}"
    assert sent - backlog <= kernel + analysed + queue <= sent, figures
