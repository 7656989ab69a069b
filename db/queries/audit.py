"""The audit log (``audit_log``): who did what, when, from where. Written by the API for
logins, failed logins, user/token/alias changes, pcap/audio downloads, share links and imports;
read by admins. Also the source of the login throttle (failed logins per user and per IP)."""

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from db.connect import CONNECTION
from db.driver import translated
from db.queries.apiauth import utcnow
from db.queries.ipcol import ip_col, ip_str

LOGIN_FAILED = "login_failed"
LOGIN = "login"
DETAIL_SIZE = 1024


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    ts: dt.datetime
    actor: str
    actor_kind: str
    action: str
    target: str
    ip: str | None
    detail: dict[str, Any]


@translated("cannot read or write the audit log")
async def add_audit(
    conn: CONNECTION,
    *,
    actor: str,
    actor_kind: str,
    action: str,
    target: str = "",
    ip: str | None = None,
    detail: Mapping[str, Any] | None = None,
    ts: dt.datetime | None = None,
) -> int:
    text = json.dumps(dict(detail or {}), ensure_ascii=False, sort_keys=True, default=str)
    if len(text) > DETAIL_SIZE:
        text = json.dumps({"truncated": text[: DETAIL_SIZE - 40]})
    async with conn.cursor() as cur:
        await cur.execute(
            "INSERT INTO audit_log (ts, actor, actor_kind, action, target, ip, detail) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                ts or utcnow(),
                actor[:128],
                actor_kind[:8],
                action[:32],
                target[:255],
                ip_col(ip),
                text,
            ),
        )
        return int(cur.lastrowid)


@translated("cannot read or write the audit log")
async def list_audit(
    conn: CONNECTION,
    *,
    before_id: int | None = None,
    limit: int = 100,
    action: str | None = None,
    actor: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[AuditEntry]:
    """Newest first; ``before_id`` is the keyset cursor (the last id of the previous page)."""
    where: list[str] = []
    params: list[Any] = []
    if before_id is not None:
        where.append("id < %s")
        params.append(before_id)
    if action:  # an ASCII column: other text can match nothing (and may not be compared)
        where.append("action = %s" if action.isascii() else "FALSE")
        if action.isascii():
            params.append(action)
    if actor:
        where.append("actor = %s")
        params.append(actor)
    if since is not None:
        where.append("ts >= %s")
        params.append(since)
    if until is not None:
        where.append("ts < %s")
        params.append(until)
    sql = "SELECT id, ts, actor, actor_kind, action, target, ip, detail FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC LIMIT %s"
    async with conn.cursor() as cur:
        await cur.execute(sql, (*params, limit))
        rows = await cur.fetchall()
    return [
        AuditEntry(
            id=int(r[0]),
            ts=r[1],
            actor=str(r[2]),
            actor_kind=str(r[3]),
            action=str(r[4]),
            target=str(r[5]),
            ip=ip_str(r[6]),
            detail=_detail(r[7]),
        )
        for r in rows
    ]


def _detail(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {"text": text}
    return value if isinstance(value, dict) else {"value": value}


@translated("cannot read or write the audit log")
async def failed_logins(
    conn: CONNECTION, *, username: str, ip: str | None, since: dt.datetime
) -> tuple[int, int]:
    """Failed logins since ``since``: for ``username`` (only those after its last successful
    login) and from ``ip``."""
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action = %s AND actor = %s AND ts >= "
            "GREATEST(%s, COALESCE((SELECT MAX(ts) FROM audit_log WHERE action = %s "
            "AND actor = %s AND ts >= %s), %s))",
            (LOGIN_FAILED, username, since, LOGIN, username, since, since),
        )
        row = await cur.fetchone()
        by_user = int(row[0]) if row else 0
        by_ip = 0
        packed = ip_col(ip)
        if packed is not None:
            await cur.execute(
                "SELECT COUNT(*) FROM audit_log WHERE action = %s AND ip = %s AND ts >= %s",
                (LOGIN_FAILED, packed, since),
            )
            row = await cur.fetchone()
            by_ip = int(row[0]) if row else 0
    return by_user, by_ip
