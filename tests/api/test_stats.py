"""Statistics on a synthetic day written through the sensor's writer SQL, against figures
computed by hand."""

import dataclasses
import datetime as dt

import pytest
from fastapi.testclient import TestClient

from db.connect import connect
from db.queries import insert_calls
from db.queries.statsummary import load_hours, refresh, set_watermark
from db.url import parse_db_url
from tests.api.conftest import Stack, run
from tests.db.factories import make_call, make_stream

SENSOR_D = 14
DAY = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
T10 = DAY.timestamp() + 10 * 3600


def _calls() -> list[object]:
    out = []
    plan = [  # (offset s, final code, state, talk s, called)
        (0, 200, "completed", 60, "100"),
        (30, 200, "completed", 120, "101"),
        (60, 200, "completed", 180, "102"),
        (3600, 200, "completed", 60, "103"),
        (3700, 200, "completed", 120, "104"),
        (3800, 200, "completed", 180, "105"),
        (7200, 486, "failed", 0, "5550001"),
        (7300, 503, "failed", 0, "5550001"),
        (7400, 487, "cancelled", 0, "106"),
        (7500, 404, "failed", 0, "5550002"),
    ]
    for i, (off, code, state, talk, called) in enumerate(plan):
        t0 = T10 + off
        base = make_call(9000 + i, t0 - 9000 - i)
        answered = code == 200
        streams = []
        if answered:
            for k, (mos, loss) in enumerate(((4.4, 0.0), (3.2, 3.0))):
                s = make_stream(9000 + i, k, t0)
                streams.append(dataclasses.replace(s, mos=mos, loss_pct=loss))
        out.append(
            dataclasses.replace(
                base,
                invite_ts=t0,
                ringing_ts=t0 + 1.0 if answered else None,
                answer_ts=t0 + 2.0 if answered else None,
                end_ts=t0 + 2.0 + talk if answered else t0 + 5.0,
                duration_s=2.0 + talk if answered else 5.0,
                connect_duration_s=float(talk),
                final_code=code,
                state=state,
                called=called,
                caller="2000",
                caller_ua="PhoneA",
                called_ua="PBX",
                streams=streams,
            )
        )
    return out


@pytest.fixture(scope="module")
def day(stack: Stack) -> None:
    async def write() -> None:
        conn = await connect(parse_db_url(stack.url))
        try:
            await insert_calls(conn, SENSOR_D, _calls())  # type: ignore[arg-type]
            await conn.commit()
        finally:
            conn.close()

    run(write())


def test_stats_of_a_synthetic_day(client: TestClient, viewer: dict[str, str], day: None) -> None:
    r = client.get(
        "/api/v1/stats",
        headers=viewer,
        params={
            "since": "2025-03-01T00:00:00Z",
            "until": "2025-03-02T00:00:00Z",
            "sensor": SENSOR_D,
        },
    )
    assert r.status_code == 200, r.text
    s = r.json()
    t = s["totals"]
    assert (t["calls"], t["answered"], t["failed"], t["cancelled"]) == (10, 6, 3, 1)
    assert t["asr_pct"] == 60.0
    assert t["ner_pct"] == 80.0  # 6 answered + 486 busy + 1 cancelled
    assert t["acd_s"] == 120.0
    assert t["pdd_ms_avg"] == 1000.0 and t["pdd_ms_p50"] == 1050.0
    assert t["peak_concurrent"] == 3
    assert s["interval_s"] == 3600 and len(s["intervals"]) == 24
    by_hour = {i["start"][11:13]: i for i in s["intervals"]}
    assert by_hour["10"]["calls"] == 3 and by_hour["10"]["peak_concurrent"] == 3
    assert by_hour["11"]["calls"] == 3 and by_hour["12"]["calls"] == 4
    assert by_hour["12"]["asr_pct"] == 0.0 and by_hour["09"]["calls"] == 0
    assert {c["code"]: c["calls"] for c in s["sip_codes"]} == {
        200: 6,
        486: 1,
        503: 1,
        487: 1,
        404: 1,
    }
    assert s["top_failing"][0] == {"called": "5550001", "failed": 2, "calls": 2, "top_code": 486}
    assert s["top_failing"][1]["called"] == "5550002"
    mos = {(b["low"], b["high"]): b["count"] for b in s["mos_distribution"]}
    assert mos[(3.0, 3.5)] == 6 and sum(mos.values()) == 6  # worst stream of each answered call
    loss = {(b["low"], b["high"]): b["count"] for b in s["loss_distribution"]}
    assert loss[(2.0, 5.0)] == 6 and sum(loss.values()) == 6
    assert {u["user_agent"]: u["calls"] for u in s["user_agents"]} == {"PhoneA": 10, "PBX": 10}


def test_stats_from_hourly_summaries_are_the_same(
    client: TestClient, viewer: dict[str, str], stack: Stack, day: None
) -> None:
    """All sensors (no filter): whole hours come from cdr_stats_hour once computed; the
    figures of the synthetic day's sensor are compared through its own, filtered request."""
    params = {"since": "2025-03-01T00:00:00Z", "until": "2025-03-02T00:00:00Z"}
    live = client.get("/api/v1/stats", headers=viewer, params=params).json()
    part = {"since": "2025-03-01T10:30:00Z", "until": "2025-03-01T12:10:00Z"}
    part_live = client.get("/api/v1/stats", headers=viewer, params=part).json()

    async def refresh_now() -> int:
        conn = await connect(parse_db_url(stack.url))
        try:
            n = await refresh(conn)
            # as if a minute passed: the day's calls are no longer "just stored"
            await set_watermark(
                conn, dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=2)
            )
            await conn.commit()
            return n
        finally:
            conn.close()

    assert run(refresh_now()) > 0
    summarised = client.get("/api/v1/stats", headers=viewer, params=params).json()
    assert summarised == live

    async def stored() -> int:
        conn = await connect(parse_db_url(stack.url))
        try:
            return len(await load_hours(conn, dt.datetime(2025, 3, 1), dt.datetime(2025, 3, 2)))
        finally:
            conn.close()

    assert run(stored()) == 3  # the hours with calls: 10, 11 and 12
    assert live["totals"]["calls"] >= 10
    assert {f["called"]: f["failed"] for f in summarised["top_failing"]} == {
        "5550001": 2,
        "5550002": 1,
    }  # from the stored hours' failing destinations (cdr_stats_failing)
    half = client.get("/api/v1/stats", headers=viewer, params=part).json()
    assert half["totals"]["calls"] == 7  # 11:00 (a stored hour) and 12:00-12:10 (live)
    assert half == part_live


def test_stats_filters_and_errors(client: TestClient, viewer: dict[str, str], day: None) -> None:
    base = {"since": "2025-03-01T00:00:00Z", "until": "2025-03-02T00:00:00Z", "sensor": SENSOR_D}
    r = client.get("/api/v1/stats", headers=viewer, params={**base, "called_prefix": "555"})
    assert r.json()["totals"]["calls"] == 3
    for evil in ("%", "_", "5%' OR 1=1 -- ", "\\"):
        r = client.get("/api/v1/stats", headers=viewer, params={**base, "called_prefix": evil})
        assert r.status_code == 200 and r.json()["totals"]["calls"] == 0, evil
    r = client.get("/api/v1/stats", headers=viewer, params={**base, "interval": 7})
    assert r.status_code == 422 and r.json()["field"] == "interval"
    r = client.get("/api/v1/stats", headers=viewer, params={"since": "yesterday"})
    assert r.status_code == 422 and r.json()["field"] == "since"
