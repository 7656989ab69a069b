"""The ladder's SVG: one ``.msg`` per message with its attributes, columns, retransmissions,
lanes, escaping of hostile SIP text, determinism, the empty state."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from gui.ladder import Flow, Media, build_ladder, render_svg
from tests.gui.ladder.factory import basic_call, call_json, msg, rtcp_stream, sip_json, stream

NS = {"s": "http://www.w3.org/2000/svg"}


def _classes(e: ET.Element) -> list[str]:
    return (e.get("class") or "").split()


def _msgs(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [e for e in root.iter() if "msg" in _classes(e)]


def _svg(items: list[dict[str, object]] | None = None, **kw: object) -> str:
    flow = Flow.from_api(sip_json(items or basic_call()))
    return render_svg(build_ladder(flow, **kw))  # type: ignore[arg-type]


def test_one_msg_element_per_message_with_its_attributes() -> None:
    svg = _svg()
    msgs = _msgs(svg)
    assert len(msgs) == 8
    assert [e.get("id") for e in msgs] == [f"m{n}" for n in range(1, 9)]
    assert [e.get("data-index") for e in msgs] == [str(i) for i in range(8)]
    assert all(len(e.get("data-mid") or "") == 12 for e in msgs)
    assert _classes(msgs[0]) == ["msg", "req", "leg0"]
    assert _classes(msgs[3]) == ["msg", "s1xx", "leg0", "retrans"]
    assert ET.fromstring(svg).get("data-messages") == "8"


def test_each_arrow_has_a_label_a_cseq_and_times() -> None:
    first = _msgs(_svg())[0]
    texts = ["".join(t.itertext()) for t in first.findall("s:text", NS)]
    assert texts == ["1", "+0.000", "+0.0 ms", "INVITE (SDP)", "CSeq 1 INVITE"]
    title = first.find("s:title", NS)
    assert title is not None and "10.0.0.1:5060 → 10.0.0.2:5060 udp" in (title.text or "")
    retrans = _msgs(_svg())[3]
    line = retrans.find("s:line", NS)
    assert line is not None and line.get("stroke-dasharray") == "5 3"


def test_column_headers_fold_or_split() -> None:
    def cols(svg: str) -> list[list[str]]:
        root = ET.fromstring(svg)
        groups = [g for g in root.iter() if "col" in _classes(g)]
        return [["".join(t.itertext()) for t in g.findall("s:text", NS)] for g in groups]

    assert cols(_svg()) == [
        ["10.0.0.1", "ports 5060,5062", "alice-phone/1.0"],
        ["10.0.0.2", "bob-pbx/2.0"],
    ]
    assert cols(_svg(split=True, aliases={"10.0.0.1": "alice"})) == [
        ["alice", "10.0.0.1:5060", "alice-phone/1.0"],
        ["10.0.0.2:5060", "bob-pbx/2.0"],
        ["alice", "10.0.0.1:5062"],
    ]


def test_hostile_sip_text_is_escaped() -> None:
    evil = '<script>alert("x")</script>&amp;\x00\x1b'
    items = [
        msg(0, 0.0, user_agent=evil, summary=evil, cseq_method=evil),
        msg(1, 0.1, method=None, status=486, reason=evil, call_id=evil),
    ]
    svg = _svg(items, aliases={"10.0.0.1": evil})
    assert "<script" not in svg and "\x00" not in svg
    root = ET.fromstring(svg)
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    text = "".join(root.itertext())
    assert '<script>alert("x")</script>&amp;' in text
    assert len(_msgs(svg)) == 2


def test_output_is_deterministic() -> None:
    media = Media.from_api(
        call_json([stream(0, "10.0.0.1:4000", "10.0.0.2:5000", 2.1, 8.9)], [("1", 3.0)])
    )
    a = render_svg(build_ladder(Flow.from_api(sip_json(basic_call())), media))
    b = render_svg(build_ladder(Flow.from_api(sip_json(basic_call())), media))
    assert a == b


def test_standalone_file_is_an_svg_document() -> None:
    flow = Flow.from_api(sip_json(basic_call()))
    text = render_svg(build_ladder(flow), standalone=True)
    assert text.startswith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"'
    )
    root = ET.fromstring(text.encode())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("width") and root.get("viewBox", "").startswith("0 0 ")


def test_lanes_show_streams_with_their_quality_and_dtmf() -> None:
    streams = [
        rtcp_stream(),
        stream(1, "10.0.0.2:5000", "10.0.0.1:4000", 2.2, 8.9, mos=2.5, loss_pct=12.0),
        stream(2, "10.0.0.2:5002", "10.0.0.1:4002", 2.3, 8.0, mos=None),
    ]
    media = Media.from_api(call_json(streams, [("5", 3.0), ("#", 4.0), ("9", None)]))
    root = ET.fromstring(render_svg(build_ladder(Flow.from_api(sip_json(basic_call())), media)))
    lanes = [g for g in root.iter() if "lane" in _classes(g)]
    assert [_classes(g) for g in lanes] == [
        ["lane", "rtp", "q-good"],
        ["lane", "rtp", "q-bad"],
        ["lane", "rtp", "q-none"],
        ["lane", "dtmf"],
    ]
    heads = [g for g in root.iter() if "lane-head" in _classes(g)]
    assert len(heads) == 4
    first = ["".join(t.itertext()) for t in heads[0].findall("s:text", NS)]
    assert first == ["RTP 0", "RTT 12 ms", "PCMU", "MOS 4.10", "loss 0.8%"]
    assert ["".join(t.itertext()) for t in heads[3].findall("s:text", NS)] == ["DTMF", "9"]
    title = lanes[0].find("s:title", NS)
    assert title is not None and "RTCP 3 SR, 2 RR" in (title.text or "")
    digits = [g for g in lanes[3].iter() if "digit" in _classes(g)]
    assert ["".join(t.itertext()) for g in digits for t in g.findall("s:text", NS)] == ["5", "#"]
    assert len(_msgs(ET.tostring(root, encoding="unicode"))) == 8


def test_several_call_ids_get_a_legend() -> None:
    items = [msg(0, 0.0), msg(1, 0.1, call_id="other-leg", leg_id=8)]
    root = ET.fromstring(_svg(items))
    legend = [g for g in root.iter() if "legend" in _classes(g)]
    assert len(legend) == 1
    assert ["".join(t.itertext()) for t in legend[0].iter("{http://www.w3.org/2000/svg}text")] == [
        "call-1@test",
        "other-leg",
    ]
    assert [_classes(e)[2] for e in _msgs(_svg(items))] == ["leg0", "leg1"]
    swatches = [r.get("fill") for r in legend[0].iter("{http://www.w3.org/2000/svg}rect")]
    arrows = [e.find("s:line", NS) for e in _msgs(_svg(items))]
    assert [a.get("stroke") for a in arrows if a is not None] == swatches == ["#1f5fa8", "#b5487a"]


def test_empty_flow_says_so() -> None:
    root = ET.fromstring(render_svg(build_ladder(Flow(items=()))))
    assert not _msgs(ET.tostring(root, encoding="unicode"))
    assert "No SIP messages" in "".join(root.itertext())


def test_a_message_to_itself_loops() -> None:
    items = [msg(0, 0.0, "10.0.0.1:5060", "10.0.0.1:5070")]
    (g,) = _msgs(_svg(items))
    assert g.find("s:path", NS) is not None and g.find("s:line", NS) is None


def test_headers_are_drawn_last_so_they_can_stay_on_top() -> None:
    root = ET.fromstring(_svg())
    last = list(root)[-1]
    assert _classes(last) == ["heads"]
    assert len([g for g in last.iter() if "col" in _classes(g)]) == 2
    assert not [g for g in last.iter() if "msg" in _classes(g)]


def test_dtmf_digits_close_in_time_do_not_overlap() -> None:
    media = Media.from_api(call_json([], [("1", 3.0), ("2", 3.0), ("3", 3.01)]))
    root = ET.fromstring(render_svg(build_ladder(Flow.from_api(sip_json(basic_call())), media)))
    ys = [float(c.get("cy") or 0) for c in root.iter("{http://www.w3.org/2000/svg}circle")]
    assert len(ys) == 3 and ys[1] - ys[0] >= 20 and ys[2] - ys[1] >= 20


def test_a_window_of_a_long_flow() -> None:
    lad = build_ladder(Flow.from_api(sip_json(basic_call())))
    part = lad.window(2, 3)
    root = ET.fromstring(render_svg(part))
    msgs = [e for e in root.iter() if "msg" in _classes(e)]
    assert [e.get("id") for e in msgs] == ["m3", "m4", "m5"]
    assert _classes(msgs[1])[-1] == "retrans"
    assert [
        t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if "note" in _classes(t)
    ] == ["messages 3–5 of 8"]
    assert len([c for c in root.iter() if "col" in _classes(c)]) == 2
    past = ET.fromstring(render_svg(lad.window(50, 10)))
    assert "No message in this range: the flow has 8." in "".join(past.itertext())


def test_a_stream_outliving_the_signalling_is_drawn_below_it() -> None:
    media = Media.from_api(call_json([stream(0, "10.0.0.1:4000", "10.0.0.2:5000", 9.5, 60.0)], []))
    root = ET.fromstring(render_svg(build_ladder(Flow.from_api(sip_json(basic_call())), media)))
    (lane,) = [g for g in root.iter() if "lane" in _classes(g)]
    bar = lane.find("s:rect", NS)
    assert bar is not None and float(bar.get("height") or 0) > 42  # more than a row, not a sliver
    tail = [t for t in root.iter("{http://www.w3.org/2000/svg}text") if "tail" in _classes(t)]
    assert [t.text for t in tail] == ["+60.000  end of media"]
