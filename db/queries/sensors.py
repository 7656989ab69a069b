"""Sensor heartbeats (``sensors``) and the per-sensor snapshot of calls in progress
(``active_calls``). Only :func:`store_heartbeat` commits."""

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from db.connect import CONNECTION
from db.driver import driver_errors, translated
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
            await upsert_sensor(conn, sensor_id, **asdict(status))
            await replace_active_calls(conn, sensor_id, active)
            await conn.commit()


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
            f"SELECT {', '.join(_SENSOR_COLUMNS)} FROM sensors WHERE id = %s", (sensor_id,)
        )
        row = await cur.fetchone()
    if row is None:
        return None
    out = dict(zip(_SENSOR_COLUMNS, row, strict=True))
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
