"""pcap file format (tcpdump.org pcap-savefile): the global header and record headers, written
little-endian with microsecond timestamps."""

import struct
import zlib

from sniffer.capture.linktype import dlt_to_linktype

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_VERSION_MAJOR = 2
PCAP_VERSION_MINOR = 4
FILE_HEADER = struct.Struct("<IHHiIII")
RECORD_HEADER = struct.Struct("<IIII")
"""ts_sec, ts_usec, incl_len, orig_len."""
USEC_PER_SEC = 1_000_000


def file_header(dlt: int, snaplen: int) -> bytes:
    """Global header for frames of link type ``dlt`` (a DLT value, stored as its LINKTYPE)."""
    return FILE_HEADER.pack(
        PCAP_MAGIC_US, PCAP_VERSION_MAJOR, PCAP_VERSION_MINOR, 0, 0, snaplen, dlt_to_linktype(dlt)
    )


def ts_to_sec_usec(ts: float) -> tuple[int, int]:
    """Seconds and microseconds of ``ts`` (round half even); ``(0, 0)`` for NaN or infinity.

    Seconds outside 32 bits wrap (libpcap reads them as signed: negative values survive).
    """
    try:
        sec, usec = divmod(round(ts * 1e6), USEC_PER_SEC)
    except (ValueError, OverflowError):
        return 0, 0
    return sec & 0xFFFFFFFF, usec


def record_header(ts: float, incl_len: int, orig_len: int) -> bytes:
    sec, usec = ts_to_sec_usec(ts)
    return RECORD_HEADER.pack(sec, usec, incl_len, orig_len)


def whole_length(path: str, gzip: bool) -> int:
    """Bytes of ``path`` that hold whole records (a process killed while writing can leave a
    record, or a gzip member, cut short): the header and every complete record after it; 0
    when not even the header is whole, or it is not a pcap file written here."""
    with open(path, "rb") as f:
        data = f.read()
    if gzip:
        return _whole_gzip_members(data)
    return _whole_records(data)


def _whole_records(data: bytes) -> int:
    if len(data) < FILE_HEADER.size or FILE_HEADER.unpack_from(data)[0] != PCAP_MAGIC_US:
        return 0
    return _records_end(data, FILE_HEADER.size)


def _records_end(data: bytes, off: int) -> int:
    """Offset after the last whole record from ``off`` on."""
    while off + RECORD_HEADER.size <= len(data):
        incl = RECORD_HEADER.unpack_from(data, off)[2]
        if off + RECORD_HEADER.size + incl > len(data):
            break
        off += RECORD_HEADER.size + incl
    return off


def _whole_gzip_members(data: bytes) -> int:
    """End of the last complete gzip member (each is one flush of whole records, the first
    with the file header)."""
    view = memoryview(data)
    good = 0
    while good < len(data):
        d = zlib.decompressobj(wbits=31)
        try:
            content = d.decompress(view[good:])
        except zlib.error:
            break
        whole = _whole_records(content) if good == 0 else _records_end(content, 0)
        if not d.eof or whole != len(content):
            break
        good = len(data) - len(d.unused_data)
    return good
