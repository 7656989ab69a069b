"""The ladder drawn as SVG: headers per column, one ``g.msg`` per SIP message (its arrow, labels,
times and a hit area), RTP/RTCP stream lanes and a DTMF lane on the right. Colours are
presentation attributes, so the drawing looks the same inline, as a file and under a strict CSP;
gui/static/ladder.css only adds hover and selection."""

from __future__ import annotations

from gui.charts.svg import SVG_NS, clip, el, esc, num
from gui.ladder.geometry import (
    CHAR_W,
    COL_W,
    FONT,
    KIND_COLOURS,
    LEG_COLOURS,
    MONO,
    ROW,
    Geometry,
)
from gui.ladder.lanes import lanes
from gui.ladder.layout import Column, Ladder, Row, fmt_delta, fmt_rel


def render_svg(lad: Ladder, *, standalone: bool = False) -> str:
    """The ladder as one ``<svg>`` element (inline in a page), or a whole SVG file."""
    if not lad.rows:
        body = _empty(lad)
    else:
        g = Geometry(lad)
        parts = [
            _open(lad, g.width, g.height),
            el("title", _summary(lad)),
            el("rect", class_="bg", x=0.0, y=0.0, width=g.width, height=g.height, fill="#fff"),
        ]
        parts += _legend(lad)
        parts += _headers(lad, g)
        parts.append('<g class="msgs">')
        parts += [_message(r, g) for r in lad.rows]
        parts.append("</g>")
        parts += lanes(lad, g)
        if lad.truncated:
            parts.append(_note(g.height - 10, f"flow cut at {len(lad.rows)} messages"))
        parts.append("</svg>")
        body = "".join(parts)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n' if standalone else body


def _open(lad: Ladder, width: float, height: float) -> str:
    attrs = {
        "xmlns": SVG_NS,
        "class": "ladder",
        "width": num(width),
        "height": num(height),
        "viewBox": f"0 0 {num(width)} {num(height)}",
        "role": "group",
        "aria-label": _summary(lad),
        "tabindex": "0",
        "font-family": FONT,
        "font-size": "12",
        "data-messages": str(len(lad.rows)),
    }
    return "<svg" + "".join(f' {k}="{esc(v)}"' for k, v in attrs.items()) + ">"


def _summary(lad: Ladder) -> str:
    legs = f", {len(lad.call_ids)} Call-IDs" if len(lad.call_ids) > 1 else ""
    return f"SIP ladder: {len(lad.rows)} messages between {len(lad.columns)} hosts{legs}"


def _empty(lad: Ladder) -> str:
    note = "No SIP messages in this call's capture."
    return "".join(
        [
            _open(lad, 480, 80),
            el("title", _summary(lad)),
            el("text", note, x=20.0, y=44.0, fill="#5f6368", class_="empty"),
            "</svg>",
        ]
    )


def _note(y: float, text: str) -> str:
    return el("text", text, x=8.0, y=y, fill="#b3261e", font_style="italic", class_="note")


def _legend(lad: Ladder) -> list[str]:
    if len(lad.call_ids) < 2:
        return []
    out = ['<g class="legend">']
    for k, cid in enumerate(lad.call_ids):
        x = 8 + k * 240.0
        out.append(
            f'<g class="leg{k % len(LEG_COLOURS)}">'
            + el("title", f"Call-ID {cid}")
            + el("rect", x=x, y=6.0, width=12.0, height=12.0, fill=_leg_colour(k))
            + el("text", clip(cid, 32), x=x + 16, y=16.0, font_size="11")
            + "</g>"
        )
    out.append("</g>")
    return out


def _leg_colour(leg: int) -> str:
    return LEG_COLOURS[leg % len(LEG_COLOURS)]


def _headers(lad: Ladder, g: Geometry) -> list[str]:
    bottom = g.y(len(lad.rows) - 0.5) + 4
    out = ['<g class="cols">']
    for c in lad.columns:
        out.append(_column(c, g, bottom))
    for x, text in ((8.0, "#"), (34.0, "time (s)"), (100.0, "Δ prev")):
        out.append(el("text", text, x=x, y=g.head - 6, fill="#5f6368", font_size="11"))
    out.append("</g>")
    return out


