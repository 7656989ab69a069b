"""Call / REGISTER / OPTIONS / MESSAGE scenarios: message flows, truth, and tshark's view."""

from pathlib import Path

import pytest

from tests.pcapgen import sip
from tests.pcapgen.call_media import MediaOpts
from tests.pcapgen.encap import encapsulate
from tests.pcapgen.reader import tshark, tshark_rtp_streams, tshark_sip_count
from tests.pcapgen.scenario import Call
from tests.pcapgen.sipflows import RegisterOutcome, im_message, options_ping, registration
from tests.pcapgen.truth import IpPacket, Party, Scenario, merge
from tests.pcapgen.writer import write_pcap

T0 = 1_700_000_000.0


def flow(s: Scenario) -> list[str]:
    return [m for _, m in s.calls[0].sip]


def sip_msgs(s: Scenario) -> list[IpPacket]:
    return [p for p in s.packets if p.kind == "sip"]


def test_answered_call_timeline_and_truth() -> None:
    s = Call().build()
    c = s.calls[0]
    assert flow(s) == ["INVITE", "100 INVITE", "180 INVITE", "200 INVITE", "ACK", "BYE", "200 BYE"]
    assert [t for t, _ in c.sip][:5] == pytest.approx(
        [T0, T0 + 0.01, T0 + 0.05, T0 + 1.05, T0 + 1.065]
    )
    assert (c.final_code, c.final_reason, c.state, c.hangup_by, c.bye_code) == (
        200,
        "OK",
        "completed",
        "caller",
        200,
    )
    assert (c.invite_ts, c.ringing_ts, c.answer_ts) == (T0, T0 + 0.05, T0 + 1.05)
    assert c.end_ts == c.sip[5][0] and c.codecs == ["PCMU"] and c.sip_messages == 7
    assert [(st.direction, st.src_port, st.dst_port, st.expected.packets) for st in c.streams] == [
        ("callee", 50000, 40000, 100),
        ("caller", 40000, 50000, 100),
    ]
    assert [p.ts for p in s.packets] == sorted(p.ts for p in s.packets)
    assert c.end_ts == pytest.approx(max(st.expected.last_ts for st in c.streams) + 0.05)


def test_cancelled_and_failed_calls() -> None:
    s = Call(outcome="cancelled").build()
    c = s.calls[0]
    assert flow(s) == [
        "INVITE",
        "100 INVITE",
        "180 INVITE",
        "CANCEL",
        "200 CANCEL",
        "487 INVITE",
        "ACK",
    ]
    assert (c.final_code, c.state, c.answer_ts, c.streams, c.codecs) == (
        487,
        "cancelled",
        None,
        [],
        [],
    )
    assert c.end_ts == c.sip[5][0]
    f = Call(outcome="failed", final_code=404, ring_s=0).build()
    assert flow(f) == ["INVITE", "100 INVITE", "404 INVITE", "ACK"]
    assert (f.calls[0].final_code, f.calls[0].final_reason, f.calls[0].ringing_ts) == (
        404,
        "Not Found",
        None,
    )
    assert Call(outcome="failed", final_code=503).build().calls[0].state == "failed"


def test_challenge_and_retransmissions() -> None:
    s = Call(challenge=True, invite_retransmits=2).build()
    c = s.calls[0]
    assert flow(s)[:7] == [
        "INVITE",
        "407 INVITE",
        "ACK",
        "INVITE",
        "INVITE",
        "INVITE",
        "100 INVITE",
    ]
    invites = [p.payload for p in sip_msgs(s) if sip.summary(p.payload) == "INVITE"]
    assert invites[1] == invites[2] == invites[3]
    second = sip.parse(invites[1])
    assert second.get("CSeq") == "2 INVITE" and second.get("Proxy-Authorization")
    assert second.get("Call-ID") == sip.parse(invites[0]).get("Call-ID")
    assert c.challenged and c.retransmissions == 2 and c.invite_ts == T0
    assert [t for t, m in c.sip if m == "INVITE"] == pytest.approx(
        [T0, T0 + 0.03, T0 + 0.53, T0 + 1.53]
    )


