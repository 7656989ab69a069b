"""Automatic sensor ids: one id per identity, distinct under concurrent claims, stable."""

import asyncio
import uuid

import pytest

from db.connect import connect
from db.queries import claim_sensor_id, fetch_sensor, upsert_sensor
from db.url import parse_db_url


async def test_an_identity_keeps_its_id_and_the_heartbeat_keeps_the_identity(
    db_url: str,
) -> None:
    ident = uuid.uuid4().hex
    conn = await connect(parse_db_url(db_url))
    try:
        first = await claim_sensor_id(conn, ident, name="edge-a", host="h1", version="0.1.0")
        assert first >= 1
        await upsert_sensor(conn, first, name="edge-a", host="h1")
        await conn.commit()
        assert await claim_sensor_id(conn, ident, name="renamed") == first
        row = await fetch_sensor(conn, first)
        assert row is not None
        assert (row["identity"], row["name"], row["host"]) == (ident, "edge-a", "h1")
        other = await claim_sensor_id(conn, uuid.uuid4().hex, name="edge-b")
        assert other > first
    finally:
        conn.close()


async def test_concurrent_claims_get_distinct_ids(db_url: str) -> None:
    idents = [uuid.uuid4().hex for _ in range(8)]
    cfg = parse_db_url(db_url)
    conns = [await connect(cfg) for _ in range(16)]
    try:
        # every identity is claimed twice at once, by two connections
        ids = await asyncio.gather(
            *(
                claim_sensor_id(c, idents[i % 8], name=f"replica-{i % 8}")
                for i, c in enumerate(conns)
            )
        )
    finally:
        for c in conns:
            c.close()
    by_ident: dict[str, set[int]] = {}
    for i, sid in enumerate(ids):
        by_ident.setdefault(idents[i % 8], set()).add(sid)
    assert all(len(s) == 1 for s in by_ident.values()), by_ident
    assert len({next(iter(s)) for s in by_ident.values()}) == 8


@pytest.mark.parametrize("bad", ["", "x" * 65, "é"])
async def test_bad_identity_is_refused(db_url: str, bad: str) -> None:
    conn = await connect(parse_db_url(db_url))
    try:
        with pytest.raises(ValueError) as err:
            await claim_sensor_id(conn, bad, name="x")
        assert str(err.value) == f"sensor identity must be 1..64 ASCII characters, got {bad!r}"
    finally:
        conn.close()
