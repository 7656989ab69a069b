"""End to end: synthetic calls through the real Analyzer give exactly the call records of their
ground truth (docs/CDR.md), and a finished call's memory is released."""

from __future__ import annotations

from pathlib import Path

import pytest

from sniffer.analyzer_config import AnalyzerConfig
from sniffer.flows import flow_key
from sniffer.netaddr import text_to_ip
from tests.pcapgen import (
    Call,
    Codec,
    IpPacket,
    MediaOpts,
    Party,
    Scenario,
    encapsulate,
    merge,
    options_ping,
    sip,
)
from tests.sniffer.e2e import T0, analyze_scenario, assert_call, new_analyzer, stream_key

PCMA: Codec = (8, "PCMA", 8000)
PCMU: Codec = (0, "PCMU", 8000)
G729: Codec = (18, "G729", 8000)
TE: Codec = (101, "telephone-event", 8000)


def _one(call: Call, **kw: object) -> None:
    """Build one call, analyse it, compare with its truth."""
    scen = call.build()
    run = analyze_scenario(scen)
    assert list(run.calls) == [call.call_id]
    assert_call(run.call(call.call_id), scen.calls[0], scen, **kw)


def _sip_times(scen: Scenario, summary: str) -> list[float]:
    return [ts for ts, m in scen.calls[0].sip if m == summary]


@pytest.mark.parametrize("hangup_by", ["caller", "callee"])
def test_answered_call_with_bye(hangup_by: str) -> None:
    call = Call(hangup_by=hangup_by)  # type: ignore[arg-type]
    scen = call.build()
    rec = analyze_scenario(scen).call(call.call_id)
    assert_call(rec, scen.calls[0], scen)
    bye = _sip_times(scen, "BYE")[0]
    assert (rec.state, rec.hangup_by, rec.bye_code) == ("completed", hangup_by, 200)
    assert rec.end_ts == bye
    assert rec.duration_s == pytest.approx(bye - T0, abs=1e-6)
    assert rec.connect_duration_s == pytest.approx(bye - (T0 + 1.05), abs=1e-6)
    assert (rec.ringing_ts, rec.answer_ts) == (T0 + 0.05, T0 + 1.05)
    assert [s.direction for s in rec.streams] == ["callee", "caller"]


def test_answered_call_read_from_a_pcap_file(tmp_path: Path) -> None:
    call = Call(dtmf="7", compact=True, lf_only=True)
    scen = call.build()
    run = analyze_scenario(scen, via_file=tmp_path / "call.pcap")
    assert_call(run.call(call.call_id), scen.calls[0], scen)


def test_cancelled_call_ends_at_the_cancel() -> None:
    call = Call(outcome="cancelled", ring_s=2.5)
    scen = call.build()
    rec = analyze_scenario(scen).call(call.call_id)
    assert_call(rec, scen.calls[0], scen)
    cancel = _sip_times(scen, "CANCEL")[0]
    assert (rec.state, rec.final_code, rec.end_ts) == ("cancelled", 487, cancel)
    assert (rec.answer_ts, rec.hangup_by, rec.connect_duration_s, rec.streams) == (
        None,
        None,
        0.0,
        [],
    )


@pytest.mark.parametrize(("code", "reason", "ring_s"), [(486, "Busy Here", 1.0),
                                                        (404, "Not Found", 0.0),
                                                        (503, "Service Unavailable", 0.3)])  # fmt: skip
def test_failed_call(code: int, reason: str, ring_s: float) -> None:
    call = Call(outcome="failed", final_code=code, ring_s=ring_s)
    scen = call.build()
    rec = analyze_scenario(scen).call(call.call_id)
    assert_call(rec, scen.calls[0], scen)
    final = _sip_times(scen, f"{code} INVITE")[0]
    assert (rec.state, rec.final_code, rec.final_reason, rec.end_ts) == (
        "failed",
        code,
        reason,
        final,
    )
    assert rec.ringing_ts == (None if ring_s == 0 else T0 + 0.05)


