import asyncio
import dataclasses
import datetime as dt

import pymysql

from db.connect import CONNECTION, connect
from db.driver import lock_conflict
from db.errors import DbUnavailable
from db.queries import (
    ActiveCall,
    LookupCache,
    SensorStatus,
    fetch_active_calls,
    fetch_registration_state,
    fetch_sensor,
    insert_messages,
    insert_orphan_streams,
    replace_active_calls,
    sensor_row_counts,
    store_heartbeat,
    upsert_registrations,
    upsert_sensor,
    write_records,
)
from db.queries.values import ts
from db.records import Record
from db.url import parse_db_url
from tests.db.factories import T0, make_call, make_message, make_registration, make_stream


async def test_registration_state_moves_forward_only(conn: CONNECTION, sensor_id: int) -> None:
    ok = make_registration(1, T0)
    failed_later = make_registration(1, T0 + 100, code=403, expires=None)
    older = dataclasses.replace(make_registration(1, T0 - 500, expires=60), src_port=1111)
    assert await upsert_registrations(conn, sensor_id, [ok, failed_later]) == 2
    assert await upsert_registrations(conn, sensor_id, [older]) == 1
    await conn.commit()
    state = await fetch_registration_state(conn, sensor_id, "user1", "example.com")
    assert state is not None
    assert state["aor"] == "user1@example.com"
    assert state["result_code"] == 403  # the latest attempt
    assert state["last_ts"] == ts(T0 + 100)
    assert state["last_success_ts"] == ts(T0)  # the older success did not win
    assert state["registered_until"] == ts(T0) + dt.timedelta(seconds=3600)
    assert state["src_port"] == 5060
    counts = await sensor_row_counts(conn, sensor_id)
    assert counts["registration_history"] == 2
    assert counts["registration_failure"] == 1
    assert counts["registration_state"] == 1


async def test_registration_replay_is_idempotent(conn: CONNECTION, sensor_id: int) -> None:
    regs = [make_registration(i, T0 + i) for i in range(50)]
    regs += [make_registration(i, T0 + 1000 + i, code=None, expires=None) for i in range(10)]
    cache = LookupCache()
    assert await upsert_registrations(conn, sensor_id, regs, cache) == 60
    assert await upsert_registrations(conn, sensor_id, regs[::-1], cache) == 0
    await conn.commit()
    counts = await sensor_row_counts(conn, sensor_id)
    assert counts["registration_history"] == 50
    assert counts["registration_failure"] == 10
    assert counts["registration_state"] == 50
    state = await fetch_registration_state(conn, sensor_id, "user3", "EXAMPLE.com")
    assert state is not None and state["result_code"] is None and state["last_ts"] == ts(T0 + 1003)


async def test_deregistration_ends_the_registration(conn: CONNECTION, sensor_id: int) -> None:
    await upsert_registrations(
        conn, sensor_id, [make_registration(9, T0), make_registration(9, T0 + 10, expires=0)]
    )
    state = await fetch_registration_state(conn, sensor_id, "user9", "example.com")
    assert state is not None and state["registered_until"] == ts(T0 + 10)


async def test_messages_and_orphan_streams_idempotent(conn: CONNECTION, sensor_id: int) -> None:
    messages = [make_message(i) for i in range(5)]
    streams = [make_stream(i, 1) for i in range(4)]
    assert await insert_messages(conn, sensor_id, messages) == 5
    assert await insert_messages(conn, sensor_id, messages) == 0
    assert await insert_orphan_streams(conn, sensor_id, streams) == 4
    assert await insert_orphan_streams(conn, sensor_id, streams) == 0
    await conn.commit()
    counts = await sensor_row_counts(conn, sensor_id)
    assert (counts["sip_message"], counts["rtp_orphan"]) == (5, 4)


async def test_write_records_dispatches_every_type(conn: CONNECTION, sensor_id: int) -> None:
    batch: list[Record] = [make_call(1), make_registration(1), make_message(1), make_stream(1, 0)]
    assert await write_records(conn, sensor_id, batch, LookupCache()) == 4
    assert await write_records(conn, sensor_id, batch, LookupCache()) == 0
    await conn.commit()
    counts = await sensor_row_counts(conn, sensor_id)
    assert counts["cdr"] == counts["sip_message"] == counts["rtp_orphan"] == 1
    assert counts["registration_history"] == counts["registration_state"] == 1


