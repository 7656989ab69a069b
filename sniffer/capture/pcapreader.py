"""Streaming reader of pcap and pcapng data from any binary stream (gzip files, the mirror stream).

pcap: both byte orders, microsecond and nanosecond magic; pcapng: see :mod:`sniffer.capture.pcapng`.
Problems with the file header raise :class:`CaptureError`; a truncated or corrupt stream further
on just ends the iteration and is reported by :attr:`PcapStreamReader.warning` (libpcap's
wording). Interfaces of different link types in one pcapng file raise :class:`CaptureError`.
"""

import struct
from collections.abc import Callable, Iterator

from db.errors import CaptureError
from sniffer.capture.linktype import LINKTYPE_MASK, linktype_to_dlt
from sniffer.capture.pcapng import MAX_SNAPLEN, SHB_MAGIC, PcapngParser, adjust_snapshot
from sniffer.capture.streambuf import Readable, StopRead, StreamBuffer

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000_000),
    b"\xa1\xb2\xc3\xd4": (">", 1_000_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1_000_000_000),
    b"\xa1\xb2\x3c\x4d": (">", 1_000_000_000),
}
"""First four bytes -> (byte order, timestamp fraction units per second)."""
PCAP_FILE_HEADER_LEN = 24
PCAP_RECORD_HEADER_LEN = 16
FILE_MAGICS = (SHB_MAGIC, *PCAP_MAGICS)


class PcapStreamReader:
    """Iterate ``(timestamp, frame)`` over pcap or pcapng data read from ``stream``.

    The constructor reads the header (pcapng: up to the first Interface Description Block) and
    raises :class:`CaptureError` if it is not a capture. Iterating again continues the same pass.
    """

    def __init__(self, stream: Readable, name: str = "<stream>", *, chunk_size: int = 1 << 18):
        self.name = name
        self.format = ""
        """``"pcap"`` or ``"pcapng"``."""
        self.linktype = 0
        """DLT value (as libpcap reports it)."""
        self.raw_linktype = 0
        """LINKTYPE value stored in the file."""
        self.snaplen = 0
        self._sb = StreamBuffer(stream, chunk_size)
        try:
            self._gen = self._open()
        except StopRead as exc:
            raise CaptureError(f"{name}: {exc}") from None

    def _open(self) -> Iterator[tuple[float, bytes]]:
        sb = self._sb
        if not sb.ensure(4):
            if sb.read_error is not None:
                raise sb.read_error
            if not sb.buf:
                raise StopRead("empty file")
        magic = sb.buf[:4]
        if magic == SHB_MAGIC:
            ng = PcapngParser(sb, self.name)
            self.format = "pcapng"
            self.linktype, self.raw_linktype, self.snaplen = (
                ng.linktype,
                ng.raw_linktype,
                ng.snaplen,
            )
            return ng.packets()
        if magic not in PCAP_MAGICS:
            raise StopRead(f"not a pcap or pcapng file (magic 0x{magic.hex()})")
        order, tsdiv = PCAP_MAGICS[magic]
        if not sb.ensure(PCAP_FILE_HEADER_LEN):
            raise sb.short(
                f"truncated dump file; tried to read {PCAP_FILE_HEADER_LEN} file header bytes,"
                f" only got {len(sb.buf)}"
            )
        major, minor, _zone, _sigfigs, snaplen, lt = struct.unpack_from(order + "HHiIII", sb.buf, 4)
        if not ((major == 2 and minor <= 4) or (major, minor) == (543, 0)):
            raise StopRead(f"unsupported pcap savefile version {major}.{minor}")
        self.format = "pcap"
        self.raw_linktype = lt & LINKTYPE_MASK
        self.linktype = linktype_to_dlt(self.raw_linktype)
        self.snaplen = snaplen
        sb.pos = PCAP_FILE_HEADER_LEN
        # libpcap reads the record timestamp as signed 32-bit values (bpf_int32)
        return self._pcap_packets(struct.Struct(order + "iiII").unpack_from, tsdiv)

    def _pcap_packets(
        self, unpack: Callable[[bytes, int], tuple[int, ...]], tsdiv: int
    ) -> Iterator[tuple[float, bytes]]:
        sb = self._sb
        buf, pos = sb.buf, sb.pos
        sb.buf = b""
        end = len(buf)
        snap = adjust_snapshot(self.snaplen)
        n = 0
        try:
            while True:
                if end - pos < PCAP_RECORD_HEADER_LEN:
                    buf = sb.more(buf, pos, PCAP_RECORD_HEADER_LEN)
                    pos, end = 0, len(buf)
                    if end < PCAP_RECORD_HEADER_LEN:
                        if end or sb.read_error is not None:
                            raise sb.short(
                                f"truncated dump file; tried to read 16 header bytes, only got {end}"
                            )
                        return
                sec, frac, incl, _orig = unpack(buf, pos)
                start = pos + PCAP_RECORD_HEADER_LEN
                stop = start + incl
                if stop > end or incl > snap:
                    if incl > MAX_SNAPLEN:
                        raise StopRead(
                            f"invalid packet capture length {incl}, bigger than maximum of"
                            f" {MAX_SNAPLEN}"
                        )
                    if stop > end:
                        buf = sb.more(buf, pos, PCAP_RECORD_HEADER_LEN + incl)
                        pos, end = 0, len(buf)
                        start, stop = PCAP_RECORD_HEADER_LEN, PCAP_RECORD_HEADER_LEN + incl
                        if stop > end:
                            raise sb.short(
                                f"truncated dump file; tried to read {incl} captured bytes,"
                                f" only got {end - start}"
                            )
                    if incl > snap:  # libpcap cuts such a record to the snapshot length
                        yield sec + frac / tsdiv, buf[start : start + snap]
                        n += 1
                        pos = stop
                        continue
                yield sec + frac / tsdiv, buf[start:stop]
                n += 1
                pos = stop
        except StopRead as exc:
            sb.fail(exc)
        finally:
            sb.records = n

    def __iter__(self) -> Iterator[tuple[float, bytes]]:
        return self._gen

    @property
    def records(self) -> int:
        """Records yielded (final once the iteration has ended)."""
        return self._sb.records

    @property
    def error(self) -> str | None:
        """libpcap-style reason the data ended early; None while clean."""
        return self._sb.error

    @property
    def truncated(self) -> bool:
        return self._sb.truncated

    @property
    def bytes_consumed(self) -> int:
        """Bytes read from the stream so far."""
        return self._sb.bytes_consumed

    @property
    def warning(self) -> str | None:
        """``"<name>: truncated at record N (<reason>)"`` once the data ended early, else None.

        N is the 1-based number of the record that could not be read; "stopped" replaces
        "truncated" when the data is corrupt rather than cut short.
        """
        return format_warning(self.name, self._sb.error, self._sb.truncated, self._sb.records)


def format_warning(name: str, error: str | None, truncated: bool, records: int) -> str | None:
    if error is None:
        return None
    what = "truncated" if truncated else "stopped"
    return f"{name}: {what} at record {records + 1} ({error})"
