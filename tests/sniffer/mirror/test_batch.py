"""Batches of frames: round trip with ns timestamps, zstd, precise errors, fuzzing."""

import struct

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.mirror.batch import (
    BATCH_HEAD,
    PER_PACKET,
    BatchDecoder,
    BatchEncoder,
    MirrorBatchError,
    parse_batch,
)
from tests.hypo import examples


def test_round_trip_compressed() -> None:
    pkts = [(1700000000.123456, b"\x00" * 200), (1700000000.2, b"abc" * 50)]
    body, compressed = BatchEncoder().encode(1, pkts)
    assert compressed and len(body) < 100
    linktype, got = BatchDecoder().decode(body, compressed)
    assert linktype == 1
    assert [f for _, f in got] == [f for _, f in pkts]
    assert [round(t, 6) for t, _ in got] == [1700000000.123456, 1700000000.2]


def test_incompressible_batch_goes_raw() -> None:
    import os

    body, compressed = BatchEncoder().encode(12, [(1.0, os.urandom(500))])
    assert not compressed
    assert BatchDecoder().decode(body, False)[0] == 12


def _raw(count: int, frames: list[bytes], tail: bytes = b"") -> bytes:
    n = len(frames)
    lens = struct.pack(f"!{n}I", *map(len, frames))
    return (
        BATCH_HEAD.pack(1, 0, count) + struct.pack(f"!{n}q", *[10**9] * n) + lens + lens
        + b"".join(frames) + tail
    )  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x00\x01", "batch header truncated: 2 bytes"),
        (_raw(5, [b"ab"]), "batch claims 5 frames in 26 bytes"),
        (_raw(2, [b"ab", b"cd"])[:-1], "batch frames add up to 4 bytes, the batch holds 3"),
        (_raw(1, [b"ab"], b"zz"), "batch frames add up to 2 bytes, the batch holds 4"),
        (
            BATCH_HEAD.pack(1, 0, 1) + struct.pack("!qII", 0, 300000, 300000) + bytes(8),
            "batch frame 0 of 300000 bytes is too large",
        ),
    ],
)
def test_batch_errors(raw: bytes, message: str) -> None:
    with pytest.raises(MirrorBatchError) as err:
        parse_batch(raw)
    assert str(err.value) == message


def test_decompression_limits() -> None:
    dec = BatchDecoder(max_raw=1000)
    bomb = zstandard.ZstdCompressor().compress(bytes(5000))
    with pytest.raises(MirrorBatchError, match=r"^batch inflates to 5000 bytes, above 1000$"):
        dec.decode(bomb, True)
    with pytest.raises(MirrorBatchError, match=r"^batch is not a zstd frame"):
        dec.decode(b"garbage!", True)
    unknown_size = zstandard.ZstdCompressor(write_content_size=False).compress(bytes(5000))
    with pytest.raises(MirrorBatchError, match=r"^batch does not decompress"):
        dec.decode(unknown_size, True)


@settings(max_examples=examples(300), deadline=None)
@given(st.binary(max_size=300))
def test_batch_parser_fuzz(raw: bytes) -> None:
    try:
        _lt, pkts = parse_batch(raw)
    except MirrorBatchError:
        return
    assert sum(len(f) + PER_PACKET for _, f in pkts) + BATCH_HEAD.size == len(raw)


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(st.tuples(st.floats(0, 4e9), st.binary(max_size=100)), max_size=20))
def test_round_trip_property(pkts: list[tuple[float, bytes]]) -> None:
    body, compressed = BatchEncoder().encode(1, pkts)
    _lt, got = BatchDecoder().decode(body, compressed)
    assert [f for _, f in got] == [f for _, f in pkts]
    assert all(abs(a - b[0]) < 1e-6 for (a, _), b in zip(got, pkts, strict=True))
