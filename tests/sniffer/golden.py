"""Helpers for golden tests over the real captures in tests/data/golden/."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from db.records import Record
from db.settings import SIP_TCP_PORTS
from sniffer.analyzer import Analyzer
from sniffer.analyzer_config import AnalyzerConfig
from sniffer.capture.files import open_capture
from sniffer.counters import Counters

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "golden"

EXTRA_SIP_PORTS = {"sip_tcp6060_segmented_avaya_486_cancel.pcap": {6060}}


@cache
def tshark_sip() -> dict[str, list[dict[str, Any]]]:
    data: dict[str, list[dict[str, Any]]] = json.loads((GOLDEN / "tshark_sip.json").read_text())
    return data


@cache
def tshark_streams() -> dict[str, list[dict[str, Any]]]:
    data: dict[str, list[dict[str, Any]]] = json.loads(
        (GOLDEN / "tshark_rtp_streams.json").read_text()
    )
    return data


def golden_files() -> list[str]:
    return sorted(p.name for p in GOLDEN.iterdir() if p.suffix in (".pcap", ".pcapng"))


def analyze(name: str, **config: Any) -> tuple[list[Record], Counters]:
    """Run the analyzer over one golden capture; return its records and counters."""
    records: list[Record] = []
    counters = Counters()
    ports = frozenset({*SIP_TCP_PORTS, *EXTRA_SIP_PORTS.get(name, ())})
    cfg = AnalyzerConfig(sip_tcp_ports=ports, **config)
    with open_capture(str(GOLDEN / name)) as src:
        analyzer = Analyzer(src.linktype, records.append, config=cfg, counters=counters)
        analyzer.feed(src.packets())
        analyzer.finish()
    return records, counters
