"""``make bench``: callsift analyze throughput against tshark, on the same load capture, in one run.

1. generates the load capture (bench/gen_load.py) once into bench/out/ (>= 500 concurrent
   G.711 calls, >= 1 M packets);
2. runs, one after the other on the same file: ``tshark -q -z rtp,streams``, ``callsift analyze
   --json`` and ``callsift analyze --json --spool DIR``, measuring wall time and peak RSS;
3. checks callsift's output against the generator's truth (calls, packets, lost per stream);
4. writes the figures into docs/BENCHMARKS.md between markers.

Timings are ratios within one run because these machines are noisy. Not a unit test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docblock import stamp, write_block

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def peak_rss_kib(cmd: list[str], stdout: Any = subprocess.DEVNULL) -> tuple[float, int]:
    """Run under /usr/bin/time-like accounting: wait4 gives this child's own max RSS."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err}")
    return wall, usage.ru_maxrss


def check_truth(json_out: Path, truth_path: Path) -> dict[str, Any]:
    truth = json.loads(truth_path.read_text())
    calls = {}
    for line in json_out.read_text().splitlines():
        rec = json.loads(line)
        if rec["type"] == "call":
            calls[rec["call_id"]] = rec
    bad = 0
    for t in truth["calls"]:
        c = calls.get(t["call_id"])
        if c is None or c["final_code"] != t["final_code"]:
            bad += 1
            continue
        got = {(s["ssrc"]): (s["packets"], s["lost"]) for s in c["streams"]}
        for ts in t["streams"]:
            if got.get(ts["ssrc"]) != (ts["packets"], ts["lost"]):
                bad += 1
                break
    return {"calls_expected": len(truth["calls"]), "calls_found": len(calls), "mismatches": bad}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--packets", type=int, default=2_000_000)
    ap.add_argument("--no-doc", action="store_true", help="do not update docs/BENCHMARKS.md")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    cap = OUT / f"load_{args.calls}c_{args.packets}p.pcap"
    truth = Path(str(cap) + ".truth.json")
    if not cap.exists() or not truth.exists():
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "gen_load.py"),
                str(cap),
                "--calls",
                str(args.calls),
                "--concurrent",
                str(args.calls),
                "--packets",
                str(args.packets),
            ],
            check=True,
        )
    n_packets = json.loads(truth.read_text())["summary"]["packets"]
    callsift = [sys.executable, "-m", "sniffer.cli.main"]
    results: dict[str, Any] = {"capture": cap.name, "packets": n_packets, "calls": args.calls}

    wall, rss = peak_rss_kib(["tshark", "-q", "-r", str(cap), "-z", "rtp,streams"])
    results["tshark"] = {"wall_s": wall, "pps": n_packets / wall, "rss_kib": rss}

    json_out = OUT / "analyze.jsonl"
    with json_out.open("w") as fh:
        wall, rss = peak_rss_kib([*callsift, "analyze", "--json", "--no-progress", str(cap)], fh)
    results["analyze"] = {"wall_s": wall, "pps": n_packets / wall, "rss_kib": rss}
    results["correctness"] = check_truth(json_out, truth)

    spool = Path(tempfile.mkdtemp(prefix="callsift-bench-spool-"))
    try:
        wall, rss = peak_rss_kib(
            [*callsift, "analyze", "--json", "--no-progress", "--spool", str(spool), str(cap)]
        )
        files = sum(1 for _ in spool.rglob("*.pcap"))
    finally:
        shutil.rmtree(spool, ignore_errors=True)
    results["analyze_spool"] = {
        "wall_s": wall,
        "pps": n_packets / wall,
        "rss_kib": rss,
        "files": files,
    }

    # memory per concurrent call: peak RSS of the analysis beyond a baseline interpreter
    _wall, base_rss = peak_rss_kib(
        [
            *callsift,
            "analyze",
            "--json",
            "--no-progress",
            str(ROOT / "tests/data/golden/sip_ipv6_udp_call.pcap"),
        ]
    )
    results["kib_per_call"] = (results["analyze"]["rss_kib"] - base_rss) / args.calls

    print(json.dumps(results, indent=2))
    if not args.no_doc:
        write_doc(results)
    return 0


def write_doc(r: dict[str, Any]) -> None:
    t, a, s = r["tshark"], r["analyze"], r["analyze_spool"]
    c = r["correctness"]
    lines = [
        f"Last run: {stamp()}, `make bench` "
        f"(`python bench/run_bench.py`), capture `{r['capture']}`: {r['packets']:,} packets, "
        f"{r['calls']} concurrent G.711 calls.",
        "",
        "| run | wall s | packets/s | x tshark | peak RSS MiB |",
        "|---|---:|---:|---:|---:|",
        f"| `tshark -q -z rtp,streams` | {t['wall_s']:.2f} | {t['pps']:,.0f} | 1.00 | {t['rss_kib'] / 1024:.0f} |",
        f"| `callsift analyze --json` | {a['wall_s']:.2f} | {a['pps']:,.0f} | {a['pps'] / t['pps']:.2f} | {a['rss_kib'] / 1024:.0f} |",
        f"| `callsift analyze --json --spool DIR` ({s['files']} pcaps) | {s['wall_s']:.2f} | {s['pps']:,.0f} | {s['pps'] / t['pps']:.2f} | {s['rss_kib'] / 1024:.0f} |",
        "",
        f"Correctness against the generator's truth: {c['calls_found']} calls found of "
        f"{c['calls_expected']}, {c['mismatches']} mismatches (final code, per-stream packets and lost).",
        f"Memory: {r['kib_per_call']:.1f} KiB per concurrent call (peak RSS minus a baseline run, "
        f"divided by the concurrent calls).",
    ]
    write_block("analyze-bench", "callsift analyze vs tshark", lines)


if __name__ == "__main__":
    raise SystemExit(main())
