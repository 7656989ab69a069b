"""The top failing destinations over stored hours (cdr_stats_failing) against a ranking
computed by hand from the same hours, with ties at the cut and past the ranked candidates."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from db.connect import CONNECTION
from db.queries.statfailing import CANDIDATES, Failing, store_failing, top_failing

H0 = dt.datetime(2001, 2, 3)
"""Hours of their own in the session's shared database."""


def brute(hours: list[Failing], top: int, live: Failing) -> Failing:
    """Every stored number with at least as many failures as the stored top-th (and at least
    one), plus the live numbers, with their summed figures."""
    total: Failing = {}
    for part in hours:
        for called, (nf, n, codes) in part.items():
            e = total.setdefault(called, [0, 0, {}])
            e[0], e[1] = e[0] + nf, e[1] + n
            for c, k in codes.items():
                e[2][c] = e[2].get(c, 0) + k
    ranked = sorted((e[0] for e in total.values()), reverse=True)
    least = max(1, ranked[top - 1]) if len(ranked) >= top else 1
    out = {k: [e[0], e[1], dict(e[2])] for k, e in total.items() if e[0] >= least}
    for called, (nf, n, codes) in live.items():
        if called not in out:  # a live number below the cut: its stored figures count too
            t = total.get(called, [0, 0, {}])
            out[called] = [t[0], t[1], dict(t[2])]
        e = out[called]
        e[0], e[1] = e[0] + nf, e[1] + n
        for c, k in codes.items():
            e[2][c] = e[2].get(c, 0) + k
    return {k: e for k, e in out.items() if e[0] > 0}


def hours_of(seed: int, numbers: int, failures: int) -> list[Failing]:
    rnd = random.Random(seed)
    hours: list[Failing] = []
    for _ in range(4):
        part: Failing = {}
        for _ in range(failures):
            called = f"+49{rnd.randrange(numbers):05d}"
            code = rnd.choice(["486", "404", "503"])
            e = part.setdefault(called, [0, 0, {}])
            e[0] += 1
            e[1] += 1 + rnd.randrange(2)
            e[2][code] = e[2].get(code, 0) + 1
        hours.append(part)
    return hours


@pytest.mark.parametrize(
    ("seed", "numbers", "failures", "top"),
    [
        (1, 30, 200, 10),  # a clear top
        (2, 5000, 60, 10),  # nearly all tied at one failure: past the candidates
        (3, 8, 40, 10),  # fewer numbers than the top
        (4, 400, 300, 3),
    ],
)
async def test_top_failing_is_the_ranking_by_hand(
    conn: CONNECTION, seed: int, numbers: int, failures: int, top: int
) -> None:
    first = H0 + dt.timedelta(days=seed)
    hours = hours_of(seed, numbers, failures)
    for i, part in enumerate(hours):
        await store_failing(conn, first + dt.timedelta(hours=i), part)
    await conn.commit()
    last = first + dt.timedelta(hours=len(hours))
    live: dict[str, Any] = {"+4900001": [2, 3, {"486": 2}], "+49live": [1, 1, {"404": 1}]}
    for lv in ({}, live):
        assert await top_failing(conn, first, last, [], lv, top) == brute(hours, top, lv)
    skipped = first + dt.timedelta(hours=1)
    got = await top_failing(conn, first, last, [skipped], {}, top)
    assert got == brute([h for i, h in enumerate(hours) if i != 1], top, {})
    if seed == 2:
        assert len(brute(hours, top, {})) > top * CANDIDATES
