import errno
import os
from pathlib import Path

import pytest

from db.errors import StorageError
from sniffer.storage.journal import Journal


def _lines(n: int, start: int = 0, size: int = 20) -> list[bytes]:
    return [f"{i:0{size - 1}d}\n".encode() for i in range(start, start + n)]


def _drain(j: Journal, batch: int = 7) -> list[bytes]:
    out: list[bytes] = []
    while (got := j.read(batch)) is not None:
        lines, token = got
        out += lines
        j.consume(token)
    return out


def test_append_read_consume_in_order(tmp_path: Path) -> None:
    j = Journal(tmp_path, max_bytes=1 << 20, segment_bytes=100)
    assert j.append(_lines(10)) == 10
    assert j.append(_lines(10, 10)) == 10
    assert j.records == 20 and j.nbytes == 400
    # a batch is never split; a segment past segment_bytes is closed before the next one
    assert len(list(tmp_path.glob("segment-*.jsonl"))) == 2
    assert _drain(j) == _lines(20)
    assert j.records == 0 and j.nbytes == 0
    assert list(tmp_path.glob("segment-*.jsonl")) == []
    assert j.read(5) is None
    j.close()


def test_read_without_consume_rereads(tmp_path: Path) -> None:
    j = Journal(tmp_path, max_bytes=1 << 20)
    j.append(_lines(5))
    first = j.read(3)
    again = j.read(3)
    assert first is not None and again is not None
    assert first[0] == again[0] == _lines(3)
    j.consume(again[1])
    j.append(_lines(2, 5))  # lands in a new segment: the read one was rotated
    assert _drain(j) == _lines(7)[3:]
    j.close()


def test_survives_restart_and_never_appends_to_old_segment(tmp_path: Path) -> None:
    j = Journal(tmp_path, max_bytes=1 << 20)
    j.append(_lines(4))
    got = j.read(1)
    assert got is not None
    j.consume(got[1])
    j.close()
    j2 = Journal(tmp_path, max_bytes=1 << 20)
    assert j2.records == 4  # consumption is not persisted: replays are idempotent
    j2.append(_lines(2, 4))
    assert len(list(tmp_path.glob("segment-*.jsonl"))) == 2
    assert _drain(j2) == _lines(6)
    j2.close()


def test_torn_last_line_is_read_as_is(tmp_path: Path) -> None:
    j = Journal(tmp_path, max_bytes=1 << 20)
    j.append(_lines(2))
    j.close()
    seg = next(tmp_path.glob("segment-*.jsonl"))
    with open(seg, "ab") as f:
        f.write(b'{"type": "ca')
    j2 = Journal(tmp_path, max_bytes=1 << 20)
    assert j2.records == 3
    assert _drain(j2) == [*_lines(2), b'{"type": "ca']
    j2.close()


def test_size_bound(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    j = Journal(tmp_path, max_bytes=200, segment_bytes=64)
    assert j.append(_lines(7)) == 7
    assert j.counters["journal_above_80pct"] == 0
    assert j.append(_lines(2, 7)) == 2  # 180 bytes: above 80 %
    assert j.counters["journal_above_80pct"] == 1
    assert "above 80% of its limit" in caplog.text
    assert j.append(_lines(3, 9)) == 1  # room for exactly one more
    assert j.counters["journal_full_dropped"] == 2
    assert "records DROPPED" in caplog.text
    assert j.nbytes == 200
    assert _drain(j) == _lines(10)
    assert j.append(_lines(1)) == 1
    j.close()


def test_second_writer_on_same_directory_is_refused(tmp_path: Path) -> None:
    j = Journal(tmp_path, max_bytes=1000)
    with pytest.raises(StorageError) as info:
        Journal(tmp_path, max_bytes=1000)
    assert str(info.value) == f"journal directory {tmp_path} is in use by another writer"
    j.close()
    Journal(tmp_path, max_bytes=1000).close()


def test_unusable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="cannot use journal directory"):
        Journal(blocker / "journal", max_bytes=1000)


def test_bad_limit(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="journal max_bytes must be positive, got 0"):
        Journal(tmp_path, max_bytes=0)


def _fill(path: Path) -> None:
    """Fill the filesystem of ``path`` until it refuses another byte."""
    with open(path, "wb", buffering=0) as f:
        chunk = b"\0" * 4096
        try:
            while True:
                f.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_disk_full_write_is_all_or_nothing(
    small_fs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """On a really full disk (a small tmpfs) a batch is kept whole or not at all: the segment is
    cut back, the loss is counted exactly, and the next batch is read back intact."""
    j = Journal(small_fs / "journal", max_bytes=1 << 30)
    assert j.append(_lines(3, 0, size=1000)) == 3
    _fill(small_fs / "filler")
    batch = _lines(40, 3, size=1000)  # 40 kB: room for a part of it at most
    assert j.append(batch) == 0
    assert j.counters["journal_errors_dropped"] == 40
    assert "No space left on device: 40 records LOST" in caplog.text
    seg = next((small_fs / "journal").glob("segment-*.jsonl"))
    assert seg.stat().st_size == 3000  # the part that fitted was cut off again
    assert j.records == 3 and j.nbytes == 3000

    (small_fs / "filler").unlink()  # space comes back
    assert j.append(_lines(5, 100, size=1000)) == 5
    assert j.counters["journal_errors_dropped"] == 40
    assert _drain(j) == [*_lines(3, 0, size=1000), *_lines(5, 100, size=1000)]
    j.close()


def test_disk_full_when_a_segment_is_created(small_fs: Path) -> None:
    j = Journal(small_fs / "journal", max_bytes=1 << 30, segment_bytes=2000)
    assert j.append(_lines(2, 0, size=1000)) == 2  # fills the first segment
    _fill(small_fs / "filler")
    assert j.append(_lines(2, 2, size=1000)) == 0  # a new segment, nothing fits in it
    assert j.counters["journal_errors_dropped"] == 2
    (small_fs / "filler").unlink()
    assert j.append(_lines(2, 4, size=1000)) == 2
    assert j.records == 4
    assert _drain(j) == [*_lines(2, 0, size=1000), *_lines(2, 4, size=1000)]
    j.close()


def test_failed_fsync_loses_exactly_the_unsynced_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an fsync could not make durable is cut off and counted, earlier spills included."""
    j = Journal(tmp_path, max_bytes=1 << 20)
    assert j.append(_lines(2)) == 2  # synced
    assert j.append(_lines(3, 2), sync=False) == 3  # spilled, not synced yet

    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    assert j.append(_lines(4, 5)) == 0
    monkeypatch.undo()
    assert j.counters["journal_errors_dropped"] == 7
    assert j.records == 2 and j.nbytes == 40
    assert j.append(_lines(1, 9)) == 1
    assert _drain(j) == [*_lines(2), *_lines(1, 9)]
    j.close()


def test_files_are_private(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j", max_bytes=1 << 20)
    j.append(_lines(1))
    j.close()
    assert (tmp_path / "j").stat().st_mode & 0o027 == 0
    for f in (tmp_path / "j").iterdir():
        assert f.stat().st_mode & 0o027 == 0, f
