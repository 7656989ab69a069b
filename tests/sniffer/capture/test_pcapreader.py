import io
import struct
from pathlib import Path

import pcap
import pytest

from db.errors import CaptureError
from sniffer.capture.pcapreader import PcapStreamReader

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "golden"
GOLDEN_FILES = sorted(p for p in GOLDEN.iterdir() if p.suffix in (".pcap", ".pcapng"))

FRAME_A = bytes(range(60))
FRAME_B = b"\xff" * 33 + b"sip"
FRAME_C = b"\x01\x02\x03"


# -- builders ---------------------------------------------------------------------------------


def pcap_file(
    records: list[tuple[int, int, bytes]],
    *,
    order: str = "<",
    nano: bool = False,
    linktype: int = 1,
    snaplen: int = 65535,
) -> bytes:
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for sec, frac, data in records:
        out.append(struct.pack(order + "IIII", sec, frac, len(data), len(data) + 4) + data)
    return b"".join(out)


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def block(btype: int, body: bytes, order: str = "<") -> bytes:
    body = _pad(body)
    blen = 12 + len(body)
    return struct.pack(order + "II", btype, blen) + body + struct.pack(order + "I", blen)


def option(code: int, value: bytes, order: str = "<") -> bytes:
    return struct.pack(order + "HH", code, len(value)) + _pad(value)


def shb(order: str = "<", major: int = 1) -> bytes:
    return block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, major, 0, -1), order)


def idb(
    linktype: int = 1,
    order: str = "<",
    snaplen: int = 0,
    tsresol: int | None = None,
    tsoffset: int | None = None,
) -> bytes:
    opts = b""
    if tsresol is not None:
        opts += option(9, bytes([tsresol]), order)
    if tsoffset is not None:
        opts += option(14, struct.pack(order + "q", tsoffset), order)
    if opts:
        opts += option(2, b"eth0", order) + option(0, b"", order)
    return block(1, struct.pack(order + "HHI", linktype, 0, snaplen) + opts, order)


