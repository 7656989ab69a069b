"""Crash recovery of the live sensor (docs/SENSOR.md, "Crash recovery").

Every heartbeat the state of the calls in progress is written to
``SPOOL/.state/calls-<sensor id>.json``, replaced atomically (a temporary file in the same
folder, fsynced, renamed over the old one, the folder fsynced): a crash at any moment leaves
the previous snapshot or the new one, never a mix. On start, the sensor adopts the calls of
its own last snapshot (same sensor id), so a BYE or RTP after the restart completes their CDR,
flagged ``recovered``. A clean stop closes every call and empties the snapshot.

The snapshot is a file and not a database row: it must be written when the database is down
(an outage is when a crash is likeliest to cost CDRs, and a snapshot stuck at the start of an
outage would resurrect calls that ended long ago), it must be read at start before the database
answers, and it belongs with the journal and the pcaps it refers to, on the sensor's disk.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sniffer.calls.snapshot import STATE_VERSION
from sniffer.privfiles import make_dirs, open_private

log = logging.getLogger(__name__)

STATE_DIR = ".state"
_writes = itertools.count()
"""Each write has a temporary file of its own (a worker thread may write while the loop does)."""


class CallSnapshotFile:
    """The crash-recovery snapshot of one sensor: ``{interface: [call state, ...]}``."""

    def __init__(self, spool_dir: Path, sensor_id: int) -> None:
        self.sensor_id = sensor_id
        self.directory = Path(spool_dir) / STATE_DIR
        self.path = self.directory / f"calls-{sensor_id}.json"
        self._failing = False

    def save(self, calls: Mapping[str, Sequence[str]], capture_ts: float | None) -> None:
        """Replace the snapshot atomically (``calls``: each call's state as a JSON object, by
        interface); raises ``OSError``."""
        head = json.dumps(
            {
                "version": STATE_VERSION,
                "sensor_id": self.sensor_id,
                "written_at": time.time(),
                "capture_ts": capture_ts,
            },
            separators=(",", ":"),
        )
        body = ",".join(
            f"{json.dumps(iface)}:[{','.join(states)}]" for iface, states in calls.items()
        )
        data = f'{head[:-1]},"calls":{{{body}}}}}'.encode()
        make_dirs(str(self.directory))
        tmp = self.directory / f".{self.path.name}.{os.getpid()}-{next(_writes)}.tmp"
        fd = open_private(str(tmp), os.O_WRONLY | os.O_TRUNC)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def save_logged(self, calls: Mapping[str, Sequence[str]], capture_ts: float | None) -> bool:
        """:meth:`save`, a failure logged once (until it works again) instead of raised."""
        try:
            self.save(calls, capture_ts)
        except OSError as exc:
            if not self._failing:
                log.error(
                    "cannot write the crash-recovery snapshot %s: %s (calls in progress would "
                    "be lost by a crash; retrying every heartbeat)",
                    self.path,
                    exc.strerror or exc,
                )
            self._failing = True
            return False
        if self._failing:
            log.info("crash-recovery snapshot written again")
        self._failing = False
        return True

    def load(self) -> dict[str, list[dict[str, Any]]]:
        """The calls of this sensor's last snapshot by interface ({} when there is none, or it
        cannot be used: the reason is logged)."""
        for stale in self.directory.glob(f".{self.path.name}.*.tmp"):  # a write cut short
            stale.unlink(missing_ok=True)
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.error("cannot read the crash-recovery snapshot %s: %s", self.path, exc)
            return {}
        try:
            doc = json.loads(raw)
            if doc.get("version") != STATE_VERSION or doc.get("sensor_id") != self.sensor_id:
                log.warning(
                    "crash-recovery snapshot %s is not this sensor's (version %r, sensor %r): "
                    "ignored",
                    self.path,
                    doc.get("version"),
                    doc.get("sensor_id"),
                )
                return {}
            calls = doc["calls"]
            if not isinstance(calls, dict) or not all(isinstance(v, list) for v in calls.values()):
                raise ValueError("calls is not a map of lists")
        except (ValueError, KeyError, AttributeError) as exc:
            log.error("crash-recovery snapshot %s is damaged (%s): ignored", self.path, exc)
            return {}
        n = sum(len(v) for v in calls.values())
        if n:
            age = time.time() - float(doc.get("written_at") or 0)
            log.warning(
                "the sensor did not stop cleanly: adopting %d calls in progress from its "
                "snapshot of %.0f s ago (their CDRs are flagged recovered)",
                n,
                age,
            )
        return calls

    def clear(self) -> None:
        """Every call was closed (a clean stop): nothing to adopt at the next start."""
        try:
            self.save({}, None)
        except OSError:
            try:
                self.path.unlink(missing_ok=True)
            except OSError as exc:
                log.error("cannot clear the crash-recovery snapshot %s: %s", self.path, exc)
