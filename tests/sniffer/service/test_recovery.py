"""The crash-recovery snapshot file: replaced atomically, private, this sensor's only; a damaged
or foreign one is ignored with one log line, never fatal."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest

from sniffer.service.recovery import CallSnapshotFile

CALL = {"call_id": "a@b", "answer_ts": 1.0}
TEXT = json.dumps(CALL)


def test_save_and_load(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    snap = CallSnapshotFile(tmp_path, 7)
    assert snap.load() == {}  # none yet
    snap.save({"eth0": [TEXT, TEXT]}, 1_700_000_000.0)
    assert snap.path == tmp_path / ".state" / "calls-7.json"
    assert stat.S_IMODE(snap.path.stat().st_mode) == 0o640
    assert stat.S_IMODE(snap.path.parent.stat().st_mode) == 0o750
    assert [p.name for p in snap.path.parent.iterdir()] == ["calls-7.json"]  # no temp file left
    with caplog.at_level(logging.WARNING):
        assert CallSnapshotFile(tmp_path, 7).load() == {"eth0": [CALL, CALL]}
    assert "adopting 2 calls in progress from its snapshot of 0 s ago" in caplog.text
    snap.clear()
    assert CallSnapshotFile(tmp_path, 7).load() == {}


def test_another_sensors_snapshot_is_not_adopted(tmp_path: Path) -> None:
    CallSnapshotFile(tmp_path, 7).save({"eth0": [TEXT]}, None)
    assert CallSnapshotFile(tmp_path, 8).load() == {}
    # the same file under another sensor's name (copied by hand): its content says whose it is
    (tmp_path / ".state" / "calls-7.json").rename(tmp_path / ".state" / "calls-8.json")
    assert CallSnapshotFile(tmp_path, 8).load() == {}


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b"[]", b'{"version": 1, "sensor_id": 7}', b'{"version": 1, "sensor_id": 7, '
     b'"calls": {"eth0": 5}}', b'{"version": 99, "sensor_id": 7, "calls": {}}'],
)  # fmt: skip
def test_a_damaged_snapshot_is_ignored(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    snap = CallSnapshotFile(tmp_path, 7)
    snap.path.parent.mkdir()
    snap.path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        assert snap.load() == {}
    assert str(snap.path) in caplog.text


def test_a_write_cut_short_leaves_the_previous_snapshot(tmp_path: Path) -> None:
    snap = CallSnapshotFile(tmp_path, 7)
    snap.save({"eth0": [TEXT]}, None)
    # what a kill during the next write leaves: its temporary file, half written
    stale = snap.path.parent / f".calls-7.json.{os.getpid()}-99.tmp"
    stale.write_bytes(b'{"version": 1, "sens')
    assert CallSnapshotFile(tmp_path, 7).load() == {"eth0": [CALL]}
    assert not stale.exists()


def test_a_failing_write_is_logged_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    snap = CallSnapshotFile(blocker, 7)  # its folder cannot be made
    with caplog.at_level(logging.ERROR):
        assert not snap.save_logged({"eth0": [TEXT]}, None)
        assert not snap.save_logged({"eth0": [TEXT]}, None)
    assert caplog.text.count("cannot write the crash-recovery snapshot") == 1
