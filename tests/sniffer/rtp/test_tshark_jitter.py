"""Jitter in order of arrival (RFC 3550 section 6.4.1) against tshark 4.0's ``-z rtp,streams``
on reordered, duplicated and lossy streams written to a pcap (issue 8 item 1).

tshark prints three decimals: we agree to the printed precision (the issue asks for 0.05 ms or
2 %). Max delta agrees too, except on a stream where a packet older than the first one arrives
after it (docs/QUALITY.md, differences from tshark): none of these streams has one.
"""

import random
from functools import cache
from pathlib import Path

import pytest

from sniffer.rtp.stats import StreamStats
from tests.pcapgen import RtpArrival, RtpStreamSpec, build_stream
from tests.pcapgen.frames import ethernet, ipv4, udp
from tests.pcapgen.reader import TsharkStream, tshark_rtp_streams
from tests.pcapgen.writer import write_pcap

T0 = 1_700_000_000.0
PRINTED = 0.002
"""tshark's three printed decimals, plus float rounding."""


def _jitter(seed: int, n: int, spread_ms: float) -> dict[int, float]:
    rnd = random.Random(seed)
    return {i: round(rnd.uniform(-spread_ms, spread_ms), 3) for i in range(1, n)}


def _spec(ssrc: int, **kw: object) -> RtpStreamSpec:
    base: dict[str, object] = {"ssrc": ssrc, "count": 500, "start_time": T0 + ssrc * 0.001,
                               "start_seq": 1000 + 7 * ssrc, "start_ts": 99 * ssrc}  # fmt: skip
    base.update(kw)
    return RtpStreamSpec(**base)  # type: ignore[arg-type]


STREAMS: dict[str, RtpStreamSpec] = {
    # late packets: pairs swapped, one packet 3 slots late, small jitter
    "reordered": _spec(1, reorder=((10, 11), (40, 43), (100, 101), (250, 252), (400, 401)),
                       jitter_ms=_jitter(1, 500, 3.0)),
    # reordering by delay: up to 50 ms of jitter on 20 ms packets
    "reordered_by_delay": _spec(2, jitter_ms=_jitter(2, 500, 25.0)),
    # copies 0.1 ms after the original (a mirror port seeing both legs)
    "duplicated": _spec(3, duplicates=frozenset(range(5, 495, 9)), jitter_ms=_jitter(3, 500, 2.0)),
    # copies 30 ms late: they arrive after the next packet
    "duplicated_late": _spec(4, duplicates=frozenset(range(7, 490, 23)), duplicate_delay_ms=30.0,
                             jitter_ms=_jitter(4, 500, 2.0)),
    # random and bursty loss
    "lossy": _spec(5, loss=frozenset({3, 4, 5, 6, 7, 60, 61, 200, *range(300, 340, 3)}),
                   jitter_ms=_jitter(5, 500, 4.0)),
    # all of it, across the 16-bit sequence and 32-bit timestamp wraps
    "mixed_wrap": _spec(6, start_seq=65400, start_ts=2**32 - 16_000,
                        loss=frozenset({20, 21, 150, 151, 152, 300}),
                        duplicates=frozenset({50, 99, 100, 222}), duplicate_delay_ms=5.0,
                        reorder=((70, 72), (180, 181), (181, 183)),
                        jitter_ms=_jitter(6, 500, 12.0)),
}  # fmt: skip


@cache
def _arrivals() -> dict[str, list[RtpArrival]]:
    return {name: build_stream(spec)[0] for name, spec in STREAMS.items()}


@cache
def _tshark(tmp: Path) -> dict[int, TsharkStream]:
    frames = []
    for k, arrivals in enumerate(_arrivals().values()):
        src, dst = f"10.7.0.{k + 1}", "10.7.1.1"
        for i, a in enumerate(arrivals):
            dgram = udp(30000 + 2 * k, 40000, a.payload, src=src, dst=dst)
            frames.append((a.ts, ethernet(ipv4(src, dst, 17, dgram, ident=i & 0xFFFF))))
    frames.sort(key=lambda f: f[0])
    path = tmp / "jitter_streams.pcap"
    write_pcap(path, 1, frames)
    return {r.ssrc: r for r in tshark_rtp_streams(path)}


@pytest.fixture(scope="module")
def tshark_rows(tmp_path_factory: pytest.TempPathFactory) -> dict[int, TsharkStream]:
    return _tshark(tmp_path_factory.mktemp("tshark"))


def ours(arrivals: list[RtpArrival]) -> StreamStats:
    s = StreamStats({0: 8000})
    for a in arrivals:
        b1 = a.payload[1]
        s.add(a.seq, a.rtp_ts, a.ts, b1 & 0x7F, b1 > 127)
    return s


@pytest.mark.parametrize("name", list(STREAMS))
def test_jitter_equals_tshark(name: str, tshark_rows: dict[int, TsharkStream]) -> None:
    spec = STREAMS[name]
    s = ours(_arrivals()[name])
    row = tshark_rows[spec.ssrc]
    assert s.max_jitter_ms is not None and s.mean_jitter_ms is not None
    assert s.max_delta_ms is not None
    assert s.packets == row.packets
    assert s.max_jitter_ms == pytest.approx(row.max_jitter_ms, abs=PRINTED)
    assert s.mean_jitter_ms == pytest.approx(row.mean_jitter_ms, abs=PRINTED)
    assert s.max_delta_ms == pytest.approx(row.max_delta_ms, abs=PRINTED)


def _advancing(arrivals: list[RtpArrival]) -> list[RtpArrival]:
    """The packets that advance the highest sequence number: what the estimator saw before it
    fed late packets and duplicates."""
    out, highest = [], None
    for a in arrivals:
        if highest is None or 0 < (a.seq - highest) & 0xFFFF < 0x8000:
            out.append(a)
            highest = a.seq
    return out


def test_the_streams_do_reorder_and_duplicate(tshark_rows: dict[int, TsharkStream]) -> None:
    """Guard against a generator change that would make the cases above trivial: the streams
    really carry late packets and duplicates, and leaving them out of the estimator (what we
    did before) gives a max jitter far from tshark's."""
    arr = _arrivals()
    for name in ("reordered", "reordered_by_delay", "mixed_wrap"):
        assert ours(arr[name]).out_of_order >= 5, name
    for name in ("duplicated", "duplicated_late", "mixed_wrap"):
        assert ours(arr[name]).duplicates >= 4, name
    assert ours(arr["lossy"]).lost > 10
    for name in ("reordered", "reordered_by_delay", "duplicated_late", "mixed_wrap"):
        row = tshark_rows[STREAMS[name].ssrc]
        skipping = ours(_advancing(arr[name])).max_jitter_ms
        assert skipping is not None
        assert abs(row.max_jitter_ms - skipping) > 0.1 * row.max_jitter_ms, name
