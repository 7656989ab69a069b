"""The text export (sngrep-like), the page fragment with its JSON and the self-contained HTML."""

from __future__ import annotations

import json
import re

from gui.ladder import Flow, Html, Media, build_ladder, ladder_fragment, render_html, render_text
from gui.ladder.page import script_json
from tests.gui.ladder.factory import basic_call, call_json, msg, sip_json, stream


def _lad(items: list[dict[str, object]] | None = None, media: Media | None = None):  # type: ignore[no-untyped-def]
    return build_ladder(Flow.from_api(sip_json(items or basic_call())), media)


def test_text_flow_has_two_lines_per_message() -> None:
    text = render_text(_lad())
    lines = text.splitlines()
    assert lines[0] == "SIP flow: 8 messages, Call-ID call-1@test"
    assert lines[2].split() == ["10.0.0.1", "10.0.0.2"]
    assert lines[3].split() == ["alice-phone/1.0", "bob-pbx/2.0"]
    body = lines[5:]
    assert len(body) == 16
    assert "INVITE (SDP)  CSeq 1 INVITE" in body[0]
    assert re.fullmatch(r"\s+1\s+\+0\.000\s+\|-+>\|", body[1])
    assert re.fullmatch(r"\s+2\s+\+0\.010\s+\|<-+\|", body[3])
    assert "180 Ringing ↻#3" in body[6] and "|<...." in body[7]
    assert body[2].split()[0] == "+10.0"  # ms since the previous message


def test_text_lists_lanes_and_legs() -> None:
    media = Media.from_api(
        call_json([stream(0, "10.0.0.1:4000", "10.0.0.2:5000", 2.1, 8.9)], [("5", 3.0)])
    )
    items = [*basic_call(), msg(8, 9.5, call_id="leg-2", leg_id=9)]
    text = render_text(_lad(items, media))
    assert "+2.100 .. +8.900  RTP stream 0 caller: 10.0.0.1:4000 → 10.0.0.2:5000" in text
    assert "DTMF: 5@+3.000" in text
    assert "leg 1: Call-ID leg-2" in text
    assert "[1] INVITE" in text


def test_text_of_hostile_content_is_printable() -> None:
    text = render_text(_lad([msg(0, 0.0, user_agent="a\x1b[31mred\x00", method="IN\nVITE")]))
    assert "\x1b" not in text and "\x00" not in text
    assert text.count("\n") == len(text.splitlines())


def test_fragment_holds_svg_pane_and_data() -> None:
    items = basic_call()
    items[0]["raw"] = "INVITE sip:x SIP/2.0\r\nSubject: </script><script>alert(1)</script>\r\n\r\n"
    frag = ladder_fragment(_lad(items), links=[("SVG", "/calls/1/ladder.svg?a=1&b=<2>")])
    assert isinstance(frag, Html) and frag.__html__() == str(frag)
    assert frag.count("<script") == 1  # only the JSON data block
    assert '<a href="/calls/1/ladder.svg?a=1&amp;b=&lt;2&gt;">SVG</a>' in frag
    assert 'class="ladder-pane"' in frag and 'class="ladder-raw"' in frag
    data = re.search(
        r'<script type="application/json" class="ladder-data">(.*?)</script>', frag, re.S
    )
    assert data is not None
    parsed = json.loads(data.group(1))
    assert [m["n"] for m in parsed["messages"]] == list(range(1, 9))
    assert parsed["messages"][0]["raw"] == items[0]["raw"]
    assert parsed["messages"][3]["retrans_of"] == 3


def test_script_json_cannot_close_its_element() -> None:
    text = script_json({"a": "</script><!-- & \u2028 \ud800"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028 \ud800"}


def test_html_export_is_self_contained() -> None:
    page = render_html(_lad())
    assert page.startswith("<!DOCTYPE html>\n")
    assert "<link" not in page and "src=" not in page
    assert ".ladder-pane {" in page and "function diffLines" in page
    assert page.count('class="msg ') == 8
    assert "Call-ID: call-1@test" in page  # the raw messages travel with the file
    assert "<summary>The flow as text</summary><pre>SIP flow: 8 messages" in page
