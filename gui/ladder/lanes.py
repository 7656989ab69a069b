"""The lanes beside the ladder: one per RTP stream (its life as a bar coloured by MOS, codec,
loss, RTCP in its header and tooltip) and one of DTMF digits at their instants."""

from __future__ import annotations

from collections.abc import Mapping

from gui.charts.svg import clip, el
from gui.ladder.geometry import DTMF_W, LANE_W, QUALITY, Geometry
from gui.ladder.layout import Ladder, fmt_rel
from gui.ladder.model import Stream

DIGIT_GAP = 20.0
"""Least vertical distance between two DTMF digits of the lane."""


def quality(mos: float | None) -> tuple[str, str]:
    """The quality class and colour of a MOS (``none`` when not measured)."""
    if mos is None:
        return "none", "#9aa0a6"
    for floor, name, colour in QUALITY:
        if mos >= floor:
            return name, colour
    return QUALITY[-1][1], QUALITY[-1][2]


def lanes(lad: Ladder, g: Geometry) -> tuple[list[str], list[str]]:
    """The lanes' headers (drawn with the column headers, which stay on top when scrolling) and
    their bodies (bars and digits among the messages)."""
    heads: list[str] = []
    bodies: list[str] = []
    names = lad.aliases
    for k, s in enumerate(lad.media.streams):
        head, body = _stream_lane(lad, g, g.lanes_x + k * LANE_W + LANE_W / 2, s, names)
        heads.append(head)
        bodies.append(body)
    if lad.media.dtmf:
        head, body = _dtmf_lane(lad, g, g.lanes_x + len(lad.media.streams) * LANE_W + DTMF_W / 2)
        heads.append(head)
        bodies.append(body)
    return heads, bodies


def stream_title(s: Stream, names: Mapping[str, str]) -> str:
    """Everything about a stream in one line (the lane's tooltip and the text export)."""

    def end(ip: str | None, port: int) -> str:
        name = names.get(ip or "")
        return f"{name} ({ip}:{port})" if name else f"{ip}:{port}"

    text = f"RTP stream {s.index}" + (f" {s.direction}" if s.direction else "")
    text += f": {end(s.src_ip, s.src_port)} → {end(s.dst_ip, s.dst_port)}, SSRC 0x{s.ssrc:08X}"
    text += f", {s.codec}, {s.packets} packets, lost {s.lost} ({s.loss_pct:.2f} %)"
    if s.max_jitter_ms is not None:
        text += f", jitter max {s.max_jitter_ms:.1f} ms"
    if s.mean_jitter_ms is not None:
        text += f" mean {s.mean_jitter_ms:.1f} ms"
    text += f", MOS {s.mos:.2f}" if s.mos is not None else ", MOS not measured"
    if s.telephone_events:
        text += f", {s.telephone_events} telephone-events"
    if s.rtcp is not None:
        q = s.rtcp
        text += f" | RTCP {q.sr_count} SR, {q.rr_count} RR"
        if q.fraction_lost_max is not None:
            text += f", fraction lost max {q.fraction_lost_max:.3f}"
        if q.cumulative_lost is not None:
            text += f", cumulative lost {q.cumulative_lost}"
        if q.jitter_max_ms is not None:
            text += f", jitter max {q.jitter_max_ms:.1f} ms"
        if q.rtt_avg_ms is not None:
            text += f", RTT avg {q.rtt_avg_ms:.1f} ms"
        if q.xr_mos_lq is not None:
            text += f", XR MOS-LQ {q.xr_mos_lq:.2f}"
    return text


def stream_lines(s: Stream) -> list[tuple[str, str]]:
    """The header of a stream's lane: (text, font weight) per line."""
    lines = [
        (f"RTP {s.index}", "700"),
        (s.direction or "", "400"),
        (clip(s.codec, 12), "400"),
        (f"MOS {s.mos:.2f}" if s.mos is not None else "MOS –", "600"),
        (f"loss {s.loss_pct:.1f}%", "400"),
    ]
    if s.rtcp is not None and s.rtcp.rtt_avg_ms is not None:
        lines[1] = (f"RTT {s.rtcp.rtt_avg_ms:.0f} ms", "400")
    return lines


def _stream_lane(
    lad: Ladder, g: Geometry, x: float, s: Stream, names: Mapping[str, str]
) -> tuple[str, str]:
    qname, colour = quality(s.mos)
    y0, y1 = g.y(lad.position(s.first_ts)), g.y(lad.position(s.last_ts))
    lines = stream_lines(s)
    title = el("title", stream_title(s, names))
    head = [f'<g class="lane-head" data-stream="{s.index}">', title]
    top = g.head - 8 - 13 * (len(lines) - 1)
    for i, (text, weight) in enumerate(lines):
        fill = colour if i == 3 else "#3c4043"
        head.append(
            el(
                "text",
                text,
                x=x,
                y=top + 13 * i,
                text_anchor="middle",
                font_size="11",
                font_weight=weight,
                fill=fill,
            )
        )
    head.append("</g>")
    body = [f'<g class="lane rtp q-{qname}" data-stream="{s.index}">', title]
    body.append(el("line", x1=x, y1=g.head, x2=x, y2=g.y(lad.end_position), stroke="#e8eaed"))
    body.append(
        el("rect", x=x - 5, y=y0, width=10.0, height=max(y1 - y0, 3.0), rx=3.0, fill=colour)
    )
    if s.rtcp is not None:
        body.append(el("circle", cx=x, cy=y0, r=3.0, fill="#fff", stroke=colour, class_="rtcp"))
    body.append("</g>")
    return "".join(head), "".join(body)


def _dtmf_lane(lad: Ladder, g: Geometry, x: float) -> tuple[str, str]:
    title = el("title", "DTMF: " + "".join(d.digit for d in lad.media.dtmf))
    head = ['<g class="lane-head dtmf">', title]
    head.append(el("text", "DTMF", x=x, y=g.head - 8, text_anchor="middle", font_weight="700"))
    untimed = "".join(d.digit for d in lad.media.dtmf if d.ts is None)
    if untimed:
        head.append(
            el("text", clip(untimed, 6), x=x, y=g.head - 24, text_anchor="middle", font_size="11")
        )
    head.append("</g>")
    body = ['<g class="lane dtmf">', title]
    last = -1e9
    for d in sorted((d for d in lad.media.dtmf if d.ts is not None), key=lambda d: d.ts or 0.0):
        assert d.ts is not None
        y = last = max(g.y(lad.position(d.ts)), last + DIGIT_GAP)  # digits close in time: stacked
        body.append(
            '<g class="digit">'
            + el("title", f"DTMF {d.digit} at {fmt_rel(d.ts - lad.t0)} s")
            + el("circle", cx=x, cy=y, r=9.0, fill="#fef7e0", stroke="#e37400")
            + el(
                "text",
                clip(d.digit, 2),
                x=x,
                y=y + 4,
                text_anchor="middle",
                font_weight="700",
                font_size="11",
            )
            + "</g>"
        )
    body.append("</g>")
    return "".join(head), "".join(body)
