"""RFC 4733 telephone-event detection."""

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.rtp.dtmf import DtmfDetector


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


@settings(max_examples=500)
@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.binary(max_size=8)), max_size=40))
def test_never_raises(packets: list[tuple[int, bytes]]) -> None:
    d = DtmfDetector()
    for ts, payload in packets:
        r = d.add(ts, payload)
        assert r is None or (len(r) == 1 and r in "0123456789*#ABCD")
    assert len(d.digits) + d.other_events + d.malformed <= len(packets)
