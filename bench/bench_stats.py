"""Micro-benchmark of StreamStats.add: in-order G.711 packets (random 32-bit timestamps, up to
2 ms of jitter), best of several runs, in ns per packet. For scale it also times the same loop
calling a method that does nothing (the interpreter's floor for one call per packet).

Run: .venv/bin/python bench/bench_stats.py [packets] [runs]
"""

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sniffer.rtp.stats import StreamStats


class _Empty:
    def add(self, seq: int, rtp_ts: int, arrival_ts: float, pt: int, marker: bool = False) -> None:
        pass


def _time(
    add: Callable[[int, int, float, int, bool], None],
    seqs: list[int],
    stamps: list[int],
    arrivals: list[float],
) -> float:
    n = len(seqs)
    start = time.perf_counter_ns()
    for i in range(n):
        add(seqs[i], stamps[i], arrivals[i], 0, False)
    return (time.perf_counter_ns() - start) / n


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    rnd = random.Random(1)
    ts0 = rnd.getrandbits(32)
    t0 = 1_700_000_000.0
    seqs = [(1000 + i) & 0xFFFF for i in range(n)]
    stamps = [(ts0 + 160 * i) & 0xFFFFFFFF for i in range(n)]
    arrivals = [t0 + 0.02 * i + rnd.random() * 0.002 for i in range(n)]
    best = floor = float("inf")
    s = StreamStats({0: 8000})
    for _ in range(runs):
        s = StreamStats({0: 8000})
        best = min(best, _time(s.add, seqs, stamps, arrivals))
        floor = min(floor, _time(_Empty().add, seqs, stamps, arrivals))
    assert s.packets == n and s.lost == 0
    sys.stdout.write(
        f"StreamStats.add: {best:.0f} ns/packet over {n} packets, best of {runs} "
        f"(loop + empty method call: {floor:.0f} ns, so add() itself costs {best - floor:.0f} ns; "
        f"mean jitter {s.mean_jitter_ms:.3f} ms)\n"
    )


if __name__ == "__main__":
    main()
