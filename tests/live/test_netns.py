"""The namespace harness itself: what it creates is isolated, reachable, and gone afterwards,
whatever ends the test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.db.mariadb import ensure_server
from tests.live.netns import NETNS_DIR, Netns, sweep_stale
from tests.live.relay import Relay

REPO = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _in_namespace(name: str) -> list[int]:
    r = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
    return [int(p) for p in r.stdout.split()]


def test_close_kills_everything_inside_and_deletes_the_namespace() -> None:
    ns = Netns().open()
    a, _b = ns.veth()
    tracked = ns.popen(["sleep", "600"])
    stray = subprocess.Popen(["ip", "netns", "exec", ns.name, "sleep", "600"])  # not via popen
    deadline = time.monotonic() + 10  # until 'ip netns exec' has moved both in and exec'd
    while set(_in_namespace(ns.name)) != {tracked.pid, stray.pid}:
        assert time.monotonic() < deadline, _in_namespace(ns.name)
        time.sleep(0.01)
    assert a in ns.ip("-o", "link")
    ns.close()
    stray.wait(5)
    assert tracked.poll() is not None and stray.returncode is not None
    assert not (NETNS_DIR / ns.name).exists()
    ns.close()  # idempotent


def test_a_namespace_sees_neither_the_host_nor_another_namespace(
    netns: Callable[[], Netns],
) -> None:
    a, b = netns(), netns()
    x, y = a.veth(b)
    a.ip("addr", "add", "10.66.0.1/30", "dev", x)
    b.ip("addr", "add", "10.66.0.2/30", "dev", y)

    def bound(addr: str) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((addr, 0))
        s.settimeout(5)
        return s

    with b.call(bound, "10.66.0.2") as rx, a.call(bound, "10.66.0.1") as tx:
        tx.sendto(b"across", rx.getsockname())  # sockets stay where they were made
        assert rx.recvfrom(16) == (b"across", ("10.66.0.1", tx.getsockname()[1]))
    links = a.ip("-o", "link")
    assert "lo" in links and x in links and y not in links and "eth0" not in links
    with a.entered():
        names = {n for _, n in socket.if_nameindex()}
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    assert names == {"lo", x}
    assert a.call(lambda: {n for _, n in socket.if_nameindex()}) == {"lo", x}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as host:
        host.bind(("127.0.0.1", port))  # the namespace's port is not the host's


def test_relay_reaches_the_host_database_from_inside(netns: Callable[[], Netns]) -> None:
    ensure_server()
    ns = netns()

    def greeting(port: int) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            return c.recv(128)

    with Relay(ns, 3306) as relay:
        assert b"mysql_native_password" in ns.call(greeting, 3306)
        relay.down()
        with pytest.raises(ConnectionRefusedError):
            ns.call(greeting, 3306)
        relay.up()
        assert relay.port == 3306 and ns.call(greeting, 3306)
    with pytest.raises(ConnectionRefusedError):
        ns.call(greeting, 3306)


CHILD = """
import os, signal, subprocess, sys, time
sys.path.insert(0, {repo!r})
from tests.live.netns import Netns
with Netns() as ns:
    proc = ns.popen(["sleep", "600"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while str(proc.pid) not in subprocess.run(["ip", "netns", "pids", ns.name],
                                              capture_output=True, text=True).stdout.split():
        time.sleep(0.01)  # until 'ip netns exec' has moved it in
    print(ns.name, proc.pid, flush=True)
    {how}
"""


@pytest.mark.parametrize(
    "how",
    [
        "os.kill(os.getpid(), signal.SIGINT); time.sleep(5)",  # KeyboardInterrupt
        "raise RuntimeError('test failed')",
        "sys.exit(3)",
    ],
)
def test_nothing_is_left_whatever_ends_the_process(how: str) -> None:
    code = textwrap.dedent(CHILD).format(repo=str(REPO), how=how)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    name, pid = r.stdout.split()
    assert not (NETNS_DIR / name).exists(), r.stderr
    assert not _alive(int(pid))


def test_namespaces_of_a_killed_process_are_swept() -> None:
    code = textwrap.dedent(CHILD).format(repo=str(REPO), how="os.kill(os.getpid(), 9)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == -9
    name, pid = r.stdout.split()
    assert (NETNS_DIR / name).exists() and _alive(int(pid))  # SIGKILL: no clean-up ran
    assert name in sweep_stale()
    assert not (NETNS_DIR / name).exists() and not _alive(int(pid))
    assert f"{os.getpid()}" not in " ".join(sweep_stale())  # our own ones stay
