"""One database for the read-query tests (tests/db/read, read only), filled once by the
sensor's real CDR writer."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from db.connect import CONNECTION, connect
from db.migrate import migrate
from db.queries import SensorStatus, store_heartbeat
from db.records import CallRecord, Record, RegistrationRecord
from db.url import parse_db_url
from sniffer.storage.writer import CdrWriter
from tests.db.factories import T0, make_call, make_registration
from tests.db.mariadb import (
    TEST_DAYS_AHEAD,
    drop_test_database,
    ensure_server,
    new_db_name,
    url_of,
)

SENSOR_A, SENSOR_B = 11, 12
TIE_TS = T0 + 50_000.5
"""Five calls start at exactly this time: the page order falls back to the id."""


@dataclass
class Written:
    url: str
    calls: dict[int, list[CallRecord]] = field(default_factory=dict)
    registrations: dict[int, list[RegistrationRecord]] = field(default_factory=dict)


def _calls() -> dict[int, list[CallRecord]]:
    a = [make_call(i) for i in range(1100)]
    a += [dataclasses.replace(make_call(5000 + k), invite_ts=TIE_TS) for k in range(5)]
    a.append(dataclasses.replace(make_call(6000), caller="al_ce%1", called="100%"))
    b = [make_call(i, T0 + 10_000) for i in range(2000, 2040)]
    # another sensor's leg of call 10 of sensor A, sharing its Session-ID uuid only
    other = make_call(2100)
    b.append(dataclasses.replace(other, leg_keys=dataclasses.replace(
        other.leg_keys, session_ids=[f"{10:032x}"]), leg_links=[]))  # fmt: skip
    # and one of call 20, sharing an SSRC of it only (a media relay), 5 s after it
    relay = make_call(2101)
    b.append(dataclasses.replace(relay, invite_ts=T0 + 25.5, leg_keys=dataclasses.replace(
        relay.leg_keys, ssrcs=[0x10000 + 20]), leg_links=[]))  # fmt: skip
    return {SENSOR_A: a, SENSOR_B: b}


def _registrations(now: float) -> dict[int, list[RegistrationRecord]]:
    a = [
        make_registration(1, now - 60),  # registered for an hour
        make_registration(2, now - 7200),  # expired an hour ago
        make_registration(3, now - 30, code=403, expires=None),  # never registered
        make_registration(4, now - 600, expires=3600),
        make_registration(4, now - 300, code=401, expires=None),  # a later failure
        make_registration(10, now - 10),
    ]
    b = [make_registration(1, now - 20, expires=900)]
    return {SENSOR_A: a, SENSOR_B: b}


async def _fill(url: str, journal: Path, data: Written) -> None:
    for sensor in (SENSOR_A, SENSOR_B):
        records: list[Record] = [*data.calls[sensor], *data.registrations[sensor]]
        async with CdrWriter(url, sensor, journal / str(sensor), batch_size=200) as w:
            for rec in records:
                w.submit(rec)
        assert w.written == len(records) and w.backlog_records == 0
    conn = await connect(parse_db_url(url))
    try:
        for sensor, name in ((SENSOR_A, "edge-a"), (SENSOR_B, "edge-b")):
            status = SensorStatus(name=name, host="h", version="1", counters={"x": sensor})
            await store_heartbeat(conn, sensor, status, [], timeout_s=10)
    finally:
        conn.close()


@pytest.fixture(scope="package")
def written(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Written]:
    ensure_server()
    name = new_db_name()
    url = url_of(name)
    data = Written(url, _calls(), _registrations(time.time()))
    asyncio.run(migrate(url, days_ahead=TEST_DAYS_AHEAD))
    try:
        asyncio.run(_fill(url, tmp_path_factory.mktemp("journal"), data))
        yield data
    finally:
        drop_test_database(name)


@pytest.fixture
async def rconn(written: Written) -> AsyncIterator[CONNECTION]:
    c = await connect(parse_db_url(written.url))
    yield c
    c.close()
