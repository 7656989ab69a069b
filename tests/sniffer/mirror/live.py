"""Mirror receivers and senders as processes inside network namespaces (tests/live)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from tests.live.netns import Netns
from tests.live.sensor import ROOT, SensorProcess, free_port

MIRROR_PORT = 9070


class ReceiverProcess(SensorProcess):
    """``callsift sniff --mirror-listen 0.0.0.0:PORT --mirror-secrets FILE`` and/or
    ``--hep-listen ...`` (no capture)."""

    def __init__(
        self,
        ns: Netns,
        *,
        db_url: str,
        spool: Path,
        secrets: Path | None,
        port: int = MIRROR_PORT,
        log_path: Path | None = None,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        hep: tuple[str, ...] = (),
    ) -> None:
        self.ns = ns
        self.port = ns.call(free_port)
        self.spool = spool
        self.log_path = log_path or spool.parent / f"receiver-{port}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[bytes] = self.log_path.open("ab")
        cmd = [sys.executable, "-m", "sniffer.cli.main", "sniff", "--db", db_url,
               "--spool", str(spool),
               "--metrics-listen", f"127.0.0.1:{self.port}", *extra_args]  # fmt: skip
        if secrets is not None:
            cmd += ["--mirror-listen", f"0.0.0.0:{port}", "--mirror-secrets", str(secrets)]
        for h in hep:
            cmd += ["--hep-listen", h]
        self.proc = ns.popen(
            cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env={**os.environ, "CALLSIFT_HEARTBEAT_S": "1", "CALLSIFT_SPOOL_MAX_GB": "0",
                 **(env or {})},
        )  # fmt: skip

    def state(self, name: str) -> dict[str, Any]:
        """What the receiver keeps of a sender's stream (written at each heartbeat and stop)."""
        data: dict[str, Any] = json.loads((self.spool / ".mirror" / f"{name}.json").read_text())
        return data


class SenderProcess(SensorProcess):
    """``callsift mirror-send -i IFACE --to ... --sensor NAME`` (or ``-r FILE``)."""

    def __init__(
        self,
        ns: Netns,
        *,
        name: str,
        secret: str,
        to: str,
        log_path: Path,
        iface: str | None = "lo",
        bpf: str | None = None,
        read: Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.ns = ns
        self.port = ns.call(free_port)
        self.log_path = log_path
        self._log = log_path.open("ab")
        cmd = [sys.executable, "-m", "sniffer.cli.main", "mirror-send", "--to", to,
               "--sensor", name, "--metrics-listen", f"127.0.0.1:{self.port}"]  # fmt: skip
        cmd += ["-r", str(read)] if read is not None else ["-i", str(iface)]
        if bpf:
            cmd += ["--bpf", bpf]
        env = {**os.environ, "CALLSIFT_MIRROR_SECRET": secret}
        self.proc = ns.popen(
            [*cmd, *extra_args], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip

    def figures(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.get("/health")[1])
        return body


def final_captured(log: str) -> int:
    """What a stopped sender captured in all, from its last figures line: a packet captured
    after a ``figures()`` read (a late retransmission) is sent on stop, and counted here."""
    found = re.findall(r"mirror \S+: captured (\d+) ", log)
    assert found, log[-1000:]
    return int(found[-1])


def secrets_file(path: Path, pairs: dict[str, str]) -> Path:
    path.write_text("".join(f"{n} {s}\n" for n, s in pairs.items()))
    path.chmod(0o600)
    return path


def record_one(listener: socket.socket, target: tuple[str, int]) -> bytes:
    """A TCP proxy for one connection: what the client sent (a captured session), forwarded
    to ``target`` and answered back. Run inside the namespace (``ns.call``)."""
    client, _ = listener.accept()
    upstream = socket.create_connection(target, timeout=30)
    sent = bytearray()
    done = threading.Event()

    def back() -> None:
        try:
            while data := upstream.recv(65536):
                client.sendall(data)
        except OSError:
            pass
        finally:
            done.set()
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_WR)

    t = threading.Thread(target=back)
    t.start()
    client.settimeout(30)
    try:
        while data := client.recv(65536):
            sent += data
            upstream.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        upstream.shutdown(socket.SHUT_WR)
    done.wait(30)
    t.join(5)
    client.close()
    upstream.close()
    listener.close()
    return bytes(sent)


def listener() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s


def replay(data: bytes, target: tuple[str, int]) -> bytes:
    """Send ``data`` to ``target`` at once; what comes back before it closes (30 s at most)."""
    with socket.create_connection(target, timeout=30) as s:
        s.sendall(data)
        out = bytearray()
        with contextlib.suppress(OSError):
            while chunk := s.recv(65536):
                out += chunk
        return bytes(out)
