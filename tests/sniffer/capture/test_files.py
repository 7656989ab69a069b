import gzip
import os
from pathlib import Path

import pytest

from db.errors import CaptureError
from sniffer.capture.files import LibpcapFileSource, StreamSource, open_capture
from sniffer.capture.source import PacketSource
from tests.sniffer.capture.test_pcapreader import (
    FRAME_A,
    FRAME_B,
    GOLDEN,
    GOLDEN_FILES,
    epb,
    idb,
    pcap_file,
    shb,
)

G711 = GOLDEN / "sip_call_rtp_g711_wireshark_sample.pcap"


def packets(path: Path) -> tuple[PacketSource, list[tuple[float, bytes]]]:
    with open_capture(path) as src:
        pkts = [(ts, bytes(frame)) for ts, frame in src.packets()]
    return src, pkts


def test_plain_files_use_libpcap_and_gzip_files_the_python_reader(tmp_path: Path) -> None:
    gz = tmp_path / "g711.pcap.gz"
    gz.write_bytes(gzip.compress(G711.read_bytes()))
    plain_src, plain = packets(G711)
    gz_src, unzipped = packets(gz)
    assert isinstance(plain_src, LibpcapFileSource)
    assert isinstance(gz_src, StreamSource)
    assert isinstance(plain_src, PacketSource) and isinstance(gz_src, PacketSource)
    assert len(plain) == len(unzipped) == 4269
    assert plain == unzipped
    assert plain_src.warning is None and gz_src.warning is None


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: p.name)
def test_golden_gzip_and_plain_agree(path: Path, tmp_path: Path) -> None:
    gz = tmp_path / (path.name + ".gz")
    gz.write_bytes(gzip.compress(path.read_bytes()))
    src, plain = packets(path)
    gz_src, unzipped = packets(gz)
    assert src.linktype == gz_src.linktype
    assert [f for _, f in plain] == [f for _, f in unzipped]
    assert all(abs(a - b) < 1e-6 for (a, _), (b, _) in zip(plain, unzipped, strict=True))


def test_linktype_is_the_dlt_value() -> None:
    src, _ = packets(GOLDEN / "sip_register_invite_rawip_linktype.pcap")
    assert src.linktype == 12
    assert src.name == str(GOLDEN / "sip_register_invite_rawip_linktype.pcap")


def test_libpcap_truncated_file_warning(tmp_path: Path) -> None:
    path = tmp_path / "capture.pcap"
    path.write_bytes(G711.read_bytes()[:50000])
    src = open_capture(path)
    assert src.warning is None
    assert sum(1 for _ in src.packets()) == 226
    expected = (
        f"{path}: truncated at record 227 (truncated dump file; tried to read 176 captured bytes,"
        " only got 68)"
    )
    assert src.warning == expected
    assert src.bytes_read == 50000
    src.close()
    assert src.warning == expected
    assert src.bytes_read is None


def test_libpcap_truncated_pcapng_warning(tmp_path: Path) -> None:
    path = tmp_path / "t.pcapng"
    path.write_bytes(shb() + idb() + epb(0, 0, FRAME_A) + epb(0, 1, FRAME_B)[:-1])
    src, pkts = packets(path)
    assert pkts == [(0.0, FRAME_A)]
    assert src.warning == (
        f"{path}: truncated at record 2 (truncated pcapng dump file; tried to read 72 bytes,"
        " only got 71)"
    )


def test_libpcap_mixed_link_types_stop_with_warning(tmp_path: Path) -> None:
    path = tmp_path / "mixed.pcapng"
    path.write_bytes(shb() + idb(1) + epb(0, 0, FRAME_A) + idb(113) + epb(1, 0, FRAME_B))
    src, pkts = packets(path)
    assert pkts == [(0.0, FRAME_A)]
    assert src.warning == (
        f"{path}: stopped at record 2 (an interface has a type 113 different from the type of"
        " the first interface)"
    )


