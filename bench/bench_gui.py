"""Web GUI pages on the API benchmark's data set (1,000,000 CDRs: bench/dataset.py's kept
database when the checkout has it, else bench/bench_api.py's ``cs_ap_bench``, seeded when
missing): `callsift api` and `callsift gui` in processes of their
own on ephemeral ports, one logged-in browser session asking each page in turn. The figure is
the page's server time (GUI + the API calls it makes); beside it, the API's own time for the
same data asked directly with the same token, and the references measured in the same run:
the GUI's login page (no API call) and the API's ``/health``. Target: p95 < 200 ms per page.

Run: .venv/bin/python bench/bench_gui.py [--calls N] [--requests N] [--db-url URL] [--no-doc]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from docblock import stamp, write_block

GUI_SECRET = "bench-gui-secret-0123456789abcdefghijkl"
TARGET_MS = 200.0
START_TIMEOUT_S = 60.0


API_SECRET = "bench-api-secret-0123456789abcdefghijkl"


async def prepare(calls: int, url: str | None) -> tuple[str, str, str, str]:
    """(database URL, user, password, how it was seeded) of the API benchmark's data set:
    bench/dataset.py's kept database when this checkout has it, else bench_api.py's."""
    try:
        import dataset  # type: ignore[import-not-found]
    except ImportError:
        dataset = None
    if dataset is not None:
        d = await dataset.ensure_dataset(calls, **({"url": url} if url else {}))
        return d.url, d.user, d.password, d.seeded
    import bench_api  # type: ignore[import-not-found]

    from db.connect import connect
    from db.migrate import migrate
    from db.queries.statsummary import refresh
    from db.url import parse_db_url

    if url:
        bench_api.URL = url
        note = "used as it was"
    else:
        await migrate(bench_api.URL, days_ahead=bench_api.DAYS + 4)
        have = await bench_api.count_cdrs()
        note = "reused"
        if have < calls * 0.99:
            took = await bench_api.seed(calls - have)
            note = f"seeded {calls - have:,} CDRs in {took:.0f} s"
        await bench_api.ensure_user()
        conn = await connect(parse_db_url(bench_api.URL))
        try:  # what the API's background refresher does: whole hours summarised
            await refresh(conn)
            await conn.commit()
        finally:
            conn.close()
    return bench_api.URL, "bench", bench_api.PASSWORD, note


async def count(url: str) -> int:
    from db.connect import connect
    from db.url import parse_db_url

    conn = await connect(parse_db_url(url))
    try:
        async with conn.cursor() as cur:
            await cur.execute("SELECT COUNT(*) FROM cdr")
            row = await cur.fetchone()
        return int(row[0])
    finally:
        conn.close()


def pct(lat: list[float], p: float) -> float:
    s = sorted(lat)
    return 1000 * s[min(len(s) - 1, int(p * len(s)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(cmd: list[str], env: dict[str, str], health: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{cmd[1]} ended at start ({proc.returncode})")
        try:
            if httpx.get(health, timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{cmd[1]} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


class Failed(Exception):
    """A page or API call answered other than 200 (the table says so)."""


async def timed(client: httpx.AsyncClient, url: str, params: Any, n: int) -> list[float]:
    """``n`` requests one after the other (server time, no queueing)."""
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        r = await client.get(url, params=params)
        lat.append(time.perf_counter() - t)
        if r.status_code != 200:
            print(f"{url} {params}: {r.status_code} {r.text[:300]}", file=sys.stderr)
            raise Failed(f"answers {r.status_code} after {1000 * lat[-1]:.0f} ms")
    return lat


async def login(gui: httpx.AsyncClient, user: str, password: str) -> None:
    page = (await gui.get("/login")).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf, page[:500]
    form = {"username": user, "password": password, "csrf_token": csrf.group(1)}
    r = await gui.post("/login", data=form)
    if r.status_code != 303:
        raise SystemExit(f"GUI login failed: {r.status_code} {r.text[:300]}")


async def one_case(
    gui: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    api: httpx.AsyncClient,
    path: str,
    params: Any,
    calls: list[tuple[str, Any]],
    n: int,
) -> str:
    """``p50 | p95 | API alone p50 / p95 | GUI share p50 / p95 | ok`` of one page. Each round asks the API
    alone (the page's calls one after the other) then the page, so both see the same load."""
    browser = anonymous if path == "/login" else gui
    for api_path, api_params in calls:
        await timed(api, api_path, api_params, 2)
    if path:
        await timed(browser, path, params, 2)
    api_lat: list[float] = []
    lat: list[float] = []
    for _ in range(n):
        api_lat.append(sum([(await timed(api, p, q, 1))[0] for p, q in calls]))
        if path:
            lat += await timed(browser, path, params, 1)
    api50, api95 = (pct(api_lat, 0.5), pct(api_lat, 0.95)) if calls else (0.0, 0.0)
    p50, p95 = (pct(lat, 0.5), pct(lat, 0.95)) if path else (api50, api95)
    ok = "yes" if p95 < TARGET_MS else "**no**"
    share = f"{p50 - api50:.1f} / {p95 - api95:.1f}" if path and calls else ""
    return f"{p50:.1f} | {p95:.1f} | {api50:.1f} / {api95:.1f} | {share} | {ok}"


async def run(gui_base: str, api_base: str, n: int, user: str, password: str) -> list[str]:
    iso = lambda t: dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")  # noqa: E731
    async with (
        httpx.AsyncClient(base_url=gui_base, timeout=120) as gui,
        httpx.AsyncClient(base_url=gui_base, timeout=120) as anonymous,
        httpx.AsyncClient(base_url=api_base + "/api/v1", timeout=120) as api,
    ):
        r = await api.post("/auth/login", json={"username": user, "password": password})
        api.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        await login(gui, user, password)
        newest = (await api.get("/calls", params={"limit": 1})).json()["items"][0]
        end = dt.datetime.fromisoformat(newest["invite_ts"].replace("Z", "+00:00")).timestamp() + 1
        first = (await api.get("/calls", params={"limit": 100})).json()
        last_hour = {"since": iso(end - 3600), "until": iso(end)}
        day = {"since": iso(end - 86400), "until": iso(end)}
        cid = newest["id"]
        # page, GUI URL, GUI params, [(API path, API params)] the page asks for
        cases: list[tuple[str, str, Any, list[tuple[str, Any]]]] = [
            ("reference: GUI /login (no API call)", "/login", {}, []),
            ("reference: API /health", "", {}, [("/health", {})]),
            ("calls, newest 100", "/calls", {}, [("/calls", {"limit": 100}), ("/sensors", {})]),
            ("calls, next page", "/calls", {"cursor": first["next_cursor"]},
             [("/calls", {"limit": 100, "cursor": first["next_cursor"]}), ("/sensors", {})]),
            ("calls, one caller (30 days)", "/calls", {"caller": newest["caller"]},
             [("/calls", {"caller": newest["caller"], "limit": 100}), ("/sensors", {})]),
            ("calls, either party over a day", "/calls", {"party": newest["caller"], **day},
             [("/calls", {"party": newest["caller"], **day, "limit": 100}), ("/sensors", {})]),
            ("calls, either party (30 days)", "/calls", {"party": newest["caller"]},
             [("/calls", {"party": newest["caller"], "limit": 100}), ("/sensors", {})]),
            ("calls, last hour", "/calls", last_hour, [("/calls", {**last_hour, "limit": 100}), ("/sensors", {})]),
            ("one call", f"/calls/{cid}", {}, [(f"/calls/{cid}", {}), (f"/calls/{cid}/legs", {})]),
            ("dashboard, 1 day", "/dashboard", day, [("/stats", day)]),
            ("live calls", "/live", {}, [("/live-calls", {})]),
            ("registrations", "/registrations", {}, [("/registrations", {"limit": 100})]),
            ("SIP MESSAGEs", "/messages", {}, [("/messages", {"limit": 100})]),
            ("sensors", "/sensors", {}, [("/sensors", {})]),
            ("import", "/import", {}, [("/imports", {})]),
            ("admin: users", "/admin/users", {}, [("/users", {})]),
            ("admin: tokens", "/admin/tokens", {}, [("/tokens", {})]),
            ("admin: audit log", "/admin/audit", {}, [("/audit", {"limit": 100})]),
        ]  # fmt: skip
        rows = [
            "| page | requests | p50 ms | p95 ms | API alone p50 / p95 ms | GUI share p50 / p95 ms | p95 < 200 ms |",
            "|---|---:|---:|---:|---:|---:|:-:|",
        ]
        for name, path, params, calls in cases:
            try:
                row = await one_case(gui, anonymous, api, path, params, calls, n)
            except Failed as exc:
                row = f"{exc} | | | | **no**"
            rows.append(f"| {name} | {n} | {row} |")
            print(rows[-1], file=sys.stderr)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=40, help="requests per page")
    ap.add_argument("--no-doc", action="store_true", help="do not update docs/BENCHMARKS.md")
    ap.add_argument(
        "--db-url",
        help="the data set's database (default: the API benchmark's)",
    )
    args = ap.parse_args()
    url, user, password, note = asyncio.run(prepare(args.calls, args.db_url))
    total = asyncio.run(count(url))
    name = url.rsplit("/", 1)[1]
    exe = str(Path(sys.executable).with_name("callsift"))
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("CALLSIFT_")}
    api_port, gui_port = free_port(), free_port()
    api_base, gui_base = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{gui_port}"
    api = start(
        [exe, "api", "--port", str(api_port)],
        base_env | {"CALLSIFT_SECRET_KEY": API_SECRET, "CALLSIFT_DB_URL": url},
        api_base + "/api/v1/health",
    )
    try:
        gui = start(
            [exe, "gui", "--api", api_base, "--port", str(gui_port)],
            base_env | {"CALLSIFT_GUI_SECRET_KEY": GUI_SECRET},
            gui_base + "/login",
        )
        load_before = os.getloadavg()[0]
        try:
            rows = asyncio.run(run(gui_base, api_base, args.requests, user, password))
        finally:
            stop(gui)
        load_after = os.getloadavg()[0]
    finally:
        stop(api)
    head = (
        f"Last run: {stamp()}, `python bench/bench_gui.py`: {total:,} CDRs in `{name}` (the API "
        f"benchmark's data; {note}; MariaDB 10.11), `callsift api` and `callsift gui` (one uvicorn "
        f"worker each) in processes of their own, one logged-in session asking each page "
        f"{args.requests} times (server time, no queueing). API alone: the same data asked of "
        f"the API directly just before each page (the sum of the page's API calls made one "
        f"after the other; the GUI makes them concurrently). GUI share: what the GUI adds (its "
        f"own work and the hop). Machine load (1-minute average, 2 cores): "
        f"{load_before:.1f} before, {load_after:.1f} after. Target: p95 < {TARGET_MS:.0f} ms."
    )
    print(head)
    if not args.no_doc:
        write_block("gui-bench", "Web GUI pages (1 M CDRs)", [head, "", *rows])


if __name__ == "__main__":
    main()
