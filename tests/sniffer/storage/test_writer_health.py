"""The CDR writer's view of the database (``db_up``), its shutdown deadline and drain, a
busy event loop, a full disk under its journal and idle connections kept alive."""

import asyncio
import time
from pathlib import Path

import pytest

from db.connect import CONNECTION
from sniffer.storage.writer import CdrWriter
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
