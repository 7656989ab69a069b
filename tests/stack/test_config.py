"""Static checks of the container recipes (fast: no engine needed): every compose file
validates with both Compose implementations and keeps the stack's rules; Dockerfiles pass
hadolint; the Kubernetes manifests validate against the API schemas; entrypoints parse."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.stack.tools import REPO, compose_commands, compose_env

COMPOSE_FILES = {
    "stack": [REPO / "docker-compose.yml"],
    "central-db": [REPO / "docker-compose.yml", REPO / "deploy/remote-sensor/central-db.yml"],
    "remote-sensor": [REPO / "deploy/remote-sensor/docker-compose.yml"],
}
DOCKERFILES = sorted([*REPO.glob("services/*/Dockerfile"),
                      *REPO.glob("tests/stack/standins/*/Dockerfile")])  # fmt: skip
MANIFESTS = sorted(REPO.glob("deploy/k8s/*.yaml"))
SCRIPTS = sorted([*REPO.glob("services/*/*.sh"), *REPO.glob("deploy/k8s/*.sh"),
                  *REPO.glob("tests/stack/standins/*/*.sh")])  # fmt: skip
VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"


def tool(name: str) -> str:
    """On PATH, in the repository's .venv, or next to the running interpreter (a git worktree
    tested with another checkout's venv)."""
    found = (
        shutil.which(name)
        or shutil.which(name, path=str(VENV_BIN))
        or shutil.which(name, path=str(Path(sys.executable).parent))
    )
    assert found, f"{name} is not installed (make install puts it in .venv)"
    return found


@pytest.mark.parametrize("flavour", ["v2", "v1"])
@pytest.mark.parametrize("name", sorted(COMPOSE_FILES))
def test_compose_file_validates(name: str, flavour: str) -> None:
    compose = compose_commands().get(flavour)
    assert compose, f"Compose {flavour} is not installed"
    files = [a for f in COMPOSE_FILES[name] for a in ("-f", str(f))]
    env = compose_env({"CALLSIFT_DB_URL": "mysql://sensor_edge1:pw@db.example.net/callsift"})
    r = subprocess.run([*compose, *files, "--project-directory", str(REPO), "config"],
                       env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "services:" in r.stdout


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def test_the_stack_keeps_its_rules() -> None:
    services = load(REPO / "docker-compose.yml")["services"]
    assert "version" not in load(REPO / "docker-compose.yml")
    published = {name: s["ports"] for name, s in services.items()
                 if s.get("ports") and "profiles" not in s}  # fmt: skip
    assert published == {"gui": ["${CALLSIFT_GUI_BIND:-127.0.0.1}:${CALLSIFT_GUI_PORT:-8080}:8080"]}
    assert services["mirror"]["profiles"] == ["mirror"]
    sniffer = services["sniffer"]
    assert sniffer["network_mode"] == "host"
    assert (sniffer["cap_drop"], sorted(sniffer["cap_add"])) == (["ALL"], ["NET_ADMIN", "NET_RAW"])
    assert "spool:/var/spool/callsift" in sniffer["volumes"]
    assert "spool:/var/spool/callsift:ro" in services["api"]["volumes"]
    assert re.fullmatch(r"\$\{CALLSIFT_MARIADB_IMAGE:-mariadb:\d+\.\d+\.\d+\}",
                        services["db"]["image"])  # fmt: skip
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in ("sniffer", "api", "maintain"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }, name
    assert services["gui"]["depends_on"] == {"api": {"condition": "service_healthy"}}
    for name, s in services.items():
        if name not in ("db", "secrets"):
            assert "cap_add" not in s or name in ("sniffer",), name
            assert s.get("user") in (None, "0:0") or name == "secrets"


def test_no_password_is_written_anywhere() -> None:
    """Passwords are generated on first start; nothing ships one."""
    text = "\n".join(p.read_text() for p in [
        REPO / "docker-compose.yml", REPO / ".env.example", *MANIFESTS,
        *COMPOSE_FILES["remote-sensor"], REPO / "deploy/remote-sensor/central-db.yml",
    ])  # fmt: skip
    for m in re.finditer(r"(?im)^\s*[A-Z_]*(PASSWORD|SECRET_KEY)[A-Z_]*\s*[:=]\s*(\S+)", text):
        value = m.group(2)
        assert value.startswith(("${", "/", "''", '""')) or value in ("|",), m.group(0)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO)))
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    r = subprocess.run([tool("hadolint"), str(dockerfile)], capture_output=True, text=True,
                       timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr


def test_service_images_are_pinned_multi_stage_and_checked() -> None:
    for dockerfile in REPO.glob("services/*/Dockerfile"):
        text = dockerfile.read_text()
        bases = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
        assert len(bases) >= 3 and all(re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", b)
                                       for b in bases), (dockerfile, bases)  # fmt: skip
        final = text.rsplit("\nFROM ", 1)[1]
        assert "gcc" not in final and "-dev" not in final, dockerfile
        assert "HEALTHCHECK" in final and re.search(r"^USER \d+:\d+$", final, re.MULTILINE)


def test_hadolint_does_find_problems(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install gcc\n")
    r = subprocess.run([tool("hadolint"), str(bad)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "DL3007" in r.stdout


def test_kubernetes_manifests_validate() -> None:
    assert len(MANIFESTS) >= 8
    r = subprocess.run([tool("kubernetes-validate"), "--strict", *map(str, MANIFESTS)],
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    kinds = {d["kind"] for p in MANIFESTS for d in yaml.safe_load_all(p.read_text()) if d}
    assert {"DaemonSet", "Deployment", "Service", "StatefulSet", "CronJob", "Job"} <= kinds


def test_kubernetes_validate_does_find_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n"
                   "spec: {replicas: many}\n")  # fmt: skip
    r = subprocess.run([tool("kubernetes-validate"), "--strict", str(bad)],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode != 0


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_scripts_parse(script: Path) -> None:
    shell = "bash" if script.read_text().startswith("#!/bin/bash") else "sh"
    r = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
