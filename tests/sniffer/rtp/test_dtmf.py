"""RFC 4733 telephone-event detection."""

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.rtp.dtmf import GUESS_PACKETS, DtmfDetector, EventGuess, looks_like_event
from tests.hypo import examples


def ev(event: int, end: bool = False, duration: int = 160, volume: int = 10) -> bytes:
    return struct.pack("!BBH", event, (0x80 if end else 0) | volume, duration)


def digits_of(packets: list[tuple[int, bytes]]) -> tuple[str, list[str | None]]:
    d = DtmfDetector()
    out = [d.add(ts, p) for ts, p in packets]
    return d.digits, out


def test_one_digit_with_updates_and_end_retransmissions() -> None:
    packets = [(1000, ev(5, duration=160 * i)) for i in range(1, 6)]
    packets += [(1000, ev(5, end=True, duration=960))] * 3
    digits, out = digits_of(packets)
    assert digits == "5"
    assert out == ["5"] + [None] * 7


def test_all_events_0_to_15() -> None:
    digits, _ = digits_of([(160 * i, ev(i)) for i in range(16)])
    assert digits == "0123456789*#ABCD"


def test_same_digit_twice_needs_a_new_timestamp() -> None:
    digits, _ = digits_of([(100, ev(1)), (100, ev(1, True)), (900, ev(1)), (900, ev(1, True))])
    assert digits == "11"


def test_first_packets_lost() -> None:
    digits, out = digits_of([(100, ev(7, True, 800)), (100, ev(7, True, 800))])
    assert (digits, out) == ("7", ["7", None])


def test_other_events_counted_once() -> None:
    d = DtmfDetector()
    assert d.add(500, ev(32, duration=100)) is None  # ANS fax tone
    assert d.add(500, ev(32, True, 900)) is None
    assert d.add(900, ev(194)) is None
    assert (d.digits, d.other_events, d.malformed) == ("", 2, 0)


def test_malformed() -> None:
    d = DtmfDetector()
    assert d.add(1, b"\x01\x80\x00") is None
    assert d.add(1, b"") is None
    assert (d.digits, d.malformed) == ("", 2)
    assert d.add(1, ev(1) + b"extra") == "1"


def test_long_event_segments_are_one_digit() -> None:
    """RFC 4733 2.5.1.3: an event longer than 0xFFFF ticks continues with a new timestamp."""
    packets = [
        (0, ev(9, duration=0xFFFF)),
        (0xFFFF, ev(9, duration=800)),
        (0xFFFF, ev(9, True, 1600)),
    ]
    digits, _ = digits_of(packets)
    assert digits == "9"
    digits, _ = digits_of([packets[0], (0xFFFF, ev(8))])
    assert digits == "98"


@settings(max_examples=examples(500))
@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.binary(max_size=8)), max_size=40))
def test_never_raises(packets: list[tuple[int, bytes]]) -> None:
    d = DtmfDetector()
    for ts, payload in packets:
        r = d.add(ts, payload)
        assert r is None or (len(r) == 1 and r in "0123456789*#ABCD")
    assert len(d.digits) + d.other_events + d.malformed <= len(packets)


def test_event_shape() -> None:
    assert looks_like_event(ev(16, True, 0))
    assert not looks_like_event(ev(17))  # not a DTMF event (e.g. 32 ANS)
    assert not looks_like_event(ev(5) + b"\x00")
    assert not looks_like_event(bytes([5, 0x40 | 10, 0, 160]))  # reserved bit set


def test_guess_confirmed_by_a_repeated_timestamp() -> None:
    g = EventGuess()
    assert g.add(0.0, 800, ev(3, duration=0)) is None
    assert g.add(0.02, 800, ev(3, duration=160)) is True
    assert [p[1] for p in g.pending] == [800, 800]
    assert g.add(0.04, 960, b"\x00" * 160) is True  # decided: stays decided


def test_guess_confirmed_by_end_copies() -> None:
    g = EventGuess()
    for k in range(3):
        state = g.add(0.01 * k, 1600, ev(11, True, 480))
    assert state is True and len(g.pending) == 2  # decided at the second copy


def test_guess_refuted() -> None:
    audio = EventGuess()
    assert audio.add(0.0, 0, b"\xff" * 160) is False and audio.pending == []
    shrinking = EventGuess()
    shrinking.add(0.0, 160, ev(1, duration=320))
    assert shrinking.add(0.02, 160, ev(1, duration=160)) is None  # not an update of the same
    advancing = EventGuess()
    states = {advancing.add(0.02 * i, 160 * i, ev(i % 16)) for i in range(GUESS_PACKETS)}
    assert states == {None, False} and advancing.state is False and advancing.pending == []


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.binary(max_size=8)), max_size=80))
def test_guess_never_raises_and_stays_bounded(packets: list[tuple[int, bytes]]) -> None:
    g = EventGuess()
    for i, (ts, payload) in enumerate(packets):
        g.add(float(i), ts, payload)
        assert len(g.pending) < GUESS_PACKETS
    assert g.state in (None, True, False)
