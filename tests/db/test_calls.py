import dataclasses
import math
from typing import Any

import pytest

import db.queries.calls as calls_module
from db.connect import CONNECTION
from db.queries import (
    LookupCache,
    duplicate_call_uids,
    fetch_call,
    insert_calls,
    sensor_row_counts,
)
from db.queries.values import ts
from db.records import CallRecord
from tests.db.factories import make_call


async def _insert(
    conn: CONNECTION, sensor_id: int, calls: list[CallRecord], cache: LookupCache
) -> int:
    try:
        n = await insert_calls(conn, sensor_id, calls, cache)
        await conn.commit()
    except BaseException:
        await conn.rollback()
        cache.discard()
        raise
    cache.confirm()
    return n


@pytest.mark.slow
async def test_thousand_calls_then_replay_adds_nothing(conn: CONNECTION, sensor_id: int) -> None:
    calls = [make_call(i) for i in range(1000)]
    cache = LookupCache()
    assert await _insert(conn, sensor_id, calls, cache) == 1000
    assert await _insert(conn, sensor_id, calls, cache) == 0
    # a replay with other batch boundaries and a fresh lookup cache
    assert await _insert(conn, sensor_id, calls[500:] + calls[:10], LookupCache()) == 0
    counts = await sensor_row_counts(conn, sensor_id)
    assert (counts["cdr"], counts["cdr_rtp"], counts["cdr_dtmf"]) == (1000, 2000, 3000)
    assert await duplicate_call_uids(conn, sensor_id) == 0


async def test_partly_stored_batch_completes_children(conn: CONNECTION, sensor_id: int) -> None:
    calls = [make_call(i) for i in range(20)]
    assert await _insert(conn, sensor_id, calls[:7], LookupCache()) == 7
    assert await _insert(conn, sensor_id, calls, LookupCache()) == 13
    counts = await sensor_row_counts(conn, sensor_id)
    assert (counts["cdr"], counts["cdr_rtp"], counts["cdr_dtmf"]) == (20, 40, 60)


async def test_round_trip(conn: CONNECTION, sensor_id: int) -> None:
    calls = [make_call(i) for i in range(6)]
    await _insert(conn, sensor_id, calls, LookupCache())
    for call in calls:
        back = await fetch_call(conn, sensor_id, call.uid)
        assert back == call
    assert await fetch_call(conn, sensor_id, "no-such-uid") is None


async def test_same_uid_other_sensor_is_another_call(conn: CONNECTION, sensor_id: int) -> None:
    call = make_call(1)
    await _insert(conn, sensor_id, [call], LookupCache())
    await _insert(conn, sensor_id + 100_000, [call], LookupCache())
    assert (await sensor_row_counts(conn, sensor_id + 100_000))["cdr"] == 1


async def test_rolled_back_lookups_are_not_cached(conn: CONNECTION, sensor_id: int) -> None:
    cache = LookupCache()
    call = dataclasses.replace(make_call(1), caller_ua=f"Rolled Back UA {sensor_id}")
    await insert_calls(conn, sensor_id, [call], cache)
    await conn.rollback()
    cache.discard()
    assert len(cache) == 0
    await _insert(conn, sensor_id, [call], cache)
    back = await fetch_call(conn, sensor_id, call.uid)
    assert back is not None and back.caller_ua == f"Rolled Back UA {sensor_id}"