def epb(ifid: int, ts: int, data: bytes, order: str = "<") -> bytes:
    head = struct.pack(order + "IIIII", ifid, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
    return block(6, head + _pad(data) + option(1, b"comment", order), order)


def spb(data: bytes, order: str = "<") -> bytes:
    return block(3, struct.pack(order + "I", len(data)) + data, order)


def pb(ifid: int, ts: int, data: bytes, order: str = "<") -> bytes:
    head = struct.pack(order + "HHIIII", ifid, 0, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
    return block(2, head + data, order)


def read_all(
    data: bytes, name: str = "t.pcap"
) -> tuple[PcapStreamReader, list[tuple[float, bytes]]]:
    reader = PcapStreamReader(io.BytesIO(data), name)
    return reader, list(reader)


def libpcap_read(path: Path, ns: bool = False) -> tuple[int, list[tuple[float, bytes]], bytes]:
    p = pcap.pcap(str(path), timestamp_in_ns=ns)
    pkts = [(ts, bytes(buf)) for ts, buf in p]
    return p.datalink(), pkts, p.geterr()


# -- golden files: libpcap and this reader agree ---------------------------------------------


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: p.name)
def test_golden_agrees_with_libpcap(path: Path) -> None:
    dlt, expected, err = libpcap_read(path)
    with path.open("rb") as f:
        reader = PcapStreamReader(f, path.name)
        got = list(reader)
    assert err == b""
    assert reader.warning is None
    assert reader.linktype == dlt
    assert reader.records == len(got) == len(expected) > 0
    for (ts_a, fr_a), (ts_b, fr_b) in zip(expected, got, strict=True):
        assert fr_a == fr_b
        assert abs(ts_a - ts_b) < 1e-6


def test_golden_small_chunks_give_the_same_packets() -> None:
    path = GOLDEN / "sip_gre_teb_mirror.pcapng"
    with path.open("rb") as f:
        whole = list(PcapStreamReader(f))
    with path.open("rb") as f:
        assert list(PcapStreamReader(f, chunk_size=7)) == whole


def test_rawip_linktype_reported_as_dlt() -> None:
    with (GOLDEN / "sip_register_invite_rawip_linktype.pcap").open("rb") as f:
        reader = PcapStreamReader(f)
    assert (reader.raw_linktype, reader.linktype, reader.format) == (101, 12, "pcap")


# -- pcap ------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_pcap_byte_orders_and_resolutions(order: str, nano: bool) -> None:
    frac = 123456789 if nano else 123456
    data = pcap_file(
        [(1700000000, frac, FRAME_A), (1700000001, 0, FRAME_B)], order=order, nano=nano
    )
    reader, pkts = read_all(data)
    assert [f for _, f in pkts] == [FRAME_A, FRAME_B]
    assert pkts[0][0] == pytest.approx(
        1700000000.123456789 if nano else 1700000000.123456, abs=1e-7
    )
    assert pkts[1][0] == 1700000001.0
    assert (reader.format, reader.linktype, reader.snaplen, reader.warning) == (
        "pcap",
        1,
        65535,
        None,
    )


def test_pcap_agrees_with_libpcap_on_crafted_files(tmp_path: Path) -> None:
    for i, (order, nano) in enumerate([("<", False), (">", False), ("<", True), (">", True)]):
        frac = 999999999 if nano else 999999
        data = pcap_file([(1, frac, FRAME_A), (2000000000, 1, FRAME_B)], order=order, nano=nano)
        path = tmp_path / f"f{i}.pcap"
        path.write_bytes(data)
        _, expected, _ = libpcap_read(path, ns=True)
        _, got = read_all(data)
        assert [f for _, f in got] == [f for _, f in expected]
        for (ns, _), (ts, _) in zip(expected, got, strict=True):
            assert abs(ts * 1e9 - ns) < 1000


def test_pcap_seconds_read_as_signed_like_libpcap(tmp_path: Path) -> None:
    data = pcap_file([(0xFFFFFFFF, 500000, FRAME_C), (3215500952, 251758, FRAME_A)])
    path = tmp_path / "neg.pcap"
    path.write_bytes(data)
    _, expected, _ = libpcap_read(path)
    _, got = read_all(data)
    assert got[0] == (-0.5, FRAME_C)
    assert got[1][0] == pytest.approx(-1079466343.748242, abs=1e-6)
    assert [ts for ts, _ in got] == pytest.approx([ts for ts, _ in expected], abs=1e-6)


def test_pcap_record_longer_than_snaplen_is_cut_like_libpcap() -> None:
    _, pkts = read_all(pcap_file([(1, 0, FRAME_A), (2, 0, FRAME_C)], snaplen=10))
    assert [f for _, f in pkts] == [FRAME_A[:10], FRAME_C]


def test_pcap_truncated_data_stops_with_warning() -> None:
    data = pcap_file([(1, 0, FRAME_A), (2, 0, FRAME_B)])
    reader, pkts = read_all(data[:-5], "cap.pcap")
    assert [f for _, f in pkts] == [FRAME_A]
    assert reader.truncated
    assert reader.warning == (
        "cap.pcap: truncated at record 2 (truncated dump file; tried to read 36 captured bytes,"
        " only got 31)"
    )


def test_pcap_truncated_record_header_stops_with_warning() -> None:
    data = pcap_file([(1, 0, FRAME_A)]) + b"\x01\x02\x03"
    reader, pkts = read_all(data, "x")
    assert len(pkts) == 1
    assert reader.warning == (
        "x: truncated at record 2 (truncated dump file; tried to read 16 header bytes, only got 3)"
    )


def test_pcap_absurd_capture_length_stops() -> None:
    data = pcap_file([(1, 0, FRAME_A)]) + struct.pack("<IIII", 1, 0, 300000, 300000)
    reader, pkts = read_all(data, "x")
    assert len(pkts) == 1
    assert not reader.truncated
    assert reader.warning == (
        "x: stopped at record 2 (invalid packet capture length 300000, bigger than maximum of 262144)"
    )


def test_pcap_linktype_fcs_bits_masked() -> None:
    reader, _ = read_all(pcap_file([], linktype=1 | 0x04000000 | (4 << 28)))
    assert reader.linktype == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "t.pcap: empty file"),
        (b"\xd4\xc3", "t.pcap: not a pcap or pcapng file (magic 0xd4c3)"),
        (b"GET / HTTP/1.1\r\n", "t.pcap: not a pcap or pcapng file (magic 0x47455420)"),
        (
            b"\xd4\xc3\xb2\xa1\x02\x00",
            "t.pcap: truncated dump file; tried to read 24 file header bytes, only got 6",
        ),
        (
            struct.pack("<IHHiIII", 0xA1B2C3D4, 1, 0, 0, 0, 0, 1),
            "t.pcap: unsupported pcap savefile version 1.0",
        ),
        (shb(), "t.pcap: the capture file has no Interface Description Blocks"),
        (
            shb() + epb(0, 0, FRAME_A),
            "t.pcap: the capture file has a packet block before any Interface Description Blocks",
        ),
        (shb(major=2) + idb(), "t.pcap: unknown pcapng savefile major version number 2"),
        (
            b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x00\x00\x00\x00",
            "t.pcap: the file has a section with a bad byte order magic field",
        ),
        (shb()[:20], "t.pcap: truncated pcapng dump file; tried to read 20 bytes, only got 12"),
        (
            shb() + idb(tsresol=20),
            "t.pcap: Interface Description Block if_tsresol option resolution 10^-20 is too high",
        ),
    ],
)
def test_header_errors(data: bytes, message: str) -> None:
    with pytest.raises(CaptureError) as exc_info:
        PcapStreamReader(io.BytesIO(data), "t.pcap")
    assert str(exc_info.value) == message


