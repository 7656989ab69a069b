"""Packet mirroring: what the sender costs and what the receiver keeps up with.

    .venv/bin/python bench/bench_mirror.py [--rate 50000] [--calls 500] [--packets 300000]
                                           [--no-doc]

In network namespaces of its own (tests/live, like bench_live.py), on the same load capture:

1. **direct**: ``callsift sniff -i`` captures the veth while tcpreplay sends the capture at
   ``--rate``: the receiving sensor's CPU for that traffic (the reference);
2. **mirrored**: ``callsift mirror-send -i`` captures the same veth at the same rate and streams
   to ``callsift sniff --mirror-listen`` beside it: sender CPU (per 100,000 packets/s), its
   compression ratio, bytes on the wire per packet and against the captured bytes, the
   receiver's CPU; every packet must arrive (receiver's count = the file's);
3. **capacity**: the direct sensor under tcpreplay at ``--max-rate`` (above what it analyses)
   gives its analysis rate; three ``mirror-send -r`` at full speed into one receiver give the
   receiver's, over the span from the first packet to the last analysed.

Targets (issue 12): sender CPU under a quarter of the direct sensor's for the same traffic,
wire bytes under 60 % of the captured bytes, receiver rate within 20 % of the direct sensor's.
Results go to docs/BENCHMARKS.md between the mirror-bench markers. Root needed; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_live import load_capture, replay  # noqa: E402
from docblock import stamp, write_block  # noqa: E402
from live_procs import BPF, Lab, Sampler, lab  # noqa: E402

from db.migrate import drop_database, migrate  # noqa: E402
from sniffer.capture.files import open_capture  # noqa: E402
from tests.live.counters import CLK_TCK, cpu_ticks  # noqa: E402
from tests.live.sensor import SensorProcess  # noqa: E402
from tests.sniffer.mirror.live import ReceiverProcess, SenderProcess, secrets_file  # noqa: E402

log = logging.getLogger("bench_mirror")

DB_URL = "mysql://root@127.0.0.1:3306/callsift_bench_mirror"
NAMES = ("bench-1", "bench-2", "bench-3")
SECRETS = {n: f"{n}-bench-secret-0123456789" for n in (*NAMES, "bench-live")}
ENV = {"CALLSIFT_SPOOL_MAX_GB": "0", "CALLSIFT_HEARTBEAT_S": "2"}
DRAIN_S = 300.0


def captured_bytes(cap: Path) -> int:
    with open_capture(cap) as src:
        return sum(len(f) for _, f in src.packets())


def direct(where: Lab, rate: int, cap: Path, n: int, work: Path, sid: int) -> dict[str, Any]:
    sensor = SensorProcess(
        where.rx, iface=where.rx_dev, bpf=BPF, db_url=DB_URL, sensor_id=sid,
        spool=work / f"direct-{sid}", sensor_name=f"bench-direct-{sid}", env=ENV,
    )  # fmt: skip
    try:
        sensor.wait_ready(30, status="ok")
        row = replay(where, rate, cap, n, sensor)
        row["captured"] = int(sensor.metrics()["callsift_packets"])
    finally:
        sensor.stop()
        sensor.close()
    return row


def mirrored(where: Lab, rate: int, cap: Path, n: int, work: Path) -> dict[str, Any]:
    secrets = secrets_file(work / "secrets", SECRETS)
    receiver = ReceiverProcess(
        where.rx, db_url=DB_URL, spool=work / "recv-live", secrets=secrets, port=9070
    )
    sender = None
    try:
        receiver.wait_ready(30)
        sender = SenderProcess(
            where.rx, name="bench-live", secret=SECRETS["bench-live"], to="127.0.0.1:9070",
            iface=where.rx_dev, bpf=BPF, log_path=work / "sender-live.log",
        )  # fmt: skip
        sender.wait_ready(30)
        time.sleep(1)
        t0 = cpu_ticks(sender.pid)
        row = replay(where, rate, cap, n, receiver)
        span = row["send_s"] + row["lag_s"]
        row["sender_cpu_pct"] = 100.0 * (cpu_ticks(sender.pid) - t0) / CLK_TCK / span
        f = sender.figures()
        row.update(
            captured=int(receiver.metrics()["callsift_packets"]),
            sender_captured=f["captured_packets"], sent_bytes=f["sent_bytes"],
            sent_packets=f["sent_packets"], ratio=f["compression_ratio"],
            dropped=f["dropped_packets_buffer_full"],
        )  # fmt: skip
    finally:
        if sender is not None:
            sender.stop()
            sender.close()
        receiver.stop()
        receiver.close()
    return row


def three_senders(where: Lab, cap: Path, n: int, work: Path) -> dict[str, Any]:
    """Three senders connect, then the receiver is frozen (SIGSTOP) while they read the whole
    file into their buffers; thawed, it takes the three streams at full speed: its own
    analysis rate, not the senders' (on 2 cores they would compete for the CPU)."""
    secrets = secrets_file(work / "secrets", SECRETS)
    senders: list[SenderProcess] = []
    receiver = ReceiverProcess(
        where.rx, db_url=DB_URL, spool=work / "recv-3", secrets=secrets, port=9071
    )
    try:
        receiver.wait_ready(30)
        for name in NAMES:
            senders.append(
                SenderProcess(
                    where.rx,
                    name=name,
                    secret=SECRETS[name],
                    to="127.0.0.1:9071",
                    read=cap,
                    iface=None,
                    log_path=work / f"{name}.log",
                    extra_args=("--buffer-mb", "256"),
                )
            )
        deadline = time.monotonic() + DRAIN_S
        while not all(_up(s) for s in senders):
            if time.monotonic() > deadline:
                raise RuntimeError("the senders did not connect")
            time.sleep(0.05)
        os.kill(receiver.pid, signal.SIGSTOP)
        try:
            while not all(s.figures()["captured_packets"] >= n for s in senders):
                if time.monotonic() > deadline:
                    raise RuntimeError("the senders did not read the file")
                time.sleep(0.25)
        finally:
            os.kill(receiver.pid, signal.SIGCONT)
        t0, ticks = time.monotonic(), cpu_ticks(receiver.pid)
        base = int(receiver.metrics(60)["callsift_packets"])
        sampler = Sampler(receiver)
        sampler.start()
        while (done := sampler.settled(3 * n)) is None:
            if time.monotonic() > deadline + DRAIN_S:
                raise RuntimeError("the receiver is still busy")
            time.sleep(0.25)
        sampler.halt.set()
        sampler.join()
        t_done, packets = done
        cpu = (cpu_ticks(receiver.pid) - ticks) / CLK_TCK
        for s in senders:
            if s.proc.wait(60) != 0:
                raise RuntimeError(f"mirror-send -r failed: {s.tail()}")
        busy = max(t_done - t0, 1e-3)
        return {
            "packets": packets,
            "analysed_pps": (packets - base) / busy,
            "cpu_pct": 100.0 * cpu / (time.monotonic() - t0),
            "busy_s": busy,
        }
    finally:
        for s in senders:
            s.close()
        receiver.stop()
        receiver.close()


