"""Alias names of IP addresses (``ip_alias``), set by admins, shown as SIP ladder columns."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from db.connect import CONNECTION
from db.driver import translated
from db.queries.apiauth import utcnow
from db.queries.ipcol import ip_col, ip_str


@dataclass(frozen=True, slots=True)
class IpAlias:
    ip: str
    alias: str
    note: str
    updated_by: str
    updated_at: dt.datetime


_COLUMNS = "ip, alias, note, updated_by, updated_at"


def _alias(row: tuple[object, ...]) -> IpAlias | None:
    ip = ip_str(row[0])  # type: ignore[arg-type]
    if ip is None:
        return None
    return IpAlias(ip, str(row[1]), str(row[2]), str(row[3]), row[4])  # type: ignore[arg-type]


@translated("cannot read or write IP aliases")
async def list_aliases(conn: CONNECTION) -> list[IpAlias]:
    async with conn.cursor() as cur:
        await cur.execute(f"SELECT {_COLUMNS} FROM ip_alias ORDER BY LENGTH(ip), ip")
        rows = await cur.fetchall()
    return [a for a in map(_alias, rows) if a is not None]


@translated("cannot read or write IP aliases")
async def aliases_for(conn: CONNECTION, ips: Iterable[str]) -> dict[str, str]:
    """``ip -> alias`` for those of ``ips`` that have one."""
    packed = sorted({p for p in (ip_col(i) for i in ips) if p is not None})
    if not packed:
        return {}
    marks = ",".join(["%s"] * len(packed))
    async with conn.cursor() as cur:
        await cur.execute(f"SELECT {_COLUMNS} FROM ip_alias WHERE ip IN ({marks})", packed)
        rows = await cur.fetchall()
    return {a.ip: a.alias for a in map(_alias, rows) if a is not None}


@translated("cannot read or write IP aliases")
async def get_alias(conn: CONNECTION, ip: str) -> IpAlias | None:
    packed = ip_col(ip)
    if packed is None:
        return None
    async with conn.cursor() as cur:
        await cur.execute(f"SELECT {_COLUMNS} FROM ip_alias WHERE ip = %s", (packed,))
        row = await cur.fetchone()
    return None if row is None else _alias(row)


@translated("cannot read or write IP aliases")
async def set_alias(conn: CONNECTION, ip: str, alias: str, note: str, updated_by: str) -> bool:
    """Create or replace; True when created. ``ValueError`` for a text that is no address."""
    packed = ip_col(ip)
    if packed is None:
        raise ValueError(f"not an IP address: {ip!r}")
    async with conn.cursor() as cur:
        await cur.execute(
            "INSERT INTO ip_alias (ip, alias, note, updated_by, updated_at) "
            "VALUES (%s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE alias = VALUES(alias), "
            "note = VALUES(note), updated_by = VALUES(updated_by), updated_at = VALUES(updated_at)",
            (packed, alias[:64], note[:255], updated_by[:128], utcnow()),
        )
        return int(cur.rowcount) == 1


@translated("cannot read or write IP aliases")
async def delete_alias(conn: CONNECTION, ip: str) -> bool:
    packed = ip_col(ip)
    if packed is None:
        return False
    async with conn.cursor() as cur:
        await cur.execute("DELETE FROM ip_alias WHERE ip = %s", (packed,))
        return int(cur.rowcount) == 1
