import datetime as dt

import pytest

from db.connect import connect
from db.migrate import migrate
from db.queries import LookupCache, insert_calls, sensor_row_counts
from db.retention import (
    PARTITIONED_TABLES,
    drop_partitions_older_than,
    ensure_partitions,
    list_partitions,
    partition_day,
    partition_name,
)
from db.url import parse_db_url
from tests.db.factories import make_call
from tests.db.mariadb import url_of


def _epoch(day: dt.date, hour: int = 12) -> float:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC).timestamp()


def test_partition_names() -> None:
    assert partition_name(dt.date(2024, 2, 29)) == "p20240229"
    assert partition_day("p20240229") == dt.date(2024, 2, 29)
    assert partition_day("p_future") is None
    assert partition_day("p20240230") is None


@pytest.mark.slow
async def test_partitions_created_ahead_and_dropped_behind(fresh_db: str) -> None:
    url = url_of(fresh_db)
    today = dt.datetime.now(dt.UTC).date()
    await migrate(url, days_ahead=0)
    conn = await connect(parse_db_url(url))
    try:
        days = [today + dt.timedelta(days=n) for n in range(4)]
        created = await ensure_partitions(conn, days_ahead=3, today=today)
        assert set(created) == set(PARTITIONED_TABLES)
        assert created["cdr"] == [partition_name(d) for d in days[1:]]
        assert await ensure_partitions(conn, days_ahead=3, today=today) == {}
        for table in PARTITIONED_TABLES:
            assert await list_partitions(conn, table) == [
                *(partition_name(d) for d in days),
                "p_future",
            ]

        # one call per day, and one past the last partition (lands in p_future)
        calls = [make_call(n, _epoch(d) - n) for n, d in enumerate(days)]
        calls.append(make_call(99, _epoch(today + dt.timedelta(days=30)) - 99))
        await insert_calls(conn, 1, calls, LookupCache())
        await conn.commit()

        later = today + dt.timedelta(days=4)
        dropped = await drop_partitions_older_than(conn, 2, today=later)
        assert dropped["cdr"] == [partition_name(d) for d in days[:2]]
        assert set(dropped) == set(PARTITIONED_TABLES)
        assert await list_partitions(conn, "cdr") == [
            *(partition_name(d) for d in days[2:]),
            "p_future",
        ]
        counts = await sensor_row_counts(conn, 1)
        assert (counts["cdr"], counts["cdr_rtp"], counts["cdr_dtmf"]) == (3, 6, 9)
        assert await drop_partitions_older_than(conn, 2, today=later) == {}

        # the partitions keep extending from the last one; rows in p_future move into them
        created = await ensure_partitions(conn, days_ahead=40, today=today)
        assert created["cdr"][0] == partition_name(days[-1] + dt.timedelta(days=1))
        assert created["cdr"][-1] == partition_name(today + dt.timedelta(days=40))
        assert (await sensor_row_counts(conn, 1))["cdr"] == 3
    finally:
        conn.close()


async def test_bad_arguments(fresh_db: str) -> None:
    url = url_of(fresh_db)
    await migrate(url, days_ahead=0)
    conn = await connect(parse_db_url(url))
    try:
        with pytest.raises(ValueError, match="retention must be at least 1 day, got 0"):
            await drop_partitions_older_than(conn, 0)
        with pytest.raises(ValueError, match="days_ahead must be >= 0, got -1"):
            await ensure_partitions(conn, -1)
    finally:
        conn.close()
