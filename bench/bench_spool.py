"""The whole job's cost: per-call pcaps (``--spool``) and CDRs into MariaDB (``--db``) on top of
the analysis, against a plain pcap copy by tshark, measured in one run.

On the load capture of ``make bench`` (bench/run_bench.py generates it), interleaved ``--repeat``
times, CPU time (user+sys of the process and its threads, from wait4) of:

- ``tshark -r CAP -w OUT`` (the cost of copying every frame into a pcap: the reference);
- ``callsift analyze --json`` (analysis only);
- ``callsift analyze --json --spool DIR`` (plus one pcap per call);
- ``callsift analyze --json --spool DIR --db URL`` (the whole job: CDRs in MariaDB too);

and, once each under ``strace -c -f``, the system calls of the analysis with and without the
spool (per packet). ``--base TREE`` measures a second source tree the same way in the same run
(for example ``git worktree add /tmp/before main``): the before/after of a change. Figures go to
docs/BENCHMARKS.md (spool-bench block). Not a unit test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docblock import stamp, write_block

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DEFAULT_DB = "mysql://root@127.0.0.1:3306/cs_pcapio_bench"


def cpu_of(cmd: list[str], tree: Path) -> float:
    """User+sys seconds of ``cmd`` run with ``tree`` first on the module path, in one process
    (``CALLSIFT_WORKERS=1``: the per-process cost is what is compared)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "CALLSIFT_WORKERS": "1"}
    proc = subprocess.Popen(
        cmd, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err[-2000:]}")
    return usage.ru_utime + usage.ru_stime


def syscalls(cmd: list[str], tree: Path) -> dict[str, int]:
    """System calls by name, from ``strace -c -f``."""
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as out:
        cpu_of(["strace", "-c", "-f", "-o", out.name, *cmd], tree)
        counts: dict[str, int] = {}
        for line in Path(out.name).read_text().splitlines():
            parts = line.split()
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                counts[parts[-1]] = int(parts[3])
        return counts


def analyze(extra: list[str], cap: Path) -> list[str]:
    return [sys.executable, "-m", "sniffer.cli.main", "analyze", "--json", "--no-progress",
            *extra, str(cap)]  # fmt: skip


def measure_tree(tree: Path, cap: Path, db: str | None, runs: dict[str, list[float]]) -> None:
    """One round of the callsift runs of ``tree`` (each into ``runs[name]``)."""
    spool = Path(tempfile.mkdtemp(prefix="callsift-bench-spool-"))
    try:
        runs.setdefault("analyze", []).append(cpu_of(analyze([], cap), tree))
        runs.setdefault("spool", []).append(cpu_of(analyze(["--spool", str(spool)], cap), tree))
        shutil.rmtree(spool)
        if db:
            extra = ["--spool", str(spool), "--db", db, "--sensor-id", "1"]
            runs.setdefault("db_spool", []).append(cpu_of(analyze(extra, cap), tree))
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--packets", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--db", default=DEFAULT_DB, help="database of the whole-job run ('' for none)")
    ap.add_argument("--base", type=Path, help="a second source tree measured the same way")
    ap.add_argument("--no-strace", action="store_true")
    ap.add_argument("--no-doc", action="store_true", help="do not update docs/BENCHMARKS.md")
    args = ap.parse_args()
    cap = OUT / f"load_{args.calls}c_{args.packets}p.pcap"
    if not cap.exists():
        raise SystemExit(f"{cap} is missing: run bench/run_bench.py first (it generates it)")
    n_packets = json.loads(Path(str(cap) + ".truth.json").read_text())["summary"]["packets"]
    if args.db:
        subprocess.run([sys.executable, "-m", "sniffer.cli.main", "db", "migrate", "--db", args.db],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    trees = {"this tree": ROOT, **({"base": args.base.resolve()} if args.base else {})}
    runs: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    tshark: list[float] = []
    with tempfile.TemporaryDirectory(prefix="callsift-bench-copy-") as tmp:
        for _ in range(args.repeat):
            tshark.append(cpu_of(["tshark", "-r", str(cap), "-w", f"{tmp}/copy.pcap"], ROOT))
            os.unlink(f"{tmp}/copy.pcap")
            for name, tree in trees.items():
                measure_tree(tree, cap, args.db or None, runs[name])
    result: dict[str, Any] = {"capture": cap.name, "packets": n_packets, "calls": args.calls,
                              "repeat": args.repeat, "tshark_copy_cpu_s": statistics.median(tshark)}  # fmt: skip
    for name, tree in trees.items():
        r = {k: statistics.median(v) for k, v in runs[name].items()}
        if not args.no_strace:
            spool = tempfile.mkdtemp(prefix="callsift-bench-spool-")
            try:
                r["syscalls_analyze"] = syscalls(analyze([], cap), tree)
                r["syscalls_spool"] = syscalls(analyze(["--spool", spool], cap), tree)
            finally:
                shutil.rmtree(spool, ignore_errors=True)
        result[name] = r
    print(json.dumps(result, indent=2))
    if not args.no_doc:
        write_doc(result, args.db)
    return 0


def write_doc(r: dict[str, Any], db: str) -> None:
    n, copy = r["packets"], r["tshark_copy_cpu_s"]
    lines = [
        f"Last run: {stamp()}, `python bench/bench_spool.py --repeat {r['repeat']}"
        + (" --base TREE" if "base" in r else "")
        + f"`, capture `{r['capture']}`: {n:,} packets, {r['calls']} concurrent calls; CPU "
        "seconds (user+sys), medians of interleaved runs.",
        "",
        "| tree | analyze | + `--spool` | spool overhead | spool / tshark copy "
        "| + `--db` (whole job) | syscalls/packet, spool only |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ("base", "this tree"):
        if name not in r:
            continue
        t = r[name]
        extra = t["spool"] - t["analyze"]
        sc = "n/a"
        if "syscalls_spool" in t:
            diff = sum(t["syscalls_spool"].values()) - sum(t["syscalls_analyze"].values())
            sc = f"{diff / n:.4f}"
        whole = f"{t['db_spool']:.2f}" if "db_spool" in t else "n/a"
        lines.append(
            f"| {name} | {t['analyze']:.2f} | {t['spool']:.2f} | "
            f"{100 * extra / t['analyze']:+.0f} % | {extra / copy:.2f} | {whole} | {sc} |"
        )
    lines += [
        "",
        f"Reference in the same run: `tshark -r CAP -w OUT` (a plain pcap copy of every frame) "
        f"{copy:.2f} s CPU. Spool overhead: CPU of `--spool` beyond the analysis alone; "
        "`spool / tshark copy`: that overhead over tshark's whole copy. The whole job writes the "
        f"CDRs through the sensor's writer into `{db.rsplit('/', 1)[-1] or 'n/a'}`.",
    ]
    write_block("spool-bench", "Per-call pcaps and the whole job (spool bench)", lines)


if __name__ == "__main__":
    raise SystemExit(main())
