"""Helpers for the live-sensor tests: sipp peers on loopback, a ``callsift sniff`` process,
and a database outage switch (a TCP proxy in front of MariaDB)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.sniffer.storage.proxy import TcpProxy

SCENARIO = Path(__file__).parent / "sipp" / "uac_pcap_audio.xml"
G711A_PACKETS = 236
"""RTP packets in /usr/share/sip-tester/g711a.pcap (what the caller plays, and gets echoed)."""
UAS_SIP_PORT = 5070
UAS_MEDIA_PORT = 6000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(pred: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


class Uas:
    """sipp answering every call, echoing RTP (the callee)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(UAS_SIP_PORT),
             "-mi", "127.0.0.1", "-mp", str(UAS_MEDIA_PORT), "-rtp_echo", "-nostdin"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def place_calls(n: int, first_sip_port: int = 5081, first_media_port: int = 7000) -> None:
    """``n`` concurrent calls, one sipp caller each (own SIP and RTP ports); all must succeed."""
    procs = []
    for i in range(n):
        sip, media = str(first_sip_port + i), str(first_media_port + 10 * i)
        cmd = ["sipp", f"127.0.0.1:{UAS_SIP_PORT}", "-sf", str(SCENARIO), "-i", "127.0.0.1",
               "-p", sip, "-mi", "127.0.0.1", "-mp", media, "-m", "1", "-nostdin",
               "-timeout", "40s"]  # fmt: skip
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    for p in procs:
        _out, err = p.communicate(timeout=60)
        assert p.returncode == 0, f"sipp caller failed ({p.returncode}): {err.decode()[-500:]}"


BPF = (
    f"udp and (port {UAS_SIP_PORT} or port {UAS_MEDIA_PORT} or portrange 5081-5099 "
    "or portrange 7000-7200)"
)


class Sniffer:
    """A ``callsift sniff -i lo`` process."""

    def __init__(self, db_url: str, sensor_id: int, spool: Path) -> None:
        self.metrics_port = free_port()
        self.spool = spool
        env = {**os.environ, "CALLSIFT_HEARTBEAT_S": "1", "CALLSIFT_SPOOL_MAX_GB": "0"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sniffer.cli.main", "sniff", "-i", "lo", "--bpf", BPF,
             "--db", db_url, "--sensor-id", str(sensor_id), "--spool", str(spool),
             "--metrics-listen", f"127.0.0.1:{self.metrics_port}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )  # fmt: skip
        try:
            wait_for(self._ready, 20, "the sensor's health endpoint")
        except BaseException:
            self.kill()
            raise

    def kill(self) -> None:
        """Whatever state it is in (test teardown)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            _out, err = self.proc.communicate()
            raise AssertionError(f"callsift sniff exited {self.proc.returncode}: {err.decode()}")
        try:
            self.health()
        except OSError:
            return False
        return True

    def health(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.metrics_port}/health"
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                body: dict[str, Any] = json.loads(r.read())
        except urllib.error.HTTPError as e:
            body = json.loads(e.read())
        return body

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=2) as r:
            text: str = r.read().decode()
            return text

    def stop(self, timeout: float = 30) -> tuple[int, float, str]:
        """SIGTERM; (exit code, seconds it took, stderr)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        _out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, time.monotonic() - t0, err.decode()


class Outage:
    """The sensor's way to MariaDB: a proxy that can be cut (``down``) and restored (``up``)."""

    def __init__(self, target_port: int = 3306, listen_host: str = "127.0.0.1") -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.proxy = TcpProxy("127.0.0.1", target_port, listen_host)
        self._call(self.proxy.start())

    def _call(self, coro: Any) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    @property
    def port(self) -> int:
        return self.proxy.port

    def down(self) -> None:
        self._call(self.proxy.stop())

    def up(self) -> None:
        self._call(self.proxy.start())

    def close(self) -> None:
        self._call(self.proxy.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()
