"""The compiled hot path is optional and all or nothing (sniffer/compiled.py): which one runs is
what ``callsift --version`` says, a stale or partial build is never used, and the hot modules
stay compilable by mypyc. ``make test`` runs the sensor's tests in both modes
(``CALLSIFT_IMPL=compiled`` then ``pure``); these tests check each pass runs what it says."""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sniffer import compiled
from sniffer.calls.media import CallStream, PayloadMap
from sniffer.compiled import (
    BUILT_MODULES,
    COMPILED,
    ENV,
    HOT_MODULES,
    MANIFEST,
    NATIVE_MODULES,
    PURE,
    native_headers,
    native_source,
    source_path,
)
from sniffer.flows import RTP
from sniffer.flowtable import FlowTable
from sniffer.version import callsift_version, implementation
from tests.pcapgen import Call, encapsulate
from tests.sniffer.e2e import new_analyzer

ROOT = Path(__file__).resolve().parents[2]
SO = importlib.machinery.EXTENSION_SUFFIXES[0]


def _run(*args: str, impl: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    if impl is not None:
        env[ENV] = impl
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_this_process_runs_what_it_was_asked_for() -> None:
    """Under ``make test`` each pass sets CALLSIFT_IMPL: it runs that implementation, every
    hot module of the same kind (extension modules or .py files)."""
    impl = implementation()
    wanted = os.environ.get(ENV, "auto")
    if wanted == "compiled":
        assert impl == COMPILED
    elif wanted == "pure":
        assert impl == PURE
    kinds = set()
    for name in HOT_MODULES:
        path = str(importlib.import_module(name).__file__)
        kinds.add(path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)))
    assert kinds == {impl == COMPILED}
    index = FlowTable(1).rtp  # the C index goes with the compiled modules, the dict with pure
    assert type(index).__name__ == ("FlowIndex" if impl == COMPILED else "dict")


def test_version_says_which_implementation() -> None:
    r = _run("-m", "sniffer.cli.main", "--version", impl="pure")
    assert (r.returncode, r.stdout.strip()) == (
        0,
        f"callsift {callsift_version()} ({PURE} ({ENV}=pure))",
    )
    r = _run("-m", "sniffer.cli.main", "--version", impl=None)
    expect = COMPILED if compiled.why_not_compiled() is None else PURE
    assert r.returncode == 0 and f"({expect}" in r.stdout, r.stdout + r.stderr


def test_pure_is_pure_in_a_fresh_process() -> None:
    code = "import sniffer.analyzer as a, sniffer.rtp.stats as s; print(a.__file__, s.__file__)"
    r = _run("-c", code, impl="pure")
    assert r.returncode == 0, r.stderr
    assert [Path(p).suffix for p in r.stdout.split()] == [".py", ".py"]


def test_a_bad_choice_fails_loudly() -> None:
    r = _run("-c", "import sniffer", impl="fast")
    assert r.returncode != 0 and "CALLSIFT_IMPL='fast': expected auto, pure or compiled" in r.stderr


def _fake_tree(tmp_path: Path) -> Path:
    """The hot modules' sources copied under tmp_path/sniffer (no extension yet)."""
    root = tmp_path / "sniffer"
    for m in HOT_MODULES:
        dst = source_path(m, root)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(source_path(m).read_bytes())
    for m in NATIVE_MODULES:
        native_source(m, root).write_bytes(native_source(m).read_bytes())
        for header in native_headers(m):
            (root / header.name).write_bytes(header.read_bytes())
    return root


def test_a_stale_or_partial_build_is_not_used(tmp_path: Path) -> None:
    root = _fake_tree(tmp_path)
    assert compiled.why_not_compiled(root) == "not built"
    for m in HOT_MODULES:
        source_path(m, root).with_suffix(SO).write_bytes(b"")
    assert compiled.why_not_compiled(root) == "partly built (no extension for sniffer._flowindex)"
    source_path(NATIVE_MODULES[0], root).with_suffix(SO).write_bytes(b"")
    assert compiled.why_not_compiled(root) == f"no readable {MANIFEST} beside the extensions"
    (root / MANIFEST).write_text(json.dumps({"sources": compiled.source_hashes(root)}))
    assert compiled.why_not_compiled(root) is None
    edited = source_path("sniffer.rtp.stats", root)
    edited.write_text(edited.read_text() + "\n# edited\n")
    why = compiled.why_not_compiled(root)
    assert why == "stale (edited since the build: sniffer.rtp.stats; make compile)"
    edited.write_text(edited.read_text().removesuffix("\n# edited\n"))
    stale_c = "stale (edited since the build: sniffer._flowindex; make compile)"
    c = native_source("sniffer._flowindex", root)
    c.write_text(c.read_text() + "\n/* edited */\n")
    assert compiled.why_not_compiled(root) == stale_c
    c.write_text(c.read_text().removesuffix("\n/* edited */\n"))
    assert compiled.why_not_compiled(root) is None
    (header,) = native_headers("sniffer._flowindex", root)
    header.write_text(header.read_text() + "\n/* edited */\n")
    assert compiled.why_not_compiled(root) == stale_c
    header.write_text(header.read_text().removesuffix("\n/* edited */\n"))
    assert compiled.why_not_compiled(root) is None
    header.rename(header.with_name("_flowindex_other.h"))  # the same text under another name
    assert compiled.why_not_compiled(root) == stale_c


