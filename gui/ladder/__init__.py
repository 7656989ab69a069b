"""The SIP ladder of a call page, rendered server-side (no SQL, no API internals: the input is
the REST API's JSON).

Use from a GUI route::

    from gui.ladder import build_ladder, Flow, Media, ladder_fragment

    flow = Flow.from_api(sip_json)          # GET /calls/{id}/sip?raw=1[&legs=1]
    media = Media.from_api(call_json)       # GET /calls/{id}: streams (RTP/RTCP) and DTMF lanes
    lad = build_ladder(flow, media, split=request_split)  # split: bool, or a set of IPs
    html = ladder_fragment(lad, links=[("SVG", "?format=svg"), ("Text", "?format=txt")])

and in the Jinja template, where the ladder goes (``Html`` prints unescaped by its
``__html__``; ``|safe`` is not needed)::

    <link rel="stylesheet" href="{{ url_for('static', path='ladder.css') }}">
    {{ ladder_html }}
    <script src="{{ url_for('static', path='ladder.js') }}" defer></script>

The fragment holds the ``<svg class="ladder">`` with one ``g.msg`` per SIP message (``id="mN"``,
N from 1, the deep link ``#mN``; ``data-index`` from 0; ``data-mid`` a stable message id;
``data-leg`` the Call-ID's colour), the docked pane and the messages as JSON for ladder.js.
No inline script or style: it works under ``Content-Security-Policy: script-src 'self'``.

A very long flow (the API sends up to 20000 messages) can be shown a page at a time:
``lad.window(start, count)`` keeps numbering, times, retransmissions and columns of the whole
ladder and notes "messages 501–1000 of 20000" (``lad.size`` is the whole count).

Exports (the GUI serves them as downloads): ``render_svg(lad, standalone=True)`` (image/svg+xml),
``render_text(lad)`` (text/plain, like sngrep's flow), ``render_html(lad)`` (one file with
inline CSS/JS and the raw messages). ``merge_flows([...])`` joins flows of legs fetched one by
one (other Call-IDs); ``/sip?legs=1`` already merges legs of the same Call-ID.
"""

from gui.charts.svg import Html
from gui.ladder.draw import render_svg
from gui.ladder.layout import Column, Ladder, Row, build_ladder
from gui.ladder.model import (
    Dtmf,
    Flow,
    Host,
    LadderInputError,
    Media,
    Rtcp,
    SipMsg,
    Stream,
    merge_flows,
)
from gui.ladder.page import ladder_fragment, render_html
from gui.ladder.text import render_text

__all__ = [
    "Column",
    "Dtmf",
    "Flow",
    "Host",
    "Html",
    "Ladder",
    "LadderInputError",
    "Media",
    "Row",
    "Rtcp",
    "SipMsg",
    "Stream",
    "build_ladder",
    "ladder_fragment",
    "merge_flows",
    "render_html",
    "render_svg",
    "render_text",
]
