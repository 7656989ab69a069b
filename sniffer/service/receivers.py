"""The sensor's network inputs besides capture: the mirror receiver (``--mirror-listen``) and
the HEP listeners (``--hep-listen``), run by ``callsift sniff`` alone or beside capture."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from db.errors import ShutdownTimeout
from db.settings import Settings
from sniffer.counters import Counters
from sniffer.service.status import CAPTURING, STOPPED, StatusFile

if TYPE_CHECKING:
    from sniffer.mirror.pool import SensorPool

log = logging.getLogger(__name__)

JOURNAL_DIR = ".journal"


def has_receivers(settings: Settings) -> bool:
    return bool(settings.mirror.listen or settings.hep.listen)


def wants_capture(settings: Settings) -> bool:
    """Capture runs when interfaces were configured, or when there is nothing else to do."""
    return "interfaces" in settings.capture.model_fields_set or not has_receivers(settings)


async def run_receivers(
    settings: Settings, stop: asyncio.Event, status: StatusFile | None = None
) -> None:
    """Until ``stop``; then within ``sensor.shutdown_timeout_s`` every sender's calls are
    closed and their CDRs written or journalled. ``status`` (the process's health file) is
    written when the receivers run alone."""
    from sniffer.hep.listen import HepListeners
    from sniffer.mirror.metrics import ReceiverMetricsServer
    from sniffer.mirror.pool import SensorPool
    from sniffer.mirror.server import MirrorReceiver

    journal = settings.storage.journal_dir or Path(settings.spool.dir) / JOURNAL_DIR
    settings.storage.require_db_url()
    pool = SensorPool(settings, journal)
    services: list[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = []
    extra: list[tuple[str, Counters]] = []
    details: dict[str, Any] = {}
    mirror = None
    if settings.mirror.listen:
        mirror = MirrorReceiver(settings, pool)
        await mirror.start()
        services.append(mirror.run)
        extra.append(("mirror.", mirror.counters))
        details["mirror"] = f"{mirror.host}:{mirror.bound_port}"
    if settings.hep.listen:
        hep = HepListeners(settings, pool)
        await hep.start()
        services.append(hep.run)
        extra.append(("", hep.counters))
        details["hep"] = [f"{p}:{h}:{n}" for p, h, n in hep.bound]
    limit = settings.sensor.shutdown_timeout_s
    async with AsyncExitStack() as stack:
        if status is not None:
            host, port = settings.metrics.host_port
            metrics = ReceiverMetricsServer(host, port, pool, mirror, extra)
            await stack.enter_async_context(metrics)
            stack.callback(status.write, STOPPED)
            status.write(
                CAPTURING, sensor_name=settings.sensor.name, interfaces=[],
                metrics=f"{host}:{metrics.bound_port}", **details,
            )  # fmt: skip
        await serve(services, pool, stop, limit)


async def serve(
    services: list[Callable[[asyncio.Event], Coroutine[Any, Any, None]]],
    pool: SensorPool,
    stop: asyncio.Event,
    limit: float,
) -> None:
    """Run the pool and its inputs until ``stop``; then the inputs end, then the pool closes
    its sensors, all within ``limit`` seconds."""
    inputs_stop, pool_stop = asyncio.Event(), asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        pool_task = tg.create_task(pool.run(pool_stop))
        tasks = [tg.create_task(run(inputs_stop)) for run in services]
        await stop.wait()
        pool.clock.deadline = asyncio.get_running_loop().time() + limit
        log.info("stopping the receivers: flushing calls and CDRs (within %g s)", limit)
        inputs_stop.set()
        try:
            async with asyncio.timeout(limit):
                await asyncio.wait(tasks)
                pool_stop.set()
                await asyncio.shield(pool_task)
        except TimeoutError:
            for t in (*tasks, pool_task):
                t.cancel()
            raise ShutdownTimeout(
                f"shutdown took longer than {limit:g} s: the receivers did not stop"
            ) from None
