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
    header_lines,
)
from gui.ladder.lanes import lanes
from gui.ladder.layout import Column, Ladder, Row, fmt_delta, fmt_rel

_MONO = esc(MONO)


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
        lane_heads, lane_bodies = lanes(lad, g)
        bottom = g.y(lad.end_position) + 4
        parts.append('<g class="lifelines">')
        parts += [
            el(
                "line",
                x1=g.x(c.index),
                y1=g.head,
                x2=g.x(c.index),
                y2=bottom,
                stroke="#9aa0a6",
                stroke_dasharray="4 4",
            )
            for c in lad.columns
        ]
        parts.append("</g>")
        parts += lane_bodies
        parts.append('<g class="msgs">')
        parts += [_message(r, i, g) for i, r in enumerate(lad.rows)]
        parts.append("</g>")
        end = lad.media_end
        if lad.tail and end is not None:
            text = f"{fmt_rel(end - lad.t0)}  end of media"
            parts.append(
                el("text", text, class_="tail", x=34.0, y=bottom, fill="#5f6368", font_size="11")
            )
        if lad.truncated or lad.size > len(lad.rows):
            parts.append(_note(g.height - 10, _cut(lad)))
        parts.append('<g class="heads">')
        parts.append(el("rect", x=0.0, y=0.0, width=g.width, height=g.head + 2, fill="#fff"))
        parts += _legend(lad)
        parts += _headers(lad, g)
        parts += lane_heads
        parts.append("</g></svg>")
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


def _cut(lad: Ladder) -> str:
    """What part of the flow is shown: a window, a flow the API cut, or both."""
    text = ""
    if lad.size > len(lad.rows):
        first = lad.rows[0].n if lad.rows else 0
        text = f"messages {first}–{first + len(lad.rows) - 1} of {lad.size}"
    if lad.truncated:
        text += ("; " if text else "") + f"flow cut at {lad.size} messages"
    return text


def _summary(lad: Ladder) -> str:
    legs = f", {len(lad.call_ids)} Call-IDs" if len(lad.call_ids) > 1 else ""
    return f"SIP ladder: {len(lad.rows)} messages between {len(lad.columns)} hosts{legs}"


def _empty(lad: Ladder) -> str:
    note = "No SIP messages in this call's capture."
    if lad.size:
        note = f"No message in this range: the flow has {lad.size}."
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
    out = ['<g class="cols">']
    out += [_column(c, g) for c in lad.columns]
    for x, text in ((8.0, "#"), (34.0, "time (s)"), (100.0, "Δ prev")):
        out.append(el("text", text, x=x, y=g.head - 6, fill="#5f6368", font_size="11"))
    out.append("</g>")
    return out


def _column(c: Column, g: Geometry) -> str:
    x = g.x(c.index)
    lines = header_lines(c)
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
    parts.append("</g>")
    return "".join(parts)


def _message(r: Row, i: int, g: Geometry) -> str:
    """One ``g.msg`` (row ``i`` of the drawing), written as one template: a ladder of thousands
    of messages stays fast."""
    y = g.y(i)
    x1, x2 = g.x(r.src), g.x(r.dst)
    stroke = _leg_colour(r.leg) if g.legs > 1 else "#3c4043"
    classes = f"msg {r.kind} leg{r.leg % len(LEG_COLOURS)}" + (" retrans" if r.retrans else "")
    label = ("↻ " if r.retrans else "") + r.label
    dash = ' stroke-dasharray="5 3"' if r.retrans else ""
    line = f'stroke="{stroke}" stroke-width="1.5"{dash}'
    if x1 == x2:
        arrow = f'<path d="M{num(x1)} {num(y - 9)}h34v18h-28" fill="none" {line}/>'
        arrow += _head(x1, y + 9, -1.0, stroke)
        text_x, anchor, chars = x1 + 40, "start", int((COL_W / 2 - 44) / CHAR_W)
    else:
        arrow = f'<line x1="{num(x1)}" y1="{num(y)}" x2="{num(x2)}" y2="{num(y)}" {line}/>'
        arrow += _head(x2, y, 1.0 if x2 > x1 else -1.0, stroke)
        text_x, anchor = (x1 + x2) / 2, "middle"
        chars = max(10, int((abs(x2 - x1) - 12) / CHAR_W))
    at = f'x="{num(text_x)}" text-anchor="{anchor}"'
    row_y = num(y + 4)
    return (
        f'<g class="{classes}" id="m{r.n}" data-index="{r.n - 1}" data-n="{r.n}"'
        f' data-mid="{r.mid}" data-leg="{r.leg}" tabindex="-1">'
        f"<title>{esc(r.title)}</title>"
        f'<rect class="hit" x="2" y="{num(y - 24)}" width="{num(g.lanes_x - 6)}"'
        f' height="{num(ROW)}" fill="#000" fill-opacity="0"/>'
        f'<text x="8" y="{row_y}" fill="#5f6368" font-size="11">{r.n}</text>'
        f'<text x="34" y="{row_y}" font-family="{_MONO}" font-size="11">{fmt_rel(r.rel_s)}</text>'
        f'<text x="100" y="{row_y}" fill="#5f6368" font-size="10">{fmt_delta(r.delta_s)}</text>'
        f"{arrow}"
        f'<text class="lbl" {at} y="{num(y - 6)}" fill="{KIND_COLOURS[r.kind]}" font-weight="600">'
        f"{esc(clip(label, chars))}</text>"
        f'<text {at} y="{num(y + 14)}" fill="#5f6368" font-size="10">'
        f"{esc(clip(r.cseq_label, chars))}</text>"
        "</g>"
    )


def _head(x: float, y: float, direction: float, colour: str) -> str:
    back = x - 9 * direction
    points = f"{num(x)},{num(y)} {num(back)},{num(y - 4.5)} {num(back)},{num(y + 4.5)}"
    return el("polygon", points=points, fill=colour)
