"""Memory stays bounded whatever arrives: the call and REGISTER tables are capped (dialogs
without any answer time out early under pressure, then new ones are refused, counted), and so
is what one call may accumulate (SSRCs, SDP endpoints)."""

from __future__ import annotations

import struct
import tracemalloc
from collections import Counter
from collections.abc import Iterator

import pytest

from db.records import CallRecord, Record, RegistrationRecord
from sniffer.analyzer import Analyzer
from sniffer.analyzer_config import AnalyzerConfig
from sniffer.calls.call import MAX_MEDIA_TARGETS, MAX_STREAMS
from sniffer.calls.tracker import TIMER_B_S
from sniffer.media_path import MAX_FLOW_STREAMS
from tests.pcapgen import sip
from tests.pcapgen.frames import IPPROTO_UDP, LINKTYPE_ETHERNET, ethernet, ipv4, udp

T0 = 1_700_000_000.0


def _frame(src: str, dst: str, payload: bytes, sport: int = 5060, dport: int = 5060) -> bytes:
    return ethernet(ipv4(src, dst, IPPROTO_UDP, udp(sport, dport, payload)))


class _Sink:
    """Counts records by type and state without keeping them (memory is what is measured)."""

    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()

    def __call__(self, rec: Record) -> None:
        if isinstance(rec, CallRecord):
            self.kinds[f"call.{rec.state}"] += 1
        else:
            self.kinds[type(rec).__name__] += 1


def _invite_flood(n: int, per_s: int, start: float = T0) -> Iterator[tuple[float, bytes]]:
    """``n`` INVITEs with SDP, each a new Call-ID, none ever answered."""
    template = _frame("10.9.0.1", "10.9.0.2", sip.invite(
        "X" * 12, "scanner", "100", "10.9.0.1", "10.9.0.2", sdp_ip="10.9.0.1", sdp_port=30000))  # fmt: skip
    at = template.index(b"X" * 12)
    for i in range(n):
        frame = template[:at] + f"{i:012d}".encode() + template[at + 12 :]
        yield start + i / per_s, frame


@pytest.mark.slow
def test_a_flood_of_unanswered_invites_stays_bounded() -> None:
    cap, per_s, seconds = 1000, 250, 40
    sink = _Sink()
    a = Analyzer(LINKTYPE_ETHERNET, sink, config=AnalyzerConfig(max_calls=cap))
    flood = _invite_flood(per_s * seconds, per_s)
    tracemalloc.start()
    try:
        sizes = []
        for second in range(seconds):
            a.feed([next(flood) for _ in range(per_s)])
            assert len(a.tracker.calls) <= cap
            assert len(a.tracker.media) <= 2 * cap
            if second in (14, seconds - 1):
                sizes.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    c = a.counters
    assert c["calls.created"] + c["calls.table_full"] == per_s * seconds
    assert c["calls.table_full"] > 0 and c["calls.pressure_timeout"] > 0
    # every admitted call ends as a record; none waits for the 300 s call timeout
    a.finish()
    assert sink.kinds["call.timeout"] + sink.kinds["call.unterminated"] == c["calls.created"]
    # 25 more seconds of flood with a full table: memory no longer grows
    first, last = sizes
    assert last < first * 1.1 + (1 << 20), (first, last)


def test_pressure_spares_calls_that_got_an_answer() -> None:
    cap = 200
    sink = _Sink()
    a = Analyzer(LINKTYPE_ETHERNET, sink, config=AnalyzerConfig(max_calls=cap))
    ringing = sip.invite("ring@t", "alice", "bob", "10.0.0.1", "10.0.0.2")
    a.feed([(T0, _frame("10.0.0.1", "10.0.0.2", ringing)),
            (T0 + 0.1, _frame("10.0.0.2", "10.0.0.1", sip.response(ringing, 180, to_tag="b1")))])  # fmt: skip
    a.feed(_invite_flood(cap, 10, start=T0 + 1))  # under pressure from here
    a.feed([(T0 + 1 + cap / 10 + TIMER_B_S + 2, b"\0" * 60)])
    assert "ring@t" in a.tracker.calls  # ringing for a minute and more: still tracked
    assert a.counters["calls.pressure_timeout"] > 0


