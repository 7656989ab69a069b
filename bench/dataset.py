"""The benchmark data set of the REST API and the GUI: 1,000,000 CDRs over 30 days and 3
sensors, written through the sensor's CdrWriter (one process per sensor) into the database
``cs_bench_calls``, kept between runs. A marker row (db/benchdata.py) names the data set's
version, size and first day; a run whose marker does not match (or ``--reseed``) drops the
database and seeds it again, so ``make bench`` seeds once and then reuses the data.

Other benchmarks get the database with :func:`seeded_db_url` (or :func:`ensure_dataset` from
async code, which also says where the data lies in time).

Run: .venv/bin/python bench/dataset.py [--calls N] [--reseed]   (prints the database URL)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.auth.passwords import hash_password
from db.benchdata import Marker, count_calls, read_marker, write_marker
from db.connect import connect
from db.migrate import drop_database, migrate
from db.queries import apiauth
from db.queries.statsummary import refresh
from db.records import CallRecord, StreamRecord
from db.url import parse_db_url
from sniffer.storage.writer import CdrWriter

VERSION = 1
"""Bump whenever :func:`calls_for` or the seeding changes: kept databases are seeded again."""
NAME = "api-1m"
DB = "cs_bench_calls"
URL = f"mysql://root@127.0.0.1:3306/{DB}"
CALLS = 1_000_000
SENSORS = (1, 2, 3)
DAYS = 30
USER = "bench"
PASSWORD = "bench-password-0123"
"""An admin of the data set's API (benchmarks log in with it)."""
CODES = [(200, "completed", 70), (486, "failed", 10), (487, "cancelled", 8), (404, "failed", 5),
         (503, "failed", 4), (480, "failed", 3)]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Dataset:
    url: str
    calls: int
    start: float
    """Epoch seconds of the first day's midnight (UTC): the calls lie in [start, end)."""
    end: float
    sensors: tuple[int, ...]
    user: str
    password: str
    seeded: str
    """What this run did: "reused ..." or "seeded ... in N s"."""


def calls_for(sensor: int, n: int, start: float, seed: int) -> Iterator[CallRecord]:
    """``n`` calls of one sensor spread evenly over :data:`DAYS` days from ``start``: 70 %
    answered (two PCMA streams), 5 % of them bad (MOS 2.4-3.4, loss 2-12 %), 20,000 callers,
    50,000 called numbers, 1,000 caller IPs per sensor."""
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


async def _seed_sensor(url: str, sensor: int, n: int, start: float) -> None:
    with tempfile.TemporaryDirectory() as journal:
        async with CdrWriter(url, sensor, Path(journal), batch_size=1000) as w:
            for i, c in enumerate(calls_for(sensor, n, start, sensor)):
                if i % 200 == 0:
                    while w.backlog_records > 8000:
                        await asyncio.sleep(0.005)
                w.submit(c)


def _seed_process(url: str, sensor: int, n: int, start: float) -> None:
    asyncio.run(_seed_sensor(url, sensor, n, start))


def first_day() -> float:
    """Midnight (UTC) after tomorrow: a fresh data set lies in the partitions ahead of today."""
    d = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
    return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp()


def _seed(url: str, calls: int, start: float) -> float:
    """Seed in one process per sensor (the generator and the writer are CPU-bound)."""
    t0 = time.perf_counter()
    per = calls // len(SENSORS)
    ctx = multiprocessing.get_context("fork")
    procs = [
        ctx.Process(target=_seed_process, args=(url, s, per, start), name=f"seed-{s}")
        for s in SENSORS
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    if any(p.exitcode != 0 for p in procs):
        raise SystemExit(f"seeding failed: exit codes {[p.exitcode for p in procs]}")
    return time.perf_counter() - t0


async def ensure_dataset(
    calls: int = CALLS, *, reseed: bool = False, url: str = URL, name: str = NAME
) -> Dataset:
    """The data set, seeded first when the kept database's marker does not match."""
    await migrate(url, days_ahead=DAYS + 4)
    conn = await connect(parse_db_url(url))
    try:
        have = await read_marker(conn, name)
    finally:
        conn.close()
    want_calls = calls // len(SENSORS) * len(SENSORS)
    fresh = have is not None and have.version == VERSION and have.calls == want_calls
    if reseed or not fresh:
        if have is None and url != URL and await _holds_calls(url):
            raise SystemExit(f"{url} holds calls but no benchmark marker: not dropping it")
        await drop_database(url)
        start = first_day()
        await migrate(url, days_ahead=DAYS + 4)
        took = _seed(url, want_calls, start)
        have = Marker(VERSION, want_calls, start, DAYS, took)
        seeded = f"seeded {want_calls:,} CDRs in {took:.0f} s ({want_calls / took:,.0f}/s)"
    else:
        assert have is not None
        seeded = f"reused (seeded in {have.seed_s:.0f} s)"
    conn = await connect(parse_db_url(url))
    try:
        stored = await count_calls(conn)
        if stored != want_calls:
            raise SystemExit(f"{url}: {stored:,} calls stored, {want_calls:,} expected")
        if await apiauth.user_by_name(conn, USER) is None:
            await apiauth.create_user(conn, USER, hash_password(PASSWORD), "admin")
        t = time.perf_counter()
        hours = await refresh(conn)  # what the API's refresher does: whole hours summarised
        await conn.commit()
        if hours:
            seeded += f"; hourly statistics of {hours} hours in {time.perf_counter() - t:.0f} s"
        await write_marker(conn, name, have)
    finally:
        conn.close()
    end = have.start_ts + have.days * 86400
    return Dataset(url, want_calls, have.start_ts, end, SENSORS, USER, PASSWORD, seeded)


async def _holds_calls(url: str) -> bool:
    conn = await connect(parse_db_url(url))
    try:
        return await count_calls(conn) > 0
    finally:
        conn.close()


def seeded_db_url(calls: int = CALLS) -> str:
    """The URL of the seeded benchmark database (seeded now if needed), for other benchmarks."""
    return asyncio.run(ensure_dataset(calls)).url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=CALLS)
    ap.add_argument("--reseed", action="store_true", help="drop and seed the database again")
    args = ap.parse_args()
    d = asyncio.run(ensure_dataset(args.calls, reseed=args.reseed))
    print(d.seeded, file=sys.stderr)
    print(d.url)


if __name__ == "__main__":
    main()
