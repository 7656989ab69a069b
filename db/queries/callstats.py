"""Call statistics over a time range (the dashboard): ASR, NER, ACD, PDD, calls and peak
concurrent calls per interval, MOS and loss distributions, SIP codes, failing destinations,
user agents. Each function is one statement over ``cdr`` (and ``cdr_rtp``), bounded by
``invite_ts`` so that only the partitions of the range are read.

Definitions (docs/API.md): a call is *answered* when it has an ``answer_ts``; NER counts the
calls that reached the called party: answered, busy (486, 600), no answer (480, 408, 487) or
declined (603), and cancelled calls."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from db.connect import CONNECTION
from db.driver import translated
from db.read.calls import like_prefix

NER_CODES = (486, 600, 480, 408, 487, 603)
PDD_BUCKET_MS = 100
PDD_BUCKETS = 100
"""PDD histogram: 100 ms buckets up to 10 s, the last one open-ended."""
MOS_EDGES = (1.0, 2.0, 2.5, 3.0, 3.5, 4.0, 4.3)
LOSS_EDGES = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0)
CONCURRENCY_LOOKBACK = dt.timedelta(hours=6)
"""Calls that began this long before the range may still be up in it (peak concurrency)."""
_EPOCH = "'1970-01-01 00:00:00'"


@dataclass(frozen=True, slots=True)
class StatsFilter:
    since: dt.datetime
    until: dt.datetime
    sensors: Sequence[int] | None = None
    """The caller's scope intersected with the requested sensors (None: every sensor)."""
    caller_prefix: str | None = None
    called_prefix: str | None = None


def scope_clause(column: str, scope: Sequence[int] | None) -> tuple[str, list[Any]]:
    """``AND column IN (...)`` for a sensor scope ('' for every sensor; never true for [])."""
    if scope is None:
        return "", []
    if not scope:
        return " AND FALSE", []
    return f" AND {column} IN ({', '.join(['%s'] * len(scope))})", [int(s) for s in scope]


def where(f: StatsFilter, alias: str = "c") -> tuple[str, list[Any]]:
    sql = f"{alias}.invite_ts >= %s AND {alias}.invite_ts < %s"
    params: list[Any] = [f.since, f.until]
    clause, sp = scope_clause(f"{alias}.sensor_id", f.sensors)
    sql += clause
    params += sp
    if f.caller_prefix:
        sql += f" AND {alias}.caller LIKE %s"
        params.append(like_prefix(f.caller_prefix))
    if f.called_prefix:
        sql += f" AND {alias}.called LIKE %s"
        params.append(like_prefix(f.called_prefix))
    return sql, params


@dataclass(slots=True)
class IntervalRow:
    start: dt.datetime
    calls: int = 0
    answered: int = 0
    failed: int = 0
    cancelled: int = 0
    reached: int = 0
    """Calls counted by NER."""
    talk_s: float = 0.0
    pdd_sum_ms: float = 0.0
    pdd_count: int = 0
    peak_concurrent: int = 0


