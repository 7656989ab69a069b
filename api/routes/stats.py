"""``/stats``: the dashboard's figures over a time range."""

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request, Response

from api.deps import Conn, Viewer
from api.errors import bad_request, error_responses, json_model
from api.schemas.stats import Bucket, CodeCount, Failing, Interval, Stats, Totals, UaCount
from api.timeutil import naive_utc
from db.connect import CONNECTION
from db.errors import DbError
from db.pool import DbPool
from db.queries import callstats as q

router = APIRouter(tags=["stats"])
INTERVALS = (60, 300, 900, 3600, 86400)
MAX_INTERVALS = 2000
MAX_RANGE = dt.timedelta(days=400)
T = TypeVar("T")


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


async def _on(pool: DbPool, fn: Callable[[CONNECTION], Awaitable[T]]) -> T:
    async with pool.connection() as conn:
        return await fn(conn)


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
    pool: DbPool = request.app.state.pool

    async def group_a(c: CONNECTION) -> tuple[Any, ...]:
        rows, codes = await q.per_interval(c, f, step)
        return (rows, codes, await q.top_failing(c, f), await q.top_user_agents(c, f))

    async def group_b(c: CONNECTION) -> tuple[Any, ...]:
        return (
            await q.pdd_histogram(c, f),
            await q.quality_histograms(c, f),
            await q.concurrency(c, f, step),
        )

    try:  # two connections: the server works on both halves at once, no more
        async with asyncio.TaskGroup() as tg:
            ta = tg.create_task(group_a(conn))
            tb = tg.create_task(_on(pool, group_b))
    except* DbError as group:
        raise group.exceptions[0] from None
    rows, codes, failing, uas = ta.result()
    pdd, (mos, loss), conc = tb.result()
    return json_model(_assemble(start, end, step, rows, pdd, mos, loss, codes, failing, uas, conc))


def _assemble(
    start: dt.datetime,
    end: dt.datetime,
    step: int,
    rows: list[q.IntervalRow],
    pdd: dict[int, int],
    mos: dict[int, int],
    loss: dict[int, int],
    codes: list[tuple[int | None, int]],
    failing: list[q.FailingDestination],
    uas: list[tuple[str, int]],
    conc: q.Concurrency,
) -> Stats:
    by_start = {r.start: r for r in rows}
    intervals = []
    epoch = dt.datetime(1970, 1, 1)
    first = epoch + dt.timedelta(seconds=int((start - epoch).total_seconds()) // step * step)
    carry = 0
    t = first
    while t < end:
        r = by_start.get(t) or q.IntervalRow(start=t)
        peak, last = conc.per_interval.get(t, (carry, carry))
        peak = max(peak, carry)
        carry = last
        intervals.append(
            Interval(
                start=t,
                calls=r.calls,
                answered=r.answered,
                failed=r.failed,
                cancelled=r.cancelled,
                asr_pct=_pct(r.answered, r.calls),
                acd_s=round(r.talk_s / r.answered, 3) if r.answered else None,
                pdd_ms_avg=round(r.pdd_sum_ms / r.pdd_count, 3) if r.pdd_count else None,
                peak_concurrent=peak,
            )
        )
        t += dt.timedelta(seconds=step)
    calls = sum(r.calls for r in rows)
    answered = sum(r.answered for r in rows)
    talk = sum(r.talk_s for r in rows)
    pdd_n = sum(r.pdd_count for r in rows)
    peak = max((i.peak_concurrent for i in intervals), default=0)
    peak_at = next((i.start for i in intervals if i.peak_concurrent == peak and peak), None)
    totals = Totals(
        calls=calls,
        answered=answered,
        failed=sum(r.failed for r in rows),
        cancelled=sum(r.cancelled for r in rows),
        asr_pct=_pct(answered, calls),
        ner_pct=_pct(sum(r.reached for r in rows), calls),
        acd_s=round(talk / answered, 3) if answered else None,
        pdd_ms_avg=round(sum(r.pdd_sum_ms for r in rows) / pdd_n, 3) if pdd_n else None,
        pdd_ms_p50=_percentile(pdd, 0.5),
        pdd_ms_p95=_percentile(pdd, 0.95),
        peak_concurrent=peak,
        peak_interval=peak_at,
    )
    pdd_buckets = [
        Bucket(
            low=b * q.PDD_BUCKET_MS,
            high=None if b == q.PDD_BUCKETS - 1 else (b + 1) * q.PDD_BUCKET_MS,
            count=n,
        )
        for b, n in sorted(pdd.items())
    ]
    return Stats(
        since=start,
        until=end,
        interval_s=step,
        totals=totals,
        intervals=intervals,
        pdd_histogram=pdd_buckets,
        mos_distribution=_buckets(mos, q.MOS_EDGES, 0.0),
        loss_distribution=_buckets(loss, q.LOSS_EDGES, 0.0),
        sip_codes=[CodeCount(code=c, calls=n) for c, n in codes],
        top_failing=[
            Failing(called=x.called, failed=x.failed, calls=x.calls, top_code=x.top_code)
            for x in failing
        ],
        user_agents=[UaCount(user_agent=u, calls=n) for u, n in uas],
    )
