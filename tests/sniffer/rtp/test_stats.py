"""StreamStats on synthetic streams with figures known in advance."""

import pytest

from sniffer.rtp.burst import MAX_MISORDER, WINDOW
from sniffer.rtp.stats import StreamStats
from tests.sniffer.rtp.stats_reference import (
    PCMU,
    T0,
    Packet,
    clean,
    reference,
    reference_any,
    reference_in_arrival_order,
    run,
)


def test_empty_stream() -> None:
    s = StreamStats(PCMU)
    assert (s.packets, s.expected, s.lost, s.loss_pct, s.duplicates, s.out_of_order) == (
        0,
        0,
        0,
        0.0,
        0,
        0,
    )
    # not computed is null, not 0.0 (0.0 would read as perfect)
    assert (s.max_jitter_ms, s.mean_jitter_ms, s.max_delta_ms) == (None, None, None)
    assert s.jitter_ms == 0.0
    assert s.payload_type == -1 and s.payload_types == set()
    assert s.burst_ratio == 1.0 and s.playout_discard_pct is None
    assert s.mos("PCMU") is None


def test_single_packet() -> None:
    s = run(clean(1))
    assert (s.packets, s.expected, s.lost) == (1, 1, 0)
    assert s.first_ts == s.last_ts == T0
    assert (s.max_jitter_ms, s.mean_jitter_ms, s.max_delta_ms) == (None, None, None)
    assert s.playout_discard_pct == 0.0
    assert s.mos("PCMU") is None


def test_clean_stream() -> None:
    s = run(clean(1000))
    assert (s.packets, s.expected, s.lost, s.duplicates, s.out_of_order) == (1000, 1000, 0, 0, 0)
    assert s.max_jitter_ms == pytest.approx(0.0, abs=1e-3)
    assert s.mean_jitter_ms == pytest.approx(0.0, abs=1e-3)
    assert s.max_delta_ms == pytest.approx(20.0, abs=1e-3)
    assert s.first_ts == T0 and abs(s.last_ts - (T0 + 19.98)) < 1e-6
    assert s.payload_type == 0 and s.payload_types == {0}
    mos = s.mos("PCMU")
    assert mos is not None and 4.3 < mos < 4.4


def test_jitter_by_hand() -> None:
    """Arrivals 0, 20, 45, 60, 80 ms for 20 ms of audio each: D = 0, +5, -5, 0 ms."""
    arrivals = [0.0, 0.020, 0.045, 0.060, 0.080]
    s = run([(i, 160 * i, T0 + a, 0, False) for i, a in enumerate(arrivals)])
    j2 = 0.0
    j3 = (15 * j2 + 5) / 16  # 0.3125
    j4 = (15 * j3 + 5) / 16  # 0.60546875
    j5 = (15 * j4 + 0) / 16
    mean = 0.0
    for n, j in enumerate((j2, j3, j4, j5), start=1):  # Wireshark: n = packets before this one
        mean = (mean * (n - 1) + j) / n
    assert s.jitter_ms == pytest.approx(j5, abs=1e-3)
    assert s.max_jitter_ms == pytest.approx(j4, abs=1e-3)
    assert s.mean_jitter_ms == pytest.approx(mean, abs=1e-3)
    assert s.max_delta_ms == pytest.approx(25.0, abs=1e-3)


def test_figures_verified_with_tshark() -> None:
    """G.711u with sequence and timestamp wrap, 7 losses, a CN run, two marker packets and
    formula jitter; tshark 4.0.17 on this stream written to a pcap printed: 993 packets,
    7 lost, max delta 79.668, max jitter 3.954, mean jitter 0.767."""
    packets = []
    for i in range(1000):
        if i in (5, 6, 7, 400, 401, 402, 800):
            continue
        arrival = T0 + i * 0.02 + ((i * 7919) % 4001) * 1e-6 + (0.03 if i % 97 == 0 else 0.0)
        packets.append(
            (
                (65500 + i) & 0xFFFF,
                (4294960000 + 160 * i) & 0xFFFFFFFF,
                round(arrival, 6),
                13 if 300 <= i < 310 else 0,
                i in (310, 600),
            )
        )
    s = run(packets, {0: 8000, 13: 8000})
    assert (s.packets, s.lost, s.expected) == (993, 7, 1000)
    assert round(s.max_delta_ms, 3) == 79.668
    assert round(s.max_jitter_ms, 3) == 3.954
    assert round(s.mean_jitter_ms, 3) == 0.767
    assert s.payload_types == {0, 13} and s.payload_type == 0


