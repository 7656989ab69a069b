"""REST API under load: 1,000,000 CDRs over 30 days and 3 sensors, written through the sensor's
CdrWriter into the database ``cs_ap_bench`` (kept between runs), then the issue's searches at
concurrency 8 against `callsift api` in its own process, p50/p95 per query; CSV export of
100,000 rows (rate and the server's peak memory); EXPLAIN of each search. The reference
measured in the same run is ``GET /health`` (one ``SELECT 1``) at the same concurrency.

Run: .venv/bin/python bench/bench_api.py [--calls N] [--reseed] [--requests N] [--no-doc]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.auth.passwords import hash_password
from db.connect import connect
from db.migrate import migrate
from db.queries import apiauth
from db.queries.statsummary import refresh
from db.read import CallFilter
from db.read.calls import search_sql
from db.records import CallRecord, StreamRecord
from db.url import parse_db_url
from sniffer.storage.writer import CdrWriter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docblock import stamp, write_block

DB = "cs_ap_bench"
URL = f"mysql://root@127.0.0.1:3306/{DB}"
SENSORS = (1, 2, 3)
DAYS = 30
CONCURRENCY = 8
PASSWORD = "bench-password-0123"
SECRET = "bench-secret-key-0123456789abcdefghijkl"
CODES = [(200, "completed", 70), (486, "failed", 10), (487, "cancelled", 8), (404, "failed", 5),
         (503, "failed", 4), (480, "failed", 3)]  # fmt: skip
ROOT = Path(__file__).resolve().parent.parent


def day0() -> float:
    """Midnight (UTC) after tomorrow: the data lies in the daily partitions ahead of today."""
    d = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
    return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp()


def calls_for(sensor: int, n: int, start: float, seed: int) -> Iterator[CallRecord]:
    rnd = random.Random(seed)
    span = DAYS * 86400
    weights = [w for *_, w in CODES]
    for i in range(n):
        t = start + span * (i + rnd.random()) / n
        code, state, _ = rnd.choices(CODES, weights)[0]
        answered = code == 200
        talk = rnd.expovariate(1 / 120) if answered else 0.0
        bad = rnd.random() < 0.05
        caller_ip = f"10.{sensor}.{rnd.randrange(4)}.{rnd.randrange(1, 250)}"
        called_ip = f"172.16.{rnd.randrange(4)}.{rnd.randrange(1, 250)}"

        def stream(
            k: int, t: float = t, talk: float = talk, bad: bool = bad,
            a: str = caller_ip, b: str = called_ip,
        ) -> StreamRecord:  # fmt: skip
            mos = round(rnd.uniform(2.4, 3.4), 2) if bad else 4.3
            loss = round(rnd.uniform(2, 12), 2) if bad else 0.0
            return StreamRecord(
                src_ip=a if k == 0 else b, src_port=10000 + 2 * rnd.randrange(10000),
                dst_ip=b if k == 0 else a, dst_port=20000 + 2 * rnd.randrange(10000),
                ssrc=rnd.getrandbits(32), payload_type=8, codec="PCMA", packets=int(talk * 50),
                lost=int(talk * 50 * loss / 100), loss_pct=loss, duplicates=0, out_of_order=0,
                max_delta_ms=40.0 if bad else 21.0, max_jitter_ms=8.0 if bad else 1.2,
                mean_jitter_ms=3.0 if bad else 0.6, mos=mos, rtcp=None, first_ts=t + 2.0,
                last_ts=t + 2.0 + talk, direction="caller" if k == 0 else "callee",
            )  # fmt: skip

        yield CallRecord(
            call_id=f"{sensor}-{i:09d}-{rnd.getrandbits(32):08x}@bench", uid=f"{sensor}{i:023x}",
            caller=f"+4930{rnd.randrange(20000):06d}", caller_domain="pbx.example.com",
            caller_name="", called=f"+4989{rnd.randrange(50000):06d}",
            called_domain="carrier.example.net", caller_ip=caller_ip, caller_port=5060,
            called_ip=called_ip, called_port=5060, vlan=None, invite_ts=t,
            ringing_ts=t + rnd.uniform(0.2, 3.0) if code in (200, 487, 480) else None,
            answer_ts=t + 4.0 if answered else None,
            end_ts=t + 4.0 + talk if answered else t + rnd.uniform(1, 20),
            duration_s=4.0 + talk if answered else 5.0, connect_duration_s=talk, final_code=code,
            final_reason=None, hangup_by="caller" if answered else None, state=state,
            codecs=["PCMA"] if answered else [], dtmf="",
            streams=[stream(0), stream(1)] if answered else [], pcap=None,
            caller_ua=f"Phone {rnd.randrange(20)}", called_ua="Carrier SBC",
            bye_code=200 if answered else None, sip_messages=7,
        )  # fmt: skip


async def count_cdrs() -> int:
    conn = await connect(parse_db_url(URL))
    try:
        async with conn.cursor() as cur:
            await cur.execute("SELECT COUNT(*) FROM cdr")
            row = await cur.fetchone()
        return int(row[0])
    finally:
        conn.close()


async def seed(total: int) -> float:
    start = day0()
    per = total // len(SENSORS)
    t0 = time.perf_counter()

    async def one(sensor: int) -> None:
        with tempfile.TemporaryDirectory() as journal:
            async with CdrWriter(URL, sensor, Path(journal), batch_size=1000) as w:
                for i, c in enumerate(calls_for(sensor, per, start, sensor)):
                    if i % 200 == 0:
                        while w.backlog_records > 8000:
                            await asyncio.sleep(0.005)
                    w.submit(c)
                    if i % 100_000 == 0:
                        print(f"  sensor {sensor}: {i:,} submitted", file=sys.stderr)

    await asyncio.gather(*(one(s) for s in SENSORS))
    return time.perf_counter() - t0


async def ensure_user() -> None:
    conn = await connect(parse_db_url(URL))
    try:
        if await apiauth.user_by_name(conn, "bench") is None:
            await apiauth.create_user(conn, "bench", hash_password(PASSWORD), "admin")
        await conn.commit()
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def timed(client: httpx.AsyncClient, url: str, params: Any, n: int) -> list[float]:
    lat: list[float] = []
    queue = list(range(n))

    async def worker() -> None:
        while queue:
            queue.pop()
            t = time.perf_counter()
            r = await client.get(url, params=params)
            lat.append(time.perf_counter() - t)
            if r.status_code != 200:
                raise SystemExit(f"{url} {params}: {r.status_code} {r.text[:200]}")

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return lat


def pct(lat: list[float], p: float) -> float:
    s = sorted(lat)
    return 1000 * s[min(len(s) - 1, int(p * len(s)))]


async def explain(name: str, f: CallFilter) -> list[str]:
    sql, params = search_sql(f)
    conn = await connect(parse_db_url(URL))
    try:
        async with conn.cursor() as cur:
            await cur.execute("EXPLAIN " + sql, (*params, 101))
            cols = [d[0] for d in cur.description]
            rows = await cur.fetchall()
    finally:
        conn.close()
    keep = ("table", "type", "key", "rows", "Extra")
    out = [f"`{name}`:", "", "| " + " | ".join(keep) + " |", "|" + "---|" * len(keep)]
    for r in rows:
        d = dict(zip(cols, r, strict=True))
        out.append("| " + " | ".join(str(d.get(k) or "") for k in keep) + " |")
    return [*out, ""]


async def load(args: argparse.Namespace, base: str, pid: int) -> tuple[list[str], list[str]]:
    end = day0() + DAYS * 86400
    iso = lambda t: dt.datetime.fromtimestamp(t, dt.UTC).isoformat()  # noqa: E731
    rnd = random.Random(7)
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        r = await client.post(
            "/api/v1/auth/login", json={"username": "bench", "password": PASSWORD}
        )
        client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        sample = (
            await client.get("/api/v1/calls", params={"since": iso(end - 86400), "limit": 1})
        ).json()["items"][0]
        caller, ip = sample["caller"], sample["caller_ip"]
        n = args.requests
        cases: list[tuple[str, str, dict[str, Any], int, CallFilter | None]] = [
            ("reference: GET /health", "/api/v1/health", {}, n, None),
            ("last hour", "/api/v1/calls", {"since": iso(end - 3600), "until": iso(end)}, n,
             CallFilter(since=end - 3600, until=end, limit=100)),
            ("one caller, exact (30 days)", "/api/v1/calls", {"caller": caller}, n,
             CallFilter(caller=caller, limit=100)),
            ("caller prefix (30 days)", "/api/v1/calls", {"caller": caller[:-2] + "*"}, n,
             CallFilter(caller_prefix=caller[:-2], limit=100)),
            ("one IP over a day", "/api/v1/calls", {"ip": ip, "since": iso(end - 86400), "until": iso(end)}, n,
             CallFilter(ip=ip, since=end - 86400, until=end, limit=100)),
            ("MOS < 3.5 over a week", "/api/v1/calls", {"mos_below": 3.5, "since": iso(end - 7 * 86400), "until": iso(end)}, n,
             CallFilter(mos_below=3.5, since=end - 7 * 86400, until=end, limit=100)),
            ("stats, 1 day", "/api/v1/stats", {"since": iso(end - 86400), "until": iso(end)}, n, None),
            ("stats, 30 days", "/api/v1/stats", {"since": iso(end - DAYS * 86400), "until": iso(end)}, max(8, n // 10), None),
        ]  # fmt: skip
        cursor = None
        for _ in range(50):  # the 51st page of the whole list
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            cursor = (await client.get("/api/v1/calls", params=params)).json()["next_cursor"]
        cases.insert(6, ("a page 50 pages deep", "/api/v1/calls", {"limit": 100, "cursor": cursor}, n,
                         None))  # fmt: skip
        rows = [
            "| query | requests | p50 ms | p95 ms | p95 / reference |",
            "|---|---:|---:|---:|---:|",
        ]
        plans: list[str] = []
        ref = None
        for name, url, params, count, f in cases:
            await timed(client, url, params, CONCURRENCY)  # warm
            lat = await timed(client, url, params, count)
            p50, p95 = pct(lat, 0.5), pct(lat, 0.95)
            ref = ref or p95
            rows.append(f"| {name} | {count} | {p50:.1f} | {p95:.1f} | {p95 / ref:.1f} |")
            print(rows[-1], file=sys.stderr)
            if f is not None:
                plans += await explain(name, f)
        _ = rnd
        # export: 100,000 rows as CSV, peak RSS of the server sampled while it streams
        before = rss_kib(pid)
        peak = before
        t = time.perf_counter()
        size = rows_out = 0
        async with client.stream(
            "GET", "/api/v1/calls/export", params={"format": "csv", "max_rows": 100_000}
        ) as resp:
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                rows_out += chunk.count(b"\n")
                peak = max(peak, rss_kib(pid))
        took = time.perf_counter() - t
        rows.append("")
        rows.append(
            f"CSV export: {rows_out - 1:,} rows ({size / 1e6:.1f} MB) in {took:.2f} s = "
            f"{(rows_out - 1) / took:,.0f} rows/s; server RSS {before / 1024:.0f} MiB before, "
            f"peak {peak / 1024:.0f} MiB while streaming (target >= 20,000 rows/s, flat memory)"
        )
        print(rows[-1], file=sys.stderr)
    return rows, plans


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--reseed", action="store_true", help="drop and seed the database again")
    ap.add_argument("--requests", type=int, default=200, help="requests per query")
    ap.add_argument("--no-doc", action="store_true", help="do not update docs/BENCHMARKS.md")
    args = ap.parse_args()
    seeded = ""

    async def prepare() -> None:
        nonlocal seeded
        if args.reseed:
            from db.migrate import drop_database

            await drop_database(URL)
        await migrate(URL, days_ahead=DAYS + 4)
        have = await count_cdrs()
        if have < args.calls * 0.99:
            took = await seed(args.calls - have)
            seeded = f"seeded {args.calls - have:,} CDRs in {took:.0f} s ({(args.calls - have) / took:,.0f}/s); "
        await ensure_user()
        conn = await connect(parse_db_url(URL))
        try:  # what the API's background refresher does: whole hours summarised
            t = time.perf_counter()
            hours = await refresh(conn)
            await conn.commit()
            seeded += f"hourly statistics: {hours} hours in {time.perf_counter() - t:.0f} s; "
        finally:
            conn.close()

    asyncio.run(prepare())
    total = asyncio.run(count_cdrs())
    port = free_port()
    env = {**os.environ, "CALLSIFT_SECRET_KEY": SECRET, "CALLSIFT_DB_URL": URL}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("callsift")), "api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/api/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the API did not start")
            time.sleep(0.2)
        rows, plans = asyncio.run(load(args, base, server.pid))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    head = (
        f"Last run: {stamp()}, `python bench/bench_api.py`: {total:,} CDRs over {DAYS} days and "
        f"{len(SENSORS)} sensors in `{DB}` ({seeded}MariaDB 10.11, innodb_buffer_pool_size 128 MiB), "
        f"`callsift api` (one uvicorn worker) in its own process, {CONCURRENCY} concurrent clients, "
        f"{args.requests} requests per query (30-day stats: {max(8, args.requests // 10)}). "
        "Targets: p95 < 100 ms for indexed searches and 1-day stats."
    )
    print(head)
    print("\n".join(rows))
    if not args.no_doc:
        write_block("api-bench", "REST API (1 M CDRs)", [head, "", *rows])
        write_block("api-explain", "REST API: EXPLAIN of the searches", plans)


if __name__ == "__main__":
    main()
