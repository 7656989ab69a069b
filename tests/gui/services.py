"""``callsift api`` and ``callsift gui`` as real processes inside a network namespace of their
own (MariaDB reached through a relay), for the browser tests and the GUI benchmark: nothing
listens on the host."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tests.live.netns import Netns
from tests.live.relay import Relay
from tests.live.sensor import http_get

API_PORT, GUI_PORT = 8000, 8080
"""Inside the namespace every port is free."""
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


@dataclass
class Services:
    ns: Netns
    api: str
    """``http://127.0.0.1:8000`` (inside the namespace)."""
    gui: str


def _callsift() -> str:
    return str(Path(sys.executable).with_name("callsift"))


def _wait(ns: Netns, url: str, proc: subprocess.Popen[Any], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the process ended ({proc.returncode}): {log.read_text()}")
        with contextlib.suppress(OSError):
            status, _ = ns.call(http_get, url)
            if status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {READY_TIMEOUT_S:g} s: {log.read_text()}")


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def services(
    db_url: str,
    spool: Path,
    api_secret: str,
    gui_secret: str,
    logs: Path,
    env: dict[str, str] | None = None,
) -> Iterator[Services]:
    """The API (on ``db_url`` and ``spool``) and the GUI, ready, stopped at the end."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CALLSIFT_")}
    base |= env or {}
    logs.mkdir(parents=True, exist_ok=True)
    handles: list[IO[bytes]] = []
    procs: list[subprocess.Popen[Any]] = []
    with Netns() as ns, Relay(ns, 3306):
        try:
            api_log, gui_log = logs / "api.log", logs / "gui.log"
            handles += [api_log.open("ab"), gui_log.open("ab")]
            api = f"http://127.0.0.1:{API_PORT}"
            gui = f"http://127.0.0.1:{GUI_PORT}"
            procs.append(
                ns.popen(
                    [_callsift(), "api", "--db", db_url, "--spool", str(spool),
                     "--host", "127.0.0.1", "--port", str(API_PORT)],
                    env=base | {"CALLSIFT_SECRET_KEY": api_secret},
                    stdout=handles[0], stderr=subprocess.STDOUT,
                )
            )  # fmt: skip
            procs.append(
                ns.popen(
                    [_callsift(), "gui", "--api", api, "--host", "127.0.0.1",
                     "--port", str(GUI_PORT)],
                    env=base | {"CALLSIFT_GUI_SECRET_KEY": gui_secret},
                    stdout=handles[1], stderr=subprocess.STDOUT,
                )
            )  # fmt: skip
            _wait(ns, f"{api}/api/v1/health", procs[0], api_log)
            _wait(ns, f"{gui}/login", procs[1], gui_log)
            yield Services(ns, api, gui)
        finally:
            for proc in reversed(procs):
                _stop(proc)
            for h in handles:
                h.close()
