"""HEP3 over TCP: packets delimited by their own length field, with resynchronisation on
garbage (the next ``HEP3`` magic whose packet parses and carries addresses and a payload)."""

from __future__ import annotations

from sniffer.counters import Counters
from sniffer.decode.hep import HEP3_HDR, HEP3_MAGIC, HepPacket, HepParseError

MAX_PENDING = 1 << 17
"""Bytes kept while looking for a packet (two of the largest)."""


class HepStreamSplitter:
    """Feed stream bytes, get the HEP packets they complete; skipped bytes and bad packets are
    counted (``hep.tcp_skipped_bytes``, ``hep.bad_packet``)."""

    def __init__(self, counters: Counters) -> None:
        self.buf = bytearray()
        self.counters = counters

    def feed(self, data: bytes, *, eof: bool = False) -> list[HepPacket]:
        """The packets ``data`` completes. ``eof``: no more bytes are coming (the connection
        ended, or went quiet): a packet still incomplete is garbage with a bogus length, the
        packets after it are looked for."""
        buf = self.buf
        buf += data
        out: list[HepPacket] = []
        while True:
            start = buf.find(HEP3_MAGIC)
            if start < 0:
                keep = len(buf) - (len(HEP3_MAGIC) - 1)  # a magic may straddle two reads
                if keep > 0:
                    self._skip(keep)
                break
            if start:
                self._skip(start)
            if len(buf) < HEP3_HDR:
                break
            total = (buf[4] << 8) | buf[5]
            if total <= HEP3_HDR:
                self._bad(1)
                continue
            if len(buf) < total:
                if eof or len(buf) > MAX_PENDING:
                    self._bad(1)
                    continue
                break
            try:
                pkt = HepPacket.parse(bytes(buf[:total]))
            except HepParseError:
                self._bad(1)  # not a packet after all: look for the next magic
                continue
            if not pkt.payload or not pkt.src_ip:
                # garbage whose bogus length happened to parse (unknown chunks are skipped):
                # a packet without payload or addresses is not one; the next magic may be
                self._bad(1)
                continue
            out.append(pkt)
            del buf[:total]
        return out

    def _skip(self, n: int) -> None:
        self.counters.inc("hep.tcp_skipped_bytes", n)
        del self.buf[:n]

    def _bad(self, n: int) -> None:
        self.counters.inc("hep.bad_packet")
        self._skip(n)
