"""Migration 0002 (RTP figures nullable, playout discards) on a database that holds data."""

from typing import Any

import pytest

import db.migrate as migrate_mod
from db.connect import connect
from db.migrate import load_migrations, migrate
from db.url import parse_db_url
from tests.db.mariadb import url_of

_ROW = (
    "INSERT INTO {table} ({key}, src_port, dst_port, ssrc, payload_type, codec, packets, lost, "
    "loss_pct, duplicates, out_of_order, max_delta_ms, max_jitter_ms, mean_jitter_ms, mos, "
    "first_ts, last_ts) VALUES ({key_values}, 4000, 5000, 7, 0, 'PCMU', 100, 1, 1.0, 0, 0, "
    "20.5, 3.25, 1.5, 4.1, '2026-01-02 03:04:05.000006', '2026-01-02 03:04:07')"
)
_FIGURES = ("max_delta_ms", "max_jitter_ms", "mean_jitter_ms", "playout_discard_pct")


async def _columns(cur: Any, table: str) -> dict[str, str]:
    await cur.execute(
        "SELECT COLUMN_NAME, IS_NULLABLE FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
        (table,),
    )
    return {str(name): str(nullable) for name, nullable in await cur.fetchall()}


@pytest.mark.filterwarnings("ignore:Duplicate column name")
async def test_0002_alters_tables_that_hold_rows(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = url_of(fresh_db)
    first = load_migrations()[0]
    with monkeypatch.context() as m:
        m.setattr(migrate_mod, "load_migrations", lambda: (first,))
        assert await migrate(url, days_ahead=1) == [1]
    conn = await connect(parse_db_url(url))
    try:
        async with conn.cursor() as cur:
            await cur.execute(
                _ROW.format(
                    table="cdr_rtp",
                    key="cdr_id, invite_ts, stream_idx",
                    key_values="1, '2026-01-02 03:04:05', 0",
                )
            )
            await cur.execute(
                _ROW.format(
                    table="rtp_orphan",
                    key="sensor_id, digest",
                    key_values="1, UNHEX('00112233445566778899AABBCCDDEEFF')",
                )
            )
            await conn.commit()
            before = await _columns(cur, "cdr_rtp")
            assert before["max_jitter_ms"] == "NO" and "playout_discard_pct" not in before
        assert 2 in await migrate(url, days_ahead=1)
        async with conn.cursor() as cur:
            for table in ("cdr_rtp", "rtp_orphan"):
                cols = await _columns(cur, table)
                assert [cols[c] for c in _FIGURES] == ["YES"] * 4, table
                await cur.execute(f"SELECT packets, {', '.join(_FIGURES)}, mos FROM {table}")
                assert await cur.fetchall() == ((100, 20.5, 3.25, 1.5, None, 4.1),)
            # re-runnable: the statements of 0002 change nothing the second time
            for stmt in load_migrations()[1].statements():
                await cur.execute(stmt)
            await cur.execute("UPDATE cdr_rtp SET max_jitter_ms = NULL, mean_jitter_ms = NULL")
            await cur.execute("SELECT max_jitter_ms, mean_jitter_ms FROM cdr_rtp")
            assert await cur.fetchall() == ((None, None),)
    finally:
        conn.close()
