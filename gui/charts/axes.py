"""Scales and ticks: round steps (1, 2, 5 × 10^n) for values, clock-like steps for durations
(``1:30``) and UTC times (``14:05``), and the frame every chart shares: the ``<svg>`` root with
its title, ``role="img"``, ``aria-label`` and description, and the empty-data state."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict

from gui.charts.svg import SVG_NS, el, esc, num

XFormat = Literal["number", "duration", "clock"]


class Frame(TypedDict, total=False):
    """The options every chart with axes takes: axis titles, size, the empty-data message."""

    x_title: str
    y_title: str
    width: float
    height: float
    empty: str


def frame(opts: Frame) -> tuple[str, str, float, float, str]:
    """``x_title, y_title, width, height, empty`` with their defaults."""
    return (
        opts.get("x_title", ""),
        opts.get("y_title", ""),
        opts.get("width", 640.0),
        opts.get("height", 220.0),
        opts.get("empty", "No data"),
    )


FONT = "system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"
INK = "#3c4043"
MUTED = "#5f6368"
GRID = "#e8eaed"
COLOURS = ("#1f6fb2", "#c2410c", "#15803d", "#7e22ce", "#a16207", "#0e7490", "#be185d", "#4d7c0f")
BAD = "#d93025"
_TIME_STEPS: tuple[int, ...] = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600)
_TIME_STEPS += (7200, 10800, 21600, 43200, 86400, 172800, 604800)
"""Tick steps of a time axis, in seconds."""


def nice_step(span: float, count: int = 5) -> float:
    """A round step (1, 2, 2.5, 5 × 10^n) giving about ``count`` intervals over ``span``."""
    if not math.isfinite(span) or span <= 1e-300:
        return 1.0  # nothing to divide (or a subnormal span log10 cannot take)
    raw = span / max(count, 1)
    power: float = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= m * power * (1 + 1e-9):
            return m * power
    return 10 * power


def value_ticks(lo: float, hi: float, count: int = 5, integer: bool = False) -> list[float]:
    """Ticks covering [lo, hi] (the first <= lo, the last >= hi) on a round step."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if hi <= lo:
        hi = lo + 1.0
    step = nice_step(hi - lo, count)
    if integer:
        step = max(1.0, float(math.ceil(step)))
    start = float(math.floor(lo / step + 1e-9)) * step
    ticks = [start]
    while (len(ticks) < 2 or ticks[-1] < hi - 1e-9 * step) and len(ticks) < 50:
        ticks.append(start + len(ticks) * step)
    return ticks


def fmt_value(v: float, step: float) -> str:
    """A tick value with as many decimals as its step needs."""
    if not (math.isfinite(v) and math.isfinite(step)) or step < 1e-6 or abs(v) >= 1e15:
        return f"{v:.4g}"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if round(step * 10.0**decimals, 6) % 1:
        decimals += 1
    text = f"{v:.{decimals}f}"
    return "0" if text.strip("-0.") == "" else text