@translated("cannot compute call statistics")
async def per_interval(
    conn: CONNECTION, f: StatsFilter, interval_s: int
) -> tuple[list[IntervalRow], list[tuple[int | None, int]]]:
    """Counts per interval (intervals without calls are absent), and calls per final code:
    one pass over the range (grouped by interval and code)."""
    w, params = where(f)
    codes = ", ".join(str(c) for c in NER_CODES)
    sql = (
        f"SELECT TIMESTAMPDIFF(SECOND, {_EPOCH}, c.invite_ts) DIV %s AS b, c.final_code, "
        "COUNT(*), SUM(c.answer_ts IS NOT NULL), SUM(c.state = 'failed'), "
        "SUM(c.state = 'cancelled'), "
        f"SUM(c.answer_ts IS NOT NULL OR c.state = 'cancelled' OR c.final_code IN ({codes})), "
        "SUM(IF(c.answer_ts IS NOT NULL, c.connect_duration_s, 0)), "
        "SUM(TIMESTAMPDIFF(MICROSECOND, c.invite_ts, c.ringing_ts)) / 1000, "
        "COUNT(c.ringing_ts) "
        f"FROM cdr c WHERE {w} GROUP BY b, c.final_code"
    )
    async with conn.cursor() as cur:
        await cur.execute(sql, (interval_s, *params))
        rows = await cur.fetchall()
    epoch = dt.datetime(1970, 1, 1)
    by: dict[int, IntervalRow] = {}
    per_code: dict[int | None, int] = {}
    for b, code, n, a, fl, cn, r, t, p, pc in rows:
        row = by.get(int(b))
        if row is None:
            row = by[int(b)] = IntervalRow(start=epoch + dt.timedelta(seconds=int(b) * interval_s))
        row.calls += int(n)
        row.answered += int(a or 0)
        row.failed += int(fl or 0)
        row.cancelled += int(cn or 0)
        row.reached += int(r or 0)
        row.talk_s += float(t or 0.0)
        row.pdd_sum_ms += float(p or 0.0)
        row.pdd_count += int(pc or 0)
        key = None if code is None else int(code)
        per_code[key] = per_code.get(key, 0) + int(n)
    codes_sorted = sorted(per_code.items(), key=lambda kv: (-kv[1], -1 if kv[0] is None else kv[0]))
    return [by[b] for b in sorted(by)], codes_sorted


@translated("cannot compute call statistics")
async def pdd_histogram(conn: CONNECTION, f: StatsFilter) -> dict[int, int]:
    """``bucket index -> calls`` (bucket i covers i*100 ms .. (i+1)*100 ms; the last is open)."""
    w, params = where(f)
    sql = (
        "SELECT LEAST(TIMESTAMPDIFF(MICROSECOND, c.invite_ts, c.ringing_ts) DIV %s, %s) AS b, "
        f"COUNT(*) FROM cdr c WHERE {w} AND c.ringing_ts IS NOT NULL GROUP BY b"
    )
    async with conn.cursor() as cur:
        await cur.execute(sql, (PDD_BUCKET_MS * 1000, PDD_BUCKETS - 1, *params))
        return {max(0, int(b)): int(n) for b, n in await cur.fetchall()}


def _bucket_case(column: str, edges: Sequence[float]) -> str:
    """``CASE`` giving the index of the first edge above the value (len(edges) past the last)."""
    parts = " ".join(f"WHEN {column} < {e!r} THEN {i}" for i, e in enumerate(edges))
    return f"CASE {parts} ELSE {len(edges)} END"


@translated("cannot compute call statistics")
async def quality_histograms(
    conn: CONNECTION, f: StatsFilter
) -> tuple[dict[int, int], dict[int, int]]:
    """Calls per bucket of their worst stream's MOS (calls without a MOS left out), and per
    bucket of their worst stream's loss (``loss_max <= edge``; calls without streams left out)."""
    w, params = where(f)
    loss = (
        "CASE "
        + " ".join(f"WHEN c.loss_max <= {e!r} THEN {i}" for i, e in enumerate(LOSS_EDGES))
        + f" ELSE {len(LOSS_EDGES)} END"
    )
    sql = (
        f"SELECT IF(c.mos_min IS NULL, -1, {_bucket_case('c.mos_min', MOS_EDGES)}) AS mb, "
        f"IF(c.loss_max IS NULL, -1, {loss}) AS lb, COUNT(*) FROM cdr c "
        f"WHERE {w} AND c.loss_max IS NOT NULL GROUP BY mb, lb"
    )
    mos: dict[int, int] = {}
    loss_h: dict[int, int] = {}
    async with conn.cursor() as cur:
        await cur.execute(sql, params)
        for mb, lb, n in await cur.fetchall():
            if int(mb) >= 0:
                mos[int(mb)] = mos.get(int(mb), 0) + int(n)
            if int(lb) >= 0:
                loss_h[int(lb)] = loss_h.get(int(lb), 0) + int(n)
    return mos, loss_h


