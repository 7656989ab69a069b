"""``callsift analyze --workers N``: CPU time of each process against one process, on the
generated load capture, and what that makes of a bigger machine.

    .venv/bin/python bench/bench_workers.py [--calls 1000] [--packets 1000000]
                                            [--workers 2,4] [--repeat 3] [--no-doc]

The SIP every worker parses weighs with the calls' length: 1000 calls in a million packets
last about 10 s each (SIP is about 15 % of one process's CPU), 100 calls about 100 s (closer
to real calls of minutes).

CPU time (user + sys) of each process, not wall time: the machine is shared, and a worker's
CPU time is what it would need of a core of its own. Per N: each worker's CPU, the parent's
(assembling the calls, diagnosis, JSON), the total against one process (the overhead), and
the speed-up if each process had a core (one process's CPU over the busiest one's). From two
N the busiest worker's cost is fitted as ``a / N + b`` (``b``: what every worker does whatever
N: the SIP, reading what the kernel filter lets through) and extrapolated to a 24-core server
(22 workers; a core each for the parent with the CDR writer, and for the system and NIC).
Every run's records are checked equal to one process's. Runs are interleaved ``--repeat``
times and each process's least CPU time is kept (a shared machine's load inflates CPU time
too, through caches and hyperthreads).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import os
import resource
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from docblock import stamp, write_block  # noqa: E402
from gen_load import main as gen_load  # noqa: E402

from db.records import record_to_dict  # noqa: E402
from db.settings import load_settings  # noqa: E402
from sniffer.analyzer import Analyzer, AnalyzerConfig  # noqa: E402
from sniffer.capture.files import open_capture  # noqa: E402
from sniffer.workers.offline import analyze_files  # noqa: E402

log = logging.getLogger("bench_workers")
OUT = ROOT / "bench" / "out"
SERVER_WORKERS = 22
PPS_PER_CALL = 100.4
"""A G.711 call at 20 ms both ways: 2 x 50 RTP packets/s, and RTCP every 5 s each way."""
VOIPMONITOR_CALLS = 10_000


def _cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def _one(path: str, conn: Any) -> None:
    lines: list[str] = []
    settings = load_settings(None, {})
    start = _cpu()
    with open_capture(path) as src:
        sink = lambda rec: lines.append(json.dumps(record_to_dict(rec)))  # noqa: E731
        a = Analyzer(src.linktype, sink, config=AnalyzerConfig.from_settings(settings))
        a.feed(src.packets())
        a.finish()
    conn.send((_cpu() - start, sorted(lines), a.packets))


def _workers(path: str, n: int, conn: Any) -> None:
    lines: list[str] = []
    outcome = analyze_files(
        [path], load_settings(None, {}), lambda r: lines.append(json.dumps(record_to_dict(r))), n
    )
    st = outcome.stats
    conn.send((st["worker_cpu_s"], st["parent_cpu_s"], sorted(lines)))


def _run(target: Any, *args: Any) -> Any:
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=target, args=(*args, child))
    p.start()
    out = parent.recv()
    p.join()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--workers", default="2,4")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved runs; the least CPU kept")
    ap.add_argument("--no-doc", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    OUT.mkdir(parents=True, exist_ok=True)
    cap = OUT / f"workers_{args.calls}c_{args.packets}p.pcap"
    if not cap.exists():
        gen_load([str(cap), "--calls", str(args.calls), "--concurrent", str(args.calls),
                  "--packets", str(args.packets)])  # fmt: skip
    ns = [int(x) for x in args.workers.split(",")]
    one_cpu = float("inf")
    rows = [
        {"n": n, "workers": [float("inf")] * n, "parent": float("inf"), "same": True} for n in ns
    ]
    for _ in range(args.repeat):  # interleaved: a burst of load hits every variant alike
        cpu, one_lines, packets = _run(_one, str(cap))
        one_cpu = min(one_cpu, cpu)
        log.info("one process: %.2f s CPU, %d packets", cpu, packets)
        for row in rows:
            wcpu, pcpu, lines = _run(_workers, str(cap), row["n"])
            row["workers"] = [min(a, b) for a, b in zip(row["workers"], wcpu, strict=True)]
            row["parent"] = min(row["parent"], pcpu)
            row["same"] = row["same"] and lines == one_lines
            log.info("%d workers: %s, parent %.2f, same: %s", row["n"], wcpu, pcpu, row["same"])
    report = _report(rows, one_cpu, packets, args.calls, cap.name)
    sys.stdout.write("\n".join(report) + "\n")
    if not args.no_doc:
        write_block(
            f"workers-bench-{args.calls}c",
            f"Workers: analyze --workers, CPU per process ({args.calls} concurrent calls)",
            report,
        )
    return 0


def _report(
    rows: list[dict[str, Any]], one: float, packets: int, calls: int, name: str
) -> list[str]:
    lines = [
        f"Last run: {stamp()}, `python bench/bench_workers.py` (least of 3 interleaved runs), "
        f"{os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.1f}. Capture `{name}`: {packets:,} packets, {calls} concurrent "
        f"G.711 calls. One process: {one:.2f} s CPU ({packets / one:,.0f} packets per "
        "CPU-second).",
        "",
        "| workers | CPU s per worker | parent CPU s | total / one process | speed-up with a core each | records equal |",
        "|---:|---|---:|---:|---:|---|",
    ]
    for r in rows:
        busiest = max([*r["workers"], r["parent"]])
        total = sum(r["workers"]) + r["parent"]
        lines.append(
            f"| {r['n']} | {' / '.join(f'{c:.2f}' for c in r['workers'])} | {r['parent']:.2f} "
            f"| {total / one:.2f} | {one / busiest:.2f}x | {'yes' if r['same'] else 'NO'} |"
        )
    if len(rows) >= 2:
        (n1, c1), (n2, c2) = [(r["n"], max(r["workers"])) for r in rows[:2]]
        a = (c1 - c2) / (1 / n1 - 1 / n2)
        b = c1 - a / n1
        per_worker = a / SERVER_WORKERS + b
        pps = packets / per_worker
        parent_per_call = rows[-1]["parent"] / calls
        lines += [
            "",
            f"Busiest worker's CPU fitted as a / N + b: a = {a:.2f} s (the share), b = {b:.2f} s "
            f"(every worker's). On a 24-core server ({SERVER_WORKERS} workers, a core for the "
            f"parent and the CDR writer, one for the system): {pps:,.0f} packets/s, "
            f"{pps / PPS_PER_CALL:,.0f} concurrent G.711 calls of analysis (VoIPmonitor: "
            f"{VOIPMONITOR_CALLS:,} on 24 cores), if memory bandwidth and the NIC's queues keep "
            f"up. The parent spends {parent_per_call * 1e3:.2f} ms per call: "
            f"{1 / parent_per_call:,.0f} calls ending per second, against about "
            f"{VOIPMONITOR_CALLS / 180:,.0f}/s for {VOIPMONITOR_CALLS:,} concurrent calls of 3 "
            "minutes. Pcaps and the database are not in these figures (the live table below "
            "has them).",
        ]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
