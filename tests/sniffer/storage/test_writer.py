"""The CDR writer against the real MariaDB: everything written once, through outages,
restarts, cancellation, a full queue and records the database refuses (the journal keeps
the rest)."""

import asyncio
import logging
from pathlib import Path

import pytest

from db.connect import CONNECTION
from db.errors import StorageError
from db.queries import LookupCache, insert_calls, sensor_row_counts
from db.records import Record
from db.url import parse_db_url
from sniffer.storage.codec import decode, encode
from sniffer.storage.journal import Journal
from sniffer.storage.owner import JournalOwner
from sniffer.storage.writer import REJECTED_FILE, CdrWriter
from tests.db.factories import make_call, make_message, make_registration
from tests.db.mariadb import create_empty_database, url_of
from tests.sniffer.storage.proxy import TcpProxy
from tests.sniffer.storage.writer_kit import (
    DEAD_URL,
    calls,
    counts,
    proxied,
    segments,
    wait_until,
    writer,
)


async def test_writes_everything_when_db_is_up(
    db_url: str, conn: CONNECTION, sensor_id: int, tmp_path: Path
) -> None:
    records: list[Record] = [*calls(0, 420), make_registration(1), make_message(1)]
    async with writer(db_url, sensor_id, tmp_path) as w:
        for r in records:
            w.submit(r)
    assert w.written == len(records)
    assert w.failures == 0 and w.backlog_records == 0 and w.journal_bytes == 0
    assert await counts(conn, sensor_id) == (420, 840, 0)
    assert (await sensor_row_counts(conn, sensor_id))["sip_message"] == 1
    with pytest.raises(StorageError, match="CdrWriter is closed"):
        w.submit(make_call(1))


async def test_dead_database_journals_then_replays_exactly_once(
    db_url: str, conn: CONNECTION, sensor_id: int, tmp_path: Path, proxy: TcpProxy
) -> None:
    url = proxied(db_url, proxy)
    await proxy.stop()  # the database's address refuses connections
    async with writer(url, sensor_id, tmp_path) as dead:
        for r in calls(0, 300):
            dead.submit(r)
        await wait_until("journaled", lambda: dead.journal.records == 300)
        assert not dead.db_up
    assert dead.written == 0 and dead.failures >= 1
    where = f"127.0.0.1:{proxy.port}"
    assert dead.last_error == f"cannot connect to MySQL at {where} as root: connection refused"
    assert dead.backlog_records == 300 and dead.journal_bytes > 0

    await proxy.start()
    async with writer(url, sensor_id, tmp_path) as w:
        assert w.backlog_records == 300  # found on disk
        await wait_until("replayed", lambda: w.backlog_records == 0)
    assert w.written == 300 and w.counters["replayed"] == 300
    assert segments(w.journal_dir) == []
    assert await counts(conn, sensor_id) == (300, 600, 0)


async def test_outage_and_restart_of_the_server(
    db_url: str, conn: CONNECTION, sensor_id: int, tmp_path: Path, proxy: TcpProxy
) -> None:
    async with writer(proxied(db_url, proxy), sensor_id, tmp_path) as w:
        for r in calls(0, 100):
            w.submit(r)
        await wait_until("first 100 written", lambda: w.written == 100)

        await proxy.stop()  # server gone: open connection cut, new ones refused
        for r in calls(100, 200):
            w.submit(r)
        await wait_until("outage journaled", lambda: w.journal.records == 200)
        assert w.failures >= 1 and not w.db_up

        await proxy.start()  # server back on the same address
        for r in calls(300, 100):
            w.submit(r)
        await wait_until("all delivered", lambda: w.backlog_records == 0)
    assert w.written == 400
    assert segments(w.journal_dir) == []
    assert await counts(conn, sensor_id) == (400, 800, 0)


async def test_writer_restarted_during_outage_loses_nothing(
    db_url: str, conn: CONNECTION, sensor_id: int, tmp_path: Path, proxy: TcpProxy
) -> None:
    url = proxied(db_url, proxy)
    await proxy.stop()
    async with writer(url, sensor_id, tmp_path) as first:
        for r in calls(0, 150):
            first.submit(r)
    assert first.journal.records == 150  # closed while the database was down

    async with writer(url, sensor_id, tmp_path) as second:
        for r in calls(150, 150):
            second.submit(r)
        await wait_until("journaled", lambda: second.journal.records == 300)
        await proxy.start()
        await wait_until("all delivered", lambda: second.backlog_records == 0)
    assert second.written == 300
    assert segments(second.journal_dir) == []
    assert await counts(conn, sensor_id) == (300, 600, 0)


