"""Spool retention: oldest first down to the size limit, age limit, never an open call's file."""

from __future__ import annotations

import os
from pathlib import Path

from sniffer.service.retention import SpoolCleaner

NOW = 1_800_000_000.0
DAY = 86400.0


def _pcap(root: Path, rel: str, size: int, age_s: float) -> str:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"\0" * size)
    os.utime(p, (NOW - age_s, NOW - age_s))
    return rel


def _left(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_size_limit_deletes_oldest_first_and_prunes_dirs(tmp_path: Path) -> None:
    files = [
        _pcap(tmp_path, f"2027-01-0{i}/10/00/c{i}.pcap", 1000, (9 - i) * DAY) for i in range(1, 6)
    ]
    cleaner = SpoolCleaner(tmp_path, max_bytes=2500, max_age_s=0, open_files=frozenset)
    res = cleaner.sweep(NOW)
    assert _left(tmp_path) == set(files[3:])
    assert (res.deleted_files, res.freed_bytes, res.remaining_bytes) == (3, 3000, 2000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2027-01-04", "2027-01-05"]


def test_age_limit(tmp_path: Path) -> None:
    old = _pcap(tmp_path, "a/old.pcap.gz", 10, 15 * DAY)
    new = _pcap(tmp_path, "b/new.pcap", 10, 1 * DAY)
    (tmp_path / "notes.txt").write_text("not a pcap: kept")
    SpoolCleaner(tmp_path, max_bytes=0, max_age_s=14 * DAY, open_files=frozenset).sweep(NOW)
    assert _left(tmp_path) == {new, "notes.txt"}
    assert old not in _left(tmp_path)


def test_open_calls_are_never_deleted(tmp_path: Path) -> None:
    busy = _pcap(tmp_path, "x/busy.pcap", 5000, 30 * DAY)
    idle = _pcap(tmp_path, "x/idle.pcap", 5000, 20 * DAY)
    res = SpoolCleaner(
        tmp_path, max_bytes=1000, max_age_s=DAY, open_files=lambda: frozenset({busy})
    ).sweep(NOW)
    assert _left(tmp_path) == {busy}
    assert idle not in _left(tmp_path)
    assert res.remaining_bytes == 5000  # over the limit: the rest belongs to an open call


def test_no_limits_delete_nothing(tmp_path: Path) -> None:
    f = _pcap(tmp_path, "y/z.pcap", 100, 1000 * DAY)
    assert (
        SpoolCleaner(tmp_path, max_bytes=0, max_age_s=0, open_files=frozenset)
        .sweep(NOW)
        .deleted_files
        == 0
    )
    assert _left(tmp_path) == {f}


def test_hidden_directories_are_never_pruned(tmp_path: Path) -> None:
    """.imports (the API's mount point), .sensor, .journal...: empty or not, they stay."""
    for hidden in (".imports", ".sensor/pool-eth1", ".journal"):
        (tmp_path / hidden).mkdir(parents=True)
    old = _pcap(tmp_path, "2027-01-01/10/00/c.pcap", 10, 30 * DAY)
    cleaner = SpoolCleaner(tmp_path, max_bytes=0, max_age_s=DAY, open_files=frozenset)
    assert cleaner.sweep(NOW).deleted_files == 1 and not (tmp_path / old).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".imports", ".journal", ".sensor"]
    assert (tmp_path / ".sensor" / "pool-eth1").is_dir()
