"""Call records: ``cdr`` rows with their ``cdr_rtp`` and ``cdr_dtmf`` children.

Idempotent: ``cdr`` is unique on ``(sensor_id, uid, invite_ts)`` and the children on
``(cdr_id, stream_idx|seq, invite_ts)``, all inserted once (:func:`insert_once`); a replayed
batch adds nothing. The functions never commit: they run in the caller's transaction."""

import datetime as dt
import weakref
from collections.abc import Sequence
from itertools import chain
from typing import Any

from db.connect import CONNECTION
from db.driver import translated
from db.queries import values as v
from db.queries.diagnosis import (
    INSERT_LEG_KEY,
    INSERT_LEG_LINK,
    INSERT_PROBLEM,
    child_rows,
    fetch_diagnosis,
    problem_codes,
)
from db.queries.lookups import LookupCache, lookup_key, resolve
from db.queries.sql import insert_once
from db.queries.streams import STREAM_COLUMNS, stream_from_row, stream_values
from db.records import CallRecord, Problem, StreamRecord

MAX_DTMF_DIGITS = 1000
"""Digits stored per call in ``cdr_dtmf`` (``cdr.dtmf`` keeps the first 255)."""

CDR_COLUMNS: tuple[str, ...] = (
    "sensor_id",
    "uid",
    "call_id",
    "caller",
    "caller_domain",
    "caller_name",
    "called",
    "called_domain",
    "caller_ip",
    "caller_port",
    "called_ip",
    "called_port",
    "vlan",
    "invite_ts",
    "ringing_ts",
    "answer_ts",
    "end_ts",
    "duration_s",
    "connect_duration_s",
    "final_code",
    "final_reason_id",
    "hangup_by",
    "state",
    "codecs",
    "dtmf",
    "pcap",
    "caller_ua_id",
    "called_ua_id",
    "bye_code",
    "challenged",
    "sip_messages",
    "retransmissions",
    "transport",
    "flags",
    "pdd_ms",
    "problems",
    "leg_group",
)


SUMMARY_COLUMNS: tuple[str, ...] = ("mos_min", "loss_max")
"""Written with each call (migration 6), derived from its streams: the worst MOS and loss % of
any stream, NULL without streams. Call searches and statistics read them from ``cdr`` alone."""
_INSERT_CDR = insert_once("cdr", (*CDR_COLUMNS, *SUMMARY_COLUMNS), "id")
_INSERT_RTP = insert_once(
    "cdr_rtp", ("cdr_id", "invite_ts", "stream_idx", *STREAM_COLUMNS), "cdr_id"
)
_INSERT_DTMF = insert_once("cdr_dtmf", ("cdr_id", "invite_ts", "seq", "digit", "ts"), "cdr_id")
_ID_CHUNK = 500
_STEPS: "weakref.WeakKeyDictionary[Any, int]" = weakref.WeakKeyDictionary()
"""``@@auto_increment_increment`` per connection."""


def _key(value: str | None) -> str | None:
    return lookup_key(value) if value and value.strip() else None


def _cdr_row(
    sensor_id: int,
    c: CallRecord,
    uid: str,
    invite: dt.datetime,
    reasons: dict[str, int],
    uas: dict[str, int],
) -> tuple[Any, ...]:
    reason, caller_ua, called_ua = _key(c.final_reason), _key(c.caller_ua), _key(c.called_ua)
    return (
        sensor_id,
        uid,
        v.text(c.call_id, 255),
        v.text(c.caller, 128),
        v.text(c.caller_domain, 255),
        v.text(c.caller_name, 128),
        v.text(c.called, 128),
        v.text(c.called_domain, 255),
        v.ip(c.caller_ip),
        v.uint(c.caller_port, v.U16),
        v.ip(c.called_ip),
        v.uint(c.called_port, v.U16),
        v.opt_uint(c.vlan, v.U16),
        invite,
        v.opt_ts(c.ringing_ts),
        v.opt_ts(c.answer_ts),
        v.ts(c.end_ts),
        v.real(c.duration_s),
        v.real(c.connect_duration_s),
        v.opt_uint(c.final_code, v.U16),
        reasons.get(reason) if reason else None,
        v.opt_atext(c.hangup_by, 16),
        v.atext(c.state, 16),
        v.joined(c.codecs, 255, ascii_only=False),
        v.text(c.dtmf, 255),
        v.opt_text(c.pcap, 1024),
        uas.get(caller_ua) if caller_ua else None,
        uas.get(called_ua) if called_ua else None,
        v.opt_uint(c.bye_code, v.U16),
        1 if c.challenged else 0,
        v.uint(c.sip_messages, v.U32),
        v.uint(c.retransmissions, v.U32),
        v.atext(c.transport, 8),
        v.joined(c.flags, 255),
        v.opt_uint(c.pdd_ms, v.U32),
        problem_codes(c),
        None if c.leg_group is None else v.uid(c.leg_group),
        *_worst(c),
    )


