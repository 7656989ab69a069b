"""A sensor overloaded on purpose: its kernel drop counter must count each lost packet once
(kernel drops + packets received never exceed what was sent), and must count them."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.live import Netns, SensorProcess
from tests.live.counters import backlog_drops, tree_pids
from tests.live.sensor import parse_metrics

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


def _worker_samples(text: str) -> dict[tuple[str, int], int]:
    """``callsift_worker_*{worker="i"}`` samples: (name without _total, worker) -> value."""
    out: dict[tuple[str, int], int] = {}
    for m in re.finditer(r'^(callsift_worker_[a-z_]+?)(?:_total)?\{worker="(\d+)"\} (\S+)$',
                         text, re.M):  # fmt: skip
        out[m[1], int(m[2])] = int(float(m[3]))
    return out


Figures = tuple[int, int, int, dict[tuple[str, int], int]]


def _counters(sensor: SensorProcess) -> Figures:
    text = sensor.metrics_text()
    m = parse_metrics(text)
    return (
        int(m["callsift_kernel_dropped_packets"]),
        int(m["callsift_packets"]),
        int(m["callsift_queue_dropped_packets"]),
        _worker_samples(text),
    )


def _settled(sensor: SensorProcess, timeout: float = 60.0) -> Figures:
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


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stalled_sensor_counts_each_kernel_drop_once(
    ns: Netns, db_url: str, sensor_id: int, tmp_path: Path, workers: int
) -> None:
    """Every flood packet is not RTP, so with 2 workers both rings get each one: each ring's
    figures add up to what was sent, and the sensor's drop total is their sum (docs/SENSOR.md
    "Drop counters")."""
    sensor = SensorProcess(
        ns, iface="lo", bpf=f"udp port {PORT}", db_url=db_url, sensor_id=sensor_id,
        spool=tmp_path / "spool",
        env={"CALLSIFT_BUFFER_MB": "1", "CALLSIFT_SPOOL_MAX_GB": "0",
             "CALLSIFT_WORKERS": str(workers)},
    )  # fmt: skip
    try:
        sensor.wait_ready(30, status="ok")
        procs = tree_pids(sensor.pid)
        assert len(procs) >= 1 + (workers if workers > 1 else 0)
        backlog = backlog_drops()
        _signal_all(procs, signal.SIGSTOP)  # nothing reads the 1 MiB rings meanwhile
        try:
            out = ns.run([sys.executable, "-c", SENDER], capture_output=True, text=True,
                         timeout=120, check=True)  # fmt: skip
        finally:
            _signal_all(procs, signal.SIGCONT)
        backlog = backlog_drops() - backlog
        sent = int(out.stdout)
        kernel, analysed, queue, each = _settled(sensor)
        rc, _took, log = sensor.stop()
    finally:
        sensor.kill()
    assert rc == 0, log
    assert sent == FLOOD
    assert kernel > 0 and analysed > 0
    figures = f"sent {sent}, kernel drops {kernel}, analysed {analysed}, queue drops {queue}, backlog drops {backlog}, per worker {each}"
    if workers == 1:
        assert not each, figures
        assert sent - backlog <= kernel + analysed + queue <= sent, figures
        return
    ring = "callsift_worker_kernel_dropped_packets"
    for w in range(workers):
        got = each[ring, w] + each["callsift_worker_packets", w]
        got += each["callsift_worker_queue_dropped_packets", w]
        assert sent - backlog <= got <= sent, f"worker {w}: {figures}"
    assert kernel == sum(each[ring, w] for w in range(workers)), figures
    assert queue == sum(each["callsift_worker_queue_dropped_packets", w] for w in range(workers))
    # a packet every worker gets is counted as worker 0 analysed it
    assert analysed == each["callsift_worker_packets", 0], figures