def time_ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    """Ticks on a clock-like step (seconds, minutes, hours, days) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo if math.isfinite(lo) else 0.0]
    raw = (hi - lo) / max(count, 1)
    step = next((float(s) for s in _TIME_STEPS if s >= raw), nice_step(hi - lo, count))
    first = float(math.ceil(lo / step - 1e-9)) * step
    ticks: list[float] = []
    while first + len(ticks) * step <= hi + 1e-9 and len(ticks) < 50:
        ticks.append(first + len(ticks) * step)
    return ticks or [lo]


def fmt_duration(seconds: float) -> str:
    """``0:05``, ``12:30``, ``1:02:03`` (negative with a minus)."""
    sign = "-" if seconds < 0 else ""
    s = round(abs(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{sign}{h}:{m:02d}:{sec:02d}" if h else f"{sign}{m}:{sec:02d}"


def fmt_clock(epoch: float, step: float, span: float) -> str:
    """A UTC time for a tick: ``14:05:30``, ``14:05``, ``12-03 14:00`` or ``12-03`` (the
    number itself past the years a clock can show)."""
    try:
        t = dt.datetime.fromtimestamp(epoch, dt.UTC)
    except (ValueError, OverflowError, OSError):
        return f"{epoch:.6g}"
    if step >= 86400:
        return t.strftime("%m-%d")
    if span > 86400:
        return t.strftime("%m-%d %H:%M")
    return t.strftime("%H:%M:%S" if step < 60 else "%H:%M")


def x_ticks(lo: float, hi: float, fmt: XFormat, count: int = 6) -> list[tuple[float, str]]:
    """(value, label) of the x axis ticks."""
    if fmt == "number":
        ticks = value_ticks(lo, hi, count)
        step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
        return [(t, fmt_value(t, step)) for t in ticks if lo - 1e-9 <= t <= hi + 1e-9] or [
            (lo, fmt_value(lo, step))
        ]
    ticks = time_ticks(lo, hi, count)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    if fmt == "duration":
        return [(t, fmt_duration(t)) for t in ticks]
    return [(t, fmt_clock(t, step, hi - lo)) for t in ticks]


def scale(lo: float, hi: float, start: float, length: float) -> Callable[[float], float]:
    """The linear map of [lo, hi] onto [start, start + length] (a negative length runs up);
    an empty or overflowing range maps onto its start."""
    span = hi - lo
    if not math.isfinite(span) or span <= 0 or lo + span == lo:
        return lambda v: start
    return lambda v: start + (v - lo) / span * length


@dataclass(frozen=True, slots=True)
class Box:
    """The plot area inside a chart: left, top, width, height."""

    x: float
    y: float
    w: float
    h: float

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def right(self) -> float:
        return self.x + self.w


def frame_open(kind: str, title: str, width: float, height: float, desc: str) -> list[str]:
    """The root element of a chart with its accessible name and description, and the visible
    title."""
    label = f"{title}: {desc}" if desc else title
    attrs = (
        f' xmlns="{SVG_NS}" class="chart chart-{esc(kind)}" width="{num(width)}"'
        f' height="{num(height)}" viewBox="0 0 {num(width)} {num(height)}" role="img"'
        f' aria-label="{esc(label)}" font-family="{esc(FONT)}" font-size="11"'
    )
    return [
        f"<svg{attrs}>",
        el("title", title),
        el("desc", desc),
        el("rect", class_="bg", x=0.0, y=0.0, width=width, height=height, fill="#fff"),
        el(
            "text",
            title,
            class_="chart-title",
            x=8.0,
            y=18.0,
            font_size="13",
            font_weight="600",
            fill=INK,
        ),
    ]


def empty_chart(kind: str, title: str, width: float, height: float, message: str) -> str:
    """A chart without data: its frame, its title and ``message`` in the middle."""
    parts = frame_open(kind, title, width, height, message)
    parts.append(
        el(
            "text",
            message,
            class_="empty",
            x=width / 2,
            y=height / 2 + 4,
            text_anchor="middle",
            fill=MUTED,
        )
    )
    parts.append("</svg>")
    return "".join(parts)


def y_axis(
    box: Box, ticks: Sequence[float], scale_lo: float, scale_hi: float, label: str
) -> list[str]:
    """Grid lines, tick labels and the axis title on the left of ``box``."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    out = ['<g class="axis y">']
    to_y = scale(scale_lo, scale_hi, box.bottom, -box.h)
    for t in ticks:
        y = to_y(t)
        out.append(el("line", x1=box.x, y1=y, x2=box.right, y2=y, stroke=GRID))
        out.append(
            el("text", fmt_value(t, step), x=box.x - 5, y=y + 4, text_anchor="end", fill=MUTED)
        )
    if label:
        cy = box.y + box.h / 2
        out.append(
            el(
                "text",
                label,
                x=12.0,
                y=cy,
                text_anchor="middle",
                fill=MUTED,
                transform=f"rotate(-90 12 {num(cy)})",
            )
        )
    out.append(el("line", x1=box.x, y1=box.y, x2=box.x, y2=box.bottom, stroke=MUTED))
    out.append("</g>")
    return out


def x_label(box: Box, height: float, label: str) -> str:
    return (
        el("text", label, x=box.x + box.w / 2, y=height - 6, text_anchor="middle", fill=MUTED)
        if label
        else ""
    )


def legend(names: Sequence[tuple[str, str]], x: float, y: float, width: float) -> list[str]:
    """Swatches and names in one row (names cut to share ``width``)."""
    if not names:
        return []
    each = width / len(names)
    chars = max(int((each - 18) / 6), 3)
    out = ['<g class="legend">']
    for k, (name, colour) in enumerate(names):
        lx = x + k * each
        short = name if len(name) <= chars else name[: chars - 1] + "…"
        out.append(el("rect", x=lx, y=y - 9, width=10.0, height=10.0, fill=colour))
        out.append(el("text", short, x=lx + 14, y=y, fill=INK))
    out.append("</g>")
    return out