# -- pcapng ----------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["<", ">"])
def test_pcapng_blocks_and_resolutions(order: str) -> None:
    data = b"".join(
        [
            shb(order),
            block(4, b"\x00\x00\x00\x00", order),  # name resolution block: skipped
            idb(1, order),
            idb(1, order, tsresol=9, tsoffset=100),
            idb(1, order, tsresol=0x80 | 20),
            epb(0, 1_700_000_000_250_000, FRAME_A, order),
            epb(1, 1_500_000_000, FRAME_B, order),
            epb(2, 3 << 20 | 1 << 19, FRAME_C, order),
            pb(0, 2_000_000, FRAME_B, order),
            spb(FRAME_A, order),
            block(0x40000BAD, b"custom", order),
            block(5, b"\x00" * 12, order),  # interface statistics: skipped
        ]
    )
    reader, pkts = read_all(data)
    assert (reader.format, reader.linktype, reader.warning) == ("pcapng", 1, None)
    assert pkts == [
        (1700000000.25, FRAME_A),
        (101.5, FRAME_B),
        (3.5, FRAME_C),
        (2.0, FRAME_B),
        (0.0, FRAME_A),
    ]


def test_pcapng_several_sections_of_both_byte_orders() -> None:
    data = shb("<") + idb(113, "<") + epb(0, 1_000_000, FRAME_A, "<")
    data += shb(">") + idb(113, ">", tsresol=3) + epb(0, 2_500, FRAME_B, ">")
    data += shb("<") + idb(113, "<") + epb(0, 3_000_000, FRAME_C, "<")
    reader, pkts = read_all(data)
    assert reader.linktype == 113
    assert pkts == [(1.0, FRAME_A), (2.5, FRAME_B), (3.0, FRAME_C)]
    assert reader.warning is None


def test_pcapng_packet_on_interface_of_previous_section_stops() -> None:
    data = shb() + idb() + idb() + epb(1, 0, FRAME_A) + shb() + idb() + epb(1, 0, FRAME_B)
    reader, pkts = read_all(data, "n")
    assert pkts == [(0.0, FRAME_A)]
    assert reader.warning == (
        "n: stopped at record 2 (a packet arrived on interface 1, but there's no Interface"
        " Description Block for that interface)"
    )


