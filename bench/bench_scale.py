"""Cost per packet against the number of concurrent calls (issue 13, item 1).

    python bench/bench_scale.py [--concurrent 500,1000,5000,10000] [--baseline-tree DIR]
    python bench/bench_scale.py --callgrind [--concurrent 500,1000,5000,10000]

Captures come from bench/gen_load.py, cached in bench/out/: ``C`` calls that all overlap (they
start within the first eighth of a call), each ``--call-seconds`` long, so every capture has the
same packets per call-second and the same SIP and RTCP per RTP packet: only the number of
concurrent calls (streams, dialogs, flows) changes. The packets scale with ``C``
(``C * call_seconds * 100`` RTP packets).

With ``--steady N`` (default 500) the largest capture's calls are also generated about N at a
time, one starting as another ends: the same calls, packets and SIP, only fewer concurrent,
which isolates what concurrency alone costs (memory locality) from the rest.

CPU mode (default): on each capture, in rounds that run each command once (the order reversed
every other round), ``tshark -q -z rtp,streams`` and ``callsift analyze --json`` (and the same
command from ``--baseline-tree``, a checkout of another commit); per run the child's CPU time (user + sys from
``wait4``, not wall time: the machine is shared) minus the CPU time of the same command on a
one-call capture (interpreter start, imports), packets/s and µs per packet on that CPU time,
the ratio to the smallest capture's cost, and peak RSS beyond that baseline run per
concurrent call. ``--repeat N`` keeps each command's fastest of N runs.

Callgrind mode (``--callgrind``): instructions per packet under ``valgrind --tool=callgrind``
on short captures (``--cg-call-seconds``) of the same concurrency, minus a one-call run's
instructions: repeatable whatever the load and blind to cache misses, so it shows algorithmic
growth (dict sizes, SIP per packet, GC passes) while the CPU mode also shows memory locality.

Both modes write their block in docs/BENCHMARKS.md (``--no-doc`` to skip). Not a unit test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docblock import stamp, write_block

ROOT = Path(__file__).resolve().parent.parent
IMPL_ENV = "CALLSIFT_IMPL"
OUT = ROOT / "bench" / "out"
BASE_CAPTURE = ROOT / "tests" / "data" / "golden" / "sip_ipv6_udp_call.pcap"
LOSS = 0.005
"""gen_load.py's default loss rate (its --packets is counted after loss)."""
TICKS_PER_S = 50
"""20 ms G.711 packets: 50 per second per direction."""
START_SPREAD = 8
"""All calls start within 1/START_SPREAD of a call's span (gen_load --concurrent = 8 C)."""


def capture(calls: int, call_s: float, at_once: int = 0) -> tuple[Path, dict[str, Any]]:
    """The cached capture of ``calls`` calls of ``call_s`` seconds, and its truth: all of
    them overlapping, or (``at_once``) about that many at a time, one starting as one ends."""
    slots = round(call_s * TICKS_PER_S)
    cap = OUT / (f"scale_{calls}c_{slots}s" + (f"_{at_once}x" if at_once else "") + ".pcap")
    truth = Path(f"{cap}.truth.json")
    if not cap.exists() or not truth.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        packets = int(calls * 2 * slots * (1 - LOSS)) - 1  # gen_load: ceil(...) = slots
        subprocess.run(
            ["nice", sys.executable, str(ROOT / "bench" / "gen_load.py"), str(cap),
             "--calls", str(calls), "--concurrent", str(at_once or calls * START_SPREAD),
             "--packets", str(packets)],
            check=True,
        )  # fmt: skip
    return cap, json.loads(truth.read_text())["summary"]