@pytest.mark.parametrize("outcome", ["answered", "failed"])
def test_challenge_then_resent_invite_is_one_call(outcome: str) -> None:
    call = Call(challenge=True, outcome=outcome, final_code=603)  # type: ignore[arg-type]
    scen = call.build()
    run = analyze_scenario(scen)
    assert list(run.calls) == [call.call_id]
    rec = run.call(call.call_id)
    assert_call(rec, scen.calls[0], scen)
    assert rec.challenged
    assert rec.final_code == (200 if outcome == "answered" else 603)
    assert rec.invite_ts == T0  # the first (challenged) INVITE


def test_retransmitted_invite_counted_not_applied_twice() -> None:
    call = Call(invite_retransmits=3)
    scen = call.build()
    rec = analyze_scenario(scen).call(call.call_id)
    assert_call(rec, scen.calls[0], scen)
    assert (rec.retransmissions, rec.invite_ts, rec.sip_messages) == (3, T0, 10)


def test_retransmitted_200_ok_counted_not_applied_twice() -> None:
    call = Call()
    scen = call.build()
    ok = next(p for p in scen.packets if p.kind == "sip" and sip.summary(p.payload) == "200 INVITE")
    copies = [ok._replace(ts=round(ok.ts + d, 6)) for d in (0.5, 1.5)]
    packets = sorted([*scen.packets, *copies], key=lambda p: p.ts)
    truth = scen.calls[0]
    truth.retransmissions = 2
    truth.sip += [(c.ts, "200 INVITE") for c in copies]
    rec = analyze_scenario(packets).call(call.call_id)
    assert_call(rec, truth, Scenario(packets, [truth]))
    assert rec.answer_ts == ok.ts


def test_reinvite_hold() -> None:
    call = Call(reinvite="hold", talk_s=3.0)
    scen = call.build()
    rec = analyze_scenario(scen).call(call.call_id)
    assert_call(rec, scen.calls[0], scen)
    assert {"reinvite", "hold"} <= set(rec.flags)
    assert "media_changed" not in rec.flags


def test_reinvite_new_port_keeps_media_in_the_call() -> None:
    call = Call(reinvite="port")
    scen = call.build()
    rec = analyze_scenario(scen).call(call.call_id)
    assert_call(rec, scen.calls[0], scen)
    assert {"reinvite", "media_changed"} <= set(rec.flags)
    moved = [s for s in rec.streams if 40100 in (s.src_port, s.dst_port)]
    assert len(moved) == 2  # the caller's stream from the new port and the callee's to it
    assert all(s.packets == 50 and s.lost == 0 for s in moved)


def test_reinvite_new_codec() -> None:
    call = Call(reinvite="codec")
    scen = call.build()
    rec = analyze_scenario(scen).call(call.call_id)
    assert_call(rec, scen.calls[0], scen)
    assert rec.codecs == ["PCMU", "PCMA"]
    assert sorted({s.codec for s in rec.streams}) == ["PCMA", "PCMU"]


def test_early_media_on_183() -> None:
    call = Call(early_media=True, ring_s=2.0)
    scen = call.build()
    rec = analyze_scenario(scen).call(call.call_id)
    assert_call(rec, scen.calls[0], scen)
    assert rec.ringing_ts == T0 + 0.05
    assert "early_media" in rec.flags
    early = [s for s in scen.calls[0].streams if s.phase == "early"]
    assert len(early) == 1
    got = {stream_key(s): s for s in rec.streams}[stream_key(early[0])]
    assert got.last_ts < rec.answer_ts  # type: ignore[operator]
    assert got.packets == early[0].expected.packets > 90


def test_call_without_bye_closed_by_inactivity_timeout() -> None:
    call = Call(bye=False)
    scen = call.build()
    truth = scen.calls[0]
    last = scen.packets[-1].ts
    # a later, unrelated packet moves the capture clock past the timeout
    later = options_ping(Party("carol", "10.0.0.3"), Party("dave", "10.0.0.4"), last + 10.5)
    run = analyze_scenario(merge(scen, later), config=AnalyzerConfig(call_timeout_s=10.0))
    rec = run.call(call.call_id)
    assert_call(rec, truth, scen, state="timeout", end_ts=last, flags=[*truth.flags, "timeout"])
    assert (rec.hangup_by, rec.bye_code, rec.final_code) == (None, None, 200)


