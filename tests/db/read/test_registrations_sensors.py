"""list_registrations (current state per AOR) and the sensors, as the writer stored them."""

from __future__ import annotations

import pytest

from db.connect import CONNECTION
from db.read import (
    BadCursor,
    RegistrationFilter,
    RegistrationState,
    get_sensor,
    list_registrations,
    list_sensors,
)
from tests.db.read.conftest import SENSOR_A, SENSOR_B, Written


async def states(conn: CONNECTION, limit: int = 2, **criteria: object) -> list[RegistrationState]:
    out: list[RegistrationState] = []
    after: str | None = None
    while True:
        f = RegistrationFilter(limit=limit, after=after, **criteria)  # type: ignore[arg-type]
        page = await list_registrations(conn, f)
        out += page.registrations
        if page.next is None:
            return out
        after = page.next


async def test_one_state_per_aor_and_sensor(written: Written, rconn: CONNECTION) -> None:
    got = await states(rconn)
    assert [(s.aor, s.sensor_id) for s in got] == [  # binary order: "0" < "@"
        ("user10@example.com", SENSOR_A),
        ("user1@example.com", SENSOR_A),
        ("user1@example.com", SENSOR_B),
        ("user2@example.com", SENSOR_A),
        ("user3@example.com", SENSOR_A),
        ("user4@example.com", SENSOR_A),
    ]
    user4 = got[-1]
    assert (user4.result_code, user4.expires, user4.user_agent) == (401, None, "Zoiper rv2.10")
    assert user4.registered_until is not None and user4.last_success_ts is not None
    assert user4.last_ts > user4.last_success_ts
    assert (user4.contact_ip, user4.src_ip, user4.src_port) == ("198.51.100.7",) * 2 + (5060,)
    user3 = got[4]
    assert (user3.result_code, user3.registered_until, user3.last_success_ts) == (403, None, None)


@pytest.mark.parametrize(
    ("criteria", "aors"),
    [
        ({"registered_only": True}, ["user10/11", "user1/11", "user1/12", "user4/11"]),
        ({"sensor_id": SENSOR_B}, ["user1/12"]),
        ({"user": "user1"}, ["user1/11", "user1/12"]),
        ({"user_prefix": "user1"}, ["user10/11", "user1/11", "user1/12"]),
        ({"domain": "EXAMPLE.com", "user": "user2"}, ["user2/11"]),
        ({"user_prefix": "user_"}, []),
    ],
)
async def test_filters(rconn: CONNECTION, criteria: dict[str, object], aors: list[str]) -> None:
    got = await states(rconn, limit=100, **criteria)
    assert [f"{s.user}/{s.sensor_id}" for s in got] == aors


async def test_bad_cursor(rconn: CONNECTION) -> None:
    for bad in ["x", "1.***", "a.dXNlcg=="]:
        with pytest.raises(BadCursor):
            await list_registrations(rconn, RegistrationFilter(after=bad))


async def test_sensors(rconn: CONNECTION) -> None:
    sensors = await list_sensors(rconn)
    assert [(s.id, s.name, s.counters) for s in sensors] == [
        (SENSOR_A, "edge-a", {"x": SENSOR_A}),
        (SENSOR_B, "edge-b", {"x": SENSOR_B}),
    ]
    assert sensors[0].last_heartbeat is not None and sensors[0].first_seen is not None
    assert await get_sensor(rconn, SENSOR_B) == sensors[1]
    assert await get_sensor(rconn, 999) is None