def _up(s: SenderProcess) -> bool:
    try:
        return s.figures()["receiver"] is not None
    except OSError:
        return False


def report(meta: dict[str, Any], d: dict[str, Any], m: dict[str, Any],
           cap_d: dict[str, Any], cap_r: dict[str, Any]) -> list[str]:  # fmt: skip
    rate = m["achieved_pps"]
    per100k = m["sender_cpu_pct"] * 100_000 / rate
    direct_per100k = d["cpu_pct"] * 100_000 / d["achieved_pps"]
    wire = m["sent_bytes"] / m["sent_packets"] if m["sent_packets"] else 0.0
    share = m["sent_bytes"] / meta["bytes"] * m["sent_packets"] / meta["n"]
    ratio = cap_r["analysed_pps"] / cap_d["analysed_pps"]
    ok = lambda b: "yes" if b else "**no**"  # noqa: E731
    return [
        f"Last run: {stamp()}, `python bench/bench_mirror.py --rate {meta['rate']}`, 2 CPUs. "
        f"Capture `{meta['cap']}`: {meta['n']:,} packets ({meta['bytes']:,} bytes, "
        f"{meta['bytes'] / meta['n']:.0f} B/packet), {meta['calls']} concurrent G.711 calls; "
        "tcpreplay on a veth in namespaces of their own; the sender and the receiver in the "
        "capturing namespace (the stream over its loopback).",
        "",
        "| measure | direct sensor | mirror sender | mirror receiver | target | met |",
        "|---|---:|---:|---:|---|---|",
        f"| CPU at {rate:,.0f} pps, % of a core | {d['cpu_pct']:.0f} | {m['sender_cpu_pct']:.1f} "
        f"| {m['cpu_pct']:.0f} | sender < 1/4 of direct | {ok(m['sender_cpu_pct'] < d['cpu_pct'] / 4)} |",
        f"| CPU per 100,000 pps, % of a core | {direct_per100k:.0f} | {per100k:.1f} | "
        f"{m['cpu_pct'] * 100_000 / rate:.0f} | | |",
        f"| packets arriving (of {meta['n']:,}) | {d['captured']:,} | {m['sender_captured']:,} "
        f"captured, {m['dropped']} dropped | {m['captured']:,} | all | "
        f"{ok(m['captured'] == meta['n'])} |",
        f"| compression ratio (zstd batches) | | {m['ratio']:.2f} | | | |",
        f"| bytes on the wire per packet | {meta['bytes'] / meta['n']:.0f} | {wire:.1f} | | | |",
        f"| wire bytes / captured bytes | | {100 * share:.0f} % | | < 60 % | {ok(share < 0.6)} |",
        f"| analysis rate, pps (capacity) | {cap_d['analysed_pps']:,.0f} | | "
        f"{cap_r['analysed_pps']:,.0f} (3 senders) | receiver ≥ 80 % of direct | "
        f"{ok(ratio >= 0.8)} ({100 * ratio:.0f} %) |",
        f"| CPU per packet, receiver / direct at {rate:,.0f} pps | | | "
        f"{m['cpu_pct'] / d['cpu_pct']:.2f} | ≤ 1.25 | {ok(m['cpu_pct'] / d['cpu_pct'] <= 1.25)} |",
        "",
        f"Capacity: the direct sensor under tcpreplay at {meta['max_rate']:,} pps (more than it "
        "analyses; packets over the time from the first to the last analysed); the receiver fed "
        "by three `mirror-send -r` of the file, connected, that buffered all of it while the "
        "receiver was frozen (SIGSTOP) and then drain at full speed "
        f"({cap_r['packets']:,} packets, the last {cap_r['busy_s']:.1f} s after the thaw, "
        f"receiver CPU {cap_r['cpu_pct']:.0f} %). Wire bytes: frame "
        "headers, MACs and zstd batch bodies as sent on the TCP stream (without TCP/IP "
        "headers). The load capture's RTP payloads are generated, so they compress better than "
        "real voice: expect a ratio nearer 0.5-0.6 for G.711 audio (headers still shrink). "
        f"Machine load average at the end: {os.getloadavg()[0]:.1f} (other work shares the "
        "2 cores: absolute rates are noisy, compare within one run).",
    ]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=int, default=50_000)
    p.add_argument("--max-rate", type=int, default=300_000)
    p.add_argument("--calls", type=int, default=500)
    p.add_argument("--packets", type=int, default=300_000)
    p.add_argument("--no-doc", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    cap, n = load_capture(args.calls, args.packets)
    meta = {"rate": args.rate, "max_rate": args.max_rate, "cap": cap.name, "n": n,
            "bytes": captured_bytes(cap), "calls": args.calls}  # fmt: skip
    asyncio.run(drop_database(DB_URL))
    asyncio.run(migrate(DB_URL))
    work = Path(tempfile.mkdtemp(prefix="cs_bench_mirror_"))
    try:
        with lab("veth") as where:
            log.info("direct sensor at %d pps", args.rate)
            d = direct(where, args.rate, cap, n, work, 1)
            log.info("mirror sender + receiver at %d pps", args.rate)
            m = mirrored(where, args.rate, cap, n, work)
            log.info("direct sensor at %d pps (capacity)", args.max_rate)
            cap_d = direct(where, args.max_rate, cap, n, work, 2)
            log.info("three senders at full speed into one receiver")
            cap_r = three_senders(where, cap, n, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        asyncio.run(drop_database(DB_URL))
    lines = report(meta, d, m, cap_d, cap_r)
    print("\n".join(lines))
    if not args.no_doc:
        write_block("mirror-bench", "Packet mirroring", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
