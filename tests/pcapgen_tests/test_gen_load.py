"""bench/gen_load.py: a small load capture whose truth tshark confirms stream by stream."""

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.pcapgen.reader import read_capture, tshark, tshark_rtp_streams

GEN = Path(__file__).resolve().parents[2] / "bench" / "gen_load.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_load", GEN)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_small_load_matches_tshark(tmp_path: Path) -> None:
    out = tmp_path / "load.pcap"
    args = [str(out), "--calls", "12", "--concurrent", "12", "--packets", "12000", "--seed", "7"]
    assert load().main(args) == 0
    truth = json.loads(Path(str(out) + ".truth.json").read_text())
    s, calls = truth["summary"], truth["calls"]
    cap = read_capture(out)
    assert s["packets"] == len(cap.frames) >= 12000 and s["calls"] == len(calls) == 12
    assert s["peak_concurrent_calls"] >= 11
    times = [t for t, _ in cap.frames]
    assert times == sorted(times)
    assert all(len(x) == 214 for x in [f for _, f in cap.frames if f[23] == 17 and len(f) == 214])
    stat = tshark(out, "-q", "-z", "sip,stat")
    assert f"Number of SIP messages: {7 * 12}\n" in stat
    rows = {(r.src, r.sport, r.ssrc): r for r in tshark_rtp_streams(out)}
    streams = [st for c in calls for st in c["streams"]]
    assert len(rows) == len(streams) == 24
    assert sum(st["lost"] for st in streams) > 0
    for st in streams:
        row = rows[(st["src_ip"], st["src_port"], st["ssrc"])]
        assert (row.packets, row.lost) == (st["packets"], st["lost"])
        assert row.payload == {"PCMU": "g711U", "PCMA": "g711A"}[st["codec"]]
        assert row.max_jitter_ms == pytest.approx(st["max_jitter_ms"], abs=0.002)
        assert row.mean_jitter_ms == pytest.approx(st["mean_jitter_ms"], abs=0.002)
    ports = [st["src_port"] for st in streams]
    assert len(set(ports)) == len(ports)
