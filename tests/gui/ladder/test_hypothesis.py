"""Whatever text a SIP message, a host or a stream carries, the ladder stays well-formed XML with
one ``.msg`` per message, and every export renders."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gui.ladder import (
    Flow,
    LadderInputError,
    Media,
    build_ladder,
    ladder_fragment,
    render_html,
    render_svg,
    render_text,
)
from tests.gui.ladder.factory import call_json, iso, msg, sip_json, stream
from tests.hypo import examples

ANY_TEXT = st.text(st.characters(categories=["L", "M", "N", "P", "S", "Z", "C"]), max_size=40)
"""Any code point, controls and lone surrogates included."""
HOSTS = st.sampled_from(["10.0.0.1", "10.0.0.2", "2001:db8::9", "<b>"]) | ANY_TEXT
PORTS = st.integers(0, 65535)


@st.composite
def messages(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 12))
    times = sorted(draw(st.lists(st.floats(0, 1e5), min_size=count, max_size=count)))
    out = []
    for i, t in enumerate(times):
        status = draw(st.none() | st.integers(-5, 999))
        out.append(
            msg(
                i,
                t,
                f"{draw(HOSTS)}:{draw(PORTS)}",
                f"{draw(HOSTS)}:{draw(PORTS)}",
                draw(ANY_TEXT),
                status,
                reason=draw(st.none() | ANY_TEXT),
                cseq=draw(st.integers(0, 2**32)),
                cseq_method=draw(ANY_TEXT),
                call_id=draw(st.sampled_from(["a", "b"]) | ANY_TEXT),
                via_branch=draw(st.sampled_from(["z1", "z2"])),
                summary=draw(ANY_TEXT),
                user_agent=draw(st.none() | ANY_TEXT),
                sdp=draw(st.none() | ANY_TEXT),
                raw=draw(st.none() | ANY_TEXT),
                leg_id=draw(st.none() | st.integers(1, 3)),
            )
        )
    return out


@st.composite
def media(draw: st.DrawFn) -> dict[str, Any]:
    streams = [
        stream(
            i,
            f"{draw(HOSTS)}:{draw(PORTS)}",
            f"{draw(HOSTS)}:{draw(PORTS)}",
            draw(st.floats(-10, 1e5)),
            draw(st.floats(-10, 1e5)),
            codec=draw(ANY_TEXT),
            direction=draw(st.none() | ANY_TEXT),
            mos=draw(st.none() | st.floats(0, 5)),
            loss_pct=draw(st.floats(0, 100)),
        )
        for i in range(draw(st.integers(0, 3)))
    ]
    digits = draw(st.lists(st.tuples(ANY_TEXT, st.none() | st.floats(-10, 1e5)), max_size=4))
    return call_json(streams, digits)


def _msg_count(svg: str) -> int:
    return sum("msg" in (e.get("class") or "").split() for e in ET.fromstring(svg).iter())


@settings(max_examples=examples(80), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages(), media(), st.booleans(), st.dictionaries(HOSTS, ANY_TEXT, max_size=2))
def test_any_text_keeps_the_ladder_well_formed(
    items: list[dict[str, Any]], call: dict[str, Any], split: bool, aliases: dict[str, str]
) -> None:
    lad = build_ladder(
        Flow.from_api(sip_json(items)), Media.from_api(call), split=split, aliases=aliases
    )
    svg = render_svg(lad)
    assert _msg_count(svg) == len(items)
    assert _msg_count(render_svg(lad, standalone=True).split("\n", 1)[1]) == len(items)
    text = render_text(lad)
    assert all(ch.isprintable() for line in text.splitlines() for ch in line)
    frag = ladder_fragment(lad)
    data = re.search(r'class="ladder-data">(.*?)</script>', frag, re.S)
    assert data is not None and len(json.loads(data.group(1))["messages"]) == len(items)
    assert frag.count("<script") == 1
    assert render_html(lad).count("<script") == 2


@settings(max_examples=examples(30), deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=5))
def test_times_from_numbers_are_finite_or_refused(values: list[float]) -> None:
    for v in values:
        try:
            Flow.from_api({"items": [{**msg(0, 0.0), "ts": v}]})
        except ValueError as exc:
            assert "not a time" in str(exc)
    assert Flow.from_api({"items": [{**msg(0, 0.0), "ts": iso(5.0)}]}).items[0].ts == 5.0


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=examples(150), deadline=None)
@given(JSON, st.dictionaries(st.sampled_from(list(msg(0, 0.0))), JSON, max_size=4))
def test_input_not_shaped_like_the_api_gives_one_clear_error(
    junk: Any, changes: dict[str, Any]
) -> None:
    """Whatever JSON arrives, reading it succeeds or raises LadderInputError (never a crash)."""
    for value in (junk, {"items": junk}, {"items": [{**msg(0, 0.0), **changes}]}):
        try:
            Flow.from_api(value)
        except LadderInputError:
            pass
    for value in (junk, {"streams": junk, "dtmf_digits": junk}):
        try:
            Media.from_api(value)
        except LadderInputError:
            pass
