"""``callsift analyze --spool`` when pcaps cannot be written: a call whose pcap could not be
written whole has ``pcap: null``, the failures are counted and said in one line, the exit code
is 1 (docs/CDR.md), and every pcap a record names exists and reads back. Real failures: a
date folder the process may not write (root without CAP_DAC_OVERRIDE), a full tmpfs."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sniffer.capture.files import open_capture
from tests.pcapgen import Call, Party, merge, write_pcap
from tests.pcapgen.encap import encapsulate

pytestmark = pytest.mark.slow  # one callsift process per test (and a tmpfs)

T0 = 1_700_000_000.0
"""2023-11-14 22:13:20 UTC: calls starting before T0 + 40 (the first 8) go to the folder of
minute 13."""


def _capture(path: Path, calls: int) -> Path:
    scen = merge(
        *(
            Call(call_id=f"c{i}@spool", start=T0 + 5 * i, talk_s=1.0,
                 caller=Party(f"u{i}", f"10.0.1.{i + 1}", rtp_port=40000 + 2 * i),
                 callee=Party(f"v{i}", f"10.0.2.{i + 1}", rtp_port=50000 + 2 * i)).build()
            for i in range(calls)
        )
    )  # fmt: skip
    linktype, frames = encapsulate(scen.packets, "plain")
    write_pcap(path, linktype, frames)
    return path


def _analyze(
    spool: Path, capture: Path, *, no_dac_override: bool = False
) -> tuple[int, str, list[dict[str, object]]]:
    cmd = [sys.executable, "-m", "sniffer.cli.main", "analyze", "--json", "--spool", str(spool),
           str(capture)]  # fmt: skip
    if no_dac_override and os.geteuid() == 0:
        # root ignores permission bits; without these capabilities it obeys them like any user
        cmd = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    calls = [rec for rec in map(json.loads, r.stdout.splitlines()) if rec["type"] == "call"]
    return r.returncode, r.stderr, calls


def _files(spool: Path) -> set[str]:
    return {str(p.relative_to(spool)) for p in spool.rglob("*.pcap")}


def _named_pcaps_are_whole(spool: Path, calls: list[dict[str, object]]) -> set[str]:
    named = {str(c["pcap"]) for c in calls if c["pcap"] is not None}
    assert _files(spool) == named  # no empty, partial or unnamed file is left behind
    for rel in named:
        with open_capture(str(spool / rel)) as src:
            assert sum(1 for _ in src.packets()) > 10
            assert src.warning is None
    return named


def test_unwritable_date_folder(tmp_path: Path) -> None:
    capture = _capture(tmp_path / "calls.pcap", 12)
    spool = tmp_path / "spool"
    locked = spool / "2023-11-14" / "22" / "13"
    locked.mkdir(parents=True)
    locked.chmod(0o555)
    rc, err, calls = _analyze(spool, capture, no_dac_override=True)
    assert rc == 1, err
    assert len(calls) == 12
    nulls = sorted(str(c["call_id"]) for c in calls if c["pcap"] is None)
    assert nulls == sorted(f"c{i}@spool" for i in range(8)), err  # those of minute 13
    line = err.strip().splitlines()[-1]
    assert line.startswith("callsift: 8 call pcaps could not be written (8 EACCES; last: ")
    assert line.endswith("Permission denied); their records have pcap: null")
    assert all(str(c["pcap"]).startswith("2023-11-14/22/14/") for c in calls if c["pcap"])
    assert len(_named_pcaps_are_whole(spool, calls)) == 4


def test_spooled_files_are_private(tmp_path: Path) -> None:
    capture = _capture(tmp_path / "calls.pcap", 2)
    spool = tmp_path / "spool"
    rc, err, calls = _analyze(spool, capture)
    assert rc == 0, err
    for c in calls:
        path = spool / str(c["pcap"])
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
        parent = path.parent
        while parent != tmp_path:
            assert stat.S_IMODE(parent.stat().st_mode) == 0o750, parent
            parent = parent.parent


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 192 KiB tmpfs, unmounted whatever happens."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k,mode=0750", "tmpfs", str(mnt)],
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_spool_disk_full(tmp_path: Path, tiny_fs: Path) -> None:
    capture = _capture(tmp_path / "calls.pcap", 20)
    rc, err, calls = _analyze(tiny_fs, capture)
    assert rc == 1, err
    assert len(calls) == 20
    named = _named_pcaps_are_whole(tiny_fs, calls)
    failed = 20 - len(named)
    assert 0 < len(named) < 20
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"callsift: {failed} call pcaps could not be written ({failed} ENOSPC;")
