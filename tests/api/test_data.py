"""Registrations, messages, unbound streams, sensors, live calls."""

import json
import time

from fastapi.testclient import TestClient

from db.connect import connect
from db.queries import ActiveCall, replace_active_calls, upsert_sensor
from db.url import parse_db_url
from tests.api.conftest import GOLDEN, SENSOR_A, Stack, login, run
from tests.api.stackdata import analyze_in_process


def _registrations(stack: Stack) -> list[dict[str, object]]:
    out = []
    for cap in (
        "sip_register_auth_cancel_aaa.pcap",
        "sip_rtp_g711u_call_register_voipshark.pcap",
        "sip_call_rtp_g711_wireshark_sample.pcap",
    ):
        r = analyze_in_process("analyze", "--json", str(GOLDEN / cap))  # as the stack was filled
        assert r.returncode == 0, r.stderr
        out += [json.loads(x) for x in r.stdout.splitlines()]
    return [x for x in out if x["type"] == "registration"]


def test_registration_state_history_failures(
    client: TestClient, viewer: dict[str, str], stack: Stack
) -> None:
    regs = _registrations(stack)
    ok = [r for r in regs if r["result_code"] and 200 <= r["result_code"] < 300]
    bad = [r for r in regs if not (r["result_code"] and 200 <= r["result_code"] < 300)]
    h = client.get(
        "/api/v1/registrations/history", headers=viewer, params={"sensor": SENSOR_A, "limit": 1000}
    ).json()["items"]
    f = client.get(
        "/api/v1/registrations/failures", headers=viewer, params={"sensor": SENSOR_A, "limit": 1000}
    ).json()["items"]
    assert len(h) == len(ok) and len(f) == len(bad) and f
    assert sorted(x["result_code"] for x in f if x["result_code"]) == sorted(
        r["result_code"] for r in bad if r["result_code"]
    )
    ts = [x["ts"] for x in f]
    assert ts == sorted(ts, reverse=True)
    page1 = client.get(
        "/api/v1/registrations/failures", headers=viewer, params={"sensor": SENSOR_A, "limit": 2}
    ).json()
    page2 = client.get(
        "/api/v1/registrations/failures",
        headers=viewer,
        params={"sensor": SENSOR_A, "limit": 1000, "cursor": page1["next_cursor"]},
    ).json()
    assert [x["ts"] for x in page1["items"] + page2["items"]] == ts
    state = client.get("/api/v1/registrations", headers=viewer, params={"sensor": SENSOR_A}).json()
    aors = {f"{r['user']}@{str(r['domain']).lower()}" for r in regs}
    assert {s["aor"] for s in state["items"]} == aors
    user = next(iter(aors)).split("@")[0]
    one = client.get("/api/v1/registrations", headers=viewer, params={"user": user}).json()["items"]
    assert one and all(s["user"] == user for s in one)
    scoped = login(client, "scoped", "V1ewer-secret-pass")
    assert (
        client.get(
            "/api/v1/registrations/history", headers=scoped, params={"sensor": SENSOR_A}
        ).json()["items"]
        == []
    )


def test_messages_and_unbound(client: TestClient, viewer: dict[str, str]) -> None:
    for url in ("/api/v1/messages", "/api/v1/streams/unbound"):
        r = client.get(url, headers=viewer)
        assert r.status_code == 200, r.text
    streams = client.get(
        "/api/v1/streams/unbound", headers=viewer, params={"sensor": SENSOR_A}
    ).json()
    assert all(s["packets"] >= 5 for s in streams["items"])
    r = client.get("/api/v1/messages", headers=viewer, params={"cursor": "x"})
    assert r.status_code == 422 and r.json()["field"] == "cursor"


def test_sensors_and_live_calls(client: TestClient, viewer: dict[str, str], stack: Stack) -> None:
    now = time.time()

    async def seed() -> None:
        conn = await connect(parse_db_url(stack.url))
        try:
            await upsert_sensor(
                conn,
                21,
                name="edge-1",
                host="h1",
                version="1",
                heartbeat_ts=now,
                packets_per_s=120.5,
                journal_backlog=3,
            )
            await upsert_sensor(conn, 22, name="edge-2", heartbeat_ts=now - 3600)
            await replace_active_calls(
                conn, 21, [ActiveCall("live-1", "100", "200", now - 30, "answered")], now=now
            )
            await conn.commit()
        finally:
            conn.close()

    run(seed())
    items = {s["id"]: s for s in client.get("/api/v1/sensors", headers=viewer).json()["items"]}
    assert items[21]["status"] == "ok" and items[21]["packets_per_s"] == 120.5
    assert items[21]["journal_backlog"] == 3
    assert items[22]["status"] == "stale" and items[22]["heartbeat_age_s"] > 3000
    live = client.get("/api/v1/live-calls", headers=viewer).json()["items"]
    one = next(c for c in live if c["call_id"] == "live-1")
    assert one["caller"] == "100" and abs(one["duration_s"] - 30) < 1 and one["stale"] is False
    scoped = login(client, "scoped", "V1ewer-secret-pass")
    assert 21 not in {
        s["id"] for s in client.get("/api/v1/sensors", headers=scoped).json()["items"]
    }
    assert client.get("/api/v1/live-calls", headers=scoped).json()["items"] == []
