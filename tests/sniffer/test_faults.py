"""The packet loop's guard: one packet's exception is counted and logged, never fatal; the
call it touched keeps a consistent state; the sink's own exceptions still reach the caller."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import pytest

from db.records import CallRecord, Record, RegistrationRecord
from sniffer import faults
from sniffer.analyzer import Analyzer
from sniffer.calls.call import Call as TrackedCall
from sniffer.calls.tracker import CallTracker
from sniffer.compiled import COMPILED, implementation
from sniffer.counters import Counters
from sniffer.diagnosis.diagnoser import Diagnoser
from sniffer.faults import FaultGuard, internal_errors
from sniffer.flows import Flow
from sniffer.media_path import MediaPath
from sniffer.netaddr import text_to_ip
from sniffer.rtp.stats import StreamStats
from sniffer.spool.spool import CallPcapSpool
from tests.pcapgen import Call, Party, encapsulate, merge, registration, sip
from tests.pcapgen.frames import IPPROTO_UDP, LINKTYPE_ETHERNET, ethernet, ipv4, udp
from tests.sniffer.e2e import T0, analyze_frames, analyze_scenario


def _frame(src: str, dst: str, payload: bytes, sport: int = 5060, dport: int = 5060) -> bytes:
    return ethernet(ipv4(src, dst, IPPROTO_UDP, udp(sport, dport, payload, src=src, dst=dst)))


def _two_calls() -> list[tuple[float, bytes]]:
    scen = merge(
        Call(call_id="one@t").build(),
        Call(call_id="two@t", start=T0 + 0.5,
             caller=Party("carol", "10.0.0.3", rtp_port=42000),
             callee=Party("dave", "10.0.0.4", rtp_port=52000)).build(),
    )  # fmt: skip
    _lt, frames = encapsulate(scen.packets, "plain")
    return list(frames)


@pytest.mark.parametrize(
    "text",
    [
        "10.0.0.1\0",
        "\0",
        "::1\0",
        "\udcff",
        "1.2.3.é",
        "[::1",
        "[]",
        "",
        "999.1.1.1",
        "fe80::1%eth0",
    ],
)
def test_text_to_ip_never_raises(text: str) -> None:
    assert text_to_ip(text) is None


def test_nul_in_sdp_address_and_contact_host_is_counted_not_fatal() -> None:
    invite = sip.invite("nul@t", "alice", "bob", "10.0.0.1", "10.0.0.2",
                        sdp_ip="10.0.0.1", sdp_port=4000)  # fmt: skip
    invite = invite.replace(b"c=IN IP4 10.0.0.1", b"c=IN IP4 10.0.0.1\0")
    reg = sip.register("carol", "example.com", contact_host="10.0.0.3\0:5060")
    records: list[Record] = []
    a = Analyzer(LINKTYPE_ETHERNET, records.append)
    a.feed([(T0, _frame("10.0.0.1", "10.0.0.2", invite)),
            (T0 + 1, _frame("10.0.0.3", "10.0.0.9", reg))])  # fmt: skip
    a.finish()
    assert a.counters["sdp.bad_connection_address"] == 1
    assert internal_errors(a.counters.snapshot()) == {}
    kinds = sorted(type(r).__name__ for r in records)
    assert kinds == ["CallRecord", "RegistrationRecord"]


def test_a_bug_on_one_sip_message_is_counted_logged_and_the_call_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = CallTracker._initial_invite_response

    def buggy(self: CallTracker, call: TrackedCall, msg: object, code: int, ts: float) -> None:
        if code == 180 and call.call_id == "one@t":
            raise KeyError("boom")
        real(self, call, msg, code, ts)  # type: ignore[arg-type]

    monkeypatch.setattr(CallTracker, "_initial_invite_response", buggy)
    with caplog.at_level(logging.ERROR, logger="sniffer.faults"):
        run = analyze_frames(LINKTYPE_ETHERNET, _two_calls())
    assert internal_errors(run.counters.snapshot()) == {"KeyError": 1}
    one, two = run.call("one@t"), run.call("two@t")
    # the 180 was lost to the bug; the rest of the call was analysed as usual
    assert (one.state, one.ringing_ts, one.final_code, len(one.streams)) == (
        "completed",
        None,
        200,
        2,
    )
    assert (two.state, two.ringing_ts is not None, len(two.streams)) == ("completed", True, 2)
    assert one.sip_messages == two.sip_messages
    [rec] = caplog.records
    assert "SIP 180 INVITE of Call-ID 'one@t'" in rec.getMessage()
    assert "captured at 2023-11-14T22:13:20.050000Z (1700000000.050000)" in rec.getMessage()
    assert "analyzer.internal_error.KeyError" in rec.getMessage()
    assert rec.exc_info is not None and rec.exc_info[0] is KeyError


@pytest.mark.skipif(
    implementation() == COMPILED,
    reason="compiled, the fast path calls StreamStats.add natively: a patched method is not seen "
    "(the next test injects its fault where both builds call through Python)",
)
def test_a_bug_on_the_fast_path_skips_that_packet_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real = StreamStats.add

    def buggy(self: StreamStats, seq: int, rtp_ts: int, ts: float, pt: int, m: bool) -> None:
        if seq % 10 == 3:
            raise ZeroDivisionError("boom")
        real(self, seq, rtp_ts, ts, pt, m)

    clean = analyze_frames(LINKTYPE_ETHERNET, _two_calls())
    monkeypatch.setattr(StreamStats, "add", buggy)
    run = analyze_frames(LINKTYPE_ETHERNET, _two_calls())
    bugs = internal_errors(run.counters.snapshot())["ZeroDivisionError"]
    packets = sum(s.packets for c in clean.calls.values() for s in c.streams)
    got = sum(s.packets for c in run.calls.values() for s in c.streams)
    assert bugs > 0 and got == packets - bugs
    assert {c.state for c in run.calls.values()} == {"completed"}


def test_a_bug_in_the_fast_path_sampler_is_counted_and_the_loop_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both builds: the level sampler (interpreted in both) raises on some fast-path packets,
    after their statistics: each is counted once, no packet or call is lost."""
    real = Diagnoser.sample
    seen: list[int] = []

    def buggy(self: Diagnoser, flow: Flow, buf: bytes) -> None:
        seen.append(1)
        if len(seen) % 3 == 0:
            raise ZeroDivisionError("boom")
        real(self, flow, buf)

    clean = analyze_frames(LINKTYPE_ETHERNET, _two_calls())
    monkeypatch.setattr(Diagnoser, "sample", buggy)
    run = analyze_frames(LINKTYPE_ETHERNET, _two_calls())
    bugs = internal_errors(run.counters.snapshot())["ZeroDivisionError"]
    assert bugs == len(seen) // 3 and bugs > 0

    def packets(calls: Iterable[TrackedCall]) -> dict[tuple[str, int], int]:
        return {(c.call_id, s.ssrc): s.packets for c in calls for s in c.streams}

    assert packets(run.calls.values()) == packets(clean.calls.values())
    assert {c.state for c in run.calls.values()} == {"completed"}


