"""Columns (ports folded or split), rows, times, retransmissions, legs and lane positions."""

from __future__ import annotations

import pytest

from gui.ladder import Flow, LadderInputError, Media, build_ladder, merge_flows
from tests.gui.ladder.factory import T0, basic_call, call_json, msg, rtcp_stream, sip_json, stream


def _flow(**kw: object) -> Flow:
    return Flow.from_api(sip_json(basic_call(), **kw))  # type: ignore[arg-type]


def test_ports_of_one_ip_fold_into_one_column() -> None:
    lad = build_ladder(_flow())
    assert [(c.ip, c.port, c.ports) for c in lad.columns] == [
        ("10.0.0.1", None, (5060, 5062)),
        ("10.0.0.2", None, (5060,)),
    ]
    assert [(r.src, r.dst) for r in lad.rows] == [
        (0, 1),
        (1, 0),
        (1, 0),
        (1, 0),
        (1, 0),
        (0, 1),
        (0, 1),
        (1, 0),
    ]
    assert lad.columns[0].address == "10.0.0.1"


def test_split_gives_each_port_its_column() -> None:
    lad = build_ladder(_flow(), split=True)
    assert [c.address for c in lad.columns] == ["10.0.0.1:5060", "10.0.0.2:5060", "10.0.0.1:5062"]
    assert (lad.rows[6].src, lad.rows[6].dst) == (2, 1)
    only = build_ladder(_flow(), split={"10.0.0.2"})
    assert [c.address for c in only.columns] == ["10.0.0.1", "10.0.0.2:5060"]


def test_ipv6_address_with_port_is_bracketed() -> None:
    items = [msg(0, 0.0, "2001:db8::1:5060", "2001:db8::2:5080")]
    lad = build_ladder(Flow.from_api(sip_json(items)), split=True)
    assert [c.address for c in lad.columns] == ["[2001:db8::1]:5060", "[2001:db8::2]:5080"]


def test_columns_carry_aliases_and_user_agents() -> None:
    lad = build_ladder(_flow(aliases={"10.0.0.2": "pbx-1"}), aliases={"10.0.0.1": "alice"})
    assert [c.alias for c in lad.columns] == ["alice", "pbx-1"]
    assert [c.user_agents for c in lad.columns] == [("alice-phone/1.0",), ("bob-pbx/2.0",)]
    split = build_ladder(_flow(), split=True)
    assert split.columns[2].user_agents == ()
    assert "ports 5060,5062" in lad.columns[0].title


def test_times_are_relative_to_the_invite_with_deltas() -> None:
    items = [msg(0, 0.0, method="OPTIONS"), *[{**m, "index": m["index"] + 1} for m in basic_call()]]
    for m in items[1:]:
        m["ts"] = m["ts"].replace("T22:13:20", "T22:13:21")  # the call starts 1 s later
    lad = build_ladder(Flow.from_api(sip_json(items)))
    assert lad.t0 == pytest.approx(T0 + 1)
    assert lad.rows[0].rel_s == pytest.approx(-1.0)
    assert lad.rows[1].rel_s == pytest.approx(0.0)
    assert lad.rows[1].delta_s == pytest.approx(1.0)
    assert lad.rows[3].delta_s == pytest.approx(0.49)


def test_retransmissions_are_detected() -> None:
    lad = build_ladder(_flow())
    assert [r.retrans for r in lad.rows] == [False, False, False, True, False, False, False, False]
    assert lad.rows[3].retrans_of == 3
    assert "retransmission of #3" in lad.rows[3].title
    assert "| 2023-11-14 22:13:20.900000 UTC |" in lad.rows[3].title


def test_a_new_branch_or_another_leg_is_no_retransmission() -> None:
    items = [
        msg(0, 0.0),
        msg(1, 0.5, via_branch="z9hG4bK-other"),
        msg(2, 0.6, leg_id=8),
        msg(3, 1.0),
    ]
    lad = build_ladder(Flow.from_api(sip_json(items)))
    assert [r.retrans_of for r in lad.rows] == [None, None, None, 1]


def test_the_apis_flag_is_kept() -> None:
    items = [msg(0, 0.0), msg(1, 0.5, via_branch="b2", retransmission=True)]
    lad = build_ladder(Flow.from_api(sip_json(items)))
    assert [(r.retrans, r.retrans_of) for r in lad.rows] == [(False, None), (True, None)]


