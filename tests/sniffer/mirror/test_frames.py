"""The mirror frame header, MACs and the frame reader: exact errors, and fuzzing."""

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.mirror import frames
from sniffer.mirror.frames import FrameHeader, FrameReader, MirrorFrameError
from tests.hypo import examples

KEY = b"k" * 32


def test_round_trip_with_and_without_mac() -> None:
    raw = frames.encode(frames.DATA, b"body", seq=7, flags=frames.FLAG_ZSTD)
    h = FrameHeader.parse(raw)
    assert (h.type, h.flags, h.length, h.seq) == (frames.DATA, frames.FLAG_ZSTD, 4, 7)
    signed = frames.encode(frames.DATA, b"body", seq=7, key=KEY)
    h = FrameHeader.parse(signed)
    assert h.flags == frames.FLAG_MAC and h.length == 4 + frames.MAC_LEN
    frame = frames.open_frame(signed[: frames.HEADER_LEN], h, signed[frames.HEADER_LEN :], KEY)
    assert frame.body == b"body" and frame.seq == 7


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"CM\x01", "frame header truncated: 3 of 18 bytes"),
        (b"XX" + bytes(16), "not a mirror frame (magic 0x5858)"),
        (b"CM\x02\x10" + bytes(14), "unsupported mirror protocol version 2 (speaks 1)"),
        (b"CM\x01\x63" + bytes(14), "unknown frame type 99"),
        (b"CM\x01\x10\x00\x80" + bytes(12), "unknown frame flags 0x0080"),
        (
            FrameHeader(frames.DATA, 0, frames.MAX_BODY + 1).pack(),
            f"frame type 16 body of {frames.MAX_BODY + 1} bytes exceeds the limit of {frames.MAX_BODY}",
        ),
        (
            FrameHeader(frames.HELLO, 0, 5000).pack(),
            "frame type 1 body of 5000 bytes exceeds the limit of 4096",
        ),
        (
            FrameHeader(frames.ACK, frames.FLAG_MAC, 3).pack(),
            "frame body of 3 bytes is too short for its MAC",
        ),
    ],
)
def test_header_errors(data: bytes, message: str) -> None:
    with pytest.raises(MirrorFrameError) as err:
        FrameHeader.parse(data)
    assert str(err.value) == message


def test_mac_errors() -> None:
    signed = frames.encode(frames.DATA, b"body", seq=3, key=KEY)
    head, rest = signed[: frames.HEADER_LEN], signed[frames.HEADER_LEN :]
    h = FrameHeader.parse(head)
    with pytest.raises(MirrorFrameError, match=r"^frame type 16 seq 3 has a wrong MAC$"):
        frames.open_frame(head, h, rest, b"x" * 32)
    tampered = FrameHeader(frames.DATA, h.flags, h.length, 4).pack()  # seq changed
    with pytest.raises(MirrorFrameError, match="wrong MAC"):
        frames.open_frame(tampered, FrameHeader.parse(tampered), rest, KEY)
    plain = frames.encode(frames.DATA, b"body", seq=3)
    with pytest.raises(MirrorFrameError, match=r"^frame type 16 has no MAC$"):
        frames.open_frame(plain[:18], FrameHeader.parse(plain), plain[18:], KEY)
    with pytest.raises(MirrorFrameError, match=r"^frame type 16 has a MAC before the handshake$"):
        frames.open_frame(head, h, rest, None)


async def _read_all(data: bytes, key: bytes | None) -> list[frames.Frame]:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    fr = FrameReader(reader)
    fr.key = key
    out = []
    while True:
        try:
            out.append(await fr.read(1.0))
        except asyncio.IncompleteReadError:
            return out


async def test_reader_reads_frames_and_stops_at_a_truncated_one() -> None:
    stream = b"".join(
        frames.encode(frames.DATA, bytes([i]) * i, seq=i, key=KEY) for i in range(1, 4)
    )
    got = await _read_all(stream[:-5], KEY)
    assert [f.seq for f in got] == [1, 2]
    assert got[1].body == b"\x02\x02"


async def test_reader_times_out_on_a_stalled_peer() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(frames.encode(frames.DATA, b"abcdef", seq=1)[:20])
    with pytest.raises(TimeoutError):
        await FrameReader(reader).read(0.05)


@settings(max_examples=examples(300), deadline=None)
@given(st.binary(max_size=200))
def test_header_parser_fuzz(data: bytes) -> None:
    try:
        h = FrameHeader.parse(data)
    except MirrorFrameError:
        return
    assert h.pack() == data[: frames.HEADER_LEN]


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.binary(max_size=60), max_size=6), st.binary(max_size=80), st.integers(0, 400))
def test_reader_fuzz_garbage_and_cut_streams(bodies: list[bytes], garbage: bytes, cut: int) -> None:
    good = b"".join(frames.encode(frames.DATA, b, seq=i + 1, key=KEY) for i, b in enumerate(bodies))
    stream = (good + garbage)[: len(good) + cut]

    async def main() -> list[frames.Frame]:
        try:
            return await _read_all(stream, KEY)
        except MirrorFrameError:
            return []

    got = asyncio.run(main())
    assert all(f.body == bodies[f.seq - 1] for f in got)
