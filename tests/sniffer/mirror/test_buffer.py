"""The sender's buffer: order, acks, rewind, memory bound, disk spill, drop-oldest counted."""

from pathlib import Path

from sniffer.mirror.buffer import Pending, SendBuffer


def _frame(seq: int, size: int = 100) -> Pending:
    return Pending(seq, 1, bytes([seq % 256]) * size, packets=10)


def _drain(buf: SendBuffer) -> list[int]:
    out = []
    while (f := buf.next_unsent()) is not None:
        assert f.body == bytes([f.seq % 256]) * len(f.body)
        out.append(f.seq)
    return out


def test_send_ack_rewind() -> None:
    buf = SendBuffer(10_000)
    for i in range(1, 6):
        buf.push(_frame(i))
    assert _drain(buf) == [1, 2, 3, 4, 5]
    buf.ack(2)
    buf.rewind()  # reconnect: resend what was not acknowledged
    assert _drain(buf) == [3, 4, 5]
    buf.ack(5)
    assert buf.empty and buf.frames == 0


def test_memory_bound_drops_oldest_and_counts() -> None:
    buf = SendBuffer(350)
    for i in range(1, 8):
        buf.push(_frame(i))
    assert buf.counters["dropped_frames.buffer_full"] == 4
    assert buf.counters["dropped_packets.buffer_full"] == 40
    assert _drain(buf) == [5, 6, 7]
    assert buf.mem_bytes <= 350


def test_disk_spill_keeps_order_then_drops_oldest(tmp_path: Path) -> None:
    import sniffer.mirror.buffer as mod

    old = mod.SEGMENT_BYTES
    mod.SEGMENT_BYTES = 250
    try:
        buf = SendBuffer(250, disk_dir=tmp_path / "buf", disk_bytes=700)
        for i in range(1, 11):
            buf.push(_frame(i))
        assert buf.counters["spilled_frames"] == 8
        dropped = buf.counters["dropped_frames.buffer_full"]
        assert dropped > 0
        assert buf.disk_bytes <= 700
        got = _drain(buf)
        assert got == list(range(dropped + 1, 11))
        buf.ack(7)
        buf.rewind()
        assert _drain(buf) == [8, 9, 10]
        buf.ack(10)
        assert buf.empty
        assert list((tmp_path / "buf").iterdir()) == []
        assert (tmp_path / "buf").stat().st_mode & 0o077 == 0
    finally:
        mod.SEGMENT_BYTES = old


def test_leftover_segments_of_an_earlier_run_are_removed(tmp_path: Path) -> None:
    d = tmp_path / "buf"
    d.mkdir()
    (d / "seg-00000000000000000001.bin").write_bytes(b"old")
    SendBuffer(100, disk_dir=d, disk_bytes=1000)
    assert list(d.iterdir()) == []


def test_realtime_parts_cut_where_capture_time_moves_on() -> None:
    from sniffer.mirror.sender import REALTIME_SLACK_S, MirrorSender

    chunk = [
        (0.0, b"a"),
        (0.001, b"b"),
        (0.5, b"c"),
        (0.5 + REALTIME_SLACK_S / 2, b"d"),
        (2.0, b"e"),
    ]
    parts = list(MirrorSender._realtime_parts(chunk))
    assert [[f for _, f in p] for p in parts] == [[b"a", b"b"], [b"c", b"d"], [b"e"]]
