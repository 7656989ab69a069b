"""pcap / pcapng writers: round trips through dpkt, our reader and tshark."""

import gzip
import tempfile
from pathlib import Path

import dpkt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hypo import examples
from tests.pcapgen.frames import LINKTYPE_LINUX_SLL, LINKTYPE_RAW
from tests.pcapgen.reader import read_capture, tshark
from tests.pcapgen.writer import write_pcap, write_pcapng

FRAMES = [(1_700_000_000.000001, b"\x45" + b"a" * 40), (1_700_000_000.5, b"\x45" + b"b" * 300)]


def test_pcap_us_round_trip(tmp_path: Path) -> None:
    p = tmp_path / "a.pcap"
    assert write_pcap(p, LINKTYPE_RAW, FRAMES) == 2
    with p.open("rb") as fh:
        r = dpkt.pcap.Reader(fh)
        assert r.datalink() == LINKTYPE_RAW
        got = list(r)
    assert [d for _, d in got] == [d for _, d in FRAMES]
    assert got[0][0] == pytest.approx(FRAMES[0][0], abs=1e-7)
    cap = read_capture(p)
    assert cap.linktype == LINKTYPE_RAW and cap.frames[1][1] == FRAMES[1][1]


def test_pcap_ns_and_gzip(tmp_path: Path) -> None:
    p = tmp_path / "a.pcap.gz"
    write_pcap(p, LINKTYPE_LINUX_SLL, [(1000.000000123, b"x" * 20)], nanosecond=True, gzip=True)
    raw = gzip.decompress(p.read_bytes())
    assert raw[:4] == bytes.fromhex("4d3cb2a1")
    cap = read_capture(p)
    assert cap.frames[0][0] == pytest.approx(1000.000000123, abs=1e-9)


def test_pcap_snaplen_truncates(tmp_path: Path) -> None:
    p = tmp_path / "s.pcap"
    write_pcap(p, LINKTYPE_RAW, [(1.0, b"\x45" + b"z" * 199)], snaplen=64)
    raw = p.read_bytes()
    assert raw[24 + 8 : 24 + 16] == (64).to_bytes(4, "little") + (200).to_bytes(4, "little")
    assert len(raw) == 24 + 16 + 64


@pytest.mark.parametrize("res", ["us", "ns"])
def test_pcapng_round_trip(tmp_path: Path, res: str) -> None:
    p = tmp_path / "a.pcapng"
    assert write_pcapng(p, LINKTYPE_RAW, FRAMES, ts_resolution=res) == 2  # type: ignore[arg-type]
    with p.open("rb") as fh:
        r = dpkt.pcapng.Reader(fh)
        got = list(r)
    assert [d for _, d in got] == [d for _, d in FRAMES]
    assert got[1][0] == pytest.approx(FRAMES[1][0], abs=1e-6)
    assert read_capture(p).frames[0][0] == pytest.approx(FRAMES[0][0], abs=1e-6)
    out = tshark(p, "-T", "fields", "-e", "frame.time_epoch")
    assert [float(x) for x in out.split()] == pytest.approx([t for t, _ in FRAMES], abs=1e-6)


def test_pcapng_rejects_bad_resolution(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ts_resolution must be 'us' or 'ns', got 'ms'"):
        write_pcapng(tmp_path / "x", LINKTYPE_RAW, [], ts_resolution="ms")  # type: ignore[arg-type]


@given(
    st.sampled_from([b"", b"\x1f\x8b", b"\x0a\x0d\x0d\x0a", b"\xd4\xc3\xb2\xa1"]),
    st.binary(max_size=80),
)
@settings(max_examples=examples(300))
def test_read_capture_raises_only_value_error(prefix: bytes, data: bytes) -> None:
    data = prefix + data
    path = Path(tempfile.mkdtemp()) / "x.pcap"
    path.write_bytes(data)
    try:
        read_capture(path)
    except ValueError:
        pass