def test_gzip_truncated_warning(tmp_path: Path) -> None:
    path = tmp_path / "t.pcap.gz"
    path.write_bytes(gzip.compress(G711.read_bytes())[:30000])
    src, pkts = packets(path)
    assert 0 < len(pkts) < 4269
    assert src.warning == (
        f"{path}: truncated at record {len(pkts) + 1} (read error: Compressed file ended before"
        " the end-of-stream marker was reached)"
    )


def test_gzip_progress_counts_compressed_bytes(tmp_path: Path) -> None:
    path = tmp_path / "g.pcap.gz"
    path.write_bytes(gzip.compress(G711.read_bytes()))
    with open_capture(path) as src:
        size = path.stat().st_size
        progress = [src.bytes_read]
        for i, _ in enumerate(src.packets()):
            if i % 500 == 0:
                progress.append(src.bytes_read)
        progress.append(src.bytes_read)
    assert progress == sorted(progress)
    assert progress[0] is not None and progress[0] < size // 10
    assert progress[-1] == size


def test_gzip_of_pcapng(tmp_path: Path) -> None:
    path = tmp_path / "n.pcapng.gz"
    path.write_bytes(gzip.compress(shb() + idb(113) + epb(0, 2_000_000, FRAME_B)))
    src, pkts = packets(path)
    assert (src.linktype, pkts, src.warning) == (113, [(2.0, FRAME_B)], None)


def test_context_manager_closes_the_file(tmp_path: Path) -> None:
    fds = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        with open_capture(G711) as src:
            next(iter(src.packets()))
    gz = tmp_path / "x.pcap.gz"
    gz.write_bytes(gzip.compress(G711.read_bytes()))
    for _ in range(20):
        with open_capture(gz) as src:
            next(iter(src.packets()))
    assert len(os.listdir("/proc/self/fd")) == fds


def test_closed_libpcap_source_refuses_packets() -> None:
    src = open_capture(G711)
    src.close()
    src.close()
    with pytest.raises(CaptureError, match="capture is closed"):
        src.packets()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "{}: empty file"),
        (b"hello world", "{}: not a pcap or pcapng file (magic 0x68656c6c)"),
        (b"\xd4\xc3", "{}: not a pcap or pcapng file (magic 0xd4c3)"),
        (
            b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00",
            "{}: truncated dump file; tried to read 24 file header bytes, only got 8",
        ),
        (gzip.compress(b""), "{}: empty file (after gzip decompression)"),
        (
            gzip.compress(b"plain text"),
            "{}: not a pcap or pcapng file inside gzip (magic 0x706c6169)",
        ),
        (
            b"\x1f\x8b\x08\x00garbage",
            "{}: corrupt gzip file (Compressed file ended before the end-of-stream marker was reached)",
        ),
        (
            gzip.compress(pcap_file([])[:10]),
            "{}: truncated dump file; tried to read 24 file header bytes, only got 10",
        ),
        (shb(), "{}: the capture file has no Interface Description Blocks"),
    ],
)
def test_open_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    with pytest.raises(CaptureError) as exc_info:
        open_capture(path)
    assert str(exc_info.value) == message.format(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CaptureError) as exc_info:
        open_capture(str(tmp_path / "nope.pcap"))
    assert str(exc_info.value) == f"{tmp_path}/nope.pcap: no such file"


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(CaptureError) as exc_info:
        open_capture(tmp_path)
    assert str(exc_info.value) == f"{tmp_path}: is a directory, not a capture file"


def test_path_through_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(CaptureError) as exc_info:
        open_capture(tmp_path / "f" / "x.pcap")
    assert str(exc_info.value) == f"{tmp_path}/f/x.pcap: cannot access (Not a directory)"


def test_open_errors_leave_no_file_open(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"hello world")
    fds = len(os.listdir("/proc/self/fd"))
    for _ in range(10):
        with pytest.raises(CaptureError):
            open_capture(bad)
    assert len(os.listdir("/proc/self/fd")) == fds
