"""The SVG charts: structure (series, bars, axes, legend), accessibility, empty state, links,
escaping, determinism, tick arithmetic."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from gui.charts import Bar, Bin, Html, Series, bar_chart, hbar_list, histogram, line_chart
from gui.charts.axes import fmt_clock, fmt_duration, fmt_value, nice_step, time_ticks, value_ticks
from gui.charts.svg import clean, esc, num

S = "{http://www.w3.org/2000/svg}"


def _root(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [e for e in root.iter() if cls in (e.get("class") or "").split()]


def _texts(e: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in e.iter(f"{S}text")]


def _accessible(root: ET.Element, title: str) -> None:
    assert root.get("role") == "img"
    assert (root.get("aria-label") or "").startswith(title)
    assert root.find(f"{S}title") is not None and root.find(f"{S}title").text == title  # type: ignore[union-attr]
    assert root.find(f"{S}desc") is not None


def test_line_chart_draws_each_series_with_axes_and_legend() -> None:
    a = Series("caller", tuple((float(t), 2.0 + t % 3) for t in range(30)))
    b = Series("callee", tuple((float(t), None if t == 10 else 5.0) for t in range(30)))
    svg = line_chart("Jitter per second", [a, b], y_title="jitter", unit=" ms", x_title="time")
    assert isinstance(svg, Html)
    root = _root(svg)
    _accessible(root, "Jitter per second")
    assert "caller: max 4 ms, mean 3 ms" in (root.get("aria-label") or "")
    series = _groups(root, "series")
    assert [s.get("data-name") for s in series] == ["caller", "callee"]
    paths = [s.find(f"{S}path") for s in series]
    assert paths[0] is not None and paths[0].get("d", "").count("M") == 1
    assert paths[1] is not None and paths[1].get("d", "").count("M") == 2  # the gap breaks it
    assert _texts(_groups(root, "legend")[0]) == ["caller", "callee"]
    assert _texts(_groups(root, "x")[0]) == ["0:00", "0:05", "0:10", "0:15", "0:20", "0:25"]
    assert _texts(_groups(root, "y")[0]) == ["0", "1", "2", "3", "4", "5", "jitter (ms)"]


def test_line_chart_clock_axis_and_a_lone_point() -> None:
    t0 = 1_764_800_000.0  # 2025-12-03T22:13:20Z
    svg = line_chart(
        "x", [Series("a", ((t0, 1.0), (t0 + 60, None), (t0 + 120, 3.0)))], x_format="clock"
    )
    root = _root(svg)
    assert _texts(_groups(root, "x")[0]) == [
        "22:13:20",
        "22:13:40",
        "22:14:00",
        "22:14:20",
        "22:14:40",
        "22:15:00",
        "22:15:20",
    ]
    dots = list(_groups(root, "series")[0].iter(f"{S}circle"))
    assert len(dots) == 2


def test_bar_chart_highlights_and_thins_labels() -> None:
    labels = [f"{h:02d}:00" for h in range(24)]
    svg = bar_chart(
        "Calls per hour", labels, [float(h) for h in range(24)], highlight={3}, width=300
    )
    root = _root(svg)
    _accessible(root, "Calls per hour")
    bars = _groups(root, "bar")
    assert len(bars) == 24
    assert [b.get("class") for b in bars].count("bar hl") == 1
    assert bars[5].find(f"{S}title").text == "05:00: 5"  # type: ignore[union-attr]
    shown = _texts(_groups(root, "x")[0])
    assert 1 < len(shown) < 24 and shown[0] == "00:00"
    with pytest.raises(ValueError, match="2 labels for 1 values"):
        bar_chart("t", ["a", "b"], [1.0])


def test_histogram_puts_edges_on_the_axis() -> None:
    bins = [Bin(1.0, 2.0, 3), Bin(2.0, 3.0, 0), Bin(3.0, 4.0, 10), Bin(4.0, None, 7)]
    root = _root(histogram("MOS", bins, highlight={0}))
    assert _texts(_groups(root, "x")[0]) == ["1", "2", "3", "4", "+"]
    assert [b.find(f"{S}title").text for b in _groups(root, "bar")] == [  # type: ignore[union-attr]
        "1–2: 3",
        "2–3: 0",
        "3–4: 10",
        "≥ 4: 7",
    ]


def test_hbar_list_with_links() -> None:
    bars = [
        Bar("+4930123", 12, "of 40 calls", "/calls?called=%2B4930123&outcome=failed"),
        Bar("100", 3),
    ]
    root = _root(hbar_list("Top failing destinations", bars))
    items = _groups(root, "bar")
    assert len(items) == 2
    link = items[0].find(f"{S}a")
    assert link is not None and link.get("href") == "/calls?called=%2B4930123&outcome=failed"
    assert _texts(items[0]) == ["+4930123", "12 of 40 calls"]
    for bad in (
        "javascript:alert(1)",
        " javascript:x",
        "java\tscript:x",
        "data:text/html,x",
        "//evil",
    ):
        with pytest.raises(ValueError, match="not a link a chart may hold"):
            hbar_list("t", [Bar("x", 1, href=bad)])


@pytest.mark.parametrize(
    "svg",
    [
        line_chart("Jitter", []),
        line_chart("Jitter", [Series("a", ((0.0, None),))]),
        bar_chart("Calls", [], []),
        bar_chart("Calls", ["a"], [0.0]),
        histogram("MOS", []),
        hbar_list("Top", []),
    ],
)
def test_empty_data_shows_a_message(svg: str) -> None:
    root = _root(svg)
    assert root.get("role") == "img"
    assert _groups(root, "empty") and not _groups(root, "series") and not _groups(root, "bar")


def test_hostile_text_is_escaped() -> None:
    evil = "<script>alert(1)</script>\x00&"
    for svg in (
        line_chart(evil, [Series(evil, ((0.0, 1.0), (1.0, 2.0)))], y_title=evil),
        bar_chart(evil, [evil], [1.0]),
        hbar_list(evil, [Bar(evil, 1.0, evil)]),
    ):
        assert "<script" not in svg and "\x00" not in svg
        assert "<script>alert(1)</script>" in "".join(_root(svg).itertext())


def test_output_is_deterministic() -> None:
    def draw() -> str:
        return line_chart("j", [Series("a", tuple((float(t), math.sin(t)) for t in range(100)))])

    assert draw() == draw()


def test_ticks() -> None:
    assert nice_step(10) == 2.0 and nice_step(1) == 0.2 and nice_step(0) == 1.0
    assert value_ticks(0, 12.3) == [0, 2.5, 5.0, 7.5, 10.0, 12.5]
    assert value_ticks(0, 3, integer=True) == [0, 1, 2, 3]
    assert value_ticks(0, 0) == [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
    assert [fmt_value(v, 0.2) for v in value_ticks(0, 0)] == [
        "0",
        "0.2",
        "0.4",
        "0.6",
        "0.8",
        "1.0",
    ]
    assert time_ticks(0, 3600) == [0, 600, 1200, 1800, 2400, 3000, 3600]
    assert (
        fmt_duration(75) == "1:15"
        and fmt_duration(3725) == "1:02:05"
        and fmt_duration(-5) == "-0:05"
    )
    assert fmt_clock(1_764_800_000, 30, 300) == "22:13:20"
    assert fmt_clock(1_764_800_000, 3600, 3 * 86400) == "12-03 22:13"


def test_svg_helpers() -> None:
    assert clean("a\x00b\ud800c\U0001f600") == "a\ufffdb\ufffdc\U0001f600"
    assert esc("<\"&'>") == "&lt;&quot;&amp;&#x27;&gt;"
    assert (
        num(1.0) == "1" and num(-0.001) == "0" and num(float("nan")) == "0" and num(2.345) == "2.35"
    )
