"""Loss, duplicates, late packets and BurstR of any arrival order within the misorder window,
against a model that keeps every sequence number ever received (the tracker keeps a bitmap of
the last WINDOW, updated only off the in-order path)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.rtp.burst import MAX_MISORDER, burst_ratio
from tests.hypo import examples
from tests.sniffer.rtp.stats_reference import T0, run


def model(offsets: list[int]) -> dict[str, float]:
    """The figures of packets numbered ``offsets`` (from the first packet), straight from the
    documented rules (docs/QUALITY.md, "Loss" and "Duplicates and order")."""
    seen: set[int] = set()
    duplicates = late = 0
    top = offsets[0]
    for off in offsets:
        if off in seen:
            duplicates += 1
        elif off < top:
            late += 1
        seen.add(off)
        top = max(top, off)
    lo, hi = min(seen), max(seen)
    expected = hi - lo + 1
    holes = [o for o in range(lo, hi + 1) if o not in seen]
    runs = sum(1 for i, o in enumerate(holes) if i == 0 or holes[i - 1] != o - 1)
    missing = len(holes)
    return {
        "packets": len(offsets),
        "expected": expected,
        "lost": expected - len(offsets),
        "duplicates": duplicates,
        "out_of_order": late,
        "missing": missing,
        "burst_ratio": burst_ratio(missing, runs, len(offsets) - duplicates),
    }


@st.composite
def arrivals(draw: st.DrawFn) -> list[int]:
    """Packet numbers relative to the first: mostly the next one, with gaps, duplicates and late
    packets (before the first one too), none more than MAX_MISORDER behind the highest."""
    offsets = [0]
    top = 0
    for _ in range(draw(st.integers(1, 400))):
        step = draw(
            st.one_of(
                st.just(1),
                st.integers(2, 40),  # a gap
                st.integers(-MAX_MISORDER, 0),  # late, or a duplicate
            )
        )
        off = top + step
        offsets.append(off)
        top = max(top, off)
    return offsets


@settings(max_examples=examples(300))
@given(arrivals(), st.integers(0, 0xFFFF))
def test_any_order_within_the_window_gives_the_model_figures(offsets: list[int], seq0: int) -> None:
    packets = [
        ((seq0 + off) & 0xFFFF, (160 * off) & 0xFFFFFFFF, T0 + 0.02 * i, 0, False)
        for i, off in enumerate(offsets)
    ]
    s = run(packets)
    got = {
        "packets": s.packets,
        "expected": s.expected,
        "lost": s.lost,
        "duplicates": s.duplicates,
        "out_of_order": s.out_of_order,
        "missing": s.missing,
        "burst_ratio": s.burst_ratio,
    }
    assert got == model(offsets)


def test_a_hole_at_the_window_edge_is_filled_late() -> None:
    """The packet MAX_MISORDER behind the highest, after 150 in-order packets the bitmap never
    saw one by one: late (a hole filled), not a duplicate."""
    offsets = [o for o in range(150) if o != 149 - MAX_MISORDER] + [149 - MAX_MISORDER]
    s = run([(o, 160 * o, T0 + 0.02 * i, 0, False) for i, o in enumerate(offsets)])
    assert (s.packets, s.lost, s.duplicates, s.out_of_order, s.missing) == (150, 0, 0, 1, 0)
    assert (s.burst_ratio, model(offsets)["out_of_order"]) == (1.0, 1)
