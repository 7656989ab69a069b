"""Helpers of the CDR writer tests (test_writer*.py): a writer with short intervals, bounded
waits, rows counted per sensor."""

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from db.connect import CONNECTION
from db.queries import duplicate_call_uids, sensor_row_counts
from db.records import CallRecord
from sniffer.storage.writer import CdrWriter
from tests.db.factories import make_call
from tests.sniffer.storage.proxy import TcpProxy

FAST: dict[str, Any] = {
    "batch_size": 50,
    "flush_interval_s": 0.02,
    "retry_min_s": 0.02,
    "retry_max_s": 0.1,
    "connect_timeout_s": 2.0,
    "db_timeout_s": 10.0,
}
DEAD_URL = "mysql://root@127.0.0.1:1/nowhere"


def writer(url: str, sensor_id: int, journal_dir: Path, **options: Any) -> CdrWriter:
    """A writer with short intervals (tests wait on conditions, never on durations)."""
    return CdrWriter(url, sensor_id, journal_dir, **{**FAST, **options})


async def wait_until(what: str, pred: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll ``pred``; fail (not hang) when it stays false."""
    async with asyncio.timeout(timeout):
        while not pred():
            await asyncio.sleep(0.01)
    assert pred(), what


def calls(start: int, n: int) -> list[CallRecord]:
    return [make_call(i) for i in range(start, start + n)]


def proxied(db_url: str, proxy: TcpProxy) -> str:
    return db_url.replace(":3306/", f":{proxy.port}/")


async def counts(conn: CONNECTION, sensor_id: int) -> tuple[int, int, int]:
    await conn.commit()  # end the snapshot: see the writer's newest commits
    c = await sensor_row_counts(conn, sensor_id)
    return c["cdr"], c["cdr_rtp"], await duplicate_call_uids(conn, sensor_id)


def segments(journal_dir: Path) -> list[Path]:
    return sorted(journal_dir.glob("segment-*.jsonl"))
