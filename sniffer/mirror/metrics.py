"""The receiver's ``/metrics`` and ``/health``: the sensors of all senders added up (the
sensor's own metric names) plus ``callsift_mirror_*`` per sender and per refusal reason."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from sniffer.counters import Counters
from sniffer.service.metrics import MetricsServer, SensorSnapshot

if TYPE_CHECKING:
    from sniffer.mirror.pool import SensorPool
    from sniffer.mirror.server import MirrorReceiver


def receiver_snapshot(
    pool: SensorPool, running: bool, extra: list[tuple[str, Counters]]
) -> SensorSnapshot:
    """Every remote sensor's figures added up; the inputs' own counters (``extra``: prefix,
    counters) beside them."""
    out = SensorSnapshot(capture_running=running)
    counters = Counters()
    writer = Counters()
    spool = Counters()
    for sensor in pool.sensors.values():
        s = sensor.snapshot()
        out.packets += s.packets
        out.active_calls += s.active_calls
        out.journal_backlog += s.journal_backlog
        out.journal_bytes += s.journal_bytes
        out.cdrs_written += s.cdrs_written
        out.db_up = out.db_up and s.db_up
        counters.merge({k: v for k, v in s.counters.items() if not k.startswith("mirror.")})
        writer.merge(s.writer)
        spool.merge(s.spool)
    for prefix, c in extra:
        counters.merge(c, prefix)
    out.counters, out.writer, out.spool = counters.snapshot(), writer.snapshot(), spool.snapshot()
    return out


class ReceiverCollector(Collector):
    def __init__(self, receiver: MirrorReceiver) -> None:
        self.receiver = receiver

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        r = self.receiver
        conns = CounterMetricFamily(
            "callsift_mirror_connections",
            "Mirror connections accepted",
            value=r.counters["connections"],
        )
        yield conns
        refused = CounterMetricFamily(
            "callsift_mirror_refused",
            "Mirror connections refused or dropped, by reason (auth_failed, unknown_sensor, "
            "replayed, bad_handshake, bad_frames, read_timeouts, truncated_frames...)",
            labels=["reason"],
        )
        for key, n in sorted(r.counters.items()):
            if key != "connections":
                refused.add_metric([key.removeprefix("refused.")], n)
        yield refused
        frames = CounterMetricFamily(
            "callsift_mirror_frames", "Frames of each sender, by kind", labels=["sensor", "kind"]
        )
        packets = CounterMetricFamily(
            "callsift_mirror_packets", "Packets analysed for each sender", labels=["sensor"]
        )
        connected = GaugeMetricFamily(
            "callsift_mirror_connected", "1 while the sender is connected", labels=["sensor"]
        )
        offset = GaugeMetricFamily(
            "callsift_mirror_clock_offset_seconds",
            "This receiver's clock minus the sender's, measured at its handshake",
            labels=["sensor"],
        )
        for name, sensor in sorted(r.sensors.items()):
            for kind in ("frames", "gap_frames", "duplicate_frames", "bad_batches", "sessions"):
                frames.add_metric([name, kind], sensor.mirror[kind])
            packets.add_metric([name], sensor.packets)
            connected.add_metric([name], sensor.connected)
            if sensor.clock_offset_ns is not None:
                offset.add_metric([name], sensor.clock_offset_ns / 1e9)
        yield frames
        yield packets
        yield connected
        yield offset


class ReceiverMetricsServer(MetricsServer):
    """``/metrics`` and ``/health`` of a process whose only inputs are receivers."""

    def __init__(
        self,
        host: str,
        port: int,
        pool: SensorPool,
        mirror: MirrorReceiver | None,
        extra: list[tuple[str, Counters]],
    ) -> None:
        def snapshot() -> SensorSnapshot:
            return receiver_snapshot(pool, not pool.done.is_set(), extra)

        super().__init__(host, port, snapshot)
        if mirror is not None:
            self.registry.register(ReceiverCollector(mirror))
