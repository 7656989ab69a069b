"""One compose project of the stack under test: its own project name (never another stack's
containers or volumes), commands through Compose v2 or v1, SQL through the db container, and
waiting for states with deadlines that name what did not happen."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable
from typing import Any, TypeVar

from tests.stack.tools import REPO

T = TypeVar("T")


class Stack:
    def __init__(self, compose: list[str], project: str, env: dict[str, str]) -> None:
        self.compose = compose
        self.project = project
        self.env = env

    def cmd(self, *args: str) -> list[str]:
        return [*self.compose, "--project-name", self.project, *args]

    def run(self, *args: str, timeout: float = 900, check: bool = True,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
        r = subprocess.run(self.cmd(*args), cwd=REPO, env=self.env, capture_output=True,
                           text=True, timeout=timeout, input=stdin)  # fmt: skip
        if check and r.returncode != 0:
            raise AssertionError(
                f"{' '.join(self.cmd(*args))} exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
            )
        return r

    def docker(self, *args: str, timeout: float = 120) -> str:
        r = subprocess.run(["docker", *args], env=self.env, capture_output=True, text=True,
                           timeout=timeout)  # fmt: skip
        if r.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)}: {r.stderr}")
        return r.stdout

    # -- state ---------------------------------------------------------------------------

    def containers(self, service: str | None = None, *, running_only: bool = True) -> list[str]:
        args = ["ps", "-q", "--filter", f"label=com.docker.compose.project={self.project}"]
        if not running_only:
            args.insert(1, "-a")
        if service:
            args += ["--filter", f"label=com.docker.compose.service={service}"]
        return self.docker(*args).split()

    def inspect(self, container: str) -> dict[str, Any]:
        data: list[dict[str, Any]] = json.loads(self.docker("inspect", container))
        return data[0]

    def health(self, service: str) -> list[str]:
        """Health (or state, when the container has no healthcheck) of each container."""
        out = []
        for c in self.containers(service, running_only=False):
            state = self.inspect(c)["State"]
            out.append(state.get("Health", {}).get("Status") or state["Status"])
        return out

    def logs(self, service: str) -> str:
        r = self.run("logs", "--no-color", service, check=False)
        return r.stdout + r.stderr

    def sql(self, statement: str) -> list[list[str]]:
        """Rows of one statement, run as root inside the db container (tab-separated)."""
        script = (
            'mariadb -uroot -p"$(cat /var/lib/callsift/secrets/db/root-password)" '
            f"-N -B callsift -e {_sh_quote(statement)}"
        )
        r = self.run("exec", "-T", "db", "sh", "-c", script)
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def exec_py(self, service: str, code: str, *args: str) -> str:
        """Run Python code in a running service's container (as its user)."""
        return self.run("exec", "-T", service, "python", "-c", code, *args).stdout

    def describe(self) -> str:
        """What a failed wait shows: the project's containers and their last log lines."""
        r = self.run("ps", check=False)
        tail = self.run("logs", "--no-color", "--tail", "30", check=False)
        return f"{r.stdout}\n{tail.stdout[-6000:]}"


def wait_for(what: str, probe: Callable[[], T | None], timeout: float,
             on_fail: Callable[[], str] | None = None, every: float = 1.0) -> T:  # fmt: skip
    """Poll ``probe`` until it returns something truthy; AssertionError naming ``what``."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    detail = on_fail() if on_fail else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})"
                         f"\n{detail}")  # fmt: skip


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


BANNER = re.compile(r"user:\s+(\S+)\s+.*?password:\s+(\S+)", re.DOTALL)


def first_admin(migrate_logs: str) -> tuple[str, str]:
    """The first administrator's name and password, as the README says to read them."""
    m = BANNER.search(migrate_logs)
    assert m, f"no first-administrator banner in the migrate logs:\n{migrate_logs}"
    return m.group(1), m.group(2)
