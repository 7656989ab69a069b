"""``analysis.rtp_batch``: handing the fast path's RTP to the statistics in batches gives the
very records of one packet at a time (golden captures and a generated load capture with loss,
reordering and RTCP)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sniffer.cli.main import main

# whole captures twice: the full run's (`make test`), not the fast loop's
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = sorted(
    p
    for p in (ROOT / "tests" / "data" / "golden").iterdir()
    if ".pcap" in p.suffixes or p.suffix in (".pcap", ".pcapng")
)


def analyze(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, batch: bool, path: Path
) -> list[str]:
    monkeypatch.setenv("CALLSIFT_RTP_BATCH", "1" if batch else "0")
    capsys.readouterr()
    main(["analyze", "--json", "--no-progress", "--workers", "1", "--stats", str(path)])
    return capsys.readouterr().out.splitlines()


@pytest.fixture(scope="module")
def load_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("load") / "load.pcap"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gen_load.py"), str(out), "--calls", "40",
         "--concurrent", "20", "--packets", "30000", "--seed", "11"],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_golden_captures(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, path: Path
) -> None:
    assert analyze(capsys, monkeypatch, True, path) == analyze(capsys, monkeypatch, False, path)


def test_load_capture(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, load_capture: Path
) -> None:
    batched = analyze(capsys, monkeypatch, True, load_capture)
    assert sum('"type": "call"' in line for line in batched) == 40
    assert batched == analyze(capsys, monkeypatch, False, load_capture)
