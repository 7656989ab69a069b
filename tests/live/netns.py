"""Network namespaces as hosts for live tests and benchmarks (needs root and ``ip``).

The machine's ``lo`` is shared and busy: a live test or benchmark runs its peers (sipp,
tcpreplay), its ``callsift sniff`` and any in-process capture inside namespaces of its own,
with their own loopback and veths, and never listens on a fixed port of the host.

API (``from tests.live import Netns, Relay, SensorProcess``)::

    with Netns() as ns:                     # fresh namespace "lv<pid>n<k>", its lo up
        ns.popen(["sipp", ...])             # a process inside (killed at close if still alive)
        ns.run(["ip", "addr"], check=True)  # subprocess.run inside
        ns.call(fn, *args)                  # fn in a worker thread inside (sockets it makes
                                            #   stay in the namespace), its result returned
        with ns.entered():                  # this thread inside: in-process LiveCapture,
            ...                             #   the threads and processes it starts too
        a, b = ns.veth()                    # a veth pair, both ends up in this namespace
        a, b = ns.veth(other)               # a here, b in the Netns ``other``
        ns.ip("addr", "add", "10.0.0.1/24", "dev", a)
        with Relay(ns, 3306):               # 127.0.0.1:3306 inside -> MariaDB on the host
            SensorProcess(ns, iface="lo", ...)  # ``callsift sniff`` inside (tests.live.sensor)

    pytest: the ``netns`` fixture (tests/conftest.py) is a factory, ``netns()`` -> an open
    Netns closed after the test.

Inside a namespace every port is free: peers may use the usual ones (5060, 3306, ...).
Nothing is created on the host except ``/run/netns/<name>``: veths are created directly in
their namespaces and vanish with them.

Clean-up: :meth:`Netns.close` (and leaving ``with``) kills every process still inside (the
ones started here, and any other process found in it by ``ip netns pids``), then deletes
the namespace with its veths, with SIGINT/SIGTERM held back meanwhile, so a test failure or
KeyboardInterrupt leaves nothing behind. Namespaces still open at interpreter exit are closed
by an ``atexit`` hook; those of a process that died without it (SIGKILL) are swept by the next
:class:`Netns` created: names carry the creator's pid, and a name whose pid is gone is stale.

Names are ``<tag><pid>n<k>`` (namespaces) and ``<tag><pid><k>a``/``b`` (veths, at most 15
characters); the tag is ``lv`` unless ``CSTEST_NETNS_TAG`` (letters) says otherwise.

Caveat of :meth:`Netns.entered` and :meth:`Netns.call`: they switch a thread's network
namespace only (``setns``), not its mount namespace, so ``/sys/class/net`` there still shows
the host's interfaces. Processes started with :meth:`popen`/:meth:`run` go through
``ip netns exec``, which mounts the namespace's own ``/sys``.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import itertools
import logging
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
IFNAMSIZ = 15
"""Longest interface name the kernel takes."""
TAG = os.environ.get("CSTEST_NETNS_TAG", "lv")
KILL_WAIT_S = 5.0
CALL_TIMEOUT_S = 60.0

_libc = ctypes.CDLL(None, use_errno=True)
_counter = itertools.count(1)
_open: set[Netns] = set()
_swept: set[str] = set()
_lock = threading.Lock()


def setns(fd: int) -> None:
    """Move the calling thread into the network namespace open as ``fd``."""
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


def _check_tag(tag: str) -> str:
    if not re.fullmatch(r"[a-z]{1,4}", tag):
        raise ValueError(f"namespace tag must be 1-4 lower-case letters, got {tag!r}")
    return tag


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


def _pid_alive(pid: int) -> bool:
    """``pid`` runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _ns_pids(name: str) -> list[int]:
    r = _ip("netns", "pids", name, check=False)
    return [int(p) for p in r.stdout.split() if p.isdigit() and int(p) != os.getpid()]