def test_call_emitted_by_timeout_before_the_end_of_capture() -> None:
    call = Call(bye=False)
    scen = call.build()
    last = scen.packets[-1].ts
    later = options_ping(Party("carol", "10.0.0.3"), Party("dave", "10.0.0.4"), last + 10.5)
    run = analyze_scenario(merge(scen, later), config=AnalyzerConfig(call_timeout_s=10.0))
    assert [r.call_id for r in run.calls.values()] == [call.call_id]
    # not before the timeout: a packet 9.5 s after the last one does not close it
    early = options_ping(Party("carol", "10.0.0.3"), Party("dave", "10.0.0.4"), last + 9.5)
    run2 = new_analyzer(1, config=AnalyzerConfig(call_timeout_s=10.0))
    run2.analyzer.feed(encapsulate(merge(scen, early).packets).frames)
    assert run2.calls == {}
    assert call.call_id in run2.analyzer.tracker.calls


def test_call_without_bye_unterminated_at_end_of_capture() -> None:
    call = Call(bye=False, caller_media=MediaOpts(loss=frozenset({99})))
    scen = call.build()
    rec = analyze_scenario(scen).call(call.call_id)
    assert_call(rec, scen.calls[0], scen)
    assert rec.state == "unterminated"
    assert rec.end_ts == max(s.last_ts for s in rec.streams) == scen.packets[-1].ts
    assert "timeout" not in rec.flags


def test_media_on_other_ips_than_signalling() -> None:
    call = Call(
        caller=Party("alice", "10.0.0.1", rtp_port=30000, media_ip="172.16.0.11"),
        callee=Party("bob", "10.0.0.2", rtp_port=31000, media_ip="172.16.0.12"),
        rtcp=True,
    )
    scen = call.build()
    run = analyze_scenario(scen)
    rec = run.call(call.call_id)
    assert_call(rec, scen.calls[0], scen)
    assert {(s.src_ip, s.dst_ip) for s in rec.streams} == {
        ("172.16.0.11", "172.16.0.12"),
        ("172.16.0.12", "172.16.0.11"),
    }
    assert all(s.rtcp is not None and s.rtcp.sr_count > 0 for s in rec.streams)
    assert run.counters["rtp.unbound_packets"] == 0


def test_rfc4733_and_sip_info_dtmf_in_time_order() -> None:
    call = Call(dtmf="1#9", info_dtmf="5*", talk_s=3.0)
    scen = call.build()
    rec = analyze_scenario(scen).call(call.call_id)
    assert_call(rec, scen.calls[0], scen)
    # RFC 4733 digits at +0.23, +0.53, +0.83 s after the answer, INFO at +0.3, +0.7
    assert rec.dtmf == "15#*9"
    assert "sip_info_dtmf" in rec.flags


def test_rfc4733_dtmf_only() -> None:
    call = Call(dtmf="0123456789*#ABCD", talk_s=6.0)
    scen = call.build()
    rec = analyze_scenario(scen).call(call.call_id)
    assert_call(rec, scen.calls[0], scen)
    assert rec.dtmf == "0123456789*#ABCD"
    caller = next(s for s in rec.streams if s.direction == "caller")
    assert caller.telephone_events == 16 * 8
    assert "sip_info_dtmf" not in rec.flags


@pytest.mark.parametrize(
    ("offer", "codecs"),
    [((PCMA, PCMU, TE), ["PCMA"]), ((G729, TE), ["G729"]), ((PCMU,), ["PCMU"])],
)
def test_codecs_are_those_of_the_answer_without_telephone_event(
    offer: tuple[Codec, ...], codecs: list[str]
) -> None:
    call = Call(codecs=offer)
    scen = call.build()
    rec = analyze_scenario(scen).call(call.call_id)
    assert_call(rec, scen.calls[0], scen)
    assert rec.codecs == codecs


def _filler(at: float) -> Scenario:
    return options_ping(Party("carol", "10.0.0.3"), Party("dave", "10.0.0.4"), at)


def _held_keys(run_keys: set[bytes], scen: Scenario) -> set[bytes]:
    """Flow keys of ``scen``'s RTP/RTCP still present in ``run_keys``."""
    keys = set()
    for p in scen.packets:
        if p.kind != "sip":
            src, dst = text_to_ip(p.src), text_to_ip(p.dst)
            assert src is not None and dst is not None
            keys.add(flow_key(src, dst, p.sport, p.dport))
    return keys & run_keys


