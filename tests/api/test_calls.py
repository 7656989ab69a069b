"""Call search and export on the golden data: filters, keyset paging, hostile strings, scope."""

import csv
import datetime as dt
import io
import json

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import SENSOR_A, SENSOR_B, SENSOR_C, Stack, login

GOLDEN_SENSORS = [SENSOR_A, SENSOR_B, SENSOR_C]
"""Other modules write calls of their own sensors into the session's database."""


def _all(client: TestClient, h: dict[str, str], **params: object) -> list[dict[str, object]]:
    query = {"limit": 1000, "sensor": GOLDEN_SENSORS, **params}
    r = client.get("/api/v1/calls", headers=h, params=query)
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


def test_list_matches_the_analyser(
    client: TestClient, viewer: dict[str, str], stack: Stack
) -> None:
    items = _all(client, viewer, sensor=SENSOR_A)
    want = {cid for (s, cid) in stack.records if s == SENSOR_A}
    assert {i["call_id"] for i in items} == want
    times = [i["invite_ts"] for i in items]
    assert times == sorted(times, reverse=True)
    one = next(i for i in items if i["call_id"] == "12013223@200.57.7.195")
    rec = stack.records[(SENSOR_A, "12013223@200.57.7.195")]
    assert one["caller"] == rec["caller"] and one["final_code"] == rec["final_code"]
    assert one["has_pcap"] is True
    assert one["caller_quality"]["loss_pct"] == max(
        s["loss_pct"] for s in rec["streams"] if s["direction"] == "caller"
    )


def test_keyset_paging_covers_everything_once(client: TestClient, viewer: dict[str, str]) -> None:
    everything = [i["id"] for i in _all(client, viewer)]
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 7, "sensor": GOLDEN_SENSORS}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/api/v1/calls", headers=viewer, params=params).json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == everything and len(seen) > 20
    r = client.get("/api/v1/calls", headers=viewer, params={"cursor": "garbage"})
    assert r.status_code == 422 and r.json()["field"] == "cursor"


def test_filters(client: TestClient, viewer: dict[str, str], stack: Stack) -> None:
    recs = [(s, r) for (s, _), r in stack.records.items()]
    failed = {r["call_id"] for _, r in recs if r["state"] == "failed"}
    assert {i["call_id"] for i in _all(client, viewer, state="failed")} == failed
    fours = {r["call_id"] for _, r in recs if r["final_code"] and 400 <= r["final_code"] < 500}
    assert {i["call_id"] for i in _all(client, viewer, code="4xx")} == fours
    answered = {r["call_id"] for _, r in recs if r["answer_ts"] is not None}
    assert {i["call_id"] for i in _all(client, viewer, outcome="answered")} == answered
    c = next(r for _, r in recs if r["caller"] and len(r["caller"]) > 3)
    by_caller = {r["call_id"] for _, r in recs if r["caller"] == c["caller"]}
    assert {i["call_id"] for i in _all(client, viewer, caller=c["caller"])} == by_caller
    prefix = c["caller"][:2]
    assert {i["call_id"] for i in _all(client, viewer, caller=prefix + "*")} == {
        r["call_id"] for _, r in recs if r["caller"].startswith(prefix)
    }
    mid = "*" + c["caller"][1:-1] + "*"
    assert c["call_id"] in {i["call_id"] for i in _all(client, viewer, caller=mid)}
    party = {r["call_id"] for _, r in recs if c["caller"] in (r["caller"], r["called"])}
    assert {i["call_id"] for i in _all(client, viewer, party=c["caller"])} == party
    ip = c["caller_ip"]
    assert {i["call_id"] for i in _all(client, viewer, ip=ip)} == {
        r["call_id"] for _, r in recs if ip in (r["caller_ip"], r["called_ip"])
    }
    pcmu = {r["call_id"] for _, r in recs if "PCMU" in [x.upper() for x in r["codecs"]]}
    assert {i["call_id"] for i in _all(client, viewer, codec="PCMU")} == pcmu
    lossy = {r["call_id"] for _, r in recs if any(s["loss_pct"] > 0.5 for s in r["streams"])}
    assert {i["call_id"] for i in _all(client, viewer, loss_above=0.5)} == lossy
    bad = {
        r["call_id"]
        for _, r in recs
        if any(s["mos"] is not None and s["mos"] < 4.0 for s in r["streams"])
    }
    assert {i["call_id"] for i in _all(client, viewer, mos_below=4.0)} == bad
    long = {r["call_id"] for _, r in recs if r["duration_s"] >= 30}
    assert {i["call_id"] for i in _all(client, viewer, min_duration=30)} == long
    cid = c["call_id"]
    assert [i["call_id"] for i in _all(client, viewer, call_id=cid)] == [cid] * len(
        [1 for _, r in recs if r["call_id"] == cid]
    )


EVIL = [
    "' OR '1'='1",
    "1; DROP TABLE cdr; --",
    "%",
    "_",
    "\\",
    "%%%%",
    "*%*",
    "' UNION SELECT 1 --",
    "\x00",
    "😀",
    "a" * 128,
]


@pytest.mark.parametrize("evil", EVIL)
def test_hostile_strings_find_nothing(
    client: TestClient, viewer: dict[str, str], evil: str
) -> None:
    for name in ("caller", "called", "party", "call_id", "codec", "flag"):
        r = client.get("/api/v1/calls", headers=viewer, params={name: evil})
        assert r.status_code in (200, 422), (name, r.text)
        if r.status_code == 200:
            assert r.json()["items"] == [], (name, evil)
    r = client.get("/api/v1/calls", headers=viewer, params={"ip": evil})
    assert r.status_code == 422 or r.json()["items"] == []
    assert len(_all(client, viewer)) > 20  # still there


