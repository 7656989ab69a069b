"""Web GUI pages on the API benchmark's data set (1,000,000 CDRs kept by bench/dataset.py,
seeded when missing or out of date): `callsift api` and `callsift gui` in processes of their
own on ephemeral ports, one logged-in browser session asking each page in turn. The figure is
the page's server time (GUI + the API calls it makes); beside it, the API's own time for the
same data asked directly with the same token, and the references measured in the same run:
the GUI's login page (no API call) and the API's ``/health``. Target: p95 < 200 ms per page.

Run: .venv/bin/python bench/bench_gui.py [--calls N] [--requests N] [--no-doc]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_api import SECRET, free_port, pct
from dataset import PASSWORD, URL, ensure_dataset
from docblock import stamp, write_block

from db.benchdata import count_calls
from db.connect import connect
from db.url import parse_db_url

GUI_SECRET = "bench-gui-secret-0123456789abcdefghijkl"
TARGET_MS = 200.0
START_TIMEOUT_S = 60.0


async def prepare(calls: int) -> str:
    """The kept data set of bench/dataset.py (seeded once, reused while its version holds)."""
    return (await ensure_dataset(calls)).seeded + "; "


async def count_cdrs() -> int:
    conn = await connect(parse_db_url(URL))
    try:
        return await count_calls(conn)
    finally:
        conn.close()


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


async def login(gui: httpx.AsyncClient) -> None:
    page = (await gui.get("/login")).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf, page[:500]
    form = {"username": "bench", "password": PASSWORD, "csrf_token": csrf.group(1)}
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
    """``p50 | p95 | API alone p95 | GUI share | ok`` of one page."""
    api_p95 = 0.0
    for api_path, api_params in calls:
        await timed(api, api_path, api_params, 2)
        api_p95 += pct(await timed(api, api_path, api_params, n), 0.95)
    if path:
        browser = anonymous if path == "/login" else gui
        await timed(browser, path, params, 2)
        lat = await timed(browser, path, params, n)
        p50, p95 = pct(lat, 0.5), pct(lat, 0.95)
    else:
        p50 = p95 = api_p95
    ok = "yes" if p95 < TARGET_MS else "**no**"
    share = f"{p95 - api_p95:.1f}" if path and calls else ""
    return f"{p50:.1f} | {p95:.1f} | {api_p95:.1f} | {share} | {ok}"


async def run(gui_base: str, api_base: str, n: int) -> list[str]:
    iso = lambda t: dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")  # noqa: E731
    async with (
        httpx.AsyncClient(base_url=gui_base, timeout=120) as gui,
        httpx.AsyncClient(base_url=gui_base, timeout=120) as anonymous,
        httpx.AsyncClient(base_url=api_base + "/api/v1", timeout=120) as api,
    ):
        r = await api.post("/auth/login", json={"username": "bench", "password": PASSWORD})
        api.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        await login(gui)
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
            "| page | requests | p50 ms | p95 ms | API alone p95 ms | GUI share p95 ms | p95 < 200 ms |",
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
        help="use this data set as it is (no seeding; its user `bench` has the API benchmark's "
        "password) instead of seeding the API benchmark's database",
    )
    args = ap.parse_args()
    global URL
    if args.db_url:
        URL = args.db_url
        note = "used as it was; "
    else:
        note = asyncio.run(prepare(args.calls))
    total = asyncio.run(count_cdrs())
    name = URL.rsplit("/", 1)[1]
    exe = str(Path(sys.executable).with_name("callsift"))
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("CALLSIFT_")}
    api_port, gui_port = free_port(), free_port()
    api_base, gui_base = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{gui_port}"
    api = start(
        [exe, "api", "--port", str(api_port)],
        base_env | {"CALLSIFT_SECRET_KEY": SECRET, "CALLSIFT_DB_URL": URL},
        api_base + "/api/v1/health",
    )
    try:
        gui = start(
            [exe, "gui", "--api", api_base, "--port", str(gui_port)],
            base_env | {"CALLSIFT_GUI_SECRET_KEY": GUI_SECRET},
            gui_base + "/login",
        )
        try:
            rows = asyncio.run(run(gui_base, api_base, args.requests))
        finally:
            stop(gui)
    finally:
        stop(api)
    head = (
        f"Last run: {stamp()}, `python bench/bench_gui.py`: {total:,} CDRs in `{name}` (the API "
        f"benchmark's data; {note}MariaDB 10.11), `callsift api` and `callsift gui` (one uvicorn "
        f"worker each) in processes of their own, one logged-in session asking each page "
        f'{args.requests} times in a row (server time, no queueing). "API alone": the same '
        f'data asked of the API directly (the sum over the page\'s API calls); "GUI share": '
        f"what the GUI adds (its own work and the hop). Target: p95 < {TARGET_MS:.0f} ms."
    )
    print(head)
    if not args.no_doc:
        write_block("gui-bench", "Web GUI pages (1 M CDRs)", [head, "", *rows])


if __name__ == "__main__":
    main()
