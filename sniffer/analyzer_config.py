"""What the analyzer (:mod:`sniffer.analyzer`) reads of the settings tree."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Self

from db.settings import AnalysisSettings, DecoderSettings, DiagnosisSettings, Settings

_A = AnalysisSettings()
"""Defaults of the ``analysis`` settings (db/settings.py): defined there only."""
GC_YOUNG_THRESHOLD = 10_000
"""Net allocations between two collections of CPython's youngest generation in a process that
analyses packets (CPython's default is 700). Such a process holds a large long-lived heap (a
call is about 70 tracked objects) while its packets allocate only what they free: with the
default, every quarter of growth of that heap costs a full collection, and the frequent young
collections touch the old objects the young ones point to. Measured with 10,000 concurrent
calls: 0.96 s of a 15 s analysis in the collector, 0.33 s with this (docs/BENCHMARKS.md)."""


def tune_gc() -> None:
    """Set the collector's youngest threshold to :data:`GC_YOUNG_THRESHOLD`, unless it is
    higher already or the collector is off (a threshold of 0)."""
    young, middle, old = gc.get_threshold()
    if 0 < young < GC_YOUNG_THRESHOLD:
        gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


@dataclass(slots=True)
class AnalyzerConfig:
    """What the analyzer reads of the settings tree (``analysis`` and ``decoder``)."""

    linger_s: float = _A.linger_s
    """How long a finished call stays open for late RTP, retransmissions and the BYE answer."""
    call_timeout_s: float = _A.call_timeout_s
    """A call with no SIP or RTP for this long is closed and flagged ``timeout``."""
    orphan_min_packets: int = _A.orphan_min_packets
    """An RTP-looking flow bound to no call is reported as a stream from this many packets on."""
    max_orphan_flows: int = _A.max_orphan_flows
    sip_tcp_ports: frozenset[int] = frozenset(_A.sip_tcp_ports)
    max_calls: int = _A.max_calls
    """Calls tracked at once; above 80 % dialogs without any answer time out early, at 100 %
    new calls are refused (counted): memory stays bounded whatever arrives."""
    max_registrations: int = _A.max_registrations
    """REGISTER attempts awaiting their answer, the same way."""
    decoder: DecoderSettings = field(default_factory=DecoderSettings)
    """Ports and limits of the packet decoder."""
    diagnosis: DiagnosisSettings = field(default_factory=DiagnosisSettings)
    """Thresholds of the call diagnosis and of leg linking."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        a = settings.analysis
        return cls(
            linger_s=a.linger_s,
            call_timeout_s=a.call_timeout_s,
            orphan_min_packets=a.orphan_min_packets,
            max_orphan_flows=a.max_orphan_flows,
            sip_tcp_ports=frozenset(a.sip_tcp_ports),
            max_calls=a.max_calls,
            max_registrations=a.max_registrations,
            decoder=settings.decoder,
            diagnosis=settings.diagnosis,
        )