@pytest.mark.parametrize("kind", ["completed", "failed", "timeout"])
def test_memory_released_after_the_call(kind: str) -> None:
    other = Call(
        call_id="other@e2e",
        caller=Party("erin", "10.0.0.5", rtp_port=44000),
        callee=Party("frank", "10.0.0.6", rtp_port=54000),
        bye=False,
        talk_s=30.0,
    ).build()
    if kind == "completed":
        scen = Call(rtcp=True).build()
    elif kind == "failed":
        scen = Call(outcome="failed", final_code=486).build()
    else:
        scen = Call(bye=False).build()
    end = scen.packets[-1].ts
    packets: list[IpPacket] = merge(scen, other, _filler(end + 12.0)).packets
    run = new_analyzer(1, config=AnalyzerConfig(call_timeout_s=10.0, linger_s=5.0))
    a = run.analyzer
    a.feed(encapsulate(packets).frames)
    cid = scen.calls[0].call_id
    # emitted before the end of the capture, and forgotten
    assert list(run.calls) == [cid]
    assert cid not in a.tracker.calls
    assert "other@e2e" in a.tracker.calls
    assert not _held_keys(set(a.flowtable.flows), scen)
    assert all(t.call.call_id != cid for t in a.tracker.media.values())
    assert a.flowtable.orphans == {}
    a.finish()
    assert set(run.calls) == {cid, "other@e2e"}
    assert (a.tracker.calls, a.flowtable.flows, a.tracker.media) == ({}, {}, {})


def test_next_call_on_the_same_rtp_ports_while_the_previous_one_lingers() -> None:
    """Phones reuse their RTP ports: call B starts 0.3 s after call A's BYE, within A's 5 s
    linger, so B's RTP and RTCP arrive on A's cached flows; they are B's."""
    a = Call(call_id="A@e2e", rtcp=True, dtmf="1").build()
    b = Call(call_id="B@e2e", rtcp=True, dtmf="2", start=a.packets[-1].ts + 0.3).build()
    scen = merge(a, b)
    run = analyze_scenario(scen)
    for truth in scen.calls:
        assert_call(run.call(truth.call_id), truth, scen)
    assert run.counters["rtp.flows_rebound"] == 4  # RTP and RTCP, both directions
    assert run.call("B@e2e").streams[0].rtcp is not None


def test_next_call_on_the_same_ports_with_the_same_ssrc() -> None:
    """Like the test above, with a phone that keeps its SSRC across calls (sipp replaying the
    same pcap does): the SDP of call B hands A's flows over, whatever the SSRC."""
    same = (MediaOpts(ssrc=0x1234), MediaOpts(ssrc=0x5678))
    a = Call(call_id="A@e2e", caller_media=same[0], callee_media=same[1]).build()
    b = Call(
        call_id="B@e2e",
        caller_media=same[0],
        callee_media=same[1],
        start=a.packets[-1].ts + 0.3,
    ).build()
    scen = merge(a, b)
    run = analyze_scenario(scen)
    for truth in scen.calls:
        got = run.call(truth.call_id)
        assert (got.final_code, got.state) == (truth.final_code, "completed")
        want = sorted((s.ssrc, s.expected.packets, s.expected.lost) for s in truth.streams)
        assert sorted((s.ssrc, s.packets, s.lost) for s in got.streams) == want
    assert run.counters["rtp.flows_rebound"] >= 2


def test_concurrent_calls_to_one_media_server_port() -> None:
    """A media server (or sipp -rtp_echo) answers every call from the same ip:port: each
    flow binds to the call that announced its other end, not to the latest SDP."""
    server = Party("ivr", "10.0.9.9", rtp_port=6000)
    calls = [
        Call(
            call_id=f"c{i}@e2e",
            caller=Party(f"u{i}", f"10.0.1.{i + 1}", rtp_port=20000 + 2 * i),
            callee=server,
            start=1_700_000_000.0 + 0.001 * i,
            talk_s=3.0,
        ).build()
        for i in range(3)
    ]
    scen = merge(*calls)
    run = analyze_scenario(scen)
    for truth in scen.calls:
        got = run.call(truth.call_id)
        want = sorted((s.src_port, s.dst_port, s.expected.packets) for s in truth.streams)
        assert sorted((s.src_port, s.dst_port, s.packets) for s in got.streams) == want
