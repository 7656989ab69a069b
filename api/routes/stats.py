"""``/stats``: the dashboard's figures over a time range."""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.deps import Conn, Viewer
from api.errors import bad_request, error_responses, json_model
from api.schemas.stats import Bucket, CodeCount, Failing, Interval, Stats, Totals, UaCount
from api.timeutil import naive_utc
from db.connect import CONNECTION
from db.queries import callstats as q
from db.queries import statsummary as sm
from db.queries.statfailing import top_failing

router = APIRouter(tags=["stats"])
INTERVALS = (60, 300, 900, 3600, 86400)
MAX_INTERVALS = 2000
MAX_RANGE = dt.timedelta(days=400)
MAX_LIVE_HOURS = 48
"""Beyond this many unsummarised hours a request computes its whole range from the calls."""
TOP = 10


def default_interval(span: dt.timedelta) -> int:
    if span <= dt.timedelta(hours=6):
        return 300
    if span <= dt.timedelta(days=3):
        return 3600
    return 86400


def _pct(n: int, d: int) -> float | None:
    return round(100.0 * n / d, 2) if d else None


def _percentile(hist: dict[int, int], p: float) -> float | None:
    total = sum(hist.values())
    if not total:
        return None
    want = p * total
    seen = 0
    for b in sorted(hist):
        seen += hist[b]
        if seen >= want:
            return (b + 0.5) * q.PDD_BUCKET_MS
    return None


def _buckets(hist: dict[int, int], edges: tuple[float, ...], low0: float) -> list[Bucket]:
    out = []
    for i in range(len(edges) + 1):
        low = low0 if i == 0 else edges[i - 1]
        high = edges[i] if i < len(edges) else None
        out.append(Bucket(low=low, high=high, count=hist.get(i, 0)))
    return out


@router.get("/stats", response_model=Stats, responses=error_responses(401, 422))
async def stats(
    request: Request,
    conn: Conn,
    who: Viewer,
    since: Annotated[dt.datetime, Query(description="start of the range (UTC unless zoned)")],
    until: Annotated[
        dt.datetime | None, Query(description="end of the range (default: now)")
    ] = None,
    sensor: Annotated[list[int] | None, Query(description="only these sensors")] = None,
    caller_prefix: Annotated[str | None, Query(max_length=64)] = None,
    called_prefix: Annotated[str | None, Query(max_length=64)] = None,
    interval: Annotated[
        int | None, Query(description="seconds: 60, 300, 900, 3600 or 86400")
    ] = None,
) -> Response:
    start = naive_utc(since)
    end = naive_utc(until) or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert start is not None
    if end <= start:
        raise bad_request("'until' must be after 'since'", "until")
    if end - start > MAX_RANGE:
        raise bad_request(f"the range is longer than {MAX_RANGE.days} days", "since")
    step = interval or default_interval(end - start)
    if step not in INTERVALS:
        raise bad_request(f"interval must be one of {', '.join(map(str, INTERVALS))}", "interval")
    if (end - start).total_seconds() / step > MAX_INTERVALS:
        raise bad_request(
            f"more than {MAX_INTERVALS} intervals: choose a longer interval", "interval"
        )
    sensors: list[int] | None = None
    if sensor is not None:
        sensors = [s for s in sensor if who.sees(s)]
    elif who.sensor_scope is not None:
        sensors = list(who.sensor_scope)
    f = q.StatsFilter(start, end, sensors, caller_prefix or None, called_prefix or None)
    blob = await gather_blob(conn, f, step)
    return json_model(assemble(start, end, step, blob))


async def gather_blob(conn: CONNECTION, f: q.StatsFilter, step: int) -> sm.Blob:
    """The figures of the range: stored hourly blobs where they are whole and fresh (no filter
    but the range, intervals of an hour or more), the rest computed from the calls."""
    if f.sensors is not None or f.caller_prefix or f.called_prefix or step < 3600:
        return await sm.compute(conn, f, step)
    first = sm.hour_of(f.since) + (sm.HOUR if f.since != sm.hour_of(f.since) else dt.timedelta())
    last = sm.hour_of(f.until)
    mark = await sm.watermark(conn)
    if mark is None or last <= first:
        return await sm.compute(conn, f, step)
    dirty, _ = await sm.hours_stored_since(conn, sm.dirty_since(mark))
    stored = await sm.load_hours(conn, first, last)
    usable = {h: b for h, b in stored.items() if h not in set(dirty)}
    missing = []
    h = first
    while h < last:
        if h not in usable:
            missing.append(h)
        h += sm.HOUR
    if len(missing) > MAX_LIVE_HOURS:
        return await sm.compute(conn, f, step)
    out = sm.Blob()
    for b in usable.values():
        b.failing = {}  # kept apart (a blob stored before migration 8 may still hold them)
        out.add(b, step)
    ranges = [(f.since, first), (last, f.until)] + [(m, m + sm.HOUR) for m in missing]
    for lo, hi in ranges:
        if lo < hi:
            out.add(await sm.compute(conn, q.StatsFilter(lo, hi), 3600), step)
    out.failing = await top_failing(conn, first, last, missing, out.failing, TOP)
    return out


