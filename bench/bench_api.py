"""REST API under load: the searches, statistics and export of issue 9 at concurrency 8
against `callsift api` in its own process, on the kept data set of bench/dataset.py (1,000,000
CDRs over 30 days and 3 sensors, seeded once through the sensor's CdrWriter).

Each search is also run as SQL alone (the statement the API runs, 8 connections at once) in
the same run: the "SQL" columns are the reference the API's time is compared with, since this
machine is shared and noisy; the load average is recorded with each row. ``GET /health`` (one
``SELECT 1``) is the reference of the HTTP stack. EXPLAIN of each search goes to the doc.

Run: .venv/bin/python bench/bench_api.py [--calls N] [--reseed] [--requests N] [--no-doc]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.benchdata import explain as explain_rows
from db.connect import connect
from db.read import CallFilter
from db.read.calljson import PAGE_SQL, keys_sql, list_calls_json, page_keys
from db.url import parse_db_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dataset import CALLS, DAYS, Dataset, ensure_dataset
from docblock import stamp, write_block

CONCURRENCY = 8
SECRET = "bench-secret-key-0123456789abcdefghijkl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def load_avg() -> float:
    return os.getloadavg()[0]


def cpu_s(pid: int | None) -> float:
    """CPU time (user + system) of the process ``pid`` so far (0 without one)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_pid() -> int | None:
    """The local MariaDB (or MySQL) server process, when it runs on this machine."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() in ("mariadbd", "mysqld"):
                    return int(proc.name)
            except OSError:
                continue
    return None


async def concurrently(n: int, one: Callable[[], Awaitable[None]]) -> list[float]:
    """``n`` calls of ``one`` by :data:`CONCURRENCY` workers; the latency of each."""
    lat: list[float] = []
    left = [n]

    async def worker() -> None:
        while left[0] > 0:
            left[0] -= 1
            t = time.perf_counter()
            await one()
            lat.append(time.perf_counter() - t)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return lat


async def api_times(client: httpx.AsyncClient, url: str, params: Any, n: int) -> list[float]:
    async def one() -> None:
        r = await client.get(url, params=params)
        if r.status_code != 200:
            raise SystemExit(f"{url} {params}: {r.status_code} {r.text[:200]}")

    await concurrently(CONCURRENCY, one)  # warm
    return await concurrently(n, one)


async def sql_times(url: str, f: CallFilter, n: int) -> list[float]:
    """The search's statements alone (db/read/calljson.py: the page's keys, then its calls as
    JSON), on :data:`CONCURRENCY` connections."""
    conns = [await connect(parse_db_url(url)) for _ in range(CONCURRENCY)]
    free = list(conns)
    try:

        async def one() -> None:
            conn = free.pop()
            try:
                await list_calls_json(conn, f)
            finally:
                free.append(conn)

        await concurrently(CONCURRENCY, one)
        return await concurrently(n, one)
    finally:
        for c in conns:
            c.close()


def pct(lat: list[float], p: float) -> float:
    s = sorted(lat)
    return 1000 * s[min(len(s) - 1, int(p * len(s)))]


async def explain(url: str, name: str, f: CallFilter) -> list[str]:
    """EXPLAIN of the search's two statements: its keys, then its page (of those keys)."""
    sql, params = keys_sql(f)
    conn = await connect(parse_db_url(url))
    try:
        keys = await explain_rows(conn, sql, (*params, 101))
        doc = await page_keys(conn, f)
        page = await explain_rows(conn, PAGE_SQL, (doc, doc))
    finally:
        conn.close()
    keep = ("id", "select_type", "table", "type", "key", "key_len", "rows", "Extra")
    out = [f"`{name}`:", "", "| step | " + " | ".join(keep) + " |", "|" + "---|" * (1 + len(keep))]
    for step, rows in (("keys", keys), ("page", page)):
        for d in rows:
            out.append(f"| {step} | " + " | ".join(str(d.get(k) or "") for k in keep) + " |")
    return [*out, ""]


Case = tuple[str, str, dict[str, Any], int, CallFilter | None]


