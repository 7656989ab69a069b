"""The per-frame half of the spool: record headers (the timestamp's fast path) and the
buffers of many concurrent calls under a small budget and a descriptor limit."""

import math
import os
import random
import resource
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sniffer.spool.callpcap import CallPcap
from sniffer.spool.pcapfile import ts_to_sec_usec
from sniffer.spool.spool import CallPcapSpool
from tests.sniffer.spool.test_spool import open_fds, records


class _Keep:
    """A spool stand-in that never writes: the handle's chunks stay for the test to read."""

    def _service(self, handle: CallPcap) -> None:
        handle._limit += 1 << 40
        handle._room += 1 << 40


def _headers(stamps: list[float]) -> list[tuple[int, int]]:
    h = CallPcap(_Keep(), "x.pcap", 262144)
    for ts in stamps:
        h._last = None  # the same frame object each time: written each time all the same
        h.write(ts, b"frame")
    return [struct.unpack_from("<II", h._chunks[i]) for i in range(0, len(h._chunks), 2)]


@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 999_999)), max_size=40))
def test_microsecond_capture_times_come_back_exactly(stamps: list[tuple[int, int]]) -> None:
    """Whatever the order (the same second, the next, a jump back), a time read from a
    microsecond pcap (``sec + usec / 1e6``, as libpcap's readers give it) is written as it was."""
    assert _headers([s + u / 1_000_000.0 for s, u in stamps]) == stamps


@given(st.lists(st.floats(-1e10, 1e10), max_size=40))
def test_any_time_within_half_a_microsecond(stamps: list[float]) -> None:
    for ts, (sec, usec) in zip(stamps, _headers(stamps), strict=True):
        assert 0 <= usec < 1_000_000
        whole = ts_to_sec_usec(math.floor(ts))[0]  # the second, wrapped to 32 bits
        assert sec in (whole, (whole + 1) & 0xFFFFFFFF)
        frac_us = (ts - math.floor(ts)) * 1e6
        assert abs((sec - whole) % 2**32 * 1_000_000 + usec - frac_us) <= 0.5 + 1e-6


def test_edges_of_a_second() -> None:
    assert _headers([5.9999996, 5.9999994, 6.0, 0.0000025, 0.0000035]) == [
        (6, 0),  # rounds up into the next second
        (5, 999_999),
        (6, 0),
        (0, 2),  # round half even, as before
        (0, 4),
    ]
    assert _headers([-1.5, float("nan"), float("inf"), 2.0**40 + 0.25]) == [
        ts_to_sec_usec(-1.5),
        (0, 0),
        (0, 0),
        (0, 250_000),  # seconds outside 32 bits wrap
    ]


def test_frames_are_kept_not_copied() -> None:
    h = CallPcap(_Keep(), "x.pcap", 262144)
    frame = bytes(300)
    h.write(1.0, frame)
    h.write(1.1, frame[:])  # the same bytes object again (bytes slices of all are not copies)
    h.write(1.2, bytes(300), 60)
    assert h._chunks[1] is frame
    assert len(h._chunks) == 4  # written once
    assert h._chunks[3] == bytes(60)
    assert h.buffered == 16 + 300 + 16 + 60


@pytest.mark.slow  # 3,000 calls' pcaps read back by tshark: the full run's
def test_many_calls_small_budget_few_descriptors(tmp_path: Path) -> None:
    """3,000 concurrent calls, 64 KiB of buffers, 16 descriptors, under an RLIMIT_NOFILE that
    leaves no room for more: every call's pcap holds exactly its frames, in order."""
    n_calls, rounds = 3000, 6
    spool = CallPcapSpool(
        tmp_path, 1, max_buffer_bytes=64 << 10, max_open_files=16, flush_bytes=8 << 10
    )
    calls = [spool.open_call(f"call-{i}@carrier", 1795676263.0) for i in range(n_calls)]
    rng = random.Random(7)
    sent: list[list[bytes]] = [[] for _ in calls]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (open_fds() + 16 + 4, hard))
    try:
        ts = 1795676263.0
        for r in range(rounds):
            order = list(range(n_calls))
            rng.shuffle(order)
            for i in order:
                ts += 0.000_37
                frame = f"{i}:{r}:".encode() + os.urandom(rng.randrange(20, 300))
                calls[i].write(ts, frame)
                sent[i].append(frame)
                assert spool.buffered_bytes <= 64 << 10
            spool.tick(ts)
        for call in calls:
            assert spool.close_call(call) == call.relpath
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    c = spool.counters
    assert c["write_errors"] == 0 and c["budget_flushes"] > 0 and c["evictions"] > 0
    assert spool.open_files == 0
    for call, frames in zip(calls, sent, strict=True):
        got = records(tmp_path / call.relpath)
        assert [f for _, f, _ in got] == frames
        assert [ts for ts, _, _ in got] == sorted(ts for ts, _, _ in got)
    for i in (0, 1499, 2999):
        out = subprocess.run(
            ["tshark", "-r", str(tmp_path / calls[i].relpath), "-T", "fields", "-e", "frame.len"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        assert out.stdout.split() == [str(len(f)) for f in sent[i]]
    modes = {(tmp_path / call.relpath).stat().st_mode & 0o777 for call in calls}
    assert not any(m & 0o007 for m in modes)
