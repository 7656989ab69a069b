"""``callsift analyze --workers N`` gives the records of one process: on every golden capture,
on a generated load capture, with call timeouts, and with per-call pcaps."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from sniffer.cli.main import main
from tests.live.cdrs import row_counts
from tests.pcapgen.reader import read_capture
from tests.pcapgen.writer import pcap_header

# worker processes per test: the full run's (`make test`), not the fast loop's
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = sorted(
    p
    for p in (ROOT / "tests" / "data" / "golden").iterdir()
    if ".pcap" in p.suffixes or p.suffix in (".pcap", ".pcapng")
)


def analyze(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    """The JSON lines of one run, sorted (workers hand calls over as they complete)."""
    capsys.readouterr()
    main(["analyze", "--json", "--no-progress", *argv])
    return sorted(capsys.readouterr().out.splitlines())


@pytest.fixture(scope="module")
def load_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("load") / "load.pcap"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gen_load.py"), str(out), "--calls", "60",
         "--concurrent", "25", "--packets", "40000", "--seed", "7"],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_golden_captures(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    one = analyze(capsys, str(path))
    assert analyze(capsys, "--workers", "2", str(path)) == one


@pytest.mark.parametrize("workers", ["2", "3"])
def test_load_capture(capsys: pytest.CaptureFixture[str], load_capture: Path, workers: str) -> None:
    one = analyze(capsys, str(load_capture))
    calls = [json.loads(line) for line in one if '"type": "call"' in line]
    assert len(calls) == 60
    assert sum(len(c["streams"]) for c in calls) == 120
    assert analyze(capsys, "--workers", workers, str(load_capture)) == one


def _without_bye(src: Path, dst: Path) -> None:
    """The capture less every BYE and its answer (an answer alone ends the call as a hang-up,
    ``bye_not_seen``): calls end by the timeout."""
    cap = read_capture(src)
    with dst.open("wb") as f:
        f.write(pcap_header(cap.linktype))
        for ts, frame in cap.frames:
            if frame[42:46] == b"BYE " or b" BYE\r\n" in frame:
                continue
            us = round(ts * 1e6)
            f.write(struct.pack("<IIII", us // 1_000_000, us % 1_000_000, len(frame), len(frame)))
            f.write(frame)


def test_timeouts(capsys: pytest.CaptureFixture[str], load_capture: Path, tmp_path: Path) -> None:
    path = tmp_path / "no_bye.pcap"
    _without_bye(load_capture, path)
    one = analyze(capsys, "--call-timeout", "2", str(path))
    states = [json.loads(line)["state"] for line in one if '"type": "call"' in line]
    assert states.count("timeout") > 20, states
    assert analyze(capsys, "--call-timeout", "2", "--workers", "2", str(path)) == one


def test_per_call_pcaps(
    capsys: pytest.CaptureFixture[str], load_capture: Path, tmp_path: Path
) -> None:
    one = [
        json.loads(line)
        for line in analyze(capsys, "--spool", str(tmp_path / "a"), str(load_capture))
    ]
    two = [
        json.loads(line)
        for line in analyze(
            capsys, "--spool", str(tmp_path / "b"), "--workers", "2", str(load_capture)
        )
    ]
    assert [r.get("pcap") for r in one] == [r.get("pcap") for r in two]
    pcaps = [r["pcap"] for r in one if r.get("pcap")]
    assert len(pcaps) == 60
    for rel in pcaps:
        a = read_capture(tmp_path / "a" / rel)
        b = read_capture(tmp_path / "b" / rel)
        assert sorted(b.frames) == sorted(a.frames)
    assert not [p for p in (tmp_path / "b").rglob("*") if ".w1" in p.parts and p.is_file()]


def test_into_the_database(
    capsys: pytest.CaptureFixture[str],
    load_capture: Path,
    db_url: str,
    sensor_id: int,
    tmp_path: Path,
) -> None:
    """With ``--db`` the parent runs the CDR writer's thread: the workers are spawned, not
    forked, and every call is one row."""
    one = analyze(capsys, str(load_capture))
    two = analyze(
        capsys, "--workers", "2", "--db", db_url, "--sensor-id", str(sensor_id),
        "--journal", str(tmp_path / "journal"), str(load_capture),
    )  # fmt: skip
    assert two == one
    counts = row_counts(db_url, sensor_id)
    assert (counts["cdr"], counts["duplicates"]) == (60, 0)
