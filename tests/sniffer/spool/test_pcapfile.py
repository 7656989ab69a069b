import struct

import pytest

from sniffer.spool.pcapfile import file_header, record_header, ts_to_sec_usec


def test_file_header_little_endian_microseconds() -> None:
    assert file_header(1, 262144) == struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)


def test_raw_ip_dlt_stored_as_linktype_raw() -> None:
    assert struct.unpack_from("<I", file_header(12, 65535), 20) == (101,)
    assert struct.unpack_from("<I", file_header(113, 65535), 20) == (113,)


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (1700000000.123456, (1700000000, 123456)),
        (0.0000005, (0, 0)),  # half: to even
        (0.0000015, (0, 2)),
        (0.0000025, (0, 2)),
        (1.9999996, (2, 0)),
        (-0.5, (0xFFFFFFFF, 500000)),
        (float("nan"), (0, 0)),
        (float("inf"), (0, 0)),
    ],
)
def test_timestamp_split(ts: float, expected: tuple[int, int]) -> None:
    assert ts_to_sec_usec(ts) == expected


def test_record_header() -> None:
    assert record_header(2.5, 10, 100) == struct.pack("<IIII", 2, 500000, 10, 100)
