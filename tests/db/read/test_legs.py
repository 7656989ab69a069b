"""The problems filter and the legs of a call, against data the CDR writer stored."""

from __future__ import annotations

from db.connect import CONNECTION
from db.read import CallFilter, get_call, list_calls, list_legs
from tests.db.read.conftest import SENSOR_A, SENSOR_B, Written
from tests.db.read.test_calls import everything, expected, keys


async def test_problems_filter(written: Written, rconn: CONNECTION) -> None:
    got = await everything(rconn, problems=["poor_quality", "no_rtp"])
    assert keys(got) == expected(written, lambda _s, c: bool(c.problems))
    assert all(c.problems == ["poor_quality"] for c in got)
    assert await everything(rconn, problems=["no_rtp"]) == []
    assert await everything(rconn, problems=["☃"]) == []


async def test_summaries_carry_pdd_problems_and_group(written: Written, rconn: CONNECTION) -> None:
    page = await list_calls(rconn, CallFilter(limit=1000, sensor_id=SENSOR_A))
    want = {c.uid: c for c in written.calls[SENSOR_A]}
    for s in page.calls:
        rec = want[s.uid]
        assert (s.pdd_ms, s.leg_group) == (rec.pdd_ms, rec.leg_group)
        assert s.problems == [p.code for p in rec.problems]


async def _id_of(rconn: CONNECTION, call_id: str) -> int:
    page = await list_calls(rconn, CallFilter(call_id=call_id, sensor_id=SENSOR_A))
    [call] = page.calls
    return call.id


async def test_legs_of_the_group_with_the_sensors_reasons(
    written: Written, rconn: CONNECTION
) -> None:
    a, b = written.calls[SENSOR_A][10], written.calls[SENSOR_A][11]
    da = await get_call(rconn, await _id_of(rconn, a.call_id))
    db_ = await get_call(rconn, await _id_of(rconn, b.call_id))
    assert da is not None and db_ is not None
    assert db_.record.problems == b.problems and db_.record.leg_links == b.leg_links
    assert db_.record.leg_keys == b.leg_keys
    legs_a = await list_legs(rconn, da)
    legs_b = await list_legs(rconn, db_)
    other = written.calls[SENSOR_B][-2]
    assert [(leg.call.uid, leg.call.sensor_id, leg.reason) for leg in legs_a] == [
        (b.uid, SENSOR_A, "x-cid"),
        (other.uid, SENSOR_B, "session-id"),
    ]
    assert [(leg.call.uid, leg.reason) for leg in legs_b] == [(a.uid, "x-cid")]
    assert await list_legs(rconn, da, [99]) == []  # out of the viewer's scope


async def test_legs_on_another_sensor_by_ssrc(written: Written, rconn: CONNECTION) -> None:
    a, b = written.calls[SENSOR_A][20], written.calls[SENSOR_A][21]
    relay = written.calls[SENSOR_B][-1]
    detail = await get_call(rconn, await _id_of(rconn, a.call_id))
    assert detail is not None
    legs = await list_legs(rconn, detail)
    assert [(leg.call.uid, leg.reason) for leg in legs] == [
        (b.uid, "x-cid"),
        (relay.uid, "same-media"),
    ]
