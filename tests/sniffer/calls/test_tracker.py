"""Call and REGISTER tracking rules, message by message (the end-to-end tests cover whole calls)."""

from __future__ import annotations

from sniffer.calls.registrations import RegistrationTracker
from sniffer.calls.tracker import CallTracker
from sniffer.counters import Counters
from sniffer.sip.message import SipMessage

A = b"\x0a\x00\x00\x01"
B = b"\x0a\x00\x00\x02"
PROXY = b"\x0a\x00\x00\x03"


def sip(
    start: str, cid: str, cseq: str, *, to_tag: str = "", branch: str = "z9hG4bK1"
) -> SipMessage:
    to = "<sip:bob@b>" + (f";tag={to_tag}" if to_tag else "")
    text = (
        f"{start}\r\nVia: SIP/2.0/UDP a;branch={branch}\r\nFrom: <sip:alice@a>;tag=fa\r\n"
        f"To: {to}\r\nCall-ID: {cid}\r\nCSeq: {cseq}\r\nContent-Length: 0\r\n\r\n"
    )
    return SipMessage.parse(text.encode())


def feed(
    tracker: CallTracker, msg: SipMessage, ts: float, src: bytes = A, dst: bytes = B
) -> object:
    return tracker.on_message(msg, ts, src, 5060, dst, 5060, None, 17)


def test_in_dialog_requests_of_unknown_calls_make_no_call() -> None:
    c = Counters()
    t = CallTracker(c)
    for msg in (
        sip("BYE sip:bob@b SIP/2.0", "x1", "2 BYE", to_tag="tb"),
        sip("INVITE sip:bob@b SIP/2.0", "x2", "3 INVITE", to_tag="tb"),  # a re-INVITE
        sip("SIP/2.0 100 Trying", "x3", "1 INVITE"),
        sip("ACK sip:bob@b SIP/2.0", "x4", "1 ACK", to_tag="tb"),
    ):
        assert t.wants(msg)
        assert feed(t, msg, 1.0) is None
    assert t.calls == {}
    assert c["sip.no_dialog"] == 4


def test_a_final_response_without_its_invite_is_a_call() -> None:
    t = CallTracker(Counters())
    call = feed(t, sip("SIP/2.0 486 Busy Here", "y", "1 INVITE", to_tag="tb"), 5.0, B, A)
    assert call is not None
    rec = t.calls["y"].to_record("unterminated")
    assert (rec.final_code, rec.state, rec.caller_ip, rec.called_ip) == (
        486,
        "failed",
        "10.0.0.1",
        "10.0.0.2",
    )
    assert "no_invite_seen" in rec.flags


def test_challenge_then_resent_invite_is_one_call_with_the_second_final() -> None:
    t = CallTracker(Counters())
    feed(t, sip("INVITE sip:bob@b SIP/2.0", "z", "1 INVITE"), 1.0)
    feed(
        t, sip("SIP/2.0 407 Proxy Authentication Required", "z", "1 INVITE", to_tag="p"), 1.1, B, A
    )
    feed(t, sip("INVITE sip:bob@b SIP/2.0", "z", "2 INVITE", branch="z9hG4bK2"), 1.2)
    feed(t, sip("SIP/2.0 403 Forbidden", "z", "2 INVITE", to_tag="q", branch="z9hG4bK2"), 1.3, B, A)
    # the 407 retransmitted by the proxy is not a new final
    feed(
        t, sip("SIP/2.0 407 Proxy Authentication Required", "z", "1 INVITE", to_tag="p"), 1.4, B, A
    )
    rec = t.calls["z"].to_record("unterminated")
    assert (rec.final_code, rec.challenged, rec.state, rec.end_ts) == (403, True, "failed", 1.3)
    assert rec.retransmissions == 1


