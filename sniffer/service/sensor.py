"""``callsift sniff``: live capture -> the same analyzer as ``analyze`` -> CDRs into MySQL
(journalled when it is down) and per-call pcaps, with heartbeat, metrics and retention.

One analyzer per sensor, fed by any number of packet sources (:mod:`sniffer.capture.source`:
live capture now, a mirror receiver or HEP listener alike) through one bounded intake queue
(:mod:`sniffer.service.intake`): a call whose SIP and RTP arrive on different interfaces is one
call. One TaskGroup owns the tasks: a pump per source, the analysis, housekeeping (call
timeouts while traffic is idle), heartbeat, spool retention and the metrics listener. On stop
(SIGTERM), the sources stop, the queued batches are analysed, open calls are closed as CDRs
with state ``shutdown``, and the writer and spool are flushed, all within
``shutdown_timeout_s``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from contextlib import AsyncExitStack, suppress
from pathlib import Path
from typing import Any

from db.errors import ShutdownTimeout
from db.records import Record
from db.settings import Settings
from sniffer.analyzer import Analyzer
from sniffer.analyzer_config import AnalyzerConfig
from sniffer.calls.call import Call
from sniffer.capture.bpf import build_default_bpf
from sniffer.capture.live import LiveCapture, LiveOptions
from sniffer.capture.source import BatchSource, FrameBatch
from sniffer.counters import Counters
from sniffer.decode.linktypes import DLT_EN10MB
from sniffer.service.heartbeat import Heartbeat
from sniffer.service.intake import Intake
from sniffer.service.metrics import LossWatch, MetricsServer, SensorSnapshot, loss_totals
from sniffer.service.recovery import CallSnapshotFile
from sniffer.service.retention import SpoolCleaner
from sniffer.service.status import CAPTURING, STOPPED, StatusFile
from sniffer.spool.spool import CallPcapSpool
from sniffer.storage.database import check_database
from sniffer.storage.writer import CdrWriter

log = logging.getLogger(__name__)

HOUSEKEEPING_S = 1.0
RETENTION_S = 60.0
SPILL_RESERVE_S = 1.0
"""Of the shutdown time, what the writer keeps to journal what it could not write."""
JOURNAL_DIR = ".journal"
SNAPSHOT_KEY = "analyzer"
"""The crash-recovery snapshot's one list of calls (sniffer.service.recovery)."""


