"""Prometheus metrics and the health endpoint of a sensor, on one small HTTP listener.

Metrics are read at scrape time from the sensor's counters (a custom collector): the packet
path never touches a metric object.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from db.errors import ConfigError
from sniffer.faults import internal_errors

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 8192


LOSS_HOLD_S = 300.0
"""/health says ``failing`` for this long after the sensor last lost data."""
RECORD_LOSS_REASONS = {
    "journal_full_dropped": "journal_full",
    "journal_errors_dropped": "journal_error",
    "unserialisable_dropped": "unserialisable",
    "rejected_lost": "rejected_unwritable",
}
"""Writer counter -> ``reason`` label of ``callsift_records_lost_total``."""


@dataclass(slots=True)
class SensorSnapshot:
    """What the sensor reports about itself, gathered on demand."""

    packets: int = 0
    active_calls: int = 0
    kernel_dropped: int = 0
    interface_dropped: int = 0
    queue_dropped: int = 0
    capture_running: bool = True
    db_up: bool = True
    journal_backlog: int = 0
    journal_bytes: int = 0
    cdrs_written: int = 0
    spool_bytes: int = 0
    counters: dict[str, int] = field(default_factory=dict)
    writer: dict[str, int] = field(default_factory=dict)
    """The CDR writer's counters (``journaled``, ``failures``, ``journal_full_dropped``...)."""
    spool: dict[str, int] = field(default_factory=dict)
    """The pcap spool's counters (``write_errors``, ``bytes_dropped``, ``pcap_failed.<errno>``)."""
    losing: list[str] = field(default_factory=list)
    """Data lost within :data:`LOSS_HOLD_S` (one line per kind): /health is ``failing``."""
    workers: list[dict[str, int]] = field(default_factory=list)
    """``sniff --workers``: per worker, its ``packets`` (every packet it analysed, those
    every worker gets included), ``kernel_dropped`` (its ring's) and ``queue_dropped``."""

    @property
    def records_lost(self) -> dict[str, int]:
        """Records lost for good by ``reason`` label (every reason, zeros included)."""
        return {label: self.writer.get(name, 0) for name, label in RECORD_LOSS_REASONS.items()}

    @property
    def pcaps_failed(self) -> dict[str, int]:
        """Calls whose pcap could not be written, by reason (an errno name)."""
        prefix = "pcap_failed."
        return {k[len(prefix) :]: n for k, n in self.spool.items() if k.startswith(prefix)}


class LossWatch:
    """Remembers when each kind of data loss last grew, for :func:`health`. Fed the totals
    every time the sensor takes a snapshot (at least every heartbeat)."""

    def __init__(self, hold_s: float = LOSS_HOLD_S) -> None:
        self.hold_s = hold_s
        self._seen: dict[str, int] = {}
        self._grew_at: dict[str, float] = {}

    def update(self, totals: dict[str, int], now: float) -> list[str]:
        """``totals``: kind of loss (a line for an operator) -> count since start. Returns
        ``"<kind>: <count>"`` for every kind that grew within ``hold_s`` of ``now``."""
        for kind, n in totals.items():
            if n > self._seen.get(kind, 0):
                self._grew_at[kind] = now
            self._seen[kind] = n
        return [
            f"{kind}: {self._seen[kind]}"
            for kind, at in sorted(self._grew_at.items())
            if now - at < self.hold_s
        ]


def loss_totals(s: SensorSnapshot) -> dict[str, int]:
    """The kinds of loss :class:`LossWatch` follows, from a snapshot."""
    totals = {f"records lost ({label})": n for label, n in s.records_lost.items()}
    totals["pcap write errors"] = s.spool.get("write_errors", 0)
    totals["pcaps not written"] = sum(s.pcaps_failed.values())
    return totals


