"""What a sensor under test stored: its CDRs with their streams, and its rows per table (the
live tests and the live benchmark read the database the same way)."""

from __future__ import annotations

import asyncio

from db.connect import connect
from db.queries import call_uids, duplicate_call_uids, fetch_call, sensor_row_counts
from db.records import CallRecord
from db.url import parse_db_url


async def fetch_cdrs(url: str, sensor: int) -> tuple[list[CallRecord], dict[str, int]]:
    """Every CDR of ``sensor`` in the database at ``url``, and its rows per table with
    ``duplicates`` (CDRs stored twice)."""
    conn = await connect(parse_db_url(url))
    try:
        calls = []
        for uid in await call_uids(conn, sensor):
            rec = await fetch_call(conn, sensor, uid)
            if rec is not None:
                calls.append(rec)
        counts = await sensor_row_counts(conn, sensor)
        counts["duplicates"] = await duplicate_call_uids(conn, sensor)
        return calls, counts
    finally:
        conn.close()


def stored_calls(url: str, sensor: int) -> list[CallRecord]:
    return asyncio.run(fetch_cdrs(url, sensor))[0]


def row_counts(url: str, sensor: int) -> dict[str, int]:
    return asyncio.run(fetch_cdrs(url, sensor))[1]
