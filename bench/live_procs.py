"""Hosts and probes of the live benchmark: network namespaces (tests/live, shared with the
live tests) holding the sender and the ``callsift sniff`` under test, and the /metrics
sampler."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.live.netns import Netns
from tests.live.relay import Relay
from tests.live.sensor import SensorProcess

DB_URL = "mysql://root@127.0.0.1:3306/callsift_bench_live"
"""Inside the sensor's namespace 127.0.0.1:3306 is a relay to the host's MariaDB."""
BPF = "udp and net 10.1.0.0/16 and net 10.2.0.0/16"
"""gen_load.py puts callers in 10.1/16 and callees in 10.2/16."""
HEALTH_TIMEOUT_S = 30.0
STABLE_S = 1.5
"""callsift_packets unchanged this long (and at the file's count) ends a step; longer than
the capture threads' kernel-counter refresh (1 s), so the drop counters are current."""
IDLE_S = 6.0
"""callsift_packets unchanged this long ends a step even short of the file's count."""
SAMPLE_S = 0.25
SCRAPE_TIMEOUT_S = 30.0


@dataclass(slots=True)
class Lab:
    """Where tcpreplay sends (``tx`` on ``tx_dev``) and the sensor captures (``rx`` on
    ``rx_dev``): ``veth`` is a pair from the sender's namespace into the sensor's, ``lo`` the
    loopback of one namespace holding both."""

    kind: str
    tx: Netns
    tx_dev: str
    rx: Netns
    rx_dev: str


@contextlib.contextmanager
def lab(kind: str) -> Iterator[Lab]:
    """The namespaces (and veth) of a run, with MariaDB reachable from the sensor's; all of
    it removed on exit, whatever ends the run."""
    with contextlib.ExitStack() as stack:
        rx = stack.enter_context(Netns())
        if kind == "lo":
            tx, tx_dev, rx_dev = rx, "lo", "lo"
        else:
            tx = stack.enter_context(Netns())
            tx_dev, rx_dev = tx.veth(rx)
        stack.enter_context(Relay(rx, 3306))
        yield Lab(kind, tx, tx_dev, rx, rx_dev)


def start_sensor(where: Lab, sensor_id: int, spool: Path, env: dict[str, str]) -> SensorProcess:
    return SensorProcess(
        where.rx, iface=where.rx_dev, bpf=BPF, db_url=DB_URL, sensor_id=sensor_id,
        spool=spool, sensor_name=f"bench-live-{sensor_id}", env=env,
    )  # fmt: skip


# -- one step -------------------------------------------------------------------------------


class Sampler(threading.Thread):
    """Scrapes ``callsift_packets`` every SAMPLE_S in the background: a busy sensor may answer
    /metrics late (its event loop serves it between batches), the clock must not wait."""

    def __init__(self, sensor: SensorProcess) -> None:
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
                packets = int(self.sensor.metrics(SCRAPE_TIMEOUT_S)["callsift_packets"])
            except (OSError, KeyError, ValueError, TimeoutError):
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
