"""Sensor heartbeats (``sensors``), automatic sensor ids, and the per-sensor snapshot of calls
in progress (``active_calls``). Only :func:`store_heartbeat` and :func:`claim_sensor_id`
commit."""

import asyncio
import json
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pymysql

from db.connect import CONNECTION
from db.driver import driver_errors, lock_conflict, translated
from db.errors import DbUnavailable
from db.queries import values as v
from db.queries.sql import insert_once

_SENSOR_COLUMNS = (
    "id",
    "name",
    "host",
    "version",
    "first_seen",
    "last_heartbeat",
    "packets_per_s",
    "kernel_drops",
    "queue_drops",
    "active_calls",
    "parse_errors",
    "journal_backlog",
    "counters",
)
_UPSERT_SENSOR = (
    f"INSERT IGNORE INTO sensors ({', '.join(_SENSOR_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(_SENSOR_COLUMNS))}) ON DUPLICATE KEY UPDATE "
    + ", ".join(f"{c} = VALUES({c})" for c in _SENSOR_COLUMNS[1:] if c != "first_seen")
)
_ACTIVE_COLUMNS = ("sensor_id", "call_id", "caller", "called", "start", "state", "updated_at")
_INSERT_ACTIVE = insert_once("active_calls", _ACTIVE_COLUMNS, "sensor_id")


_READ_COLUMNS = (*_SENSOR_COLUMNS, "identity")
CLAIM_ATTEMPTS = 20
_DUPLICATE_KEY = 1062
_DEADLOCK = 1213
HEARTBEAT_ATTEMPTS = 3
"""Tries of one heartbeat transaction that lost a lock conflict to another sensor's."""
_CLAIM = (
    "INSERT INTO sensors (id, identity, name, host, version, first_seen) "
    "SELECT COALESCE(MAX(id), 0) + 1, %s, %s, %s, %s, UTC_TIMESTAMP(6) FROM sensors"
)


async def claim_sensor_id(
    conn: CONNECTION, identity: str, *, name: str, host: str = "", version: str = ""
) -> int:
    """The sensor id that belongs to ``identity`` (a sensor's persistent random identity, or
    any stable key such as ``mirror:NAME``): the id of its row when it has one, else the next
    free id (highest + 1), claimed by inserting the row. Safe when many sensors claim at
    once: a concurrent claim of the same id loses on the primary key and takes the next one.
    Commits (or rolls back) its own transaction; failures are :class:`~db.errors.DbError`."""
    if not identity or len(identity) > 64 or not identity.isascii():
        raise ValueError(f"sensor identity must be 1..64 ASCII characters, got {identity!r}")
    row = (identity, v.text(name, 64), v.text(host, 255), v.text(version, 32))
    with driver_errors("cannot claim a sensor id"):
        for attempt in range(CLAIM_ATTEMPTS):
            sensor_id = await _claim_once(conn, row)
            if sensor_id is not None:
                return sensor_id
            # another sensor took that id meanwhile: look again
            await asyncio.sleep(random.uniform(0.0, 0.02 * (attempt + 1)))
    raise DbUnavailable(
        f"could not claim a sensor id in {CLAIM_ATTEMPTS} attempts (too much contention)"
    )


async def _claim_once(conn: CONNECTION, row: tuple[str, str, str, str]) -> int | None:
    async with conn.cursor() as cur:
        await cur.execute("SELECT id FROM sensors WHERE identity = %s", (row[0],))
        found = await cur.fetchone()
        if found is not None:
            await conn.commit()
            return int(found[0])
        try:
            await cur.execute(_CLAIM, row)
        except (pymysql.err.IntegrityError, pymysql.err.OperationalError) as exc:
            await conn.rollback()
            if exc.args and exc.args[0] in (_DUPLICATE_KEY, _DEADLOCK):
                return None
            raise
    await conn.commit()
    return await _claim_once(conn, row)


@dataclass(frozen=True, slots=True)
class ActiveCall:
    """One call in progress as shown live: ``start`` is epoch seconds (capture time)."""

    call_id: str
    caller: str
    called: str
    start: float
    state: str


@dataclass(slots=True)
class SensorStatus:
    """What a heartbeat says about the sensor (the ``sensors`` row)."""

    name: str
    host: str = ""
    version: str = ""
    packets_per_s: float = 0.0
    kernel_drops: int = 0
    queue_drops: int = 0
    active_calls: int = 0
    parse_errors: int = 0
    journal_backlog: int = 0
    counters: Mapping[str, int] | None = field(default=None)