def test_setup_compiles_the_listed_modules() -> None:
    """setup.py reads the module list from sniffer/compiled.py; every listed module exists."""
    for m in HOT_MODULES:
        assert source_path(m).is_file(), m
    for m in NATIVE_MODULES:
        assert native_source(m).is_file() and source_path(m).with_suffix(".pyi").is_file(), m
        included = re.findall(r'#include "([^"]+)"', native_source(m).read_text())
        assert included == [h.name for h in native_headers(m)], m
    setup = (ROOT / "setup.py").read_text()
    assert "HOT.HOT_MODULES" in setup and "HOT.NATIVE_MODULES" in setup
    assert len(BUILT_MODULES) == len(HOT_MODULES) + len(NATIVE_MODULES)


@pytest.mark.parametrize("module", HOT_MODULES)
def test_no_raise_from_in_a_hot_module(module: str) -> None:
    """mypyc ignores the ``from`` of ``raise X from Y`` (no ``__cause__``, the context not
    suppressed): such raises belong in an interpreted module (sniffer/faults.py has the
    analyzer's)."""
    tree = ast.parse(source_path(module).read_text())
    raises = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Raise) and n.cause]
    assert raises == []


def test_a_stream_survives_pickling() -> None:
    """``--workers`` sends a call's streams to the parent pickled: the compiled classes are
    made again through their ``__init__`` (``__reduce__``) and keep every figure."""
    pm = PayloadMap({0: "PCMU", 101: "TELEPHONE-EVENT"}, {0: 8000, 101: 8000}, frozenset({101}))
    s = CallStream(b"\x0a\0\0\1", 4000, b"\x0a\0\0\2", 4002, 0x1234, "caller", pm, None)
    for i in (0, 1, 2, 4, 3, 5, 5, 9):
        s.stats.add(i, i * 160, 1.0 + i * 0.021, 0)
    t = pickle.loads(pickle.dumps(s))
    assert type(t) is CallStream and t.payloads == pm and t.ssrc == 0x1234
    got, want = t.stats, s.stats
    assert (got.packets, got.lost, got.duplicates, got.out_of_order, got.jitter_ms) == (
        want.packets, want.lost, want.duplicates, want.out_of_order, want.jitter_ms
    )  # fmt: skip
    assert (got.max_delta_ms, got.mean_jitter_ms, got.burst_ratio) == (
        want.max_delta_ms, want.mean_jitter_ms, want.burst_ratio
    )  # fmt: skip
    t.stats.add(10, 1600, 1.3, 0)  # and goes on counting
    assert t.stats.packets == want.packets + 1


def test_each_indexed_flow_hints_its_current_statistics() -> None:
    """The C index prefetches a flow's statistics with the flow: the hint is set when a
    stream is selected and follows an SSRC change; the pure build's dict has no hint."""
    scen = Call(talk_s=2.0).build()
    linktype, frames = encapsulate(scen.packets)
    bye = next(ts for ts, m in scen.calls[0].sip if m == "BYE")
    run = new_analyzer(linktype)
    a = run.analyzer
    a.feed([(ts, f) for ts, f in frames if ts < bye - 1.0])
    index = a.flowtable.rtp
    flows = [f for f in a.flowtable.flows.values() if f.kind == RTP]
    assert len(flows) == 2 and all(f.key in index for f in flows)
    old = flows[0].stats
    # the same flow's next packets from another SSRC: a new stream, selected
    later = [(ts, f) for ts, f in frames if bye - 1.0 <= ts < bye and f[26:38] == flows[0].key]
    a.feed([(ts, f[:50] + b"\x01\x02\x03\x04" + f[54:]) for ts, f in later])
    assert flows[0].stats is not old and flows[0].ssrc == 0x01020304
    for f in flows:
        assert f.stream is not None and f.stats is f.stream.stats
        if implementation() == COMPILED:
            assert index.hint_address(f.key) == id(f.stats)  # type: ignore[union-attr]
        else:
            assert isinstance(index, dict)
