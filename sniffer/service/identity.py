"""Who a sensor is, with no manual numbering, and which interfaces it may capture.

Sensors that share a spool directory (replicas of one compose service, ``--scale sniffer=N``)
share its state directory ``SPOOL/.sensor``. There each *claim* (a set of interfaces) has a
lock file, held with ``flock`` for as long as a sensor captures it, so two sensors on one host
never capture (and count) the same packets:

* normally the whole interface list is one claim: the first sensor captures, any other waits
  as a standby and takes over when the first one stops;
* in pool mode (``interface_pool``) every entry of the list is a claim of its own (``eth1``, or
  ``eth2+eth3`` for several interfaces in one sensor): each replica captures the first entry
  no one holds, so N replicas on N entries see N different traffic sources.

Each claim directory keeps an identity (a random UUID, created once) and the sensor id the
database gave it, so a claim is the same sensor, with the same id, name and journal, across
restarts and whichever replica holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import re
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from db.errors import SpoolError

log = logging.getLogger(__name__)

STATE_DIR = ".sensor"
LOCK_FILE = "lock"
IDENTITY_FILE = "identity.json"
SINGLE_KEY = "sensor"
STANDBY_POLL_S = 2.0
FILE_MODE = 0o640
DIR_MODE = 0o750
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


class ClaimError(SpoolError):
    """The sensor's state directory in the spool cannot be used (permissions, a full disk)."""


def pool_entries(interfaces: list[str], pool: bool) -> list[list[str]]:
    """The claims an interface list makes: one for the whole list, or one per entry in pool
    mode, where ``a+b`` is one entry of two interfaces."""
    if not pool:
        return [list(interfaces)]
    entries = [[i for i in entry.split("+") if i] for entry in interfaces]
    return [e for e in entries if e]


def claim_key(entry: list[str], pool: bool) -> str:
    """The directory name of a claim: ``sensor``, or ``pool-eth1+eth2`` in pool mode."""
    if not pool:
        return SINGLE_KEY
    return "pool-" + _UNSAFE.sub("_", "+".join(entry))


@dataclass(slots=True)
class Claim:
    """A claim this process holds (its lock is released by :meth:`InterfaceClaims.release`)."""

    key: str
    index: int
    interfaces: list[str]
    directory: Path
    pooled: bool
    fd: int = field(repr=False)

    @property
    def identity_file(self) -> Path:
        return self.directory / IDENTITY_FILE

    def identity(self) -> str:
        """The claim's persistent identity (created on first use)."""
        return str(self._read().get("identity") or self._create()["identity"])

    def cached_sensor_id(self) -> int | None:
        sid = self._read().get("sensor_id")
        return sid if isinstance(sid, int) and sid > 0 else None

    def remember_sensor_id(self, sensor_id: int) -> None:
        data = self._read() or self._create()
        if data.get("sensor_id") != sensor_id:
            data["sensor_id"] = sensor_id
            write_json(self.identity_file, data)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.identity_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ClaimError(f"sensor identity {self.identity_file} is unreadable: {exc}") from exc
        return data if isinstance(data, dict) else {}

    def _create(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "identity": uuid.uuid4().hex,
            "sensor_id": None,
            "interfaces": self.interfaces,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        write_json(self.identity_file, data)
        return data


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ClaimError(f"cannot write {path}: {exc.strerror or exc}") from exc


class InterfaceClaims:
    """The claims of one interface list under ``SPOOL/.sensor`` (see the module docstring).
    ``async with`` releases whatever was claimed."""

    def __init__(self, spool_dir: str | Path, interfaces: list[str], *, pool: bool) -> None:
        self.state_dir = Path(spool_dir) / STATE_DIR
        self.pool = pool
        self.entries = pool_entries(interfaces, pool)
        if not self.entries:
            raise ClaimError("no interface to capture")
        self.held: Claim | None = None

    async def __aenter__(self) -> InterfaceClaims:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def try_claim(self) -> Claim | None:
        """The first free claim, now locked by this process; None when every one is held."""
        for index, entry in enumerate(self.entries):
            key = claim_key(entry, self.pool)
            directory = self.state_dir / key
            try:
                directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
                fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, FILE_MODE)
            except OSError as exc:
                raise ClaimError(
                    f"spool directory {self.state_dir.parent} is not writable "
                    f"(sensor state {directory}: {exc.strerror or exc})"
                ) from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            except OSError as exc:
                os.close(fd)
                raise ClaimError(f"cannot lock {directory / LOCK_FILE}: {exc}") from exc
            holder = {"pid": os.getpid(), "host": socket.gethostname(), "interfaces": entry,
                      "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}  # fmt: skip
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
            self.held = Claim(key, index, entry, directory, self.pool, fd)
            return self.held
        return None

    def holders(self) -> list[str]:
        """Who holds each claim, as written in the lock files (for the standby message)."""
        out = []
        for entry in self.entries:
            lock = self.state_dir / claim_key(entry, self.pool) / LOCK_FILE
            try:
                info = json.loads(lock.read_text(encoding="utf-8") or "{}")
            except (OSError, ValueError):
                info = {}
            who = f"pid {info.get('pid', '?')} on {info.get('host', '?')}"
            out.append(f"{'+'.join(entry)} by {who}")
        return out

    async def claim(self, stop: asyncio.Event, on_standby: Any = None) -> Claim | None:
        """Claim now, or wait as a standby until a claim frees (None once ``stop`` is set)."""
        said = False
        while not stop.is_set():
            got = self.try_claim()
            if got is not None:
                if said:
                    log.info("standby over: capturing on %s", "+".join(got.interfaces))
                return got
            if not said:
                log.warning(
                    "standby: every interface is captured by another sensor sharing %s (%s); "
                    "this one takes over when one stops%s",
                    self.state_dir, "; ".join(self.holders()),
                    "" if self.pool else " (interface_pool gives each replica its own interfaces)",
                )  # fmt: skip
                said = True
                if on_standby is not None:
                    on_standby()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STANDBY_POLL_S):
                    await stop.wait()
        return None

    def release(self) -> None:
        if self.held is not None:
            with contextlib.suppress(OSError):
                os.close(self.held.fd)  # closing the descriptor drops the flock
            self.held = None
