"""Daily partitions of the time-series tables: create ahead, drop when past retention.

Partition ``pYYYYMMDD`` holds rows whose time column is before ``YYYY-MM-DD + 1 day`` (UTC) and
not in an earlier partition; ``p_future`` (``MAXVALUE``) catches everything after the last day.
Needs the ALTER and DROP privileges: run it as the admin user, not as a sensor.
"""

import datetime as dt
import logging
import re

from db.connect import CONNECTION
from db.driver import translated
from db.settings import StorageSettings

log = logging.getLogger(__name__)

PARTITIONED_TABLES: tuple[str, ...] = (
    "cdr",
    "cdr_rtp",
    "cdr_dtmf",
    "cdr_problem",
    "cdr_leg_key",
    "cdr_leg_link",
    "rtp_orphan",
    "registration_history",
    "registration_failure",
    "sip_message",
)
"""Tables partitioned by day on their time column, all with the same partition names."""

FUTURE = "p_future"
DEFAULT_DAYS_AHEAD: int = StorageSettings.model_fields["partitions_ahead_days"].default
"""Daily partitions created ahead of today (the ``storage.partitions_ahead_days`` default)."""
_DAILY = re.compile(r"p(\d{8})")


def partition_name(day: dt.date) -> str:
    return f"p{day:%Y%m%d}"


def partition_day(name: str) -> dt.date | None:
    """``p20240131`` -> 2024-01-31; None for ``p_future`` or any other name."""
    m = _DAILY.fullmatch(name)
    if m is None:
        return None
    try:
        return dt.datetime.strptime(m.group(1), "%Y%m%d").date()
    except ValueError:
        return None


def _utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@translated("cannot list partitions")
async def list_partitions(conn: CONNECTION, table: str) -> list[str]:
    """Partition names of ``table`` in the current database, in order."""
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT PARTITION_NAME FROM information_schema.PARTITIONS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND PARTITION_NAME IS NOT NULL "
            "ORDER BY PARTITION_ORDINAL_POSITION",
            (table,),
        )
        return [str(r[0]) for r in await cur.fetchall()]


@translated("cannot create partitions")
async def ensure_partitions(
    conn: CONNECTION, days_ahead: int = DEFAULT_DAYS_AHEAD, *, today: dt.date | None = None
) -> dict[str, list[str]]:
    """Add daily partitions up to ``today + days_ahead`` (split off ``p_future``); a table with
    no daily partition yet starts at ``today``. Returns the partitions created per table."""
    if days_ahead < 0:
        raise ValueError(f"days_ahead must be >= 0, got {days_ahead}")
    today = today or _utc_today()
    last_wanted = today + dt.timedelta(days=days_ahead)
    created: dict[str, list[str]] = {}
    for table in PARTITIONED_TABLES:
        names = await list_partitions(conn, table)
        if not names:
            continue  # not created yet: the schema is at an older version
        days = [d for d in map(partition_day, names) if d]
        start = max(days) + dt.timedelta(days=1) if days else today
        new: list[dt.date] = []
        day = start
        while day <= last_wanted:
            new.append(day)
            day += dt.timedelta(days=1)
        if not new:
            continue
        parts = ", ".join(
            f"PARTITION {partition_name(d)} VALUES LESS THAN ('{d + dt.timedelta(days=1)}')"
            for d in new
        )
        async with conn.cursor() as cur:
            await cur.execute(
                f"ALTER TABLE `{table}` REORGANIZE PARTITION {FUTURE} INTO "
                f"({parts}, PARTITION {FUTURE} VALUES LESS THAN (MAXVALUE))"
            )
        created[table] = [partition_name(d) for d in new]
        log.info("%s: added partitions %s..%s", table, created[table][0], created[table][-1])
    return created


@translated("cannot drop partitions")
async def drop_partitions_older_than(
    conn: CONNECTION, days: int, *, today: dt.date | None = None
) -> dict[str, list[str]]:
    """Drop the daily partitions of days before ``today - days`` (their rows go with them).
    Returns the partitions dropped per table."""
    if days < 1:
        raise ValueError(f"retention must be at least 1 day, got {days}")
    cutoff = (today or _utc_today()) - dt.timedelta(days=days)
    dropped: dict[str, list[str]] = {}
    for table in PARTITIONED_TABLES:
        old = [
            name
            for name in await list_partitions(conn, table)
            if (d := partition_day(name)) is not None and d < cutoff
        ]
        if not old:
            continue
        async with conn.cursor() as cur:
            await cur.execute(f"ALTER TABLE `{table}` DROP PARTITION {', '.join(old)}")
        dropped[table] = old
        log.info("%s: dropped %d partitions up to %s", table, len(old), old[-1])
    return dropped
