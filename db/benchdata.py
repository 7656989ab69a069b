"""Bookkeeping of benchmark data sets kept between runs (bench/dataset.py): one marker row
per data set in ``bench_dataset``, written once the data set is complete, so that a benchmark
reuses a database whose marker names the version and size it wants and seeds it again
otherwise. Also the read-only statements the benchmarks time or explain."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from db.connect import CONNECTION
from db.driver import translated

_CREATE = (
    "CREATE TABLE IF NOT EXISTS bench_dataset ("
    "name VARCHAR(64) CHARACTER SET ascii NOT NULL, version INT UNSIGNED NOT NULL, "
    "calls BIGINT UNSIGNED NOT NULL, start_ts DOUBLE NOT NULL, days INT UNSIGNED NOT NULL, "
    "seed_s DOUBLE NOT NULL, seeded_at DATETIME NOT NULL, PRIMARY KEY (name)"
    ") ENGINE=InnoDB"
)


@dataclass(frozen=True, slots=True)
class Marker:
    version: int
    calls: int
    start_ts: float
    days: int
    seed_s: float


async def _has_table(conn: CONNECTION) -> bool:
    """(``CREATE TABLE IF NOT EXISTS`` would warn on every run)"""
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT COUNT(*) FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name = 'bench_dataset'"
        )
        found = await cur.fetchone()
    return bool(found and found[0])


@translated("cannot read the benchmark data set marker")
async def read_marker(conn: CONNECTION, name: str) -> Marker | None:
    if not await _has_table(conn):
        return None
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT version, calls, start_ts, days, seed_s FROM bench_dataset WHERE name = %s",
            (name,),
        )
        row = await cur.fetchone()
    if row is None:
        return None
    return Marker(int(row[0]), int(row[1]), float(row[2]), int(row[3]), float(row[4]))


@translated("cannot write the benchmark data set marker")
async def write_marker(conn: CONNECTION, name: str, m: Marker) -> None:
    async with conn.cursor() as cur:
        if not await _has_table(conn):
            await cur.execute(_CREATE)
        await cur.execute(
            "REPLACE INTO bench_dataset (name, version, calls, start_ts, days, seed_s, "
            "seeded_at) VALUES (%s, %s, %s, %s, %s, %s, UTC_TIMESTAMP())",
            (name, m.version, m.calls, m.start_ts, m.days, m.seed_s),
        )
    await conn.commit()


@translated("cannot count the calls")
async def count_calls(conn: CONNECTION) -> int:
    async with conn.cursor() as cur:
        await cur.execute("SELECT COUNT(*) FROM cdr")
        row = await cur.fetchone()
    return int(row[0]) if row else 0


@translated("cannot explain a statement")
async def explain(conn: CONNECTION, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    """``EXPLAIN`` of a statement built in db/ (rows as column -> value); a statement with its
    own settings (``SET STATEMENT ... FOR SELECT``) is explained with them."""
    head, sep, body = sql.partition(" FOR ") if sql.startswith("SET STATEMENT") else ("", "", sql)
    async with conn.cursor() as cur:
        await cur.execute(f"{head}{sep}EXPLAIN {body}", tuple(params))
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in await cur.fetchall()]


@translated("cannot run a timed statement")
async def run_statement(conn: CONNECTION, sql: str, params: Sequence[Any]) -> int:
    """Run a statement built in db/ and fetch every row (the SQL reference of a benchmark)."""
    async with conn.cursor() as cur:
        await cur.execute(sql, tuple(params))
        return len(await cur.fetchall())