def test_bad_filters_name_the_parameter(client: TestClient, viewer: dict[str, str]) -> None:
    for params, field in (
        ({"code": "9xx"}, "code"),
        ({"mos_below": "bad"}, "mos_below"),
        ({"state": "nonsense"}, "state"),
        ({"limit": 5000}, "limit"),
        ({"caller": "12\x003"}, "caller"),
        ({"since": "not a time"}, "since"),
        ({"caller": "**"}, "caller"),
    ):
        r = client.get("/api/v1/calls", headers=viewer, params=params)
        assert r.status_code == 422, params
        assert r.json()["field"] == field and field in r.json()["message"]


def test_scope_in_the_list(client: TestClient, stack: Stack) -> None:
    scoped = login(client, "scoped", "V1ewer-secret-pass")
    items = _all(client, scoped)
    assert items and {i["sensor_id"] for i in items} == {SENSOR_B}
    assert _all(client, scoped, sensor=SENSOR_A) == []


def _same(field: str, exported: object, item: dict[str, object]) -> None:
    """An exported value (CSV text, or JSON) against the list's value of that call."""
    quality = {"caller_mos": ("caller_quality", "mos"), "caller_loss_pct": ("caller_quality",
               "loss_pct"), "callee_mos": ("callee_quality", "mos"),
               "callee_loss_pct": ("callee_quality", "loss_pct")}  # fmt: skip
    if field in quality:
        q, k = quality[field]
        want = None if item[q] is None else item[q][k]  # type: ignore[index]
    elif field in ("codecs", "flags", "problems"):
        want = ",".join(item[field])  # type: ignore[arg-type]
    else:
        want = item[field]
    if isinstance(exported, str) and not isinstance(want, str):
        exported = None if exported == "" else json.loads(exported)
    if field.endswith("_ts") and want is not None:
        assert dt.datetime.fromisoformat(str(exported)) == dt.datetime.fromisoformat(str(want))
    elif isinstance(want, float):
        assert exported == pytest.approx(want), field
    else:
        assert exported == ("" if want is None and isinstance(exported, str) else want), field


def test_export_csv_and_jsonl(client: TestClient, viewer: dict[str, str]) -> None:
    items = _all(client, viewer)
    assert any(i["caller_quality"] for i in items) and any(i["answer_ts"] is None for i in items)
    r = client.get(
        "/api/v1/calls/export", headers=viewer, params={"format": "csv", "sensor": GOLDEN_SENSORS}
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [int(x["id"]) for x in rows] == [i["id"] for i in items]
    for row, item in zip(rows, items, strict=True):
        assert set(row) - {"caller_mos", "caller_loss_pct", "callee_mos", "callee_loss_pct"} <= set(
            item
        )
        for field, value in row.items():
            _same(field, value, item)
    r = client.get(
        "/api/v1/calls/export", headers=viewer, params={"format": "jsonl", "sensor": GOLDEN_SENSORS}
    )
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert [x["id"] for x in lines] == [i["id"] for i in items]
    for line, item in zip(lines, items, strict=True):
        assert list(line) == list(rows[0])  # the same columns in the same order
        for field, value in line.items():
            _same(field, value, item)
    r = client.get(
        "/api/v1/calls/export", headers=viewer, params={"format": "jsonl", "state": "failed"}
    )
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert lines and all(x["state"] == "failed" for x in lines)
    r = client.get(
        "/api/v1/calls/export",
        headers=viewer,
        params={"format": "csv", "sensor": GOLDEN_SENSORS, "max_rows": 2},
    )
    assert len(list(csv.DictReader(io.StringIO(r.text)))) == 2
    r = client.get("/api/v1/calls/export", headers=viewer, params={"format": "xml"})
    assert r.status_code == 422


def test_problems_filter_and_fields(
    client: TestClient, viewer: dict[str, str], stack: Stack
) -> None:
    def raising(*codes: str) -> set[str]:
        return {
            cid
            for (s, cid), r in stack.records.items()
            if s in GOLDEN_SENSORS and any(p["code"] in codes for p in r["problems"])
        }

    items = _all(client, viewer, problems="no_rtp")
    assert {i["call_id"] for i in items} == raising("no_rtp") != set()
    assert all("no_rtp" in i["problems"] for i in items)
    either = _all(client, viewer, problems=["no_rtp", "one_way_audio"])
    assert {i["call_id"] for i in either} == raising("no_rtp", "one_way_audio")
    assert either == _all(client, viewer, problems="no_rtp,one_way_audio")
    one = next(
        i for i in _all(client, viewer, sensor=SENSOR_A) if i["call_id"] == "12013223@200.57.7.195"
    )
    assert (one["problems"], one["pdd_ms"]) == (["one_way_audio"], 48)
    r = client.get("/api/v1/calls", headers=viewer, params={"problems": "no_rtp,bogus"})
    assert r.status_code == 422 and r.json()["field"] == "problems"
    assert "unknown problem 'bogus'" in r.json()["message"]
    detail = client.get(f"/api/v1/calls/{one['id']}", headers=viewer).json()
    assert [p["code"] for p in detail["problems"]] == ["one_way_audio"]
    assert detail["problems"][0]["detail"].startswith("callee->caller: no RTP for 5.8 s")
    assert detail["pdd_ms"] == 48 and detail["leg_group"]
    export = client.get(
        "/api/v1/calls/export",
        headers=viewer,
        params={"problems": "one_way_audio", "sensor": SENSOR_A},
    )
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["call_id"], r["problems"]) for r in rows] == [
        ("12013223@200.57.7.195", "one_way_audio")
    ]
