"""A line chart of several series over a time (or number) axis: per-second jitter and loss of a
call's RTP streams. A missing value (None) breaks its line; a lone point shows as a dot."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Unpack

from gui.charts.axes import (
    COLOURS,
    INK,
    Box,
    Frame,
    XFormat,
    empty_chart,
    frame,
    frame_open,
    legend,
    scale,
    value_ticks,
    x_label,
    x_ticks,
    y_axis,
)
from gui.charts.svg import Html, el, esc, num

MARKERS_UP_TO = 60
"""A series with at most this many points also shows a dot per point."""


@dataclass(frozen=True, slots=True)
class Series:
    """One line: a name and (x, y) points, y None where nothing was measured."""

    name: str
    points: tuple[tuple[float, float | None], ...]
    colour: str | None = None


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def _describe(series: Sequence[Series], unit: str) -> str:
    parts = []
    for s in series:
        ys = [y for _, y in s.points if y is not None and math.isfinite(y)]
        if ys:
            parts.append(f"{s.name}: max {max(ys):.4g}{unit}, mean {sum(ys) / len(ys):.4g}{unit}")
        else:
            parts.append(f"{s.name}: no value")
    return "; ".join(parts)


def line_chart(
    title: str,
    series: Sequence[Series],
    *,
    x_format: XFormat = "duration",
    unit: str = "",
    **opts: Unpack[Frame],
) -> Html:
    """Lines over a shared x axis. ``x_format``: ``duration`` (seconds from a start, shown
    ``m:ss``), ``clock`` (epoch seconds, shown as UTC time) or ``number``; the y axis starts
    at 0 unless a value is negative."""
    x_title, y_title, width, height, empty = frame(opts)
    points = [(x, y) for s in series for x, y in s.points if math.isfinite(x) and _finite(y)]
    if not points:
        return Html(empty_chart("line", title, width, height, empty))
    xs = [x for x, _ in points]
    ys = [y for _, y in points if y is not None]
    x_lo, x_hi = min(xs), max(xs)
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    ticks = value_ticks(min(0.0, min(ys)), max(ys))
    y_lo, y_hi = ticks[0], ticks[-1]
    if y_hi == y_lo:
        y_hi = y_lo + 1
    box = Box(52.0, 46.0, width - 52 - 14, height - 46 - (42 if x_title else 28))
    parts = frame_open("line", title, width, height, _describe(series, unit))
    colours = [s.colour or COLOURS[k % len(COLOURS)] for k, s in enumerate(series)]
    parts += legend([(s.name, c) for s, c in zip(series, colours, strict=True)], box.x, 36.0, box.w)
    parts += y_axis(
        box, ticks, y_lo, y_hi, y_title + (f" ({unit.strip()})" if unit.strip() else "")
    )

    px = scale(x_lo, x_hi, box.x, box.w)
    py = scale(y_lo, y_hi, box.bottom, -box.h)
    parts.append('<g class="axis x">')
    for value, label in x_ticks(x_lo, x_hi, x_format):
        x = px(value)
        parts.append(el("line", x1=x, y1=box.bottom, x2=x, y2=box.bottom + 4, stroke=INK))
        parts.append(el("text", label, x=x, y=box.bottom + 16, text_anchor="middle", fill=INK))
    parts.append(el("line", x1=box.x, y1=box.bottom, x2=box.right, y2=box.bottom, stroke=INK))
    parts.append("</g>")
    parts.append(x_label(box, height, x_title))
    for k, s in enumerate(series):
        parts.append(_series(s, k, colours[k], px, py))
    parts.append("</svg>")
    return Html("".join(parts))


def _series(
    s: Series, k: int, colour: str, px: Callable[[float], float], py: Callable[[float], float]
) -> str:
    path: list[str] = []
    dots: list[str] = []
    pts = [(x, y) for x, y in s.points if math.isfinite(x)]
    for i, (x, y) in enumerate(pts):
        if y is None or not math.isfinite(y):
            continue
        joined = i > 0 and _finite(pts[i - 1][1])
        path.append(f"{'L' if joined else 'M'}{num(px(x))} {num(py(y))}")
        alone = not joined and not (i + 1 < len(pts) and _finite(pts[i + 1][1]))
        if len(pts) <= MARKERS_UP_TO or alone:
            dots.append(el("circle", cx=px(x), cy=py(y), r=2.5, fill=colour))
    out = [f'<g class="series s{k}" data-name="{esc(s.name)}">', el("title", s.name)]
    if path:
        out.append(
            el(
                "path",
                d="".join(path),
                fill="none",
                stroke=colour,
                stroke_width="1.6",
                stroke_linejoin="round",
            )
        )
    out += dots
    out.append("</g>")
    return "".join(out)
