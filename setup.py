"""The optional compiled hot path (docs/SENSOR.md "Compiled hot path"); everything else about
the distribution is in pyproject.toml.

``CALLSIFT_COMPILE`` chooses: ``auto`` (default) compiles sniffer.compiled.HOT_MODULES with
mypyc, and sniffer.compiled.NATIVE_MODULES from their C sources, when mypyc, a C compiler and
the Python headers are all here, and builds the pure wheel otherwise (a pip install in an
isolated build environment has no mypyc: pure, installs anywhere); ``1`` compiles or fails
(the isolated build environment gets mypy); ``0`` never. A failed compile in ``auto`` mode
falls back to pure Python with a warning.

``make compile`` builds in place (``setup.py build_ext --inplace``) and skips the whole build
when ``sniffer/_compiled.json`` says the extensions were built from the current sources.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import sysconfig
from pathlib import Path
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
MYPY_REQ = "mypy>=1.10"


def _hot() -> Any:
    """sniffer/compiled.py, loaded without importing the sniffer package."""
    spec = importlib.util.spec_from_file_location("_callsift_hot", ROOT / "sniffer/compiled.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


HOT = _hot()
MODE = os.environ.get("CALLSIFT_COMPILE", "auto").strip().lower() or "auto"
if MODE not in ("auto", "0", "1"):
    sys.exit(f"CALLSIFT_COMPILE={MODE!r}: expected auto, 0 or 1")


def _say(msg: str) -> None:
    print(f"callsift build: {msg}", file=sys.stderr)


def _no_toolchain() -> str | None:
    """Why a C extension cannot be built here, or None."""
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    cc = os.environ.get("CC", cc).split()[0]
    if shutil.which(cc) is None:
        return f"no C compiler ({cc})"
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").is_file():
        return "no Python headers (Python.h)"
    return None


def _metadata_only() -> bool:
    """A PEP 517 front end asking for the build's requirements (``egg_info``/``dist_info``),
    before it installs them, mypy included."""
    return any(arg in ("egg_info", "dist_info") for arg in sys.argv[1:])


def _ext_modules() -> list[Any]:
    if MODE == "0":
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        if MODE == "1" and not _metadata_only():
            sys.exit(f"CALLSIFT_COMPILE=1 needs mypyc ({MYPY_REQ}) in the build environment")
        return []  # asked for the build's requirements: setup_requires brings mypy
    why = _no_toolchain()
    if why is not None:
        if MODE == "1":
            sys.exit(f"CALLSIFT_COMPILE=1 but {why}")
        _say(f"{why}: building the pure-Python hot path")
        return []
    paths = [str(HOT.source_path(m, ROOT / "sniffer").relative_to(ROOT)) for m in HOT.HOT_MODULES]
    cache = ROOT / "build" / "mypyc-cache"
    result: list[Any] = mypycify(
        [f"--cache-dir={cache}", *paths],
        opt_level="3",
        group_name=HOT.GROUP,
        target_dir=str(ROOT / "build" / "mypyc-c"),
    )
    native = [
        Extension(
            m,
            [str(HOT.native_source(m, ROOT / "sniffer").relative_to(ROOT))],
            depends=[str(h.relative_to(ROOT)) for h in HOT.native_headers(m, ROOT / "sniffer")],
            extra_compile_args=["-O2"],
        )
        for m in HOT.NATIVE_MODULES
    ]
    return result + native


class BuildExt(build_ext):
    """Optional extensions: in ``auto`` mode a failed compile leaves the pure modules; a
    successful one writes the manifest of the sources it compiled."""

    def run(self) -> None:
        if not self.extensions:
            return
        if self.inplace:  # no extension of an earlier module set may shadow a .py file
            for old in (ROOT / "sniffer").rglob("*.so"):
                old.unlink()
            (ROOT / "sniffer" / HOT.MANIFEST).unlink(missing_ok=True)
        try:
            super().run()
        except Exception as exc:  # CompileError, a linker failure...
            if MODE == "1":
                raise
            _say(f"compiling failed ({exc}): the pure-Python hot path is used")
            return
        out = ROOT / "sniffer" if self.inplace else Path(self.build_lib) / "sniffer"
        out.mkdir(parents=True, exist_ok=True)
        (out / HOT.MANIFEST).write_text(
            json.dumps({"sources": HOT.source_hashes(ROOT / "sniffer"), "mypyc": _mypyc_version()})
        )


def _mypyc_version() -> str:
    try:
        from mypy.version import __version__

        return str(__version__)
    except ImportError:
        return "?"


def _up_to_date() -> bool:
    """An in-place build whose manifest matches the sources (``make compile`` twice)."""
    if "--inplace" not in sys.argv and "-i" not in sys.argv:
        return False
    return HOT.why_not_compiled() is None


if _up_to_date():
    _say("compiled hot path up to date")
    EXT: list[Any] = []
else:
    EXT = _ext_modules()

setup(
    ext_modules=EXT,
    cmdclass={"build_ext": BuildExt},
    setup_requires=[MYPY_REQ] if MODE == "1" else [],
)
