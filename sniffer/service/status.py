"""The sensor's status file (``health_file``): what a container healthcheck reads to learn
whether this process is starting, a standby, or capturing (and where its ``/health`` answers,
which may be an ephemeral port). Written atomically; never required by the sensor itself."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STARTING = "starting"
STANDBY = "standby"
CAPTURING = "capturing"
STOPPED = "stopped"


class StatusFile:
    """``write(state, **details)`` replaces the file; a failure is logged once, not raised."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = None if path is None else Path(path)
        self._failed = False

    def write(self, state: str, **details: Any) -> None:
        if self.path is None:
            return
        body = {"state": state, "pid": os.getpid(), "time": time.time(), **details}
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(body) + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            if not self._failed:
                log.warning("cannot write the status file %s: %s", self.path, exc)
            self._failed = True
