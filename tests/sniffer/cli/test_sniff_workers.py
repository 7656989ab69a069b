"""How many processes ``callsift sniff`` runs (``analysis.workers``; docs/ARCHITECTURE.md
"Workers")."""

from __future__ import annotations

import functools
import logging

import pytest

from db.settings import load_settings
from sniffer.cli.sniff import _sensor_class
from sniffer.service.sensor import Sensor
from sniffer.workers.service import WorkerSensor
from sniffer.workers.shard import cores


def _workers(flags: dict[str, object]) -> int:
    made = _sensor_class(load_settings(None, flags))
    if made is Sensor:
        return 1
    assert isinstance(made, functools.partial) and made.func is WorkerSensor
    workers: int = made.keywords["workers"]
    return workers


def test_the_default_is_the_cores_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALLSIFT_WORKERS", raising=False)
    assert _workers({}) == min(cores(), 8)
    assert _workers({"analysis.workers": 1}) == 1
    assert _workers({"analysis.workers": 3}) == 3


def test_hep_out_runs_one_process_and_warns_only_when_workers_were_asked_for(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("CALLSIFT_WORKERS", raising=False)
    hep = {"hep.out": "udp:192.0.2.1:9060"}
    with caplog.at_level(logging.WARNING):
        assert _workers(hep) == 1
        assert not caplog.records
        assert _workers({**hep, "analysis.workers": 2}) == 1
    assert [r.getMessage() for r in caplog.records] == [
        "hep.out needs one process: the sensor runs without workers"
    ]