class SensorCollector(Collector):
    """Turns a :class:`SensorSnapshot` into Prometheus metric families (docs/SENSOR.md lists
    every name as exposed; a test compares the two)."""

    def __init__(self, snapshot: Callable[[], SensorSnapshot]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        s = self.snapshot()
        yield CounterMetricFamily("callsift_packets", "Packets analysed", value=s.packets)
        yield CounterMetricFamily(
            "callsift_kernel_dropped_packets",
            "Packets that matched the capture filter but found the kernel capture ring full",
            value=s.kernel_dropped,
        )
        yield CounterMetricFamily(
            "callsift_interface_dropped_packets",
            "Packets the network interface hardware missed (all traffic, before the filter)",
            value=s.interface_dropped,
        )
        yield CounterMetricFamily(
            "callsift_queue_dropped_packets",
            "Packets dropped because the analysis queue was full",
            value=s.queue_dropped,
        )
        yield from _worker_families(s)
        yield CounterMetricFamily(
            "callsift_cdrs_written", "Records written to the database", value=s.cdrs_written
        )
        yield from _storage_families(s)
        yield GaugeMetricFamily("callsift_active_calls", "Calls in progress", value=s.active_calls)
        yield GaugeMetricFamily(
            "callsift_journal_backlog_records",
            "Records waiting in the on-disk journal for the database",
            value=s.journal_backlog,
        )
        yield GaugeMetricFamily(
            "callsift_journal_bytes", "Size of the on-disk journal", value=s.journal_bytes
        )
        yield GaugeMetricFamily("callsift_db_up", "1 if the database answers", value=s.db_up)
        yield GaugeMetricFamily(
            "callsift_capture_running", "1 while capture runs", value=s.capture_running
        )
        events = CounterMetricFamily(
            "callsift_events", "Decoder/parser/tracker events by reason", labels=["reason"]
        )
        for reason, n in sorted(s.counters.items()):
            events.add_metric([reason], n)
        yield events
        bugs = CounterMetricFamily(
            "callsift_analyzer_internal_errors",
            "Packets whose analysis raised (a callsift bug: counted, logged, skipped), by type",
            labels=["type"],
        )
        for kind, n in sorted(internal_errors(s.counters).items()):
            bugs.add_metric([kind], n)
        yield bugs


WORKER_FAMILIES = (
    ("packets", "callsift_worker_packets", "Packets a worker analysed (those every worker "
     "gets, such as SIP, counted by each)"),
    ("kernel_dropped", "callsift_worker_kernel_dropped_packets", "Packets that found a "
     "worker's kernel capture ring full"),
    ("queue_dropped", "callsift_worker_queue_dropped_packets", "Packets dropped because a "
     "worker's analysis queue was full"),
)  # fmt: skip
"""Snapshot key, metric name, help of the per-worker counters (no samples with one process)."""


def _worker_families(s: SensorSnapshot) -> Iterator[CounterMetricFamily]:
    for key, name, doc in WORKER_FAMILIES:
        family = CounterMetricFamily(name, doc, labels=["worker"])
        for i, w in enumerate(s.workers):
            family.add_metric([str(i)], w.get(key, 0))
        yield family


def _storage_families(s: SensorSnapshot) -> Iterator[CounterMetricFamily]:
    """Where the records and pcaps went: journal, replays, failures, and every loss."""
    w = s.writer
    yield CounterMetricFamily(
        "callsift_records_journaled",
        "Records put in the on-disk journal (database down or slow)",
        value=w.get("journaled", 0),
    )
    yield CounterMetricFamily(
        "callsift_records_replayed",
        "Journalled records written to the database later",
        value=w.get("replayed", 0),
    )
    yield CounterMetricFamily(
        "callsift_db_failures", "Failed database contacts", value=w.get("failures", 0)
    )
    yield CounterMetricFamily(
        "callsift_records_rejected",
        "Records the database refused for their content, kept in rejected.jsonl",
        value=w.get("rejected", 0),
    )
    lost = CounterMetricFamily(
        "callsift_records_lost",
        "Records lost for good: journal full, journal write failed (full disk), not "
        "serialisable, or refused and rejected.jsonl not writable",
        labels=["reason"],
    )
    for reason, n in s.records_lost.items():
        lost.add_metric([reason], n)
    yield lost
    yield CounterMetricFamily(
        "callsift_spool_write_errors",
        "Failed writes of per-call pcaps (the packets they held are missing from the file)",
        value=s.spool.get("write_errors", 0),
    )
    yield CounterMetricFamily(
        "callsift_spool_bytes_dropped",
        "Bytes of packets per-call pcaps could not hold",
        value=s.spool.get("bytes_dropped", 0),
    )
    failed = CounterMetricFamily(
        "callsift_pcaps_failed",
        "Calls whose pcap could not be written (their CDR names none), by errno",
        labels=["reason"],
    )
    for reason, n in sorted(s.pcaps_failed.items()):
        failed.add_metric([reason], n)
    yield failed


def health(s: SensorSnapshot) -> tuple[int, dict[str, Any]]:
    """HTTP status and body of ``/health``: 503 ``failing`` when capture stopped or data was
    lost within :data:`LOSS_HOLD_S`; ``degraded`` while the database does not answer (records
    go to the journal meanwhile); else ``ok``."""
    status = "ok"
    if not s.db_up:
        status = "degraded"
    if s.losing or not s.capture_running:
        status = "failing"
    body = {
        "status": status,
        "capture_running": s.capture_running,
        "db_up": s.db_up,
        "losing": s.losing,
        "records_lost": sum(s.records_lost.values()),
        "active_calls": s.active_calls,
        "journal_backlog": s.journal_backlog,
        "kernel_dropped": s.kernel_dropped,
        "queue_dropped": s.queue_dropped,
    }
    return (503 if status == "failing" else 200), body


class MetricsServer:
    """``GET /metrics`` (Prometheus text format) and ``GET /health`` (JSON)."""

    def __init__(self, host: str, port: int, snapshot: Callable[[], SensorSnapshot]) -> None:
        self.host = host
        self.port = port
        self.snapshot = snapshot
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(SensorCollector(snapshot))
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> MetricsServer:
        try:
            self._server = await asyncio.start_server(self._handle, self.host, self.port)
        except OSError as exc:
            raise ConfigError(
                f"metrics.listen (CALLSIFT_METRICS_LISTEN): cannot listen on "
                f"{self.host}:{self.port}: {exc.strerror or exc}"
            ) from exc
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def bound_port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5):
                head = await reader.readuntil(b"\r\n\r\n")
            if len(head) > MAX_REQUEST_BYTES:
                raise ValueError("request too large")
            method, path, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            status, ctype, body = self._route(method, path)
        except (ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            status, ctype, body = 400, "text/plain", b"bad request\n"
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
                  503: "Service Unavailable"}.get(status, "")  # fmt: skip
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        try:
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def _route(self, method: str, path: str) -> tuple[int, str, bytes]:
        if method != "GET":
            return 405, "text/plain", b"only GET\n"
        path = path.split("?", 1)[0]
        if path == "/metrics":
            return 200, "text/plain; version=0.0.4", generate_latest(self.registry)
        if path == "/health":
            status, body = health(self.snapshot())
            return status, "application/json", json.dumps(body).encode() + b"\n"
        return 404, "text/plain", b"not found\n"
