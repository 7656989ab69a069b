"""``callsift mirror-send``: capture (or read a file), batch, compress, buffer and stream to the
receivers, with no SIP or RTP parsing (docs/MIRROR.md)."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, suppress
from itertools import islice
from pathlib import Path

from db.errors import ConfigError
from db.settings import Settings
from db.settings.base import parse_host_port
from sniffer.capture.bpf import build_default_bpf
from sniffer.capture.files import open_capture
from sniffer.capture.live import LiveCapture, LiveOptions
from sniffer.counters import Counters
from sniffer.mirror import auth, frames
from sniffer.mirror.batch import BatchEncoder
from sniffer.mirror.buffer import Pending, SendBuffer
from sniffer.mirror.client import MirrorClient, Target
from sniffer.mirror.sendstats import SenderMetricsServer, status_line

log = logging.getLogger(__name__)

FILE_BATCH = 1024
"""Packets per batch read from a file."""
STATUS_S = 10.0
STOP_GRACE_S = 5.0
"""On SIGTERM, how long the buffered frames may take to leave."""
REALTIME_SLACK_S = 0.02


def sender_bpf(sip_tcp_ports: list[int]) -> str:
    """The default filter: the sensor's (SIP ports, tunnels) without UDP below port 1024
    (DNS, NTP, syslog: never RTP)."""
    return f"(not udp or udp portrange 1024-65535) and ({build_default_bpf(sip_tcp_ports)})"


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    m = settings.mirror
    if not m.tls:
        return None
    try:
        return ssl.create_default_context(cafile=str(m.tls_ca) if m.tls_ca else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"mirror.tls_ca (CALLSIFT_MIRROR_TLS_CA): {exc}") from exc


class MirrorSender:
    def __init__(
        self,
        settings: Settings,
        *,
        interface: str | None = None,
        file: Path | None = None,
        realtime: bool = False,
    ) -> None:
        m = settings.mirror
        if (interface is None) == (file is None):
            raise ConfigError("mirror-send needs one of -i IFACE or -r FILE")
        if not m.to:
            raise ConfigError("no receiver: pass --to HOST:PORT or set CALLSIFT_MIRROR_TO")
        if m.secret is None:
            raise ConfigError("mirror.secret is required (set CALLSIFT_MIRROR_SECRET)")
        try:
            self.name = auth.check_name(settings.sensor.name)
        except ValueError as exc:
            raise ConfigError(f"--sensor: {exc}") from None
        self.settings = settings
        self.interface = interface
        self.file = file
        self.realtime = realtime
        self.counters = Counters()
        self.buffer = SendBuffer(
            m.buffer_mb << 20,
            disk_dir=m.disk_buffer_dir,
            disk_bytes=m.disk_buffer_mb << 20,
            counters=self.counters,
        )
        targets = [Target(*parse_host_port(t)) for t in m.to]
        self.client = MirrorClient(
            self.name,
            m.secret.get_secret_value().encode(),
            targets,
            self.buffer,
            tls=tls_context(settings),
            counters=self.counters,
        )
        self.encoder = BatchEncoder()
        self.next_seq = 1
        self.captured = 0
        self.capture: LiveCapture | None = None
        if interface is not None:
            cap = settings.capture
            self.capture = LiveCapture(
                LiveOptions(
                    interfaces=[interface],
                    bpf=cap.bpf or sender_bpf(settings.analysis.sip_tcp_ports),
                    snaplen=cap.snaplen,
                    buffer_bytes=cap.buffer_mb << 20,
                    promisc=cap.promisc,
                )
            )
            self.capture.open()
        self.started = time.monotonic()

    # -- producing frames -------------------------------------------------------------------

    def push(self, linktype: int, packets: list[tuple[float, bytes]]) -> None:
        if not packets:
            return
        body, compressed = self.encoder.encode(linktype, packets)
        flags = frames.FLAG_ZSTD if compressed else 0
        self.buffer.push(Pending(self.next_seq, flags, body, len(packets)))
        self.next_seq += 1
        self.captured += len(packets)
        self.client.wake.set()

    async def _pump_file(self, stop: asyncio.Event) -> None:
        assert self.file is not None
        with open_capture(self.file) as src:
            it = iter(src.packets())
            first: float | None = None
            start = time.monotonic()
            while not stop.is_set():
                chunk = list(islice(it, FILE_BATCH))
                if not chunk:
                    break
                for part in self._realtime_parts(chunk) if self.realtime else (chunk,):
                    if self.realtime:
                        if first is None:
                            first = part[0][0]
                        ahead = (part[0][0] - first) - (time.monotonic() - start)
                        if ahead > 0:
                            await asyncio.sleep(ahead)
                    self.push(src.linktype, part)
                await self._room(stop)
            if src.warning:
                log.warning("%s", src.warning)

    @staticmethod
    def _realtime_parts(chunk: list[tuple[float, bytes]]) -> Iterator[list[tuple[float, bytes]]]:
        """A chunk cut where capture time moves on by more than the slack."""
        part: list[tuple[float, bytes]] = []
        for pkt in chunk:
            if part and pkt[0] - part[0][0] > REALTIME_SLACK_S:
                yield part
                part = []
            part.append(pkt)
        if part:
            yield part

    async def _room(self, stop: asyncio.Event) -> None:
        """A file waits for acknowledgements rather than overflow the buffer (nothing is lost
        reading a file, however slow the receiver)."""
        await asyncio.sleep(0)
        while self.buffer.mem_bytes > self.buffer.memory_max // 2 and not stop.is_set():
            self.client.acked.clear()
            with suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self.client.acked.wait()

    async def _pump_live(self) -> None:
        assert self.capture is not None
        async with self.capture:
            log.info("mirror: capturing on %s as sensor '%s'", self.interface, self.name)
            async for _iface, linktype, batch in self.capture.batches():
                self.push(linktype, batch)
                await asyncio.sleep(0)

    # -- running ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Until the file is sent and acknowledged, or ``stop`` (SIGTERM) plus a grace for the
        buffer to drain."""
        halt = asyncio.Event()
        host, port = self.settings.metrics.host_port
        async with AsyncExitStack() as stack:
            stack.callback(self.buffer.close)
            metrics = SenderMetricsServer(host, port, self)
            await stack.enter_async_context(metrics)
            async with asyncio.TaskGroup() as tg:
                client = tg.create_task(self.client.run(halt))
                pump = tg.create_task(self._pump(stop))
                helpers = [
                    pump,
                    tg.create_task(self._status(halt)),
                    tg.create_task(self._halter(stop, pump, halt)),
                ]
                if self.capture is not None:
                    helpers.append(tg.create_task(self._stop_capture(stop)))
                await client
                halt.set()
                for task in helpers:
                    task.cancel()
        log.info("%s", status_line(self))

    async def _pump(self, stop: asyncio.Event) -> None:
        try:
            if self.capture is not None:
                await self._pump_live()
            else:
                await self._pump_file(stop)
        finally:
            self.client.finish(end_of_input=self.capture is None)

    async def _stop_capture(self, stop: asyncio.Event) -> None:
        await stop.wait()
        assert self.capture is not None
        self.capture.stop()

    async def _halter(
        self, stop: asyncio.Event, pump: asyncio.Task[None], halt: asyncio.Event
    ) -> None:
        """On SIGTERM: the input stops at once, the buffer gets a moment to drain."""
        await stop.wait()
        with suppress(TimeoutError, asyncio.CancelledError):
            async with asyncio.timeout(STOP_GRACE_S):
                await asyncio.shield(pump)
                while not self.buffer.empty:
                    await asyncio.sleep(0.05)
        halt.set()

    async def _status(self, halt: asyncio.Event) -> None:
        while not halt.is_set():
            with suppress(TimeoutError):
                async with asyncio.timeout(STATUS_S):
                    await halt.wait()
            log.info("%s", status_line(self))