async def test_cancelled_writer_spills_to_journal(
    db_url: str, conn: CONNECTION, sensor_id: int, tmp_path: Path, proxy: TcpProxy
) -> None:
    proxy.hang = True  # accepts, never answers: the writer is stuck connecting
    w = writer(proxied(db_url, proxy), sensor_id, tmp_path, connect_timeout_s=60)
    w.start()
    for r in calls(0, 120):
        w.submit(r)
    await wait_until("connecting", lambda: proxy.accepted > 0)
    closing = asyncio.create_task(w.aclose())
    await asyncio.sleep(0.05)
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    assert w.journal.records == 120  # in flight and queued records alike

    proxy.hang = False
    async with writer(proxied(db_url, proxy), sensor_id, tmp_path) as again:
        await wait_until("replayed", lambda: again.backlog_records == 0)
    assert await counts(conn, sensor_id) == (120, 240, 0)


async def test_journal_of_already_stored_records_adds_nothing(
    db_url: str, conn: CONNECTION, sensor_id: int, tmp_path: Path
) -> None:
    """A batch whose commit answer was lost is journaled although it is stored: replay is a no-op."""
    stored = calls(0, 60)
    await insert_calls(conn, sensor_id, stored, LookupCache())
    await conn.commit()
    owner = JournalOwner.of(parse_db_url(db_url), sensor_id)
    j = Journal(tmp_path / owner.key, max_bytes=1 << 20, owner=owner)
    j.append([encode(r) for r in stored])
    j.close()
    async with writer(db_url, sensor_id, tmp_path) as w:
        await wait_until("replayed", lambda: w.backlog_records == 0)
    assert await counts(conn, sensor_id) == (60, 120, 0)


async def test_full_queue_spills_to_journal_and_still_arrives(
    db_url: str, conn: CONNECTION, sensor_id: int, tmp_path: Path
) -> None:
    w = writer(db_url, sensor_id, tmp_path, queue_size=10)
    for r in calls(0, 35):  # not started yet: nothing takes them from the queue
        w.submit(r)
    assert w.counters["queue_full_journaled"] == 25
    assert w.backlog_records == 35
    async with w:
        await wait_until("delivered", lambda: w.backlog_records == 0)
    assert await counts(conn, sensor_id) == (35, 70, 0)


async def test_journal_size_bound(
    sensor_id: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    records = calls(0, 10)
    limit = sum(len(encode(r)) for r in records[:4]) + 10
    async with writer(DEAD_URL, sensor_id, tmp_path, journal_max_bytes=limit) as w:
        for r in records:
            w.submit(r)
    assert w.journal.records == 4
    assert w.journal_full_dropped == 6
    assert w.counters["journal_above_80pct"] == 1
    assert w.journal_bytes <= limit
    assert any(
        rec.levelno == logging.ERROR and "records DROPPED" in rec.getMessage()
        for rec in caplog.records
    )


async def test_record_the_database_cannot_take_is_set_aside(
    db_url: str, conn: CONNECTION, sensor_id: int, tmp_path: Path
) -> None:
    bad = make_call(5)
    bad.caller = 12345  # type: ignore[assignment]  # wrong type from a buggy producer
    async with writer(db_url, sensor_id, tmp_path) as w:
        for r in [*calls(0, 5), bad, *calls(6, 5)]:
            w.submit(r)
    assert w.counters["rejected"] == 1
    assert await counts(conn, sensor_id) == (10, 20, 0)
    rejected = (w.journal_dir / REJECTED_FILE).read_bytes().splitlines(keepends=True)
    assert [decode(line) for line in rejected] == [bad]


async def test_never_started_writer_journals_on_close(sensor_id: int, tmp_path: Path) -> None:
    w = CdrWriter(DEAD_URL, sensor_id, tmp_path)
    for r in calls(0, 3):
        w.submit(r)
    await w.aclose()
    j = Journal(w.journal_dir, max_bytes=1 << 20)
    assert j.records == 3
    j.close()


async def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="database URL must start with mysql://"):
        CdrWriter("postgres://x@y/z", 1, tmp_path)
    with pytest.raises(
        ValueError, match="batch_size, queue_size and connections must be at least 1"
    ):
        CdrWriter(DEAD_URL, 1, tmp_path, batch_size=0)
    with pytest.raises(StorageError, match="in use by another writer"):
        async with CdrWriter(DEAD_URL, 1, tmp_path):
            CdrWriter(DEAD_URL, 1, tmp_path)


async def test_schema_not_migrated_is_journaled_with_a_clear_error(
    fresh_db: str, sensor_id: int, tmp_path: Path
) -> None:
    await create_empty_database(fresh_db)
    async with writer(url_of(fresh_db), sensor_id, tmp_path) as w:
        w.submit(make_call(1))
        await wait_until("journaled", lambda: w.journal.records == 1)
    assert w.last_error is not None
    assert w.last_error.startswith("database schema is at version 0, this callsift needs")


async def test_unserialisable_record_is_counted_not_fatal(sensor_id: int, tmp_path: Path) -> None:
    bad = make_call(3)
    bad.flags = [{"not", "json"}]  # type: ignore[list-item]
    async with writer(DEAD_URL, sensor_id, tmp_path) as w:
        for r in [*calls(0, 3), bad, *calls(4, 3)]:
            w.submit(r)
    assert w.counters["unserialisable_dropped"] == 1
    assert w.journal.records == 6
