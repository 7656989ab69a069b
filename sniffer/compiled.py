"""Which implementation of the packet hot path runs: the mypyc-compiled modules or the
pure-Python ones (the reference, always shipped; docs/SENSOR.md "Compiled hot path").

``setup.py`` compiles :data:`HOT_MODULES` into one mypyc group (``sniffer._hot__mypyc`` plus
one small extension per module, next to each ``.py``) and writes :data:`MANIFEST`: the SHA-256
of every compiled source. :func:`select` runs when the ``sniffer`` package is imported, before
any hot module is: it keeps the compiled modules only when every one is present and built from
the sources beside it, so a stale build never shadows edited code; otherwise (or when asked)
a finder makes ``import`` load the ``.py`` files. It is all or nothing: a compiled module calls
its group's other modules natively, so the two kinds are never mixed.

``CALLSIFT_IMPL`` (read at import, before any settings exist): ``auto`` (default) compiled
when usable, else pure; ``pure`` always the ``.py`` modules; ``compiled`` the compiled ones or
an ImportError saying why (``make test`` sets it for its compiled pass, so that pass cannot
silently test the pure modules).
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import logging
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

HOT_MODULES = (
    "sniffer.seq",
    "sniffer.rtp.hotfields",
    "sniffer.rtp.burst",
    "sniffer.rtp.stats",
    "sniffer.calls.media",
    "sniffer.flows",
    "sniffer.flowtable",
    "sniffer.media_path",
    "sniffer.spool.callpcap",
    "sniffer.sip.headers",
    "sniffer.sip.nameaddr",
    "sniffer.sip.sdp",
    "sniffer.sip.message",
    "sniffer.analyzer",
    "sniffer.workers.worker",
)
"""The modules compiled together (setup.py reads this tuple): the packet loop and what it
calls per packet (the per-call pcap buffer included), and the worker's analyzer (an interpreted subclass of a compiled class would
not see its overrides called from compiled code). Their imports outside this set stay
interpreted and are called through the ordinary Python protocol."""
NATIVE_MODULES = ("sniffer._flowindex",)
"""C extensions built and selected with the hot modules, each from the ``.c`` file beside its
stub (:mod:`sniffer.rtpindex`): the pure build does without them."""
BUILT_MODULES = HOT_MODULES + NATIVE_MODULES
GROUP = "sniffer._hot"
"""mypyc group name: the shared library is ``sniffer/_hot__mypyc.<abi>.so``."""
MANIFEST = "_compiled.json"
"""Written by the build next to this file: ``{"sources": {module: sha256}, "mypyc": version}``."""
ENV = "CALLSIFT_IMPL"
COMPILED = "compiled (mypyc)"
PURE = "pure Python"

log = logging.getLogger(__name__)

_ROOT = Path(__file__).resolve().parent
_state: dict[str, str] = {}


def source_path(module: str, root: Path = _ROOT) -> Path:
    """``sniffer.rtp.stats`` -> ``<root>/rtp/stats.py`` (``root`` is the package directory)."""
    return root.joinpath(*module.split(".")[1:]).with_suffix(".py")


def native_source(module: str, root: Path = _ROOT) -> Path:
    """``sniffer._flowindex`` -> ``<root>/_flowindex.c``."""
    return source_path(module, root).with_suffix(".c")


def native_headers(module: str, root: Path = _ROOT) -> list[Path]:
    """The headers a native module's ``.c`` includes: ``<stem>_*.h`` beside it, sorted."""
    c = native_source(module, root)
    return sorted(c.parent.glob(f"{c.stem}_*.h"))


def source_hashes(root: Path = _ROOT) -> dict[str, str]:
    """SHA-256 of each built module's source: a hot module's ``.py``; a native one's ``.c``,
    then each of its headers' name and text."""
    out = {m: hashlib.sha256(source_path(m, root).read_bytes()).hexdigest() for m in HOT_MODULES}
    for m in NATIVE_MODULES:
        h = hashlib.sha256(native_source(m, root).read_bytes())
        for header in native_headers(m, root):
            h.update(header.name.encode() + b"\0" + header.read_bytes())
        out[m] = h.hexdigest()
    return out


def _extension(module: str, root: Path) -> Path | None:
    base = source_path(module, root).with_suffix("")
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        p = base.with_name(base.name + suffix)
        if p.is_file():
            return p
    return None


def why_not_compiled(root: Path = _ROOT) -> str | None:
    """None when the compiled modules are present and built from these sources."""
    missing = [m for m in BUILT_MODULES if _extension(m, root) is None]
    if len(missing) == len(BUILT_MODULES):
        return "not built"
    if missing:
        return f"partly built (no extension for {', '.join(missing)})"
    try:
        built = json.loads((root / MANIFEST).read_text())["sources"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"no readable {MANIFEST} beside the extensions"
    stale = [m for m, h in source_hashes(root).items() if built.get(m) != h]
    if stale:
        return f"stale (edited since the build: {', '.join(stale)}; make compile)"
    return None


class _PureFinder:
    """Finds the hot modules as their ``.py`` files, ahead of the extensions beside them."""

    @staticmethod
    def find_spec(
        name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name not in HOT_MODULES:
            return None
        return importlib.util.spec_from_file_location(name, source_path(name))


def select() -> str:
    """Decide once per process (see the module docstring); returns :func:`implementation`."""
    if _state:
        return _state["impl"]
    want = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if want not in ("auto", "pure", "compiled"):
        raise ImportError(f"{ENV}={want!r}: expected auto, pure or compiled")
    why = f"{ENV}=pure" if want == "pure" else why_not_compiled()
    if why is not None and want == "compiled":
        raise ImportError(f"{ENV}=compiled but the compiled hot path is {why}")
    if why is not None and why.startswith(("stale", "partly", "no readable")):
        log.warning("compiled hot path not used, %s: running the pure-Python modules", why)
    if why is not None:
        loaded = [m for m in HOT_MODULES if m in sys.modules]
        if loaded:  # cannot happen through ``import sniffer``; say so rather than mix kinds
            raise ImportError(f"hot modules imported before sniffer: {', '.join(loaded)}")
        sys.meta_path.insert(0, _PureFinder())
    _state["impl"] = PURE if why is not None else COMPILED
    _state["reason"] = why or ""
    return _state["impl"]


def implementation() -> str:
    """``compiled (mypyc)`` or ``pure Python``: what this process runs."""
    return select()


def describe() -> str:
    """:func:`implementation`, with the reason the compiled modules are not used if any."""
    impl = select()
    reason = _state["reason"]
    return f"{impl} ({reason})" if reason and reason != "not built" else impl