def test_known_loss() -> None:
    dropped = {10, 11, 12, 300, 500, 501, 999}
    s = run([p for i, p in enumerate(clean(1001)) if i not in dropped])
    assert (s.packets, s.expected, s.lost, s.missing) == (994, 1001, 7, 7)
    assert abs(s.loss_pct - 700 / 1001) < 1e-9
    # 4 runs of missing packets: p = 4/994, q = 4/7
    assert abs(s.burst_ratio - 1 / (4 / 994 + 4 / 7)) < 1e-9


def test_loss_at_the_end_is_not_seen() -> None:
    s = run(clean(100)[:90])
    assert (s.expected, s.lost) == (90, 0)


def test_burst_ratio_of_one_burst() -> None:
    s = run([p for i, p in enumerate(clean(1000)) if not 100 <= i < 110])
    assert s.lost == 10
    assert abs(s.burst_ratio - 1 / (1 / 990 + 1 / 10)) < 1e-9
    assert s.burst_ratio > 9


def test_duplicates_make_lost_negative() -> None:
    packets = clean(100)
    packets = [*packets[:50], packets[49], packets[49], packets[20], *packets[50:]]
    s = run(packets)
    assert (s.packets, s.expected, s.lost, s.duplicates, s.out_of_order, s.missing) == (
        103,
        100,
        -3,
        3,
        0,
        0,
    )
    # the duplicates arrive with the same transit as their originals: D = 0 (they do feed J)
    assert s.max_jitter_ms == pytest.approx(0.0, abs=1e-3)


def test_duplicates_and_loss_together() -> None:
    packets = [p for i, p in enumerate(clean(100)) if i != 60]
    packets.insert(30, packets[29])
    s = run(packets)
    assert (s.packets, s.lost, s.duplicates, s.missing) == (100, 0, 1, 1)


def test_reordering() -> None:
    packets = clean(100)
    for i in (10, 40, 70):
        packets[i], packets[i + 1] = packets[i + 1], packets[i]
    s = run(packets)
    assert (s.packets, s.lost, s.duplicates, s.out_of_order) == (100, 0, 0, 3)
    assert s.burst_ratio == 1.0 and s.missing == 0


def test_late_packet_before_the_first() -> None:
    packets = clean(10)
    s = run(packets[1:] + packets[:1])
    assert (s.packets, s.expected, s.lost, s.out_of_order) == (10, 10, 0, 1)


def test_late_packet_at_the_window_edge() -> None:
    packets = clean(MAX_MISORDER + 10)
    late = packets.pop(9)
    packets.append(late)  # exactly MAX_MISORDER behind the highest
    s = run(packets)
    assert (s.packets, s.lost, s.out_of_order, s.duplicates) == (MAX_MISORDER + 10, 0, 1, 0)
    assert WINDOW > MAX_MISORDER


def test_very_late_packet_is_a_stray() -> None:
    """More than MAX_MISORDER behind: RFC 3550 A.1 probation; never confirmed, it is only
    counted in packets (so it offsets one loss, as tshark's count does)."""
    packets = clean(MAX_MISORDER + 10)
    late = packets.pop(5)
    packets.append(late)
    s = run(packets)
    n = MAX_MISORDER + 10
    assert (s.packets, s.expected, s.lost, s.out_of_order) == (n, n, 0, 0)


def test_sequence_wrap() -> None:
    s = run(clean(1000, seq0=65500, ts0=0xFFFFFF00))
    assert (s.packets, s.expected, s.lost) == (1000, 1000, 0)
    assert s.max_jitter_ms == pytest.approx(0.0, abs=1e-3)


def test_sequence_wrap_with_loss_across_it() -> None:
    s = run([p for p in clean(100, seq0=65500) if p[0] not in (65534, 65535, 0, 1)])
    assert (s.packets, s.expected, s.lost) == (96, 100, 4)


def test_source_restart_needs_two_sequential_packets() -> None:
    a = clean(50, seq0=100)
    b = clean(50, seq0=30000, ts0=160 * 50)
    b = [(q, t, T0 + 1.0 + 0.02 * i, pt, m) for i, (q, t, _a, pt, m) in enumerate(b)]
    s = run(a + b)
    assert (s.packets, s.expected, s.lost) == (100, 100, 0)


def test_stray_packet_after_jump_is_ignored() -> None:
    packets = clean(100)
    packets.insert(50, (packets[49][0] + 20000, 0, packets[49][2] + 0.001, 0, False))
    s = run(packets)
    assert (s.packets, s.expected, s.lost) == (101, 100, -1)
    assert s.max_jitter_ms == pytest.approx(0.0, abs=1e-3)


