"""pcap file format (tcpdump.org pcap-savefile): the global header and record headers, written
little-endian with microsecond timestamps."""

import struct

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
