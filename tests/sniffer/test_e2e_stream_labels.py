"""End to end, the stream labels of generated captures (issue 8 item 4, issue 6 item 5):
telephone-events recognised in RTP without SDP, and the playout buffer following clock drift
while real jitter still costs discards. The call flags and codecs: test_e2e_labels.py."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

import pytest

from tests.pcapgen import DtmfEvent, IpPacket, RtpArrival, build_stream
from tests.pcapgen.rtp import rtp_packet
from tests.sniffer.e2e import T0, analyze_scenario, documented_jitter
from tests.sniffer.test_e2e_labels import (
    A_IP,
    A_RTP,
    B_IP,
    B_RTP,
    PCMU_TE,
    Dialog,
    audio,
    media_spec,
    sdp,
    stream,
)

# -- telephone-events in RTP without SDP ------------------------------------------------------


def _orphan(arrivals: Sequence[RtpArrival], sport: int) -> list[IpPacket]:
    return [IpPacket(a.ts, "10.9.9.1", sport, "10.9.9.2", sport + 2, "udp", a.payload, "rtp")
            for a in arrivals]  # fmt: skip


def _renumbered(arrivals: Sequence[RtpArrival], seq0: int = 500) -> list[RtpArrival]:
    """Consecutive sequence numbers (an SSRC that only carries these packets)."""
    out = []
    for k, a in enumerate(arrivals):
        seq = (seq0 + k) & 0xFFFF
        out.append(
            a._replace(seq=seq, payload=a.payload[:2] + seq.to_bytes(2, "big") + a.payload[4:])
        )
    return out


def test_rfc4733_shape_is_telephone_event_without_sdp() -> None:
    """RTP bound to no call: PT 101 events in a PCMU stream are recognised by their shape
    (4-byte payloads, repeated timestamps, growing duration, end bit): counted as events and
    kept out of the jitter, as Wireshark decodes PT 101 by default. An event-only stream too."""
    spec = media_spec(0xE7E7, count=200, dtmf=(DtmfEvent("1", 30), DtmfEvent("9", 120, 10)),
                      jitter_ms={i: (i * 13 % 7) * 0.9 for i in range(200)})  # fmt: skip
    mixed, _ = build_stream(spec)
    only_events = _renumbered(
        [a for a in build_stream(replace(spec, ssrc=0xE7E8))[0] if a.payload[1] & 0x7F == 101]
    )
    run = analyze_scenario(_orphan(mixed, 31000) + _orphan(only_events, 32000))
    got = {s.ssrc: s for s in run.orphan_streams}
    s = got[0xE7E7]
    assert (s.codec, s.payload_type, s.telephone_events, s.packets) == ("PCMU", 0, 18, 200)
    assert (s.max_delta_ms, s.max_jitter_ms, s.mean_jitter_ms) == pytest.approx(
        documented_jitter(mixed, 8000), abs=0.001
    )
    e = got[0xE7E8]
    assert (e.codec, e.payload_type, e.telephone_events, e.packets) == (
        "TELEPHONE-EVENT", 101, 18, 18)  # fmt: skip
    assert (e.max_jitter_ms, e.mos) == (None, None)
    assert run.counters["rtp.events_recognised"] == 2


def test_unmapped_event_payload_type_in_a_call_reports_its_digits() -> None:
    """Neither side's SDP maps 101 (no rtpmap at all): its digits are still reported."""
    d = Dialog("nomap@labels")
    d.setup(sdp(A_IP, audio(A_RTP, "0 101")), sdp(B_IP, audio(B_RTP, "0 101")))
    spec = media_spec(0xA0A, count=150, dtmf=(DtmfEvent("4", 20), DtmfEvent("2", 80)))
    d.rtp(True, build_stream(spec)[0])
    d.bye()
    rec, _ = d.run()
    assert rec.dtmf == "42" and rec.codecs == ["PCMU", "PT101"]
    assert stream(rec, 0xA0A).telephone_events == 16


