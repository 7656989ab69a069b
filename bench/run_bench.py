"""``make bench``: callsift analyze throughput against tshark, on the same load capture, in one run.

1. generates the load capture (bench/gen_load.py) once into bench/out/ (>= 500 concurrent
   G.711 calls, >= 1 M packets);
2. runs, one after the other on the same file: ``tshark -q -z rtp,streams``, ``callsift analyze
   --json`` with the pure-Python hot path and with the compiled one (``make compile``; the row
   says so when it is not built), and ``callsift analyze --json --spool DIR``, all in one
   process (``--workers 1``), measuring wall time, CPU time (user + sys) and peak RSS;
   ``--repeat N`` keeps each run's fastest of N;
3. checks callsift's output against the generator's truth (calls, packets, lost per stream)
   and the compiled hot path's output against the pure one's (byte for byte);
4. writes the figures into docs/BENCHMARKS.md between markers.

Timings are ratios within one run because these machines are noisy. Not a unit test.
"""

from __future__ import annotations

import argparse
import compileall
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
IMPL_ENV = "CALLSIFT_IMPL"


def measure(
    cmd: list[str], stdout: Any = subprocess.DEVNULL, impl: str | None = None
) -> tuple[float, int, float]:
    """Run under /usr/bin/time-like accounting: wait4 gives this child's own max RSS and CPU
    time. ``impl``: CALLSIFT_IMPL of the run (pure or compiled hot path)."""
    env = {**os.environ, IMPL_ENV: impl} if impl else None
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, env=env)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err}")
    return wall, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def peak_rss_kib(cmd: list[str], stdout: Any = subprocess.DEVNULL) -> tuple[float, int]:
    wall, rss, _cpu = measure(cmd, stdout)
    return wall, rss


def best_of(
    n: int, cmd: list[str], out: Path | None = None, impl: str | None = None
) -> dict[str, float]:
    """The fastest (by CPU time) of ``n`` runs: wall s, packets/s filled in by the caller."""
    runs = []
    for _ in range(n):
        if out is None:
            runs.append(measure(cmd, impl=impl))
        else:
            with out.open("w") as fh:
                runs.append(measure(cmd, fh, impl))
    wall, rss, cpu = min(runs, key=lambda r: r[2])
    return {"wall_s": wall, "rss_kib": rss, "cpu_s": cpu}


def compiled_available() -> str | None:
    """None when the compiled hot path is built from the current sources, else why not."""
    code = "from sniffer.compiled import why_not_compiled as w; print(w() or '')"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    return r.stdout.strip() or None if r.returncode == 0 else r.stderr.strip()


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


def cache_bytecode() -> None:
    """Write the bytecode of callsift's modules, as an installed package has it: with
    ``PYTHONDONTWRITEBYTECODE`` set (as on these machines) every run would otherwise compile
    about a hundred modules from source at start (7 % of a compiled run's instructions)."""
    for pkg in ("sniffer", "db"):
        compileall.compile_dir(ROOT / pkg, quiet=1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--packets", type=int, default=2_000_000)
    ap.add_argument("--no-doc", action="store_true", help="do not update docs/BENCHMARKS.md")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each, the fastest kept")
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
    cache_bytecode()
    callsift = [sys.executable, "-m", "sniffer.cli.main"]
    results: dict[str, Any] = {
        "capture": cap.name,
        "packets": n_packets,
        "calls": args.calls,
        "repeat": args.repeat,
    }

    n = args.repeat
    results["tshark"] = best_of(n, ["tshark", "-q", "-r", str(cap), "-z", "rtp,streams"])

    # one process: the hot path itself (analysis.workers would split a file this large)
    analyze = [*callsift, "analyze", "--json", "--no-progress", "--workers", "1", str(cap)]
    json_out = OUT / "analyze.jsonl"
    results["analyze"] = best_of(n, analyze, json_out, "pure")
    results["correctness"] = check_truth(json_out, truth)
    why_not = compiled_available()
    results["compiled_missing"] = why_not
    spool_impl = "pure"
    if why_not is None:
        compiled_out = OUT / "analyze_compiled.jsonl"
        results["analyze_compiled"] = best_of(n, analyze, compiled_out, "compiled")
        results["compiled_same_output"] = compiled_out.read_bytes() == json_out.read_bytes()
        results["correctness_compiled"] = check_truth(compiled_out, truth)
        spool_impl = "compiled"

    spool = Path(tempfile.mkdtemp(prefix="callsift-bench-spool-"))
    try:
        wall, rss, cpu = measure(
            [*analyze[:-1], "--spool", str(spool), str(cap)],
            impl=spool_impl,
        )
        files = sum(1 for _ in spool.rglob("*.pcap"))
    finally:
        shutil.rmtree(spool, ignore_errors=True)
    results["analyze_spool"] = {
        "wall_s": wall,
        "rss_kib": rss,
        "cpu_s": cpu,
        "files": files,
        "impl": spool_impl,
    }
    for key in ("tshark", "analyze", "analyze_compiled", "analyze_spool"):
        if key in results:
            results[key]["pps"] = n_packets / results[key]["wall_s"]

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
    t, s, c = r["tshark"], r["analyze_spool"], r["correctness"]

    def row(name: str, m: dict[str, Any]) -> str:
        return (
            f"| {name} | {m['wall_s']:.2f} | {m['pps']:,.0f} | {t['wall_s'] / m['wall_s']:.2f} "
            f"| {m['cpu_s']:.2f} | {t['cpu_s'] / m['cpu_s']:.2f} | {m['rss_kib'] / 1024:.0f} |"
        )

    lines = [
        f"Last run: {stamp()}, `make bench` "
        f"(`python bench/run_bench.py --repeat {r['repeat']}`), capture `{r['capture']}`: "
        f"{r['packets']:,} packets, {r['calls']} concurrent G.711 calls.",
        "",
        "| run | wall s | packets/s | x tshark (wall) | CPU s | x tshark (CPU) | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|",
        row("`tshark -q -z rtp,streams`", t),
        row("`callsift analyze --json --workers 1`, pure Python", r["analyze"]),
    ]
    if "analyze_compiled" in r:
        lines.append(
            row("`callsift analyze --json --workers 1`, compiled (mypyc)", r["analyze_compiled"])
        )
    lines.append(row(f"`... --workers 1 --spool DIR` ({s['files']} pcaps), {s['impl']}", s))
    lines += [
        "",
        f"Correctness against the generator's truth: {c['calls_found']} calls found of "
        f"{c['calls_expected']}, {c['mismatches']} mismatches (final code, per-stream packets and lost).",
    ]
    if "analyze_compiled" in r:
        same = "identical to" if r["compiled_same_output"] else "DIFFERENT from"
        cc = r["correctness_compiled"]
        lines.append(
            f"Compiled hot path: output {same} the pure one's, {cc['mismatches']} mismatches."
        )
    else:
        lines.append(f"Compiled hot path not measured: {r['compiled_missing']} (`make compile`).")
    lines.append(
        f"Memory: {r['kib_per_call']:.1f} KiB per concurrent call (peak RSS minus a baseline run, "
        f"divided by the concurrent calls)."
    )
    write_block("analyze-bench", "callsift analyze vs tshark", lines)


if __name__ == "__main__":
    raise SystemExit(main())
