"""What the sender says about itself: the status line and its own ``/metrics``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from sniffer.service.metrics import MetricsServer, SensorSnapshot

if TYPE_CHECKING:
    from sniffer.capture.live import LiveCapture
    from sniffer.counters import Counters
    from sniffer.mirror.batch import BatchEncoder
    from sniffer.mirror.buffer import SendBuffer
    from sniffer.mirror.client import MirrorClient


class MirrorSender(Protocol):
    """What is reported of the sender (sniffer.mirror.sender.MirrorSender)."""

    name: str
    counters: Counters
    encoder: BatchEncoder
    buffer: SendBuffer
    client: MirrorClient
    capture: LiveCapture | None
    captured: int
    started: float


def figures(s: MirrorSender) -> dict[str, float | int | str | None]:
    c = s.counters
    enc = s.encoder
    sent = c["packets_sent"]
    return {
        "sensor": s.name,
        "receiver": str(s.client.connected) if s.client.connected else None,
        "last_receiver": str(s.client.last_target) if s.client.last_target else None,
        "captured_packets": s.captured,
        "sent_packets": sent,
        "sent_frames": c["frames_sent"],
        "sent_bytes": c["bytes_sent"],
        "buffered_frames": s.buffer.frames,
        "buffered_packets": s.buffer.packets,
        "buffered_bytes": s.buffer.mem_bytes + s.buffer.disk_bytes,
        "dropped_packets_buffer_full": c["dropped_packets.buffer_full"],
        "acked_frames": s.buffer.acked,
        "compression_ratio": round(enc.wire_bytes / enc.raw_bytes, 4) if enc.raw_bytes else None,
        "reconnects": c["reconnects"],
        "clock_offset_ms": None
        if s.client.clock_offset_ns is None
        else round(s.client.clock_offset_ns / 1e6, 3),
    }


def status_line(s: MirrorSender) -> str:
    f = figures(s)
    ratio = f["compression_ratio"]
    offset = f["clock_offset_ms"]
    rate = s.captured / max(1e-9, time.monotonic() - s.started)
    return (
        f"mirror {s.name}: captured {f['captured_packets']} ({rate:.0f}/s), sent {f['sent_packets']} "
        f"in {f['sent_frames']} frames, acknowledged up to frame {f['acked_frames']}, "
        f"buffered {f['buffered_packets']} packets ({f['buffered_bytes']} B), dropped "
        f"{f['dropped_packets_buffer_full']} (buffer full), compression "
        f"{'-' if ratio is None else f'{ratio:.2f}'}, receiver "
        f"{f['receiver'] or (f'none (last {last})' if (last := f['last_receiver']) else 'none')}, "
        f"clock offset {'-' if offset is None else f'{offset:+.3f} ms'}"
    )


class SenderCollector(Collector):
    def __init__(self, sender: MirrorSender) -> None:
        self.sender = sender

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        s = self.sender
        c = s.counters
        label = [s.name]

        def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
            m = CounterMetricFamily(name, doc, labels=["sensor"])
            m.add_metric(label, value)
            return m

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            m = GaugeMetricFamily(name, doc, labels=["sensor"])
            m.add_metric(label, value)
            return m

        yield counter("callsift_mirror_captured_packets", "Packets captured", s.captured)
        yield counter("callsift_mirror_sent_packets", "Packets sent", c["packets_sent"])
        yield counter("callsift_mirror_sent_frames", "Frames sent", c["frames_sent"])
        yield counter("callsift_mirror_sent_bytes", "Bytes sent on the stream", c["bytes_sent"])
        yield counter(
            "callsift_mirror_raw_bytes", "Batch bytes before compression", s.encoder.raw_bytes
        )
        yield counter(
            "callsift_mirror_compressed_bytes",
            "Batch bytes after compression",
            s.encoder.wire_bytes,
        )
        dropped = CounterMetricFamily(
            "callsift_mirror_dropped_packets",
            "Packets dropped by reason",
            labels=["sensor", "reason"],
        )
        dropped.add_metric([s.name, "buffer_full"], c["dropped_packets.buffer_full"])
        stats = s.capture.stats() if s.capture is not None else None
        dropped.add_metric([s.name, "kernel"], stats.kernel_dropped if stats else 0)
        dropped.add_metric([s.name, "queue"], stats.queue_dropped_packets if stats else 0)
        yield dropped
        yield counter("callsift_mirror_reconnects", "Connections lost", c["reconnects"])
        yield gauge(
            "callsift_mirror_buffered_packets", "Packets not yet acknowledged", s.buffer.packets
        )
        yield gauge(
            "callsift_mirror_buffered_bytes",
            "Bytes not yet acknowledged (memory and disk)",
            s.buffer.mem_bytes + s.buffer.disk_bytes,
        )
        yield gauge(
            "callsift_mirror_connected",
            "1 while a receiver is connected",
            s.client.connected is not None,
        )
        off = s.client.clock_offset_ns
        if off is not None:
            yield gauge(
                "callsift_mirror_clock_offset_seconds", "Receiver clock minus ours", off / 1e9
            )


class SenderMetricsServer(MetricsServer):
    """The sensor's small HTTP listener with the sender's metrics; ``/health`` is its figures."""

    def __init__(self, host: str, port: int, sender: MirrorSender) -> None:
        super().__init__(host, port, SensorSnapshot)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(SenderCollector(sender))
        self.sender = sender

    def _route(self, method: str, path: str) -> tuple[int, str, bytes]:
        if method == "GET" and path.split("?", 1)[0] == "/health":
            body = figures(self.sender)
            body["status"] = "ok" if self.sender.client.connected else "degraded"
            return 200, "application/json", json.dumps(body).encode() + b"\n"
        return super()._route(method, path)
