"""Any title, name, label or number (NaN, infinities, huge, negative) gives a well-formed chart."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gui.charts import (
    Bar,
    Bin,
    Series,
    ShapeError,
    bar_chart,
    calls_chart,
    failing_chart,
    hbar_list,
    histogram,
    jitter_chart,
    line_chart,
    loss_chart,
    mos_chart,
    rtp_streams,
)
from tests.hypo import examples

TEXT = st.text(st.characters(categories=["L", "M", "N", "P", "S", "Z", "C"]), max_size=30)
NUM = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**12), 10**12).map(float)


def _parses(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    return root


@settings(max_examples=examples(80), deadline=None)
@given(
    TEXT,
    st.lists(st.tuples(TEXT, st.lists(st.tuples(NUM, st.none() | NUM), max_size=20)), max_size=4),
    st.sampled_from(["number", "duration", "clock"]),
)
def test_line_chart(
    title: str, series: list[tuple[str, list[tuple[float, float | None]]]], fmt: str
) -> None:
    lines = [Series(name, tuple(points)) for name, points in series]
    _parses(line_chart(title, lines, x_format=fmt, y_title=title, unit=title))  # type: ignore[arg-type]


@settings(max_examples=examples(80), deadline=None)
@given(TEXT, st.lists(st.tuples(TEXT, NUM), max_size=30), st.sets(st.integers(0, 30)))
def test_bar_chart(title: str, bars: list[tuple[str, float]], highlight: set[int]) -> None:
    root = _parses(
        bar_chart(title, [b[0] for b in bars], [b[1] for b in bars], highlight=highlight)
    )
    drawn = [
        e
        for e in root.iter()
        if (e.get("class") or "").startswith("bar ") or e.get("class") == "bar"
    ]
    assert len(drawn) in (0, len(bars))


@settings(max_examples=examples(60), deadline=None)
@given(TEXT, st.lists(st.tuples(NUM, st.none() | NUM, NUM), max_size=12))
def test_histogram(title: str, bins: list[tuple[float, float | None, float]]) -> None:
    _parses(histogram(title, [Bin(*b) for b in bins]))


@settings(max_examples=examples(60), deadline=None)
@given(TEXT, st.lists(st.tuples(TEXT, NUM, TEXT), max_size=12))
def test_hbar_list(title: str, bars: list[tuple[str, float, str]]) -> None:
    _parses(hbar_list(title, [Bar(label, v, note) for label, v, note in bars]))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
KEYS = st.sampled_from(["streams", "intervals", "mos_distribution", "top_failing", "interval_s"])


@settings(max_examples=examples(150), deadline=None)
@given(st.dictionaries(KEYS, JSON, max_size=4) | JSON)
def test_any_json_charts_or_raises_shape_error(data: Any) -> None:
    for chart in (calls_chart, mos_chart, failing_chart):
        try:
            _parses(chart(data))
        except ShapeError:
            pass
    try:
        streams = rtp_streams(data)
    except ShapeError:
        return
    _parses(jitter_chart(streams))
    _parses(loss_chart(streams))
