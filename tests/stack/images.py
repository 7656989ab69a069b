"""What the image builds need on a machine that cannot pull images nor reach PyPI from inside
a build: stand-in base images made from Debian packages, tagged with the exact names the
Dockerfiles and the compose file use (only when no image of that name exists, so a real one
is never replaced), and a wheelhouse made on the host for services/wheelhouse/."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.stack.tools import REPO, cache_dir, cache_lock, run

STANDINS = Path(__file__).resolve().parent / "standins"
ROOTFS_IMAGE = "callsift-standin/debian:bookworm"
MIRROR = os.environ.get("CALLSIFT_DEBIAN_MIRROR", "http://deb.debian.org/debian")
_FROM = re.compile(r"^FROM\s+(\S+)", re.MULTILINE)
_DEFAULT = re.compile(r"^\$\{[A-Z0-9_]+:-(.+)\}$")


def base_images() -> dict[str, str]:
    """Base image name -> stand-in kind, read from services/*/Dockerfile and the compose file."""
    names: dict[str, str] = {}
    for dockerfile in sorted((REPO / "services").glob("*/Dockerfile")):
        for name in _FROM.findall(dockerfile.read_text()):
            if ":" in name and not name.startswith("callsift"):
                names[name] = "python"
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    db_image = compose["services"]["db"]["image"]
    m = _DEFAULT.match(db_image)
    names[m.group(1) if m else db_image] = "mariadb"
    return names


def image_exists(env: dict[str, str], name: str) -> bool:
    r = subprocess.run(["docker", "image", "inspect", name], env=env, capture_output=True,
                       timeout=60)  # fmt: skip
    return r.returncode == 0


def ensure_base_images(env: dict[str, str]) -> list[str]:
    """Build the stand-ins that are missing; returns the names built now."""
    built = []
    with cache_lock("images"):
        for name, kind in base_images().items():
            if image_exists(env, name):
                continue
            if not image_exists(env, ROOTFS_IMAGE):
                import_rootfs(env)
            run(["docker", "build", "--force-rm", "-q", "-t", name, str(STANDINS / kind)],
                env=env, timeout=1200)  # fmt: skip
            built.append(name)
    return built


def import_rootfs(env: dict[str, str]) -> None:
    """debootstrap (minbase, bookworm) once into a cached tarball, then ``docker import``."""
    tarball = cache_dir() / "bookworm-minbase.tar"
    if not tarball.exists():
        root = cache_dir() / "rootfs"
        shutil.rmtree(root, ignore_errors=True)
        run(["debootstrap", "--variant=minbase", "bookworm", str(root), MIRROR], timeout=1800)
        shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
        (root / "var/cache/apt/archives/partial").mkdir(parents=True)
        run(["tar", "-C", str(root), "-cf", str(tarball) + ".tmp", "."], timeout=600)
        os.replace(str(tarball) + ".tmp", tarball)
        shutil.rmtree(root, ignore_errors=True)
    with open(tarball, "rb") as f:
        r = subprocess.run(["docker", "import", "-", ROOTFS_IMAGE], stdin=f, env=env,
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    if r.returncode != 0:
        raise RuntimeError(f"docker import failed: {r.stderr}")


def mypy_requirement() -> str:
    """setup.py's ``MYPY_REQ``: the images compile the hot path, so their offline build
    environment needs mypy's wheels too."""
    m = re.search(r'^MYPY_REQ = "([^"]+)"$', (REPO / "setup.py").read_text(), re.M)
    if m is None:
        raise RuntimeError("setup.py has no MYPY_REQ")
    return m.group(1)


def fill_wheelhouse() -> list[Path]:
    """Wheels of every dependency (and the build backend) for Python 3.11, made on the host
    once per pyproject.toml and copied into services/wheelhouse/; returns the files copied
    (the caller removes them). The callsift wheel itself is built by the images."""
    mypy = mypy_requirement()
    key = hashlib.sha256((REPO / "pyproject.toml").read_bytes() + mypy.encode()).hexdigest()[:16]
    with cache_lock("wheelhouse"):
        house = cache_dir() / "wheelhouse" / key
        if not house.exists():
            tmp = house.with_suffix(".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(tmp),
                 str(REPO), "setuptools>=68", "wheel", mypy], timeout=1200)  # fmt: skip
            for own in tmp.glob("callsift-*.whl"):
                own.unlink()
            tmp.rename(house)
    target = REPO / "services" / "wheelhouse"
    copied = []
    for wheel in house.glob("*.whl"):
        dest = target / wheel.name
        if not dest.exists():
            shutil.copy2(wheel, dest)
            copied.append(dest)
    return copied
