"""Call searches: a filtered page of calls, newest first, and one call with its streams."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from db.connect import CONNECTION
from db.driver import translated
from db.queries import values as v
from db.queries.calls import (
    CALL_FIELDS,
    CALL_LOOKUPS,
    CALL_SELECT,
    CDR_COLUMNS,
    INVITE_TS,
    call_from_row,
    fetch_streams,
    opt_from_ts,
)
from db.queries.diagnosis import fetch_diagnosis
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
    _api_criteria(f, add, clauses, params)
    if f.after is not None:
        invite, ident = decode_cursor(f.after)
        clauses.append("(c.invite_ts < %s OR (c.invite_ts = %s AND c.id < %s))")
        params += [invite, invite, ident]
    return clauses, params


def glob_like(pattern: str) -> str:
    """``*`` wildcards -> a ``LIKE`` pattern (``%`` and ``_`` stay literal)."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def _api_criteria(
    f: CallFilter, add: Callable[[str, Any], None], clauses: list[str], params: list[Any]
) -> None:
    """The criteria the API adds to the sensor-side ones (see :class:`CallFilter`)."""
    if f.sensor_ids is not None:
        if not f.sensor_ids:
            clauses.append("FALSE")
        else:
            clauses.append(f"c.sensor_id IN ({', '.join(['%s'] * len(f.sensor_ids))})")
            params.extend(int(s) for s in f.sensor_ids)
    if f.caller_like is not None:
        add("c.caller LIKE %s", glob_like(f.caller_like))
    if f.called_like is not None:
        add("c.called LIKE %s", glob_like(f.called_like))
    for value, op in (
        (f.party, "= %s"),
        (None if f.party_prefix is None else like_prefix(f.party_prefix), "LIKE %s"),
        (None if f.party_like is None else glob_like(f.party_like), "LIKE %s"),
    ):
        if value is not None:
            clauses.append(f"(c.caller {op} OR c.called {op})")
            params += [value, value]
    if f.ip is not None:
        packed = v.ip(f.ip)
        clauses.append("(c.caller_ip = %s OR c.called_ip = %s)" if packed else "FALSE")
        if packed:
            params += [packed, packed]
    if f.code_class is not None:
        clauses.append("c.final_code BETWEEN %s AND %s")
        params += [f.code_class * 100, f.code_class * 100 + 99]
    if f.states is not None:
        if not f.states:
            clauses.append("FALSE")
        else:
            clauses.append(f"c.state IN ({', '.join(['%s'] * len(f.states))})")
            params.extend(f.states)
    if f.outcome == "answered":
        clauses.append("c.answer_ts IS NOT NULL")
    elif f.outcome == "unanswered":
        clauses.append("c.answer_ts IS NULL")
    elif f.outcome is not None:
        add("c.state = %s", f.outcome)
    if f.min_duration_s is not None:
        add("c.duration_s >= %s", f.min_duration_s)
    if f.max_duration_s is not None:
        add("c.duration_s <= %s", f.max_duration_s)
    if f.codec is not None:
        add("FIND_IN_SET(%s, c.codecs)", f.codec.replace(",", ";"))
    if f.flag is not None:  # an ASCII column: other text can match nothing
        if f.flag.isascii():
            add("FIND_IN_SET(%s, c.flags)", f.flag.replace(",", ";"))
        else:
            clauses.append("FALSE")
    if f.vlan is not None:
        add("c.vlan = %s", f.vlan)
    if f.mos_below is not None:  # the call's worst stream, stored with it
        add("c.mos_min < %s", f.mos_below)
    if f.loss_above is not None:
        add("c.loss_max > %s", f.loss_above)
    if f.problems is not None:  # through cdr_problem's primary key, per candidate call
        codes = [p for p in f.problems if p.isascii()]
        if not codes:
            clauses.append("FALSE")
        else:
            clauses.append(
                "EXISTS (SELECT 1 FROM cdr_problem p WHERE p.cdr_id = c.id "
                f"AND p.invite_ts = c.invite_ts AND p.code IN ({', '.join(['%s'] * len(codes))}))"
            )
            params.extend(codes)