def test_pcapng_mixed_link_types_not_supported() -> None:
    data = shb() + idb(1) + epb(0, 0, FRAME_A) + idb(113) + epb(1, 0, FRAME_B)
    reader = PcapStreamReader(io.BytesIO(data), "mixed.pcapng")
    it = iter(reader)
    assert next(it) == (0.0, FRAME_A)
    with pytest.raises(CaptureError) as exc_info:
        next(it)
    assert str(exc_info.value) == (
        "mixed.pcapng: interface 1 has link type 113 but the first interface has 1;"
        " captures mixing link types are not supported"
    )


def test_pcapng_agrees_with_libpcap_on_crafted_file(tmp_path: Path) -> None:
    data = shb() + idb(1, tsresol=9, tsoffset=-5) + idb(1, tsresol=0x80 | 30)
    data += epb(0, 1_700_000_000_123_456_789, FRAME_A) + epb(1, (1_700_000_000 << 30) + 1, FRAME_B)
    data += pb(0, 1_700_000_001_000_000_001, FRAME_C)
    path = tmp_path / "c.pcapng"
    path.write_bytes(data)
    dlt, expected, err = libpcap_read(path, ns=True)
    reader, got = read_all(data)
    assert err == b""
    assert reader.linktype == dlt
    assert [f for _, f in got] == [f for _, f in expected]
    for (ns, _), (ts, _) in zip(expected, got, strict=True):
        assert abs(ts * 1e9 - ns) < 1000


def test_pcapng_truncated_block_stops_with_warning() -> None:
    data = shb() + idb() + epb(0, 0, FRAME_A) + epb(0, 1, FRAME_B)
    reader, pkts = read_all(data[:-10], "n.pcapng")
    assert len(pkts) == 1
    assert reader.truncated
    assert reader.warning == (
        "n.pcapng: truncated at record 2 (truncated pcapng dump file; tried to read 72 bytes,"
        " only got 62)"
    )


@pytest.mark.parametrize(
    ("tail", "reason"),
    [
        (
            b"\x06\x00\x00\x00\x0d\x00\x00\x00" + b"\0" * 8,
            "block in pcapng dump file has an invalid length of 13",
        ),
        (struct.pack("<III", 6, 1 << 30, 0), f"pcapng block size {1 << 30} > maximum {16 << 20}"),
        (block(6, b"\0" * 8), "block of type 6 in pcapng dump file is too short"),
        (
            epb(0, 0, FRAME_A)[:-4] + b"\x00\x00\x00\x00",
            "block total length in header 104 and trailer 0 don't match",
        ),
        (block(3, b""), "block of type 3 in pcapng dump file is too short"),
        (block(2, b"\0" * 4), "block of type 2 in pcapng dump file is too short"),
    ],
)
def test_pcapng_corrupt_blocks_stop_with_warning(tail: bytes, reason: str) -> None:
    reader, pkts = read_all(shb() + idb() + epb(0, 0, FRAME_C) + tail, "n")
    assert pkts == [(0.0, FRAME_C)]
    assert not reader.truncated
    assert reader.warning == f"n: stopped at record 2 ({reason})"


def test_pcapng_capture_length_over_snaplen_stops() -> None:
    reader, pkts = read_all(shb() + idb(snaplen=10) + epb(0, 0, FRAME_A), "n")
    assert pkts == []
    assert reader.warning == (
        "n: stopped at record 1 (invalid packet capture length 60, bigger than snaplen of 10)"
    )


def test_read_error_is_reported_not_raised() -> None:
    class Failing(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = data

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            if not self.data:
                raise OSError(5, "Input/output error")
            out, self.data = self.data[:size], self.data[size:]
            return out

    good = pcap_file([(1, 0, FRAME_A)])
    reader = PcapStreamReader(Failing(good + good[24:30]), "io")
    assert [f for _, f in reader] == [FRAME_A]
    assert reader.warning == "io: stopped at record 2 (read error: [Errno 5] Input/output error)"
