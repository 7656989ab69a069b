"""End to end: SIP that is not an INVITE dialog - REGISTER records, MESSAGE records, and the
per-peer counts of OPTIONS/SUBSCRIBE/NOTIFY/... - through the real Analyzer."""

from __future__ import annotations

import subprocess

import pytest

from sniffer.capture.files import open_capture
from tests.pcapgen import (
    Call,
    IpPacket,
    Party,
    RegistrationTruth,
    im_message,
    merge,
    options_ping,
    registration,
    sip,
)
from tests.sniffer.e2e import T0, analyze_scenario, new_analyzer
from tests.sniffer.golden import GOLDEN

REGISTRAR = Party("reg", "10.0.0.9")


def _reg_fields(t: RegistrationTruth) -> tuple[object, ...]:
    """The record a truth stands for: ``ts`` is the final response (docs/CDR.md)."""
    return (t.user, t.domain, t.contact_ip, t.src_ip, t.src_port, t.result_ts, t.result_code,
            t.challenged, t.attempts, t.call_id)  # fmt: skip


@pytest.mark.parametrize("outcome", ["ok", "challenge", "forbidden", "unregister"])
def test_register(outcome: str) -> None:
    scen = registration(Party("carol", "10.0.0.3"), REGISTRAR, T0, outcome)  # type: ignore[arg-type]
    (truth,) = scen.registrations
    run = analyze_scenario(scen)
    (rec,) = run.registrations
    got = (rec.user, rec.domain, rec.contact_ip, rec.src_ip, rec.src_port, rec.ts,
           rec.result_code, rec.challenged, rec.attempts, rec.call_id)  # fmt: skip
    assert got == _reg_fields(truth)
    assert rec.user_agent == "callsift-pcapgen/1.0"
    if outcome in ("ok", "challenge", "unregister"):
        assert rec.expires == truth.expires
    assert (rec.result_code, rec.challenged) == {
        "ok": (200, False),
        "challenge": (200, True),
        "forbidden": (403, True),
        "unregister": (200, False),
    }[outcome]
    if outcome == "unregister":
        assert rec.expires == 0
    assert run.calls == {}


def test_register_retransmission_and_no_answer() -> None:
    ok = registration(Party("dan", "10.0.0.4"), REGISTRAR, T0, "ok")
    req, resp = ok.packets
    retransmitted = [req, req._replace(ts=T0 + 0.5), resp._replace(ts=T0 + 0.51)]
    lone = registration(Party("eve", "10.0.0.5"), REGISTRAR, T0 + 1, "ok").packets[0]
    run = analyze_scenario(sorted([*retransmitted, lone], key=lambda p: p.ts))
    recs = {r.user: r for r in run.registrations}
    assert sorted(recs) == ["dan", "eve"]
    assert (recs["dan"].result_code, recs["dan"].ts, recs["dan"].attempts) == (200, T0 + 0.51, 1)
    # never answered: no code, the REGISTER's time
    assert (recs["eve"].result_code, recs["eve"].ts) == (None, T0 + 1)


def test_many_registrations_interleaved_with_calls() -> None:
    regs = [
        registration(Party(f"user{i}", f"10.1.0.{i}"), REGISTRAR, T0 + 0.013 * i,
                     ("ok", "challenge", "forbidden", "unregister")[i % 4])
        for i in range(1, 21)
    ]  # fmt: skip
    scen = merge(Call(call_id="call@e2e").build(), *regs)
    run = analyze_scenario(scen)
    got = sorted((r.call_id, r.result_code, r.challenged, r.ts) for r in run.registrations)
    want = sorted((t.call_id, t.result_code, t.challenged, t.result_ts)
                  for t in scen.registrations)  # fmt: skip
    assert got == want
    assert list(run.calls) == ["call@e2e"]


@pytest.mark.parametrize(("body", "code"), [("hello bob", 200), ("ça va? ✓", 202),
                                            ("nobody here", 404)])  # fmt: skip