def run_child(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, float]:
    """Run ``cmd`` (stdout discarded); its CPU seconds (user + sys, its waited-for children's
    included), peak RSS (KiB) and wall seconds."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err[-2000:]}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss, wall


def tree_env(tree: Path, impl: str) -> dict[str, str]:
    """Environment running callsift from the source tree ``tree`` with hot path ``impl``."""
    return {**os.environ, "PYTHONPATH": str(tree), IMPL_ENV: impl}


def analyze_cmd(path: Path, workers: int = 1) -> list[str]:
    return ["nice", sys.executable, "-m", "sniffer.cli.main", "analyze", "--json",
            "--no-progress", "--workers", str(workers), str(path)]  # fmt: skip


def best(cmd: list[str], env: dict[str, str] | None, repeat: int) -> tuple[float, int, float]:
    """Fastest CPU and wall of ``repeat`` runs, largest peak RSS."""
    return best_interleaved({"": (cmd, env)}, repeat)[""]


def best_interleaved(
    cmds: dict[str, tuple[list[str], dict[str, str] | None]], repeat: int
) -> dict[str, tuple[float, int, float]]:
    """Each command's fastest CPU and wall, largest peak RSS, over ``repeat`` rounds that run
    every command once (in turn, the order reversed every other round): on a shared machine a
    slow minute then costs every command a run, not one command all of its runs."""
    runs: dict[str, list[tuple[float, int, float]]] = {name: [] for name in cmds}
    for i in range(repeat):
        for name in list(cmds)[:: 1 if i % 2 == 0 else -1]:
            runs[name].append(run_child(*cmds[name]))
    return {
        name: (min(r[0] for r in rs), max(r[1] for r in rs), min(r[2] for r in rs))
        for name, rs in runs.items()
    }


def add_ratios(rows: list[dict[str, Any]], names: list[str], key: str) -> None:
    """Each column's ``ratio``: its ``key`` against the same column's in the first row."""
    for name in names:
        ref = rows[0][name][key]
        for row in rows:
            row[name]["ratio"] = row[name][key] / ref


# -- CPU mode ----------------------------------------------------------------------------


def variants(args: argparse.Namespace) -> dict[str, tuple[dict[str, str], int]]:
    """Column name -> (environment, workers): the pure and compiled hot paths in one process,
    the compiled one with 2 workers, and ``--baseline-tree`` (``--baseline-impl``) when given."""
    out: dict[str, tuple[dict[str, str], int]] = {}
    if args.baseline_tree:
        out["before"] = (tree_env(Path(args.baseline_tree).resolve(), args.baseline_impl), 1)
    out["pure"] = (tree_env(ROOT, "pure"), 1)
    if compiled_built():
        out["compiled"] = (tree_env(ROOT, "compiled"), 1)
        if args.workers2:
            out["compiled, 2 workers"] = (tree_env(ROOT, "compiled"), 2)
    return out


def compiled_built() -> bool:
    code = "from sniffer.compiled import why_not_compiled as w; raise SystemExit(bool(w()))"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0


def cpu_mode(args: argparse.Namespace) -> dict[str, Any]:
    runs = variants(args)
    base = best_interleaved(
        {name: (analyze_cmd(BASE_CAPTURE, w), env) for name, (env, w) in runs.items()}, 3
    )
    rows: list[dict[str, Any]] = []
    plan = [(calls, 0) for calls in args.concurrent]
    if args.steady:
        plan.insert(1, (max(args.concurrent), args.steady))
    for calls, at_once in plan:
        cap, summary = capture(calls, args.call_seconds, at_once)
        n = summary["packets"]
        row: dict[str, Any] = {
            "calls": calls,
            "at_once": at_once,
            "peak_concurrent": summary["peak_concurrent_calls"],
            "packets": n,
            "rtp_packets": summary["rtp_packets"],
            "capture": cap.name,
        }
        cmds = {name: (analyze_cmd(cap, w), env) for name, (env, w) in runs.items()}
        if not args.no_tshark:
            cmds["tshark"] = (["nice", "tshark", "-q", "-r", str(cap), "-z", "rtp,streams"], None)
        got = best_interleaved(cmds, args.repeat)
        if not args.no_tshark:
            cpu, rss, wall = got["tshark"]
            row["tshark"] = {"cpu_s": cpu, "wall_s": wall, "pps": n / cpu, "rss_kib": rss}
        for name, (_env, workers) in runs.items():
            cpu, rss, wall = got[name]
            net = max(cpu - base[name][0], 1e-9)
            net_wall = max(wall - base[name][2], 1e-9)
            row[name] = {
                "workers": workers,
                "cpu_s": cpu,
                "net_cpu_s": net,
                "wall_s": wall,
                "pps": n / net,
                "wall_pps": n / net_wall,
                "us_per_packet": net * 1e6 / n,
                "rss_kib": rss,
                "kib_per_call": (rss - base[name][1]) / summary["peak_concurrent_calls"],
            }
        rows.append(row)
        print(json.dumps(row), flush=True)
    add_ratios(rows, list(runs), "us_per_packet")
    return {"rows": rows, "variants": list(runs), "base": base,
            "call_seconds": args.call_seconds, "repeat": args.repeat, "steady": args.steady,
            "baseline_rev": args.baseline_rev, "baseline_impl": args.baseline_impl}  # fmt: skip


def cpu_doc(r: dict[str, Any]) -> list[str]:
    names = r["variants"]
    tshark = "tshark" in r["rows"][0]
    head = "| concurrent calls | packets |" + (" tshark packets/s |" if tshark else "")
    rule = "|---:|---:|" + ("---:|" if tshark else "")
    for name in names:
        if r["rows"][0][name]["workers"] > 1:
            head += f" {name}: packets/s (wall) | x 1 process (wall) |"
            rule += "---:|---:|"
            continue
        head += f" {name}: µs/packet | x 500 | KiB/call |" + (" x tshark |" if tshark else "")
        rule += "---:|---:|---:|" + ("---:|" if tshark else "")
    lines = [
        f"Last run: {stamp()}, `python bench/bench_scale.py"
        + (" --baseline-tree DIR" if "before" in names else "")
        + f"` (part of `make bench`): {r['call_seconds']:g} s G.711 calls that all overlap, "
        "so every capture has the same packets per call-second. µs/packet: CPU time "
        "(user + sys) of `analyze --json --workers 1` minus that of the same command on a "
        "one-call capture, per packet; x 500: against the 500-call capture; KiB/call: peak RSS "
        "beyond the one-call run per concurrent call; x tshark: packets per CPU second against "
        "tshark `-q -z rtp,streams` on the same file. 2 workers: packets per wall second (the "
        f"one-call run's wall time taken off) against the compiled single process. Fastest of "
        f"{r['repeat']} rounds, each running every command once in turn."
        + (
            ' The row "in turn" is the largest capture\'s calls again, about '
            f"{r['steady']:,} at a time (one starting as another ends): the same calls, "
            "packets and SIP as that capture, only fewer concurrent."
            if r.get("steady")
            else ""
        ),
        "",
        head,
        rule,
    ]
    for row in r["rows"]:
        at_once = row.get("at_once", 0)
        label = f"{at_once:,} ({row['calls']:,} in turn)" if at_once else f"{row['calls']:,}"
        line = f"| {label} | {row['packets']:,} |"
        t = row.get("tshark")
        if t:
            line += f" {t['pps']:,.0f} |"
        for name in names:
            c = row[name]
            if c["workers"] > 1:
                one = row.get("compiled", c)
                line += f" {c['wall_pps']:,.0f} | {c['wall_pps'] / one['wall_pps']:.2f} |"
                continue
            line += f" {c['us_per_packet']:.2f} | {c['ratio']:.2f} | {c['kib_per_call']:.1f} |"
            if t:
                line += f" {c['pps'] / t['pps']:.2f} |"
        lines.append(line)
    steady = [row for row in r["rows"] if row.get("at_once")]
    if steady:
        top = max((row for row in r["rows"] if not row.get("at_once")), key=lambda x: x["calls"])
        each = ", ".join(
            f"{name} {top[name]['us_per_packet'] / steady[0][name]['us_per_packet']:.2f}x"
            for name in names
            if top[name]["workers"] == 1
        )
        lines += ["", f"{top['calls']:,} concurrent against the same calls "
                  f"{steady[0]['at_once']:,} at a time (µs/packet): {each}."]  # fmt: skip
    if "before" in names:
        impl = "compiled" if r.get("baseline_impl") == "compiled" else "pure Python"
        lines += ["", f"before: {r['baseline_rev'] or 'the baseline tree'}, {impl}."]
    return lines


# -- callgrind mode ----------------------------------------------------------------------

_IR = re.compile(r"Collected\s*:\s*(\d+)")


def instructions(cmd: list[str], env: dict[str, str] | None) -> int:
    with tempfile.TemporaryDirectory(prefix="callsift-cg-") as tmp:
        proc = subprocess.run(
            ["nice", "valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out",
             *cmd[1:]],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        m = _IR.search(proc.stderr)
        if proc.returncode != 0 or m is None:
            raise SystemExit(f"callgrind failed: {proc.stderr[-2000:]}")
        return int(m.group(1))


def callgrind_mode(args: argparse.Namespace) -> dict[str, Any]:
    trees: dict[str, Path] = {"callsift": ROOT}
    if args.baseline_tree:
        trees = {"baseline": Path(args.baseline_tree).resolve(), "callsift": ROOT}
    impl = os.environ.get(IMPL_ENV, "auto")
    envs = {name: tree_env(t, impl) for name, t in trees.items()}
    base = {name: instructions(analyze_cmd(BASE_CAPTURE), envs[name]) for name in trees}
    rows: list[dict[str, Any]] = []
    for calls in args.concurrent:
        cap, summary = capture(calls, args.cg_call_seconds)
        n = summary["packets"]
        row: dict[str, Any] = {"calls": calls, "packets": n, "capture": cap.name}
        for name in trees:
            ir = instructions(analyze_cmd(cap), envs[name])
            row[name] = {"ir": ir, "ir_per_packet": (ir - base[name]) / n}
        rows.append(row)
        print(json.dumps(row), flush=True)
    add_ratios(rows, list(trees), "ir_per_packet")
    return {"rows": rows, "trees": list(trees), "call_seconds": args.cg_call_seconds,
            "baseline_rev": args.baseline_rev}  # fmt: skip


def callgrind_doc(r: dict[str, Any]) -> list[str]:
    names = r["trees"]
    head, rule = "| concurrent calls | packets |", "|---:|---:|"
    for name in names:
        label = "before" if name == "baseline" else "callsift"
        head += f" {label} instructions/packet | {label} x 500 |"
        rule += "---:|---:|"
    lines = [
        f"Last run: {stamp()}, `python bench/bench_scale.py --callgrind"
        + (" --baseline-tree DIR" if "baseline" in names else "")
        + f"`: {r['call_seconds']:g} s calls that all overlap, instructions of "
        "`callsift analyze --json` under `valgrind --tool=callgrind` minus those of a one-call "
        "run, per packet (load-independent, blind to cache misses).",
        "",
        head,
        rule,
    ]
    for row in r["rows"]:
        line = f"| {row['calls']:,} | {row['packets']:,} |"
        for name in names:
            c = row[name]
            line += f" {c['ir_per_packet']:,.0f} | {c['ratio']:.2f} |"
        lines.append(line)
    if "baseline" in names:
        lines += ["", f"before: {r['baseline_rev'] or 'the baseline tree'}; callsift: this tree."]
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--concurrent", default="500,1000,5000,10000",
                    help="comma-separated concurrent calls (default: %(default)s)")  # fmt: skip
    ap.add_argument("--call-seconds", type=float, default=10.0)
    ap.add_argument("--callgrind", action="store_true", help="instructions per packet instead")
    ap.add_argument("--cg-call-seconds", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=1, help="fastest of N runs per command")
    ap.add_argument("--steady", type=int, default=500, metavar="N",
                    help="also the largest --concurrent's calls, about N at a time (default: "
                    "%(default)s; 0: not)")  # fmt: skip
    ap.add_argument("--no-tshark", action="store_true")
    ap.add_argument("--no-workers", dest="workers2", action="store_false",
                    help="skip the 2-worker runs")  # fmt: skip
    ap.add_argument("--baseline-tree", metavar="DIR",
                    help="also run callsift from this source tree (e.g. `git archive REV | tar "
                    "-x -C DIR`), interleaved with this tree's runs")  # fmt: skip
    ap.add_argument("--baseline-rev", default="", help="what the baseline tree is (for the doc)")
    ap.add_argument("--baseline-impl", choices=("pure", "compiled"), default="pure",
                    help="the baseline tree's hot path (compiled: built there by make compile)")  # fmt: skip
    ap.add_argument("--no-doc", action="store_true", help="do not update docs/BENCHMARKS.md")
    args = ap.parse_args()
    args.concurrent = [int(c) for c in args.concurrent.split(",")]
    if args.callgrind:
        res = callgrind_mode(args)
        name, title, lines = "scale-callgrind", "Instructions per packet against concurrent calls", callgrind_doc(res)  # fmt: skip
    else:
        res = cpu_mode(args)
        name, title, lines = "scale-cpu", "Cost per packet against concurrent calls", cpu_doc(res)
    (OUT / f"{name}.json").write_text(json.dumps(res, indent=1))
    print("\n".join(lines))
    if not args.no_doc:
        write_block(name, title, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
