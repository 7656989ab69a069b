"""One direction of a TCP connection carrying SIP: the in-order byte buffer with the frames
behind each byte range, and the cutting of SIP messages (RFC 3261 section 18.3) or WebSocket
messages (RFC 6455, RFC 7118) out of it."""

from ..sip.framing import MAX_HEADER_BYTES, FramingError, looks_like_sip, message_length
from .base import NONE, Frames, Pieces, ordered_frames
from .datagram import TCP, Datagram
from .websocket import OP_CLOSE, WebSocketError, WsFrame, http_status, unmask
from .wsmessage import WsMessages

MODE_SIP = 0
MODE_HTTP = 1
"""An HTTP upgrade request or response header block comes first, then WebSocket frames."""
MODE_WS = 2
MODE_DEAD = 3
"""Nothing more can be decoded in this direction."""
HTTP_SWITCHING_PROTOCOLS = 101
_CRLF = b"\r\n"
MAX_START_LINE = 2048
"""Longest start line :func:`looks_like_sip` recognises."""

Chunk = tuple[int, int, Frames, int, int]
"""(start, end) in the buffer, the frames of that segment, offset of ``start`` in its last frame
(-1 if not contiguous in a captured frame), capture order of the segment."""


class StreamDir:
    """Reassembly state of one direction; ``next_seq`` and ``ooo`` are driven by :mod:`.tcp`."""

    __slots__ = (
        "_cnt",
        "_max_buffer",
        "buf",
        "chunks",
        "dport",
        "dst",
        "fin",
        "mode",
        "next_seq",
        "ooo",
        "ooo_bytes",
        "resync",
        "sport",
        "src",
        "ws",
    )

    def __init__(
        self,
        counters: dict[str, int],
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        mode: int,
        max_buffer: int,
    ) -> None:
        self._cnt = counters
        self._max_buffer = max_buffer
        self.src = src
        self.sport = sport
        self.dst = dst
        self.dport = dport
        self.mode = mode
        self.next_seq = -1
        """Next expected sequence number; -1 until the SYN or the first data is seen."""
        self.fin = False
        self.ooo: dict[int, tuple[bytes, Frames, int, int]] = {}
        """Out-of-order segments by sequence number: (payload, frames, frame offset, order)."""
        self.ooo_bytes = 0
        self.buf = bytearray()
        self.chunks: list[Chunk] = []
        self.resync = False
        """Skip bytes up to the next line that looks like a SIP start line."""
        self.ws = WsMessages(counters, max_buffer) if mode != MODE_SIP else None

    def _inc(self, reason: str) -> None:
        self._cnt[reason] = self._cnt.get(reason, 0) + 1

    def clear(self, resync: bool) -> None:
        """Forget the buffered bytes (after a gap or an overflow)."""
        if self.buf:
            self.buf.clear()
        self.chunks = []
        if self.ws is not None:
            self.ws.reset()
        if self.mode == MODE_SIP:
            self.resync = resync
        elif self.mode != MODE_DEAD and resync:
            self.mode = MODE_DEAD  # WebSocket frame boundaries cannot be found again
            self._inc("decode.ws_lost_sync")

    @property
    def buffered(self) -> int:
        return len(self.buf) + self.ooo_bytes

    def ooo_put(self, seq: int, payload: bytes, frames: Frames, frame_off: int, order: int) -> None:
        """Keep an out-of-order segment (the longer one if ``seq`` is already held)."""
        old = self.ooo.get(seq)
        if old is not None:
            if len(old[0]) >= len(payload):
                return
            self.ooo_bytes -= len(old[0])
        self.ooo[seq] = (payload, frames, frame_off, order)
        self.ooo_bytes += len(payload)

    def ooo_pop(self, seq: int) -> tuple[bytes, Frames, int, int]:
        item = self.ooo.pop(seq)
        self.ooo_bytes -= len(item[0])
        return item

    def ooo_clear(self) -> None:
        self.ooo.clear()
        self.ooo_bytes = 0

    def append(
        self, data: bytes, off: int, end: int, frames: Frames, frame_off: int, order: int
    ) -> None:
        """Append the in-order bytes ``data[off:end]`` (``frame_off``: offset of ``data[off]`` in
        ``frames[-1]``, or -1; ``order``: capture order of the segment)."""
        n = end - off
        if self.mode == MODE_DEAD:
            return
        if len(self.buf) + n > self._max_buffer:
            self._inc("decode.tcp_buffer_overflow")
            self.clear(True)
            if self.mode == MODE_DEAD:
                return
        start = len(self.buf)
        self.buf += memoryview(data)[off:end]
        self.chunks.append((start, start + n, frames, frame_off, order))

    def _span(self, a: int, b: int) -> tuple[Pieces, int]:
        """The segments holding ``buf[a:b]`` and the offset of ``buf[a]`` in its frame when the
        range lies within a single captured segment (else -1)."""
        pieces: Pieces = []
        fo = -1
        for cs, ce, fr, foff, order in self.chunks:
            if ce > a and cs < b:
                if cs <= a and b <= ce and foff >= 0:
                    fo = foff + (a - cs)
                pieces.append((order, fr))
        return pieces, fo

    def _consume(self, pos: int) -> None:
        if not pos:
            return
        del self.buf[:pos]
        self.chunks = [
            (cs - pos, ce - pos, fr, fo, o) for cs, ce, fr, fo, o in self.chunks if ce > pos
        ]

    def cut(self, ts: float, vlan: int | None, encap: str) -> list[Datagram]:
        """Cut every complete message out of the buffer."""
        if self.mode == MODE_SIP:
            return self._cut_sip(ts, vlan, encap)
        if self.mode == MODE_DEAD:
            self.clear(False)
            return NONE
        return self._cut_ws(ts, vlan, encap + "/ws" if encap else "ws")

    def _find_sip_line(self, pos: int) -> int:
        buf = self.buf
        if looks_like_sip(buf, pos):
            return pos
        j = buf.find(b"\n", pos)
        while j >= 0:
            if looks_like_sip(buf, j + 1):
                return j + 1
            j = buf.find(b"\n", j + 1)
        return -1

    def _cut_sip(self, ts: float, vlan: int | None, encap: str) -> list[Datagram]:
        buf = self.buf
        n = len(buf)
        pos = 0
        out = NONE
        while True:
            if self.resync:
                i = self._find_sip_line(pos)
                if i < 0:
                    last = buf.rfind(b"\n", pos)
                    if last >= 0:
                        pos = last + 1
                    if n - pos > MAX_START_LINE:
                        pos = n  # too long for a SIP start line
                    break
                pos = i
                self.resync = False
            while pos < n and buf[pos] in _CRLF:  # CRLF keep-alives (RFC 5626 section 3.5.1)
                pos += 1
            if pos >= n:
                break
            if not looks_like_sip(buf, pos):
                if buf.find(b"\n", pos) < 0:
                    break  # the start line is not complete yet
                self._inc("decode.tcp_resync")
                self.resync = True
                continue
            try:
                length = message_length(buf, pos)
            except FramingError:
                self._inc("decode.tcp_framing_error")
                self.resync = True
                pos += 1
                continue
            if length is None:
                break
            pieces, fo = self._span(pos, pos + length)
            if out is NONE:
                out = []
            out.append(
                Datagram(
                    TCP,
                    self.src,
                    self.sport,
                    self.dst,
                    self.dport,
                    bytes(buf[pos : pos + length]),
                    vlan,
                    ts,
                    ordered_frames(pieces),
                    fo,
                    encap,
                )
            )
            pos += length
        self._consume(pos)
        return out

    def _cut_ws(self, ts: float, vlan: int | None, encap: str) -> list[Datagram]:
        buf = self.buf
        n = len(buf)
        pos = 0
        out = NONE
        while self.mode == MODE_HTTP:
            e = buf.find(b"\r\n\r\n", pos)
            if e < 0:
                if n - pos > MAX_HEADER_BYTES:
                    self._inc("decode.ws_bad_handshake")
                    self.mode = MODE_DEAD
                break
            status = http_status(buf[pos:e])
            if status is not None and status != HTTP_SWITCHING_PROTOCOLS:
                self._inc("decode.ws_upgrade_refused")
                self.mode = MODE_DEAD
                break
            pos = e + 4
            self.mode = MODE_WS
        while self.mode == MODE_WS:
            try:
                fr = WsFrame.parse(buf, pos)
            except WebSocketError:
                self._inc("decode.ws_bad_frame")
                self.mode = MODE_DEAD
                break
            if fr is None:
                break
            total = fr.header_len + fr.payload_len
            if total > self._max_buffer:
                self._inc("decode.ws_frame_too_large")
                self.mode = MODE_DEAD
                break
            if n - pos < total:
                break
            b = pos + total
            op = fr.opcode
            if op == OP_CLOSE:
                self.mode = MODE_DEAD
                pos = b
                break
            if op > OP_CLOSE:  # ping / pong
                pos = b
                continue
            payload = bytes(buf[pos + fr.header_len : b])
            if fr.mask is not None:
                payload = unmask(payload, fr.mask)
            pieces, fo = self._span(pos, b)
            pos = b
            if self.ws is None:
                self.ws = WsMessages(self._cnt, self._max_buffer)
            got = self.ws.frame(fr, payload, pieces, fo)
            if got is not None:
                msg, frames, payload_off = got
                if out is NONE:
                    out = []
                out.append(
                    Datagram(
                        TCP,
                        self.src,
                        self.sport,
                        self.dst,
                        self.dport,
                        msg,
                        vlan,
                        ts,
                        frames,
                        payload_off,
                        encap,
                    )
                )
        if self.mode == MODE_DEAD:
            self.clear(False)
        else:
            self._consume(pos)
        return out
