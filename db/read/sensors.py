"""Sensors: each one's last heartbeat and counters."""

from __future__ import annotations

import json
from typing import Any

from db.connect import CONNECTION
from db.driver import translated
from db.queries.calls import opt_from_ts
from db.read.models import SensorInfo

_COLUMNS = (
    "id", "name", "host", "version", "first_seen", "last_heartbeat", "packets_per_s",
    "kernel_drops", "queue_drops", "active_calls", "parse_errors", "journal_backlog", "counters",
)  # fmt: skip
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM sensors"


def _info(row: Any) -> SensorInfo:
    c = dict(zip(_COLUMNS, row, strict=True))
    counters = json.loads(c["counters"]) if c["counters"] else {}
    return SensorInfo(
        id=int(c["id"]),
        name=str(c["name"]),
        host=str(c["host"]),
        version=str(c["version"]),
        first_seen=opt_from_ts(c["first_seen"]),
        last_heartbeat=opt_from_ts(c["last_heartbeat"]),
        packets_per_s=float(c["packets_per_s"]),
        kernel_drops=int(c["kernel_drops"]),
        queue_drops=int(c["queue_drops"]),
        active_calls=int(c["active_calls"]),
        parse_errors=int(c["parse_errors"]),
        journal_backlog=int(c["journal_backlog"]),
        counters={str(k): int(n) for k, n in counters.items()},
    )


@translated("cannot list sensors")
async def list_sensors(conn: CONNECTION) -> list[SensorInfo]:
    """Every sensor that has sent a heartbeat, by id."""
    async with conn.cursor() as cur:
        await cur.execute(f"{_SELECT} ORDER BY id")
        return [_info(r) for r in await cur.fetchall()]


@translated("cannot read a sensor")
async def get_sensor(conn: CONNECTION, sensor_id: int) -> SensorInfo | None:
    async with conn.cursor() as cur:
        await cur.execute(f"{_SELECT} WHERE id = %s", (sensor_id,))
        row = await cur.fetchone()
    return None if row is None else _info(row)
