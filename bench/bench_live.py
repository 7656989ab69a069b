"""Live-sensor throughput: ``callsift sniff`` against tcpreplay at rising packet rates.

    .venv/bin/python bench/bench_live.py [--rates 25000,50000,...] [--iface veth|lo]
                                         [--calls 1000] [--packets 800000] [--no-doc]
                                         [--workers 1,2]

1. generates (or reuses) a load capture in bench/out/ (bench/gen_load.py: ``--calls``
   concurrent G.711 calls) and analyses it offline once (``callsift analyze --json``);
2. recreates the database ``callsift_bench_live`` (drop + migrate);
3. per rate: starts ``callsift sniff`` (own sensor id, spool and metrics port; a BPF on the
   capture's addresses), replays the file with ``tcpreplay --pps=RATE --timer=nano --pps-multi=32 --preload-pcap``, waits
   until ``callsift_packets`` stops growing, reads the drop counters from ``/metrics``, stops
   the sensor with SIGTERM, and compares its CDRs in MariaDB with the offline analysis (same
   call-ids, final codes, states, per-stream packets and lost);
4. prints the table and writes it into docs/BENCHMARKS.md between the live-bench markers.

Everything runs in network namespaces of its own (tests/live, shared with the live tests),
never on the host's busy ``lo``: ``--iface veth`` (default) replays from one namespace into a
veth pair whose other end, in the sensor's namespace, is captured; ``--iface lo`` replays onto
and captures on the loopback of the sensor's namespace. The sensor reaches MariaDB through a
relay into its namespace. A step is clean when the sensor saw
every packet of the file, neither the kernel nor the hand-over queue dropped one, and its
CDRs equal the offline ones. The sensor keeps up when it finished analysing within
``KEEP_UP_S`` of the replay's end (otherwise its queue hid the shortfall). Must run as root.
Not a unit test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from live_procs import DB_URL, HEALTH_TIMEOUT_S, SAMPLE_S, Lab, Sampler, lab, start_sensor  # noqa: E402
from live_report import KEEP_UP_S, table, verdicts, write_doc  # noqa: E402

from db.migrate import drop_database, migrate  # noqa: E402
from tests.live.cdrs import fetch_cdrs  # noqa: E402
from tests.live.counters import CLK_TCK, backlog_drops, tree_ticks  # noqa: E402
from tests.live.sensor import SensorProcess  # noqa: E402

log = logging.getLogger("bench_live")

OUT = ROOT / "bench" / "out"
DEFAULT_RATES = tuple(range(25_000, 250_001, 25_000))
DRAIN_TIMEOUT_S = 300.0
TCPREPLAY_ACTUAL = re.compile(r"Actual: (\d+) packets \((\d+) bytes\) sent in ([\d.]+) seconds")


# -- inputs ---------------------------------------------------------------------------------


def load_capture(calls: int, packets: int) -> tuple[Path, int]:
    """The load capture and its packet count, generated on first use."""
    OUT.mkdir(parents=True, exist_ok=True)
    cap = OUT / f"live_{calls}c_{packets}p.pcap"
    truth = Path(f"{cap}.truth.json")
    if not cap.exists() or not truth.exists():
        gen = [sys.executable, str(ROOT / "bench" / "gen_load.py"), str(cap), "--calls",
               str(calls), "--concurrent", str(calls), "--packets", str(packets)]  # fmt: skip
        subprocess.run(gen, check=True, timeout=600)
    return cap, int(json.loads(truth.read_text())["summary"]["packets"])


Summary = tuple[int | None, str, tuple[tuple[str, int, int, int, int], ...]]
"""final code, state, sorted (src ip, src port, ssrc, packets, lost) per stream."""


def summary(final_code: int | None, state: str, streams: list[Any]) -> Summary:
    rows = (
        (s["src_ip"], s["src_port"], s["ssrc"], s["packets"], s["lost"])
        if isinstance(s, dict)
        else (s.src_ip, s.src_port, s.ssrc, s.packets, s.lost)
        for s in streams
    )
    return final_code, state, tuple(sorted(rows))


def offline(cap: Path) -> tuple[dict[str, Summary], int, float]:
    """``callsift analyze --json`` of the file: calls by call-id, unbound streams, seconds."""
    cmd = [sys.executable, "-m", "sniffer.cli.main", "analyze", "--json", "--no-progress", str(cap)]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT, timeout=900)
    wall = time.perf_counter() - t0
    calls: dict[str, Summary] = {}
    orphans = 0
    for line in out.stdout.splitlines():
        rec = json.loads(line)
        if rec["type"] == "call":
            calls[rec["call_id"]] = summary(rec["final_code"], rec["state"], rec["streams"])
        orphans += rec["type"] == "stream"
    return calls, orphans, wall


PPS_MULTI = 32
"""tcpreplay sends this many packets per timing interval, sleeping in between (``--timer=nano``):
its default one-packet busy wait takes a whole core of the two, which the sensor then lacks."""


def replay(where: Lab, rate: int, cap: Path, n: int, sensor: SensorProcess) -> dict[str, Any]:
    """Run tcpreplay while sampling the sensor; then wait until it stops analysing."""
    cmd = ["tcpreplay", f"--intf1={where.tx_dev}", f"--pps={rate}", "--timer=nano",
           f"--pps-multi={PPS_MULTI}", "--preload-pcap", str(cap)]  # fmt: skip
    pid = sensor.proc.pid
    base = int(sensor.metrics()["callsift_packets"])
    ticks0 = tree_ticks(pid)
    sampler = Sampler(sensor)
    sampler.start()
    tr = where.tx.popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = tr.communicate(timeout=3 * n / rate + 60)[0]
        t_end = time.monotonic()
        if tr.returncode != 0:
            raise RuntimeError(f"tcpreplay failed ({tr.returncode}): {output[-500:]}")
        m = TCPREPLAY_ACTUAL.search(output)
        if m is None:
            raise RuntimeError(f"no 'Actual:' line in tcpreplay's output: {output[-500:]}")
        sent, send_s = int(m[1]), float(m[3])
        while (done := sampler.settled(n)) is None:
            if time.monotonic() - t_end > DRAIN_TIMEOUT_S:
                raise RuntimeError(f"the sensor still busy {DRAIN_TIMEOUT_S:.0f} s after replay")
            if sensor.proc.poll() is not None:
                raise RuntimeError(f"callsift sniff exited {sensor.proc.returncode}")
            time.sleep(SAMPLE_S)
        ticks1 = tree_ticks(pid)
    except subprocess.TimeoutExpired:
        raise RuntimeError("tcpreplay did not finish in time") from None
    finally:
        if tr.poll() is None:
            tr.kill()
            tr.wait()
        sampler.halt.set()
        sampler.join()
    t_done, packets = done
    if packets <= base:
        raise RuntimeError("the sensor analysed no packet")
    busy = max(t_done - (t_end - send_s), 1e-3)  # from tcpreplay's first packet
    return {
        "sent": sent,
        "achieved_pps": sent / send_s if send_s else 0.0,
        "send_s": send_s,
        "lag_s": max(0.0, t_done - t_end),
        "analysed_pps": (packets - base) / busy,
        "cpu_pct": 100.0 * (ticks1[0] - ticks0[0]) / CLK_TCK / busy,
        "cpu_max_pct": 100.0
        * max(b - a for a, b in zip(ticks0[1], ticks1[1], strict=False))
        / CLK_TCK
        / busy,
        "max_scrape_s": sampler.max_latency,
        "failed_scrapes": sampler.failed,
    }


async def db_check(
    sensor_id: int, expected: dict[str, Summary], orphans: int
) -> tuple[int, int, list[str]]:
    """(CDRs found, mismatching calls, first problems) of one sensor against the offline run."""
    calls, counts = await fetch_cdrs(DB_URL, sensor_id)
    found = {rec.call_id: summary(rec.final_code, rec.state, rec.streams) for rec in calls}
    dups = counts["duplicates"]
    problems: list[str] = []
    bad = 0
    for cid in sorted(expected.keys() | found.keys()):
        want, got = expected.get(cid), found.get(cid)
        if want != got:
            bad += 1
            if len(problems) < 5:
                problems.append(f"{cid}: offline {want} live {got}")
    if counts["cdr"] != len(found) or dups:
        problems.append(
            f"cdr rows {counts['cdr']}, distinct call-ids {len(found)}, dup uids {dups}"
        )
    if counts["rtp_orphan"] != orphans:
        problems.append(f"unbound streams: offline {orphans}, live {counts['rtp_orphan']}")
    return len(found), bad, problems


def step(
    where: Lab, rate: int, sensor_id: int, cap: Path, n: int, expected: dict[str, Summary],
    orphans: int, work: Path, env: dict[str, str],
) -> dict[str, Any]:  # fmt: skip
    spool = work / f"spool-{sensor_id}"
    sensor = start_sensor(where, sensor_id, spool, env)
    row: dict[str, Any] = {"rate": rate, "sensor_id": sensor_id}
    try:
        sensor.wait_ready(HEALTH_TIMEOUT_S, status="ok")
        before = backlog_drops()
        row.update(replay(where, rate, cap, n, sensor))
        m = sensor.metrics()
        row["backlog_drops"] = backlog_drops() - before
        row["captured"] = int(m["callsift_packets"])
        row["kernel_drops"] = int(m["callsift_kernel_dropped_packets"])
        row["queue_drops"] = int(m["callsift_queue_dropped_packets"])
        row["exit"], row["stop_s"], _log = sensor.stop()
    except BaseException:
        log.error("sensor log tail: %s", sensor.tail())
        raise
    finally:
        sensor.close()
    if row["exit"] != 0:
        log.error("sensor exited %d: %s", row["exit"], sensor.tail())
    row["journal_left"] = sum(
        1 for f in spool.glob(".journal/*/segment-*.jsonl") if f.stat().st_size
    )
    row["pcaps"] = sum(1 for _ in spool.rglob("*.pcap"))
    shutil.rmtree(spool, ignore_errors=True)
    found, bad, problems = asyncio.run(db_check(sensor_id, expected, orphans))
    row.update(cdrs=found, cdrs_expected=len(expected), mismatches=bad, problems=problems)
    row["clean"] = (
        row["sent"] == n and row["captured"] == n and row["kernel_drops"] == 0
        and row["queue_drops"] == 0 and found == len(expected) and bad == 0
        and not problems and row["exit"] == 0 and not row["journal_left"]
    )  # fmt: skip
    row["kept_up"] = row["clean"] and row["lag_s"] <= KEEP_UP_S
    return row


# -- main -----------------------------------------------------------------------------------


def _rates(text: str) -> list[int]:
    try:
        rates = [int(r.replace("_", "")) for r in text.split(",") if r.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of packet rates: {text!r}") from None
    if not rates or min(rates) < 1:
        raise argparse.ArgumentTypeError(f"not a list of packet rates: {text!r}")
    return rates


def _terminate(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rates", type=_rates, default=list(DEFAULT_RATES), help="pps, comma list")
    ap.add_argument("--iface", choices=("veth", "lo"), default="veth")
    ap.add_argument("--calls", type=int, default=1000, help="concurrent calls in the capture")
    ap.add_argument("--packets", type=int, default=800_000, help="packets in the capture (about)")
    ap.add_argument("--buffer-mb", type=int, help="sensor's kernel ring (default: its own)")
    ap.add_argument("--no-doc", action="store_true", help="do not update docs/BENCHMARKS.md")
    ap.add_argument(
        "--workers", type=_rates, default=[1], help="sensor worker processes, comma list"
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    signal.signal(signal.SIGTERM, _terminate)
    if os.geteuid() != 0:
        raise SystemExit("needs root (capture, tcpreplay, veth)")
    load0 = os.getloadavg()[0]
    cap, n = load_capture(args.calls, args.packets)
    log.info("capture %s: %d packets; offline analysis...", cap.name, n)
    expected, orphans, wall = offline(cap)
    log.info("offline: %d calls, %d unbound streams, %.1f s", len(expected), orphans, wall)
    asyncio.run(drop_database(DB_URL))
    asyncio.run(migrate(DB_URL))
    env = {"CALLSIFT_SPOOL_MAX_GB": "0", "CALLSIFT_SPOOL_MAX_AGE_DAYS": "0"}
    if args.buffer_mb:
        env["CALLSIFT_BUFFER_MB"] = str(args.buffer_mb)
    rows: list[dict[str, Any]] = []
    work = Path(tempfile.mkdtemp(prefix="callsift-bench-live-"))
    try:
        with lab(args.iface) as where:
            steps = [(w, rate) for w in args.workers for rate in args.rates]
            for i, (workers, rate) in enumerate(steps, 1):
                log.info(
                    "step %d: %d pps on %s/%s -> %s/%s, %d workers", i, rate, where.tx.name,
                    where.tx_dev, where.rx.name, where.rx_dev, workers,
                )  # fmt: skip
                wenv = {**env, "CALLSIFT_WORKERS": str(workers)}
                try:
                    row = step(where, rate, i, cap, n, expected, orphans, work, wenv)
                except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                    log.error("step at %d pps failed: %s", rate, exc)
                    row = {"rate": rate, "error": str(exc)[:200]}
                row["workers"] = workers
                rows.append(row)
                log.info("%s", json.dumps(row))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    meta = {"capture": cap.name, "packets": n, "calls": args.calls, "iface": args.iface,
            "offline_pps": n / wall, "load": (load0, os.getloadavg()[0])}  # fmt: skip
    report = "\n".join([*table(rows, n), "", *verdicts(rows)])
    sys.stdout.write(report + "\n")
    if not args.no_doc:
        write_doc(rows, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