def test_event_only_stream_of_a_call_reports_its_digits() -> None:
    """Some gateways send events on an SSRC of their own: the stream's main payload type is
    the event type, whose packets must still be decoded (not taken by the fast path)."""
    d = Dialog("evonly@labels")
    d.setup(sdp(A_IP, audio(A_RTP, *PCMU_TE)), sdp(B_IP, audio(B_RTP, *PCMU_TE)))
    spec = media_spec(0xA0A, count=120, dtmf=(DtmfEvent("5", 10), DtmfEvent("6", 60),
                                              DtmfEvent("0", 100)))  # fmt: skip
    d.rtp(True, _renumbered([a for a in build_stream(spec)[0] if a.payload[1] & 0x7F == 101]))
    d.bye()
    rec, _ = d.run()
    assert rec.dtmf == "560"
    s = stream(rec, 0xA0A)
    assert (s.telephone_events, s.packets, s.mos, s.max_jitter_ms) == (24, 24, None, None)


@pytest.mark.parametrize("payload_len", [160, 4])
def test_dynamic_audio_is_not_taken_for_events(payload_len: int) -> None:
    """Near misses: a dynamic PT with audio payloads, and one with 4-byte payloads whose
    timestamps advance every packet (no event repeats its timestamp): not telephone-events."""
    packets = [
        rtp_packet(100 + i, 160 * i, 0x5A5A, 98, bytes([3, 10, 0, 160]) * (payload_len // 4))
        for i in range(80)
    ]
    arrivals = [RtpArrival(T0 + 0.02 * i, 100 + i, 160 * i, p) for i, p in enumerate(packets)]
    run = analyze_scenario(_orphan(arrivals, 33000))
    (s,) = run.orphan_streams
    assert (s.codec, s.telephone_events, s.max_jitter_ms) == ("PT98", 0, None)
    assert run.counters["rtp.events_recognised"] == 0


# -- playout buffer and clock drift (issue 6 item 5) -----------------------------------------


def _stretched(arrivals: Sequence[RtpArrival], speed: float) -> list[RtpArrival]:
    """The same packets with an arrival clock running ``speed`` times the media clock (1.05:
    a replay 5 % slower than the capture's own clock)."""
    t0 = arrivals[0].ts
    return [a._replace(ts=round(t0 + (a.ts - t0) * speed, 6)) for a in arrivals]


@pytest.mark.parametrize("speed", [1.05, 1 / 1.05])
def test_clock_drift_is_followed_by_the_playout_buffer(speed: float) -> None:
    rnd = random.Random(5)
    spec = media_spec(0xA0A, count=1500, jitter_ms={i: rnd.uniform(0, 2) for i in range(1500)})
    d = Dialog(f"drift-{speed}@labels")
    d.setup(sdp(A_IP, audio(A_RTP, *PCMU_TE)), sdp(B_IP, audio(B_RTP, *PCMU_TE)))
    d.rtp(True, _stretched(build_stream(spec)[0], speed))
    d.bye()
    rec, _ = d.run()
    s = stream(rec, 0xA0A)
    assert (s.lost, s.playout_discard_pct) == (0, 0.0)
    assert s.mos is not None and s.mos >= 4.3  # was 1.13 with the fixed buffer


def test_real_jitter_still_costs_playout_discards() -> None:
    rnd = random.Random(6)
    spec = media_spec(0xA0A, count=1500, jitter_ms={i: rnd.uniform(0, 120) for i in range(1500)})
    d = Dialog("jittery@labels")
    d.setup(sdp(A_IP, audio(A_RTP, *PCMU_TE)), sdp(B_IP, audio(B_RTP, *PCMU_TE)))
    d.rtp(True, _stretched(build_stream(spec)[0], 1.05))
    d.bye()
    rec, _ = d.run()
    s = stream(rec, 0xA0A)
    assert s.lost <= 0 and s.playout_discard_pct is not None and s.playout_discard_pct > 10
    assert s.mos is not None and s.mos < 3.5