@translated("cannot compute call statistics")
async def failing_numbers(conn: CONNECTION, f: StatsFilter) -> dict[str, list[Any]]:
    """Every called number with failed calls: ``called -> [failed, calls, {code: failed}]``
    (its calls of any outcome counted too)."""
    w, params = where(f)
    sql = (
        "SELECT c.called, c.final_code, SUM(c.state = 'failed'), COUNT(*) FROM cdr c "
        f"WHERE {w} AND c.called IN (SELECT c.called FROM cdr c WHERE {w} AND c.state = 'failed') "
        "GROUP BY c.called, c.final_code"
    )
    out: dict[str, list[Any]] = {}
    async with conn.cursor() as cur:
        await cur.execute(sql, (*params, *params))
        for called, code, nf, n in await cur.fetchall():
            entry = out.setdefault(str(called), [0, 0, {}])
            entry[0] += int(nf or 0)
            entry[1] += int(n)
            if nf:
                entry[2][str(code)] = entry[2].get(str(code), 0) + int(nf)
    return out


@translated("cannot compute call statistics")
async def top_user_agents(
    conn: CONNECTION, f: StatsFilter, limit: int = 1000
) -> list[tuple[str, int]]:
    """User agents of callers and callees, by calls (at most ``limit``)."""
    w, params = where(f)
    sql = (
        "SELECT ua.user_agent, SUM(x.n) AS n FROM ("
        f"SELECT c.caller_ua_id AS u, COUNT(*) AS n FROM cdr c WHERE {w} GROUP BY c.caller_ua_id "
        "UNION ALL "
        f"SELECT c.called_ua_id, COUNT(*) FROM cdr c WHERE {w} GROUP BY c.called_ua_id"
        ") x JOIN user_agent ua ON ua.id = x.u GROUP BY ua.user_agent ORDER BY n DESC, "
        "ua.user_agent LIMIT %s"
    )
    async with conn.cursor() as cur:
        await cur.execute(sql, (*params, *params, limit))
        return [(str(u), int(n)) for u, n in await cur.fetchall()]


@dataclass(slots=True)
class Concurrency:
    peak: int = 0
    peak_interval: dt.datetime | None = None
    per_interval: dict[dt.datetime, tuple[int, int]] = field(default_factory=dict)
    """Interval start -> (peak in it, calls up at its last event)."""


@translated("cannot compute call statistics")
async def concurrency(conn: CONNECTION, f: StatsFilter, interval_s: int) -> Concurrency:
    """Peak concurrent calls per interval with events: a running sum over call starts (+1) and
    ends (-1) in time order, calls begun up to :data:`CONCURRENCY_LOOKBACK` before the range
    included. Intervals without any start or end are absent (the caller carries the level)."""
    early = StatsFilter(
        f.since - CONCURRENCY_LOOKBACK, f.until, f.sensors, f.caller_prefix, f.called_prefix
    )
    w, params = where(early)
    sql = (
        f"SELECT TIMESTAMPDIFF(SECOND, {_EPOCH}, t) DIV %s AS b, MAX(lvl), "
        "SUBSTRING_INDEX(GROUP_CONCAT(lvl ORDER BY t DESC, d DESC), ',', 1) FROM ("
        "SELECT t, d, SUM(d) OVER (ORDER BY t, d ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
        " AS lvl FROM ("
        f"SELECT c.invite_ts AS t, 1 AS d FROM cdr c WHERE {w} "
        "UNION ALL "
        f"SELECT GREATEST(c.end_ts, c.invite_ts), -1 FROM cdr c WHERE {w}"
        ") e) x WHERE t >= %s AND t < %s GROUP BY b ORDER BY b"
    )
    out = Concurrency()
    epoch = dt.datetime(1970, 1, 1)
    async with conn.cursor() as cur:
        await cur.execute(sql, (interval_s, *params, *params, f.since, f.until))
        for b, peak, last in await cur.fetchall():
            start = epoch + dt.timedelta(seconds=int(b) * interval_s)
            out.per_interval[start] = (int(peak), int(last))
            if int(peak) > out.peak:
                out.peak, out.peak_interval = int(peak), start
    return out
