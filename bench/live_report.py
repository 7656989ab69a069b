"""The report of ``bench/bench_live.py``: its table, its verdicts and its block in
docs/BENCHMARKS.md (between the live-bench markers)."""

from __future__ import annotations

import os
from typing import Any

from docblock import stamp, write_block

KEEP_UP_S = 0.5
"""A step kept up when the sensor finished analysing within this long of the replay's end."""

HEADER = (
    "| workers | pps requested | pps achieved | captured | kernel drops | queue drops | backlog drops "
    "| CDRs found/expected | mismatches | pcaps | analysed pps | lag s | sensor CPU % "
    "| busiest process CPU % | slowest /metrics s | clean |"
)


def table(rows: list[dict[str, Any]], n: int) -> list[str]:
    lines = [HEADER, "|" + "---:|" * 15 + "---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['workers']} | {r['rate']:,} | failed: {r['error']} |" + " |" * 13)
            continue
        verdict = "yes" if r["kept_up"] else ("yes (queued)" if r["clean"] else "no")
        lines.append(
            f"| {r['workers']} | {r['rate']:,} | {r['achieved_pps']:,.0f} | {r['captured']:,}/{n:,} "
            f"| {r['kernel_drops']:,} | {r['queue_drops']:,} | {r['backlog_drops']:,} "
            f"| {r['cdrs']}/{r['cdrs_expected']} | {r['mismatches']} | {r['pcaps']} "
            f"| {r['analysed_pps']:,.0f} | {r['lag_s']:.1f} | {r['cpu_pct']:.0f} "
            f"| {r['cpu_max_pct']:.0f} | {r['max_scrape_s']:.1f} | {verdict} |"
        )
    return lines


def verdicts(all_rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for w in dict.fromkeys(r["workers"] for r in all_rows):
        rows = [r for r in all_rows if r["workers"] == w]
        out += [f"With {w} worker{'s' if w != 1 else ''}: " + line for line in _verdicts(rows)]
    return out


def _verdicts(rows: list[dict[str, Any]]) -> list[str]:
    clean = [r for r in rows if r.get("clean")]
    kept = [r for r in rows if r.get("kept_up")]
    best = max(clean, key=lambda r: r["achieved_pps"], default=None)
    best_kept = max(kept, key=lambda r: r["achieved_pps"], default=None)
    out = [
        "Highest clean rate: "
        + (f"{best['achieved_pps']:,.0f} pps (requested {best['rate']:,})" if best else "none")
        + "; highest rate the sensor kept up with (analysis done within "
        + f"{KEEP_UP_S:.1f} s of the replay's end): "
        + (f"{best_kept['achieved_pps']:,.0f} pps" if best_kept else "none")
        + "."
    ]
    for r in rows:
        if not r.get("clean"):
            kinds = [k for k in ("kernel_drops", "queue_drops", "backlog_drops") if r.get(k)]
            out.append(
                f"First unclean step: {r['rate']:,} pps requested"
                + (f" ({', '.join(k.replace('_', ' ') for k in kinds)})" if kinds else "")
                + (f"; {r['error']}" if "error" in r else "")
                + "."
            )
            break
    return out


def write_doc(rows: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    write_block(
        "live-bench",
        "Live sensor under tcpreplay",
        [
            f"Last run: {stamp()}, "
            "`python bench/bench_live.py`, "
            f"{os.cpu_count()} CPUs. Capture `{meta['capture']}`: {meta['packets']:,} packets, "
            f"{meta['calls']} concurrent G.711 calls, replayed with `tcpreplay --pps=RATE "
            f"--timer=nano --pps-multi=32 --preload-pcap` on `{meta['iface']}` "
            + (
                "(a veth pair from the sender's network namespace into the sensor's) "
                if meta["iface"] == "veth"
                else "(the loopback of the sensor's network namespace) "
            )
            + "into `callsift sniff` (default settings, pcaps and MariaDB on, BPF on the "
            "capture's addresses), one sensor per rate. Load average (1 min) "
            f"{meta['load'][0]:.2f} at the start, {meta['load'][1]:.2f} at the end.",
            "",
            *table(rows, meta["packets"]),
            "",
            *verdicts(rows),
            "",
            f"For scale: `callsift analyze --json` (no pcaps, no database) of the same file ran at "
            f"{meta['offline_pps']:,.0f} packets/s in this run.",
            "",
            "Captured: packets the sensor analysed (`callsift_packets`). Backlog drops: the "
            "kernel's per-CPU input backlog overflowed before any capture saw the packet "
            "(/proc/net/softnet_stat). Mismatches: calls whose final code, state or per-stream "
            "packets/lost differ from `callsift analyze --json` of the same file. Analysed pps: "
            "packets over the time from the first to the last one analysed; lag: how long "
            "analysis went on after tcpreplay ended (the hand-over queue holds up to 1024 batches "
            "of at most 512 packets, so a clean step with a long lag means the sensor did not keep up and a "
            "longer replay would drop). CPU: the sensor process and its worker processes over "
            "the same span (all their threads; 100 % = one core); busiest process: the one of "
            'them that used the most (`--workers`: docs/ARCHITECTURE.md "Workers"). Slowest /metrics: the longest one `GET /metrics` took '
            "during the step (one every 0.25 s). tcpreplay sends 32 packets per timing "
            "interval and sleeps in between (its default busy wait would take one of the two "
            "cores); the kernel's work of delivering the packets is on the same 2 cores.",
        ],
    )
