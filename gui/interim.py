"""Plain server-side SVG charts (a line per stream over the call's seconds; bars) until the
charts of gui/charts/ are wired in."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

CHART_W, CHART_H, PAD = 640, 150, 34
COLOURS = ("#1f6fb2", "#c2410c", "#15803d", "#7e22ce", "#a16207", "#0e7490")


def _chart(title: str, unit: str, lines: list[tuple[str, list[tuple[float, float]]]]) -> Markup:
    xs = [p[0] for _, pts in lines for p in pts] or [0.0]
    ys = [p[1] for _, pts in lines for p in pts] or [0.0]
    x0, x1 = min(xs), max(max(xs), min(xs) + 1)
    y1 = max(max(ys), 1e-9) * 1.1
    w, h = CHART_W - 2 * PAD, CHART_H - 2 * PAD

    def pt(t: float, v: float) -> str:
        return f"{PAD + (t - x0) / (x1 - x0) * w:.1f},{PAD + h - v / y1 * h:.1f}"

    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{CHART_W}" '
        f'height="{CHART_H}" role="img" aria-label="{escape(title)}">'
        f'<text x="{PAD}" y="18" class="title">{escape(title)}</text>'
        f'<text x="4" y="{PAD + 4}" class="axis">{y1:.1f}{unit}</text>'
        f'<text x="4" y="{PAD + h}" class="axis">0</text>'
        f'<text x="{PAD + w}" y="{CHART_H - 8}" text-anchor="end" class="axis">{x1:.0f} s</text>'
        f'<line x1="{PAD}" y1="{PAD + h}" x2="{PAD + w}" y2="{PAD + h}" class="base"/>'
    ]
    for i, (name, pts) in enumerate(lines):
        colour = COLOURS[i % len(COLOURS)]
        points = " ".join(pt(t, v) for t, v in pts)
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}">'
            f"<title>{escape(name)}</title></polyline>"
            f'<text x="{PAD + w}" y="{18 + 12 * i}" text-anchor="end" fill="{colour}" '
            f'class="legend">{escape(name)}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def series_svg(series: dict[str, Any]) -> list[Markup]:
    """A jitter chart and a loss chart over the call's streams, per second."""
    jitter, loss = [], []
    for s in series["streams"]:
        name = f"{s['direction'] or 'stream'} {s['src']} ({s['codec']})"
        jitter.append((name, [(p["offset_s"], p["jitter_ms_max"]) for p in s["seconds"]]))
        loss.append(
            (
                name,
                [
                    (p["offset_s"], 100.0 * p["lost"] / p["expected"] if p["expected"] else 0.0)
                    for p in s["seconds"]
                ],
            )
        )
    if not jitter:
        return []
    return [
        _chart("Jitter per second (max, ms)", " ms", jitter),
        _chart("Loss per second (%)", " %", loss),
    ]


def bars(title: str, labels: list[str], values: list[float], bad: set[int] | None = None) -> Markup:
    """A bar chart: one bar per label (``bad``: indexes drawn red)."""
    n = max(len(values), 1)
    top = max(values or [0.0]) or 1.0
    w, h = CHART_W - 2 * PAD, CHART_H - 2 * PAD
    bw = w / n
    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{CHART_W}" '
        f'height="{CHART_H}" role="img" aria-label="{escape(title)}">'
        f'<text x="{PAD}" y="18" class="title">{escape(title)}</text>'
        f'<text x="4" y="{PAD + 4}" class="axis">{top:g}</text>'
        f'<line x1="{PAD}" y1="{PAD + h}" x2="{PAD + w}" y2="{PAD + h}" class="base"/>'
    ]
    step = max(1, n // 8)
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        bh = v / top * h
        cls = "bar bad" if bad and i in bad else "bar"
        x = PAD + i * bw
        out.append(
            f'<rect class="{cls}" x="{x + 1:.1f}" y="{PAD + h - bh:.1f}" '
            f'width="{max(bw - 2, 1):.1f}" height="{bh:.1f}"><title>{escape(label)}: {v:g}'
            "</title></rect>"
        )
        if i % step == 0:
            out.append(
                f'<text x="{x + bw / 2:.1f}" y="{CHART_H - 8}" text-anchor="middle" '
                f'class="axis">{escape(label)}</text>'
            )
    out.append("</svg>")
    return Markup("".join(out))
