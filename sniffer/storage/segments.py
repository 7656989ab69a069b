"""The files of a journal: ``segment-<n>.jsonl``, numbered in the order they were written."""

import os
import re
from dataclasses import dataclass
from pathlib import Path

SEGMENT = re.compile(r"segment-(\d{12})\.jsonl")
SEGMENT_GLOB = "segment-*.jsonl"


@dataclass(slots=True)
class Segment:
    number: int
    path: Path
    size: int
    records: int


def segment_path(directory: Path, number: int) -> Path:
    return directory / f"segment-{number:012d}.jsonl"


def scan_segments(directory: Path) -> list[Segment]:
    """The segments in ``directory``, oldest first (empty ones are deleted); ``OSError`` when
    it cannot be read."""
    found: list[Segment] = []
    for entry in directory.iterdir():
        m = SEGMENT.fullmatch(entry.name)
        if m is None:
            continue
        size = entry.stat().st_size
        if size == 0:
            entry.unlink()
            continue
        found.append(Segment(int(m.group(1)), entry, size, count_lines(entry)))
    found.sort(key=lambda s: s.number)
    return found


def count_lines(path: Path) -> int:
    """Newline-terminated lines, plus a torn last line."""
    count = 0
    last = b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def fsync_dir(directory: Path) -> None:
    """Make a file created or renamed in ``directory`` durable (``OSError`` if not)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
