"""The ladder as plain text, like sngrep's call flow: a column per host, two lines per message
(its label over an arrow), times on the left, the lanes listed below."""

from __future__ import annotations

from gui.ladder.lanes import stream_title
from gui.ladder.layout import Ladder, Row, fmt_delta, fmt_rel

GUTTER = 24
"""Width of the ``#  time  delta`` gutter on the left."""
MIN_COL, MAX_COL = 24, 48
"""Bounds of a column's width: wide enough for the longest label, if it can."""


class _Grid:
    """Character positions of the columns."""

    def __init__(self, lad: Ladder) -> None:
        longest = max((len(_label(lad, r)) for r in lad.rows), default=0)
        self.col = min(max(longest + 4, MIN_COL), MAX_COL)
        self.width = GUTTER + len(lad.columns) * self.col
        self.lad = lad

    def centre(self, col: int) -> int:
        return GUTTER + col * self.col + self.col // 2

    def canvas(self) -> list[str]:
        line = [" "] * self.width
        for c in self.lad.columns:
            line[self.centre(c.index)] = "|"
        return line

    def cell(self, text: str) -> str:
        text = " ".join(text.split())
        return text if len(text) <= self.col - 2 else text[: self.col - 3] + "…"


def _put(line: list[str], start: int, text: str) -> None:
    start = max(start, 0)
    for i, ch in enumerate(text[: max(len(line) - start, 0)]):
        line[start + i] = ch


def _label(lad: Ladder, r: Row) -> str:
    label = r.label + (f" ↻#{r.retrans_of}" if r.retrans_of else " ↻" if r.retrans else "")
    label += f"  {r.cseq_label}"
    return f"[{r.leg}] {label}" if len(lad.call_ids) > 1 else label


def _row(grid: _Grid, r: Row) -> list[str]:
    head, arrow = grid.canvas(), grid.canvas()
    a, b = grid.centre(r.src), grid.centre(r.dst)
    label = _label(grid.lad, r)
    fill = "." if r.retrans else "-"
    if a == b:
        _put(arrow, a, "|" + fill * 3 + "+ (to itself)")
        _put(head, a + 2, label)
    else:
        lo, hi = min(a, b), max(a, b)
        width = hi - lo - 1
        body = fill * width
        body = body[:-1] + ">" if b > a else "<" + body[1:]
        _put(arrow, lo + 1, body)
        span = max(width - 2, len(label)) if len(grid.lad.columns) == 2 else width - 2
        text = label if len(label) <= span else label[: max(span - 1, 0)] + "…"
        _put(head, lo + 1 + max((width - len(text)) // 2, 0), text)
    _put(arrow, 0, f"{r.n:>4} {fmt_rel(r.rel_s):>9} ")
    _put(head, 5, fmt_delta(r.delta_s).rjust(GUTTER - 8)[: GUTTER - 6])
    return ["".join(head).rstrip(), "".join(arrow).rstrip()]


def render_text(lad: Ladder) -> str:
    """The whole flow as text (UTF-8, ends with a newline)."""
    out: list[str] = []
    legs = ", ".join(lad.call_ids) or "-"
    shown = f" ({len(lad.rows)} shown)" if lad.size > len(lad.rows) else ""
    out.append(f"SIP flow: {lad.size} messages{shown}, Call-ID {legs}")
    if not lad.rows:
        return "\n".join([*out, "No SIP messages in this call's capture."]) + "\n"
    out.append("")
    grid = _Grid(lad)
    for k in range(3):
        line = [" "] * grid.width
        for c in lad.columns:
            text = grid.cell(
                (c.alias or "", c.address, c.user_agents[0] if c.user_agents else "")[k]
            )
            _put(line, grid.centre(c.index) - len(text) // 2, text)
        if "".join(line).strip():
            out.append("".join(line).rstrip())
    ruler = grid.canvas()
    _put(ruler, 0, "   #  time (s)  Δ prev")
    out.append("".join(ruler).rstrip())
    for r in lad.rows:
        out.extend(_row(grid, r))
    if lad.truncated:
        out.append(f"(flow cut at {lad.size} messages)")
    names = lad.aliases
    if lad.media.streams or lad.media.dtmf:
        out.append("")
    for s in lad.media.streams:
        out.append(
            f"{fmt_rel(s.first_ts - lad.t0)} .. {fmt_rel(s.last_ts - lad.t0)}  "
            + stream_title(s, names)
        )
    if lad.media.dtmf:
        digits = [
            d.digit if d.ts is None else f"{d.digit}@{fmt_rel(d.ts - lad.t0)}"
            for d in lad.media.dtmf
        ]
        out.append("DTMF: " + " ".join(digits))
    if len(lad.call_ids) > 1:
        out.append("")
        out.extend(f"leg {k}: Call-ID {cid}" for k, cid in enumerate(lad.call_ids))
    return "\n".join(_printable(line) for line in out) + "\n"


def _printable(line: str) -> str:
    if line.isprintable():
        return line
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in line)
