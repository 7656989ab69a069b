import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from db.connect import CONNECTION
from db.errors import StorageError
from db.queries import LookupCache, duplicate_call_uids, insert_calls, sensor_row_counts
from db.records import CallRecord, Record
from db.url import parse_db_url
from sniffer.storage.codec import decode, encode
from sniffer.storage.journal import Journal
from sniffer.storage.owner import JournalOwner
from sniffer.storage.writer import REJECTED_FILE, CdrWriter
from tests.db.factories import make_call, make_message, make_registration
from tests.db.mariadb import create_empty_database, url_of
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


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    p = TcpProxy("127.0.0.1", 3306)
    await p.start()
    yield p
    await p.stop()


async def counts(conn: CONNECTION, sensor_id: int) -> tuple[int, int, int]:
    await conn.commit()  # end the snapshot: see the writer's newest commits
    c = await sensor_row_counts(conn, sensor_id)
    return c["cdr"], c["cdr_rtp"], await duplicate_call_uids(conn, sensor_id)


def segments(journal_dir: Path) -> list[Path]:
    return sorted(journal_dir.glob("segment-*.jsonl"))


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


async def test_db_up_only_while_the_database_answers(
    db_url: str, sensor_id: int, tmp_path: Path, proxy: TcpProxy
) -> None:
    """Unreachable from start-up: down (not up until a first write fails); an idle writer
    notices an outage and the return by itself."""
    url = proxied(db_url, proxy)
    await proxy.stop()
    async with writer(url, sensor_id, tmp_path, ping_interval_s=0.05) as w:
        assert not w.db_up  # not known yet: not up
        await wait_until("probed", lambda: w.failures >= 1)
        assert not w.db_up and w.last_error is not None
        await proxy.start()
        await wait_until("up", lambda: w.db_up)
        await proxy.stop()  # no record to write: the idle ping notices
        await wait_until("down", lambda: not w.db_up)
        await proxy.start()
        await wait_until("up again", lambda: w.db_up)


async def test_db_up_is_false_while_the_database_does_not_answer(
    db_url: str, sensor_id: int, tmp_path: Path, proxy: TcpProxy
) -> None:
    proxy.hang = True  # accepts the connection, never answers
    async with writer(proxied(db_url, proxy), sensor_id, tmp_path, connect_timeout_s=0.3) as w:
        await wait_until("timed out", lambda: w.failures >= 1)
        assert not w.db_up
        assert w.last_error is not None and "timed out after 0.3 s" in w.last_error


async def test_deadline_puts_what_is_in_flight_in_the_journal(
    db_url: str, conn: CONNECTION, sensor_id: int, tmp_path: Path, proxy: TcpProxy
) -> None:
    """A database that takes the connection and then never answers cannot hold a close past
    its deadline: the records go to the journal, and to the database on the next start."""
    url = proxied(db_url, proxy)
    w = writer(url, sensor_id, tmp_path, db_timeout_s=600, connect_timeout_s=600)
    async with asyncio.timeout(60):  # a guard against a hang, not a timing assertion
        async with w:
            await wait_until("connected", lambda: w.db_up)
            await proxy.stop()  # the open connections are cut: the next ones hang
            proxy.hang = True
            await proxy.start()
            for r in calls(0, 130):
                w.submit(r)
            await wait_until("in flight", lambda: proxy.accepted >= 2)
            await w.aclose(timeout=0.2)
    assert w.journal.records == 130 and w.written == 0
    proxy.hang = False
    async with writer(url, sensor_id, tmp_path) as again:
        await wait_until("replayed", lambda: again.backlog_records == 0)
    assert await counts(conn, sensor_id) == (130, 260, 0)


