"""Server-rendered SVG charts (no JS library): each function returns one ``<svg class="chart">``
(``role="img"``, ``aria-label``, ``<title>``, ``<desc>`` summing the data up) as ``Html``, which
Jinja2 prints unescaped (``__html__``). No data gives the same frame with a message.

From the API's answers (what the call page and the dashboard need)::

    from gui.charts import rtp_streams, jitter_chart, loss_chart, calls_chart, mos_chart, failing_chart

    streams = rtp_streams(series_json)        # GET /calls/{id}/rtp-series
    jitter_chart(streams); loss_chart(streams)
    calls_chart(stats_json); mos_chart(stats_json)   # GET /stats
    failing_chart(stats_json, link=lambda called: f"/calls?called={quote(called)}&outcome=failed")

Answers not shaped like the API's raise ``ShapeError`` (a ValueError) naming what was read.

The primitives, for anything else: ``line_chart(title, [Series(name, ((x, y|None), ...))],
x_format="duration"|"clock"|"number", x_title=, y_title=, unit=)``, ``bar_chart(title, labels,
values, highlight={i})``, ``histogram(title, [Bin(low, high|None, count)], highlight=)``,
``hbar_list(title, [Bar(label, value, note, href)])``.
"""

from gui.charts.bars import Bar, Bin, bar_chart, hbar_list, histogram
from gui.charts.line import Series, line_chart
from gui.charts.shape import ShapeError
from gui.charts.svg import Html
from gui.charts.views import (
    StreamSeconds,
    calls_chart,
    failing_chart,
    jitter_chart,
    loss_chart,
    mos_chart,
    rtp_streams,
)

__all__ = [
    "Bar",
    "Bin",
    "Html",
    "Series",
    "ShapeError",
    "StreamSeconds",
    "bar_chart",
    "calls_chart",
    "failing_chart",
    "hbar_list",
    "histogram",
    "jitter_chart",
    "line_chart",
    "loss_chart",
    "mos_chart",
    "rtp_streams",
]