def test_early_media_and_hold() -> None:
    s = Call(early_media=True, reinvite="hold").build()
    c = s.calls[0]
    assert "183 INVITE" in flow(s) and sip.parse(sip_msgs(s)[2].payload).body.startswith(b"v=0")
    assert [(x.direction, x.phase) for x in c.streams] == [
        ("callee", "early"), ("callee", "main"), ("caller", "main"), ("caller", "after_reinvite")
    ]  # fmt: skip
    assert c.flags == ["early_media", "reinvite", "hold"]
    reinv = [p.payload for p in sip_msgs(s) if sip.summary(p.payload) == "INVITE"][1]
    assert b"a=sendonly" in reinv and sip.tag_of(sip.parse(reinv).get("To") or "")
    ok = [p.payload for p in sip_msgs(s) if sip.summary(p.payload) == "200 INVITE"][1]
    assert b"a=recvonly" in ok and b"o=- " in ok and b" 2 IN IP4" in ok


def test_reinvite_port_and_codec() -> None:
    p = Call(reinvite="port").build().calls[0]
    after = [x for x in p.streams if x.phase == "after_reinvite"]
    assert {(x.direction, x.src_port, x.dst_port) for x in after} == {
        ("caller", 40100, 50000), ("callee", 50000, 40100)
    }  # fmt: skip
    assert p.flags == ["reinvite", "media_changed"]
    k = Call(reinvite="codec").build().calls[0]
    assert k.codecs == ["PCMU", "PCMA"]
    assert [x.payload_type for x in k.streams] == [0, 0, 8, 8]
    assert len({x.ssrc for x in k.streams}) == 4


def test_no_bye_callee_hangup_and_media_ip() -> None:
    n = Call(bye=False).build()
    assert (
        flow(n)[-1] == "ACK" and n.calls[0].state == "unterminated" and n.calls[0].hangup_by is None
    )
    assert n.calls[0].end_ts == n.packets[-1].ts
    caller = Party("alice", "10.0.0.1", rtp_port=41000, media_ip="10.0.100.1")
    h = Call(hangup_by="callee", caller=caller).build()
    bye = next(x for x in sip_msgs(h) if sip.summary(x.payload) == "BYE")
    assert (bye.src, bye.dst) == ("10.0.0.2", "10.0.0.1") and h.calls[0].hangup_by == "callee"
    assert b"c=IN IP4 10.0.100.1" in sip_msgs(h)[0].payload
    assert {x.src for x in h.packets if x.kind == "rtp"} == {"10.0.100.1", "10.0.0.2"}


def test_dtmf_both_ways_and_rtcp() -> None:
    s = Call(dtmf="12", info_dtmf="3", rtcp=True, talk_s=4.0,
             caller_media=MediaOpts(loss=frozenset({50, 51}))).build()  # fmt: skip
    c = s.calls[0]
    assert c.dtmf == "132" and "sip_info_dtmf" in c.flags
    assert flow(s).count("INFO") == 1 and flow(s).count("200 INFO") == 1
    caller = next(x for x in c.streams if x.direction == "caller")
    callee = next(x for x in c.streams if x.direction == "callee")
    assert caller.expected.telephone_events == 2 and caller.expected.lost == 2
    assert caller.rtcp is not None and callee.rtcp is not None
    assert (caller.rtcp.sr_count, caller.rtcp.report_blocks) == (4, 4)
    assert caller.rtcp.cumulative_lost == 2 and callee.rtcp.cumulative_lost == 0
    rtcp = [x for x in s.packets if x.kind == "rtcp"]
    assert len(rtcp) == 8 and {x.sport for x in rtcp} == {40001, 50001}


