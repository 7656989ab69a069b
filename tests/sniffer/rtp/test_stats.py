"""StreamStats on synthetic streams with figures known in advance."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.rtp.burst import MAX_MISORDER, RING_SIZE
from sniffer.rtp.stats import StreamStats

T0 = 1_700_000_000.0
PCMU = {0: 8000}
Packet = tuple[int, int, float, int, bool]  # seq, rtp_ts, arrival, pt, marker


def clean(n: int, seq0: int = 1000, ts0: int = 0, pt: int = 0) -> list[Packet]:
    """n packets of 20 ms (160 ticks at 8 kHz) arriving exactly on time."""
    return [
        ((seq0 + i) & 0xFFFF, (ts0 + 160 * i) & 0xFFFFFFFF, T0 + 0.02 * i, pt, False)
        for i in range(n)
    ]


def run(
    packets: list[Packet],
    pt_clock: dict[int, int] | None = None,
    events: frozenset[int] = frozenset(),
) -> StreamStats:
    s = StreamStats(PCMU if pt_clock is None else pt_clock, events)
    for p in packets:
        s.add(*p)
    return s


def reference(packets: list[Packet]) -> tuple[float, float, float, float]:
    """Straight transcription of the documented rules for in-order 8 kHz streams:
    (max delta, max jitter, mean jitter, J) in ms."""
    j = max_j = max_d = mean = 0.0
    prev: Packet | None = None
    for n, p in enumerate(packets):
        if prev is not None:
            delta = (p[2] - prev[2]) * 1000
            d = delta - (p[1] - prev[1]) / 8
            j = (15 * j + abs(d)) / 16
            if not p[4] and p[3] not in (13, 19) and prev[3] not in (13, 19):
                max_d = max(max_d, delta)
                max_j = max(max_j, j)
                mean = (mean * (n - 1) + j) / n
        prev = p
    return max_d, max_j, mean, j


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
    assert (s.max_jitter_ms, s.mean_jitter_ms, s.max_delta_ms, s.jitter_ms) == (0.0, 0.0, 0.0, 0.0)
    assert s.payload_type == -1 and s.payload_types == set()
    assert s.burst_ratio == 1.0 and s.jitter_buffer_loss_pct == 0.0
    assert s.mos("PCMU") is None


def test_single_packet() -> None:
    s = run(clean(1))
    assert (s.packets, s.expected, s.lost) == (1, 1, 0)
    assert s.first_ts == s.last_ts == T0
    assert s.mos("PCMU") is None


def test_clean_stream() -> None:
    s = run(clean(1000))
    assert (s.packets, s.expected, s.lost, s.duplicates, s.out_of_order) == (1000, 1000, 0, 0, 0)
    assert s.max_jitter_ms < 1e-3 and s.mean_jitter_ms < 1e-3
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
    assert s.max_jitter_ms < 1e-3  # duplicates never feed the jitter estimator


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
    assert RING_SIZE > MAX_MISORDER


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
    assert s.max_jitter_ms < 1e-3


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
    assert s.max_jitter_ms < 1e-3


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
    assert s.max_jitter_ms < 1e-3 and s.max_delta_ms < 20 + 1e-3
    assert s.lost == 0


def test_timestamp_jump_forward_restarts_reference() -> None:
    packets = clean(100)
    packets[50:] = [(q, t + 8000 * 3600, a, pt, m) for q, t, a, pt, m in packets[50:]]
    s = run(packets)
    assert s.max_jitter_ms < 1e-3


def test_late_audio_packet_is_not_fed_to_jitter() -> None:
    packets = clean(20)
    packets[5], packets[6] = packets[6], packets[5]
    s = run(packets)
    assert s.out_of_order == 1
    assert s.max_delta_ms == pytest.approx(
        40.0, abs=1e-3
    )  # 4 -> 6 spans two slots; 5 arrives too late


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
    for name in ("max_jitter_ms", "mean_jitter_ms", "jitter_ms", "jitter_buffer_loss_pct"):
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
    assert s.max_jitter_ms < 1e-3 and s.audio_packets == 49 and s.event_packets == 0
    assert s.payload_types == {0, 110}


def test_dynamic_payload_clock() -> None:
    """opus at 48 kHz: 960 ticks per 20 ms."""
    packets = [
        (i, 960 * i, T0 + 0.02 * i + (0.005 if i == 10 else 0.0), 111, False) for i in range(30)
    ]
    s = run(packets, {111: 48000})
    assert abs(s.max_jitter_ms - reference_any(packets, 48000)) < 1e-6
    assert s.max_jitter_ms > 0.3


def reference_any(packets: list[Packet], rate: int) -> float:
    j = max_j = 0.0
    for prev, p in itertools.pairwise(packets):
        j = (15 * j + abs((p[2] - prev[2]) * 1000 - (p[1] - prev[1]) * 1000 / rate)) / 16
        max_j = max(max_j, j)
    return max_j


def test_jitter_buffer_discards_a_late_spike() -> None:
    packets = clean(200)
    packets[100] = (*packets[100][:2], packets[100][2] + 0.1, 0, False)
    packets = sorted(packets, key=lambda p: p[2])
    s = run(packets)
    assert abs(s.jitter_buffer_loss_pct - 100 / 200) < 1e-9


def test_jitter_buffer_tolerates_clock_skew() -> None:
    """Transit growing by 50 ppm over 20 minutes (60 ms) is skew, not lateness."""
    n = 60_000
    packets = [(i & 0xFFFF, 160 * i, T0 + 0.02 * i * (1 + 50e-6), 0, False) for i in range(n)]
    s = run(packets)
    assert s.jitter_buffer_loss_pct == 0.0


def test_jitter_buffer_resyncs_on_marker() -> None:
    packets = clean(100)
    packets[50:] = [(q, t, a + 0.2, pt, q == packets[50][0]) for q, t, a, pt, m in packets[50:]]
    s = run(packets)
    assert s.jitter_buffer_loss_pct == 0.0
    without_marker = run([(q, t, a, pt, False) for q, t, a, pt, _m in packets])
    assert abs(without_marker.jitter_buffer_loss_pct - 50.0) < 1e-9


def test_mos_degrades_with_loss() -> None:
    clean_mos = run(clean(1000)).mos("PCMA")
    lossy = run([p for i, p in enumerate(clean(1000)) if i % 20 != 5])  # 5 % random-like loss
    lossy_mos = lossy.mos("PCMA")
    g729 = run(clean(1000)).mos("G729")
    assert clean_mos is not None and lossy_mos is not None and g729 is not None
    assert 3.7 < lossy_mos < 4.0 < g729 < clean_mos


jittery_stream = st.lists(
    st.tuples(st.integers(0, 8000), st.sampled_from([0, 0, 0, 13]), st.booleans()),
    min_size=2,
    max_size=200,
)


@settings(max_examples=300, deadline=None)
@given(jittery_stream, st.integers(0, 65535), st.integers(0, 2**32 - 1))
def test_matches_reference_on_in_order_streams(
    spec: list[tuple[int, int, bool]], seq0: int, ts0: int
) -> None:
    """Up to 8 ms of jitter on 20 ms spacing: in order, so the reference applies."""
    packets = [
        ((seq0 + i) & 0xFFFF, (ts0 + 160 * i) & 0xFFFFFFFF, T0 + 0.02 * i + us * 1e-6, pt, m)
        for i, (us, pt, m) in enumerate(spec)
    ]
    s = run(packets, {0: 8000, 13: 8000})
    unwrapped = [(q, ts0 + 160 * i, a, pt, m) for i, (q, _t, a, pt, m) in enumerate(packets)]
    max_d, max_j, mean, j = reference(unwrapped)
    assert (s.packets, s.lost, s.out_of_order) == (len(packets), 0, 0)
    assert abs(s.max_delta_ms - max_d) < 1e-6
    assert abs(s.max_jitter_ms - max_j) < 1e-6
    assert abs(s.mean_jitter_ms - mean) < 1e-6
    assert abs(s.jitter_ms - j) < 1e-6


packet = st.tuples(
    st.integers(0, 65535),
    st.integers(0, 2**32 - 1),
    st.floats(0, 1e6),
    st.integers(0, 127),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(packet, max_size=60))
def test_arbitrary_input_keeps_invariants(packets: list[Packet]) -> None:
    s = run(
        [(q, t, T0 + a, pt, m) for q, t, a, pt, m in packets],
        {0: 8000, 96: 48000, 13: 8000},
        frozenset({101}),
    )
    assert s.packets == len(packets)
    assert s.lost == s.expected - s.packets
    assert s.expected >= (1 if packets else 0)
    assert s.missing >= 0 and s.duplicates + s.out_of_order <= s.packets
    assert s.max_jitter_ms >= 0.0 and s.mean_jitter_ms >= 0.0 and s.max_delta_ms >= 0.0
    assert 0.0 <= s.jitter_buffer_loss_pct <= 100.0
    assert s.burst_ratio > 0.0
    mos = s.mos("PCMU")
    assert mos is None or 1.0 <= mos <= 4.5


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, MAX_MISORDER - 1), max_size=300))
def test_random_loss_duplicates_reordering(order: list[int]) -> None:
    """Any arrival order of any multiset of 200 packets (within the window): the counters are
    exact."""
    base = clean(MAX_MISORDER)
    s = run([base[i] for i in order])
    distinct = set(order)
    if order:
        expected = max(distinct) - min(distinct) + 1
        assert (s.packets, s.expected, s.lost) == (len(order), expected, expected - len(order))
        assert s.duplicates == len(order) - len(distinct)
        assert s.missing == expected - len(distinct)
        assert s.out_of_order == sum(
            1 for k, i in enumerate(order) if i not in order[:k] and any(i < j for j in order[:k])
        )


def test_clock_rate_change_restarts_reference() -> None:
    """PCMU at 8 kHz, then opus at 48 kHz on the same SSRC: the timestamps of the two
    timelines are not compared."""
    pcmu = clean(50)
    opus = [(50 + i, 777 + 960 * i, T0 + 1.0 + 0.02 * i, 111, False) for i in range(50)]
    s = run(pcmu + opus, {0: 8000, 111: 48000})
    assert s.max_jitter_ms < 1e-3 and s.max_delta_ms == pytest.approx(20.0, abs=1e-3)
    assert s.payload_types == {0, 111} and s.payload_type == 0
