"""Interleaved CPU-time A/B of ``callsift analyze --json`` between source trees, with tshark.

    python bench/ab_analyze.py CAPTURE --tree before=/path/a --tree after=/path/b [--rounds 5]

Each round runs, one after the other on the same file, ``tshark -q -z rtp,streams`` and
``python -m sniffer.cli.main analyze --json --no-progress`` once per tree (cwd and PYTHONPATH
set to the tree, so that tree's ``sniffer`` and ``db`` are imported), the order rotating from
round to round. Each run's CPU time is the child's user + system time (``os.wait4``), which a
loaded machine disturbs much less than wall time; the load average is printed with each round.
Per tree: the median CPU time, its ratio to the first tree's in the same rounds, and its ratio
to tshark (tshark's median CPU time / the tree's, as ``make bench`` gives it: higher is
faster). Not a unit test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

TSHARK = "tshark"


def cpu_time(cmd: list[str], cwd: str | None = None, env: dict[str, str] | None = None) -> float:
    """User + system CPU seconds of one run of ``cmd`` (its output discarded)."""
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err[-2000:]}")
    return usage.ru_utime + usage.ru_stime


def analyze_cmd(capture: str) -> list[str]:
    return [sys.executable, "-m", "sniffer.cli.main", "analyze", "--json", "--no-progress", capture]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("capture")
    ap.add_argument("--tree", action="append", required=True, help="NAME=PATH (repeatable)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-tshark", action="store_true")
    ap.add_argument("--json-out", help="write every run's figures here")
    args = ap.parse_args()
    trees: list[tuple[str, str]] = []
    for spec in args.tree:
        name, _, path = spec.partition("=")
        if not path or not Path(path, "sniffer").is_dir():
            raise SystemExit(f"--tree {spec!r}: want NAME=PATH of a source tree")
        trees.append((name, str(Path(path).resolve())))
    jobs: list[tuple[str, list[str], str | None, dict[str, str] | None]] = []
    for name, path in trees:
        env = dict(os.environ, PYTHONPATH=path)
        jobs.append((name, analyze_cmd(args.capture), path, env))
    if not args.no_tshark:
        jobs.append((TSHARK, [TSHARK, "-q", "-r", args.capture, "-z", "rtp,streams"], None, None))
    runs: dict[str, list[float]] = {name: [] for name, *_ in jobs}
    loads: list[float] = []
    for r in range(args.rounds):
        order = jobs[r % len(jobs) :] + jobs[: r % len(jobs)]
        line = []
        for name, cmd, cwd, env in order:
            t = cpu_time(cmd, cwd, env)
            runs[name].append(t)
            line.append(f"{name} {t:.2f}")
        load = os.getloadavg()[0]
        loads.append(load)
        print(f"round {r + 1}: {', '.join(line)} (cpu s; load {load:.1f})", flush=True)
    ref = trees[0][0]
    med = {name: statistics.median(v) for name, v in runs.items()}
    print()
    print(f"| run | median cpu s | min | max | x {ref} | x tshark |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, v in runs.items():
        vs_ref = med[name] / med[ref]
        vs_tshark = med[TSHARK] / med[name] if TSHARK in med else float("nan")
        print(
            f"| {name} | {med[name]:.2f} | {min(v):.2f} | {max(v):.2f} | "
            f"{vs_ref:.3f} | {vs_tshark:.2f} |"
        )
    # paired: per round, each tree against the reference tree of the same round
    for name, _path in trees[1:]:
        ratios = [a / b for a, b in zip(runs[name], runs[ref], strict=True)]
        print(
            f"paired {name}/{ref} per round: median {statistics.median(ratios):.3f} "
            f"(min {min(ratios):.3f}, max {max(ratios):.3f})"
        )
    print(f"load average (1 min) over the rounds: {min(loads):.1f}-{max(loads):.1f}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"runs": runs, "loads": loads}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
