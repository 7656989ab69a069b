"""Call searches: a filtered page of calls, newest first, and one call with its streams."""

from __future__ import annotations

from typing import Any

from db.connect import CONNECTION
from db.driver import translated
from db.queries import values as v
from db.queries.calls import CALL_SELECT, INVITE_TS, call_from_row, fetch_streams, opt_from_ts
from db.read.models import (
    MAX_LIMIT,
    CallDetail,
    CallFilter,
    CallPage,
    CallSummary,
    DtmfDigit,
    decode_cursor,
    encode_cursor,
)


def like_prefix(text: str) -> str:
    """A ``LIKE`` pattern matching values that start with ``text`` (wildcards escaped)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _where(f: CallFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []

    def add(clause: str, value: Any) -> None:
        clauses.append(clause)
        params.append(value)

    if f.since is not None:
        add("c.invite_ts >= %s", v.ts(f.since))
    if f.until is not None:
        add("c.invite_ts < %s", v.ts(f.until))
    if f.caller is not None:
        add("c.caller = %s", f.caller)
    if f.caller_prefix is not None:
        add("c.caller LIKE %s", like_prefix(f.caller_prefix))
    if f.called is not None:
        add("c.called = %s", f.called)
    if f.called_prefix is not None:
        add("c.called LIKE %s", like_prefix(f.called_prefix))
    if f.sensor_id is not None:
        add("c.sensor_id = %s", f.sensor_id)
    if f.call_id is not None:
        add("c.call_id = %s", f.call_id)
    if f.final_code is not None:
        add("c.final_code = %s", f.final_code)
    if f.after is not None:
        invite, ident = decode_cursor(f.after)
        clauses.append("(c.invite_ts < %s OR (c.invite_ts = %s AND c.id < %s))")
        params += [invite, invite, ident]
    return clauses, params


@translated("cannot list calls")
async def list_calls(conn: CONNECTION, f: CallFilter) -> CallPage:
    """One page of the calls matching ``f``, newest INVITE first (ties by id). Raises
    :class:`~db.read.models.BadCursor` for a cursor it did not hand out."""
    limit = min(f.limit, MAX_LIMIT)
    clauses, params = _where(f)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = f"{CALL_SELECT}{where} ORDER BY c.invite_ts DESC, c.id DESC LIMIT %s"
    async with conn.cursor() as cur:
        await cur.execute(sql, (*params, limit + 1))
        rows = list(await cur.fetchall())
    more = len(rows) > limit
    rows = rows[:limit]
    calls = [_summary(row) for row in rows]
    after = encode_cursor(rows[-1][INVITE_TS], int(rows[-1][0])) if more else None
    return CallPage(calls=calls, next=after)


def _summary(row: Any) -> CallSummary:
    rec = call_from_row(row, [])
    return CallSummary(
        id=int(row[0]),
        sensor_id=int(row[1]),
        uid=rec.uid,
        call_id=rec.call_id,
        caller=rec.caller,
        caller_domain=rec.caller_domain,
        caller_name=rec.caller_name,
        called=rec.called,
        called_domain=rec.called_domain,
        caller_ip=rec.caller_ip,
        caller_port=rec.caller_port,
        called_ip=rec.called_ip,
        called_port=rec.called_port,
        invite_ts=rec.invite_ts,
        answer_ts=rec.answer_ts,
        end_ts=rec.end_ts,
        duration_s=rec.duration_s,
        connect_duration_s=rec.connect_duration_s,
        final_code=rec.final_code,
        final_reason=rec.final_reason,
        hangup_by=rec.hangup_by,
        state=rec.state,
        codecs=rec.codecs,
        flags=rec.flags,
        transport=rec.transport,
        pcap=rec.pcap,
    )


@translated("cannot read a call")
async def get_call(conn: CONNECTION, cdr_id: int) -> CallDetail | None:
    """The stored call ``cdr_id`` (its ``id`` in a :class:`CallSummary`) with its RTP streams
    and DTMF digits, or None."""
    async with conn.cursor() as cur:
        await cur.execute(f"{CALL_SELECT} WHERE c.id = %s LIMIT 1", (cdr_id,))
        row = await cur.fetchone()
        if row is None:
            return None
        invite = row[INVITE_TS]
        await cur.execute(
            "SELECT seq, digit, ts FROM cdr_dtmf WHERE cdr_id = %s AND invite_ts = %s ORDER BY seq",
            (cdr_id, invite),
        )
        dtmf = [
            DtmfDigit(seq=int(s), digit=str(d), ts=opt_from_ts(t))
            for s, d, t in await cur.fetchall()
        ]
    streams = await fetch_streams(conn, cdr_id, invite)
    return CallDetail(
        id=int(row[0]), sensor_id=int(row[1]), record=call_from_row(row, streams), dtmf=dtmf
    )
