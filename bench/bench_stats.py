"""Micro-benchmark of StreamStats.add: 1,000,000 in-order G.711 packets, prints ns/packet.

Run: .venv/bin/python bench/bench_stats.py [packets]
"""

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sniffer.rtp.stats import StreamStats


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rnd = random.Random(1)
    t0 = 1_700_000_000.0
    seqs = [(1000 + i) & 0xFFFF for i in range(n)]
    rtp_ts = [(160 * i) & 0xFFFFFFFF for i in range(n)]
    arrivals = [t0 + 0.02 * i + rnd.random() * 0.002 for i in range(n)]
    best = float("inf")
    for _ in range(3):
        s = StreamStats({0: 8000})
        add = s.add
        start = time.perf_counter_ns()
        for i in range(n):
            add(seqs[i], rtp_ts[i], arrivals[i], 0, False)
        best = min(best, (time.perf_counter_ns() - start) / n)
    loop = float("inf")
    for _ in range(3):
        start = time.perf_counter_ns()
        for i in range(n):
            _ = (seqs[i], rtp_ts[i], arrivals[i], 0, False)
        loop = min(loop, (time.perf_counter_ns() - start) / n)
    sys.stdout.write(
        f"StreamStats.add: {best:.0f} ns/packet over {n} packets "
        f"(loop and indexing alone: {loop:.0f} ns; jitter {s.mean_jitter_ms:.3f} ms)\n"
    )


if __name__ == "__main__":
    main()