def _kill_all(pids: Sequence[int]) -> None:
    """SIGKILL ``pids`` (processes inside one of our namespaces) and wait until they are gone
    (bounded: a process in uninterruptible sleep may outlive the wait)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + KILL_WAIT_S
    for pid in pids:
        while _pid_alive(pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    break
            time.sleep(0.01)


def _delete(name: str) -> None:
    _kill_all(_ns_pids(name))
    r = _ip("netns", "del", name, check=False)
    if r.returncode != 0 and (NETNS_DIR / name).exists():
        log.warning("could not delete namespace %s: %s", name, r.stderr.strip())


def sweep_stale(tag: str = TAG) -> list[str]:
    """Delete the namespaces of ``tag`` left by processes that no longer exist; returns their
    names. Namespaces of live processes (other test runs) are left alone."""
    stale = []
    for path in NETNS_DIR.glob(f"{tag}*") if NETNS_DIR.is_dir() else ():
        m = re.fullmatch(rf"{tag}(\d+)n[0-9a-z]+", path.name)
        if m and not _pid_alive(int(m[1])):
            _delete(path.name)
            stale.append(path.name)
    if stale:
        log.warning("removed stale namespaces: %s", ", ".join(stale))
    return stale


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT/SIGTERM arriving during the block take effect when it is done (clean-up is not
    cut short by a KeyboardInterrupt). Python handles signals in the main thread only; in
    any other thread this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    saved = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(sig)
        if handler is not None:  # None: set outside Python, left alone
            saved[sig] = handler
            signal.signal(sig, lambda signum, _frame: got.append(signum))
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        if got:
            signal.raise_signal(got[0])


class Netns:
    """One network namespace (see the module docstring)."""

    def __init__(self, tag: str = TAG) -> None:
        self.tag = _check_tag(tag)
        self.name = f"{tag}{os.getpid()}n{_b36(next(_counter))}"
        self.path = NETNS_DIR / self.name
        self._procs: list[subprocess.Popen[Any]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._created = False

    def __repr__(self) -> str:
        return f"Netns({self.name!r})"

    # -- life cycle ---------------------------------------------------------------------------

    def open(self) -> Netns:
        with _lock:
            if self.tag not in _swept:
                _swept.add(self.tag)
                sweep_stale(self.tag)
            _open.add(self)
        with signals_held():
            try:
                _ip("netns", "add", self.name)
                self._created = True
                self.ip("link", "set", "lo", "up")
            except BaseException:
                self.close()
                raise
        return self

    def close(self) -> None:
        """Kill what runs inside, delete the namespace and its veths; idempotent."""
        with signals_held():
            for p in self._procs:
                if p.poll() is None:
                    p.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(KILL_WAIT_S)
            self._procs.clear()
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
            if self._created:
                _delete(self.name)
                self._created = False
            with _lock:
                _open.discard(self)

    def __enter__(self) -> Netns:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- links --------------------------------------------------------------------------------

    def ip(self, *args: str) -> str:
        """``ip -n <name> ARGS`` (raises with ip's message on failure); its stdout."""
        r = _ip("-n", self.name, *args, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"ip -n {self.name} {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def ifname(self, suffix: str) -> str:
        """A new interface name of this process (``<tag><pid><k><suffix>``)."""
        name = f"{self.tag}{os.getpid()}{_b36(next(_counter))}{suffix}"
        if len(name) > IFNAMSIZ:
            raise ValueError(f"interface name {name!r} is longer than {IFNAMSIZ} characters")
        return name

    def veth(self, peer: Netns | None = None, mtu: int | None = None) -> tuple[str, str]:
        """A veth pair, both ends up: the first end here, the second in ``peer`` (default:
        here too). No address is set; deleted with either namespace."""
        other = peer or self
        name = self.ifname("a")
        a, b = name, name[:-1] + "b"
        _ip("link", "add", a, "netns", self.name, "type", "veth", "peer", "name", b,
            "netns", other.name)  # fmt: skip
        for ns, dev in ((self, a), (other, b)):
            if mtu is not None:
                ns.ip("link", "set", dev, "mtu", str(mtu))
            ns.ip("link", "set", dev, "up")
        for ns, dev in ((self, a), (other, b)):
            ns.wait_up(dev)
        return a, b

    def wait_up(self, dev: str, timeout: float = 10.0) -> None:
        """Until the kernel reports ``dev`` operationally up (carrier on both veth ends)."""
        deadline = time.monotonic() + timeout
        while "state UP" not in self.ip("-o", "link", "show", dev):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{dev} in {self.name} did not come up in {timeout:.0f} s")
            time.sleep(0.02)

    # -- processes ----------------------------------------------------------------------------

    def command(self, cmd: Sequence[str]) -> list[str]:
        """``cmd`` prefixed to run inside (``ip netns exec <name>``)."""
        return ["ip", "netns", "exec", self.name, *cmd]

    def popen(self, cmd: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``cmd`` inside; it is killed at :meth:`close` if still running."""
        proc: subprocess.Popen[Any] = subprocess.Popen(self.command(cmd), **kwargs)
        self._procs.append(proc)
        return proc

    def run(self, cmd: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        """``subprocess.run`` of ``cmd`` inside."""
        return subprocess.run(self.command(cmd), **kwargs)

    # -- this process, inside -----------------------------------------------------------------

    @contextlib.contextmanager
    def entered(self) -> Iterator[Netns]:
        """The calling thread inside the namespace for the block (then back where it was)."""
        back = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            target = os.open(self.path, os.O_RDONLY)
            try:
                setns(target)
            finally:
                os.close(target)
            try:
                yield self
            finally:
                setns(back)
        finally:
            os.close(back)

    def _enter_worker(self) -> None:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            setns(fd)
        finally:
            os.close(fd)

    def call(self, fn: Callable[..., T], *args: Any, timeout: float = CALL_TIMEOUT_S) -> T:
        """``fn(*args)`` run by a worker thread that lives inside the namespace."""
        with _lock:
            if self._pool is None:
                if not self._created:
                    raise RuntimeError(f"namespace {self.name} is not open")
                self._pool = ThreadPoolExecutor(
                    max_workers=4, thread_name_prefix=self.name, initializer=self._enter_worker
                )
            pool = self._pool
        return pool.submit(fn, *args).result(timeout)


@atexit.register
def _close_all() -> None:
    for ns in list(_open):
        ns.close()
