"""Synthetic RTP streams and straight transcriptions of the documented jitter rules, the references
of tests/sniffer/rtp/test_stats*.py."""

import itertools

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


def reference(packets: list[Packet]) -> tuple[float | None, float | None, float | None, float]:
    """Straight transcription of the documented rules for in-order 8 kHz streams:
    (max delta, max jitter, mean jitter, J) in ms; None when no regular packet measured them."""
    j = mean = 0.0
    max_j: float | None = None
    max_d: float | None = None
    prev: Packet | None = None
    for n, p in enumerate(packets):
        if prev is not None:
            delta = (p[2] - prev[2]) * 1000
            d = delta - (p[1] - prev[1]) / 8
            j = (15 * j + abs(d)) / 16
            if not p[4] and p[3] not in (13, 19) and prev[3] not in (13, 19):
                max_d = delta if max_d is None else max(max_d, delta)
                max_j = j if max_j is None else max(max_j, j)
                mean = (mean * (n - 1) + j) / n
        prev = p
    return max_d, max_j, None if max_j is None else mean, j


def reference_in_arrival_order(
    packets: list[Packet],
) -> tuple[float | None, float | None, float | None]:
    """RFC 3550 section 6.4.1 as tshark 4.0 applies it, for 8 kHz streams without sequence
    wrap, CN or timestamp resets: every packet in order of arrival is measured against the
    previous one and becomes the next one's reference, late packets and duplicates included;
    a packet older than the first one is neither measured nor a reference. Max/mean over
    regular packets (not the first, no marker); max delta to the previous packet of any kind.
    (max delta, max jitter, mean jitter) in ms."""
    j = mean = 0.0
    max_j: float | None = None
    max_d: float | None = None
    first_seq = packets[0][0]
    prev = packets[0]
    prev_any = packets[0][2]
    for n, p in enumerate(packets[1:], start=1):
        since_any, prev_any = (p[2] - prev_any) * 1000, p[2]
        if p[0] < first_seq:
            continue  # counts in n: the mean is held
        d = (p[2] - prev[2]) * 1000 - (p[1] - prev[1]) / 8
        j = (15 * j + abs(d)) / 16
        delta = min((p[2] - prev[2]) * 1000, since_any)
        prev = p
        if not p[4]:
            max_d = delta if max_d is None else max(max_d, delta)
            max_j = j if max_j is None else max(max_j, j)
            mean = (mean * (n - 1) + j) / n
    return max_d, max_j, None if max_j is None else mean


def reference_any(packets: list[Packet], rate: int) -> float:
    j = max_j = 0.0
    for prev, p in itertools.pairwise(packets):
        j = (15 * j + abs((p[2] - prev[2]) * 1000 - (p[1] - prev[1]) * 1000 / rate)) / 16
        max_j = max(max_j, j)
    return max_j
