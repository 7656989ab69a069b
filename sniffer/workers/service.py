"""``callsift sniff --workers N``: the parent of N capture workers (:mod:`.live`).

The parent is the sensor service as with one process (:class:`~sniffer.service.sensor.Sensor`:
CDR writer and journal, metrics and /health, heartbeat, retention, status file, shutdown
deadline), less the capture and the analyzer: the workers capture and analyse, the parent's
:class:`~sniffer.workers.assembler.Assembler` turns their parts into one record per call for
the writer; worker 0 (every call's SIP) sends the calls in progress for the heartbeat's live
view and their crash-recovery state (the snapshot); after a crash every worker adopts the
snapshot's calls. Not with workers: ``hep.out`` (the sensor then runs one process, with a
warning).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from db.errors import CaptureError
from db.settings import Settings
from sniffer.calls.call import Call
from sniffer.counters import Counters
from sniffer.service.intake import Intake
from sniffer.service.metrics import SensorSnapshot, loss_totals
from sniffer.service.sensor import SNAPSHOT_KEY, Sensor
from sniffer.service.status import StatusFile
from sniffer.spool.spool import CallPcapSpool
from sniffer.workers.assembler import Assembler
from sniffer.workers.live import context, worker_main

log = logging.getLogger(__name__)

QUEUE_BATCHES = 4096
"""Batches waiting for the parent (a worker waits when it is full: its kernel ring then
fills and drops, counted)."""
POLL_S = 0.2
START_TIMEOUT_S = 60.0
"""A worker must have opened its capture by then (spawned: it imports the sensor first)."""


class WorkerSensor(Sensor):
    """A sensor whose packet work runs in ``workers`` processes."""

    def __init__(
        self,
        settings: Settings,
        workers: int,
        *,
        journal_dir: Path | None = None,
        spool_subdir: str = "",
        status: StatusFile | None = None,
    ) -> None:
        super().__init__(
            settings, journal_dir=journal_dir, spool_subdir=spool_subdir, status=status
        )
        self.workers = workers
        self.sources = []  # the workers capture
        self.assembler: Assembler | None = None
        self.worker_stats: list[dict[str, Any]] = [{} for _ in range(workers)]
        self.ready: set[int] = set()
        """The workers capturing (/health is ``ok`` once all are)."""
        self.live: list[Call] = []
        """The calls in progress as worker 0 last sent them (the heartbeat's live view)."""
        self.states: list[str] | None = None
        self.states_ts: float | None = None
        """Worker 0's crash-recovery state of the calls in progress, and its capture time."""
        self.adopt_states: list[dict[str, Any]] = []
        """The calls of this sensor's last snapshot: every worker adopts them at start."""

    def open(self) -> None:
        """Check the spool and start the workers: each opens its capture (the kernel keeps
        the packets from then on) and waits for :meth:`run` to analyse them, so a capture
        error stops the sensor here, as with one process."""
        s = self.settings
        # the errors one process gives (interface, permission, the sensor's own filter), in
        # its words, before any worker starts
        self.capture.open()
        self.capture.close()
        self.spool = CallPcapSpool(
            s.spool.dir, 1, subdir=self.spool_subdir, **s.spool.writer_options(),
        )  # fmt: skip
        ctx = context()
        self._out_q = ctx.Queue(QUEUE_BATCHES)
        self._cmd_qs = [ctx.Queue() for _ in range(self.workers)]
        self._halt = ctx.Event()
        self._procs = [
            ctx.Process(
                target=worker_main,
                args=(
                    i,
                    self.workers,
                    s,
                    self.spool_subdir,
                    self._out_q,
                    self._cmd_qs[i],
                    self._halt,
                    logging.getLogger().getEffectiveLevel(),
                ),
                name=f"callsift-worker-{i}",
                daemon=True,
            )
            for i in range(self.workers)
        ]
        for p in self._procs:
            p.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while len(self.ready) < self.workers:
            batch = _get(self._out_q)
            if batch is None:
                _check(self._procs, set())
                if time.monotonic() > deadline:
                    raise CaptureError("the capture workers did not open their capture in time")
                continue
            for msg in batch:
                if msg[0] == "error":
                    raise CaptureError(f"capture worker {msg[1]} failed: {msg[2]}")
                if msg[0] == "ready":
                    self.ready.add(msg[1])
        log.info("%d capture workers capturing", self.workers)
        if self.sensor_id is not None:
            self.set_sensor_id(self.sensor_id)

    async def _analyse(self, intake: Intake, stop: asyncio.Event, done: asyncio.Event) -> None:
        """Run the workers until ``stop`` and until each has handed over its last calls."""
        try:
            await self._run_workers(stop)
        finally:
            if self.snapshots is not None:
                self.snapshots.clear()
            done.set()
            stop.set()

    async def _run_workers(self, stop: asyncio.Event) -> None:
        out_q, cmd_qs, halt, procs = self._out_q, self._cmd_qs, self._halt, self._procs
        s = self.settings
        self.assembler = assembler = Assembler(
            self.workers, self._sink, lambda w, cmd: cmd_qs[w].put(cmd),
            diagnosis=s.diagnosis, spool_root=str(s.spool.dir), gzip=s.spool.gzip,
            counters=self.counters,
        )  # fmt: skip
        level = logging.getLogger().getEffectiveLevel()  # a running service's, now
        for q in cmd_qs:  # the calls of the last snapshot first, then the packets
            q.put(("go", self.adopt_states, level))
        finished: set[int] = set()
        try:
            while len(finished) < self.workers:
                if stop.is_set():
                    halt.set()
                batch = await asyncio.to_thread(_get, out_q)
                if batch is None:
                    _check(procs, finished)
                    continue
                for msg in batch:
                    kind = msg[0]
                    if kind == "stats":
                        self.worker_stats[msg[1]] = msg[2]
                    elif kind == "live":
                        self.live = msg[2]
                    elif kind == "states":
                        self.states, self.states_ts = msg[2], msg[3]
                    elif kind == "done":
                        finished.add(msg[1])
                    elif kind == "error":
                        raise CaptureError(f"capture worker {msg[1]} failed: {msg[2]}")
                assembler.handle([m for m in batch if m[0] in _CALL_MESSAGES])
            assembler.flush()
        finally:
            halt.set()
            for p in procs:
                await asyncio.to_thread(p.join, 5.0)
                if p.is_alive():
                    p.kill()

    def _adopt(self, calls: dict[str, list[dict[str, Any]]]) -> None:
        """The calls of the last snapshot go to every worker (each binds its own flows)."""
        self.adopt_states = [state for states in calls.values() for state in states]

    async def save_snapshot(self) -> bool:
        """Worker 0's state of the calls in progress (it has every call's SIP; each worker
        writes its buffered pcap frames when it sends its part of it)."""
        if self.snapshots is None or self.states is None:
            return False
        calls = {SNAPSHOT_KEY: self.states}
        return await asyncio.to_thread(self.snapshots.save_logged, calls, self.states_ts)

    async def _housekeeping(self) -> None:
        if self.assembler is not None:
            totals = self._totals()
            self.assembler.record_drops(
                time.time(), totals["kernel_dropped"], totals["queue_dropped"]
            )

    def _totals(self) -> dict[str, int]:
        st = self.worker_stats
        packets = sum(int(s.get("packets", 0)) for s in st)
        shared = sum(int(s.get("shared_packets", 0)) for s in st[1:])
        return {
            "packets": packets - shared,
            "active_calls": max((int(s.get("open_calls", 0)) for s in st), default=0),
            # each ring its own: a packet every worker gets counts once per ring that lost it
            "kernel_dropped": sum(int(s.get("kernel_dropped", 0)) for s in st),
            "queue_dropped": sum(int(s.get("queue_dropped", 0)) for s in st),
            # the interface's own counter, which every worker's handle reads
            "if_dropped": max((int(s.get("if_dropped", 0)) for s in st), default=0),
        }

    def _per_worker(self) -> list[dict[str, int]]:
        keys = ("packets", "kernel_dropped", "queue_dropped")
        return [{k: int(s.get(k, 0)) for k in keys} for s in self.worker_stats]

    def open_calls(self) -> Iterable[Call]:
        return self.live

    def spool_counters(self) -> Counters:
        out = Counters()
        for s in self.worker_stats:
            out.merge(s.get("spool", {}))
        return out

    def counters_snapshot(self, spool: Counters | None = None) -> dict[str, int]:
        out = Counters()
        out.merge(self.counters)
        for s in self.worker_stats:
            out.merge(s.get("counters", {}))
        out.merge(spool if spool is not None else self.spool_counters(), "spool.")
        return out.snapshot()

    def snapshot(self) -> SensorSnapshot:
        t = self._totals()
        w = self.writer
        spool = self.spool_counters()
        snap = SensorSnapshot(
            packets=t["packets"],
            active_calls=t["active_calls"],
            kernel_dropped=t["kernel_dropped"],
            interface_dropped=t["if_dropped"],
            queue_dropped=t["queue_dropped"],
            capture_running=self.capture_running and len(self.ready) == self.workers,
            db_up=w.db_up if w is not None else False,
            journal_backlog=w.backlog_records if w is not None else 0,
            journal_bytes=w.journal_bytes if w is not None else 0,
            cdrs_written=w.written if w is not None else 0,
            counters=self.counters_snapshot(spool),
            writer=w.counters.snapshot() if w is not None else {},
            spool=spool.snapshot(),
            workers=self._per_worker(),
        )
        snap.losing = self.losses.update(loss_totals(snap), time.monotonic())
        return snap


_CALL_MESSAGES = frozenset({"rec", "part", "idle", "active", "clock"})


def _get(q: Any) -> list[Any] | None:
    try:
        batch: list[Any] = q.get(timeout=POLL_S)
    except queue.Empty:
        return None
    return batch


def _check(procs: list[Any], finished: set[int]) -> None:
    for i, p in enumerate(procs):
        if i not in finished and p.exitcode is not None:
            raise CaptureError(f"capture worker {i} ended (exit code {p.exitcode})")