def _worst(c: CallRecord) -> tuple[float | None, float | None]:
    """(lowest MOS, highest loss %) over the call's streams."""
    mos = [m for m in (v.opt_real(s.mos) for s in c.streams) if m is not None]
    loss = [v.real(s.loss_pct) for s in c.streams]
    return (min(mos) if mos else None, max(loss) if loss else None)


@translated("cannot write calls")
async def insert_calls(
    conn: CONNECTION,
    sensor_id: int,
    calls: Sequence[CallRecord],
    lookups: LookupCache | None = None,
) -> int:
    """Insert call records with their streams and DTMF digits; returns the number of new
    ``cdr`` rows (records already stored are skipped, children included)."""
    if not calls:
        return 0
    cache = lookups if lookups is not None else LookupCache()
    reasons = await resolve(conn, "sip_reason", (c.final_reason for c in calls), cache)
    uas = await resolve(
        conn, "user_agent", chain.from_iterable((c.caller_ua, c.called_ua) for c in calls), cache
    )
    keys = [(v.uid(c.uid), v.ts(c.invite_ts)) for c in calls]
    rows = [
        _cdr_row(sensor_id, c, uid, invite, reasons, uas)
        for c, (uid, invite) in zip(calls, keys, strict=True)
    ]
    async with conn.cursor() as cur:
        await cur.executemany(_INSERT_CDR, rows)
        inserted = int(cur.rowcount)
        first_id = int(cur.lastrowid or 0)
    if inserted == 0:
        return 0
    ids = None
    if inserted == len(rows) and first_id:
        ids = await _consecutive_ids(conn, first_id, keys)
    if ids is None:
        ids = await cdr_ids(conn, sensor_id, keys)
    rtp: list[tuple[Any, ...]] = []
    dtmf: list[tuple[Any, ...]] = []
    children: tuple[list[tuple[Any, ...]], ...] = ([], [], [])
    for c, key in zip(calls, keys, strict=True):
        cdr_id = ids.get(key)
        if cdr_id is None:  # lost to a concurrent delete: nothing to attach to
            continue
        invite = key[1]
        for idx, s in enumerate(c.streams[: v.U16]):
            rtp.append((cdr_id, invite, idx, *stream_values(s)))
        for seq, digit in enumerate(c.dtmf[:MAX_DTMF_DIGITS]):
            dtmf.append((cdr_id, invite, seq, digit if digit.isascii() else "?", None))
        for rows_of, more in zip(children, child_rows(cdr_id, invite, c), strict=True):
            rows_of += more
    async with conn.cursor() as cur:
        if rtp:
            await cur.executemany(_INSERT_RTP, rtp)
        if dtmf:
            await cur.executemany(_INSERT_DTMF, dtmf)
        for sql, rows_of in zip(
            (INSERT_PROBLEM, INSERT_LEG_KEY, INSERT_LEG_LINK), children, strict=True
        ):
            if rows_of:
                await cur.executemany(sql, rows_of)
    return inserted


async def _consecutive_ids(
    conn: CONNECTION, first_id: int, keys: Sequence[tuple[str, dt.datetime]]
) -> dict[tuple[str, dt.datetime], int] | None:
    """Ids of a multi-row insert that stored every row, from its first id (LAST_INSERT_ID):
    InnoDB numbers the rows of one statement in order, so when the first and the last row hold
    the ids ``first`` and ``first + (n - 1) * auto_increment_increment`` (checked here), every
    row in between is numbered consecutively. None when that does not hold (other inserts
    interleaved, the statement was split): the caller then looks the ids up."""
    step = _STEPS.get(conn)
    async with conn.cursor() as cur:
        if step is None:
            await cur.execute("SELECT @@auto_increment_increment")
            row = await cur.fetchone()
            step = _STEPS[conn] = int(row[0]) if row else 1
        ids = [first_id + k * step for k in range(len(keys))]
        await cur.execute(
            "SELECT id, uid FROM cdr WHERE (id = %s AND invite_ts = %s) OR (id = %s AND invite_ts = %s)",
            (ids[0], keys[0][1], ids[-1], keys[-1][1]),
        )
        found = {int(i): str(u) for i, u in await cur.fetchall()}
    if found.get(ids[0]) != keys[0][0] or found.get(ids[-1]) != keys[-1][0]:
        return None
    return dict(zip(keys, ids, strict=True))