def search_sql(f: CallFilter) -> tuple[str, list[Any]]:
    """The statement of :func:`list_calls` and its parameters (the last ``%s``, the row limit,
    is left to the caller): for EXPLAIN in the benchmarks.

    Late row lookup: the inner query finds the page's keys ``(id, invite_ts)`` — from an index
    alone when the criteria are in it (docs/BENCHMARKS.md) — and sorts only those; the outer
    one reads the page's rows by primary key. Reading whole rows while searching made a search
    that sorts its matches (a number prefix) fetch every match from the table. A search on
    either party or either IP is an index merge, which reads its rows anyway: it stays in one
    piece (the keys-first form read them twice, 1.5x the time in docs/BENCHMARKS.md's A/B)."""
    clauses, params = _where(f)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    if any(getattr(f, name) is not None for name in _EITHER_SIDE):
        return f"{CALL_SELECT}{where} {ORDER} LIMIT %s", params
    keys = f"SELECT c.id, c.invite_ts FROM cdr c{where} {ORDER} LIMIT %s"
    return (
        f"SELECT {CALL_FIELDS} FROM ({keys}) k STRAIGHT_JOIN cdr c "
        f"ON c.id = k.id AND c.invite_ts = k.invite_ts {CALL_LOOKUPS} {ORDER}",
        params,
    )


_EITHER_SIDE = ("ip", "party", "party_prefix", "party_like")
"""Criteria on the caller OR the called side (an index merge of two indexes)."""
ORDER = "ORDER BY c.invite_ts DESC, c.id DESC"


def criteria(f: CallFilter) -> tuple[list[str], list[Any]]:
    """The WHERE clauses of a search on ``cdr c`` and their parameters (also the export's)."""
    return _where(f)


@translated("cannot list calls")
async def list_calls(conn: CONNECTION, f: CallFilter) -> CallPage:
    """One page of the calls matching ``f``, newest INVITE first (ties by id). Raises
    :class:`~db.read.models.BadCursor` for a cursor it did not hand out."""
    limit = min(f.limit, MAX_LIMIT)
    sql, params = search_sql(f)
    async with conn.cursor() as cur:
        await cur.execute(sql, (*params, limit + 1))
        rows = list(await cur.fetchall())
    more = len(rows) > limit
    rows = rows[:limit]
    calls = [_summary(row) for row in rows]
    after = encode_cursor(rows[-1][INVITE_TS], int(rows[-1][0])) if more else None
    return CallPage(calls=calls, next=after)


_COL = {name: 1 + i for i, name in enumerate(CDR_COLUMNS)}
"""Position of each ``cdr`` column in a :data:`CALL_SELECT` row (``id`` first, then the
looked-up reason and user agents last)."""


