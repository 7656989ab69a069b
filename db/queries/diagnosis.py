"""A call's diagnosis and legs in the database: ``cdr_problem`` (each problem with its
evidence), ``cdr_leg_key`` (its correlation keys) and ``cdr_leg_link`` (the legs its sensor
linked it to), written once with their ``cdr`` row (:func:`child_rows`) and read back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from db.connect import CONNECTION
from db.driver import translated
from db.queries import values as v
from db.queries.sql import insert_once
from db.records import CallRecord, LegKeys, LegLink, Problem

MAX_PROBLEMS = 64
MAX_KEYS = 64
MAX_LINKS = 32
KEY_KINDS = ("cid", "session-id", "icid", "media", "ssrc")
"""``cdr_leg_key.kind``: correlation header value, Session-ID uuid, icid-value, SDP media
endpoint (``ip:port``), SSRC (decimal)."""

INSERT_PROBLEM = insert_once(
    "cdr_problem", ("cdr_id", "invite_ts", "seq", "code", "detail"), "cdr_id"
)
INSERT_LEG_KEY = insert_once(
    "cdr_leg_key", ("cdr_id", "invite_ts", "seq", "kind", "value"), "cdr_id"
)
INSERT_LEG_LINK = insert_once(
    "cdr_leg_link",
    ("cdr_id", "invite_ts", "seq", "other_uid", "other_call_id", "reason"),
    "cdr_id",
)


def key_values(keys: LegKeys) -> list[tuple[str, str]]:
    """``(kind, value)`` pairs of a call's keys, without repeats, at most :data:`MAX_KEYS`."""
    pairs = [("cid", x) for x in keys.cids]
    pairs += [("session-id", x) for x in keys.session_ids]
    pairs += [("icid", x) for x in keys.icids]
    pairs += [("media", x) for x in keys.media]
    pairs += [("ssrc", str(x)) for x in keys.ssrcs]
    out = dict.fromkeys((k, v.text(x, 255)) for k, x in pairs if x)
    return list(out)[:MAX_KEYS]


def child_rows(
    cdr_id: int, invite: dt.datetime, c: CallRecord
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The ``cdr_problem``, ``cdr_leg_key`` and ``cdr_leg_link`` rows of one stored call."""
    problems = [
        (cdr_id, invite, seq, v.atext(p.code, 32), v.text(p.detail, 255))
        for seq, p in enumerate(c.problems[:MAX_PROBLEMS])
    ]
    keys = [
        (cdr_id, invite, seq, kind, value)
        for seq, (kind, value) in enumerate(key_values(c.leg_keys))
    ]
    links = [
        (
            cdr_id,
            invite,
            seq,
            v.uid(link.uid),
            v.text(link.call_id, 255),
            v.atext(link.reason, 16),
        )
        for seq, link in enumerate(c.leg_links[:MAX_LINKS])
    ]
    return problems, keys, links


def problem_codes(c: CallRecord) -> str:
    """The ``cdr.problems`` column: the distinct codes, comma-joined."""
    return v.joined(list(dict.fromkeys(p.code for p in c.problems)), 512)


@translated("cannot read the diagnosis of a call")
async def fetch_diagnosis(
    conn: CONNECTION, cdr_id: int, invite: dt.datetime
) -> tuple[list[Problem], LegKeys, list[LegLink]]:
    """The problems (in order), keys and leg links stored for the ``cdr`` row."""
    keys = LegKeys()
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT code, detail FROM cdr_problem WHERE cdr_id = %s AND invite_ts = %s "
            "ORDER BY seq",
            (cdr_id, invite),
        )
        problems = [Problem(str(code), str(detail)) for code, detail in await cur.fetchall()]
        await cur.execute(
            "SELECT kind, value FROM cdr_leg_key WHERE cdr_id = %s AND invite_ts = %s ORDER BY seq",
            (cdr_id, invite),
        )
        for kind, value in await cur.fetchall():
            text = str(value)
            if kind == "cid":
                keys.cids.append(text)
            elif kind == "session-id":
                keys.session_ids.append(text)
            elif kind == "icid":
                keys.icids.append(text)
            elif kind == "media":
                keys.media.append(text)
            elif kind == "ssrc" and text.isdigit():
                keys.ssrcs.append(int(text))
        await cur.execute(
            "SELECT other_uid, other_call_id, reason FROM cdr_leg_link "
            "WHERE cdr_id = %s AND invite_ts = %s ORDER BY seq",
            (cdr_id, invite),
        )
        links = [LegLink(str(u), str(c), str(r)) for u, c, r in await cur.fetchall()]
    return problems, keys, links
