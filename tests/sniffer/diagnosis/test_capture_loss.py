"""capture_loss: the sensor's own drops while the call was up (the drop ledger)."""

from __future__ import annotations

import math

import pytest

from db.settings import DiagnosisSettings
from sniffer.analyzer_config import AnalyzerConfig
from sniffer.diagnosis.drops import DropLedger
from sniffer.diagnosis.level import (
    ALAW,
    ULAW,
    LevelMeter,
    alaw_magnitude,
    amplitude_to_dbov,
    dbov_to_amplitude,
    quiet_codes,
    ulaw_magnitude,
)
from tests.pcapgen import encapsulate
from tests.sniffer.diagnosis.synth import T0, call, details, packets_of
from tests.sniffer.e2e import new_analyzer


def run_with_drops(samples: list[tuple[float, int, int]]) -> list[str]:
    run = new_analyzer(1)
    for ts, kernel, queue in samples:
        run.analyzer.diagnosis.record_drops(ts, kernel, queue)
    _lt, frames = encapsulate(packets_of(call()), "plain")
    run.analyzer.feed(frames)
    run.analyzer.finish()
    return details(run.call("diag-1@pcapgen"), "capture_loss")


def test_drops_while_the_call_was_up() -> None:
    got = run_with_drops([(T0 - 60, 500, 7), (T0 + 5.0, 600, 7), (T0 + 9.0, 620, 10)])
    assert got == [
        "the sensor dropped 123 packets while the call was up (kernel 120, queue 3): loss "
        "figures may be partly the sensor's"
    ]


def test_drops_before_and_after_the_call_do_not_count() -> None:
    assert run_with_drops([(T0 - 60, 0, 0), (T0 - 1.0, 50, 5), (T0 + 60.0, 90, 9)]) == []
    assert run_with_drops([]) == []


def test_ledger_counts_between_samples_and_keeps_order() -> None:
    ledger = DropLedger()
    assert ledger.between(0, 100) == (0, 0)
    ledger.record(10.0, 5, 1)  # before any call: the baseline
    ledger.record(20.0, 5, 1)  # unchanged: not stored
    ledger.record(30.0, 9, 1)
    ledger.record(25.0, 99, 99)  # clock went back: ignored
    ledger.record(40.0, 10, 4)
    assert ledger.between(0.0, 35.0) == (4, 0)
    assert ledger.between(31.0, 45.0) == (1, 3)
    assert ledger.between(41.0, 50.0) == (0, 0)


def test_g711_tables_and_levels() -> None:
    assert ulaw_magnitude(0xFF) == 0 and ulaw_magnitude(0x7F) == 0
    assert ulaw_magnitude(0x00) == 32124 and ulaw_magnitude(0x80) == 32124
    assert alaw_magnitude(0xD5) == 8 and alaw_magnitude(0x2A) == 32256
    quiet = quiet_codes(ULAW, -55.0)
    assert quiet is not None and 0xFF in quiet and 0x10 not in quiet
    assert quiet_codes(ALAW, -55.0) is not None and quiet_codes("G729", -55.0) is None
    assert all(ulaw_magnitude(c) < dbov_to_amplitude(-55.0) for c in quiet)
    assert amplitude_to_dbov(dbov_to_amplitude(-55.0)) == pytest.approx(-55.0)
    assert amplitude_to_dbov(0) == -math.inf
    meter = LevelMeter(quiet, 0)
    meter.add(b"\xff" * 160)  # digital silence
    meter.add(b"\x10" * 19 + b"\xff" * 141)  # 19 of 160 loud: below 1/8, silent
    meter.add(b"\x10" * 20 + b"\xff" * 140)  # 20 of 160: 1/8, not silent
    meter.add(b"")
    assert (meter.silent, meter.total, round(meter.silent_pct, 1)) == (2, 3, 66.7)


def test_disabled_diagnosis_keeps_pdd_only() -> None:
    config = AnalyzerConfig(diagnosis=DiagnosisSettings(enabled=False))
    run = new_analyzer(1, config=config)
    _lt, frames = encapsulate([p for p in packets_of(call()) if p.kind != "rtp"], "plain")
    run.analyzer.feed(frames)
    run.analyzer.finish()
    rec = run.call("diag-1@pcapgen")
    assert (rec.problems, rec.leg_group, rec.pdd_ms) == ([], None, 50)


def test_settings_reject_bad_values() -> None:
    with pytest.raises(ValueError, match="power of two"):
        DiagnosisSettings(silence_sample_every=3)
    with pytest.raises(ValueError, match="not a header name"):
        DiagnosisSettings(leg_headers=["X CID"])
    assert DiagnosisSettings(leg_headers="X-A, X-B").leg_headers == ["X-A", "X-B"]  # type: ignore[arg-type]
