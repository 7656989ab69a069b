"""The sensor's intake: batches of several sources into one bounded queue; a full queue drops
and counts, a failing source stops the others and its error comes after the queued batches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

import pytest

from db.errors import CaptureError
from sniffer.capture.live import LiveCapture, LiveOptions
from sniffer.capture.source import Batch, BatchSource, DatagramBatch, FrameBatch
from sniffer.decode.datagram import Decoded
from sniffer.service.intake import Intake


class ListSource:
    """A batch source yielding given batches, then failing with ``error`` if given, or
    waiting for :meth:`stop` when ``hold`` is set."""

    def __init__(
        self, name: str, batches: list[Batch], *, error: Exception | None = None,
        hold: bool = False,
    ) -> None:  # fmt: skip
        self.name = name
        self.batches = batches
        self.error = error
        self.hold = hold
        self.stopped = asyncio.Event()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopped.set()

    async def _gen(self) -> AsyncIterator[Batch]:
        for b in self.batches:
            yield b
            await asyncio.sleep(0)
        if self.error is not None:
            raise self.error
        if self.hold:
            await self.stopped.wait()

    def __aiter__(self) -> AsyncIterator[Batch]:
        return self._gen()


def _frames(name: str, n: int) -> list[Batch]:
    return [FrameBatch(name, 1, [(float(i), b"x" * 60)]) for i in range(n)]


async def _run(intake: Intake, got: list[Batch] | None = None) -> list[Batch]:
    """Pump every source and consume, as the sensor does; ``got`` fills as batches come."""
    got = [] if got is None else got

    async def consume() -> None:
        async for b in intake.batches():
            got.append(b)

    async with asyncio.TaskGroup() as tg:
        for s in intake.sources:
            tg.create_task(intake.pump(s))
        tg.create_task(consume())
    return got


def test_sources_are_batch_sources() -> None:
    assert isinstance(ListSource("a", []), BatchSource)
    assert isinstance(LiveCapture(LiveOptions(["lo"])), BatchSource)


def test_every_source_reaches_the_one_queue() -> None:
    hep = DatagramBatch("hep", [Decoded(1.0, 17, b"\1\2\3\4", 5060, b"\1\2\3\5", 5060, b"x")])
    a, b = ListSource("eth0", _frames("eth0", 3)), ListSource("hep", [hep])
    intake = Intake([a, b])
    got = asyncio.run(_run(intake))
    assert sorted(got) == sorted([*a.batches, hep])
    assert intake.counters["eth0"].packets == 3 and intake.counters["hep"].batches == 1
    assert intake.dropped_packets == 0


def test_a_full_queue_drops_and_counts() -> None:
    async def go() -> tuple[Intake, list[Batch]]:
        src = ListSource("eth0", _frames("eth0", 10))
        intake = Intake([src], maxsize=4)
        await intake.pump(src)  # nobody reads meanwhile
        return intake, [b async for b in intake.batches()]

    intake, got = asyncio.run(go())
    c = intake.counters["eth0"]
    assert (len(got), c.batches, c.dropped_batches, c.dropped_packets) == (4, 4, 6, 6)
    assert intake.dropped_packets == 6


def test_a_failing_source_stops_the_others_after_its_batches() -> None:
    boom = CaptureError("capture on 'eth1' failed: the interface disappeared")
    held = ListSource("eth0", _frames("eth0", 2), hold=True)
    failing = ListSource("eth1", _frames("eth1", 2), error=boom)
    intake = Intake([held, failing])
    got: list[Batch] = []
    with pytest.raises(ExceptionGroup) as info:
        asyncio.run(_run(intake, got))
    assert info.value.exceptions == (boom,)
    assert held.stopped.is_set()
    assert len(got) == 4


def _timed(name: str, stamps: list[float]) -> FrameBatch:
    return FrameBatch(name, 1, [(t, name.encode()) for t in stamps])


def test_sources_are_merged_by_capture_time() -> None:
    """The media interface's batch is handed over first but holds later packets, and
    overlaps the signalling one: analysed in capture-time order all the same."""
    media = ListSource("media", [_timed("media", [1.0, 1.5, 2.0, 3.0])])
    sig = ListSource("sig", [_timed("sig", [0.5, 1.2, 2.5]), _timed("sig", [2.9, 4.0])])
    got = asyncio.run(_run(Intake([media, sig])))
    flat = [(ts, f) for b in got if isinstance(b, FrameBatch) for ts, f in b.packets]
    assert [ts for ts, _ in flat] == [0.5, 1.0, 1.2, 1.5, 2.0, 2.5, 2.9, 3.0, 4.0]
    assert all(f == b"media" for ts, f in flat if ts in (1.0, 1.5, 2.0, 3.0))


def test_packets_close_in_time_stay_in_runs() -> None:
    a = ListSource("a", [_timed("a", [1.0, 1.0002, 1.0004, 1.0006])])
    b = ListSource("b", [_timed("b", [1.0001, 1.0003, 1.0005])])
    got = asyncio.run(_run(Intake([a, b])))
    assert [len(x.packets) for x in got if isinstance(x, FrameBatch)] == [4, 3]


def test_a_quiet_source_holds_the_others_only_briefly() -> None:
    """A running source with nothing to send: the other's batch waits at most HOLD_S."""

    async def go() -> list[Batch]:
        quiet = ListSource("quiet", [], hold=True)
        busy = ListSource("busy", [_timed("busy", [1.0, 2.0])])
        intake = Intake([quiet, busy])
        got: list[Batch] = []

        async def consume() -> None:
            async for b in intake.batches():
                got.append(b)
                quiet.stop()

        async with asyncio.TaskGroup() as tg:
            for s in intake.sources:
                tg.create_task(intake.pump(s))
            tg.create_task(consume())
        return got

    got = asyncio.run(go())
    assert got == [_timed("busy", [1.0, 2.0])]


def test_an_expected_origin_is_waited_for_from_the_start() -> None:
    """A live capture's interfaces are announced: the media interface's first batch waits
    for the signalling one's older packets even before that one ever sent."""

    async def go() -> list[Batch]:
        capture = ListSource("capture", [_timed("media", [2.0, 3.0]), _timed("sig", [1.0])])
        intake = Intake([capture])
        intake.expect("media", capture)
        intake.expect("sig", capture)
        return await _run(intake)

    got = asyncio.run(go())
    assert [b.source for b in got] == ["sig", "media"]