def cases(d: Dataset, n: int, caller: str, ip: str) -> list[Case]:
    end = d.end
    iso = lambda t: dt.datetime.fromtimestamp(t, dt.UTC).isoformat()  # noqa: E731
    day, week = (end - 86400, end), (end - 7 * 86400, end)
    return [
        ("reference: GET /health", "/api/v1/health", {}, n, None),
        ("last hour", "/api/v1/calls", {"since": iso(end - 3600), "until": iso(end)}, n,
         CallFilter(since=end - 3600, until=end, limit=100)),
        ("one caller, exact (30 days)", "/api/v1/calls", {"caller": caller}, n,
         CallFilter(caller=caller, limit=100)),
        ("caller prefix (30 days)", "/api/v1/calls", {"caller": caller[:-2] + "*"}, n,
         CallFilter(caller_prefix=caller[:-2], limit=100)),
        ("one IP over a day", "/api/v1/calls", {"ip": ip, "since": iso(day[0]), "until": iso(end)}, n,
         CallFilter(ip=ip, since=day[0], until=end, limit=100)),
        ("MOS < 3.5 over a week", "/api/v1/calls", {"mos_below": 3.5, "since": iso(week[0]), "until": iso(end)}, n,
         CallFilter(mos_below=3.5, since=week[0], until=end, limit=100)),
        ("stats, 1 day", "/api/v1/stats", {"since": iso(day[0]), "until": iso(end)}, n, None),
        ("stats, 30 days", "/api/v1/stats", {"since": iso(d.start), "until": iso(end)}, max(8, n // 10), None),
    ]  # fmt: skip


async def load(
    args: argparse.Namespace, d: Dataset, base: str, pid: int
) -> tuple[list[str], list[str]]:
    async with httpx.AsyncClient(base_url=base, timeout=300) as client:
        r = await client.post(
            "/api/v1/auth/login", json={"username": d.user, "password": d.password}
        )
        client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        since = dt.datetime.fromtimestamp(d.end - 86400, dt.UTC).isoformat()
        sample = (await client.get("/api/v1/calls", params={"since": since, "limit": 1})).json()[
            "items"
        ][0]
        todo = cases(d, args.requests, sample["caller"], sample["caller_ip"])
        cursor = None
        for _ in range(50):  # the 51st page of the whole list
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            cursor = (await client.get("/api/v1/calls", params=params)).json()["next_cursor"]
        assert cursor is not None
        deep = CallFilter(after=cursor, limit=100)
        todo.insert(6, ("a page 50 pages deep", "/api/v1/calls", {"limit": 100, "cursor": cursor},
                        args.requests, deep))  # fmt: skip
        rows = [
            "| query | requests | load | p50 ms | p95 ms | API CPU ms/request | MariaDB CPU "
            "ms/request | client CPU ms/request | SQL alone p50 ms | SQL alone p95 ms "
            "| p95 API / SQL |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        plans: list[str] = []
        db_pid = database_pid()
        for name, url, params, count, f in todo:
            cpu0, db0, mine0 = cpu_s(pid), cpu_s(db_pid), time.process_time()
            lat = await api_times(client, url, params, count)
            done = count + CONCURRENCY  # the warm-up's too
            cpu = 1000 * (cpu_s(pid) - cpu0) / done
            db_cpu = 1000 * (cpu_s(db_pid) - db0) / done
            client_cpu = 1000 * (time.process_time() - mine0) / done
            la = load_avg()
            p50, p95 = pct(lat, 0.5), pct(lat, 0.95)
            sql = ["", "", ""]
            if f is not None:
                ref = await sql_times(d.url, f, count)
                r50, r95 = pct(ref, 0.5), pct(ref, 0.95)
                sql = [f"{r50:.1f}", f"{r95:.1f}", f"{p95 / r95:.1f}"]
                plans += await explain(d.url, name, f)
            rows.append(
                f"| {name} | {count} | {la:.1f} | {p50:.1f} | {p95:.1f} | {cpu:.1f} "
                f"| {db_cpu:.1f} | {client_cpu:.1f} | {' | '.join(sql)} |"
            )
            print(rows[-1], file=sys.stderr)
        rows += ["", await export(client, pid)]
        print(rows[-1], file=sys.stderr)
    return rows, plans


async def export(client: httpx.AsyncClient, pid: int) -> str:
    """100,000 rows as CSV; the server's RSS sampled while it streams."""
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
    return (
        f"CSV export (load {load_avg():.1f}): {rows_out - 1:,} rows ({size / 1e6:.1f} MB) in "
        f"{took:.2f} s = {(rows_out - 1) / took:,.0f} rows/s; server RSS {before / 1024:.0f} MiB "
        f"before, peak {peak / 1024:.0f} MiB while streaming (target >= 20,000 rows/s, flat memory)"
    )


def start_api(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    root = str(Path(__file__).resolve().parent.parent)  # this tree's code, whatever is installed
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    env = {
        **os.environ, "CALLSIFT_SECRET_KEY": SECRET, "CALLSIFT_DB_URL": url, "PYTHONPATH": path,
    }  # fmt: skip
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("callsift")), "api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/api/v1/health").status_code == 200:
                return server, base
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise SystemExit("the API did not start")
        time.sleep(0.2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=CALLS)
    ap.add_argument("--reseed", action="store_true", help="drop and seed the database again")
    ap.add_argument("--requests", type=int, default=200, help="requests per query")
    ap.add_argument("--no-doc", action="store_true", help="do not update docs/BENCHMARKS.md")
    args = ap.parse_args()
    d = asyncio.run(ensure_dataset(args.calls, reseed=args.reseed))
    print(d.seeded, file=sys.stderr)
    server, base = start_api(d.url)
    try:
        rows, plans = asyncio.run(load(args, d, base, server.pid))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    head = (
        f"Last run: {stamp()}, `python bench/bench_api.py`: {d.calls:,} CDRs over {DAYS} days "
        f"and {len(d.sensors)} sensors in the kept data set of `bench/dataset.py` ({d.seeded}; "
        "MariaDB 10.11, innodb_buffer_pool_size 128 MiB), `callsift api` (one uvicorn worker) "
        f"in its own process, {CONCURRENCY} concurrent clients, {args.requests} requests per "
        f"query (30-day stats: {max(8, args.requests // 10)}); load = 1-minute load average of "
        "the machine (2 cores) after the row; API CPU = CPU time (user + system) of the API "
        "process per request, MariaDB CPU = the database server's (every client's statements: "
        "an upper bound on a shared server), client CPU = this script's (httpx, on the same 2 "
        "cores as the API and MariaDB); CPU times do not depend on the load, latencies do. "
        "Targets: p95 < 100 ms for indexed searches and 1-day stats."
    )
    print(head)
    print("\n".join(rows))
    if not args.no_doc:
        write_block("api-bench", "REST API (1 M CDRs)", [head, "", *rows])
        write_block("api-explain", "REST API: EXPLAIN of the searches", plans)


if __name__ == "__main__":
    main()
