"""Shared helpers of the end-to-end sensor tests: run the real :class:`Analyzer` over frames
built by :mod:`tests.pcapgen` and compare its records with the generator's ground truth.

Where the generator's truth and docs/CDR.md disagree, the contract wins:

* a cancelled call ends at the CANCEL (the truth says the 487);
* ``telephone_events`` is the number of RFC 4733 *packets* of a stream (the truth counts
  events), taken from the capture itself;
* delta and jitter follow docs/QUALITY.md, which differs from tshark 4.0 (copied by the
  truth) for telephone-events and packets older than the first: they are compared with
  :func:`documented_jitter` over the stream's packets, itself checked equal to the truth's
  figures where the two definitions agree.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

from db.records import CallRecord, MessageRecord, Record, RegistrationRecord, StreamRecord
from sniffer.analyzer import Analyzer
from sniffer.analyzer_config import AnalyzerConfig
from sniffer.capture.files import open_capture
from sniffer.counters import Counters
from sniffer.rtp.codecs import STATIC_PT
from sniffer.seq import seq_diff
from sniffer.spool.spool import CallPcapSpool
from tests.pcapgen import (
    Call,
    CallTruth,
    IpPacket,
    MediaOpts,
    Party,
    RtpArrival,
    Scenario,
    StreamTruth,
    encapsulate,
    im_message,
    merge,
    registration,
    write_pcap,
)
from tests.pcapgen.encap import EncapOptions

T0 = 1_700_000_000.0
TS_ABS = 2e-6
"""Record times are rounded to the microsecond."""
JITTER_ABS_MS = 0.001

StreamKey = tuple[str, int, str, int, int]


@dataclass
class Run:
    """What one analyzer run produced."""

    analyzer: Analyzer
    records: list[Record] = field(default_factory=list)

    @property
    def counters(self) -> Counters:
        return self.analyzer.counters

    @property
    def calls(self) -> dict[str, CallRecord]:
        out: dict[str, CallRecord] = {}
        for r in self.records:
            if isinstance(r, CallRecord):
                assert r.call_id not in out, f"two call records for {r.call_id}"
                out[r.call_id] = r
        return out

    @property
    def registrations(self) -> list[RegistrationRecord]:
        return [r for r in self.records if isinstance(r, RegistrationRecord)]

    @property
    def messages(self) -> list[MessageRecord]:
        return [r for r in self.records if isinstance(r, MessageRecord)]

    @property
    def orphan_streams(self) -> list[StreamRecord]:
        return [r for r in self.records if isinstance(r, StreamRecord)]

    def call(self, call_id: str) -> CallRecord:
        calls = self.calls
        assert call_id in calls, f"no call record for {call_id}; got {sorted(calls)}"
        return calls[call_id]


def new_analyzer(
    linktype: int, *, config: AnalyzerConfig | None = None, spool: CallPcapSpool | None = None
) -> Run:
    records: list[Record] = []
    analyzer = Analyzer(linktype, records.append, spool=spool, config=config)
    return Run(analyzer, records)


def analyze_frames(
    linktype: int,
    frames: Iterable[tuple[float, bytes]],
    *,
    config: AnalyzerConfig | None = None,
    spool: CallPcapSpool | None = None,
    finish: bool = True,
) -> Run:
    """Feed ``frames`` (in one batch) to a fresh analyzer and finish it."""
    run = new_analyzer(linktype, config=config, spool=spool)
    run.analyzer.feed(frames)
    if finish:
        run.analyzer.finish()
    return run


def analyze_scenario(
    scen: Scenario | Sequence[IpPacket],
    how: str = "plain",
    *,
    options: EncapOptions | None = None,
    config: AnalyzerConfig | None = None,
    spool: CallPcapSpool | None = None,
    via_file: Path | None = None,
) -> Run:
    """Encapsulate a scenario's packets and analyse them, in memory or (``via_file``) through
    a pcap file read back with :func:`sniffer.capture.files.open_capture`."""
    packets = scen.packets if isinstance(scen, Scenario) else scen
    linktype, frames = encapsulate(packets, how, options)
    if via_file is None:
        return analyze_frames(linktype, frames, config=config, spool=spool)
    write_pcap(via_file, linktype, frames)
    with open_capture(str(via_file)) as src:
        run = new_analyzer(src.linktype, config=config, spool=spool)
        run.analyzer.feed(src.packets())
        run.analyzer.finish()
    return run


@cache
def multi_call_scenario() -> Scenario:
    """Four calls (answered with DTMF/RTCP/loss, cancelled, challenged re-INVITE on a new port
    hung up by the callee, failed), a challenged REGISTER and a MESSAGE, overlapping in time."""
    return merge(
        Call(call_id="c1@e2e", dtmf="12", rtcp=True,
             caller_media=MediaOpts(loss=frozenset({5, 70}))).build(),
        Call(call_id="c2@e2e", start=T0 + 0.5, outcome="cancelled",
             caller=Party("carol", "10.0.0.3", rtp_port=42000),
             callee=Party("dave", "10.0.0.4", rtp_port=52000)).build(),
        Call(call_id="c3@e2e", start=T0 + 0.7, reinvite="port", hangup_by="callee",
             challenge=True, early_media=True, info_dtmf="9",
             caller=Party("erin", "10.0.0.5", rtp_port=44000),
             callee=Party("bob", "10.0.0.2", rtp_port=54000)).build(),
        Call(call_id="c4@e2e", start=T0 + 0.9, outcome="failed", final_code=503,
             caller=Party("frank", "10.0.0.6", rtp_port=46000),
             callee=Party("gina", "10.0.0.7", rtp_port=56000)).build(),
        registration(Party("carol", "10.0.0.3"), Party("reg", "10.0.0.9"), start=T0 + 1.2),
        im_message(Party("alice", "10.0.0.1"), Party("bob", "10.0.0.2"), "hello", T0 + 2.5),
    )  # fmt: skip


# -- comparing with the truth ---------------------------------------------------------------


def stream_key(s: StreamRecord | StreamTruth) -> StreamKey:
    return (s.src_ip, s.src_port, s.dst_ip, s.dst_port, s.ssrc)


def event_packets(packets: Iterable[IpPacket], st: StreamTruth, event_pt: int = 101) -> int:
    """RFC 4733 packets of one stream in the capture (``telephone_events`` of its record)."""
    n = 0
    for p in packets:
        if (
            p.kind == "rtp"
            and (p.src, p.sport, p.dst, p.dport) == stream_key(st)[:4]
            and struct.unpack_from("!I", p.payload, 8)[0] == st.ssrc
            and p.payload[1] & 0x7F == event_pt
        ):
            n += 1
    return n


def stream_arrivals(packets: Iterable[IpPacket], key: StreamKey) -> list[RtpArrival]:
    """The RTP packets of one stream (4-tuple and SSRC) in the capture, in arrival order."""
    out = []
    for p in packets:
        if p.kind == "rtp" and (p.src, p.sport, p.dst, p.dport) == key[:4]:
            seq, rtp_ts, ssrc = struct.unpack_from("!HII", p.payload, 2)
            if ssrc == key[4]:
                out.append(RtpArrival(p.ts, seq, rtp_ts, p.payload))
    return out


def _close(a: float | None, b: float | None, tol: float = TS_ABS) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= tol


def stream_diffs(
    rec: StreamRecord, st: StreamTruth, packets: Sequence[IpPacket], *, timing: bool = True
) -> list[str]:
    """Differences between a stream record and its truth (empty when they agree)."""
    e = st.expected
    events = event_packets(packets, st)
    diffs = []
    want: dict[str, object] = {
        "payload_type": st.payload_type,
        "codec": st.codec,
        "direction": st.direction,
        "packets": e.packets,
        "lost": e.lost,
        "duplicates": e.duplicates,
        "out_of_order": e.out_of_order,
        "telephone_events": events,
    }
    for k, v in want.items():
        if getattr(rec, k) != v:
            diffs.append(f"stream {stream_key(st)} {k}: got {getattr(rec, k)!r}, want {v!r}")
    if abs(rec.loss_pct - e.loss_pct) > 0.0005:
        diffs.append(f"stream {stream_key(st)} loss_pct: got {rec.loss_pct}, want {e.loss_pct}")
    for k in ("first_ts", "last_ts"):
        if not _close(getattr(rec, k), getattr(e, k)):
            diffs.append(
                f"stream {stream_key(st)} {k}: got {getattr(rec, k)}, want {getattr(e, k)}"
            )
    if timing:
        arrivals = stream_arrivals(packets, stream_key(st))
        clock = STATIC_PT[st.payload_type][1]
        reference = documented_jitter(arrivals, clock)
        if events == 0 and not _older_than_first(arrivals):
            # where docs/QUALITY.md and tshark agree, so do the two references
            tshark = (e.max_delta_ms, e.max_jitter_ms, e.mean_jitter_ms)
            assert reference == pytest.approx(tshark, abs=1e-9), (st, reference, tshark)
        for k, v in zip(
            ("max_delta_ms", "max_jitter_ms", "mean_jitter_ms"), reference, strict=True
        ):
            got = getattr(rec, k)
            if (got is None) != (v is None) or (
                got is not None and v is not None and abs(got - v) > JITTER_ABS_MS
            ):
                diffs.append(f"stream {stream_key(st)} {k}: got {got}, want {v}")
    return diffs


def _older_than_first(arrivals: Sequence[RtpArrival]) -> bool:
    """Does a packet arrive after the stream's first one with an older sequence number?"""
    return any(seq_diff(a.seq, arrivals[0].seq) < 0 for a in arrivals)


