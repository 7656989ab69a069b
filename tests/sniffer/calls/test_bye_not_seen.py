"""An answered call whose BYE was lost from the capture but whose answer to the BYE (``CSeq: n
BYE``) was captured ends as a normal hang-up (docs/CDR.md, ``state``): ``completed`` at the
answer's time, hung up by the side opposite the answer's sender, flagged ``bye_not_seen``,
never ``timeout``."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sniffer.analyzer import AnalyzerConfig
from tests.pcapgen import Call, Party, Scenario, merge, options_ping
from tests.sniffer.e2e import analyze_scenario, assert_call


def _without_bye(scen: Scenario) -> tuple[Scenario, float]:
    """The scenario with its BYE request dropped; the time of the 200 OK to the BYE."""
    [bye_ts] = [ts for ts, m in scen.calls[0].sip if m == "BYE"]
    bye_packets = [p for p in scen.packets if p.kind == "sip" and p.payload.startswith(b"BYE ")]
    assert [p.ts for p in bye_packets] == [bye_ts]
    ok = [
        p
        for p in scen.packets
        if p.kind == "sip" and p.payload.startswith(b"SIP/2.0 200") and b" BYE\r\n" in p.payload
    ]
    assert len(ok) == 1 and ok[0].ts > bye_ts
    kept = [p for p in scen.packets if p is not bye_packets[0]]
    return Scenario(packets=kept, calls=scen.calls), ok[0].ts


@pytest.mark.parametrize("hangup_by", ["caller", "callee"])
def test_answer_to_an_unseen_bye_completes_the_call(hangup_by: str) -> None:
    call = Call(hangup_by=hangup_by)  # type: ignore[arg-type]
    scen, ok_ts = _without_bye(call.build())
    # the truth without the BYE: one SIP message fewer, the 200 OK ends the call
    sip = [(ts, m) for ts, m in scen.calls[0].sip if m != "BYE"]
    truth = replace(scen.calls[0], sip=sip, end_ts=ok_ts)
    last = scen.packets[-1].ts
    # a later packet moves the capture clock past the call timeout: before the fix the call
    # waited for it and closed as "timeout"; now it closes after the linger, as a hang-up
    later = options_ping(Party("carol", "10.0.0.3"), Party("dave", "10.0.0.4"), last + 10.5)
    run = analyze_scenario(merge(scen, later), config=AnalyzerConfig(call_timeout_s=10.0))
    rec = run.call(call.call_id)
    assert_call(rec, truth, scen, flags=[*truth.flags, "bye_not_seen"])
    assert (rec.state, rec.hangup_by, rec.bye_code, rec.end_ts) == (
        "completed",
        hangup_by,
        200,
        ok_ts,
    )
    assert "timeout" not in rec.flags and "bye_unanswered" not in rec.flags


def test_answer_to_an_unseen_bye_at_the_end_of_a_capture() -> None:
    """Offline: the capture ends right after the 200 OK: ``completed``, not ``unterminated``."""
    call = Call(hangup_by="callee")
    scen, ok_ts = _without_bye(call.build())
    rec = analyze_scenario(scen).call(call.call_id)
    assert (rec.state, rec.hangup_by, rec.end_ts, rec.bye_code) == (
        "completed",
        "callee",
        ok_ts,
        200,
    )


def test_a_seen_bye_keeps_its_own_time_and_no_flag() -> None:
    call = Call(hangup_by="caller")
    scen = call.build()
    rec = analyze_scenario(scen).call(call.call_id)
    [bye_ts] = [ts for ts, m in scen.calls[0].sip if m == "BYE"]
    assert (rec.state, rec.end_ts) == ("completed", bye_ts)
    assert "bye_not_seen" not in rec.flags
