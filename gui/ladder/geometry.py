"""The ladder's geometry and colours, shared by its drawing and its lanes."""

from __future__ import annotations

from gui.charts.svg import clip
from gui.ladder.layout import Column, Ladder

LEFT = 168.0
COL_W = 200.0
ROW = 42.0
LEGEND = 22.0
LANE_W = 88.0
DTMF_W = 52.0
CHAR_W = 6.6
FONT = "system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"
MONO = "ui-monospace,'DejaVu Sans Mono',Menlo,monospace"
LEG_COLOURS = (
    "#1f5fa8",
    "#b5487a",
    "#2a8a5b",
    "#a8651f",
    "#6a4fb3",
    "#1f8a99",
    "#7a7a12",
    "#99441f",
)
KIND_COLOURS = {
    "req": "#174ea6",
    "s1xx": "#5f6368",
    "s2xx": "#137333",
    "s3xx": "#8a6d00",
    "s4xx": "#c26401",
    "s5xx": "#b3261e",
    "s6xx": "#8e0000",
}
QUALITY = (
    (4.0, "good", "#2e9d5b"),
    (3.6, "fair", "#8fb52a"),
    (3.1, "poor", "#e39b17"),
    (0.0, "bad", "#d93025"),
)


def header_lines(c: Column) -> list[tuple[str, str, str]]:
    """A column's header: (text, font weight, colour) per line: alias, address, ports, agent."""
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
    return lines


class Geometry:
    """Sizes and positions of one ladder's drawing."""

    def __init__(self, lad: Ladder) -> None:
        cols = max((len(header_lines(c)) for c in lad.columns), default=1)
        lanes = 5 if lad.media.streams else 2 if lad.media.dtmf else 0
        self.legs = len(lad.call_ids)
        legend = LEGEND if self.legs > 1 else 0.0
        self.head = legend + max(26 + 15 * cols, 22 + 13 * lanes)
        self.top = self.head + 12
        self.lanes_x = LEFT + len(lad.columns) * COL_W + 16
        width = len(lad.media.streams) * LANE_W + (DTMF_W if lad.media.dtmf else 0.0)
        self.width = self.lanes_x + width + 12
        self.height = self.top + (lad.end_position + 0.5) * ROW + 34

    def x(self, col: int) -> float:
        return LEFT + col * COL_W + COL_W / 2

    def y(self, position: float) -> float:
        return self.top + position * ROW + 24
