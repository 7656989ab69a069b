"""The wheel the containers install holds every file the packages read at run time (the
migrations, the GUI's templates and static files), not only the Python modules."""

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

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
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert wanted - names == set()


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
