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
from db.settings.base import parse_host_port
from sniffer.counters import Counters
from sniffer.hep.out import HepOut
from sniffer.service.status import CAPTURING, STOPPED, StatusFile

if TYPE_CHECKING:
    from sniffer.mirror.pool import SensorPool
    from sniffer.service.sensor import Sensor

log = logging.getLogger(__name__)

JOURNAL_DIR = ".journal"


def has_receivers(settings: Settings) -> bool:
    return bool(settings.mirror.listen or settings.hep.listen)


def wants_capture(settings: Settings) -> bool:
    """Capture runs when interfaces were configured, or when there is nothing else to do."""
    return "interfaces" in settings.capture.model_fields_set or not has_receivers(settings)


async def run_receivers(
    settings: Settings,
    stop: asyncio.Event,
    status: StatusFile | None = None,
    hep_out: HepOut | None = None,
) -> None:
    """Until ``stop``; then within ``sensor.shutdown_timeout_s`` every sender's calls are
    closed and their CDRs written or journalled. ``status`` (the process's health file) is
    written when the receivers run alone. ``hep_out``: the process's HEP sender when capture
    runs beside (else one is made here when ``hep.out`` is set)."""
    from sniffer.hep.listen import HepListeners
    from sniffer.mirror.metrics import ReceiverMetricsServer
    from sniffer.mirror.pool import SensorPool
    from sniffer.mirror.server import MirrorReceiver

    journal = settings.storage.journal_dir or Path(settings.spool.dir) / JOURNAL_DIR
    settings.storage.require_db_url()
    services: list[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = []
    extra: list[tuple[str, Counters]] = []
    pool = SensorPool(settings, journal)
    own_out = None
    if hep_out is None and settings.hep.out:
        hep_out = own_out = HepOut(settings)
    if hep_out is not None:
        pool.clock.sip_taps.append(hep_out.tap)
        extra.append(("", hep_out.counters))
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
        if status is not None or settings.mirror.metrics_listen:
            # alone: the process's metrics address; beside capture: one of their own
            listen = settings.metrics.host_port if status is not None else None
            host, port = listen or parse_host_port(str(settings.mirror.metrics_listen))
            metrics = ReceiverMetricsServer(host, port, pool, mirror, extra)
            await stack.enter_async_context(metrics)
            log.info("receivers' /metrics and /health on %s:%d", host, metrics.bound_port)
        if status is not None:
            stack.callback(status.write, STOPPED)
            status.write(
                CAPTURING, sensor_name=settings.sensor.name, interfaces=[],
                metrics=f"{host}:{metrics.bound_port}", **details,
            )  # fmt: skip
        if own_out is None:
            await serve(services, pool, stop, limit)
            return
        out_stop = asyncio.Event()
        async with asyncio.TaskGroup() as tg:
            out = tg.create_task(own_out.run(out_stop))
            try:
                await serve(services, pool, stop, limit)
            finally:
                out_stop.set()  # the last SIP copies leave, then it ends
            await out


async def run_capture(sensor: Sensor, settings: Settings, stop: asyncio.Event) -> None:
    """The capture sensor, with the receivers and the HEP sender when configured."""
    if not has_receivers(settings) and not settings.hep.out:
        await sensor.run(stop)
        return
    hep_out = HepOut(settings) if settings.hep.out else None
    if hep_out is not None and sensor.analyzer is not None:  # opened by the caller
        sensor.analyzer.sip_taps.append(hep_out.tap(settings.sensor.name))
    out_stop = asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        if hep_out is not None:
            tg.create_task(hep_out.run(out_stop))
        jobs = [tg.create_task(sensor.run(stop))]
        if has_receivers(settings):
            jobs.append(tg.create_task(run_receivers(settings, stop, hep_out=hep_out)))
        try:
            await asyncio.wait(jobs)
        finally:
            out_stop.set()


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
