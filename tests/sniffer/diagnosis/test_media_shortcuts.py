"""The media rules' shortcuts for the usual call (one span per direction) give exactly what the
general interval computation gives: the reference versions below are the rules as first
written (docs/DIAGNOSIS.md's definitions), checked against the rules on random spans."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from hypothesis import example, given, settings
from hypothesis import strategies as st

from db.settings import DiagnosisSettings
from sniffer.calls.media import CALLEE, CALLER, other_side
from sniffer.diagnosis.facts import (
    DIRECTIONS,
    Facts,
    Interval,
    arrow,
    clip,
    holes,
    merge,
    overlap,
)
from sniffer.diagnosis.media_rules import late_media, media_timeout, one_way_audio


def ref_one_way_audio(f: Facts) -> Iterator[str]:
    start, end = f.talk_window
    gap = f.cfg.one_way_gap_s
    for side in DIRECTIONS:
        other = other_side(side)
        theirs = clip(f.flows[other], start, end)
        if not theirs:
            continue
        mine = clip(f.flows[side], start, end)
        if not mine:
            if end - start > gap:
                yield f"{arrow(side)}: 0 RTP packets in {end - start:.1f} s after answer"
            continue
        quiet = overlap(merge(holes(mine, start, end)), theirs)
        worst = max(quiet, key=lambda iv: iv[1] - iv[0], default=None)
        if worst is not None and worst[1] - worst[0] > gap:
            yield (
                f"{arrow(side)}: no RTP for {worst[1] - worst[0]:.1f} s from "
                f"+{worst[0] - start:.1f} s after answer while {arrow(other)} flowed"
            )


def ref_late_media(f: Facts) -> Iterator[str]:
    start, _end = f.talk_window
    for side in DIRECTIONS:
        spans = f.flows[side]
        if not spans or any(a <= start <= b for a, b in spans):
            continue
        after = [a for a, _b in spans if a >= start]
        if after and (after[0] - start) * 1000.0 > f.cfg.late_media_ms:
            yield f"{arrow(side)}: first RTP {after[0] - start:.2f} s after answer"


def ref_media_timeout(f: Facts) -> Iterator[str]:
    start, end = f.talk_window
    both = clip(merge(f.flows[DIRECTIONS[0]] + f.flows[DIRECTIONS[1]]), start, end)
    if not both:
        return
    for a, b in holes(both, both[0][0], end):
        if b - a > f.cfg.media_timeout_s:
            yield f"no RTP either way for {b - a:.1f} s from +{a - start:.1f} s after answer"
            return


# times on a 0.25 s grid (edges that touch, equal ends and single-packet spans come up often)
times = st.integers(min_value=0, max_value=24).map(lambda n: n / 4.0)


@st.composite
def spans(draw: st.DrawFn) -> list[Interval]:
    points = sorted(draw(st.lists(times, min_size=0, max_size=6)))
    if len(points) % 2:
        points.append(points[-1])  # a single-packet span
    return merge([(points[i], points[i + 1]) for i in range(0, len(points), 2)])


def one_span(draw_a: float, width: float) -> list[Interval]:
    return [(draw_a, draw_a + width)]


any_spans = st.one_of(
    spans(),
    st.builds(one_span, times, st.sampled_from([0.0, 0.25, 1.0, 4.0])),  # the usual call
)


@settings(max_examples=1000, deadline=None)
@given(
    caller=any_spans,
    callee=any_spans,
    start=times,
    length=times,
    gap=st.sampled_from([0.5, 1.0, 5.0]),
    late_ms=st.sampled_from([250.0, 1000.0]),
)
# a single-packet span in the middle of a short window: its two edge holes touch, and merged
# they exceed the gap although each is within it
@example([(0.5, 0.5)], [(0.0, 1.0)], 0.0, 1.0, 0.5, 250.0)
@example([(0.0, 1.0)], [(0.5, 0.5)], 0.0, 1.0, 0.5, 250.0)
def test_shortcuts_match_the_general_computation(
    caller: list[Interval],
    callee: list[Interval],
    start: float,
    length: float,
    gap: float,
    late_ms: float,
) -> None:
    cfg = DiagnosisSettings(one_way_gap_s=gap, media_timeout_s=gap, late_media_ms=late_ms)
    f = Facts(
        cast(Any, None), cast(Any, None), cfg,
        flows={CALLER: caller, CALLEE: callee},
        answered=True, talk_window=(start, start + length),
    )  # fmt: skip
    assert list(one_way_audio(f)) == list(ref_one_way_audio(f))
    assert list(late_media(f)) == list(ref_late_media(f))
    assert list(media_timeout(f)) == list(ref_media_timeout(f))