def test_labels_and_kinds() -> None:
    lad = build_ladder(_flow())
    assert [r.label for r in lad.rows[:3]] == ["INVITE (SDP)", "100 Trying", "180 Ringing"]
    assert [r.kind for r in lad.rows] == [
        "req",
        "s1xx",
        "s1xx",
        "s1xx",
        "s2xx",
        "req",
        "req",
        "s2xx",
    ]
    assert lad.rows[6].cseq_label == "CSeq 2 BYE"


def test_message_ids_are_stable_and_unique() -> None:
    a, b = build_ladder(_flow()), build_ladder(_flow())
    assert [r.mid for r in a.rows] == [r.mid for r in b.rows]
    twice = [msg(0, 0.0), msg(1, 0.0)]
    mids = [r.mid for r in build_ladder(Flow.from_api(sip_json(twice))).rows]
    assert len(set(mids)) == 2


def test_merged_legs_get_one_colour_per_call_id() -> None:
    leg2 = [
        msg(0, 0.05, "10.0.0.2:5060", "10.0.0.3:5060", call_id="leg-2", leg_id=9),
        msg(1, 1.5, "10.0.0.3:5060", "10.0.0.2:5060", "INVITE", 200, call_id="leg-2", leg_id=9),
    ]
    flow = merge_flows([Flow.from_api(sip_json(basic_call())), Flow.from_api(sip_json(leg2))])
    lad = build_ladder(flow)
    assert lad.call_ids == ("call-1@test", "leg-2")
    assert [r.leg for r in lad.rows][:4] == [0, 0, 1, 0]
    assert [r.msg.index for r in lad.rows] == list(range(10))
    assert [c.ip for c in lad.columns] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]


def test_position_interpolates_between_rows() -> None:
    lad = build_ladder(_flow())
    assert lad.position(T0 - 5) == -0.5
    assert lad.position(T0 + 100) == len(lad.rows) - 0.5
    assert lad.position(T0 + 2.0) == pytest.approx(4.0)
    assert lad.position(T0 + 5.505) == pytest.approx(5.5)


def test_media_is_read_from_the_call() -> None:
    call = call_json(
        [rtcp_stream()],
        [("5", 3.0), ("#", None)],
    )
    media = Media.from_api(call)
    assert media.streams[0].first_ts == pytest.approx(T0 + 2.1)
    assert media.streams[0].rtcp is not None and media.streams[0].rtcp.rtt_avg_ms == 12.5
    assert [(d.digit, d.ts is None) for d in media.dtmf] == [("5", False), ("#", True)]


def test_bad_input_names_the_problem() -> None:
    with pytest.raises(LadderInputError, match="SIP message 0: missing field 'src_ip'"):
        Flow.from_api({"items": [{"index": 0, "ts": "2026-01-01T00:00:00Z"}]})
    with pytest.raises(LadderInputError, match="not an ISO 8601 time: 'yesterday'"):
        Flow.from_api({"items": [{**msg(0, 0.0), "ts": "yesterday"}]})
    with pytest.raises(LadderInputError, match="SIP flow: missing field 'items'"):
        Flow.from_api({})
    with pytest.raises(LadderInputError, match="SIP flow: not shaped like the API's answer"):
        Flow.from_api({"items": [{**msg(0, 0.0), "src_port": "http"}]})
    with pytest.raises(LadderInputError, match="SIP flow: not shaped like the API's answer"):
        Flow.from_api({"items": [["not", "an", "object"]]})
    with pytest.raises(LadderInputError, match="call: not shaped like the API's answer"):
        Media.from_api({"streams": [{"index": 0, "first_ts": 0, "last_ts": 1, "packets": "many"}]})


def test_media_after_the_last_message_gets_a_tail() -> None:
    flow = Flow.from_api(sip_json(basic_call()))  # the last message at +9.02 s
    assert build_ladder(flow).tail == 0.0
    within = Media.from_api(call_json([stream(0, "10.0.0.1:4000", "10.0.0.2:5000", 2.1, 8.9)], []))
    assert build_ladder(flow, within).tail == 0.0
    longer = Media.from_api(
        call_json([stream(0, "10.0.0.1:4000", "10.0.0.2:5000", 2.1, 29.02)], [("7", 19.02)])
    )
    lad = build_ladder(flow, longer)
    assert lad.tail == 1.5 and lad.end_position == 9.0
    assert lad.position(T0 + 29.02) == pytest.approx(9.0)
    assert lad.position(T0 + 19.02) == pytest.approx(8.0)
    assert lad.position(T0 + 2.0) == pytest.approx(4.0)