def test_marker_and_cn_are_not_regular() -> None:
    """The network delay steps up 40 ms at a CN packet and again at a marker packet: J jumps
    there, but max/mean jitter and max delta only see regular packets (the packet after CN is
    not regular either)."""
    packets = clean(30)
    packets = [
        (q, t, a + 0.04 * (i >= 10) + 0.04 * (i >= 20), pt, m)
        for i, (q, t, a, pt, m) in enumerate(packets)
    ]
    packets[10] = (*packets[10][:3], 13, False)
    packets[20] = (*packets[20][:3], 0, True)
    s = run(packets, {0: 8000, 13: 8000})
    max_d, max_j, mean, j = reference(packets)
    assert (s.max_delta_ms, s.max_jitter_ms, s.mean_jitter_ms, s.jitter_ms) == pytest.approx(
        (max_d, max_j, mean, j)
    )
    assert s.max_delta_ms == pytest.approx(20.0, abs=1e-3)  # the 60 ms gaps are not regular
    j_at_marker = (15 * (2.5 * (15 / 16) ** 9) + 40) / 16  # J at packet 20 (J was 2.5 at 10)
    assert s.max_jitter_ms == pytest.approx(j_at_marker * 15 / 16, abs=1e-3)  # packet 21
    assert s.payload_type == 0 and s.payload_types == {0, 13}


def test_first_packet_cn() -> None:
    packets = clean(10)
    packets[0] = (*packets[0][:3], 13, False)
    s = run(packets, {0: 8000, 13: 8000})
    assert s.payload_type == 0
    assert reference(packets)[:3] == pytest.approx(
        (s.max_delta_ms, s.max_jitter_ms, s.mean_jitter_ms)
    )


def test_timestamp_going_backwards_restarts_reference() -> None:
    packets = clean(100)
    packets[50:] = [(q, t - 80000, a, pt, m) for q, t, a, pt, m in packets[50:]]
    s = run(packets)
    assert s.max_jitter_ms == pytest.approx(0.0, abs=1e-3) and s.max_delta_ms == pytest.approx(
        20.0, abs=1e-3
    )
    assert s.lost == 0


def test_timestamp_jump_forward_restarts_reference() -> None:
    packets = clean(100)
    packets[50:] = [(q, t + 8000 * 3600, a, pt, m) for q, t, a, pt, m in packets[50:]]
    s = run(packets)
    assert s.max_jitter_ms == pytest.approx(0.0, abs=1e-3)


def test_late_packet_feeds_jitter_in_arrival_order() -> None:
    """Slots 5 and 6 swap arrival times (6 at 100 ms, 5 at 120 ms). RFC 3550 section 6.4.1 and
    tshark measure each packet against the previous one in order of arrival: 6 against 4
    (D = -20 ms), 5 against 6 (D = +40 ms), 7 against 5 (D = -20 ms)."""
    packets = clean(20)
    packets[5], packets[6] = (*packets[6][:2], packets[5][2], 0, False), (
        *packets[5][:2], packets[6][2], 0, False)  # fmt: skip
    s = run(packets)
    assert (s.out_of_order, s.lost, s.duplicates) == (1, 0, 0)
    j6 = 20 / 16
    j5 = j6 + (40 - j6) / 16
    j7 = j5 + (20 - j5) / 16
    assert s.max_jitter_ms == pytest.approx(j7, abs=1e-4)  # epoch floats: ~1e-7 s
    assert s.max_delta_ms == pytest.approx(20.0, abs=1e-3)
    assert (s.max_delta_ms, s.max_jitter_ms, s.mean_jitter_ms) == pytest.approx(
        reference_in_arrival_order(packets), abs=1e-6
    )


def test_duplicate_feeds_jitter_in_arrival_order() -> None:
    """A copy of slot 10 arriving 5 ms after it: D = +5 ms for the copy (same timestamp), and the
    copy is slot 11's reference: D = 15 - 20 = -5 ms."""
    packets = clean(20)
    packets.insert(11, (packets[10][0], packets[10][1], packets[10][2] + 0.005, 0, False))
    s = run(packets)
    assert (s.packets, s.duplicates, s.lost) == (21, 1, -1)
    j_dup = 5 / 16
    j11 = j_dup + (5 - j_dup) / 16
    assert s.max_jitter_ms == pytest.approx(j11, abs=1e-4)
    assert s.max_delta_ms == pytest.approx(20.0, abs=1e-3)
    assert (s.max_delta_ms, s.max_jitter_ms, s.mean_jitter_ms) == pytest.approx(
        reference_in_arrival_order(packets), abs=1e-6
    )
    assert s.playout_discards == 0  # the copy is not played: not a late discard