async def store_heartbeat(
    conn: CONNECTION,
    sensor_id: int,
    status: SensorStatus,
    active: Sequence[ActiveCall],
    *,
    timeout_s: float,
) -> None:
    """Refresh the sensor's row and replace its active-calls snapshot in one committed
    transaction, within ``timeout_s``; every failure is a :class:`~db.errors.DbError`."""
    with driver_errors("heartbeat", timeout_s=timeout_s):
        async with asyncio.timeout(timeout_s):
            for attempt in range(HEARTBEAT_ATTEMPTS):
                try:
                    await upsert_sensor(conn, sensor_id, **asdict(status))
                    await replace_active_calls(conn, sensor_id, active)
                    await conn.commit()
                    return
                except (pymysql.err.OperationalError, DbUnavailable) as exc:
                    # sensors replacing their snapshots at once can deadlock on the gaps of
                    # the start index: InnoDB rolled one back, which is safe to run again
                    if attempt == HEARTBEAT_ATTEMPTS - 1 or not lock_conflict(exc):
                        raise
                    await conn.rollback()
                    await asyncio.sleep(random.uniform(0.0, 0.05 * (attempt + 1)))


@translated("cannot write the sensor row")
async def upsert_sensor(
    conn: CONNECTION,
    sensor_id: int,
    *,
    name: str,
    host: str = "",
    version: str = "",
    heartbeat_ts: float | None = None,
    packets_per_s: float = 0.0,
    kernel_drops: int = 0,
    queue_drops: int = 0,
    active_calls: int = 0,
    parse_errors: int = 0,
    journal_backlog: int = 0,
    counters: Mapping[str, int] | None = None,
) -> None:
    """Create or refresh the sensor's row (``heartbeat_ts`` defaults to now)."""
    beat = v.ts(time.time() if heartbeat_ts is None else heartbeat_ts)
    row: tuple[Any, ...] = (
        v.uint(sensor_id, v.U32),
        v.text(name, 64),
        v.text(host, 255),
        v.text(version, 32),
        beat,
        beat,
        v.real(packets_per_s),
        v.uint(kernel_drops, v.U64),
        v.uint(queue_drops, v.U64),
        v.uint(active_calls, v.U32),
        v.uint(parse_errors, v.U64),
        v.uint(journal_backlog, v.U64),
        None if counters is None else json.dumps(dict(sorted(counters.items()))),
    )
    async with conn.cursor() as cur:
        await cur.execute(_UPSERT_SENSOR, row)


@translated("cannot write the active calls")
async def replace_active_calls(
    conn: CONNECTION, sensor_id: int, rows: Sequence[ActiveCall], *, now: float | None = None
) -> None:
    """Replace the sensor's snapshot of calls in progress (delete + insert: commit both at once)."""
    updated = v.ts(time.time() if now is None else now)
    values = [
        (
            sensor_id,
            v.text(r.call_id, 255),
            v.text(r.caller, 128),
            v.text(r.called, 128),
            v.ts(r.start),
            v.atext(r.state, 16),
            updated,
        )
        for r in rows
    ]
    async with conn.cursor() as cur:
        await cur.execute("DELETE FROM active_calls WHERE sensor_id = %s", (sensor_id,))
        if values:
            await cur.executemany(_INSERT_ACTIVE, values)


@translated("cannot read the sensor row")
async def fetch_sensor(conn: CONNECTION, sensor_id: int) -> dict[str, Any] | None:
    """The sensor's row (column -> value; ``counters`` decoded), or None."""
    async with conn.cursor() as cur:
        await cur.execute(
            f"SELECT {', '.join(_READ_COLUMNS)} FROM sensors WHERE id = %s", (sensor_id,)
        )
        row = await cur.fetchone()
    if row is None:
        return None
    out = dict(zip(_READ_COLUMNS, row, strict=True))
    if out["counters"] is not None:
        out["counters"] = json.loads(out["counters"])
    return out


@translated("cannot read the active calls")
async def fetch_active_calls(conn: CONNECTION, sensor_id: int) -> list[ActiveCall]:
    """The sensor's current snapshot, oldest call first."""
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT call_id, caller, called, start, state FROM active_calls "
            "WHERE sensor_id = %s ORDER BY start, call_id",
            (sensor_id,),
        )
        rows = await cur.fetchall()
    return [ActiveCall(str(c), str(a), str(b), v.from_ts(s), str(st)) for c, a, b, s, st in rows]
