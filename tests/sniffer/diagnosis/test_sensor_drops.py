"""The live sensor hands its capture's drop totals to its analyzer's drop ledger once a
second (the housekeeping tick), which ``capture_loss`` reads."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from db.settings import Settings
from sniffer.analyzer import Analyzer
from sniffer.capture.livestats import CaptureStats
from sniffer.service.sensor import Sensor


class _Capture:
    def __init__(self) -> None:
        self.totals = CaptureStats()

    def stats(self) -> CaptureStats:
        return self.totals


def test_housekeeping_feeds_the_drop_ledger(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {"storage": {"db_url": "mysql://u@127.0.0.1/cs_diag_x"}, "spool": {"dir": str(tmp_path)}}
    )
    sensor = Sensor(settings)
    capture = _Capture()
    sensor.capture = capture  # type: ignore[assignment]
    analyzer = sensor.analyzer = Analyzer(1, lambda _r: None)
    start = time.time()
    asyncio.run(sensor._housekeeping())
    capture.totals.kernel_dropped, capture.totals.queue_dropped_packets = 40, 2
    asyncio.run(sensor._housekeeping())
    assert analyzer.diagnosis.drops.between(start - 1.0, time.time() + 1.0) == (40, 2)
