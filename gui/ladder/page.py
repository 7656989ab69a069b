"""The ladder in a page: the fragment a template includes (SVG, docked raw-message pane, the
messages as JSON for gui/static/ladder.js) and the self-contained HTML export."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from gui.charts.svg import Html, esc
from gui.ladder.draw import render_svg
from gui.ladder.layout import Ladder
from gui.ladder.text import render_text

STATIC = Path(__file__).resolve().parent.parent / "static"
HELP = (
    "Click an arrow for its message · ↑/↓ move · e/r next error/retransmission"
    " · shift-click a second arrow to compare"
)


def script_json(value: object) -> str:
    """JSON that can sit inside ``<script type="application/json">``: ``<``, ``>`` and ``&`` are
    written as ``\\u003c``.. so no text can close the element; ASCII only."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"), sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def ladder_data(lad: Ladder) -> dict[str, object]:
    """What the pane shows per message (``raw`` when the flow was fetched with ``?raw=1``)."""
    return {
        "call_ids": list(lad.call_ids),
        "messages": [
            {
                "n": r.n,
                "mid": r.mid,
                "title": r.title,
                "raw": r.msg.raw,
                "summary": r.msg.summary,
                "leg": r.leg,
                "retrans_of": r.retrans_of,
            }
            for r in lad.rows
        ],
    }


def ladder_fragment(
    lad: Ladder,
    *,
    links: Sequence[tuple[str, str]] = (),
    svg: str | None = None,
) -> Html:
    """The ladder block of a call page: a toolbar of ``links`` (label, URL: exports, fold or
    split ports, merge legs), the inline SVG, the docked pane and the data for ladder.js."""
    tools = "".join(f'<a href="{esc(url)}">{esc(label)}</a>' for label, url in links)
    parts = [
        '<section class="ladder-view" data-ladder="">',
        f'<nav class="ladder-tools" aria-label="Ladder">{tools}'
        f'<span class="ladder-help">{esc(HELP)}</span></nav>',
        '<div class="ladder-body">',
        f'<div class="ladder-scroll">{svg if svg is not None else render_svg(lad)}</div>',
        '<aside class="ladder-pane" aria-label="Selected SIP message">',
        '<header class="ladder-pane-head"><span class="ladder-pane-title" aria-live="polite">'
        "No message selected</span>"
        '<button type="button" class="ladder-copy" hidden>Copy</button></header>',
        '<pre class="ladder-raw" tabindex="0"></pre>',
        "</aside></div>",
        f'<script type="application/json" class="ladder-data">{script_json(ladder_data(lad))}</script>',
        "</section>",
    ]
    return Html("".join(parts))


def static_text(name: str) -> str:
    """One of the ladder's static files (``ladder.js``, ``ladder.css``)."""
    path = STATIC / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuntimeError(f"the GUI's static file {path} cannot be read: {exc}") from exc


def render_html(lad: Ladder, *, title: str | None = None) -> str:
    """The ladder as one self-contained HTML file: inline CSS and JS, raw messages included,
    the text flow below, usable offline (mail it to a vendor)."""
    heading = title or "SIP ladder · Call-ID " + ", ".join(lad.call_ids)
    css, js = static_text("ladder.css"), static_text("ladder.js")
    if "</" in css or "</" in js:
        raise RuntimeError("ladder.css and ladder.js must not hold '</' (they are inlined)")
    return "".join(
        [
            "<!DOCTYPE html>\n",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(heading)}</title>",
            f"<style>{css}</style></head>",
            '<body class="ladder-export">',
            f"<h1>{esc(heading)}</h1>",
            ladder_fragment(lad),
            '<details class="ladder-text"><summary>The flow as text</summary>',
            f"<pre>{esc(render_text(lad))}</pre></details>",
            f"<script>{js}</script>",
            "</body></html>\n",
        ]
    )
