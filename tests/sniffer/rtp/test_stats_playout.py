"""StreamStats' playout buffer and MOS, and properties on random streams: figures against the
references of stats_reference.py, counters' invariants."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.rtp.burst import MAX_MISORDER
from tests.hypo import examples
from tests.sniffer.rtp.stats_reference import (
    T0,
    Packet,
    clean,
    reference,
    reference_in_arrival_order,
    run,
)


def test_playout_buffer_discards_a_late_spike() -> None:
    packets = clean(200)
    packets[100] = (*packets[100][:2], packets[100][2] + 0.1, 0, False)
    packets = sorted(packets, key=lambda p: p[2])
    s = run(packets)
    assert s.playout_discards == 1 and s.playout_discard_pct == pytest.approx(100 / 200)


def drifting(n: int, speed: float, jitter_s: float = 0.0, seed: int = 1) -> list[Packet]:
    """n packets of 20 ms whose arrival clock runs ``speed`` times the media clock (1.05: the
    replay is 5 % slower than the capture), plus uniform arrival jitter, in arrival order."""
    rnd = random.Random(seed)
    packets = [
        (i & 0xFFFF, 160 * i, T0 + 0.02 * i * speed + rnd.uniform(0, jitter_s), 0, False)
        for i in range(n)
    ]
    return sorted(packets, key=lambda p: p[2])


@pytest.mark.parametrize("speed", [1 + 50e-6, 1.05, 1 / 1.05, 0.95])
def test_playout_buffer_follows_clock_drift(speed: float) -> None:
    """A sender/sniffer clock-rate mismatch (issue 6: a replay 5 % slower than the capture's
    clock gave every stream MOS 1.13 with 0 % loss) is followed by the adaptive buffer: no
    discards, the MOS of a clean stream."""
    s = run(drifting(3000, speed, 0.002))
    assert s.playout_discards == 0 and s.playout_discard_pct == 0.0
    mos = s.mos("PCMU")
    assert mos is not None and mos > 4.3


def test_playout_buffer_still_discards_real_jitter() -> None:
    """Up to 100 ms of random delay: far beyond the 60 ms depth, drifting or not."""
    for speed in (1.0, 1.05):
        s = run(drifting(3000, speed, 0.1))
        assert s.playout_discard_pct is not None and 10.0 < s.playout_discard_pct < 40.0
        mos = s.mos("PCMU")
        assert mos is not None and mos < 3.0


def test_playout_buffer_drift_beyond_the_model() -> None:
    """A transit rising faster than JB_MAX_DRIFT (15 % here) is lateness, not drift."""
    s = run(drifting(1000, 1.15))
    pct = s.playout_discard_pct
    assert pct is not None and pct > 90.0


def test_playout_buffer_resyncs_on_marker() -> None:
    packets = clean(100)
    packets[50:] = [(q, t, a + 0.2, pt, q == packets[50][0]) for q, t, a, pt, m in packets[50:]]
    s = run(packets)
    assert s.playout_discards == 0
    # without the marker: a 200 ms step is late until the baseline has risen to within the
    # depth (140 ms at 2 ms a packet: the 50 remaining packets)
    without_marker = run([(q, t, a, pt, False) for q, t, a, pt, _m in packets])
    assert without_marker.playout_discards == 50


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


@settings(max_examples=examples(300), deadline=None)
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
    assert (s.max_delta_ms, s.max_jitter_ms, s.mean_jitter_ms) == pytest.approx(
        (max_d, max_j, mean), abs=1e-6
    )
    assert abs(s.jitter_ms - j) < 1e-6


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 60_000), st.booleans(), st.booleans()), min_size=2,
             max_size=150),
)  # fmt: skip
def test_matches_rfc3550_in_arrival_order(spec: list[tuple[int, bool, bool]]) -> None:
    """Up to 60 ms of delay on 20 ms spacing (so reordering up to 3 slots), duplicates and
    marker bits: every figure equals the arrival-order reference."""
    packets: list[Packet] = []
    for i, (us, dup, marker) in enumerate(spec):
        p = (1000 + i, 160 * i, T0 + 0.02 * i + us * 1e-6, 0, marker)
        packets.append(p)
        if dup:
            packets.append((p[0], p[1], p[2] + 0.0001, 0, marker))
    packets.sort(key=lambda p: p[2])
    s = run(packets)
    assert s.packets == len(packets)
    assert (s.max_delta_ms, s.max_jitter_ms, s.mean_jitter_ms) == pytest.approx(
        reference_in_arrival_order(packets), abs=1e-6
    )


packet = st.tuples(
    st.integers(0, 65535),
    st.integers(0, 2**32 - 1),
    st.floats(0, 1e6),
    st.integers(0, 127),
    st.booleans(),
)


@settings(max_examples=examples(300), deadline=None)
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
    for v in (s.max_jitter_ms, s.mean_jitter_ms, s.max_delta_ms):
        assert v is None or v >= 0.0
    assert (s.max_jitter_ms is None) == (s.mean_jitter_ms is None)
    assert s.playout_discard_pct is None or 0.0 <= s.playout_discard_pct <= 100.0
    assert s.burst_ratio > 0.0
    mos = s.mos("PCMU")
    assert mos is None or 1.0 <= mos <= 4.5


@settings(max_examples=examples(200), deadline=None)
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