def test_message(body: str, code: int) -> None:
    scen = im_message(Party("alice", "10.0.0.1"), Party("bob", "10.0.0.2"), body, T0, code)
    (truth,) = scen.messages
    (rec,) = analyze_scenario(scen).messages
    assert (rec.from_, rec.to) == (f"sip:{truth.from_}", f"sip:{truth.to}")
    assert (rec.ts, rec.body, rec.result_code, rec.call_id) == (
        truth.ts,
        body,
        code,
        truth.call_id,
    )
    assert (rec.src_ip, rec.dst_ip, rec.truncated) == ("10.0.0.1", "10.0.0.2", False)


def test_message_unanswered_and_long_body() -> None:
    long = im_message(Party("alice", "10.0.0.1"), Party("bob", "10.0.0.2"), "x" * 5000, T0)
    unanswered = im_message(Party("carol", "10.0.0.3"), Party("bob", "10.0.0.2"), "hi", T0 + 1)
    packets = [*long.packets, unanswered.packets[0]]
    recs = {r.body[:2]: r for r in analyze_scenario(packets).messages}
    assert (len(recs["xx"].body), recs["xx"].truncated, recs["xx"].result_code) == (
        4096,
        True,
        200,
    )
    assert (recs["hi"].result_code, recs["hi"].ts) == (None, T0 + 1)


def _request(method: str, src: Party, dst: Party, ts: float, n: int) -> list[IpPacket]:
    cid = sip.token(method, src.user, n) + "@pcapgen"
    req = sip.request(method, f"sip:{dst.user}@{dst.host}", call_id=cid,
                      from_uri=f"sip:{src.user}@{src.host}", from_tag=sip.token(cid, "ft"),
                      to_uri=f"sip:{dst.user}@{dst.host}", cseq=1, via=src.sent_by,
                      extra_headers=[("Event", "presence")])  # fmt: skip
    return [
        IpPacket(ts, src.ip, 5060, dst.ip, 5060, "udp", req),
        IpPacket(ts + 0.01, dst.ip, 5060, src.ip, 5060, "udp", sip.response(req, 200)),
    ]


def test_options_subscribe_notify_counted_per_peer() -> None:
    a, b, c = Party("alice", "10.0.0.1"), Party("bob", "10.0.0.2"), Party("pbx", "10.0.0.10")
    packets: list[IpPacket] = []
    packets += options_ping(a, b, T0).packets + options_ping(a, c, T0 + 1).packets
    packets += options_ping(b, a, T0 + 2).packets
    packets += _request("SUBSCRIBE", a, c, T0 + 3, 1) + _request("NOTIFY", c, a, T0 + 4, 2)
    packets += _request("NOTIFY", c, a, T0 + 5, 3) + _request("PUBLISH", b, c, T0 + 6, 4)
    call = Call(call_id="call@e2e", start=T0 + 8).build()
    run = analyze_scenario(sorted([*packets, *call.packets], key=lambda p: p.ts))
    assert run.analyzer.signalling.peers.snapshot() == {
        "10.0.0.1": {"OPTIONS": 2, "SUBSCRIBE": 1},
        "10.0.0.2": {"OPTIONS": 1, "PUBLISH": 1},
        "10.0.0.10": {"NOTIFY": 2},
    }
    assert list(run.calls) == ["call@e2e"]
    assert (run.registrations, run.messages) == ([], [])


def test_golden_capture_peers_match_tshark() -> None:
    """voipshark capture: OPTIONS and NOTIFY of the PBX, counted as tshark lists them."""
    path = GOLDEN / "sip_rtp_g711u_call_register_voipshark.pcap"
    out = subprocess.run(
        ["tshark", "-r", str(path), "-Y", "sip.Request-Line", "-T", "fields",
         "-e", "ip.src", "-e", "sip.Method"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    want: dict[str, dict[str, int]] = {}
    for line in out.splitlines():
        ip, method = line.split("\t")
        if method in ("OPTIONS", "NOTIFY", "SUBSCRIBE", "PUBLISH"):
            per = want.setdefault(ip, {})
            per[method] = per.get(method, 0) + 1
    with open_capture(str(path)) as src:
        run = new_analyzer(src.linktype)
        run.analyzer.feed(src.packets())
        run.analyzer.finish()
    assert (
        run.analyzer.signalling.peers.snapshot()
        == want
        == {"192.168.20.130": {"NOTIFY": 4, "OPTIONS": 2}}
    )