def _column(c: Column, g: Geometry, bottom: float) -> str:
    x = g.x(c.index)
    chars = int((COL_W - 16) / CHAR_W)
    lines: list[tuple[str, str, str]] = []
    if c.alias:
        lines.append((clip(c.alias, chars), "700", "#202124"))
    lines.append((clip(c.address, chars), "400" if c.alias else "700", "#202124"))
    if c.port is None and len(c.ports) > 1:
        lines.append((clip("ports " + ",".join(map(str, c.ports)), chars), "400", "#5f6368"))
    if c.user_agents:
        more = f" +{len(c.user_agents) - 1}" if len(c.user_agents) > 1 else ""
        lines.append((clip(c.user_agents[0], chars - len(more)) + more, "400", "#5f6368"))
    y0 = g.head - 12 - 15 * len(lines)
    parts = [
        f'<g class="col" data-col="{c.index}" data-ip="{esc(c.ip)}">',
        el("title", c.title),
        el(
            "rect",
            x=x - COL_W / 2 + 6,
            y=y0 - 2,
            width=COL_W - 12,
            height=15.0 * len(lines) + 8,
            rx=4.0,
            fill="#f1f3f4",
            stroke="#dadce0",
        ),
    ]
    for i, (text, weight, fill) in enumerate(lines):
        parts.append(
            el(
                "text",
                text,
                x=x,
                y=y0 + 12 + 15 * i,
                text_anchor="middle",
                font_weight=weight,
                fill=fill,
            )
        )
    parts.append(
        el("line", x1=x, y1=g.head - 4, x2=x, y2=bottom, stroke="#9aa0a6", stroke_dasharray="4 4")
    )
    parts.append("</g>")
    return "".join(parts)


def _message(r: Row, g: Geometry) -> str:
    y = g.y(r.n - 1)
    x1, x2 = g.x(r.src), g.x(r.dst)
    colour = KIND_COLOURS[r.kind]
    stroke = _leg_colour(r.leg) if r.leg else "#3c4043"
    classes = f"msg {r.kind} leg{r.leg % len(LEG_COLOURS)}" + (" retrans" if r.retrans else "")
    label = ("↻ " if r.retrans else "") + r.label
    dash = "5 3" if r.retrans else None
    parts = [
        f'<g class="{classes}" id="m{r.n}" data-index="{r.n - 1}" data-n="{r.n}"'
        f' data-mid="{r.mid}" data-leg="{r.leg}" tabindex="-1" aria-label="{esc(r.title)}">',
        el("title", r.title),
        el(
            "rect",
            class_="hit",
            x=2.0,
            y=y - 24,
            width=g.lanes_x - 6,
            height=ROW,
            fill="#000",
            fill_opacity="0",
        ),
        el("text", str(r.n), x=8.0, y=y + 4, fill="#5f6368", font_size="11"),
        el("text", fmt_rel(r.rel_s), x=34.0, y=y + 4, font_family=MONO, font_size="11"),
        el("text", fmt_delta(r.delta_s), x=100.0, y=y + 4, fill="#5f6368", font_size="10"),
    ]
    if x1 == x2:
        d = f"M{num(x1)} {num(y - 9)}h34v18h-28"
        parts.append(
            el("path", d=d, fill="none", stroke=stroke, stroke_width="1.5", stroke_dasharray=dash)
        )
        parts.append(_head(x1, y + 9, -1.0, stroke))
        text_x, anchor, chars = x1 + 40, "start", int((COL_W / 2 - 44) / CHAR_W)
    else:
        parts.append(
            el(
                "line",
                x1=x1,
                y1=y,
                x2=x2,
                y2=y,
                stroke=stroke,
                stroke_width="1.5",
                stroke_dasharray=dash,
            )
        )
        parts.append(_head(x2, y, 1.0 if x2 > x1 else -1.0, stroke))
        text_x, anchor = (x1 + x2) / 2, "middle"
        chars = max(10, int((abs(x2 - x1) - 12) / CHAR_W))
    parts.append(
        el(
            "text",
            clip(label, chars),
            class_="lbl",
            x=text_x,
            y=y - 6,
            text_anchor=anchor,
            fill=colour,
            font_weight="600",
        )
    )
    parts.append(
        el(
            "text",
            clip(r.cseq_label, chars),
            x=text_x,
            y=y + 14,
            text_anchor=anchor,
            fill="#5f6368",
            font_size="10",
        )
    )
    parts.append("</g>")
    return "".join(parts)


def _head(x: float, y: float, direction: float, colour: str) -> str:
    back = x - 9 * direction
    points = f"{num(x)},{num(y)} {num(back)},{num(y - 4.5)} {num(back)},{num(y + 4.5)}"
    return el("polygon", points=points, fill=colour)