def expected_end_ts(truth: CallTruth) -> float:
    """docs/CDR.md: a cancelled call ends at its first CANCEL."""
    if truth.state == "cancelled":
        return next(ts for ts, m in truth.sip if m == "CANCEL")
    return truth.end_ts


def call_diffs(
    rec: CallRecord,
    truth: CallTruth,
    packets: Sequence[IpPacket],
    *,
    state: str | None = None,
    end_ts: float | None = None,
    flags: Iterable[str] | None = None,
    timing: bool = True,
) -> list[str]:
    """Differences between a call record and its truth (empty when they agree). ``state``,
    ``end_ts`` and ``flags`` override the truth (e.g. a call closed by timeout)."""
    end = expected_end_ts(truth) if end_ts is None else end_ts
    answer = truth.answer_ts
    want: dict[str, object] = {
        "call_id": truth.call_id,
        "caller": truth.caller,
        "caller_domain": truth.caller_domain,
        "called": truth.called,
        "called_domain": truth.called_domain,
        "caller_ip": truth.caller_ip,
        "caller_port": truth.caller_port,
        "called_ip": truth.called_ip,
        "called_port": truth.called_port,
        "final_code": truth.final_code,
        "final_reason": truth.final_reason,
        "hangup_by": truth.hangup_by,
        "state": state or truth.state,
        "codecs": truth.codecs,
        "dtmf": truth.dtmf,
        "challenged": truth.challenged,
        "retransmissions": truth.retransmissions,
        "bye_code": truth.bye_code,
        "sip_messages": truth.sip_messages,
        "transport": truth.transport,
        "flags": sorted(set(truth.flags if flags is None else flags)),
    }
    diffs = [
        f"{k}: got {getattr(rec, k)!r}, want {v!r}" for k, v in want.items() if getattr(rec, k) != v
    ]
    times = {
        "invite_ts": truth.invite_ts,
        "ringing_ts": truth.ringing_ts,
        "answer_ts": answer,
        "end_ts": end,
        "duration_s": end - truth.invite_ts,
        "connect_duration_s": end - answer if answer is not None else 0.0,
    }
    diffs += [
        f"{k}: got {getattr(rec, k)!r}, want {v!r}"
        for k, v in times.items()
        if not _close(getattr(rec, k), v)
    ]
    got = {stream_key(s): s for s in rec.streams}
    want_keys = [stream_key(s) for s in truth.streams]
    if sorted(got) != sorted(want_keys):
        diffs.append(f"streams: got {sorted(got)}, want {sorted(want_keys)}")
    for st in truth.streams:
        if stream_key(st) in got:
            diffs += stream_diffs(got[stream_key(st)], st, packets, timing=timing)
    return diffs


