"""SIP MESSAGE records (``sip_message``), idempotent through a content digest."""

from collections.abc import Sequence

from db.connect import CONNECTION
from db.driver import translated
from db.queries import values as v
from db.queries.sql import insert_once
from db.records import MessageRecord

BODY_CHARS = 4 * 1024 * 1024
"""``MEDIUMTEXT`` holds 16 MiB of bytes; 4 Mi characters always fit in utf8mb4."""

_COLUMNS = (
    "sensor_id",
    "digest",
    "ts",
    "`from`",
    "`to`",
    "body",
    "result_code",
    "call_id",
    "src_ip",
    "dst_ip",
    "truncated",
)
_INSERT = insert_once("sip_message", _COLUMNS, "sensor_id")


@translated("cannot write MESSAGE records")
async def insert_messages(
    conn: CONNECTION, sensor_id: int, messages: Sequence[MessageRecord]
) -> int:
    """Store MESSAGE records; returns the rows inserted (replays insert nothing)."""
    if not messages:
        return 0
    rows = [
        (
            sensor_id,
            v.digest(m),
            v.ts(m.ts),
            v.text(m.from_, 255),
            v.text(m.to, 255),
            v.text(m.body, BODY_CHARS),
            v.opt_uint(m.result_code, v.U16),
            v.text(m.call_id, 255),
            v.ip(m.src_ip),
            v.ip(m.dst_ip),
            1 if m.truncated or len(m.body) > BODY_CHARS else 0,
        )
        for m in messages
    ]
    async with conn.cursor() as cur:
        await cur.executemany(_INSERT, rows)
        return int(cur.rowcount)
