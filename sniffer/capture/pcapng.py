"""pcapng parsing (IETF draft-ietf-opsawg-pcapng) on a :class:`StreamBuffer`.

Sections of either byte order; Interface Description Blocks with ``if_tsresol`` (power of 10 or
of 2) and ``if_tsoffset``; Enhanced, Simple and obsolete Packet Blocks; any other block is
skipped. Limits and error wording follow libpcap's ``sf-pcapng.c``.
"""

import struct
from collections.abc import Iterator

from db.errors import CaptureError
from sniffer.capture.linktype import linktype_to_dlt
from sniffer.capture.streambuf import StopRead, StreamBuffer

BT_SHB = 0x0A0D0D0A
BT_IDB = 0x00000001
BT_PB = 0x00000002
BT_SPB = 0x00000003
BT_EPB = 0x00000006
SHB_MAGIC = b"\x0a\x0d\x0d\x0a"
BYTE_ORDER_MAGIC = 0x1A2B3C4D
OPT_ENDOFOPT = 0
IF_TSRESOL = 9
IF_TSOFFSET = 14
MIN_BLOCK_LEN = 12
"""Block type, block total length, trailing block total length."""
SHB_MIN_LEN = 28
SHB_MAX_LEN = 1 << 20
MAX_BLOCK_LEN = 16 << 20
DEFAULT_TSRESOL = 1_000_000
MAX_SNAPLEN = 262144
_POW10: tuple[int, ...] = tuple(10**i for i in range(20))


class _Structs:
    __slots__ = ("bom", "epb", "i64", "idb", "opt", "pb", "u32", "u32x2")

    def __init__(self, order: str) -> None:
        self.bom = struct.pack(order + "I", BYTE_ORDER_MAGIC)
        self.u32 = struct.Struct(order + "I").unpack_from
        self.u32x2 = struct.Struct(order + "II").unpack_from
        self.epb = struct.Struct(order + "IIIII").unpack_from
        self.pb = struct.Struct(order + "HHIIII").unpack_from
        self.idb = struct.Struct(order + "HHI").unpack_from
        self.opt = struct.Struct(order + "HH").unpack_from
        self.i64 = struct.Struct(order + "q").unpack_from


_LE = _Structs("<")
_BE = _Structs(">")


def adjust_snapshot(snaplen: int) -> int:
    """libpcap's view of a header snapshot length (0 or absurd means the maximum)."""
    return snaplen if 0 < snaplen <= 0x7FFFFFFF else MAX_SNAPLEN


def _too_short(btype: int) -> StopRead:
    return StopRead(f"block of type {btype} in pcapng dump file is too short")


def _no_interface(ifid: int) -> StopRead:
    return StopRead(
        f"a packet arrived on interface {ifid}, but there's no Interface Description Block"
        " for that interface"
    )


def _invalid_caplen(incl: int, snap: int) -> StopRead:
    return StopRead(f"invalid packet capture length {incl}, bigger than snaplen of {snap}")


def _tsresol(value: int) -> int:
    """Units per second of an ``if_tsresol`` byte (libpcap's limits)."""
    if value & 0x80:
        shift = value & 0x7F
        if shift > 63:
            raise StopRead(
                f"Interface Description Block if_tsresol option resolution 2^-{shift} is too high"
            )
        return 1 << shift
    if value > 19:
        raise StopRead(
            f"Interface Description Block if_tsresol option resolution 10^-{value} is too high"
        )
    return _POW10[value]