def assert_call(rec: CallRecord, truth: CallTruth, scen: Scenario, **overrides: object) -> None:
    diffs = call_diffs(rec, truth, scen.packets, **overrides)  # type: ignore[arg-type]
    assert not diffs, "\n".join(diffs)


def documented_jitter(
    arrivals: Sequence[RtpArrival], clock: int, event_pts: frozenset[int] = frozenset({101})
) -> tuple[float | None, float | None, float | None]:
    """``(max_delta_ms, max_jitter_ms, mean_jitter_ms)`` of a stream as docs/QUALITY.md defines
    them: every audio packet, late ones and duplicates included, is measured in order of
    arrival against the previous one and becomes the next one's reference (RFC 3550 section
    6.4.1), except packets older than the stream's first (counted in the mean's divisor only);
    telephone-events never feed the estimator and do not count in the mean's divisor; the delta
    of a regular packet (events included) is measured to the previous packet of any kind. None
    where nothing was measured. An independent reference for streams without sequence jumps,
    comfort noise or timestamp discontinuities."""
    first: int | None = None
    highest: int | None = None
    prev: tuple[int, int] | None = None
    prev_any: int | None = None
    j = mean = 0.0
    max_j: float | None = None
    max_d: float | None = None
    n = 0
    for a in arrivals:
        us = round(a.ts * 1e6)  # exact arrival times: float epoch seconds lose digits
        since_any = None if prev_any is None else (us - prev_any) / 1e6
        prev_any = us
        pt, marker = a.payload[1] & 0x7F, a.payload[1] & 0x80
        ext = a.seq if highest is None else highest + seq_diff(a.seq, highest & 0xFFFF)
        first = ext if first is None else first
        highest = ext if highest is None else max(highest, ext)
        if pt in event_pts:
            if not marker and since_any is not None:
                max_d = since_any if max_d is None else max(max_d, since_any)
            continue
        if prev is None:
            prev, n = (us, a.rtp_ts), 1
            continue
        if ext >= first:
            rts = prev[1] + (((a.rtp_ts - prev[1]) + (1 << 31)) % (1 << 32) - (1 << 31))
            d = (us - prev[0]) / 1e6 - (rts - prev[1]) / clock
            j += (abs(d) - j) / 16
            delta = (us - prev[0]) / 1e6
            prev = (us, a.rtp_ts)
            if not marker:
                assert since_any is not None
                delta = min(delta, since_any)
                max_d = delta if max_d is None else max(max_d, delta)
                max_j = j if max_j is None else max(max_j, j)
                mean = (mean * (n - 1) + j) / n
        n += 1
    ms = [
        None if v is None else v * 1000 for v in (max_d, max_j, mean if max_j is not None else None)
    ]
    return ms[0], ms[1], ms[2]
