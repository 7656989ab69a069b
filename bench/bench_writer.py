"""Insert rate of call records (2 RTP streams each) through CdrWriter into the local MariaDB.

Run: .venv/bin/python bench/bench_writer.py [calls] [--url mysql://root@127.0.0.1/DB]
Uses a throw-away database (callsift_bench_<pid>, dropped at the end) unless --url is given.
Each run writes the same calls as another sensor. The producer submits as fast as the writer's queue takes records (nothing spills to the
journal); the figure is records committed per second of wall time, close included.
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.connect import connect
from db.migrate import drop_database, migrate
from db.queries import sensor_row_counts
from db.records import CallRecord, RtcpSummary, StreamRecord
from db.url import parse_db_url
from sniffer.storage.writer import CdrWriter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docblock import stamp, write_block

T0 = 1_790_000_000.0
POLL_S = 0.005
"""The producer's look at the backlog when the queue is nearly full: the writer has its own
thread, so waking often only takes the GIL from it (9,000 records of headroom last ~1 s)."""


def make_call(i: int) -> CallRecord:
    t = T0 + i * 0.01

    def stream(k: int) -> StreamRecord:
        return StreamRecord(
            src_ip=f"10.{k}.{(i >> 8) & 255}.{i & 255}",
            src_port=10000 + 2 * (i % 20000),
            dst_ip=f"10.{k + 1}.{(i >> 8) & 255}.{i & 255}",
            dst_port=20000 + 2 * (i % 20000),
            ssrc=(i * 2654435761 + k) & 0xFFFFFFFF,
            payload_type=0,
            codec="PCMU",
            packets=3000 + i % 500,
            lost=i % 7,
            loss_pct=(i % 7) / 30.0,
            duplicates=0,
            out_of_order=i % 3,
            max_delta_ms=20.0 + (i % 11),
            max_jitter_ms=1.0 + (i % 5) / 4,
            mean_jitter_ms=0.5,
            mos=4.3,
            rtcp=RtcpSummary(sr_count=12, rr_count=12, fraction_lost_max=0.01) if k else None,
            first_ts=t + 2.0,
            last_ts=t + 62.0,
            direction="caller" if k == 0 else "callee",
        )

    return CallRecord(
        call_id=f"{i:08x}-bench@pbx.example.com",
        uid=f"{i:024x}",
        caller=f"+4930{i % 100000:06d}",
        caller_domain="example.com",
        caller_name=f"Caller {i % 1000}",
        called=f"+4940{(i * 7) % 100000:06d}",
        called_domain="example.org",
        caller_ip="192.0.2.10",
        caller_port=5060,
        called_ip="192.0.2.20",
        called_port=5060,
        vlan=None,
        invite_ts=t,
        ringing_ts=t + 0.5,
        answer_ts=t + 2.0,
        end_ts=t + 62.0,
        duration_s=62.0,
        connect_duration_s=60.0,
        final_code=200,
        final_reason="OK",
        hangup_by="caller",
        state="completed",
        codecs=["PCMU", "telephone-event"],
        dtmf="1234#" if i % 10 == 0 else "",
        streams=[stream(0), stream(1)],
        pcap=None,
        caller_ua="Yealink SIP-T46S 66.86.0.15",
        called_ua=f"Asterisk PBX 20.{i % 4}",
        bye_code=200,
        sip_messages=7,
    )


async def run(
    url: str, sensor_id: int, calls: list[CallRecord], batch_size: int, connections: int
) -> float:
    n = len(calls)
    with tempfile.TemporaryDirectory() as journal:
        w = CdrWriter(url, sensor_id, Path(journal), batch_size=batch_size, connections=connections)
        limit = 10_000 - 2 * batch_size
        t0 = time.perf_counter()
        async with w:
            for i, c in enumerate(calls):
                if i % 100 == 0:
                    while w.backlog_records > limit:
                        await asyncio.sleep(POLL_S)
                w.submit(c)
        elapsed = time.perf_counter() - t0
        if w.counters["journaled"] or w.failures:
            raise SystemExit(f"writer journaled records: {w.counters.snapshot()}")
    conn = await connect(parse_db_url(url))
    try:
        counts = await sensor_row_counts(conn, sensor_id)
    finally:
        conn.close()
    if counts["cdr"] < n or counts["cdr_rtp"] < 2 * n:
        raise SystemExit(f"rows missing: {counts}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("calls", type=int, nargs="?", default=20_000)
    ap.add_argument("--url", help="existing database (default: a throw-away one)")
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--connections", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="runs (each a new sensor id)")
    ap.add_argument("--no-doc", action="store_true", help="do not update docs/BENCHMARKS.md")
    args = ap.parse_args()
    name = f"callsift_bench_{os.getpid()}"
    url = args.url or f"mysql://root@127.0.0.1:3306/{name}"

    async def go() -> list[float]:
        await migrate(url)
        calls = [make_call(i) for i in range(args.calls)]
        try:
            return [
                await run(url, sensor_id, calls, args.batch_size, args.connections)
                for sensor_id in range(1, args.rounds + 1)
            ]
        finally:
            if not args.url:
                await drop_database(url)

    rates = sorted(args.calls / s for s in asyncio.run(go()))
    best, median = rates[-1], rates[len(rates) // 2]
    verdict = "OK" if median >= 5000 else "BELOW TARGET"
    line = (
        f"CdrWriter: {args.calls} CDRs x 2 streams, {len(rates)} runs: median {median:,.0f} "
        f"CDRs/s, best {best:,.0f} (batch {args.batch_size}, {args.connections} connections; "
        f"target >= 5,000: {verdict})"
    )
    print(line)
    if not args.no_doc:
        write_doc(line)


def write_doc(line: str) -> None:
    lines = [
        f"Last run: {stamp()}, `python bench/bench_writer.py` into the local MariaDB 10.11:",
        "",
        line,
    ]
    write_block("writer-bench", "CDR writer into MariaDB", lines)


if __name__ == "__main__":
    main()
