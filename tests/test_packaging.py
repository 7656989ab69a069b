"""The wheel the containers install holds every file the packages read at run time (the
migrations, the GUI's templates and static files), not only the Python modules."""

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from sniffer.compiled import BUILT_MODULES, COMPILED, ENV, GROUP, MANIFEST, PURE

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sniffer", "api", "gui", "db")


@pytest.mark.slow
def test_wheel_holds_every_package_file(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True, timeout=600,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("callsift-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {
        p.relative_to(ROOT).as_posix()
        for pkg in PACKAGES
        for p in (ROOT / pkg).rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and p.suffix not in (".pyc", ".so")
        and p.name != MANIFEST  # the in-place compiled hot path (make compile): build products
    }
    assert wanted - names == set()


def _tracked_copy(dst: Path) -> Path:
    """The tracked files of the source tree (no in-place build products, no build/ dir)."""
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, files):
        src = ROOT / name.decode()
        if src.is_file() and not src.is_symlink():
            (dst / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / name.decode())
    return dst


def _wheel(tmp_path: Path, **env: str) -> tuple[Path, set[str]]:
    src = _tracked_copy(tmp_path / "src")
    out = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(src)],
        check=True, timeout=900, env={**os.environ, **env},
    )  # fmt: skip
    (wheel,) = out.glob("callsift-*.whl")
    return wheel, set(zipfile.ZipFile(wheel).namelist())


def _installed_version(tmp_path: Path, wheel: Path, impl: str = "auto") -> str:
    """``callsift --version`` of the wheel installed alone in a directory of its own (the
    dependencies come from this environment)."""
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
         str(wheel)],
        check=True, timeout=300,
    )  # fmt: skip
    r = subprocess.run(
        [sys.executable, "-c", "import sys; from sniffer.cli.main import main; sys.exit(main())",
         "--version"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(site), ENV: impl},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.mark.slow
def test_without_a_c_compiler_the_wheel_is_pure_and_installs(tmp_path: Path) -> None:
    """mypyc is here but no compiler: ``auto`` builds the pure wheel (no error), which
    installs and says so."""
    wheel, names = _wheel(tmp_path, CALLSIFT_COMPILE="auto", CC="/nonexistent/cc")
    assert not [n for n in names if n.endswith(".so") or n.endswith(MANIFEST)]
    assert _installed_version(tmp_path, wheel).endswith(f"({PURE})")


@pytest.mark.slow
def test_the_compiled_wheel_holds_the_hot_modules(tmp_path: Path) -> None:
    wheel, names = _wheel(tmp_path, CALLSIFT_COMPILE="1")
    so = {n.split(".")[0].replace("/", ".") for n in names if n.endswith(".so")}
    assert so == {*BUILT_MODULES, GROUP + "__mypyc"}
    assert f"sniffer/{MANIFEST}" in names
    assert _installed_version(tmp_path, wheel).endswith(f"({COMPILED})")
    assert _installed_version(tmp_path, wheel, "pure").endswith(f"({PURE} ({ENV}=pure))")


def _requirement_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {
        re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].lower().replace("_", "-")
        for req in project["dependencies"]
    }


def _imported_top_levels() -> set[str]:
    names: set[str] = set()
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - set(PACKAGES)


def test_every_runtime_import_is_a_declared_dependency() -> None:
    """A module the packages import at run time comes from a distribution in
    ``[project] dependencies`` (a dev-only one is missing from the container images)."""
    dists = importlib.metadata.packages_distributions()
    declared = _requirement_names()
    missing = {
        name: dists.get(name, ["?"])
        for name in _imported_top_levels()
        if not {d.lower().replace("_", "-") for d in dists.get(name, [])} & declared
    }
    assert missing == {}
