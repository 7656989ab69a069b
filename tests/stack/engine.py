"""A Docker engine for the stack tests: the one answering already (``DOCKER_HOST`` or the
default socket), else a ``dockerd`` started here with its own data root in the cache (so the
next run finds its images) and its own sockets, stopped again at the end."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests.stack.tools import cache_dir, cache_lock

RUN_DIR = Path("/run/callsift-stack")
SOCKET = RUN_DIR / "docker.sock"
START_TIMEOUT_S = 120.0


def answers(host: str | None) -> bool:
    env = dict(os.environ)
    if host:
        env["DOCKER_HOST"] = host
    else:
        env.pop("DOCKER_HOST", None)
    try:
        r = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], env=env,
                           capture_output=True, text=True, timeout=20)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and bool(r.stdout.strip())


def _forward_state() -> tuple[str, str | None]:
    """``net.ipv4.ip_forward`` and the iptables FORWARD policy, which dockerd changes (to 1
    and DROP) when it starts: restored when it stops, so that nothing else on the machine
    (other tests forwarding between namespaces) sees a difference."""
    forward = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()
    try:
        rules = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True,
                               timeout=30).stdout  # fmt: skip
    except OSError:
        return forward, None
    policy = next((line.split()[2] for line in rules.splitlines()
                   if line.startswith("-P FORWARD ")), None)  # fmt: skip
    return forward, policy


def _restore_forward_state(state: tuple[str, str | None]) -> None:
    forward, policy = state
    Path("/proc/sys/net/ipv4/ip_forward").write_text(forward + "\n")
    if policy is not None:
        subprocess.run(["iptables", "-P", "FORWARD", policy], capture_output=True, timeout=30)


@contextlib.contextmanager
def docker_engine() -> Iterator[str]:
    """Yields the DOCKER_HOST to use; stops the daemon if this started it."""
    given = os.environ.get("DOCKER_HOST")
    if answers(given):
        yield given or "unix:///var/run/docker.sock"
        return
    host = f"unix://{SOCKET}"
    with cache_lock("dockerd"):
        if answers(host):  # a daemon of an earlier run that was not stopped
            yield host
            return
        RUN_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        before = _forward_state()
        log = open(cache_dir() / "dockerd.log", "ab")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            ["dockerd", "--data-root", str(cache_dir() / "docker"),
             "--exec-root", str(RUN_DIR / "exec"), "--pidfile", str(RUN_DIR / "docker.pid"),
             "-H", host, "--storage-driver", "overlay2"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not answers(host):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"dockerd did not start (see {cache_dir() / 'dockerd.log'})")
                time.sleep(0.5)
            yield host
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
            log.close()
            _restore_forward_state(before)
