"""Capture files (pcap in every byte order and precision, pcapng, gzip-compressed either way)
read frame by frame on top of dpkt's readers, and pcap files written as a byte stream."""

import gzip
import struct
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import dpkt

GZIP_MAGIC = b"\x1f\x8b"
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
PCAP_MAGICS = frozenset(
    {
        b"\xd4\xc3\xb2\xa1",  # little-endian, microseconds
        b"\xa1\xb2\xc3\xd4",  # big-endian, microseconds
        b"\x4d\x3c\xb2\xa1",  # little-endian, nanoseconds
        b"\xa1\xb2\x3c\x4d",  # big-endian, nanoseconds
    }
)
PCAP_VERSION = (2, 4)
SNAPLEN = 262144
_FILE_HEADER = struct.Struct("<IHHiIII")
_RECORD_HEADER = struct.Struct("<IIII")


class CaptureFileError(ValueError):
    """The file is not a capture this reader understands (message names why)."""


@dataclass(frozen=True, slots=True)
class Frame:
    index: int
    """Position in the file, from 0."""
    ts: float
    data: bytes
    orig_len: int


class CaptureFile:
    """``with CaptureFile(path) as cap: for frame in cap: ...`` — ``cap.linktype`` is the
    LINKTYPE of the frames (pcapng: of the first interface)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._stack = ExitStack()
        stream: BinaryIO = self._stack.enter_context(open(self.path, "rb"))  # noqa: SIM115 - closed by the ExitStack
        head = stream.read(4)
        if head[:2] == GZIP_MAGIC:
            stream = self._stack.enter_context(gzip.open(stream, "rb"))  # type: ignore[assignment]  # noqa: SIM115
            try:
                head = stream.read(4)
            except (OSError, EOFError) as exc:
                self._stack.close()
                raise CaptureFileError(f"{self.path.name}: damaged gzip data") from exc
        stream.seek(0)
        try:
            if head == PCAPNG_MAGIC:
                self._reader = dpkt.pcapng.Reader(stream)
            elif head in PCAP_MAGICS:
                self._reader = dpkt.pcap.Reader(stream)
            else:
                raise CaptureFileError(f"{self.path.name}: not a pcap or pcapng file")
        except (ValueError, struct.error, EOFError, OSError) as exc:
            self._stack.close()
            if isinstance(exc, CaptureFileError):
                raise
            raise CaptureFileError(f"{self.path.name}: damaged capture header") from exc
        self.linktype: int = int(self._reader.datalink())
        self.truncated = False

    def __iter__(self) -> Iterator[Frame]:
        it = iter(self._reader)
        index = 0
        while True:
            try:
                ts, data = next(it)
            except StopIteration:
                return
            except (ValueError, struct.error, EOFError, OSError, dpkt.NeedData):
                self.truncated = True  # a cut-off last record (a call still being written)
                return
            yield Frame(index, float(ts), bytes(data), len(data))
            index += 1

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> "CaptureFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def pcap_header(linktype: int, snaplen: int = SNAPLEN) -> bytes:
    """Global header of a little-endian microsecond pcap file."""
    return _FILE_HEADER.pack(0xA1B2C3D4, *PCAP_VERSION, 0, 0, snaplen, linktype)


def pcap_record(ts: float, data: bytes, orig_len: int | None = None) -> bytes:
    us = round(ts * 1e6)
    sec, usec = divmod(us, 1_000_000)
    return _RECORD_HEADER.pack(sec & 0xFFFFFFFF, usec, len(data), orig_len or len(data)) + data
