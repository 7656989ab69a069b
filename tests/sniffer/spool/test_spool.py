import gzip
import os
import resource
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dpkt
import pcap
import pytest

from db.errors import SpoolError
from db.settings import SpoolMode
from sniffer.spool.spool import CallPcap, CallPcapSpool

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "golden"
G711 = [
    (ts, bytes(f)) for ts, f in pcap.pcap(str(GOLDEN / "sip_call_rtp_g711_wireshark_sample.pcap"))
]
RAWIP = [
    (ts, bytes(f)) for ts, f in pcap.pcap(str(GOLDEN / "sip_register_invite_rawip_linktype.pcap"))
]


def records(path: Path) -> list[tuple[float, bytes, int]]:
    """(ts, frame, orig_len) read back with dpkt (orig_len from the raw record headers)."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as f:
        got = [(ts, bytes(buf)) for ts, buf in dpkt.pcap.Reader(f)]
    origs = []
    pos = 24
    while pos < len(raw):
        _sec, _usec, incl, orig = struct.unpack_from("<IIII", raw, pos)
        origs.append(orig)
        pos += 16 + incl
    return [(ts, frame, orig) for (ts, frame), orig in zip(got, origs, strict=True)]


def usec(ts: float) -> int:
    return round(ts * 1e6)


def tshark(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["tshark", *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_round_trip_sip_rtp(tmp_path: Path, gz: bool) -> None:
    with CallPcapSpool(tmp_path, 1, gzip=gz, flush_bytes=8192) as spool:
        call = spool.open_call("call-1@10.0.0.1", G711[0][0])
        for ts, frame in G711:
            call.write(ts, frame)
        rel = spool.close_call(call)
    path = tmp_path / rel
    assert rel.endswith(".pcap.gz" if gz else ".pcap")
    got = records(path)
    assert [f for _, f, _ in got] == [f for _, f in G711]
    assert [usec(ts) for ts, _, _ in got] == [usec(ts) for ts, _ in G711]
    assert [o for _, _, o in got] == [len(f) for _, f in G711]
    assert spool.counters["flushes"] > 10
    result = tshark("-r", path, "-c", "1")
    assert result.returncode == 0, result.stderr
    assert "INVITE" in result.stdout


def test_rtp_headers_mode_keeps_original_length(tmp_path: Path) -> None:
    spool = CallPcapSpool(tmp_path, 1, mode=SpoolMode("rtp-headers"))
    assert spool.mode is SpoolMode.RTP_HEADERS
    call = spool.open_call("c", G711[0][0])
    sip, rtp = G711[0][1], G711[10][1]
    call.write(1.0, sip)
    call.write(2.0, rtp, 54)
    call.write(3.0, rtp[:20], 54)  # shorter than caplen: kept whole
    spool.close()
    path = tmp_path / call.relpath
    assert records(path) == [(1.0, sip, len(sip)), (2.0, rtp[:54], len(rtp)), (3.0, rtp[:20], 20)]
    result = tshark("-r", path, "-T", "fields", "-e", "frame.len", "-e", "frame.cap_len")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == [f"{len(sip)}\t{len(sip)}", f"{len(rtp)}\t54", "20\t20"]


def test_sip_mode_and_header_only_file(tmp_path: Path) -> None:
    spool = CallPcapSpool(tmp_path, 1, mode=SpoolMode.SIP)
    assert spool.mode == "sip"
    rel = spool.close_call(spool.open_call("silent", 0.0))
    assert (tmp_path / rel).read_bytes() == struct.pack(
        "<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1
    )
    assert records(tmp_path / rel) == []


def test_raw_ip_link_type_written_as_linktype_raw(tmp_path: Path) -> None:
    with CallPcapSpool(tmp_path, 12, snaplen=65535) as spool:
        call = spool.open_call("raw", RAWIP[0][0])
        for ts, frame in RAWIP:
            call.write(ts, frame)
        rel = spool.close_call(call)
    result = tshark("-r", tmp_path / rel, "-T", "fields", "-e", "ip.src", "-c", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().count(".") == 3


def test_snaplen_caps_captured_length(tmp_path: Path) -> None:
    with CallPcapSpool(tmp_path, 1, snaplen=100) as spool:
        call = spool.open_call("c", 0.0)
        call.write(0.0, G711[0][1])
        rel = spool.close_call(call)
    assert records(tmp_path / rel) == [(0.0, G711[0][1][:100], len(G711[0][1]))]


def test_same_frame_object_written_once(tmp_path: Path) -> None:
    with CallPcapSpool(tmp_path, 1) as spool:
        call = spool.open_call("c", 0.0)
        frame = G711[0][1]
        call.write(1.0, frame)
        call.write(1.0, frame)
        call.write(2.0, bytes(bytearray(frame)))  # equal bytes, another object: a real frame
        call.write(3.0, frame)
        rel = spool.close_call(call)
    assert [ts for ts, _, _ in records(tmp_path / rel)] == [1.0, 2.0, 3.0]


def test_timestamps_round_half_even_to_microseconds(tmp_path: Path) -> None:
    with CallPcapSpool(tmp_path, 1) as spool:
        call = spool.open_call("c", 0.0)
        for i, ts in enumerate([0.0000025, 0.0000035, 1700000000.1234564, float("nan")]):
            call.write(ts, bytes([i]))
        rel = spool.close_call(call)
    raw = (tmp_path / rel).read_bytes()
    heads = [struct.unpack_from("<II", raw, 24 + i * 17) for i in range(4)]
    assert heads == [(0, 2), (0, 4), (1700000000, 123456), (0, 0)]


def test_handles_per_call(tmp_path: Path) -> None:
    spool = CallPcapSpool(tmp_path, 1)
    a = spool.open_call("a", 1.0)
    assert spool.open_call("a", 1.0) is a
    assert spool.open_call("a", 2.0) is not a
    spool.close_call(a)
    assert spool.close_call(a) == a.relpath
    assert spool.open_call("a", 1.0) is not a
    spool.close()
    with pytest.raises(SpoolError, match="closed"):
        spool.open_call("b", 1.0)
    a.write(5.0, b"late")  # dropped, no exception
    assert spool.counters["bytes_dropped"] == 20


async def test_async_context_manager(tmp_path: Path) -> None:
    async with CallPcapSpool(tmp_path, 1) as spool:
        call = spool.open_call("x", 0.0)
        call.write(0.0, b"frame")
    assert call.closed
    assert records(tmp_path / call.relpath) == [(0.0, b"frame", 5)]


# -- names -----------------------------------------------------------------------------------


def _files_under(root: Path) -> Iterator[Path]:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            yield Path(dirpath) / name


def test_unsafe_call_ids_stay_inside_root(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    ids = ["../../etc/passwd", "\x00", "a/b", "x" * 5000, "ünïcødé ☎", "..", ".", "/abs", "a\\b"]
    with CallPcapSpool(root, 1) as spool:
        handles = [spool.open_call(cid, 1795676263.0) for cid in ids]
        for h in handles:
            h.write(1795676263.0, b"data")
        rels = [spool.close_call(h) for h in handles]
    assert len(set(rels)) == len(ids)
    files = sorted(_files_under(root))
    assert files == sorted(root / r for r in rels)
    for f in files:
        assert f.resolve().is_relative_to(root.resolve())
        assert f.parent == root / "2026-11-26" / "06" / "57"
        assert len(f.name) <= 120 + 11 + len(".pcap")
    assert not (tmp_path / "etc").exists()


# -- many calls, few descriptors, bounded memory ------------------------------------------


@pytest.mark.slow
def test_ten_thousand_concurrent_calls_with_64_open_files(tmp_path: Path) -> None:
    spool = CallPcapSpool(tmp_path, 1, max_open_files=64, flush_bytes=100)
    base = open_fds()
    calls = [spool.open_call(f"call-{i}", 1795676263.0 + i % 120) for i in range(10_000)]
    peak = 0
    for rnd in range(3):
        for i, call in enumerate(calls):
            call.write(1795676263.0 + rnd, f"call {i} frame {rnd} ".encode() * 4)
            if i % 250 == 0:
                peak = max(peak, open_fds() - base)
                assert spool.open_files <= 64
    for i, call in enumerate(calls):
        spool.close_call(call)
        if i % 250 == 0:
            peak = max(peak, open_fds() - base)
    assert 0 < peak <= 64
    assert open_fds() == base
    assert spool.counters["files_opened"] == 10_000
    assert spool.counters["reopened"] > 0 and spool.counters["evictions"] > 0
    assert spool.counters["write_errors"] == 0
    assert len(set(c.relpath for c in calls)) == 10_000
    assert sum(1 for _ in _files_under(tmp_path)) == 10_000
    for i in (0, 1, 4999, 9999):
        got = records(tmp_path / calls[i].relpath)
        assert [f for _, f, _ in got] == [f"call {i} frame {r} ".encode() * 4 for r in range(3)]
    sizes = {i: (tmp_path / c.relpath).stat().st_size for i, c in enumerate(calls)}
    assert all(sizes[i] == 24 + 3 * (16 + 4 * len(f"call {i} frame 0 ")) for i in sizes)


def test_buffer_budget_flushes_the_largest_buffers(tmp_path: Path) -> None:
    spool = CallPcapSpool(tmp_path, 1, max_buffer_bytes=20_000, flush_bytes=1 << 20)
    big = spool.open_call("big", 0.0)
    small = [spool.open_call(f"small-{i}", 0.0) for i in range(20)]
    assert spool.share() == 4096  # 20,000 / 21 calls is below the least share
    expected: dict[str, list[bytes]] = {h.relpath: [] for h in [big, *small]}
    for n in range(200):
        frame = bytes([n % 256]) * 200
        big.write(float(n), frame)
        expected[big.relpath].append(frame)
        h = small[n % 20]
        h.write(float(n), frame[:10])
        expected[h.relpath].append(frame[:10])
        assert spool.buffered_bytes <= 20_000
        assert sum(c.buffered for c in [big, *small]) <= spool.buffered_bytes
    assert spool.counters["budget_flushes"] >= 2
    assert spool.counters["flushes"] >= 200 * 216 // 4096  # the big call, one share at a time
    spool.close()
    for rel, frames in expected.items():
        assert [f for _, f, _ in records(tmp_path / rel)] == frames


def test_share_of_the_budget_shrinks_with_the_calls(tmp_path: Path) -> None:
    spool = CallPcapSpool(tmp_path, 1, max_buffer_bytes=1 << 20, flush_bytes=256 << 10)
    first = [spool.open_call(f"first-{i}", 0.0) for i in range(2)]
    for call in first:
        call.write(1.0, bytes(100))
        assert call._limit == 256 << 10  # flush_bytes: 2 calls are far from the budget
    late = [spool.open_call(f"late-{i}", 0.0) for i in range(62)]
    share = (3 << 20) // (4 * 64)  # 3/4 of the budget shared by 64 calls
    assert spool.share() == share
    for call in late:
        call.write(1.0, bytes(100))
        assert spool.buffered_bytes <= 1 << 20
        assert call._limit == share
    # the first calls' larger shares did not all fit any more: one was written and returned,
    # which freed a quarter of the budget
    assert spool.counters["budget_flushes"] == 1
    assert sorted(c._limit for c in first) == [0, 256 << 10]
    assert sorted((tmp_path / c.relpath).exists() for c in first) == [False, True]
    assert spool.counters["flushes"] == 1
    spool.close()
    assert spool.buffered_bytes == 0


def test_timed_flush_writes_every_buffer(tmp_path: Path) -> None:
    spool = CallPcapSpool(tmp_path, 1, flush_interval_s=2.0)
    a, b = spool.open_call("a", 10.0), spool.open_call("b", 10.0)
    spool.tick(10.0)
    a.write(10.5, b"a1")
    b.write(11.0, b"b1")
    spool.tick(11.9)
    assert not (tmp_path / a.relpath).exists()
    spool.tick(12.0)  # capture time, 2 s after the first tick
    assert records(tmp_path / a.relpath) == [(10.5, b"a1", 2)]
    assert records(tmp_path / b.relpath) == [(11.0, b"b1", 2)]
    assert spool.buffered_bytes == 0 and spool.counters["timed_flushes"] == 1
    a.write(12.5, b"a2")
    spool.tick(13.0)
    assert records(tmp_path / a.relpath) == [(10.5, b"a1", 2)]
    spool.tick(14.0)
    assert records(tmp_path / a.relpath) == [(10.5, b"a1", 2), (12.5, b"a2", 2)]
    spool.close()


# -- errors ----------------------------------------------------------------------------------


def test_unwritable_root(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    root = tmp_path / "file" / "spool"
    with pytest.raises(SpoolError) as exc_info:
        CallPcapSpool(root, 1)
    assert str(exc_info.value) == f"spool directory {root} is not writable: Not a directory"
    assert isinstance(exc_info.value.__cause__, OSError)


def test_root_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(SpoolError, match=r"spool directory .*/file is not writable: File exists"):
        CallPcapSpool(tmp_path / "file", 1)


def test_root_is_created(tmp_path: Path) -> None:
    CallPcapSpool(tmp_path / "a" / "b", 1).close()
    assert (tmp_path / "a" / "b").is_dir()
    assert list((tmp_path / "a" / "b").iterdir()) == []


def test_bad_settings() -> None:
    with pytest.raises(SpoolError, match="max_open_files must be at least 1, got 0"):
        CallPcapSpool("/tmp", 1, max_open_files=0)


def _written_and_evicted(spool: CallPcapSpool, call: CallPcap) -> None:
    call.write(0.0, b"x" * 50)  # flush_bytes=10: written now
    other = spool.open_call("other", 0.0)
    other.write(0.0, b"y" * 50)  # max_open_files=1: evicts the first call's file
    assert spool.open_files == 1


def test_file_replaced_by_directory_is_counted_not_raised(tmp_path: Path) -> None:
    spool = CallPcapSpool(tmp_path, 1, max_open_files=1, flush_bytes=10)
    call = spool.open_call("victim", 0.0)
    _written_and_evicted(spool, call)
    path = tmp_path / call.relpath
    path.unlink()
    path.mkdir()
    call.write(1.0, b"z" * 50)
    assert call.failed
    assert spool.counters["write_errors"] == 1
    assert spool.counters["bytes_dropped"] == 66
    assert spool.last_error == f"{path}: Is a directory"
    call.write(2.0, b"w" * 50)
    assert spool.counters["bytes_dropped"] == 132
    assert spool.close_call(call) is None  # the record says pcap: null
    assert (call.failed, spool.counters["pcap_failed.EISDIR"]) == ("EISDIR", 1)
    spool.close()
    assert spool.counters["write_errors"] == 1


def test_file_size_limit_is_counted_not_raised(tmp_path: Path) -> None:
    spool = CallPcapSpool(tmp_path, 1, flush_bytes=1000)
    call = spool.open_call("big", 0.0)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (5000, hard))
    try:
        for n in range(20):
            call.write(float(n), bytes(500))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert call.failed == "EFBIG"
    assert spool.counters["write_errors"] == 1
    assert "File too large" in (spool.last_error or "")
    assert spool.close_call(call) is None
    spool.close()
    assert not (tmp_path / call.relpath).exists()  # a pcap cut short is removed, not named
