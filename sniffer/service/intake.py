"""The sensor's intake: any number of batch sources (:mod:`sniffer.capture.source`) into one
bounded queue that the sensor's one analyzer reads.

One task per source (:meth:`Intake.pump`, in the service's TaskGroup) moves its batches into
the queue; a batch that does not fit is dropped and counted, the source is never slowed
down (the capture edge drops, it does not block). :meth:`Intake.batches` yields the batches
in queue order and ends once every source has ended and the queue is empty; a source's
failure stops the other sources and is raised there, after the queued batches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from sniffer.capture.source import Batch, BatchSource, FrameBatch

log = logging.getLogger(__name__)

QUEUE_BATCHES = 1024
"""Bound of the intake queue, in batches (shared by all sources)."""


@dataclass(slots=True)
class SourceCounters:
    """What one source handed to the intake."""

    batches: int = 0
    packets: int = 0
    dropped_batches: int = 0
    dropped_packets: int = 0
    """Batches and packets dropped because the intake queue was full."""


def batch_len(batch: Batch) -> int:
    return len(batch.packets) if isinstance(batch, FrameBatch) else len(batch.datagrams)


class Intake:
    """See the module docstring."""

    def __init__(self, sources: Sequence[BatchSource], maxsize: int = QUEUE_BATCHES) -> None:
        self.sources = list(sources)
        self.counters = {s.name: SourceCounters() for s in self.sources}
        self._queue: asyncio.Queue[Batch] = asyncio.Queue(maxsize)
        self._active = len(self.sources)
        self._changed = asyncio.Event()
        self._error: BaseException | None = None

    @property
    def dropped_packets(self) -> int:
        return sum(c.dropped_packets for c in self.counters.values())

    def stop(self) -> None:
        """Every source stops taking input (each ends after yielding what it holds)."""
        for s in self.sources:
            s.stop()

    async def pump(self, source: BatchSource) -> None:
        """Move ``source``'s batches into the queue until it ends (a task per source)."""
        c = self.counters[source.name]
        put = self._queue.put_nowait
        try:
            async for batch in source:
                n = batch_len(batch)
                try:
                    put(batch)
                except asyncio.QueueFull:
                    c.dropped_batches += 1
                    c.dropped_packets += n
                    continue
                c.batches += 1
                c.packets += n
                self._changed.set()
        except Exception as exc:
            if self._error is None:
                self._error = exc
            log.error("packet source %s failed: %s", source.name, exc)
            self.stop()
        finally:
            self._active -= 1
            self._changed.set()

    async def batches(self) -> AsyncIterator[Batch]:
        """The queued batches; ends when every source has ended and all are yielded (then
        raises the first source's failure, if one failed)."""
        q = self._queue
        while True:
            if not q.empty():
                yield q.get_nowait()
                continue
            if self._active <= 0:
                break
            self._changed.clear()
            await self._changed.wait()
        if self._error is not None:
            raise self._error
