"""Bar charts: vertical bars per category (calls per hour), a histogram of contiguous bins (MOS
distribution) and a horizontal bar list (top failing destinations). Each bar carries its value
in a ``<title>``; highlighted bars (failures, bad MOS) are drawn in the alarm colour."""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Unpack

from gui.charts.axes import (
    BAD,
    COLOURS,
    INK,
    MUTED,
    Box,
    Frame,
    empty_chart,
    fmt_value,
    frame,
    frame_open,
    value_ticks,
    x_label,
    y_axis,
)
from gui.charts.svg import Html, attrs, clip, el

CHAR_W = 6.0
_WEB = re.compile(r"https?://", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Bin:
    """A histogram bin [low, high); ``high`` None: open-ended."""

    low: float
    high: float | None
    count: float


@dataclass(frozen=True, slots=True)
class Bar:
    """One row of a horizontal bar list: its label, value, a note after the value (``of 120
    calls, mostly 486``) and an optional link."""

    label: str
    value: float
    note: str = ""
    href: str | None = None


def _clean(values: Sequence[float]) -> list[float]:
    return [v if math.isfinite(v) and v > 0 else 0.0 for v in values]


def _columns(
    kind: str,
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    highlight: Collection[int],
    gap: float,
    edges: Sequence[str] | None,
    opts: Frame,
) -> Html:
    x_title, y_title, width, height, empty = frame(opts)
    vals = _clean(values)
    if not vals or not any(vals):
        return Html(empty_chart(kind, title, width, height, empty))
    integer = all(float(v).is_integer() for v in vals)
    ticks = value_ticks(0.0, max(vals), 5, integer=integer)
    box = Box(52.0, 34.0, width - 52 - 14, height - 34 - (44 if x_title else 30))
    top = ticks[-1]
    step = box.w / len(vals)
    desc = ", ".join(
        f"{label}: {fmt_value(v, 1 if integer else 0.01)}"
        for label, v in zip(labels, vals, strict=True)
    )
    parts = frame_open(kind, title, width, height, clip(desc, 600))
    parts += y_axis(box, ticks, 0.0, top, y_title)
    parts.append('<g class="bars">')
    for i, (label, v) in enumerate(zip(labels, vals, strict=True)):
        h = v / top * box.h
        colour = BAD if i in highlight else COLOURS[0]
        shown = fmt_value(v, 1 if integer else 0.01)
        parts.append(
            f'<g class="bar{" hl" if i in highlight else ""}">'
            + el("title", f"{label}: {shown}")
            + el(
                "rect",
                x=box.x + i * step + gap / 2,
                y=box.bottom - h,
                width=max(step - gap, 1.0),
                height=h,
                fill=colour,
            )
            + "</g>"
        )
    parts.append("</g>")
    parts.append('<g class="axis x">')
    parts.append(el("line", x1=box.x, y1=box.bottom, x2=box.right, y2=box.bottom, stroke=INK))
    if edges is None:
        every = max(
            1, math.ceil(len(vals) * max((len(s) for s in labels), default=1) * CHAR_W / box.w)
        )
        for i, label in enumerate(labels):
            if i % every == 0:
                parts.append(
                    el(
                        "text",
                        label,
                        x=box.x + (i + 0.5) * step,
                        y=box.bottom + 15,
                        text_anchor="middle",
                        fill=INK,
                    )
                )
    else:
        every = max(
            1, math.ceil(len(edges) * max((len(s) for s in edges), default=1) * CHAR_W / box.w)
        )
        for i, label in enumerate(edges):
            if i % every == 0 or i == len(edges) - 1:
                x = box.x + i * step
                parts.append(el("line", x1=x, y1=box.bottom, x2=x, y2=box.bottom + 4, stroke=INK))
                parts.append(
                    el("text", label, x=x, y=box.bottom + 15, text_anchor="middle", fill=INK)
                )
    parts.append("</g>")
    parts.append(x_label(box, height, x_title))
    parts.append("</svg>")
    return Html("".join(parts))


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    highlight: Collection[int] = (),
    **opts: Unpack[Frame],
) -> Html:
    """A bar per category (``labels[i]``: ``values[i]``); labels thinned out to fit."""
    if len(labels) != len(values):
        raise ValueError(f"bar chart {title!r}: {len(labels)} labels for {len(values)} values")
    gap = max(2.0, min(8.0, 0.2 * opts.get("width", 640.0) / max(len(values), 1)))
    return _columns("bar", title, labels, values, set(highlight), gap, None, opts)


