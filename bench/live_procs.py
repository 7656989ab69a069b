"""Processes and links of the live benchmark: the veth pair, the ``callsift sniff`` process
under test and the /metrics sampler."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_URL = "mysql://root@127.0.0.1:3306/callsift_bench_live"
BPF = "udp and net 10.1.0.0/16 and net 10.2.0.0/16"
"""gen_load.py puts callers in 10.1/16 and callees in 10.2/16."""
VETH_TX, VETH_RX = "cbA", "cbB"
HEALTH_TIMEOUT_S = 30.0
STABLE_S = 1.5
"""callsift_packets unchanged this long (and at the file's count) ends a step; longer than
the capture threads' kernel-counter refresh (1 s), so the drop counters are current."""
IDLE_S = 6.0
"""callsift_packets unchanged this long ends a step even short of the file's count."""
STOP_TIMEOUT_S = 60.0
SAMPLE_S = 0.25
SCRAPE_TIMEOUT_S = 30.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- the interface --------------------------------------------------------------------------


class Link:
    """Where tcpreplay sends (``tx``) and the sensor captures (``rx``); a veth pair is created
    here and deleted on exit."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.tx, self.rx = ("lo", "lo") if kind == "lo" else (VETH_TX, VETH_RX)
        self.created = False

    def __enter__(self) -> Link:
        if self.kind == "veth":
            if Path(f"/sys/class/net/{VETH_TX}").exists():
                raise SystemExit(f"interface {VETH_TX} exists already; delete it or use --iface lo")
            ip = ["ip", "link"]
            subprocess.run(
                [*ip, "add", VETH_TX, "type", "veth", "peer", "name", VETH_RX], check=True
            )
            self.created = True
            for name in (VETH_TX, VETH_RX):
                subprocess.run([*ip, "set", name, "up"], check=True)
            deadline = time.monotonic() + 10
            while Path(f"/sys/class/net/{VETH_RX}/operstate").read_text().strip() != "up":
                if time.monotonic() > deadline:
                    raise SystemExit(f"{VETH_RX} did not come up")
                time.sleep(0.1)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.created:
            subprocess.run(["ip", "link", "del", VETH_TX], check=False)
            self.created = False


def backlog_drops() -> int:
    """Packets the kernel dropped before any capture saw them (per-CPU input backlog full),
    summed over CPUs from /proc/net/softnet_stat."""
    lines = Path("/proc/net/softnet_stat").read_text().splitlines()
    return sum(int(line.split()[1], 16) for line in lines)


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


# -- the sensor -----------------------------------------------------------------------------


class Sensor:
    """One ``callsift sniff`` process, stderr into a log file."""

    def __init__(self, iface: str, sensor_id: int, spool: Path, port: int, env: dict[str, str]):
        self.port = port
        self.log_path = spool.parent / f"sensor-{sensor_id}.log"
        self.log_file = self.log_path.open("wb")
        cmd = [sys.executable, "-m", "sniffer.cli.main", "sniff", "-i", iface, "--bpf", BPF,
               "--db", DB_URL, "--sensor-id", str(sensor_id), "--sensor-name",
               f"bench-live-{sensor_id}", "--spool", str(spool),
               "--metrics-listen", f"127.0.0.1:{port}"]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=self.log_file, stderr=subprocess.STDOUT, env={**os.environ, **env}
        )

    def _get(self, path: str) -> str:
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=SCRAPE_TIMEOUT_S) as r:
                return str(r.read().decode())
        except urllib.error.HTTPError as e:
            return str(e.read().decode())

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"callsift sniff exited {self.proc.returncode}: {self.tail()}")
            try:
                if json.loads(self._get("/health"))["status"] == "ok":
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"no healthy /health within {HEALTH_TIMEOUT_S:.0f} s")
            time.sleep(0.2)

    def metrics(self) -> dict[str, float]:
        """Unlabelled samples of /metrics by name (``_total`` suffix removed)."""
        out: dict[str, float] = {}
        for line in self._get("/metrics").splitlines():
            if line.startswith("#") or "{" in line or " " not in line:
                continue
            name, value = line.rsplit(" ", 1)
            out[name.removesuffix("_total")] = float(value)
        return out

    def stop(self) -> tuple[int, float]:
        """SIGTERM; (exit code, seconds to exit). Killed after STOP_TIMEOUT_S."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        return rc, time.monotonic() - t0

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()

    def tail(self, n: int = 800) -> str:
        return self.log_path.read_text(errors="replace")[-n:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- one step -------------------------------------------------------------------------------


class Sampler(threading.Thread):
    """Scrapes ``callsift_packets`` every SAMPLE_S in the background: a busy sensor may answer
    /metrics late (its event loop serves it between batches), the clock must not wait."""

    def __init__(self, sensor: Sensor) -> None:
        super().__init__(daemon=True)
        self.sensor = sensor
        self.samples: list[tuple[float, int]] = []  # (answer time, packets analysed)
        self.max_latency = 0.0
        self.failed = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            t0 = time.monotonic()
            try:
                packets = int(self.sensor.metrics()["callsift_packets"])
            except (OSError, KeyError, ValueError):
                self.failed += 1
            else:
                t1 = time.monotonic()
                self.samples.append((t1, packets))
                self.max_latency = max(self.max_latency, t1 - t0)
            self.halt.wait(SAMPLE_S)

    def settled(self, n: int) -> tuple[float, int] | None:
        """(time the count last changed, count) once it reached ``n`` and held STABLE_S, or
        held IDLE_S short of it; else None."""
        s = list(self.samples)
        if not s:
            return None
        last_t, last = s[-1]
        changed = next((t for t, p in reversed(s) if p != last), None)
        since = next(t for t, p in s if p == last and (changed is None or t > changed))
        held = last_t - since
        return (since, last) if (last >= n and held >= STABLE_S) or held >= IDLE_S else None