async def test_absurd_values_are_stored_not_refused(conn: CONNECTION, sensor_id: int) -> None:
    """No record may make a batch fail: every value is fitted to its column."""
    base = make_call(7)
    stream = dataclasses.replace(
        base.streams[0],
        src_ip="not an ip",
        src_port=70000,
        ssrc=1 << 40,
        payload_type=300,
        packets=-5,
        lost=-(1 << 40),
        loss_pct=math.nan,
        max_jitter_ms=math.inf,
        mos=math.nan,
        codec="x" * 500,
        direction="sender→",
        first_ts=-1.0,
        last_ts=1e300,
    )
    odd = dataclasses.replace(
        base,
        uid="ü" * 100,
        call_id="c" * 1000,
        caller="\udcff\ud800 lone surrogates",
        caller_name="😀" * 300,
        caller_ip="",
        called_ip="::ffff:1.2.3.4",
        vlan=1 << 20,
        invite_ts=math.nan,
        ringing_ts=-5.0,
        end_ts=1e20,
        duration_s=math.inf,
        final_code=-3,
        final_reason="   ",
        state="état",
        hangup_by="x" * 40,
        codecs=["a,b"] * 200,
        dtmf="1é" * 800,
        flags=["ü"],
        transport="websocket-secure",
        sip_messages=1 << 70,
        streams=[stream],
    )
    assert await _insert(conn, sensor_id, [odd], LookupCache()) == 1
    assert await _insert(conn, sensor_id, [odd], LookupCache()) == 0
    back = await fetch_call(conn, sensor_id, odd.uid)
    assert back is not None
    assert back.state == "?tat"
    assert back.final_reason is None
    assert back.caller_ip == ""
    assert back.called_ip == "::ffff:1.2.3.4"
    assert back.streams[0].loss_pct == 0.0 and back.streams[0].mos is None
    assert back.streams[0].max_jitter_ms is None  # an infinite figure is not a figure
    assert back.streams[0].ssrc == 0xFFFFFFFF
    assert back.sip_messages == 0xFFFFFFFF
    assert len(back.caller_name) == 128
    counts = await sensor_row_counts(conn, sensor_id)
    assert (counts["cdr"], counts["cdr_rtp"], counts["cdr_dtmf"]) == (1, 1, 1000)


async def test_call_without_streams_or_dtmf(conn: CONNECTION, sensor_id: int) -> None:
    call = make_call(3, streams=0, dtmf="")
    assert await _insert(conn, sensor_id, [call], LookupCache()) == 1
    assert await fetch_call(conn, sensor_id, call.uid) == call
    counts = await sensor_row_counts(conn, sensor_id)
    assert (counts["cdr"], counts["cdr_rtp"], counts["cdr_dtmf"]) == (1, 0, 0)


async def test_empty_batch(conn: CONNECTION, sensor_id: int) -> None:
    assert await insert_calls(conn, sensor_id, []) == 0


async def test_ids_of_a_fresh_batch_come_from_the_insert(
    conn: CONNECTION, sensor_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[int] = []
    original = calls_module.cdr_ids

    async def spy(*args: Any) -> Any:
        lookups.append(1)
        return await original(*args)

    monkeypatch.setattr(calls_module, "cdr_ids", spy)
    batch = [make_call(i) for i in range(300)]
    assert await _insert(conn, sensor_id, batch, LookupCache()) == 300
    assert lookups == []  # consecutive ids, verified on the first and last row
    # a batch partly stored already: ids are looked up
    more = [make_call(i) for i in range(290, 310)]
    assert await _insert(conn, sensor_id, more, LookupCache()) == 10
    assert lookups == [1]
    for call in (batch[0], batch[150], batch[-1], more[-1]):
        assert await fetch_call(conn, sensor_id, call.uid) == call


async def test_wrong_first_id_is_detected(conn: CONNECTION, sensor_id: int) -> None:
    batch = [make_call(i) for i in range(5)]
    await _insert(conn, sensor_id, batch, LookupCache())
    keys = [(c.uid, ts(c.invite_ts)) for c in batch]
    ids = await calls_module.cdr_ids(conn, sensor_id, keys)
    first = ids[keys[0]]
    assert await calls_module._consecutive_ids(conn, first, keys) == ids
    assert await calls_module._consecutive_ids(conn, first + 1, keys) is None
    assert await calls_module._consecutive_ids(conn, first, keys[::-1]) is None