def histogram(
    title: str,
    bins: Sequence[Bin],
    *,
    highlight: Collection[int] = (),
    **opts: Unpack[Frame],
) -> Html:
    """Contiguous bins with their edges on the x axis (an open last bin ends in ``+``)."""
    step = min((b.high - b.low for b in bins if b.high is not None and b.high > b.low), default=1.0)
    edges = [fmt_value(b.low, step) for b in bins]
    if bins:
        last = bins[-1].high
        edges.append(fmt_value(last, step) if last is not None else "+")
    labels = [
        f"{fmt_value(b.low, step)}–{fmt_value(b.high, step)}"
        if b.high is not None
        else f"≥ {fmt_value(b.low, step)}"
        for b in bins
    ]
    counts = [b.count for b in bins]
    return _columns("histogram", title, labels, counts, set(highlight), 1.0, edges, opts)


def hbar_list(
    title: str,
    bars: Sequence[Bar],
    *,
    width: float = 640,
    row: float = 22,
    label_chars: int = 24,
    colour: str = BAD,
    empty: str = "No data",
) -> Html:
    """One horizontal bar per item, longest first as given; labels left, values right."""
    vals = _clean([b.value for b in bars])
    if not bars or not any(vals):
        return Html(empty_chart("hbar", title, width, max(80.0, row * 3), empty))
    height = 34 + row * len(bars) + 8
    label_w = label_chars * CHAR_W + 12
    note_w = max((len(b.note) for b in bars), default=0) * CHAR_W
    box = Box(label_w, 34.0, max(width - label_w - 60 - note_w, 60.0), row * len(bars))
    top = max(vals)
    desc = "; ".join(
        f"{b.label}: {fmt_value(v, 1)} {b.note}".rstrip() for b, v in zip(bars, vals, strict=True)
    )
    parts = frame_open("hbar", title, width, height, clip(desc, 600))
    parts.append('<g class="bars">')
    for i, (b, v) in enumerate(zip(bars, vals, strict=True)):
        y = box.y + i * row
        w = v / top * box.w
        shown = fmt_value(v, 1 if float(v).is_integer() else 0.01)
        item = [
            el("title", f"{b.label}: {shown} {b.note}".rstrip()),
            el(
                "text",
                clip(b.label, label_chars),
                x=label_w - 8,
                y=y + row / 2 + 4,
                text_anchor="end",
                fill=INK,
            ),
            el("rect", x=box.x, y=y + 3, width=max(w, 1.0), height=row - 6, fill=colour),
            el(
                "text", f"{shown} {b.note}".rstrip(), x=box.x + w + 6, y=y + row / 2 + 4, fill=MUTED
            ),
        ]
        inner = "".join(item)
        if b.href:
            inner = f"<a{_href(b.href)}>{inner}</a>"
        parts.append(f'<g class="bar">{inner}</g>')
    parts.append("</g></svg>")
    return Html("".join(parts))


def _href(url: str) -> str:
    """`` href="..."`` of a relative or http(s) link; anything else (``javascript:``) refused."""
    head = re.split(r"[/?#]", url, maxsplit=1)[0]
    bad = any(ord(ch) < 0x21 for ch in url) or (":" in head and not _WEB.match(url))
    if bad or url.startswith("//"):
        raise ValueError(f"not a link a chart may hold: {url[:40]!r}")
    return attrs({"href": url})
