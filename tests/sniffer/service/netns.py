"""A network namespace of a test's own (the host's lo is shared and busy): its own loopback for
sipp and ``callsift sniff``, and a veth to the host through which a relay on the host side
reaches MariaDB. Minimal on purpose: the shared harness (tests/live, helper "live") replaces it
when it lands.

    with Netns() as ns:
        proc = ns.popen(["sipp", ...])           # runs inside (ip netns exec)
        ns.host_ip, ns.inner_ip                  # the veth's two ends (a /30)
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import time
from types import TracebackType
from typing import Any

_seq = itertools.count(1)


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True, timeout=20)


def _free_subnet(tag: int) -> int:
    """A 10.213.X.0/30 no interface of the host uses (X from the pid, then the next free)."""
    used = _ip("-o", "-4", "addr", "show").stdout
    for i in range(250):
        x = (tag + i) % 250 + 1
        if f" 10.213.{x}." not in used:
            return x
    raise RuntimeError("no free 10.213.X.0/30 subnet for the test namespace")


class Netns:
    """``gd<pid>n<k>``: lo up, a veth ``gd<pid>h<k>`` (host, .1) <-> ``gd<pid>v<k>`` (inside,
    .2). ``close`` kills what runs inside and deletes both."""

    def __init__(self) -> None:
        k = next(_seq)
        pid = os.getpid() % 100_000
        self.name = f"gd{pid}n{k}"
        self.host_if, self.inner_if = f"gd{pid}h{k}", f"gd{pid}v{k}"
        x = _free_subnet(pid + k)
        self.host_ip, self.inner_ip = f"10.213.{x}.1", f"10.213.{x}.2"
        self.procs: list[subprocess.Popen[Any]] = []
        _ip("netns", "add", self.name)
        try:
            _ip("-n", self.name, "link", "set", "lo", "up")
            _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.inner_if,
                "netns", self.name)  # fmt: skip
            _ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
            _ip("link", "set", self.host_if, "up")
            _ip("-n", self.name, "addr", "add", f"{self.inner_ip}/30", "dev", self.inner_if)
            _ip("-n", self.name, "link", "set", self.inner_if, "up")
        except BaseException:
            self.close()
            raise

    def popen(self, cmd: list[str], **kw: Any) -> subprocess.Popen[Any]:
        proc: subprocess.Popen[Any] = subprocess.Popen(
            ["ip", "netns", "exec", self.name, *cmd], **kw
        )
        self.procs.append(proc)
        return proc

    def run(self, cmd: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.name, *cmd],
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                pass
        left = _ip("netns", "pids", self.name, check=False).stdout.split()
        for pid in left:  # started inside this namespace, so by this test
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        if left:
            time.sleep(0.2)
        _ip("netns", "del", self.name, check=False)
        _ip("link", "del", self.host_if, check=False)

    def __enter__(self) -> Netns:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
