"""The parent side: the workers' messages in, one record per call out.

A call's record is built when every worker's part of it is in (:mod:`.parts`): the merged
call's record, its pcap fragments joined to its file (:mod:`.pcapjoin`), then the diagnosis,
by the parent's one :class:`~sniffer.diagnosis.diagnoser.Diagnoser` (leg linking by media
sees every call, as in one process). Call timeouts: a call every worker reports idle is
closed in all of them (``close``) once every worker's capture clock has passed the last of
those reports (:mod:`.worker`). Other records pass through.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from db.records import Record
from db.settings import DiagnosisSettings
from sniffer.counters import Counters
from sniffer.diagnosis.diagnoser import Diagnoser
from sniffer.faults import FaultGuard
from sniffer.workers.parts import Part, merge_calls, merged_reason
from sniffer.workers.pcapjoin import join_fragments

log = logging.getLogger(__name__)

Sink = Callable[[Record], None]
Command = Callable[[int, tuple[Any, ...]], None]


class Assembler:
    """For ``workers`` workers; records go to ``sink``, commands to a worker by ``command``;
    ``spool_root``: where the workers' per-call pcaps are (None: no pcaps)."""

    def __init__(
        self,
        workers: int,
        sink: Sink,
        command: Command,
        *,
        diagnosis: DiagnosisSettings | None = None,
        spool_root: str | None = None,
        gzip: bool = False,
        counters: Counters | None = None,
    ) -> None:
        self.workers = workers
        self.sink = sink
        self.command = command
        self.diagnosis = Diagnoser(diagnosis)
        self.spool_root = spool_root
        self.gzip = gzip
        self.counters = counters if counters is not None else Counters()
        self.guard = FaultGuard(self.counters)
        self.parts: dict[str, list[Part]] = {}
        self.idle: dict[str, dict[int, float]] = {}
        """uid -> worker -> capture time it reported the call idle at."""
        self.ready: dict[str, str] = {}
        """uid -> Call-ID of the calls all workers report idle, waiting for their clocks."""
        self.clocks = [float("-inf")] * workers
        self._clock = float("-inf")

    @property
    def pending(self) -> int:
        """Calls some but not all workers have handed over."""
        return len(self.parts)

    def handle(self, batch: list[tuple[Any, ...]]) -> None:
        """One batch of messages of one worker."""
        for msg in batch:
            kind = msg[0]
            if kind == "rec":
                self.sink(msg[2])
            elif kind == "part":
                self._part(msg[1])
            elif kind == "clock":
                self.clocks[msg[1]] = msg[2]
                if self.ready:
                    self._decide()
            elif kind == "idle":
                self._idle(msg[1], msg[2], msg[3], msg[4])
            elif kind == "active":
                seen = self.idle.get(msg[2])
                if seen is not None:
                    seen.pop(msg[1], None)
                    self.ready.pop(msg[2], None)

    def _idle(self, worker: int, uid: str, call_id: str, clock: float) -> None:
        seen = self.idle.setdefault(uid, {})
        seen[worker] = clock
        if len(seen) == self.workers:
            self.ready[uid] = call_id
            self._decide()

    def _decide(self) -> None:
        """Close the calls every worker reports idle, once every clock is past the reports."""
        now = min(self.clocks)
        for uid, call_id in list(self.ready.items()):
            if max(self.idle[uid].values()) <= now:
                del self.ready[uid], self.idle[uid]
                self.counters.inc("workers.timeouts")
                for w in range(self.workers):
                    self.command(w, ("close", uid, call_id))

    def end_of_input(self) -> None:
        """Every worker has read all its input: no packet can come to take a call back from
        idle, so the calls every worker reports idle close now (``timeout``), whatever the
        clocks (a worker's clock stops at its own share's last packet)."""
        self.clocks = [max(self.clocks)] * self.workers
        self._decide()

    def _part(self, part: Part) -> None:
        got = self.parts.setdefault(part.uid, [])
        got.append(part)
        if len(got) == self.workers:
            del self.parts[part.uid]
            self.idle.pop(part.uid, None)
            self.ready.pop(part.uid, None)
            self._emit(got)

    def _emit(self, parts: list[Part]) -> None:
        parts.sort(key=lambda p: p.worker)
        call = merge_calls(parts)
        reason = merged_reason(parts)
        try:
            rec = call.to_record(reason)
        except Exception as exc:  # this call's record is lost (counted); the rest go on
            self.guard.fault(exc, call.last_ts, f"the record of call {call.call_id[:100]!r}")
            return
        rec.pcap = self._pcap(parts)
        if rec.end_ts > self._clock:
            self._clock = rec.end_ts
            self.diagnosis.expire(rec.end_ts)
        try:
            self.diagnosis.finish(call, rec)
        except Exception as exc:  # the record goes out undiagnosed (counted)
            self.guard.fault(exc, rec.end_ts, f"the diagnosis of call {call.call_id[:100]!r}")
        self.sink(rec)

    def _pcap(self, parts: list[Part]) -> str | None:
        main = parts[0].pcap if parts[0].worker == 0 else None
        if self.spool_root is None:
            return main
        fragments = [p.pcap for p in parts[1:] if p.pcap is not None]
        if main is None:
            return None
        if not join_fragments(self.spool_root, main, fragments, gzip=self.gzip):
            self.counters.inc("workers.pcap_join_failed")
            return None
        return main

    def flush(self) -> None:
        """End of input: the calls not every worker handed over (a worker failed) are
        recorded from the parts there are (counted ``workers.partial_calls``)."""
        for parts in list(self.parts.values()):
            self.counters.inc("workers.partial_calls")
            self._emit(parts)
        self.parts.clear()
        self.idle.clear()
        self.ready.clear()

    def record_drops(self, ts: float, kernel: int, queue: int) -> None:
        """The sensor's drops (all workers), for the calls' ``capture_loss``."""
        self.diagnosis.record_drops(ts, kernel, queue)
