"""Each problem code on a synthetic capture that must raise it with its evidence, and a
near-miss that must not (docs/DIAGNOSIS.md has the definitions and the defaults used here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.sniffer.diagnosis.synth import (
    ANSWER,
    CALL_ID,
    QUIET,
    IpPacket,
    MediaOpts,
    Party,
    call,
    codes,
    details,
    drop,
    packets_of,
    record,
    rtp_of,
    shift_sip,
    with_payload,
)
from tests.sniffer.e2e import analyze_scenario

A, B = "10.0.0.1", "10.0.0.2"


def clean() -> list[IpPacket]:
    return packets_of(call())


def test_a_clean_call_raises_nothing() -> None:
    rec = record(clean())
    assert rec.problems == []
    assert rec.pdd_ms == 50  # INVITE -> 180


def without_rtp_between(packets: list[IpPacket], src: str | None, lo: float, hi: float) -> list:
    """Drop the RTP ``src`` sends (any source when None) with lo <= ts - answer < hi."""
    return drop(
        packets,
        lambda p: (
            not (p.kind == "rtp" and (src is None or p.src == src) and lo <= p.ts - ANSWER < hi)
        ),
    )


# -- no_rtp --------------------------------------------------------------------------------


def test_no_rtp() -> None:
    rec = record(drop(clean(), lambda p: p.kind != "rtp"))
    assert details(rec, "no_rtp") == ["0 RTP packets either way in 20.1 s after answer"]
    assert "one_way_audio" not in codes(rec)


def test_no_rtp_near_miss_call_too_short_for_media() -> None:
    rec = record(drop(packets_of(call(talk_s=0.5)), lambda p: p.kind != "rtp"))
    assert rec.answer_ts is not None
    assert "no_rtp" not in codes(rec)


# -- one_way_audio -------------------------------------------------------------------------


def test_one_way_audio_one_direction_never_sends() -> None:
    rec = record(drop(clean(), lambda p: not (p.kind == "rtp" and p.src == B)))
    assert details(rec, "one_way_audio") == ["callee->caller: 0 RTP packets in 20.1 s after answer"]
    assert "no_rtp" not in codes(rec)


def test_one_way_audio_one_direction_stops() -> None:
    rec = record(without_rtp_between(clean(), B, 5.0, 12.0))
    [detail] = details(rec, "one_way_audio")
    assert re.fullmatch(
        r"callee->caller: no RTP for 7\.0 s from \+5\.0 s after answer while caller->callee "
        r"flowed",
        detail,
    ), detail
    assert "media_timeout" not in codes(rec)


def test_one_way_audio_near_miss_shorter_gap() -> None:
    rec = record(without_rtp_between(clean(), B, 5.0, 9.0))
    assert "one_way_audio" not in codes(rec)


# -- silent_audio --------------------------------------------------------------------------


def quiet_from(packets: list[IpPacket], src: str, upto: float) -> list[IpPacket]:
    return [
        with_payload(p, QUIET) if p.kind == "rtp" and p.src == src and p.ts - ANSWER < upto else p
        for p in packets
    ]


def test_silent_audio() -> None:
    rec = record(quiet_from(clean(), B, 99.0))
    [detail] = details(rec, "silent_audio")
    m = re.fullmatch(
        r"callee->caller: (\d+) of (\d+) sampled G\.711 packets below -55 dBov", detail
    )
    assert m is not None, detail
    assert m.group(1) == m.group(2) and int(m.group(2)) >= 20  # 1000 packets, one in 32


def test_silent_audio_near_miss_mostly_silent() -> None:
    rec = record(quiet_from(clean(), B, 16.0))  # 80 % of the call: a listener, not a fault
    assert "silent_audio" not in codes(rec)


def test_silent_audio_is_measured_in_alaw_too() -> None:
    pcma = ((8, "PCMA", 8000),)
    packets = packets_of(call(codecs=pcma))
    assert record(packets).problems == []
    quiet = bytes([0xD5]) * 160  # A-law's smallest magnitude
    rec = record([with_payload(p, quiet) if p.kind == "rtp" and p.src == A else p for p in packets])
    assert [d.split(":")[0] for d in details(rec, "silent_audio")] == ["caller->callee"]


# -- nat_mismatch --------------------------------------------------------------------------


def test_nat_mismatch_rtp_from_another_port() -> None:
    packets = [p._replace(sport=41000) if p.kind == "rtp" and p.src == A else p for p in clean()]
    rec = record(packets)
    assert details(rec, "nat_mismatch") == [
        "caller->callee: RTP from 10.0.0.1:41000, SDP announced 10.0.0.1:40000"
    ]


def test_nat_mismatch_private_sdp_behind_public_signalling() -> None:
    caller = Party("alice", "81.2.69.142", rtp_port=40000, media_ip="192.168.1.10")
    rec = record(packets_of(call(caller=caller)))
    assert details(rec, "nat_mismatch") == [
        "caller: SDP announces private 192.168.1.10 but its signalling came from public 81.2.69.142"
    ]


def test_nat_mismatch_near_miss_public_everywhere_and_private_everywhere() -> None:
    caller = Party("alice", "81.2.69.142", rtp_port=40000)
    assert "nat_mismatch" not in codes(record(packets_of(call(caller=caller))))
    assert "nat_mismatch" not in codes(record(clean()))


# -- late_media ----------------------------------------------------------------------------


def test_late_media() -> None:
    rec = record(without_rtp_between(clean(), B, -1.0, 2.5))
    assert details(rec, "late_media") == ["callee->caller: first RTP 2.50 s after answer"]


def test_late_media_near_miss() -> None:
    rec = record(without_rtp_between(clean(), B, -1.0, 0.8))
    assert "late_media" not in codes(rec)


def test_early_media_flowing_at_the_answer_is_not_late() -> None:
    rec = record(packets_of(call(early_media=True, ring_s=2.0)))
    assert rec.problems == []


# -- media_timeout -------------------------------------------------------------------------


def test_media_timeout() -> None:
    rec = record(without_rtp_between(clean(), None, 5.0, 12.0))
    [detail] = details(rec, "media_timeout")
    assert re.fullmatch(r"no RTP either way for 7\.0 s from \+5\.0 s after answer", detail)
    assert "one_way_audio" not in codes(rec)


def test_media_timeout_rtp_stopped_before_the_bye() -> None:
    rec = record(without_rtp_between(clean(), None, 12.0, 99.0))
    assert details(rec, "media_timeout") == [
        "no RTP either way for 8.1 s from +12.0 s after answer"
    ]


def test_media_timeout_near_miss() -> None:
    rec = record(without_rtp_between(clean(), None, 5.0, 9.0))
    assert "media_timeout" not in codes(rec)


# -- rtp_after_bye -------------------------------------------------------------------------


def bye_earlier(dt: float) -> list[IpPacket]:
    packets = shift_sip(clean(), b"BYE ", -dt)
    return [
        p._replace(ts=round(p.ts - dt, 6))
        if p.kind == "sip" and p.payload.startswith(b"SIP/2.0 200") and b"CSeq: 2 BYE" in p.payload
        else p
        for p in packets
    ]


def test_rtp_after_bye() -> None:
    rec = record(bye_earlier(3.0))
    assert details(rec, "rtp_after_bye") == [
        "caller->callee: RTP until 2.95 s after the BYE",
        "callee->caller: RTP until 2.94 s after the BYE",
    ]


def test_rtp_after_bye_near_miss_packets_in_flight() -> None:
    assert "rtp_after_bye" not in codes(record(bye_earlier(0.4)))


# -- codec_mismatch ------------------------------------------------------------------------


def with_pt(p: IpPacket, pt: int) -> IpPacket:
    data = p.payload
    return p._replace(payload=data[:1] + bytes([(data[1] & 0x80) | pt]) + data[2:])


def test_codec_mismatch() -> None:
    packets = [with_pt(p, 18) if p.kind == "rtp" and p.src == B else p for p in clean()]
    rec = record(packets)
    assert details(rec, "codec_mismatch") == [
        "callee->caller: RTP payload type 18 (G729) not in the SDP answer (PCMU)"
    ]


def test_codec_mismatch_near_miss_comfort_noise() -> None:
    def cn(p: IpPacket) -> IpPacket:
        r = rtp_of(p)
        if r is None or p.src != B or r[1] % 50:
            return p
        return with_pt(p, 13)._replace(payload=p.payload[:12] + b"\x40")

    rec = record([cn(p) for p in clean()])
    assert "codec_mismatch" not in codes(rec)


# -- poor_quality --------------------------------------------------------------------------


def test_poor_quality() -> None:
    lossy = MediaOpts(loss=frozenset(range(10, 1000, 10)))
    rec = record(packets_of(call(caller_media=lossy)))
    [detail] = details(rec, "poor_quality")
    assert re.fullmatch(
        r"caller->callee SSRC 0x[0-9a-f]{8}: MOS [0-9.]+, loss 9\.9 % \(99 of 1000\)", detail
    ), detail


def test_poor_quality_near_miss() -> None:
    rec = record(packets_of(call(caller_media=MediaOpts(loss=frozenset({100, 500})))))
    assert "poor_quality" not in codes(rec)


# -- high_pdd ------------------------------------------------------------------------------


def test_high_pdd() -> None:
    rec = record(shift_sip(packets_of(call(ring_s=8.0)), b"SIP/2.0 180", 6.0))
    assert rec.pdd_ms == 6050
    assert details(rec, "high_pdd") == ["PDD 6.05 s (INVITE to first 18x)"]


def test_high_pdd_to_the_final_response_without_18x() -> None:
    rec = record(drop(packets_of(call(ring_s=5.0)), lambda p: b"SIP/2.0 180" not in p.payload))
    assert rec.pdd_ms == 5050
    assert details(rec, "high_pdd") == ["PDD 5.05 s (INVITE to final response)"]


def test_high_pdd_near_miss() -> None:
    rec = record(shift_sip(packets_of(call(ring_s=8.0)), b"SIP/2.0 180", 3.0))
    assert rec.pdd_ms == 3050
    assert "high_pdd" not in codes(rec)


# -- sip_retransmissions -------------------------------------------------------------------


def test_sip_retransmissions() -> None:
    rec = record(packets_of(call(invite_retransmits=4)))
    assert details(rec, "sip_retransmissions") == ["4 retransmissions: INVITE x4"]


def test_sip_retransmissions_near_miss() -> None:
    rec = record(packets_of(call(invite_retransmits=3)))
    assert rec.retransmissions == 3
    assert "sip_retransmissions" not in codes(rec)


# -- no_ack --------------------------------------------------------------------------------


def test_no_ack() -> None:
    rec = record(drop(clean(), lambda p: not p.payload.startswith(b"ACK ")))
    [detail] = details(rec, "no_ack")
    assert re.fullmatch(r"200 at \+1\.05 s never ACKed \(20\.\d s seen after it\)", detail)


def test_no_ack_near_miss_call_ended_before_the_ack_was_due() -> None:
    packets = packets_of(call(talk_s=0.5))
    rec = record(drop(packets, lambda p: not p.payload.startswith(b"ACK ")))
    assert "no_ack" not in codes(rec)
    assert "no_ack" not in codes(record(clean()))


# -- bye_unanswered ------------------------------------------------------------------------


def test_bye_unanswered() -> None:
    packets = drop(clean(), lambda p: not (p.kind == "sip" and b"CSeq: 2 BYE" in p.payload
                                            and p.payload.startswith(b"SIP/2.0")))  # fmt: skip
    rec = record(packets)
    [detail] = details(rec, "bye_unanswered")
    assert re.fullmatch(r"BYE from caller at \+21\.\d\d s got no response", detail), detail


def test_bye_unanswered_near_miss() -> None:
    assert "bye_unanswered" not in codes(record(clean()))


def test_the_registry_holds_exactly_the_documented_codes() -> None:
    from db.records import PROBLEM_CODES
    from sniffer.diagnosis.registry import RULES

    assert sorted(RULES) == sorted(PROBLEM_CODES)
    doc = (Path(__file__).parents[3] / "docs" / "DIAGNOSIS.md").read_text()
    for code in PROBLEM_CODES:
        assert f"* `{code}`" in doc, code


def test_pdd_of_a_challenged_call_runs_from_the_resent_invite() -> None:
    rec = record(packets_of(call(challenge=True)))
    assert rec.challenged and rec.pdd_ms == 50


@pytest.mark.parametrize("how", ["sll", "vlan", "ipv6"])
def test_silent_audio_off_the_fast_path(how: str) -> None:
    """Linux cooked captures, VLAN tags and IPv6 never take the inline fast path: the RTP
    path samples them the same way."""
    run = analyze_scenario(quiet_from(clean(), B, 99.0), how)
    rec = run.call(CALL_ID)
    assert [d.split(":")[0] for d in details(rec, "silent_audio")] == ["callee->caller"]
    loud = analyze_scenario(clean(), how).call(CALL_ID)
    assert "silent_audio" not in codes(loud)
