"""Partition maintenance: create the coming days' partitions, drop those past the retention.

Needs ALTER on the CDR tables, which the least-privilege sensor user does not have: run it with
the admin URL (``callsift db maintain``, or the compose ``db-maint`` service), daily.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from db.connect import connect
from db.driver import driver_errors
from db.retention import DEFAULT_DAYS_AHEAD, drop_partitions_older_than, ensure_partitions
from db.url import parse_db_url

log = logging.getLogger(__name__)


@dataclass(slots=True)
class MaintenanceResult:
    created: dict[str, list[str]]
    dropped: dict[str, list[str]]


async def maintain(
    url: str, *, retention_days: int, days_ahead: int = DEFAULT_DAYS_AHEAD
) -> MaintenanceResult:
    """Ensure ``days_ahead`` future daily partitions; drop those older than ``retention_days``
    (0 keeps everything). Raises :class:`db.errors.DbError` with one clear line."""
    cfg = parse_db_url(url)
    conn = await connect(cfg)
    try:
        with driver_errors("partition maintenance"):
            created = await ensure_partitions(conn, days_ahead)
            dropped = (
                await drop_partitions_older_than(conn, retention_days) if retention_days else {}
            )
            await conn.commit()
    finally:
        conn.close()
    return MaintenanceResult(created, dropped)
