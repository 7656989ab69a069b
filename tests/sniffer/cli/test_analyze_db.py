"""``callsift analyze --db`` of the golden captures writes the same calls as ``--json`` prints,
into the real MariaDB; running it twice writes nothing twice."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest

from db.connect import connect
from db.queries import fetch_call, sensor_row_counts
from db.records import record_to_dict
from db.url import parse_db_url
from tests.db.mariadb import db_url, sensor_id  # noqa: F401  (fixtures)
from tests.sniffer.cli.test_analyze import callsift
from tests.sniffer.golden import GOLDEN

FILES = [
    "sip_rtp_g711u_call_register_voipshark.pcap",
    "sip_call_rtp_g711_wireshark_sample.pcap",
    "sip_register_auth_cancel_aaa.pcap",
    "sip_tcp_call_rtp_rtcp.pcap",
    "sip_ipv6_fragmented_sll.pcap",
    "sip_websocket_and_udp.pcap",
]


def _same(a: Any, b: Any, path: str = "") -> None:
    """Deep equality, floats to within 1 µs / 1e-6 relative (DATETIME(6) and DOUBLE columns)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), path
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None, path
        assert math.isclose(a, b, rel_tol=1e-6, abs_tol=1.5e-6), (path, a, b)
    else:
        assert a == b, (path, a, b)


async def _fetch(url: str, sensor: int, uids: list[str]) -> list[dict[str, Any]]:
    conn = await connect(parse_db_url(url))
    try:
        out = []
        for uid in uids:
            rec = await fetch_call(conn, sensor, uid)
            assert rec is not None, uid
            out.append(record_to_dict(rec))
        return out
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.parametrize("name", FILES)
def test_db_holds_what_json_prints(
    name: str,
    db_url: str,  # noqa: F811
    sensor_id: int,  # noqa: F811
    tmp_path: Path,
) -> None:
    args = ["analyze", "--json", "--no-progress", str(GOLDEN / name)]
    db_args = ["--db", db_url, "--sensor-id", str(sensor_id), "--journal", str(tmp_path / "j")]
    first = callsift(*args, *db_args)
    assert first.returncode == 0, first.stderr
    printed = [json.loads(x) for x in first.stdout.splitlines()]
    calls = [r for r in printed if r["type"] == "call"]
    assert calls
    stored = asyncio.run(_fetch(db_url, sensor_id, [c["uid"] for c in calls]))
    for c, s in zip(calls, stored, strict=True):
        _same(c, s, c["call_id"])
    # a replay of the same capture writes nothing twice
    before = _counts(db_url, sensor_id)
    assert before["cdr"] == len(calls)
    again = callsift(*args, *db_args)
    assert again.returncode == 0, again.stderr
    assert _counts(db_url, sensor_id) == before


def _counts(url: str, sensor: int) -> dict[str, int]:
    async def go() -> dict[str, int]:
        conn = await connect(parse_db_url(url))
        try:
            return await sensor_row_counts(conn, sensor)
        finally:
            conn.close()

    return asyncio.run(go())