def test_registrations_options_message() -> None:
    cli, reg = Party("carol", "10.0.0.3"), Party("registrar", "10.0.0.9")
    outcomes: tuple[RegisterOutcome, ...] = ("ok", "challenge", "forbidden", "unregister")
    flows = {o: registration(cli, reg, T0, o) for o in outcomes}
    summaries = {o: [sip.summary(p.payload) for p in s.packets] for o, s in flows.items()}
    assert summaries["ok"] == summaries["unregister"] == ["REGISTER", "200 REGISTER"]
    assert summaries["challenge"] == ["REGISTER", "401 REGISTER", "REGISTER", "200 REGISTER"]
    assert summaries["forbidden"][-1] == "403 REGISTER"
    t = {o: s.registrations[0] for o, s in flows.items()}
    assert (t["ok"].result_code, t["ok"].expires, t["ok"].challenged, t["ok"].attempts) == (
        200,
        3600,
        False,
        1,
    )
    assert (t["challenge"].challenged, t["challenge"].attempts, t["challenge"].result_ts) == (
        True,
        2,
        T0 + 0.04,
    )
    assert (t["forbidden"].result_code, t["unregister"].expires) == (403, 0)
    o = options_ping(cli, reg, T0)
    assert [sip.summary(p.payload) for p in o.packets] == ["OPTIONS", "200 OPTIONS"]
    m = im_message(cli, Party("dave", "10.0.0.4"), "hi there", T0, code=202)
    assert m.messages[0].result_code == 202 and m.messages[0].body == "hi there"
    assert sip.parse(m.packets[0].payload).body == b"hi there"


@pytest.mark.slow
def test_tshark_sees_every_message_and_stream(tmp_path: Path) -> None:
    cli, reg = Party("carol", "10.0.0.3"), Party("registrar", "10.0.0.9")
    jit = {i: ((i * 13) % 7 - 3) * 0.9 for i in range(150)}
    scen = merge(
        Call(call_id="c1", talk_s=3.0, caller_media=MediaOpts(loss=frozenset({9, 40}), jitter_ms=jit),
             callee_media=MediaOpts(start_seq=65480, duplicates=frozenset({20}))).build(),
        Call(call_id="c2", start=T0 + 0.3, challenge=True, outcome="cancelled", compact=True,
             caller=Party("x", "10.0.1.1"), callee=Party("y", "10.0.1.2")).build(),
        Call(call_id="c3", start=T0 + 0.6, early_media=True, reinvite="codec", lf_only=True,
             caller=Party("u", "10.0.2.1", rtp_port=30000), callee=Party("v", "10.0.2.2")).build(),
        registration(cli, reg, T0 + 0.1), options_ping(cli, reg, T0 + 0.2),
        im_message(cli, reg, "hello", T0 + 0.25),
    )  # fmt: skip
    path = tmp_path / "mix.pcap"
    write_pcap(path, *encapsulate(scen.packets))
    stat = tshark(path, "-q", "-z", "sip,stat")
    assert f"Number of SIP messages: {scen.sip_count()}\n" in stat
    assert tshark_sip_count(path) == scen.sip_count() == 7 + 10 + 10 + 4 + 2 + 2
    rows = {r.ssrc: r for r in tshark_rtp_streams(path)}
    streams = [st for c in scen.calls for st in c.streams]
    assert set(rows) == {st.ssrc for st in streams}
    for st in streams:
        row, exp = rows[st.ssrc], st.expected
        assert (row.src, row.sport, row.packets, row.lost) == (
            st.src_ip,
            st.src_port,
            exp.packets,
            exp.lost,
        )
        assert exp.max_jitter_ms is not None and exp.mean_jitter_ms is not None
        assert row.max_jitter_ms == pytest.approx(exp.max_jitter_ms, abs=0.05)
        assert row.mean_jitter_ms == pytest.approx(exp.mean_jitter_ms, abs=0.05)


def test_ipv6_and_tcp_native_calls(tmp_path: Path) -> None:
    v6 = Call(
        call_id="v6", caller=Party("a", "2001:db8::1"), callee=Party("b", "2001:db8::2")
    ).build()
    invite = sip_msgs(v6)[0].payload
    assert b"c=IN IP6 2001:db8::1" in invite and b"Via: SIP/2.0/UDP [2001:db8::1]:5060" in invite
    tcp = Call(call_id="t1", transport="tcp", start=T0 + 5).build()
    assert {p.transport for p in sip_msgs(tcp)} == {"tcp"} and b"SIP/2.0/TCP" in sip_msgs(tcp)[
        0
    ].payload
    path = tmp_path / "v6tcp.pcap"
    write_pcap(path, *encapsulate(merge(v6, tcp).packets))
    assert tshark_sip_count(path) == 14