@translated("cannot read call ids")
async def cdr_ids(
    conn: CONNECTION, sensor_id: int, keys: Sequence[tuple[str, dt.datetime]]
) -> dict[tuple[str, dt.datetime], int]:
    """``(uid, invite_ts) -> cdr.id`` for stored uids (as returned by ``values.uid``)."""
    out: dict[tuple[str, dt.datetime], int] = {}
    async with conn.cursor() as cur:
        for i in range(0, len(keys), _ID_CHUNK):
            chunk = keys[i : i + _ID_CHUNK]
            lo = min(k[1] for k in chunk)
            hi = max(k[1] for k in chunk)
            marks = ",".join(["%s"] * len(chunk))
            await cur.execute(
                "SELECT uid, invite_ts, id FROM cdr WHERE sensor_id = %s "
                f"AND invite_ts BETWEEN %s AND %s AND uid IN ({marks})",
                (sensor_id, lo, hi, *(k[0] for k in chunk)),
            )
            for uid, invite, ident in await cur.fetchall():
                out[(str(uid), invite)] = int(ident)
    return out


CALL_FIELDS = (
    "c.id, " + ", ".join(f"c.{col}" for col in CDR_COLUMNS) + ", r.reason, ua1.user_agent, "
    "ua2.user_agent"
)
CALL_LOOKUPS = (
    "LEFT JOIN sip_reason r ON r.id = c.final_reason_id "
    "LEFT JOIN user_agent ua1 ON ua1.id = c.caller_ua_id "
    "LEFT JOIN user_agent ua2 ON ua2.id = c.called_ua_id"
)
CALL_SELECT = f"SELECT {CALL_FIELDS} FROM cdr c {CALL_LOOKUPS}"
"""A ``cdr`` row with its looked-up texts, as :func:`call_from_row` reads it (add a WHERE)."""
INVITE_TS = 1 + CDR_COLUMNS.index("invite_ts")
"""Position of ``invite_ts`` in a :data:`CALL_SELECT` row (``id`` is first)."""
_SELECT_RTP = (
    f"SELECT {', '.join(STREAM_COLUMNS)} FROM cdr_rtp "
    "WHERE cdr_id = %s AND invite_ts = %s ORDER BY stream_idx"
)


@translated("cannot read a call")
async def fetch_call(conn: CONNECTION, sensor_id: int, uid: str) -> CallRecord | None:
    """Read one stored call record back (streams included), or None."""
    async with conn.cursor() as cur:
        await cur.execute(
            f"{CALL_SELECT} WHERE c.sensor_id = %s AND c.uid = %s ORDER BY c.invite_ts LIMIT 1",
            (sensor_id, v.uid(uid)),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        streams = await fetch_streams(conn, row[0], row[INVITE_TS])
    rec = call_from_row(row, streams)
    rec.problems, rec.leg_keys, rec.leg_links = await fetch_diagnosis(conn, row[0], row[INVITE_TS])
    return rec


@translated("cannot read the streams of a call")
async def fetch_streams(conn: CONNECTION, cdr_id: int, invite: dt.datetime) -> list[StreamRecord]:
    """The RTP streams of the ``cdr`` row ``(cdr_id, invite)``, in their stored order."""
    async with conn.cursor() as cur:
        await cur.execute(_SELECT_RTP, (cdr_id, invite))
        return [stream_from_row(r) for r in await cur.fetchall()]


def call_from_row(row: Sequence[Any], streams: list[StreamRecord]) -> CallRecord:
    """A :data:`CALL_SELECT` row (and the call's streams) -> the record as it was written;
    its problems carry their codes only (:func:`fetch_diagnosis` reads their evidence)."""
    c = dict(zip(CDR_COLUMNS, row[1:], strict=False))
    reason, caller_ua, called_ua = row[-3:]
    return CallRecord(
        call_id=c["call_id"],
        uid=c["uid"],
        caller=c["caller"],
        caller_domain=c["caller_domain"],
        caller_name=c["caller_name"],
        called=c["called"],
        called_domain=c["called_domain"],
        caller_ip=v.ip_text(c["caller_ip"]),
        caller_port=c["caller_port"],
        called_ip=v.ip_text(c["called_ip"]),
        called_port=c["called_port"],
        vlan=c["vlan"],
        invite_ts=v.from_ts(c["invite_ts"]),
        ringing_ts=opt_from_ts(c["ringing_ts"]),
        answer_ts=opt_from_ts(c["answer_ts"]),
        end_ts=v.from_ts(c["end_ts"]),
        duration_s=c["duration_s"],
        connect_duration_s=c["connect_duration_s"],
        final_code=c["final_code"],
        final_reason=reason,
        hangup_by=c["hangup_by"],
        state=c["state"],
        codecs=v.split(c["codecs"]),
        dtmf=c["dtmf"],
        streams=streams,
        pcap=c["pcap"],
        caller_ua=caller_ua,
        called_ua=called_ua,
        bye_code=c["bye_code"],
        challenged=bool(c["challenged"]),
        sip_messages=c["sip_messages"],
        retransmissions=c["retransmissions"],
        transport=c["transport"],
        flags=v.split(c["flags"]),
        pdd_ms=c["pdd_ms"],
        problems=[Problem(code, "") for code in v.split(c["problems"] or "")],
        leg_group=c["leg_group"],
    )


def opt_from_ts(value: dt.datetime | None) -> float | None:
    return None if value is None else v.from_ts(value)
