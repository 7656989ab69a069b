"""Leg linking on one sensor: a B2BUA's two legs (different Call-IDs) linked by a correlation
header, by Session-ID only, by P-Charging-Vector icid, by media only; unrelated simultaneous
calls are not linked."""

from __future__ import annotations

from db.records import CallRecord, LegLink
from tests.sniffer.diagnosis.synth import (
    T0,
    IpPacket,
    MediaOpts,
    Party,
    add_header,
    analyse,
    call,
    packets_of,
)

ALICE = Party("alice", "10.0.0.1", rtp_port=40000)
B2BUA_IN = Party("gw", "10.0.0.5", rtp_port=30000)
B2BUA_OUT = Party("gw", "10.0.0.5", sip_port=5070, rtp_port=30100)
BOB = Party("bob", "10.0.0.2", rtp_port=50000)
UUID_A = "ab30317f1a784dc48ff824d0d3715d86"
UUID_B = "47755a9de7794ba387653f2099600ef2"


def b2bua(
    *,
    a_ssrcs: tuple[int | None, int | None] = (None, None),
    b_ssrcs: tuple[int | None, int | None] = (None, None),
) -> tuple[list[IpPacket], list[IpPacket]]:
    """Leg A (alice -> gw, Call-ID leg-a) and leg B (gw -> bob, Call-ID leg-b, 5 ms later)."""
    a = call(
        call_id="leg-a",
        caller=ALICE,
        callee=B2BUA_IN,
        caller_media=MediaOpts(ssrc=a_ssrcs[0]),
        callee_media=MediaOpts(ssrc=a_ssrcs[1]),
    )
    b = call(call_id="leg-b", caller=B2BUA_OUT, callee=BOB, start=T0 + 0.005,
             caller_media=MediaOpts(ssrc=b_ssrcs[0]), callee_media=MediaOpts(ssrc=b_ssrcs[1]))  # fmt: skip
    return packets_of(a), packets_of(b)


def legs(a: list[IpPacket], b: list[IpPacket], *more: list[IpPacket]) -> dict[str, CallRecord]:
    packets = a + b + [p for m in more for p in m]
    return analyse(packets).calls


def assert_linked(calls: dict[str, CallRecord], reason: str) -> None:
    a, b = calls["leg-a"], calls["leg-b"]
    assert a.leg_group == a.uid
    assert b.leg_group == a.uid
    assert a.leg_links == []
    assert b.leg_links == [LegLink(a.uid, "leg-a", reason)]


def test_x_cid_names_the_first_legs_call_id() -> None:
    a, b = b2bua()
    calls = legs(a, add_header(b, b"INVITE ", "X-CID: leg-a"))
    assert_linked(calls, "x-cid")
    assert calls["leg-b"].leg_keys.cids == ["leg-a"]


def test_same_correlation_value_on_both_legs() -> None:
    a, b = b2bua()
    a = add_header(a, b"INVITE ", "X-Orig-Call-ID: orig-77")
    b = add_header(b, b"INVITE ", "x-orig-call-id: orig-77")
    assert_linked(legs(a, b), "x-cid")


def test_session_id_only() -> None:
    a, b = b2bua()
    a = add_header(a, b"INVITE ", f"Session-ID: {UUID_A};remote={'0' * 32}")
    a = add_header(a, b"SIP/2.0 200", f"Session-ID: {UUID_B};remote={UUID_A}")
    b = add_header(b, b"INVITE ", f"Session-ID: {UUID_A.upper()};remote={'0' * 32}")
    calls = legs(a, b)
    assert_linked(calls, "session-id")
    assert calls["leg-a"].leg_keys.session_ids == [UUID_A, UUID_B]
    assert calls["leg-b"].leg_keys.session_ids == [UUID_A]


def test_icid_only() -> None:
    a, b = b2bua()
    pcv = "P-Charging-Vector: icid-value=1234bc9876e;icid-generated-at=192.0.6.8"
    a = add_header(a, b"INVITE ", pcv)
    b = add_header(b, b"INVITE ", pcv + ";orig-ioi=home1.net")
    calls = legs(a, b)
    assert_linked(calls, "icid")
    assert calls["leg-b"].leg_keys.icids == ["1234bc9876e"]


def test_same_media_only() -> None:
    a, b = b2bua(a_ssrcs=(0x1111, 0x2222), b_ssrcs=(0x1111, 0x2222))
    calls = legs(a, b)
    assert_linked(calls, "same-media")
    assert set(calls["leg-a"].leg_keys.ssrcs) == {0x1111, 0x2222}
    assert set(calls["leg-b"].leg_keys.ssrcs) == {0x1111, 0x2222}
    assert calls["leg-a"].leg_keys.media == ["10.0.0.1:40000", "10.0.0.5:30000"]


def test_same_ssrc_at_other_times_is_not_the_same_media() -> None:
    a, _b = b2bua(a_ssrcs=(0x1111, 0x2222))
    later = call(call_id="leg-b", caller=B2BUA_OUT, callee=BOB, start=T0 + 40.0,
                 caller_media=MediaOpts(ssrc=0x1111))  # fmt: skip
    calls = legs(a, packets_of(later))
    assert calls["leg-b"].leg_links == []
    assert calls["leg-b"].leg_group == calls["leg-b"].uid


def test_unrelated_simultaneous_calls_are_not_linked() -> None:
    a, b = b2bua()
    carol = call(call_id="other", caller=Party("carol", "10.0.0.7", rtp_port=42000),
                 callee=Party("dave", "10.0.0.8", rtp_port=52000), start=T0 + 0.002)  # fmt: skip
    a = add_header(a, b"INVITE ", "X-CID: shared-by-nobody-a")
    b = add_header(b, b"INVITE ", "X-CID: shared-by-nobody-b")
    calls = legs(a, b, packets_of(carol))
    for rec in calls.values():
        assert rec.leg_links == []
        assert rec.leg_group == rec.uid


def test_leg_index_links_within_the_window_expires_and_stays_bounded() -> None:
    from sniffer.diagnosis.legs import LegIndex, LegState

    idx = LegIndex(window_s=60.0, media_window_s=2.0, max_keys=10)
    legs = [LegState(f"u{i}", f"c{i}", 1000.0 + i, f"u{i}") for i in range(30)]
    for leg in legs:
        idx.add_call_id(leg)
        idx.add_keys(leg, "session-id", [f"s{leg.uid}"])
    assert len(idx) == 10  # open calls whose record never came: the oldest forgotten
    for leg in legs[-5:]:
        idx.close(leg, leg.ts + 30.0, [("call-id", leg.call_id), ("session-id", f"s{leg.uid}")])
    late = LegState("v", "d", 1029.0 + 80.0, "v")
    idx.add_keys(late, "cid", ["c29"])  # c29 was recorded at 1059: 50 s ago
    assert [(x.uid, x.reason) for x in late.links] == [("u29", "x-cid")]
    idx.expire(1059.0 + 61.0)
    assert len(idx) == 1  # only the late (open) leg's own key
    idx.close(late, late.ts, [("call-id", "d"), ("cid", "c29")])
    idx.expire(late.ts + 61.0)
    assert len(idx) == 0
    gone = LegState("w", "e", 1200.0, "w")
    idx.add_keys(gone, "cid", ["c29"])
    assert gone.links == [] and gone.group == "w"
