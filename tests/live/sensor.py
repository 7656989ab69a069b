"""A ``callsift sniff`` process inside a network namespace, for the live tests and the live
benchmark: started, asked for /health and /metrics (over a socket made inside the
namespace), stopped with SIGTERM, killed whatever its state."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

from tests.live.netns import Netns

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 60.0
HTTP_TIMEOUT_S = 5.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on (where the calling thread's network namespace is)."""
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def http_get(url: str, timeout: float = HTTP_TIMEOUT_S) -> tuple[int, str]:
    """(status, body) of a GET; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return int(r.status), str(r.read().decode())
    except urllib.error.HTTPError as e:
        return int(e.code), str(e.read().decode())


def parse_metrics(text: str) -> dict[str, float]:
    """Unlabelled samples of a Prometheus text page by name (``_total`` suffix removed)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or "{" in line or " " not in line:
            continue
        name, value = line.rsplit(" ", 1)
        out[name.removesuffix("_total")] = float(value)
    return out


class SensorProcess:
    """``callsift sniff -i IFACE --bpf BPF --db URL ...`` run inside ``ns``; its output goes to
    ``log_path`` (default: next to the spool). ``env`` adds to the environment."""

    def __init__(
        self,
        ns: Netns,
        *,
        iface: str,
        bpf: str,
        db_url: str,
        sensor_id: int,
        spool: Path,
        sensor_name: str | None = None,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.ns = ns
        self.port = ns.call(free_port)
        self.spool = spool
        self.log_path = log_path or spool.parent / f"sensor-{sensor_id}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[bytes] = self.log_path.open("ab")
        cmd = [sys.executable, "-m", "sniffer.cli.main", "sniff", "-i", iface, "--bpf", bpf,
               "--db", db_url, "--sensor-id", str(sensor_id), "--spool", str(spool),
               "--metrics-listen", f"127.0.0.1:{self.port}"]  # fmt: skip
        if sensor_name is not None:
            cmd += ["--sensor-name", sensor_name]
        cmd += extra_args
        try:
            self.proc = ns.popen(
                cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self._log,
                stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
            )  # fmt: skip
        except BaseException:
            self._log.close()
            raise

    @property
    def pid(self) -> int:
        return self.proc.pid

    # -- asking it --------------------------------------------------------------------------

    def get(self, path: str, timeout: float = HTTP_TIMEOUT_S) -> tuple[int, str]:
        """(status, body) of ``GET path`` on its metrics listener; OSError if it does not
        answer, TimeoutError if it answers too late."""
        url = f"http://127.0.0.1:{self.port}{path}"
        return self.ns.call(http_get, url, timeout, timeout=timeout + 5)

    def health(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.get("/health")[1])
        return body

    def metrics_text(self, timeout: float = HTTP_TIMEOUT_S) -> str:
        return self.get("/metrics", timeout)[1]

    def metrics(self, timeout: float = HTTP_TIMEOUT_S) -> dict[str, float]:
        """Unlabelled samples of /metrics by name (``_total`` suffix removed)."""
        return parse_metrics(self.metrics_text(timeout))

    def wait_ready(self, timeout: float = READY_TIMEOUT_S, status: str | None = None) -> None:
        """Until /health answers (with ``status`` if given); raises with the log's tail if the
        process exits or the time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"callsift sniff exited {self.proc.returncode}: {self.tail()}")
            try:
                got = self.health()["status"]
                if status is None or got == status:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                what = f"status {status!r}" if status else "an answer"
                raise RuntimeError(f"no {what} from /health within {timeout:.0f} s: {self.tail()}")
            time.sleep(0.2)

    def tail(self, n: int = 2000) -> str:
        """The end of its log."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-n:]

    # -- ending it --------------------------------------------------------------------------

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> tuple[int, float, str]:
        """SIGTERM; (exit code, seconds it took, its log). Killed after ``timeout`` (the exit
        code then says so)."""
        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        took = time.monotonic() - t0
        self._log.flush()
        return rc, took, self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """Whatever state it is in (test teardown); idempotent."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

    close = kill