class PcapngParser:
    """Reads blocks up to the first interface on construction; :meth:`packets` yields the rest."""

    def __init__(self, sb: StreamBuffer, name: str) -> None:
        self._sb = sb
        self.name = name
        self._ng = _LE
        self._ifres: list[int] = []
        self._ifoff: list[int] = []
        self._ifsnap: list[int] = []
        self.raw_linktype = -1
        self.linktype = -1
        self.snaplen = 0
        while not self._ifres:
            got = self._fetch_block()
            if got is None:
                raise StopRead("the capture file has no Interface Description Blocks")
            btype, blen = got
            if btype in (BT_EPB, BT_SPB, BT_PB):
                raise StopRead(
                    "the capture file has a packet block before any Interface Description Blocks"
                )
            self._check_trailer(sb.buf, sb.pos, blen)
            self._control(btype, sb.buf, sb.pos, blen)
            sb.pos += blen

    def _fetch_block(self) -> tuple[int, int] | None:
        """Make the whole next block available at ``sb.buf[sb.pos:]``; None at a clean end."""
        sb = self._sb
        if not sb.ensure(8):
            have = len(sb.buf) - sb.pos
            if not have and sb.read_error is None:
                return None
            raise sb.short(f"truncated pcapng dump file; tried to read 8 bytes, only got {have}")
        btype = self._ng.u32(sb.buf, sb.pos)[0]
        if btype == BT_SHB:
            if not sb.ensure(12):
                raise sb.short(
                    "truncated pcapng dump file; tried to read 4 bytes,"
                    f" only got {len(sb.buf) - sb.pos - 8}"
                )
            bom = sb.buf[sb.pos + 8 : sb.pos + 12]
            if bom == _LE.bom:
                self._ng = _LE
            elif bom == _BE.bom:
                self._ng = _BE
            else:
                raise StopRead("the file has a section with a bad byte order magic field")
        blen = self._ng.u32(sb.buf, sb.pos + 4)[0]
        if blen < MIN_BLOCK_LEN or blen & 3:
            raise StopRead(f"block in pcapng dump file has an invalid length of {blen}")
        if blen > MAX_BLOCK_LEN:
            raise StopRead(f"pcapng block size {blen} > maximum {MAX_BLOCK_LEN}")
        if btype == BT_SHB and not SHB_MIN_LEN <= blen <= SHB_MAX_LEN:
            raise StopRead(f"Section Header Block in pcapng dump file has invalid length {blen}")
        if not sb.ensure(blen):
            raise sb.short(
                f"truncated pcapng dump file; tried to read {blen - 8} bytes,"
                f" only got {len(sb.buf) - sb.pos - 8}"
            )
        return btype, blen

    def _check_trailer(self, buf: bytes, pos: int, blen: int) -> None:
        trailer = self._ng.u32(buf, pos + blen - 4)[0]
        if trailer != blen:
            raise StopRead(f"block total length in header {blen} and trailer {trailer} don't match")

    def _control(self, btype: int, buf: bytes, pos: int, blen: int) -> None:
        """Apply a non-packet block: an SHB starts a section, an IDB adds an interface."""
        if btype == BT_SHB:
            major, _minor = self._ng.opt(buf, pos + 12)
            if major != 1:
                raise StopRead(f"unknown pcapng savefile major version number {major}")
            self._ifres, self._ifoff, self._ifsnap = [], [], []
        elif btype == BT_IDB:
            self._add_interface(buf, pos, blen)

    def _add_interface(self, buf: bytes, pos: int, blen: int) -> None:
        if blen < 20:
            raise _too_short(BT_IDB)
        ng = self._ng
        lt, _reserved, snaplen = ng.idb(buf, pos + 8)
        res, off = DEFAULT_TSRESOL, 0
        opos, oend = pos + 16, pos + blen - 4
        while opos < oend:
            if oend - opos < 4:
                raise _too_short(BT_IDB)
            code, olen = ng.opt(buf, opos)
            value = opos + 4
            opos = value + ((olen + 3) & ~3)
            if opos > oend:
                raise _too_short(BT_IDB)
            if code == OPT_ENDOFOPT:
                break
            if code == IF_TSRESOL:
                if olen != 1:
                    raise StopRead(f"Interface Description Block has if_tsresol length {olen} != 1")
                res = _tsresol(buf[value])
            elif code == IF_TSOFFSET:
                if olen != 8:
                    raise StopRead(
                        f"Interface Description Block has if_tsoffset length {olen} != 8"
                    )
                off = ng.i64(buf, value)[0]
        if self.raw_linktype < 0:
            self.raw_linktype = lt
            self.linktype = linktype_to_dlt(lt)
            self.snaplen = snaplen
        elif lt != self.raw_linktype:
            raise CaptureError(
                f"{self.name}: interface {len(self._ifres)} has link type {lt} but the first"
                f" interface has {self.raw_linktype}; captures mixing link types are not supported"
            )
        self._ifres.append(res)
        self._ifoff.append(off)
        self._ifsnap.append(adjust_snapshot(snaplen))

    def packets(self) -> Iterator[tuple[float, bytes]]:
        sb = self._sb
        buf, pos = sb.buf, sb.pos
        sb.buf = b""
        end = len(buf)
        ng = self._ng
        hdr, u32, epb = ng.u32x2, ng.u32, ng.epb
        ifres, ifoff, ifsnap = self._ifres, self._ifoff, self._ifsnap
        n = 0
        try:
            while True:
                btype = blen = -1
                if end - pos >= MIN_BLOCK_LEN:
                    btype, blen = hdr(buf, pos)
                if (
                    btype < 0
                    or btype == BT_SHB
                    or not MIN_BLOCK_LEN <= blen <= end - pos
                    or blen & 3
                ):
                    sb.buf, sb.pos = buf, pos
                    got = self._fetch_block()
                    if got is None:
                        return
                    btype, blen = got
                    buf, pos = sb.buf, sb.pos
                    end = len(buf)
                    ng = self._ng
                    hdr, u32, epb = ng.u32x2, ng.u32, ng.epb
                if u32(buf, pos + blen - 4)[0] != blen:
                    self._check_trailer(buf, pos, blen)
                if btype == BT_EPB:
                    if blen < 32:
                        raise _too_short(BT_EPB)
                    ifid, hi, lo, incl, _orig = epb(buf, pos + 8)
                    if incl > blen - 32:
                        raise _too_short(BT_EPB)
                    if ifid >= len(ifres):
                        raise _no_interface(ifid)
                    if incl > ifsnap[ifid]:
                        raise _invalid_caplen(incl, ifsnap[ifid])
                    yield (
                        ((hi << 32) | lo) / ifres[ifid] + ifoff[ifid],
                        buf[pos + 28 : pos + 28 + incl],
                    )
                    n += 1
                elif btype in (BT_SPB, BT_PB):
                    yield self._legacy_packet(btype, buf, pos, blen)
                    n += 1
                else:
                    self._control(btype, buf, pos, blen)
                    ifres, ifoff, ifsnap = self._ifres, self._ifoff, self._ifsnap
                pos += blen
        except StopRead as exc:
            sb.fail(exc)
        finally:
            sb.records = n

    def _legacy_packet(self, btype: int, buf: bytes, pos: int, blen: int) -> tuple[float, bytes]:
        """A Simple Packet Block (no timestamp: 0.0, like libpcap) or an obsolete Packet Block."""
        if btype == BT_SPB:
            if blen < 16:
                raise _too_short(BT_SPB)
            if not self._ifres:
                raise _no_interface(0)
            incl = min(self._ng.u32(buf, pos + 8)[0], self._ifsnap[0])
            if incl > blen - 16:
                raise _too_short(BT_SPB)
            return 0.0, buf[pos + 12 : pos + 12 + incl]
        if blen < 32:
            raise _too_short(BT_PB)
        ifid, _drops, hi, lo, incl, _orig = self._ng.pb(buf, pos + 8)
        if incl > blen - 32:
            raise _too_short(BT_PB)
        if ifid >= len(self._ifres):
            raise _no_interface(ifid)
        if incl > self._ifsnap[ifid]:
            raise _invalid_caplen(incl, self._ifsnap[ifid])
        ts = ((hi << 32) | lo) / self._ifres[ifid] + self._ifoff[ifid]
        return ts, buf[pos + 28 : pos + 28 + incl]