class Sensor:
    """The live sensor: build with settings, ``open()`` to check the capture and spool now
    (errors surface before anything runs), then ``await run(stop)``."""

    def __init__(
        self,
        settings: Settings,
        *,
        journal_dir: Path | None = None,
        spool_subdir: str = "",
        status: StatusFile | None = None,
    ) -> None:
        """Sensors sharing one spool give each their own ``journal_dir`` and ``spool_subdir``
        (default: ``storage.journal_dir``, else ``<spool.dir>/.journal``; no subdirectory).
        An automatic sensor id (``sensor.id`` unset) is given with :meth:`set_sensor_id`
        before :meth:`run` (sniffer.service.sensorid)."""
        self.settings = settings
        self.sensor_id: int | None = settings.sensor.id
        self.journal_dir = (
            journal_dir or settings.storage.journal_dir or Path(settings.spool.dir) / JOURNAL_DIR
        )
        self.spool_subdir = spool_subdir
        self.status = status or StatusFile(None)
        self.db_url = settings.storage.require_db_url()
        self.counters = Counters()
        cap = settings.capture
        self.capture = LiveCapture(
            LiveOptions(
                interfaces=list(cap.interfaces),
                bpf=cap.bpf or build_default_bpf(settings.analysis.sip_tcp_ports),
                snaplen=cap.snaplen,
                buffer_bytes=cap.buffer_mb << 20,
                promisc=cap.promisc,
            )
        )
        self.sources: list[BatchSource] = [self.capture]
        """What the analyzer reads; :meth:`add_source` adds more before :meth:`run`."""
        self.analyzer: Analyzer | None = None
        self.spool: CallPcapSpool | None = None
        self.intake: Intake | None = None
        self.snapshots: CallSnapshotFile | None = None  # crash recovery, once the id is known
        self.writer: CdrWriter | None = None
        self.capture_running = False
        self.losses = LossWatch()
        self._deadline: float | None = None
        """Event-loop time by which the shutdown ends (set on stop)."""
        self._shutdown: asyncio.Timeout | None = None
        """The scope the deadline ends (the service's tasks)."""

    def add_source(self, source: BatchSource) -> None:
        """Another packet source for the analyzer (before :meth:`run`; names are unique)."""
        if any(s.name == source.name for s in self.sources):
            raise ValueError(f"a packet source named {source.name!r} is already there")
        self.sources.append(source)

    def open(self) -> None:
        """Open the capture handles, the spool and the analyzer; raises CaptureError /
        SpoolError. Per-call pcaps have the capture's link type, Ethernet when its
        interfaces have several (frames of other link types are converted)."""
        s = self.settings
        self.capture.open()
        linktypes = set(self.capture.linktypes.values())
        linktype = linktypes.pop() if len(linktypes) == 1 else DLT_EN10MB
        self.spool = CallPcapSpool(
            s.spool.dir, linktype, subdir=self.spool_subdir, **s.spool.writer_options(),
        )  # fmt: skip
        self.analyzer = Analyzer(
            linktype,
            self._sink,
            spool=self.spool,
            config=AnalyzerConfig.from_settings(s),
            counters=self.counters,
        )
        if self.sensor_id is not None:
            self.set_sensor_id(self.sensor_id)

    def set_sensor_id(self, sensor_id: int) -> None:
        """The sensor's id (configured, or claimed after :meth:`open`); the calls of its last
        crash-recovery snapshot are adopted now."""
        self.sensor_id = sensor_id
        self.snapshots = CallSnapshotFile(self.settings.spool.dir, sensor_id)
        self._adopt(self.snapshots.load())

    def _adopt(self, calls: dict[str, list[dict[str, Any]]]) -> None:
        """The calls of this sensor's last snapshot (older snapshots list them by
        interface: all go to the one analyzer)."""
        if self.analyzer is None:
            return
        for states in calls.values():
            self.analyzer.adopt(states)

    async def save_snapshot(self) -> bool:
        """Write the calls in progress for crash recovery (each heartbeat): their state is
        taken here, between two batches; the file is written by a worker thread."""
        a = self.analyzer
        if self.snapshots is None or a is None:
            return False
        calls = {SNAPSHOT_KEY: a.call_states()}
        return await asyncio.to_thread(self.snapshots.save_logged, calls, a.last_capture_ts)

    async def check_database(self) -> None:
        """At start: wrong credentials, an unknown database or a missing schema are the
        user's mistakes and raise :class:`~db.errors.DbRejected`; an unreachable server is an
        outage (:class:`~db.errors.DbUnavailable`): CDRs are journalled until it answers."""
        await check_database(self.db_url, self.settings.storage.connect_timeout_s)

    def _sink(self, rec: Record) -> None:
        assert self.writer is not None
        self.writer.submit(rec)

    # -- running ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        if self.sensor_id is None:
            raise ValueError("the sensor id must be resolved before the sensor runs")
        self.writer = writer = CdrWriter.from_settings(s.storage, self.sensor_id, self.journal_dir)
        host, port = s.metrics.host_port
        done = asyncio.Event()
        async with AsyncExitStack() as stack:
            stack.push_async_callback(self._close_writer)  # last: after the spools
            writer.start()
            if self.spool is not None:
                stack.push_async_exit(self.spool)
            metrics = await stack.enter_async_context(MetricsServer(host, port, self.snapshot))
            for source in self.sources:
                await stack.enter_async_context(source)
            self.intake = intake = Intake(self.sources)
            for iface in self.capture.linktypes:
                intake.expect(iface, self.capture)
            self.capture_running = True
            stack.callback(self.status.write, STOPPED, sensor_id=self.sensor_id)
            self.status.write(
                CAPTURING, sensor_id=self.sensor_id, sensor_name=s.sensor.name,
                interfaces=list(s.capture.interfaces), metrics=f"{host}:{metrics.bound_port}",
            )  # fmt: skip
            log.info(
                "sensor %d (%s) capturing on %s",
                self.sensor_id, s.sensor.name, ", ".join(s.capture.interfaces),
            )  # fmt: skip
            try:
                async with asyncio.timeout(None) as self._shutdown:
                    async with asyncio.TaskGroup() as tg:
                        tg.create_task(self._stopper(stop))
                        for source in self.sources:
                            tg.create_task(intake.pump(source))
                        tg.create_task(self._analyse(intake, stop, done))
                        tg.create_task(self._periodic(done, HOUSEKEEPING_S, self._housekeeping))
                        tg.create_task(self._periodic(done, RETENTION_S, self._retention))
                        tg.create_task(Heartbeat(self).run(done))
                        tg.create_task(self._close_writer_when(done))
            except TimeoutError:
                self._late(done)
            finally:
                self.capture_running = False
        log.info("sensor stopped")

    def time_left(self) -> float | None:
        """Seconds until the shutdown deadline; None before a stop."""
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - asyncio.get_running_loop().time())

    async def _stopper(self, stop: asyncio.Event) -> None:
        """On stop: capture off; everything left (queued batches analysed, open calls closed,
        CDRs written or journalled, pcaps closed) has ``shutdown_timeout_s``."""
        await stop.wait()
        limit = self.settings.sensor.shutdown_timeout_s
        self._deadline = asyncio.get_running_loop().time() + limit
        assert self._shutdown is not None
        self._shutdown.reschedule(self._deadline)
        log.info("stopping: capture off, flushing calls, CDRs and pcaps (within %g s)", limit)
        for source in self.sources:
            source.stop()

    def _late(self, done: asyncio.Event) -> None:
        """The deadline came: what the writer holds is in the journal (see _close_writer)."""
        limit = self.settings.sensor.shutdown_timeout_s
        if not done.is_set():  # open calls never became CDRs
            raise ShutdownTimeout(
                f"shutdown took longer than {limit:g} s: the calls still open were not written"
            )
        log.warning("shutdown deadline (%g s) reached: stopped what was still running", limit)

    async def _close_writer_when(self, done: asyncio.Event) -> None:
        """Once the last records are submitted: write them (or journal them) by the deadline."""
        await done.wait()
        await self._close_writer()

    async def _close_writer(self) -> None:
        """Close the writer by the deadline, keeping a moment for it to journal what the
        database did not take by then."""
        if self.writer is not None:
            left = self.time_left()
            if left is not None:
                left = max(
                    0.0, left - min(SPILL_RESERVE_S, self.settings.sensor.shutdown_timeout_s / 10)
                )
            await self.writer.aclose(timeout=left)

    async def _analyse(self, intake: Intake, stop: asyncio.Event, done: asyncio.Event) -> None:
        """Analyse batches as they come; at the end close every open call (``shutdown``)."""
        analyzer = self.analyzer
        assert analyzer is not None
        try:
            async for batch in intake.batches():
                if isinstance(batch, FrameBatch):
                    analyzer.feed(batch.packets, batch.linktype)
                else:
                    analyzer.feed_decoded(batch.datagrams)
                await asyncio.sleep(0)  # heartbeat and /health run between batches
        finally:
            analyzer.finish("shutdown")
            if self.snapshots is not None:
                self.snapshots.clear()  # every call is closed: nothing to adopt next time
            done.set()
            stop.set()

    @staticmethod
    async def _periodic(done: asyncio.Event, period: float, job: object) -> None:
        assert callable(job)
        while not done.is_set():
            with suppress(TimeoutError):
                async with asyncio.timeout(period):
                    await done.wait()
            if not done.is_set():
                await job()

    async def _housekeeping(self) -> None:
        """Call timeouts must fire while the wire is quiet: advance the analyzers' clocks
        to now when no packet has done it for a second."""
        if self.analyzer is not None:
            now = time.time()
            cap = self.capture.stats()
            # the sensor's own drops, for the calls up meanwhile (capture_loss)
            self.analyzer.diagnosis.record_drops(now, cap.kernel_dropped, cap.queue_dropped_packets)
            self.analyzer.idle(now)

    async def _retention(self) -> None:
        s = self.settings.spool
        if not s.max_gb and not s.max_age_days:
            return
        opened = self.spool.open_relpaths() if self.spool is not None else frozenset()
        if self.spool_subdir:  # the cleaner sweeps this sensor's part of a shared spool only
            cut = len(self.spool_subdir) + 1
            opened = frozenset(p[cut:] for p in opened)
        cleaner = SpoolCleaner(
            Path(s.dir) / self.spool_subdir,
            max_bytes=int(s.max_gb * (1 << 30)),
            max_age_s=s.max_age_days * 86400.0,
            open_files=lambda: opened,
        )
        await asyncio.to_thread(cleaner.sweep, time.time())

    # -- reporting --------------------------------------------------------------------------

    def open_calls(self) -> Iterable[Call]:
        """The calls in progress."""
        return self.analyzer.tracker.calls.values() if self.analyzer is not None else ()

    def snapshot(self) -> SensorSnapshot:
        cap = self.capture.stats()
        w = self.writer
        spool = self.spool_counters()
        snap = SensorSnapshot(
            packets=a.packets if (a := self.analyzer) is not None else 0,
            active_calls=len(a.tracker.calls) if a is not None else 0,
            kernel_dropped=cap.kernel_dropped,
            interface_dropped=cap.if_dropped,
            queue_dropped=cap.queue_dropped_packets
            + (self.intake.dropped_packets if self.intake is not None else 0),
            capture_running=self.capture_running,
            db_up=w.db_up if w is not None else False,
            journal_backlog=w.backlog_records if w is not None else 0,
            journal_bytes=w.journal_bytes if w is not None else 0,
            cdrs_written=w.written if w is not None else 0,
            counters=self.counters_snapshot(spool),
            writer=w.counters.snapshot() if w is not None else {},
            spool=spool.snapshot(),
        )
        snap.losing = self.losses.update(loss_totals(snap), time.monotonic())
        return snap

    def counters_snapshot(self, spool: Counters | None = None) -> dict[str, int]:
        """The analysis counters and the spools' (``spool.*``: files, bytes, write errors,
        ``spool.pcap_failed.<errno>`` calls whose pcap could not be written)."""
        out = Counters()
        out.merge(self.counters)
        if spool is None:
            spool = self.spool_counters()
        out.merge(spool, "spool.")
        return out.snapshot()

    def spool_counters(self) -> Counters:
        """The spool's counters."""
        out = Counters()
        if self.spool is not None:
            out.merge(self.spool.counters)
        return out
