"""The failing destinations of whole hours (``cdr_stats_failing``, migration 8), kept beside
the hourly blobs (db/queries/statsummary.py): per hour, each called number with a failed call,
its calls per final code. Kept as rows rather than inside the blobs, the top of a month is
one grouped read instead of merging tens of thousands of numbers in Python per request.

:func:`top_failing` merges the stored hours with the figures of a range's live parts exactly:
a number absent from the live parts ranks as it does in the stored hours, so the top of the
whole range lies among the stored top and the live numbers."""

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

from db.connect import CONNECTION
from db.driver import translated

CANDIDATES = 5
"""The stored numbers ranked in one read: this many times the top asked for."""
Failing = dict[str, list[Any]]
"""``called -> [failed, calls, {code: failed}]`` (as ``callstats.failing_numbers``)."""


def called_key(called: str) -> int:
    """The number's grouping key: 64 bits (signed) of the SHA-256 of its case-folded text."""
    digest = hashlib.sha256(called.casefold().encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@translated("cannot store the failing destinations of an hour")
async def store_failing(conn: CONNECTION, hour: dt.datetime, failing: Failing) -> None:
    """Replace the hour's rows with ``failing`` (its numbers' calls per code)."""
    rows = [
        (hour, called_key(called), code, called, nf, n)
        for called, entry in failing.items()
        for code, (nf, n) in _per_code(entry).items()
    ]
    async with conn.cursor() as cur:
        await cur.execute("DELETE FROM cdr_stats_failing WHERE hour = %s", (hour,))
        if rows:
            await cur.executemany(
                "INSERT INTO cdr_stats_failing (hour, called_key, final_code, called, failed, "
                "calls) VALUES (%s, %s, %s, %s, %s, %s)",
                rows,
            )


def _per_code(entry: list[Any]) -> dict[int, tuple[int, int]]:
    """``[failed, calls, {code: failed}]`` -> ``code -> (failed, calls)``; the calls that did
    not fail are kept under code 0 (what the grouped read needs is the sums)."""
    failed, calls, codes = int(entry[0]), int(entry[1]), entry[2]
    out = {int(c) if c != "None" else -1: (int(k), int(k)) for c, k in codes.items()}
    rest_failed = failed - sum(k for k, _ in out.values())
    rest = calls - sum(n for _, n in out.values())
    if rest or rest_failed:
        out[0] = (rest_failed, rest)
    return out


def _hours(
    first: dt.datetime, last: dt.datetime, skip: Sequence[dt.datetime]
) -> tuple[str, list[Any]]:
    sql = "hour >= %s AND hour < %s"
    params: list[Any] = [first, last]
    if skip:
        sql += f" AND hour NOT IN ({', '.join(['%s'] * len(skip))})"
        params += list(skip)
    return sql, params


@translated("cannot read the failing destinations")
async def top_failing(
    conn: CONNECTION,
    first: dt.datetime,
    last: dt.datetime,
    skip: Sequence[dt.datetime],
    live: Failing,
    top: int,
) -> Failing:
    """The numbers that may rank in the ``top`` by failed calls over the stored hours in
    ``[first, last)`` but ``skip``, plus the ``live`` parts, with their exact figures: every
    stored number with at least as many failures as the stored ``top``-th (ties included,
    whatever the order of names) and every live number. The caller ranks and cuts."""
    where, params = _hours(first, last, skip)
    live_keys = {called_key(c): c for c in live}
    async with conn.cursor() as cur:
        # One grouping of the stored rows: the numbers by failed calls, a few times the top
        # (those tied with the top-th included unless the ties go on past them).
        await cur.execute(
            f"SELECT called_key, SUM(failed) AS f FROM cdr_stats_failing WHERE {where} "
            "GROUP BY called_key ORDER BY f DESC LIMIT %s",
            (*params, top * CANDIDATES),
        )
        ranked = [(int(k), int(f)) for k, f in await cur.fetchall()]
        least = max(1, ranked[top - 1][1]) if len(ranked) >= top else 1
        keys = [k for k, f in ranked if f >= least]
        if len(ranked) == top * CANDIDATES and ranked[-1][1] >= least:  # ties past the list
            pick = (
                f"called_key IN (SELECT called_key FROM cdr_stats_failing WHERE {where} "
                "GROUP BY called_key HAVING SUM(failed) >= %s)"
            )
            pick_params: list[Any] = [*params, least]
        else:
            pick = f"called_key IN ({', '.join(['%s'] * len(keys))})" if keys else "FALSE"
            pick_params = list(keys)
        if live_keys:
            pick = f"({pick} OR called_key IN ({', '.join(['%s'] * len(live_keys))}))"
            pick_params += list(live_keys)
        await cur.execute(
            "SELECT called_key, MIN(called), final_code, SUM(failed), SUM(calls) "
            f"FROM cdr_stats_failing WHERE {where} AND {pick} GROUP BY called_key, final_code",
            (*params, *pick_params),
        )
        rows = await cur.fetchall()
    out: Failing = {}
    names: dict[int, str] = {}
    for key, called, code, nf, n in rows:
        name = names.setdefault(int(key), live_keys.get(int(key), str(called)))
        entry = out.setdefault(name, [0, 0, {}])
        entry[0] += int(nf)
        entry[1] += int(n)
        if int(nf) and int(code) != 0:
            code_key = "None" if int(code) == -1 else str(int(code))
            entry[2][code_key] = entry[2].get(code_key, 0) + int(nf)
    for called, (nf, n, codes) in live.items():
        entry = out.setdefault(called, [0, 0, {}])
        entry[0] += nf
        entry[1] += n
        for c, k in codes.items():
            entry[2][c] = entry[2].get(c, 0) + k
    return {k: e for k, e in out.items() if e[0] > 0}
