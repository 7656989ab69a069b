"""The sensor's network inputs besides capture: the mirror receiver (``--mirror-listen``) and
the HEP listeners (``--hep-listen``), run by ``callsift sniff`` alone or beside capture."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from pathlib import Path

from db.errors import ShutdownTimeout
from db.settings import Settings
from sniffer.service.status import CAPTURING, STOPPED, StatusFile

log = logging.getLogger(__name__)

JOURNAL_DIR = ".journal"


def has_receivers(settings: Settings) -> bool:
    return bool(settings.mirror.listen)


def wants_capture(settings: Settings) -> bool:
    """Capture runs when interfaces were configured, or when there is nothing else to do."""
    return "interfaces" in settings.capture.model_fields_set or not has_receivers(settings)


async def run_receivers(
    settings: Settings, stop: asyncio.Event, status: StatusFile | None = None
) -> None:
    """Until ``stop``; then within ``sensor.shutdown_timeout_s`` every sender's calls are
    closed and their CDRs written or journalled. ``status`` (the process's health file) is
    written when the receivers run alone."""
    from sniffer.mirror.metrics import ReceiverMetricsServer
    from sniffer.mirror.server import MirrorReceiver

    journal = settings.storage.journal_dir or Path(settings.spool.dir) / JOURNAL_DIR
    settings.storage.require_db_url()
    receiver = MirrorReceiver(settings, journal_root=journal)
    await receiver.start()
    limit = settings.sensor.shutdown_timeout_s
    async with AsyncExitStack() as stack:
        if status is not None:
            host, port = settings.metrics.host_port
            metrics = ReceiverMetricsServer(host, port, receiver)
            await stack.enter_async_context(metrics)
            stack.callback(status.write, STOPPED)
            status.write(
                CAPTURING, sensor_name=settings.sensor.name, interfaces=[],
                mirror=f"{receiver.host}:{receiver.bound_port}",
                metrics=f"{host}:{metrics.bound_port}",
            )  # fmt: skip
        inner = asyncio.Event()
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(receiver.run(inner))
            await stop.wait()
            loop = asyncio.get_running_loop()
            receiver.clock.deadline = loop.time() + limit
            log.info("stopping the mirror receiver: flushing calls and CDRs (within %g s)", limit)
            inner.set()
            try:
                async with asyncio.timeout(limit):
                    await asyncio.shield(task)
            except TimeoutError:
                task.cancel()
                raise ShutdownTimeout(
                    f"shutdown took longer than {limit:g} s: the mirror receiver did not stop"
                ) from None