def test_packet_older_than_the_first_is_not_measured() -> None:
    """Slot 0 arrives after slot 1 (the stream's first packet): it is older than the stream's
    first packet, so it is neither measured nor a reference (as tshark 4.0): slot 2 is measured
    against slot 1, 40 ms for 20 ms of audio (D = +20 ms)."""
    packets = clean(10)
    packets[0], packets[1] = (*packets[1][:2], packets[0][2], 0, False), (
        *packets[0][:2], packets[1][2], 0, False)  # fmt: skip
    s = run(packets)
    assert (s.packets, s.lost, s.out_of_order) == (10, 0, 1)
    assert s.max_jitter_ms == pytest.approx(20 / 16, abs=1e-4)
    assert (s.max_delta_ms, s.max_jitter_ms, s.mean_jitter_ms) == pytest.approx(
        reference_in_arrival_order(packets), abs=1e-6
    )


def test_max_delta_needs_no_clock_rate() -> None:
    """A payload type with no known clock rate: no jitter (null, not 0.0), but an arrival gap
    needs no clock: the 40 ms hole of a lost packet shows in max delta."""
    packets = [(q, t, a, 110, m) for q, t, a, _pt, m in clean(50)]
    del packets[20]
    s = run(packets)
    assert s.max_jitter_ms is None and s.mean_jitter_ms is None
    assert s.max_delta_ms == pytest.approx(40.0, abs=1e-3)
    assert (s.audio_packets, s.lost, s.payload_type) == (0, 1, 110)
    assert s.playout_discard_pct is None and s.mos("PCMU") is None


def event_stream(with_events: bool) -> list[Packet]:
    """Audio with a digit: packets 100..109 replaced by telephone-events (same seq/arrivals,
    the event's RTP timestamp stays at its start), then audio resumes."""
    out: list[Packet] = []
    for i in range(300):
        arrival = T0 + 0.02 * i + ((i * 37) % 11) * 0.0003
        if 100 <= i < 110:
            if with_events:
                out.append((i, 160 * 100, arrival, 101, i == 100))
        else:
            out.append((i, 160 * i, arrival, 0, False))
    return out


def test_telephone_events_do_not_touch_jitter() -> None:
    audio_only = run(event_stream(False), {0: 8000, 101: 8000}, frozenset({101}))
    with_events = run(event_stream(True), {0: 8000, 101: 8000}, frozenset({101}))
    assert (with_events.packets, with_events.lost, with_events.event_packets) == (300, 0, 10)
    assert (audio_only.packets, audio_only.lost, audio_only.event_packets) == (290, 10, 0)
    for name in ("max_jitter_ms", "mean_jitter_ms", "jitter_ms", "playout_discards"):
        assert getattr(with_events, name) == getattr(audio_only, name), name
    # max delta is measured to the previous packet of any kind: the events fill the digit's
    # audio gap (220 ms without them), as in Wireshark
    assert audio_only.max_delta_ms == pytest.approx(220.0, abs=0.01)
    assert with_events.max_delta_ms == pytest.approx(21.2, abs=0.01)
    assert with_events.payload_types == {0, 101} and with_events.payload_type == 0
    assert with_events.audio_packets == audio_only.audio_packets == 290


def test_unknown_clock_rate_is_not_fed_to_jitter() -> None:
    packets = clean(50)
    packets[20] = (packets[20][0], 7, packets[20][2] + 0.05, 110, False)
    s = run(packets)
    assert (
        s.max_jitter_ms == pytest.approx(0.0, abs=1e-3)
        and s.audio_packets == 49
        and s.event_packets == 0
    )
    assert s.payload_types == {0, 110}


def test_dynamic_payload_clock() -> None:
    """opus at 48 kHz: 960 ticks per 20 ms."""
    packets = [
        (i, 960 * i, T0 + 0.02 * i + (0.005 if i == 10 else 0.0), 111, False) for i in range(30)
    ]
    s = run(packets, {111: 48000})
    assert abs(s.max_jitter_ms - reference_any(packets, 48000)) < 1e-6
    assert s.max_jitter_ms > 0.3


def test_clock_rate_change_restarts_reference() -> None:
    """PCMU at 8 kHz, then opus at 48 kHz on the same SSRC: the timestamps of the two
    timelines are not compared."""
    pcmu = clean(50)
    opus = [(50 + i, 777 + 960 * i, T0 + 1.0 + 0.02 * i, 111, False) for i in range(50)]
    s = run(pcmu + opus, {0: 8000, 111: 48000})
    assert s.max_jitter_ms == pytest.approx(0.0, abs=1e-3) and s.max_delta_ms == pytest.approx(
        20.0, abs=1e-3
    )
    assert s.payload_types == {0, 111} and s.payload_type == 0