def _summary(row: Any) -> CallSummary:
    """A :data:`CALL_SELECT` row as a summary, built without validation: every value comes
    typed from its column (a page of 1,000 rows would otherwise spend most of its time here)."""
    c = _COL
    ringing, answer = row[c["ringing_ts"]], row[c["answer_ts"]]
    return CallSummary.model_construct(
        id=int(row[0]),
        sensor_id=int(row[1]),
        uid=row[c["uid"]],
        call_id=row[c["call_id"]],
        caller=row[c["caller"]],
        caller_domain=row[c["caller_domain"]],
        caller_name=row[c["caller_name"]],
        called=row[c["called"]],
        called_domain=row[c["called_domain"]],
        caller_ip=v.ip_text(row[c["caller_ip"]]),
        caller_port=row[c["caller_port"]],
        called_ip=v.ip_text(row[c["called_ip"]]),
        called_port=row[c["called_port"]],
        invite_ts=v.from_ts(row[c["invite_ts"]]),
        answer_ts=None if answer is None else v.from_ts(answer),
        end_ts=v.from_ts(row[c["end_ts"]]),
        duration_s=float(row[c["duration_s"]]),
        connect_duration_s=float(row[c["connect_duration_s"]]),
        final_code=row[c["final_code"]],
        final_reason=row[-3],
        hangup_by=row[c["hangup_by"]],
        state=row[c["state"]],
        codecs=v.split(row[c["codecs"]]),
        flags=v.split(row[c["flags"]]),
        transport=row[c["transport"]],
        pcap=row[c["pcap"]],
        vlan=row[c["vlan"]],
        ringing_ts=None if ringing is None else v.from_ts(ringing),
        caller_ua=row[-2],
        called_ua=row[-1],
        problems=v.split(row[c["problems"]] or ""),
        pdd_ms=row[c["pdd_ms"]],
        leg_group=row[c["leg_group"]],
    )


@translated("cannot read a call")
async def get_call(
    conn: CONNECTION, cdr_id: int, sensor_ids: Sequence[int] | None = None
) -> CallDetail | None:
    """The stored call ``cdr_id`` (its ``id`` in a :class:`CallSummary`) with its RTP streams
    and DTMF digits, or None (also when its sensor is not among ``sensor_ids``)."""
    scope, scope_params = _scope(sensor_ids)
    async with conn.cursor() as cur:
        await cur.execute(f"{CALL_SELECT} WHERE c.id = %s{scope} LIMIT 1", (cdr_id, *scope_params))
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
    rec = call_from_row(row, streams)
    rec.problems, rec.leg_keys, rec.leg_links = await fetch_diagnosis(conn, cdr_id, invite)
    return CallDetail(id=int(row[0]), sensor_id=int(row[1]), record=rec, dtmf=dtmf)


def _scope(sensor_ids: Sequence[int] | None) -> tuple[str, list[Any]]:
    if sensor_ids is None:
        return "", []
    if not sensor_ids:
        return " AND FALSE", []
    return f" AND c.sensor_id IN ({', '.join(['%s'] * len(sensor_ids))})", [
        int(s) for s in sensor_ids
    ]


@translated("cannot read the quality of the listed calls")
async def stream_quality(
    conn: CONNECTION, calls: Sequence[CallSummary]
) -> dict[int, dict[str, tuple[float | None, float, float]]]:
    """Per call and direction (``caller``/``callee``; ``""`` when unknown): the lowest MOS,
    the highest loss % and the highest jitter (ms) of its streams, for a page of calls."""
    return await quality_of_keys(conn, [(c.id, v.ts(c.invite_ts)) for c in calls])


@translated("cannot read the quality of the listed calls")
async def quality_of_keys(
    conn: CONNECTION, keys: Sequence[tuple[int, dt.datetime]]
) -> dict[int, dict[str, tuple[float | None, float, float]]]:
    """:func:`stream_quality` of the calls ``(id, invite_ts)``."""
    if not keys:
        return {}
    ids = [k[0] for k in keys]
    lo = min(k[1] for k in keys)
    hi = max(k[1] for k in keys)
    out: dict[int, dict[str, tuple[float | None, float, float]]] = {}
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT cdr_id, COALESCE(direction, ''), MIN(mos), MAX(loss_pct), MAX(max_jitter_ms) "
            f"FROM cdr_rtp WHERE cdr_id IN ({', '.join(['%s'] * len(ids))}) "
            "AND invite_ts BETWEEN %s AND %s GROUP BY cdr_id, direction",
            (*ids, lo, hi),
        )
        for cdr_id, direction, mos, loss, jitter in await cur.fetchall():
            out.setdefault(int(cdr_id), {})[str(direction)] = (
                None if mos is None else float(mos),
                float(loss or 0.0),
                float(jitter or 0.0),
            )
    return out