def assemble(start: dt.datetime, end: dt.datetime, step: int, blob: sm.Blob) -> Stats:
    epoch = dt.datetime(1970, 1, 1)
    first = int((start - epoch).total_seconds()) // step * step
    intervals = []
    carry = 0
    totals = dict.fromkeys(
        (
            "calls",
            "answered",
            "failed",
            "cancelled",
            "reached",
            "talk_s",
            "pdd_sum_ms",
            "pdd_count",
        ),
        0.0,
    )
    t = first
    stop = int((end - epoch).total_seconds())
    while t < stop:
        r = blob.intervals.get(t, {})
        for k in totals:
            totals[k] += r.get(k, 0)
        peak, last = blob.peaks.get(t, [carry, carry])
        peak = max(peak, carry)
        carry = last
        calls, answered = int(r.get("calls", 0)), int(r.get("answered", 0))
        pdd_n = int(r.get("pdd_count", 0))
        intervals.append(
            Interval(
                start=epoch + dt.timedelta(seconds=t),
                calls=calls,
                answered=answered,
                failed=int(r.get("failed", 0)),
                cancelled=int(r.get("cancelled", 0)),
                asr_pct=_pct(answered, calls),
                acd_s=round(r.get("talk_s", 0) / answered, 3) if answered else None,
                pdd_ms_avg=round(r.get("pdd_sum_ms", 0) / pdd_n, 3) if pdd_n else None,
                peak_concurrent=peak,
            )
        )
        t += step
    calls, answered = int(totals["calls"]), int(totals["answered"])
    pdd_n = int(totals["pdd_count"])
    pdd = {int(k): n for k, n in blob.pdd.items()}
    peak = max((i.peak_concurrent for i in intervals), default=0)
    peak_at = next((i.start for i in intervals if i.peak_concurrent == peak and peak), None)
    tot = Totals(
        calls=calls,
        answered=answered,
        failed=int(totals["failed"]),
        cancelled=int(totals["cancelled"]),
        asr_pct=_pct(answered, calls),
        ner_pct=_pct(int(totals["reached"]), calls),
        acd_s=round(totals["talk_s"] / answered, 3) if answered else None,
        pdd_ms_avg=round(totals["pdd_sum_ms"] / pdd_n, 3) if pdd_n else None,
        pdd_ms_p50=_percentile(pdd, 0.5),
        pdd_ms_p95=_percentile(pdd, 0.95),
        peak_concurrent=peak,
        peak_interval=peak_at,
    )
    failing = sorted(blob.failing.items(), key=lambda kv: (-kv[1][0], kv[0]))[:TOP]
    codes = sorted(
        ((None if k == "None" else int(k), n) for k, n in blob.codes.items()),
        key=lambda kv: (-kv[1], -1 if kv[0] is None else kv[0]),
    )
    uas = sorted(blob.uas.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    return Stats(
        since=start,
        until=end,
        interval_s=step,
        totals=tot,
        intervals=intervals,
        pdd_histogram=[
            Bucket(
                low=b * q.PDD_BUCKET_MS,
                high=None if b == q.PDD_BUCKETS - 1 else (b + 1) * q.PDD_BUCKET_MS,
                count=n,
            )
            for b, n in sorted(pdd.items())
        ],
        mos_distribution=_buckets({int(k): n for k, n in blob.mos.items()}, q.MOS_EDGES, 0.0),
        loss_distribution=_buckets({int(k): n for k, n in blob.loss.items()}, q.LOSS_EDGES, 0.0),
        sip_codes=[CodeCount(code=c, calls=n) for c, n in codes],
        top_failing=[
            Failing(called=called, failed=nf, calls=n, top_code=_top_code(by_code))
            for called, (nf, n, by_code) in failing
        ],
        user_agents=[UaCount(user_agent=u, calls=n) for u, n in uas],
    )


def _top_code(by_code: dict[str, int]) -> int | None:
    best = sorted(by_code.items(), key=lambda kv: (-kv[1], kv[0]))
    return int(best[0][0]) if best and best[0][0] != "None" else None
