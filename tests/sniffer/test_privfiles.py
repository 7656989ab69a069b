"""Private files: pcaps, journal segments and the call snapshot are 0640 in folders 0750, never
world-readable; a configured group (the API's reader) owns what the spool creates."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.errors import SpoolError
from sniffer.privfiles import group_id, make_dirs, open_private
from sniffer.spool.spool import CallPcapSpool
from sniffer.storage.journal import Journal

READER_GID = 54321
"""A group with no entry in /etc/group: root may give files to any gid."""


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual 022: what the process would create 0644/0755 without care."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_group_id() -> None:
    assert group_id(None) is None and group_id("") is None
    assert group_id("root") == 0
    assert group_id(str(READER_GID)) == READER_GID
    with pytest.raises(ValueError, match="no such group: 'no-such-group-x'"):
        group_id("no-such-group-x")


def test_make_dirs_and_open_private(tmp_path: Path, loose_umask: None) -> None:
    existing = tmp_path / "a"
    existing.mkdir(mode=0o755)
    existing.chmod(0o755)
    make_dirs(str(existing / "b" / "c"), READER_GID)
    assert _mode(existing) == 0o755  # left as it was
    for d in (existing / "b", existing / "b" / "c"):
        assert (_mode(d), d.stat().st_gid) == (0o750, READER_GID)
    fd = open_private(str(existing / "b" / "f"), os.O_WRONLY, READER_GID)
    os.close(fd)
    f = existing / "b" / "f"
    assert (_mode(f), f.stat().st_gid) == (0o640, READER_GID)
    make_dirs(str(existing / "b" / "c"))  # exists: nothing to do


def test_spool_files_and_folders_belong_to_the_reader_group(
    tmp_path: Path, loose_umask: None
) -> None:
    root = tmp_path / "spool"
    with CallPcapSpool(root, 1, group=str(READER_GID)) as spool:
        call = spool.open_call("c1@x", 1_700_000_000.0)
        call.write(1_700_000_000.0, b"x" * 60)
        rel = spool.close_call(call)
    assert rel is not None
    path = root / rel
    assert (_mode(path), path.stat().st_gid) == (0o640, READER_GID)
    d = path.parent
    while d != tmp_path:
        assert (_mode(d), d.stat().st_gid) == (0o750, READER_GID), d
        d = d.parent
    assert [p.name for p in root.iterdir()] == ["2023-11-14"]  # no probe left behind


def test_spool_without_a_group_is_private_too(tmp_path: Path, loose_umask: None) -> None:
    with CallPcapSpool(tmp_path / "s", 1) as spool:
        rel = spool.close_call(spool.open_call("c1@x", 0.0))
    assert rel is not None
    assert _mode(tmp_path / "s" / rel) == 0o640
    assert _mode((tmp_path / "s" / rel).parent) == 0o750


def test_spool_group_errors(tmp_path: Path) -> None:
    with pytest.raises(SpoolError, match=r"^spool group: no such group: 'no-such-group-x'$"):
        CallPcapSpool(tmp_path, 1, group="no-such-group-x")
    # without CAP_CHOWN, root is an ordinary user that is not a member of READER_GID
    code = (
        "from db.errors import SpoolError\nfrom sniffer.spool.spool import CallPcapSpool\n"
        f"try: CallPcapSpool({str(tmp_path / 's')!r}, 1, group='{READER_GID}')\n"
        "except SpoolError as e: print(e)\n"
    )
    cmd = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        cmd = ["setpriv", "--bounding-set", "-chown", "--", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    assert out == (
        f"spool files cannot be given to group {READER_GID}: Operation not permitted "
        "(the sensor's user must be a member of it)"
    )


def test_journal_segments_are_private(tmp_path: Path, loose_umask: None) -> None:
    directory = tmp_path / "spool" / ".journal"
    j = Journal(directory, max_bytes=1 << 20)
    j.append([b'{"type": "call"}\n'])
    [segment] = directory.glob("segment-*.jsonl")
    assert _mode(segment) == 0o640
    assert _mode(directory) == _mode(directory.parent) == 0o750
    assert _mode(directory / ".lock") == 0o640
    j.close()
