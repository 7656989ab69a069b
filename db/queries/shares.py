"""Share links of one call (``share_link``): the secret is stored as its SHA-256, the link
expires, can be revoked and serves a bounded number of downloads."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from db.connect import CONNECTION
from db.driver import translated
from db.queries.apiauth import utcnow


@dataclass(frozen=True, slots=True)
class ShareLink:
    id: int
    cdr_id: int
    invite_ts: dt.datetime
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime
    max_downloads: int
    downloads: int
    revoked_at: dt.datetime | None
    redact_ips: tuple[str, ...]
    mask_numbers: bool
    keep_digits: int
    note: str


_COLUMNS = (
    "id, cdr_id, invite_ts, created_by, created_at, expires_at, max_downloads, downloads, "
    "revoked_at, redact_ips, mask_numbers, keep_digits, note"
)


def _share(r: Sequence[Any]) -> ShareLink:
    return ShareLink(
        id=int(r[0]),
        cdr_id=int(r[1]),
        invite_ts=r[2],
        created_by=str(r[3]),
        created_at=r[4],
        expires_at=r[5],
        max_downloads=int(r[6]),
        downloads=int(r[7]),
        revoked_at=r[8],
        redact_ips=tuple(i for i in str(r[9]).split(",") if i),
        mask_numbers=bool(r[10]),
        keep_digits=int(r[11]),
        note=str(r[12]),
    )


@translated("cannot read or write share links")
async def create_share(
    conn: CONNECTION,
    *,
    token_hash: bytes,
    cdr_id: int,
    invite_ts: dt.datetime,
    created_by: str,
    expires_at: dt.datetime,
    max_downloads: int,
    redact_ips: Sequence[str] = (),
    mask_numbers: bool = False,
    keep_digits: int = 0,
    note: str = "",
) -> int:
    async with conn.cursor() as cur:
        await cur.execute(
            "INSERT INTO share_link (token_hash, cdr_id, invite_ts, created_by, created_at, "
            "expires_at, max_downloads, redact_ips, mask_numbers, keep_digits, note) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                token_hash,
                cdr_id,
                invite_ts,
                created_by[:128],
                utcnow(),
                expires_at,
                max_downloads,
                ",".join(redact_ips)[:2048],
                1 if mask_numbers else 0,
                keep_digits,
                note[:255],
            ),
        )
        return int(cur.lastrowid)


@translated("cannot read or write share links")
async def share_by_hash(conn: CONNECTION, token_hash: bytes) -> ShareLink | None:
    async with conn.cursor() as cur:
        await cur.execute(f"SELECT {_COLUMNS} FROM share_link WHERE token_hash = %s", (token_hash,))
        row = await cur.fetchone()
    return None if row is None else _share(row)


@translated("cannot read or write share links")
async def share_by_id(conn: CONNECTION, share_id: int) -> ShareLink | None:
    async with conn.cursor() as cur:
        await cur.execute(f"SELECT {_COLUMNS} FROM share_link WHERE id = %s", (share_id,))
        row = await cur.fetchone()
    return None if row is None else _share(row)


@translated("cannot read or write share links")
async def shares_of_call(conn: CONNECTION, cdr_id: int) -> list[ShareLink]:
    async with conn.cursor() as cur:
        await cur.execute(
            f"SELECT {_COLUMNS} FROM share_link WHERE cdr_id = %s ORDER BY id", (cdr_id,)
        )
        return [_share(r) for r in await cur.fetchall()]


@translated("cannot read or write share links")
async def count_download(conn: CONNECTION, share_id: int) -> bool:
    """Take one download from the link, atomically: False when it is revoked, expired or used
    up (then nothing is served)."""
    async with conn.cursor() as cur:
        await cur.execute(
            "UPDATE share_link SET downloads = downloads + 1 WHERE id = %s "
            "AND revoked_at IS NULL AND expires_at > %s AND downloads < max_downloads",
            (share_id, utcnow()),
        )
        return int(cur.rowcount) == 1


@translated("cannot read or write share links")
async def revoke_share(conn: CONNECTION, share_id: int) -> bool:
    async with conn.cursor() as cur:
        await cur.execute(
            "UPDATE share_link SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
            (utcnow(), share_id),
        )
        return int(cur.rowcount) == 1
