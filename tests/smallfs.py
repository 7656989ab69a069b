"""A small filesystem of the test's own that really fills up (a tmpfs, needs root)."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

SMALL_FS_BYTES = 256 << 10


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of :data:`SMALL_FS_BYTES` (named ``so-<pid>``) mounted for the test: a disk that
    fills up for real. Unmounted after."""
    mnt = tmp_path / "small-fs"
    mnt.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SMALL_FS_BYTES},mode=0700",
         f"so-{os.getpid()}", str(mnt)],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=True, capture_output=True)
