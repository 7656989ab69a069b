"""Memory of the analyzer under a flood of unanswered INVITEs (issue 6, item 7).

Feeds N INVITEs with SDP (each a new Call-ID, never answered: a scanner or a dead peer) at a
given rate of capture time through the real :class:`Analyzer` (with ``--spool``, per-call pcaps
in a throw-away spool), once with the default call limit and once with the limit lifted, each
in a process of its own; reports peak RSS, tracked calls at the end and the counters.

Run: .venv/bin/python bench/bench_flood.py [--invites 200000] [--rate 1000] [--spool] [--no-doc]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

T0 = 1_790_000_000.0
UNLIMITED = 10**9


def child(invites: int, rate: int, max_calls: int, spooled: bool) -> dict[str, Any]:
    """The measured run (in its own process: ru_maxrss is this run's peak)."""
    import resource

    from db.records import Record
    from sniffer.analyzer import Analyzer
    from sniffer.analyzer_config import AnalyzerConfig
    from sniffer.spool.spool import CallPcapSpool
    from tests.pcapgen import sip
    from tests.pcapgen.frames import IPPROTO_UDP, ethernet, ipv4, udp

    invite = sip.invite("X" * 12, "scanner", "100", "10.9.0.1", "10.9.0.2",
                        sdp_ip="10.9.0.1", sdp_port=30000)  # fmt: skip
    frame = ethernet(ipv4("10.9.0.1", "10.9.0.2", IPPROTO_UDP, udp(5060, 5060, invite)))
    at = frame.index(b"X" * 12)
    records = 0

    def sink(rec: Record) -> None:
        nonlocal records
        records += 1

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with (
        tempfile.TemporaryDirectory(prefix="callsift-flood-") as tmp,
        CallPcapSpool(tmp, 1) as spool,
    ):
        config = AnalyzerConfig(max_calls=max_calls)
        a = Analyzer(1, sink, spool=spool if spooled else None, config=config)
        batch = 1000
        for start in range(0, invites, batch):
            a.feed(
                [
                    (T0 + i / rate, frame[:at] + f"{i:012d}".encode() + frame[at + 12 :])
                    for i in range(start, min(invites, start + batch))
                ]
            )
        tracked = len(a.tracker.calls)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        a.finish()
    c = a.counters
    return {
        "max_calls": max_calls,
        "peak_rss_mib": peak / 1024,
        "baseline_rss_mib": base / 1024,
        "tracked_at_end": tracked,
        "created": c["calls.created"],
        "refused": c["calls.table_full"],
        "pressure_timeouts": c["calls.pressure_timeout"],
        "records": records,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--invites", type=int, default=200_000)
    ap.add_argument(
        "--rates", default="1000,10000", help="INVITEs per second of capture time (comma list)"
    )
    ap.add_argument("--rate", type=int, default=1000, help=argparse.SUPPRESS)
    ap.add_argument("--spool", action="store_true", help="per-call pcaps on (slow: a file each)")
    ap.add_argument("--no-doc", action="store_true")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.invites, args.rate, args.child, args.spool)))
        return 0
    from db.settings import MAX_CALLS

    rates = [int(r) for r in args.rates.split(",")]
    plan = [(r, MAX_CALLS) for r in rates] + [(rates[0], UNLIMITED)]
    runs = []
    for rate, limit in plan:
        out = subprocess.run(
            [sys.executable, __file__, "--invites", str(args.invites), "--rate", str(rate),
             "--child", str(limit), *(["--spool"] if args.spool else [])],
            check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        runs.append({"rate": rate, **json.loads(out.stdout)})
    print(json.dumps(runs, indent=2))
    if not args.no_doc:
        write_doc(args, runs)
    return 0


def write_doc(args: argparse.Namespace, runs: list[dict[str, Any]]) -> None:
    from docblock import stamp, write_block

    lines = [
        f"Last run: {stamp()}, `python bench/bench_flood.py`: {args.invites:,} INVITEs with SDP "
        "through the analyzer, each a new Call-ID, none answered, at a steady rate of capture "
        f"time; per-call pcaps {'on' if args.spool else 'off'}, call timeout 300 s (default).",
        "",
        "| INVITEs/s | max_calls | peak RSS MiB | calls tracked at the end | calls created | "
        "refused (`calls.table_full`) | closed early (`calls.pressure_timeout`) |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        limit = "no limit" if r["max_calls"] == UNLIMITED else f"{r['max_calls']:,} (default)"
        lines.append(
            f"| {r['rate']:,} | {limit} | {r['peak_rss_mib']:.0f} | {r['tracked_at_end']:,} | {r['created']:,} "
            f"| {r['refused']:,} | {r['pressure_timeouts']:,} |"
        )
    lines += [
        "",
        "Without a limit, memory grows with the flood for as long as the call timeout (300 s) "
        "keeps the dialogs; with it, memory stays under what `max_calls` dialogs take whatever "
        "the rate: once the table is 80 % full, dialogs without any response for 32 s (Timer B) "
        "are closed early; a flood that fills the table before its first dialogs are 32 s old "
        "(here within the 20 s of the 10,000/s run) is refused beyond the limit.",
    ]
    write_block("flood-bench", "Memory under an INVITE flood", lines)


if __name__ == "__main__":
    raise SystemExit(main())
