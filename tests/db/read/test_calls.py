"""list_calls / get_call against data the CDR writer stored; list_calls_json (the API's calls
list, written as JSON by the server) against list_calls and the quality read in Python."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from db.connect import CONNECTION
from db.read import (
    MAX_LIMIT,
    BadCursor,
    CallFilter,
    CallSummary,
    get_call,
    list_calls,
    stream_quality,
)
from db.read.calljson import ITEM_FIELDS, list_calls_json
from db.records import CallRecord
from tests.db.factories import T0
from tests.db.read.conftest import SENSOR_A, SENSOR_B, TIE_TS, Written


async def everything(conn: CONNECTION, **criteria: object) -> list[CallSummary]:
    """Every page of a search, followed through its cursors."""
    out: list[CallSummary] = []
    after: str | None = None
    while True:
        page = await list_calls(conn, CallFilter(limit=97, after=after, **criteria))  # type: ignore[arg-type]
        assert len(page.calls) <= 97
        out += page.calls
        if page.next is None:
            return out
        after = page.next


def expected(written: Written, pred: object = None) -> list[tuple[float, int, str]]:
    """(start, sensor, uid) of the written calls ``pred`` keeps, newest first (calls that
    start at the same time in any order: the database orders them by id)."""
    rows = [
        (c.invite_ts, sensor, c.uid)
        for sensor, calls in written.calls.items()
        for c in calls
        if pred is None or pred(sensor, c)  # type: ignore[operator]
    ]
    return sorted(rows, reverse=True)


def keys(calls: list[CallSummary]) -> list[tuple[float, int, str]]:
    """Same form as :func:`expected`, ties in the same order as there."""
    return sorted(((c.invite_ts, c.sensor_id, c.uid) for c in calls), reverse=True)


async def test_pages_hold_every_call_once_newest_first(written: Written, rconn: CONNECTION) -> None:
    got = await everything(rconn)
    assert len(got) == sum(len(c) for c in written.calls.values())
    order = [(c.invite_ts, c.id) for c in got]
    assert order == sorted(order, reverse=True)
    assert keys(got) == expected(written)
    tied = [c for c in got if c.invite_ts == TIE_TS]
    assert len(tied) == 5 and [c.id for c in tied] == sorted((c.id for c in tied), reverse=True)


async def test_the_limit_is_capped(written: Written, rconn: CONNECTION) -> None:
    page = await list_calls(rconn, CallFilter(limit=50_000))
    assert len(page.calls) == MAX_LIMIT and page.next is not None
    rest = await list_calls(rconn, CallFilter(limit=50_000, after=page.next))
    assert len(page.calls) + len(rest.calls) == sum(len(c) for c in written.calls.values())
    assert rest.next is None


@pytest.mark.parametrize(
    ("criteria", "pred"),
    [
        ({"sensor_id": SENSOR_B}, lambda s, c: s == SENSOR_B),
        ({"caller": "alice5"}, lambda s, c: c.caller == "alice5"),
        ({"caller_prefix": "alice5"}, lambda s, c: c.caller.startswith("alice5")),
        ({"called_prefix": "bob8"}, lambda s, c: c.called.startswith("bob8")),
        ({"called": "bob0", "sensor_id": SENSOR_A}, lambda s, c: c.called == "bob0" and s == SENSOR_A),
        ({"call_id": "cid-77@pbx.example.com"}, lambda s, c: c.call_id == "cid-77@pbx.example.com"),
        ({"final_code": 487}, lambda s, c: c.final_code == 487),
        ({"since": T0 + 100, "until": T0 + 200}, lambda s, c: T0 + 100 <= c.invite_ts < T0 + 200),
        ({"caller_prefix": "al_"}, lambda s, c: c.caller.startswith("al_")),
        ({"called_prefix": "100%"}, lambda s, c: c.called.startswith("100%")),
        ({"caller_prefix": "nobody"}, lambda s, c: False),
    ],
)  # fmt: skip
async def test_filters(
    written: Written, rconn: CONNECTION, criteria: dict[str, object], pred: object
) -> None:
    got = await everything(rconn, **criteria)
    assert [c.invite_ts for c in got] == sorted((c.invite_ts for c in got), reverse=True)
    assert keys(got) == expected(written, pred)


async def test_a_summary_says_what_the_record_says(written: Written, rconn: CONNECTION) -> None:
    (s,) = (await list_calls(rconn, CallFilter(call_id="cid-10@pbx.example.com"))).calls
    rec = next(c for c in written.calls[SENSOR_A] if c.call_id == s.call_id)
    assert (s.sensor_id, s.caller, s.called, s.final_code, s.final_reason, s.state) == (
        SENSOR_A,
        rec.caller,
        rec.called,
        rec.final_code,
        rec.final_reason,
        rec.state,
    )
    assert (s.invite_ts, s.answer_ts, s.end_ts, s.codecs, s.pcap) == (
        rec.invite_ts,
        rec.answer_ts,
        rec.end_ts,
        rec.codecs,
        rec.pcap,
    )
    assert (s.caller_ip, s.called_ip) == ("192.0.2.1", "2001:db8::5")


async def test_one_call_with_streams_and_dtmf(written: Written, rconn: CONNECTION) -> None:
    for rec in [written.calls[SENSOR_A][0], written.calls[SENSOR_B][7]]:
        (s,) = (await list_calls(rconn, CallFilter(call_id=rec.call_id))).calls
        detail = await get_call(rconn, s.id)
        assert detail is not None
        assert isinstance(detail.record, CallRecord)
        assert detail.record == rec
        assert detail.streams == rec.streams and len(detail.streams) == 2
        assert "".join(d.digit for d in detail.dtmf) == rec.dtmf == "12#"
        assert [d.seq for d in detail.dtmf] == [0, 1, 2]
    assert await get_call(rconn, 10**15) is None


async def test_a_cursor_it_did_not_give_is_refused(rconn: CONNECTION) -> None:
    for bad in ["", "x", "12.ab", "1.2.3", "9" * 30 + ".1", "' OR 1=1 --"]:
        with pytest.raises(BadCursor, match="not a paging cursor"):
            await list_calls(rconn, CallFilter(after=bad))


def test_bad_filters_are_refused() -> None:
    with pytest.raises(ValueError, match="sensor_id"):
        CallFilter(sensor_id=0)
    with pytest.raises(ValueError, match="limit"):
        CallFilter(limit=0)
    with pytest.raises(ValueError, match="final_code"):
        CallFilter(final_code=42)
    with pytest.raises(ValueError, match="Extra inputs"):
        CallFilter(colour="red")  # type: ignore[call-arg]


def _utc(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


def reference(c: CallSummary, quality: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """A call as the API sent it before the server wrote the JSON (from the typed summary)."""
    q = quality.get(c.id, {})

    def side(direction: str) -> Any:
        v = q.get(direction)
        return None if v is None else {"mos": v[0], "loss_pct": v[1], "jitter_ms": v[2]}

    out = {name: getattr(c, name, None) for name in ITEM_FIELDS}
    for name in ("invite_ts", "ringing_ts", "answer_ts", "end_ts"):
        out[name] = _utc(getattr(c, name))
    out.update(has_pcap=bool(c.pcap), caller_quality=side("caller"), callee_quality=side("callee"))
    return out


@pytest.mark.parametrize(
    "criteria",
    [
        {},
        {"sensor_id": SENSOR_B},
        {"caller_prefix": "alice5"},
        {"since": T0 + 100, "until": T0 + 200},
        {"ip": "2001:db8::5", "since": T0, "until": T0 + 300},
        {"mos_below": 3.5},
        {"caller_prefix": "nobody"},
    ],
)
async def test_pages_are_the_typed_pages_as_json(
    written: Written, rconn: CONNECTION, criteria: dict[str, Any]
) -> None:
    after: str | None = None
    seen = 0
    while True:
        f = CallFilter(limit=211, after=after, **criteria)
        typed = await list_calls(rconn, f)
        page = await list_calls_json(rconn, f)
        assert (page.count, page.next) == (len(typed.calls), typed.next)
        items = json.loads(f"[{page.items}]")
        assert all(tuple(i) == ITEM_FIELDS for i in items)
        quality = await stream_quality(rconn, typed.calls)
        assert items == [reference(c, quality) for c in typed.calls]
        seen += len(items)
        if page.next is None:
            break
        after = page.next
    if not criteria:
        assert seen == sum(len(c) for c in written.calls.values())


async def test_the_json_list_refuses_a_cursor_it_did_not_give(rconn: CONNECTION) -> None:
    with pytest.raises(BadCursor, match="not a paging cursor"):
        await list_calls_json(rconn, CallFilter(after="' OR 1=1 --"))