async def test_sensor_heartbeat(conn: CONNECTION, sensor_id: int) -> None:
    await upsert_sensor(
        conn, sensor_id, name="edge-1", host="10.1.1.1", version="0.1.0", heartbeat_ts=T0
    )
    await upsert_sensor(
        conn,
        sensor_id,
        name="edge-1b",
        host="10.1.1.2",
        version="0.2.0",
        heartbeat_ts=T0 + 30,
        packets_per_s=1234.5,
        kernel_drops=3,
        queue_drops=4,
        active_calls=17,
        parse_errors=5,
        journal_backlog=6,
        counters={"sip_bad_header": 2, "rtp_short": 1},
    )
    await conn.commit()
    row = await fetch_sensor(conn, sensor_id)
    assert row is not None
    assert row["name"] == "edge-1b" and row["version"] == "0.2.0"
    assert row["first_seen"] == ts(T0) and row["last_heartbeat"] == ts(T0 + 30)
    assert (row["kernel_drops"], row["queue_drops"], row["active_calls"]) == (3, 4, 17)
    assert (row["parse_errors"], row["journal_backlog"], row["packets_per_s"]) == (5, 6, 1234.5)
    assert row["counters"] == {"rtp_short": 1, "sip_bad_header": 2}
    assert await fetch_sensor(conn, sensor_id + 500_000) is None


async def test_active_calls_snapshot_is_replaced(conn: CONNECTION, sensor_id: int) -> None:
    first = [ActiveCall(f"c{i}", "alice", "bob", T0 + i, "ringing") for i in range(3)]
    await replace_active_calls(conn, sensor_id, first, now=T0 + 5)
    await conn.commit()
    assert await fetch_active_calls(conn, sensor_id) == first
    second = [ActiveCall("c9", "carol", "dave", T0 + 9.5, "answered")]
    await replace_active_calls(conn, sensor_id, second, now=T0 + 10)
    await conn.commit()
    assert await fetch_active_calls(conn, sensor_id) == second
    await replace_active_calls(conn, sensor_id, [])
    await conn.commit()
    assert await fetch_active_calls(conn, sensor_id) == []


async def test_heartbeat_retries_a_lost_lock_conflict(
    conn: CONNECTION, db_url: str, sensor_id: int
) -> None:
    """A heartbeat that loses a lock conflict (here a lock wait timeout behind another
    transaction holding its sensor row; with several sensors, a deadlock on active_calls) is
    run again instead of failing the beat."""
    await upsert_sensor(conn, sensor_id, name="edge-1", heartbeat_ts=T0)
    await conn.commit()
    async with conn.cursor() as cur:
        await cur.execute("SET SESSION innodb_lock_wait_timeout = 1")
    other = await connect(parse_db_url(db_url))
    try:
        async with other.cursor() as cur:
            await cur.execute("SELECT id FROM sensors WHERE id = %s FOR UPDATE", (sensor_id,))

        async def release_later() -> None:
            await asyncio.sleep(1.5)  # longer than the lock wait: the first try fails
            await other.commit()

        active = [ActiveCall("c1", "alice", "bob", T0, "answered")]
        status = SensorStatus(name="edge-1", active_calls=1)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(release_later())
            await store_heartbeat(conn, sensor_id, status, active, timeout_s=30.0)
    finally:
        other.close()
    row = await fetch_sensor(conn, sensor_id)
    assert row is not None and row["active_calls"] == 1 and row["last_heartbeat"] > ts(T0)
    assert await fetch_active_calls(conn, sensor_id) == active


def test_lock_conflict_seen_through_translation() -> None:
    driver = pymysql.err.OperationalError(1213, "Deadlock found when trying to get lock")
    try:
        try:
            raise driver
        except pymysql.err.OperationalError as exc:
            raise DbUnavailable("heartbeat: deadlock") from exc
    except DbUnavailable as translated:
        assert lock_conflict(translated)
    assert not lock_conflict(pymysql.err.OperationalError(2013, "Lost connection"))
    assert not lock_conflict(DbUnavailable("no cause"))
