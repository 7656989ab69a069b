"""Statistics as mergeable parts ("blobs"): the figures of a time range, per interval, in a
form that adds up. A stats request over days merges the stored blobs of whole hours
(``cdr_stats_hour``) with blobs computed live for the partial hours at its edges and for hours
whose calls changed after their blob was stored.

Keeping blobs fresh: every row of ``cdr`` has ``stored_at``. The refresher recomputes the hours
of the rows stored since its watermark (``api_state``), then moves the watermark; a request
treats the hours of rows stored since the watermark as not summarised (computed live)."""

import dataclasses
import datetime as dt
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from db.connect import CONNECTION
from db.driver import translated
from db.queries import callstats as q
from db.queries.statfailing import store_failing

HOUR = dt.timedelta(hours=1)
WATERMARK = "stats_watermark"
_EPOCH = dt.datetime(1970, 1, 1)


@dataclass(slots=True)
class Blob:
    """Figures of one range: interval rows keyed by interval start (seconds since the epoch),
    and totals that add up across ranges."""

    intervals: dict[int, dict[str, float]] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)
    pdd: dict[str, int] = field(default_factory=dict)
    mos: dict[str, int] = field(default_factory=dict)
    loss: dict[str, int] = field(default_factory=dict)
    failing: dict[str, list[Any]] = field(default_factory=dict)
    uas: dict[str, int] = field(default_factory=dict)
    peaks: dict[int, list[int]] = field(default_factory=dict)
    """Interval start -> [peak concurrent calls, calls up at its last event]."""

    def pack(self) -> bytes:
        """zlib-compressed JSON (a stored hour is read many times: a tenth of the bytes)."""
        text = json.dumps({k: getattr(self, k) for k in self.__slots__}, separators=(",", ":"))
        return zlib.compress(text.encode(), 6)

    @classmethod
    def unpack(cls, data: bytes) -> "Blob":
        d = json.loads(zlib.decompress(data))
        b = cls(**{k: d.get(k, {}) for k in cls.__slots__})
        b.intervals = {int(k): v for k, v in b.intervals.items()}
        b.peaks = {int(k): v for k, v in b.peaks.items()}
        return b

    def add(self, other: "Blob", step: int) -> None:
        """Merge ``other`` in, its intervals re-bucketed to ``step`` seconds."""
        for start, row in other.intervals.items():
            key = start // step * step
            mine = self.intervals.setdefault(key, {})
            for k, n in row.items():
                mine[k] = mine.get(k, 0) + n
        for name in ("codes", "pdd", "mos", "loss", "uas"):
            mine_d: dict[str, int] = getattr(self, name)
            for k, n in getattr(other, name).items():
                mine_d[k] = mine_d.get(k, 0) + n
        for called, (nf, n, codes) in other.failing.items():
            entry = self.failing.setdefault(called, [0, 0, {}])
            entry[0] += nf
            entry[1] += n
            for c, k in codes.items():
                entry[2][c] = entry[2].get(c, 0) + k
        for start, (peak, last) in sorted(other.peaks.items()):
            key = start // step * step
            cur = self.peaks.get(key)
            if cur is None:
                self.peaks[key] = [peak, last]
            else:
                self.peaks[key] = [max(cur[0], peak), last]


def _seconds(t: dt.datetime) -> int:
    return int((t - _EPOCH).total_seconds())


async def compute(conn: CONNECTION, f: q.StatsFilter, step: int) -> Blob:
    """The figures of ``f``'s range from the calls themselves (intervals of ``step`` s)."""
    rows, codes = await q.per_interval(conn, f, step)
    pdd = await q.pdd_histogram(conn, f)
    mos, loss = await q.quality_histograms(conn, f)
    failing = await q.failing_numbers(conn, f)
    uas = await q.top_user_agents(conn, f)
    conc = await q.concurrency(conn, f, step)
    b = Blob()
    for r in rows:
        b.intervals[_seconds(r.start)] = {
            "calls": r.calls, "answered": r.answered, "failed": r.failed,
            "cancelled": r.cancelled, "reached": r.reached, "talk_s": r.talk_s,
            "pdd_sum_ms": r.pdd_sum_ms, "pdd_count": r.pdd_count,
        }  # fmt: skip
    b.codes = {str(c): n for c, n in codes}
    b.pdd = {str(k): n for k, n in pdd.items()}
    b.mos = {str(k): n for k, n in mos.items()}
    b.loss = {str(k): n for k, n in loss.items()}
    b.failing = failing
    b.uas = dict(uas)
    b.peaks = {_seconds(t): [p, last] for t, (p, last) in conc.per_interval.items()}
    return b


def hour_of(t: dt.datetime) -> dt.datetime:
    return t.replace(minute=0, second=0, microsecond=0)