async def test_close_can_drain_the_journal(
    db_url: str, conn: CONNECTION, sensor_id: int, tmp_path: Path, proxy: TcpProxy
) -> None:
    url = proxied(db_url, proxy)
    await proxy.stop()
    for start in (0, 100, 200):  # three runs during the outage: three journal segments
        async with writer(url, sensor_id, tmp_path) as w:
            for r in calls(start, 100):
                w.submit(r)
    assert len(segments(w.journal_dir)) == 3
    await proxy.start()
    w = writer(url, sensor_id, tmp_path, batch_size=40)
    w.start()
    for r in calls(300, 50):
        w.submit(r)
    await w.aclose(drain_journal=True)
    assert w.backlog_records == 0 and segments(w.journal_dir) == []
    assert await counts(conn, sensor_id) == (350, 700, 0)


async def test_close_gives_up_on_a_dead_database(sensor_id: int, tmp_path: Path) -> None:
    """Draining stops after a few failed attempts: the records wait in the journal."""
    async with asyncio.timeout(60):
        w = writer(DEAD_URL, sensor_id, tmp_path)
        w.start()
        for r in calls(0, 20):
            w.submit(r)
        await w.aclose(drain_journal=True)
    assert w.journal.records == 20 and w.failures >= 3


def test_writer_keeps_up_while_the_caller_hogs_the_cpu(
    db_url: str, sensor_id: int, tmp_path: Path
) -> None:
    """The submitting thread never yields (a CPU-bound analysis): the writer's own thread
    connects, writes and times its calls all the same."""
    records = calls(0, 200)
    with CdrWriter(db_url, sensor_id, tmp_path, batch_size=50, connect_timeout_s=2.0) as w:
        for r in records:
            w.submit(r)
        spins = 0
        deadline = time.monotonic() + 120  # a guard, not a timing assertion
        while w.written < len(records) and time.monotonic() < deadline:
            spins += sum(i * i for i in range(20_000)) > 0  # pure Python work, no I/O, no sleep
        assert w.written == len(records), w.last_error
        assert w.failures == 0 and spins > 0
    assert w.backlog_records == 0


async def test_disk_full_journal_loses_exactly_what_it_says(
    db_url: str,
    conn: CONNECTION,
    sensor_id: int,
    small_fs: Path,
    proxy: TcpProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Database down, journal on a small disk that fills up: every record is either in the
    journal or counted as lost, and what the journal holds reaches the database whole."""
    url = proxied(db_url, proxy)
    await proxy.stop()
    records = calls(0, 600)  # about 1.3 kB each: more than the disk holds
    async with writer(url, sensor_id, small_fs, batch_size=25, flush_interval_s=0.01) as w:
        for r in records:
            w.submit(r)
        await wait_until("all handled", lambda: w.backlog_records == w.journal.records)
    lost = w.counters["journal_errors_dropped"]
    assert lost > 0 and w.counters["journaled"] == w.journal.records == len(records) - lost
    assert w.records_lost == {
        "journal_full_dropped": 0,
        "journal_errors_dropped": lost,
        "unserialisable_dropped": 0,
        "rejected_lost": 0,
    }
    logged = sum(
        int(rec.getMessage().rsplit(": ", 1)[1].split()[0])
        for rec in caplog.records
        if rec.getMessage().endswith("records LOST")
    )
    assert logged == lost

    await proxy.start()
    async with writer(url, sensor_id, small_fs) as again:
        await wait_until("replayed", lambda: again.backlog_records == 0)
    assert again.counters["journal_corrupt_lines"] == 0
    assert await counts(conn, sensor_id) == (len(records) - lost, 2 * (len(records) - lost), 0)


async def test_idle_pings_keep_every_connection_alive(
    db_url: str, sensor_id: int, tmp_path: Path
) -> None:
    """Pings go to the connection idle longest: after a quiet night none has been dropped by
    the server's wait_timeout unnoticed."""
    async with writer(db_url, sensor_id, tmp_path, connections=3, ping_interval_s=0.02) as w:
        lanes = w._flusher.lanes
        await wait_until("every lane pinged", lambda: all(lane.used > 0 for lane in lanes))
        assert all(lane.conn is not None for lane in lanes) and w.db_up
    assert w.failures == 0
