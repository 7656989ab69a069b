"""The ladder as plain text, like sngrep's call flow: a column per host, two lines per message
(its label over an arrow), times on the left, the lanes listed below."""

from __future__ import annotations

from gui.ladder.lanes import stream_title
from gui.ladder.layout import Ladder, Row, fmt_delta, fmt_rel

COL = 30
GUTTER = 24
"""Width of a column, and of the ``#  time  delta`` gutter on the left."""


def _centre(col: int) -> int:
    return GUTTER + col * COL + COL // 2


def _canvas(lad: Ladder) -> list[str]:
    line = [" "] * (GUTTER + len(lad.columns) * COL)
    for c in lad.columns:
        line[_centre(c.index)] = "|"
    return line


def _put(line: list[str], start: int, text: str) -> None:
    start = max(start, 0)
    for i, ch in enumerate(text[: max(len(line) - start, 0)]):
        line[start + i] = ch


def _cell(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= COL - 2 else text[: COL - 3] + "…"


def _row(lad: Ladder, r: Row) -> list[str]:
    head, arrow = _canvas(lad), _canvas(lad)
    a, b = _centre(r.src), _centre(r.dst)
    label = r.label + (f" ↻#{r.retrans_of}" if r.retrans_of else " ↻" if r.retrans else "")
    label += f"  {r.cseq_label}"
    if len(lad.call_ids) > 1:
        label = f"[{r.leg}] {label}"
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
        span = max(width - 2, len(label)) if len(lad.columns) == 2 else width - 2
        text = label if len(label) <= span else label[: max(span - 1, 0)] + "…"
        _put(head, lo + 1 + max((width - len(text)) // 2, 0), text)
    _put(arrow, 0, f"{r.n:>4} {fmt_rel(r.rel_s):>9} ")
    _put(head, 5, fmt_delta(r.delta_s).rjust(GUTTER - 8)[: GUTTER - 6])
    return ["".join(head).rstrip(), "".join(arrow).rstrip()]


def render_text(lad: Ladder) -> str:
    """The whole flow as text (UTF-8, ends with a newline)."""
    out: list[str] = []
    legs = ", ".join(lad.call_ids) or "-"
    out.append(f"SIP flow: {len(lad.rows)} messages, Call-ID {legs}")
    if not lad.rows:
        return "\n".join([*out, "No SIP messages in this call's capture."]) + "\n"
    out.append("")
    for k in range(3):
        line = [" "] * (GUTTER + len(lad.columns) * COL)
        for c in lad.columns:
            text = _cell((c.alias or "", c.address, c.user_agents[0] if c.user_agents else "")[k])
            _put(line, _centre(c.index) - len(text) // 2, text)
        if "".join(line).strip():
            out.append("".join(line).rstrip())
    ruler = _canvas(lad)
    _put(ruler, 0, "   #  time (s)  Δ prev")
    out.append("".join(ruler).rstrip())
    for r in lad.rows:
        out.extend(_row(lad, r))
    if lad.truncated:
        out.append(f"(flow cut at {len(lad.rows)} messages)")
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
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in line)
