"""pcap and pcapng writers.

Frames are ``(ts, data)`` with ``ts`` in float epoch seconds. Microsecond timestamps are exact
for any epoch; nanosecond ones are limited by float precision (~0.2 us at today's epoch).
"""

import gzip as gzip_module
import os
import struct
from collections.abc import Iterable
from typing import BinaryIO, Final, Literal, cast

PCAP_MAGIC_US: Final = 0xA1B2C3D4
PCAP_MAGIC_NS: Final = 0xA1B23C4D
PCAPNG_SHB: Final = 0x0A0D0D0A
PCAPNG_IDB: Final = 0x00000001
PCAPNG_EPB: Final = 0x00000006
PCAPNG_BYTE_ORDER_MAGIC: Final = 0x1A2B3C4D
PCAPNG_OPT_IF_TSRESOL: Final = 9
DEFAULT_SNAPLEN: Final = 262144

Frames = Iterable[tuple[float, bytes]]


def _open(path: str | os.PathLike[str], gz: bool) -> BinaryIO:
    if gz:
        return cast(BinaryIO, gzip_module.open(path, "wb", compresslevel=1))
    return open(path, "wb", buffering=1 << 20)


def pcap_header(linktype: int, nanosecond: bool = False, snaplen: int = DEFAULT_SNAPLEN) -> bytes:
    """Little-endian pcap global header (version 2.4)."""
    magic = PCAP_MAGIC_NS if nanosecond else PCAP_MAGIC_US
    return struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)


def write_pcap(
    path: str | os.PathLike[str],
    linktype: int,
    frames: Frames,
    nanosecond: bool = False,
    gzip: bool = False,
    snaplen: int = DEFAULT_SNAPLEN,
) -> int:
    """Write a classic pcap file (gzip-compressed if asked); frames longer than ``snaplen`` are
    truncated (caplen < len). Returns the number of frames written."""
    scale = 1_000_000_000 if nanosecond else 1_000_000
    rec = struct.Struct("<IIII")
    n = 0
    with _open(path, gzip) as f:
        f.write(pcap_header(linktype, nanosecond, snaplen))
        for ts, data in frames:
            sec, frac = divmod(round(ts * scale), scale)
            cap = data[:snaplen]
            f.write(rec.pack(sec, frac, len(cap), len(data)))
            f.write(cap)
            n += 1
    return n


def _block(btype: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    length = 12 + len(body)
    return struct.pack("<II", btype, length) + body + struct.pack("<I", length)


def write_pcapng(
    path: str | os.PathLike[str],
    linktype: int,
    frames: Frames,
    ts_resolution: Literal["us", "ns"] = "us",
    snaplen: int = DEFAULT_SNAPLEN,
) -> int:
    """Write a pcapng file: one SHB, one IDB (with ``if_tsresol`` for ns), one EPB per frame.
    Returns the number of frames written."""
    if ts_resolution not in ("us", "ns"):
        raise ValueError(f"ts_resolution must be 'us' or 'ns', got {ts_resolution!r}")
    scale = 1_000_000_000 if ts_resolution == "ns" else 1_000_000
    shb = struct.pack("<IHHq", PCAPNG_BYTE_ORDER_MAGIC, 1, 0, -1)
    opts = b""
    if ts_resolution == "ns":
        opts = struct.pack("<HHB3x", PCAPNG_OPT_IF_TSRESOL, 1, 9) + struct.pack("<HH", 0, 0)
    idb = struct.pack("<HHI", linktype, 0, snaplen) + opts
    n = 0
    with _open(path, False) as f:
        f.write(_block(PCAPNG_SHB, shb))
        f.write(_block(PCAPNG_IDB, idb))
        for ts, data in frames:
            t = round(ts * scale)
            cap = data[:snaplen]
            head = struct.pack("<IIIII", 0, t >> 32, t & 0xFFFFFFFF, len(cap), len(data))
            f.write(_block(PCAPNG_EPB, head + cap))
            n += 1
    return n