def test_no_pressure_no_early_timeout() -> None:
    sink = _Sink()
    a = Analyzer(LINKTYPE_ETHERNET, sink, config=AnalyzerConfig(max_calls=1000))
    a.feed(_invite_flood(100, 10))
    a.feed([(T0 + 200.0, b"\0" * 60)])  # a capture that sees one direction only
    assert len(a.tracker.calls) == 100 and a.counters["calls.pressure_timeout"] == 0


def test_a_flood_of_challenged_registers_stays_bounded() -> None:
    cap, n = 1000, 5000
    sink = _Sink()
    a = Analyzer(LINKTYPE_ETHERNET, sink, config=AnalyzerConfig(max_registrations=cap))
    frames = []
    for i in range(n):
        reg = sip.register(f"u{i}", "example.com", contact_host="10.0.0.3:5060",
                           call_id=f"reg{i}@flood")  # fmt: skip
        ts = T0 + i / 100
        frames += [(ts, _frame("10.0.0.3", "10.0.0.9", reg)),
                   (ts + 0.001, _frame("10.0.0.9", "10.0.0.3", sip.response(reg, 401, to_tag="t")))]  # fmt: skip
    for i in range(0, len(frames), 200):
        a.feed(frames[i : i + 200])
        assert len(a.signalling.registrations.pending) <= cap
    c = a.counters
    assert c["register.pressure_timeout"] > 0
    a.finish()
    assert sink.kinds["RegistrationRecord"] == n - c["register.table_full"]


def test_one_call_cannot_hoard_streams_or_endpoints() -> None:
    records: list[Record] = []
    a = Analyzer(LINKTYPE_ETHERNET, records.append)
    invite = sip.invite("hoard@t", "alice", "bob", "10.0.0.1", "10.0.0.2",
                        sdp_ip="10.0.0.1", sdp_port=40000)  # fmt: skip
    ok = sip.response(invite, 200, to_tag="b1", sdp=b"v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=-\r\n"
                      b"c=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 50000 RTP/AVP 0\r\n")  # fmt: skip
    frames = [(T0, _frame("10.0.0.1", "10.0.0.2", invite)),
              (T0 + 1, _frame("10.0.0.2", "10.0.0.1", ok))]  # fmt: skip
    for i in range(5000):  # a new SSRC in every packet
        rtp = struct.pack("!BBHII", 0x80, 0, i, i * 160, 0x10000 + i) + bytes(160)
        frames.append((T0 + 2 + i / 1000, _frame("10.0.0.1", "10.0.0.2", rtp, 40000, 50000)))
    for i in range(500):  # re-INVITEs moving the media every time
        re = sip.invite("hoard@t", "alice", "bob", "10.0.0.1", "10.0.0.2", cseq=2 + i,
                        to_tag="b1", sdp_ip="10.0.0.1", sdp_port=2000 + 2 * i)  # fmt: skip
        frames.append((T0 + 8 + i / 100, _frame("10.0.0.1", "10.0.0.2", re)))
    a.feed(frames)
    call = a.tracker.calls["hoard@t"]
    assert len(call.streams) == MAX_FLOW_STREAMS  # one flow; MAX_STREAMS over all its flows
    assert len(call.media_targets) <= MAX_MEDIA_TARGETS
    assert a.counters["rtp.too_many_ssrcs"] > 0 and a.counters["sdp.too_many_endpoints"] > 0
    a.finish()
    [rec] = [r for r in records if isinstance(r, CallRecord)]
    assert len(rec.streams) == MAX_FLOW_STREAMS < MAX_STREAMS
    assert not [r for r in records if isinstance(r, RegistrationRecord)]
