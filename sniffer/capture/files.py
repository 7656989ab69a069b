"""Capture files as packet sources: pcap / pcapng through libpcap (pypcap), gzip-compressed ones
through :class:`PcapStreamReader`.

The file is validated (existence, type, magic, header) before pypcap sees it: pypcap reports any
file it cannot open as a missing network interface.
"""

import gzip
import logging
import os
import stat
import zlib
from collections.abc import Iterable
from types import TracebackType
from typing import Any, BinaryIO, Protocol, Self

from db.errors import CaptureError
from sniffer.capture.pcapreader import FILE_MAGICS, PcapStreamReader, format_warning
from sniffer.capture.source import PacketSource

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"

try:
    import pcap as _pypcap
except ImportError:  # pragma: no cover - pypcap is a hard dependency; degrade to the Python reader
    _pypcap = None


class _File(Protocol):
    def tell(self) -> int: ...
    def close(self) -> None: ...


class _SourceBase:
    name: str
    linktype: int

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class LibpcapFileSource(_SourceBase):
    """A plain pcap/pcapng file read by libpcap; :meth:`packets` is the pypcap object itself."""

    def __init__(self, path: str, linktype: int) -> None:
        self.name = path
        try:
            self._pcap: Any = _pypcap.pcap(path)
        except OSError as exc:
            raise CaptureError(f"{path}: libpcap cannot read it ({exc})") from None
        self.linktype = int(self._pcap.datalink())
        if self.linktype != linktype:
            log.debug(
                "%s: libpcap reports link type %d, header says %d", path, self.linktype, linktype
            )
        self._warning: str | None = None
        self._closed = False

    def packets(self) -> Iterable[tuple[float, bytes]]:
        if self._closed:
            raise CaptureError(f"{self.name}: capture is closed")
        return self._pcap  # type: ignore[no-any-return]

    def set_filter(self, expr: str) -> bool:
        """Keep only the packets matching the BPF ``expr`` (libpcap filters them before
        Python sees them); False when libpcap cannot compile it for this file's link type."""
        try:
            self._pcap.setfilter(expr)
        except OSError:
            return False
        return True

    @property
    def warning(self) -> str | None:
        if self._closed:
            return self._warning
        err = self._pcap.geterr()
        if not err:
            return None
        return self._describe(err.decode("utf-8", "replace"))

    def _describe(self, error: str) -> str | None:
        """Warning text for libpcap's error; counts the complete records with the Python reader."""
        reader = None
        try:
            with open(self.name, "rb") as f:
                reader = PcapStreamReader(f, self.name)
                for _ in reader:
                    pass
        except (OSError, CaptureError):
            pass
        records = reader.records if reader is not None else 0
        return format_warning(self.name, error, "truncated" in error, records)

    @property
    def bytes_read(self) -> int | None:
        if self._closed:
            return None
        try:
            return os.lseek(self._pcap.fileno(), 0, os.SEEK_CUR)
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        """Release the file. The pypcap handle is dropped, not closed: libpcap would crash if
        a caller still iterated it."""
        if self._closed:
            return
        self._warning = self.warning
        self._closed = True
        self._pcap = None


class StreamSource(_SourceBase):
    """Packets of a :class:`PcapStreamReader` over a stream this source owns (closed with it)."""

    def __init__(self, reader: PcapStreamReader, *closers: _File) -> None:
        self.name = reader.name
        self.linktype = reader.linktype
        self.reader = reader
        self._closers = closers

    def packets(self) -> Iterable[tuple[float, bytes]]:
        return self.reader

    @property
    def warning(self) -> str | None:
        return self.reader.warning

    @property
    def bytes_read(self) -> int | None:
        """Position in the underlying (compressed) file when there is one."""
        if self._closers:
            try:
                return self._closers[-1].tell()
            except (OSError, ValueError):
                return None
        return self.reader.bytes_consumed

    def close(self) -> None:
        for c in self._closers:
            c.close()


def _open_raw(path: str) -> BinaryIO:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CaptureError(f"{path}: no such file") from None
    except OSError as exc:
        raise CaptureError(f"{path}: cannot access ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise CaptureError(f"{path}: is a directory, not a capture file")
    try:
        return open(path, "rb")
    except PermissionError:
        raise CaptureError(f"{path}: permission denied") from None
    except OSError as exc:
        raise CaptureError(f"{path}: cannot open ({exc.strerror or exc})") from None


def open_capture(path: str | os.PathLike[str]) -> PacketSource:
    """Open a pcap / pcapng file, optionally gzip-compressed; usable as a context manager.

    Raises :class:`CaptureError` naming the file and the problem.
    """
    name = os.fspath(path)
    raw = _open_raw(name)
    try:
        head = raw.read(4)
        raw.seek(0)
        if not head:
            raise CaptureError(f"{name}: empty file")
        if head[:2] == GZIP_MAGIC:
            return _open_gzip(name, raw)
        if head not in FILE_MAGICS:
            raise CaptureError(f"{name}: not a pcap or pcapng file (magic 0x{head.hex()})")
        reader = PcapStreamReader(raw, name)  # validates the header with precise messages
        if _pypcap is None:
            return StreamSource(reader, raw)
        try:
            source = LibpcapFileSource(name, reader.linktype)
        except CaptureError as exc:
            log.warning("%s; reading it with the Python reader", exc)
            return StreamSource(reader, raw)
        raw.close()
        return source
    except BaseException:
        raw.close()
        raise


def _open_gzip(name: str, raw: BinaryIO) -> PacketSource:
    gz = gzip.GzipFile(fileobj=raw, mode="rb")
    try:
        head = gz.read(4)
    except (OSError, EOFError, zlib.error) as exc:
        gz.close()
        raise CaptureError(f"{name}: corrupt gzip file ({exc})") from None
    if not head:
        gz.close()
        raise CaptureError(f"{name}: empty file (after gzip decompression)")
    if head not in FILE_MAGICS:
        gz.close()
        raise CaptureError(f"{name}: not a pcap or pcapng file inside gzip (magic 0x{head.hex()})")
    gz.rewind()
    try:
        reader = PcapStreamReader(gz, name)
    except CaptureError:
        gz.close()
        raise
    return StreamSource(reader, gz, raw)