@translated("cannot read the hourly statistics")
async def load_hours(
    conn: CONNECTION, start: dt.datetime, end: dt.datetime
) -> dict[dt.datetime, Blob]:
    """Stored blobs of the hours in ``[start, end)``."""
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT hour, data FROM cdr_stats_hour WHERE hour >= %s AND hour < %s", (start, end)
        )
        return {h: Blob.unpack(d) for h, d in await cur.fetchall()}


@translated("cannot store the hourly statistics")
async def store_hour(conn: CONNECTION, hour: dt.datetime, blob: Blob) -> None:
    """The hour's blob, its failing destinations apart (``cdr_stats_failing``)."""
    await store_failing(conn, hour, blob.failing)
    bare = dataclasses.replace(blob, failing={})
    async with conn.cursor() as cur:
        await cur.execute(
            "INSERT INTO cdr_stats_hour (hour, computed_at, data) VALUES (%s, UTC_TIMESTAMP(6), %s) "
            "ON DUPLICATE KEY UPDATE computed_at = VALUES(computed_at), data = VALUES(data)",
            (hour, bare.pack()),
        )


@translated("cannot read the statistics watermark")
async def watermark(conn: CONNECTION) -> dt.datetime | None:
    async with conn.cursor() as cur:
        await cur.execute("SELECT ts FROM api_state WHERE name = %s", (WATERMARK,))
        row = await cur.fetchone()
    return None if row is None else row[0]


@translated("cannot store the statistics watermark")
async def set_watermark(conn: CONNECTION, ts: dt.datetime) -> None:
    async with conn.cursor() as cur:
        await cur.execute(
            "INSERT INTO api_state (name, ts) VALUES (%s, %s) "
            "ON DUPLICATE KEY UPDATE ts = GREATEST(COALESCE(ts, VALUES(ts)), VALUES(ts))",
            (WATERMARK, ts),
        )


@translated("cannot find the hours to summarise")
async def hours_stored_since(
    conn: CONNECTION, since: dt.datetime | None, limit: int = 100_000
) -> tuple[list[dt.datetime], dt.datetime | None]:
    """Hours (of ``invite_ts``) of the calls stored at or after ``since`` (every hour when
    None), oldest first, and the newest ``stored_at`` among them."""
    where, params = ("WHERE stored_at >= %s", [since]) if since is not None else ("", [])
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT DATE_FORMAT(invite_ts, '%%Y-%%m-%%d %%H:00:00') AS h, MAX(stored_at) "
            f"FROM cdr {where} GROUP BY h ORDER BY h LIMIT %s",
            (*params, limit),
        )
        rows = await cur.fetchall()
    hours = [dt.datetime.fromisoformat(str(h)) for h, _ in rows]
    newest = max((m for _, m in rows if m is not None), default=None)
    return hours, newest


COMMIT_MARGIN = dt.timedelta(seconds=60)
"""``stored_at`` is set at insert, the row is visible at commit: rows stored this long before
the watermark are looked at again (a writer's transaction commits within seconds)."""


def dirty_since(mark: dt.datetime) -> dt.datetime:
    return mark - COMMIT_MARGIN


_LOCK = "CONCAT('callsift-stats:', MD5(DATABASE()))"
"""The refresh's lock: named after the database (lock names are the server's), 47 characters."""


@translated("cannot take the statistics refresh lock")
async def try_lock_refresh(conn: CONNECTION) -> bool:
    """Take the database's refresh lock on this connection, without waiting: False when another
    process (another API replica) holds it and is refreshing. Released by
    :func:`unlock_refresh` or when the connection closes."""
    async with conn.cursor() as cur:
        await cur.execute(f"SELECT GET_LOCK({_LOCK}, 0)")
        row = await cur.fetchone()
    return bool(row and row[0] == 1)


@translated("cannot release the statistics refresh lock")
async def unlock_refresh(conn: CONNECTION) -> None:
    async with conn.cursor() as cur:
        await cur.execute(f"SELECT RELEASE_LOCK({_LOCK})")
        await cur.fetchone()


async def refresh(conn: CONNECTION) -> int:
    """Recompute the hours of the calls stored since the watermark (every hour the first
    time), oldest first, then move the watermark. Returns the hours recomputed. Processes
    sharing a database take turns through :func:`try_lock_refresh`."""
    mark = await watermark(conn)
    async with conn.cursor() as cur:
        await cur.execute("SELECT UTC_TIMESTAMP(6)")
        row = await cur.fetchone()
    now: dt.datetime = row[0]
    hours, _newest = await hours_stored_since(conn, None if mark is None else dirty_since(mark))
    for h in hours:
        await store_hour(conn, h, await compute(conn, q.StatsFilter(h, h + HOUR), 3600))
    await set_watermark(conn, now)
    return len(hours)
