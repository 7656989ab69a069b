"""The sensor's intake: any number of batch sources (:mod:`sniffer.capture.source`) into one
analyzer, in capture-time order.

One task per source (:meth:`Intake.pump`, in the service's TaskGroup) moves its batches into
the intake; what does not fit in its bound (:data:`QUEUE_BATCHES`, all sources together) is
dropped and counted, the source is never slowed down (the capture edge drops, it does not
block). :meth:`Intake.batches` yields them and ends once every source has ended and all is
yielded; a source's failure stops the other sources and is raised there, after the batches.

Why an order: the batches of one origin (a batch's ``source``: an interface, a mirror sender)
come in capture order, but two origins' batches are not ordered with each other (each
interface's kernel ring hands its block over on its own timer, up to ``poll_timeout_ms``
late), so the first RTP packets of a call on a media interface could be analysed before its
INVITE on the signalling interface and miss the call. With several origins, the intake merges
them by capture time: it releases the oldest packets up to the next origin's oldest
(:data:`MERGE_SLACK_S` tolerance, so two busy interfaces are merged in runs, not packet by
packet), once every origin still running has something waiting or the oldest batch has
waited :data:`HOLD_S`. A single origin passes straight through.
"""

from __future__ import annotations

import asyncio
import logging
import time
from bisect import bisect_right
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sniffer.capture.source import Batch, BatchSource, DatagramBatch, FrameBatch

log = logging.getLogger(__name__)

QUEUE_BATCHES = 1024
"""Bound of the intake, in batches (all sources together)."""
HOLD_S = 0.3
"""Longest a batch waits for the other sources (a kernel block is handed over at most
``poll_timeout_ms``, 100 ms by default, after its first packet)."""
MERGE_SLACK_S = 0.001
"""Packets of different origins less than this apart may be analysed out of order."""
ORIGIN_IDLE_S = 60.0
"""An origin that sent nothing for this long is forgotten (a mirror sender gone)."""

_ts = itemgetter(0)
"""A frame's ``(ts, frame)`` and a :class:`~sniffer.decode.datagram.Decoded` both start with
their capture time."""


@dataclass(slots=True)
class SourceCounters:
    """What one source handed to the intake."""

    batches: int = 0
    packets: int = 0
    dropped_batches: int = 0
    dropped_packets: int = 0
    """Batches and packets dropped because the intake was full."""


@dataclass(slots=True)
class _Pending:
    """One origin's batches waiting to be analysed (the first one from ``start`` on)."""

    source: str
    """The source that delivers them."""
    batches: deque[tuple[Batch, float]] = field(default_factory=deque)
    """Each with the monotonic time it arrived."""
    start: int = 0
    last: float = 0.0
    """When its last batch arrived."""
    expected: bool = False
    """Announced by :meth:`Intake.expect`: never forgotten."""


def batch_len(batch: Batch) -> int:
    return len(batch.packets) if isinstance(batch, FrameBatch) else len(batch.datagrams)


def _items(batch: Batch) -> Sequence[Any]:
    return batch.packets if isinstance(batch, FrameBatch) else batch.datagrams


def _part(batch: Batch, start: int, stop: int) -> Batch:
    if isinstance(batch, FrameBatch):
        return batch._replace(packets=batch.packets[start:stop])
    return DatagramBatch(batch.source, batch.datagrams[start:stop])


class Intake:
    """See the module docstring."""

    def __init__(self, sources: Sequence[BatchSource], maxsize: int = QUEUE_BATCHES) -> None:
        self.sources = list(sources)
        self.counters = {s.name: SourceCounters() for s in self.sources}
        self.maxsize = maxsize
        self._origins: dict[str, _Pending] = {}
        self._running = {s.name for s in self.sources}
        self._queued = 0
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
        """Move ``source``'s batches into the intake until it ends (a task per source)."""
        c = self.counters[source.name]
        origins = self._origins
        try:
            async for batch in source:
                n = batch_len(batch)
                if self._queued >= self.maxsize:
                    c.dropped_batches += 1
                    c.dropped_packets += n
                    continue
                if not n:
                    continue
                now = time.monotonic()
                pending = origins.get(batch.source)
                if pending is None:
                    pending = self._new_origin(batch.source, source.name, now)
                pending.batches.append((batch, now))
                pending.last = now
                self._queued += 1
                c.batches += 1
                c.packets += n
                self._changed.set()
        except Exception as exc:
            if self._error is None:
                self._error = exc
            log.error("packet source %s failed: %s", source.name, exc)
            self.stop()
        finally:
            self._running.discard(source.name)
            self._changed.set()

    def expect(self, origin: str, source: BatchSource) -> None:
        """``source`` sends batches of ``origin`` (an interface of a live capture): its
        first batch is merged in order with the others' too."""
        self._origins.setdefault(origin, _Pending(source.name)).expected = True

    def _new_origin(self, origin: str, source: str, now: float) -> _Pending:
        for name, p in list(self._origins.items()):
            if not p.batches and not p.expected and now - p.last > ORIGIN_IDLE_S:
                del self._origins[name]
        pending = self._origins[origin] = _Pending(source)
        return pending

    async def batches(self) -> AsyncIterator[Batch]:
        """The batches (or parts of them) in capture-time order; ends when every source has
        ended and all is yielded (then raises the first source's failure, if one failed)."""
        origins = self._origins
        running = self._running
        while True:
            if len(origins) == 1:
                (only,) = origins.values()
                if only.batches:
                    yield self._take_whole(only)
                    continue
            waiting = [p for p in origins.values() if p.batches]
            if not waiting:
                if not running:
                    break
                await self._wait(None)
                continue
            heads = sorted(waiting, key=lambda p: _ts(_items(p.batches[0][0])[p.start]))
            first = heads[0]
            if any(p.source in running and not p.batches for p in origins.values()):
                oldest = min(p.batches[0][1] for p in waiting)
                wait = oldest + HOLD_S - time.monotonic()
                if wait > 0:  # a source with nothing yet may still send older packets
                    await self._wait(wait)
                    continue
            if len(heads) == 1:
                yield self._take_whole(first)
                continue
            nxt = heads[1]
            bound = _ts(_items(nxt.batches[0][0])[nxt.start]) + MERGE_SLACK_S
            yield self._take_until(first, bound)
        if self._error is not None:
            raise self._error

    async def _wait(self, timeout: float | None) -> None:
        self._changed.clear()
        try:
            async with asyncio.timeout(timeout):
                await self._changed.wait()
        except TimeoutError:
            pass

    def _take_whole(self, p: _Pending) -> Batch:
        batch, _ = p.batches.popleft()
        self._queued -= 1
        start, p.start = p.start, 0
        return batch if start == 0 else _part(batch, start, batch_len(batch))

    def _take_until(self, p: _Pending, bound: float) -> Batch:
        """``p``'s oldest packets up to capture time ``bound`` (at least one)."""
        batch = p.batches[0][0]
        items = _items(batch)
        start = p.start
        stop = max(bisect_right(items, bound, lo=start, key=_ts), start + 1)
        if stop >= len(items):
            return self._take_whole(p)
        p.start = stop
        return _part(batch, start, stop)