def test_register_scanner_reusing_a_cseq_and_a_relayed_copy() -> None:
    c = Counters()
    r = RegistrationTracker(c)

    def reg(cseq: int, branch: str, src: bytes = A, port: int = 5060) -> object:
        m = sip("REGISTER sip:b SIP/2.0", "r1", f"{cseq} REGISTER", branch=branch)
        return r.on_message(m, 1.0 + cseq, src, port)

    def resp(code: str, cseq: int, branch: str) -> object:
        m = sip(f"SIP/2.0 {code}", "r1", f"{cseq} REGISTER", to_tag="t", branch=branch)
        return r.on_message(m, 1.5 + cseq, B, 5060)

    assert reg(1, "b1") is None
    assert resp("401 Unauthorized", 1, "b1") is None
    assert reg(2, "b2") is None
    assert reg(2, "b2-relay", PROXY, 5070) is None  # a proxy relays it: same transaction
    assert resp("401 Unauthorized", 2, "b2") is None
    assert reg(2, "b3") is None  # same CSeq, new branch, same source: a scanner's new try
    rec = resp("200 OK", 2, "b3")
    assert rec is not None
    assert (rec.result_code, rec.challenged, rec.attempts) == (200, True, 3)
    assert r.pending == {}


def test_register_answered_on_the_relay_leg_only() -> None:
    r = RegistrationTracker(Counters())
    m = sip("REGISTER sip:b SIP/2.0", "r2", "1 REGISTER", branch="client")
    assert r.on_message(m, 1.0, A, 40000) is None
    relay = sip("REGISTER sip:b SIP/2.0", "r2", "1 REGISTER", branch="proxy")
    assert r.on_message(relay, 1.1, PROXY, 5060) is None
    ok = sip("SIP/2.0 200 OK", "r2", "1 REGISTER", to_tag="t", branch="proxy")
    rec = r.on_message(ok, 1.2, B, 5060)
    assert rec is not None and rec.result_code == 200


def test_mid_dialog_adoption_is_opt_in_and_bounded() -> None:
    c = Counters()
    t = CallTracker(c)
    t.adopt_mid_dialog(100.0, "mirror_split")
    # an ACK alone, a bare 100, an out-of-dialog request: still nothing
    assert feed(t, sip("ACK sip:bob@b SIP/2.0", "a", "1 ACK", to_tag="tb"), 1.0) is None
    assert feed(t, sip("SIP/2.0 100 Trying", "b", "1 INVITE"), 1.0) is None
    assert feed(t, sip("BYE sip:bob@b SIP/2.0", "c", "2 BYE"), 1.0) is None
    # the BYE of a dialog begun elsewhere, then its 200: a completed call
    assert feed(t, sip("BYE sip:bob@b SIP/2.0", "d", "2 BYE", to_tag="tb"), 50.0) is not None
    feed(t, sip("SIP/2.0 200 OK", "d", "2 BYE", to_tag="tb"), 50.1, B, A)
    rec = t.calls["d"].to_record("unterminated")
    assert (rec.state, rec.bye_code, rec.caller, rec.called, rec.caller_ip, rec.hangup_by) == (
        "completed", 200, "alice", "bob", "10.0.0.1", None
    )  # fmt: skip
    assert rec.flags == ["mirror_split", "no_invite_seen"]
    # after the window: counted, no call
    assert feed(t, sip("BYE sip:bob@b SIP/2.0", "e", "2 BYE", to_tag="tb"), 100.5) is None
    assert (c["calls.adopted"], c["sip.no_dialog"], set(t.calls)) == (1, 4, {"d"})


def test_an_adopted_dialog_from_a_response_swaps_the_parties() -> None:
    t = CallTracker(Counters())
    t.adopt_mid_dialog(10.0, "mirror_split")
    feed(t, sip("SIP/2.0 200 OK", "r", "5 UPDATE", to_tag="tb"), 1.0, B, A)
    call = t.calls["r"]
    assert (call.caller_ip, call.called_ip) == (A, B)
    assert "mirror_split" in call.flags
