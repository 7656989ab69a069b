"""Every ``heartbeat_s`` the sensor writes its crash-recovery snapshot (a file, see
:mod:`sniffer.service.recovery`), upserts its ``sensors`` row (rates, drops, backlog) and
replaces its active-calls snapshot, over its own connection. A database outage is logged once
and retried at the next beat; CDRs do not depend on it (they go through the writer's journal)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Iterable
from contextlib import suppress
from typing import TYPE_CHECKING, Protocol

from db.connect import CONNECTION, connect
from db.errors import DbError
from db.queries import ActiveCall, SensorStatus, store_heartbeat
from db.url import parse_db_url
from sniffer.version import callsift_version

if TYPE_CHECKING:
    from db.settings import Settings
    from sniffer.calls.call import Call
    from sniffer.service.metrics import SensorSnapshot

log = logging.getLogger(__name__)

MAX_ACTIVE_ROWS = 5000
"""The live view shows at most this many calls per sensor (the newest)."""


class Beating(Protocol):
    """What the heartbeat reads of a sensor (the live sensor, a mirror sender's sensor)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def sensor_id(self) -> int | None: ...

    def time_left(self) -> float | None:
        """Seconds until the shutdown deadline; None before a stop."""

    async def save_snapshot(self) -> bool:
        """Write the crash-recovery snapshot; False if it could not be."""

    def snapshot(self) -> SensorSnapshot: ...

    def open_calls(self) -> Iterable[Call]:
        """The calls in progress."""


class Heartbeat:
    def __init__(self, sensor: Beating) -> None:
        self.sensor = sensor
        self.settings = sensor.settings
        self._conn: CONNECTION | None = None
        self._down = False
        self._last_packets = 0
        self._last_time = time.monotonic()

    async def run(self, done: asyncio.Event) -> None:
        """Beat every ``heartbeat_s`` (a beat that takes longer is abandoned); once ``done``,
        a last beat (no active calls) within the shutdown's time, which leaves the database
        alone when it is known to be down."""
        period = self.settings.sensor.heartbeat_s
        try:
            while not done.is_set():
                await self._bounded_beat(period)
                with suppress(TimeoutError):
                    async with asyncio.timeout(period):
                        await done.wait()
            left = self.sensor.time_left()
            await self._bounded_beat(period if left is None else min(period, left), final=True)
        finally:
            if self._conn is not None:
                self._conn.close()

    async def _bounded_beat(self, limit: float, *, final: bool = False) -> None:
        if limit <= 0:
            return  # the shutdown's time is up
        try:
            async with asyncio.timeout(limit):
                await self.beat(final=final)
        except TimeoutError:
            self._drop_conn()
            self._went_down(f"no answer within {limit:g} s")

    def _rate(self, packets: int) -> float:
        now = time.monotonic()
        dt = now - self._last_time
        rate = (packets - self._last_packets) / dt if dt > 0 else 0.0
        self._last_packets, self._last_time = packets, now
        return rate

    def active_calls(self) -> list[ActiveCall]:
        rows = [
            ActiveCall(
                call_id=c.call_id,
                caller=c.caller,
                called=c.called,
                start=c.invite_ts if c.invite_ts is not None else c.first_ts,
                state=c.live_state,
            )
            for c in self.sensor.open_calls()
        ]
        rows.sort(key=lambda r: r.start, reverse=True)
        return rows[:MAX_ACTIVE_ROWS]

    async def beat(self, *, final: bool = False) -> None:
        await self.sensor.save_snapshot()  # crash recovery first: no database needed
        snap = self.sensor.snapshot()
        rate = self._rate(snap.packets)
        parse_errors = sum(n for k, n in snap.counters.items() if "parse_error" in k)
        s = self.settings
        sensor_id = self.sensor.sensor_id
        assert sensor_id is not None  # resolved before the sensor runs
        status = SensorStatus(
            name=s.sensor.name,
            host=socket.gethostname(),
            version=callsift_version(),
            packets_per_s=rate,
            kernel_drops=snap.kernel_dropped,
            queue_drops=snap.queue_dropped,
            active_calls=snap.active_calls,
            parse_errors=parse_errors,
            journal_backlog=snap.journal_backlog,
            counters=snap.counters,
        )
        if final and self._down:
            return  # the database is known to be down: the shutdown's time is not spent on it
        try:
            if self._conn is None:
                self._conn = await connect(
                    parse_db_url(s.storage.require_db_url()),
                    timeout_s=s.storage.connect_timeout_s,
                )
            await store_heartbeat(
                self._conn,
                sensor_id,
                status,
                self.active_calls(),
                timeout_s=s.storage.timeout_s,
            )
        except DbError as exc:
            self._drop_conn()
            self._went_down(str(exc))
            return
        if self._down:
            log.info("heartbeat: database back")
        self._down = False

    def _drop_conn(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _went_down(self, why: str) -> None:
        if not self._down:
            log.warning("heartbeat: database unavailable (%s); retrying every beat", why)
        self._down = True