def test_a_failing_housekeeping_job_neither_stops_the_others_nor_runs_per_packet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def buggy(self: MediaPath, now: float) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(MediaPath, "expire", buggy)
    frames = _two_calls()
    records: list[Record] = []
    a = Analyzer(LINKTYPE_ETHERNET, records.append)
    a.feed(frames)
    a.feed([(frames[-1][0] + 30.0, b"\0" * 60)])  # 30 s later: the calls are done by then
    ticks = internal_errors(a.counters.snapshot())["RuntimeError"]
    assert ticks < len(frames) / 10  # once per tick (1 s of capture time), not per packet
    assert {r.call_id for r in records if isinstance(r, CallRecord)} == {"one@t", "two@t"}


def test_a_record_that_cannot_be_built_still_releases_its_pcap_and_flows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = TrackedCall.to_record

    def buggy(self: TrackedCall, reason: str) -> CallRecord:
        if self.call_id == "one@t":
            raise ValueError("boom")
        return real(self, reason)

    monkeypatch.setattr(TrackedCall, "to_record", buggy)
    with CallPcapSpool(tmp_path, LINKTYPE_ETHERNET) as spool:
        run = analyze_frames(LINKTYPE_ETHERNET, _two_calls(), spool=spool)
        assert spool.open_relpaths() == frozenset()
        assert spool.counters["calls_closed"] == 2
    assert sorted(run.calls) == ["two@t"]
    assert internal_errors(run.counters.snapshot()) == {"ValueError": 1}
    assert run.analyzer.flowtable.flows == {} and len(run.analyzer.flowtable.rtp) == 0
    assert len(list(tmp_path.rglob("*.pcap"))) == 2


@pytest.mark.parametrize("when", ["feed", "finish"])
def test_the_sinks_own_exception_reaches_the_caller_unchanged(when: str) -> None:
    frames = _two_calls()

    def sink(rec: Record) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    a = Analyzer(LINKTYPE_ETHERNET, sink)
    if when == "feed":
        frames.append((frames[-1][0] + 30.0, b"\0" * 60))
        with pytest.raises(BrokenPipeError):
            a.feed(frames)
    else:
        a.feed(frames[:5])
        with pytest.raises(BrokenPipeError):
            a.finish()
    assert internal_errors(a.counters.snapshot()) == {}


def test_registrations_and_messages_are_guarded_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from sniffer.calls.registrations import RegistrationTracker

    def buggy(self: RegistrationTracker, *args: object) -> None:
        raise AttributeError("boom")

    scen = registration(Party("carol", "10.0.0.3"), Party("reg", "10.0.0.9"), start=T0)
    monkeypatch.setattr(RegistrationTracker, "on_message", buggy)
    run = analyze_scenario(merge(scen, Call(call_id="one@t", start=T0 + 2).build()))
    assert internal_errors(run.counters.snapshot())["AttributeError"] >= 2
    assert run.call("one@t").state == "completed"
    assert not [r for r in run.records if isinstance(r, RegistrationRecord)]


def test_tracebacks_are_rate_limited(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(faults.time, "monotonic", lambda: clock[0])
    c = Counters()
    g = FaultGuard(c)
    with caplog.at_level(logging.ERROR, logger="sniffer.faults"):
        for i in range(20):
            g.fault(ValueError(str(i)), T0 + i, "packet", 60)
        assert len(caplog.records) == faults.LOG_BURST
        clock[0] += faults.LOG_INTERVAL_S + 1
        g.fault(TypeError("late"), T0 + 99, "packet", 60)
        g.fault(TypeError("later"), T0 + 100, "packet", 60)
    assert len(caplog.records) == faults.LOG_BURST + 1
    assert "(15 more since the last report)" in caplog.records[-1].getMessage()
    assert c["analyzer.internal_error.ValueError"] == 20
    assert c["analyzer.internal_error.TypeError"] == 2
    assert g.total == 22


def test_capture_time_of_a_bogus_timestamp() -> None:
    assert faults.capture_time(float("nan")) == "nan"
    assert faults.capture_time(T0) == "2023-11-14T22:13:20.000000Z (1700000000.000000)"
