"""The sensors a receiving process analyses for others: one per mirror sender, one per HEP
capture id and node (:class:`~sniffer.mirror.remote.RemoteSensor`). The pool creates each on
its first packet (claiming its id in ``sensors`` for a stable identity, remembered in its state
file), runs their heartbeats and call timeouts, and closes them at the end."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from contextlib import suppress
from pathlib import Path

from db.connect import connect
from db.queries import claim_sensor_id
from db.settings import Settings
from db.url import parse_db_url
from sniffer.mirror.remote import STATE_DIR, ReceiverClock, RemoteSensor
from sniffer.service.heartbeat import Heartbeat
from sniffer.version import callsift_version

log = logging.getLogger(__name__)

HOUSEKEEPING_S = 1.0


class SensorPool:
    def __init__(self, settings: Settings, journal_root: Path) -> None:
        self.settings = settings
        self.clock = ReceiverClock(journal_root)
        self.sensors: dict[str, RemoteSensor] = {}
        """By identity (``mirror:NAME``, ``hep:ID:NODE``)."""
        self._locks: dict[str, asyncio.Lock] = {}
        self._tg: asyncio.TaskGroup | None = None
        self.done = asyncio.Event()

    def of_kind(self, kind: str) -> dict[str, RemoteSensor]:
        return {s.name: s for s in self.sensors.values() if s.kind == kind}

    async def get(self, identity: str, name: str, *, key: str, kind: str) -> RemoteSensor:
        """The sensor of ``identity``, created (its id claimed) the first time; a database
        that cannot give the id raises :class:`~db.errors.DbError`."""
        sensor = self.sensors.get(identity)
        if sensor is not None:
            return sensor
        if self._tg is None or self.done.is_set():
            raise RuntimeError("the sensor pool is not running")
        async with self._locks.setdefault(identity, asyncio.Lock()):
            sensor = self.sensors.get(identity)
            if sensor is None:
                sensor_id = await self._sensor_id(identity, name, key)
                sensor = RemoteSensor(
                    self.settings, name, sensor_id, receiver=self.clock, key=key, kind=kind
                )
                sensor.start()
                self.sensors[identity] = sensor
                self._tg.create_task(Heartbeat(sensor).run(self.done))
                log.info("%s: sensor '%s' has id %d", kind, name, sensor_id)
        return sensor

    async def _sensor_id(self, identity: str, name: str, key: str) -> int:
        path = Path(self.settings.spool.dir) / STATE_DIR / f"{key}.json"
        with suppress(OSError, ValueError):
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("sensor_id"), int):
                return int(data["sensor_id"])
        s = self.settings.storage
        conn = await connect(parse_db_url(s.require_db_url()), timeout_s=s.connect_timeout_s)
        try:
            return await claim_sensor_id(
                conn, identity, name=name, host=socket.gethostname(), version=callsift_version()
            )
        finally:
            conn.close()

    async def run(self, stop: asyncio.Event) -> None:
        """Heartbeats and call timeouts until ``stop``; then a last heartbeat each and every
        sensor closed (open calls as ``shutdown``, CDRs written or journalled)."""
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                while not stop.is_set():
                    with suppress(TimeoutError):
                        async with asyncio.timeout(HOUSEKEEPING_S):
                            await stop.wait()
                    for sensor in list(self.sensors.values()):
                        sensor.idle()
                self.done.set()
        finally:
            self.done.set()
            self._tg = None
            for sensor in self.sensors.values():
                await sensor.close(self.clock.time_left())
