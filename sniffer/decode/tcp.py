"""SIP over TCP: the table of SIP-carrying connections and per-direction sequence tracking.

A connection is tracked when one of its ports is a SIP port, when its first payload looks like
SIP, or when it opens with an HTTP upgrade to WebSocket with the ``sip`` subprotocol. Everything
else is counted ``decode.tcp_not_sip`` and forgotten. Bytes are delivered in sequence order;
out-of-order segments wait (up to ``max_ooo`` segments and ``max_buffer`` bytes per direction,
then the gap is skipped);
retransmitted bytes are dropped. Streams joined mid-connection resynchronise on the next line
that looks like a SIP start line.
"""

from ..seq import seq32_add, seq32_diff
from ..sip.framing import looks_like_sip
from .base import NONE, Frames
from .datagram import Datagram
from .tcpstream import MODE_DEAD, MODE_HTTP, MODE_SIP, StreamDir
from .websocket import is_sip_upgrade

TH_FIN = 0x01
TH_SYN = 0x02
TH_RST = 0x04
TLS_RECORD_TYPES = frozenset({20, 21, 22, 23})
"""change_cipher_spec, alert, handshake, application_data (RFC 8446 section 5.1)."""


class _Conn:
    __slots__ = ("dirs", "last_ts", "mode", "sniffed")

    def __init__(self, mode: int, ts: float, sniffed: bool) -> None:
        self.mode = mode
        self.last_ts = ts
        self.sniffed = sniffed
        """The first payload was looked at (a SIP-port connection may still be WebSocket)."""
        self.dirs: list[StreamDir | None] = [None, None]


class TcpStreams:
    """Bounded table of SIP-carrying TCP connections, least recently active first."""

    __slots__ = (
        "_cnt",
        "_conns",
        "_idle",
        "_max_buffer",
        "_max_ooo",
        "_max_streams",
        "_order",
        "_sip_ports",
    )

    def __init__(
        self,
        counters: dict[str, int],
        sip_ports: frozenset[int],
        max_streams: int,
        max_buffer: int,
        max_ooo: int,
        idle_timeout_s: float,
    ) -> None:
        self._cnt = counters
        self._sip_ports = sip_ports
        self._max_streams = max_streams
        self._max_buffer = max_buffer
        self._max_ooo = max_ooo
        self._idle = idle_timeout_s
        self._conns: dict[tuple[bytes, int, bytes, int], _Conn] = {}
        self._order = 0
        """Capture order of the data segments, to list a message's frames in capture order."""

    def _inc(self, reason: str) -> None:
        self._cnt[reason] = self._cnt.get(reason, 0) + 1

    def segment(
        self,
        ts: float,
        frame: bytes,
        frames: Frames | None,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        seq: int,
        flags: int,
        data: bytes,
        off: int,
        end: int,
        vlan: int | None,
        encap: str,
    ) -> list[Datagram]:
        """Process one segment whose payload is ``data[off:end]``. ``frames`` is None when
        ``data`` is the captured ``frame`` itself."""
        if (src, sport) <= (dst, dport):
            key = (src, sport, dst, dport)
            idx = 0
        else:
            key = (dst, dport, src, sport)
            idx = 1
        conns = self._conns
        conn = conns.pop(key, None)
        if conn is None:
            conn = self._new_conn(ts, sport, dport, flags, data, off, end)
            if conn is None:
                self._inc("decode.tcp_not_sip")
                return NONE
        elif not conn.sniffed and end > off:
            conn.sniffed = True
            if is_sip_upgrade(data, off, end):
                conn.mode = MODE_HTTP
                for d0 in conn.dirs:
                    if d0 is not None:
                        d0.mode = MODE_HTTP
        conns[key] = conn
        conn.last_ts = ts
        if flags & TH_RST:
            self._close(key, conn)
            return NONE
        d = conn.dirs[idx]
        if d is None:
            d = conn.dirs[idx] = StreamDir(
                self._cnt, src, sport, dst, dport, conn.mode, self._max_buffer
            )
        if flags & TH_SYN:
            isn1 = seq32_add(seq, 1)
            if d.next_seq != isn1:  # not a retransmitted SYN: a new connection on this 4-tuple
                d.ooo_clear()
                d.mode = conn.mode
                d.clear(False)
                d.next_seq = isn1
            seq = isn1
        out = NONE
        if end > off and d.mode == MODE_DEAD:
            self._inc("decode.tcp_not_sip")
        elif end > off:
            if frames is None:
                out = self._data(d, seq, data, off, end, [(ts, frame)], off, ts, vlan, encap)
            else:
                out = self._data(d, seq, data, off, end, frames, -1, ts, vlan, encap)
        if flags & TH_FIN:
            d.fin = True
        if d.fin:
            other = conn.dirs[1 - idx]
            if other is not None and other.fin:
                self._close(key, conn)
        return out

    def _new_conn(
        self, ts: float, sport: int, dport: int, flags: int, data: bytes, off: int, end: int
    ) -> _Conn | None:
        if flags & TH_RST or (end <= off and not flags & TH_SYN):
            return None  # a bare ACK/FIN of an unknown (or already closed) connection
        if end > off and is_sip_upgrade(data, off, end):
            mode = MODE_HTTP
        elif (
            sport in self._sip_ports
            or dport in self._sip_ports
            or (end > off and looks_like_sip(data, off))
        ):
            mode = MODE_SIP
        else:
            return None
        conns = self._conns
        if len(conns) >= self._max_streams:
            oldest = next(iter(conns))
            self._close(oldest, conns[oldest], "decode.tcp_stream_evicted")
        return _Conn(mode, ts, end > off)

    def _close(self, key: tuple[bytes, int, bytes, int], conn: _Conn, reason: str = "") -> None:
        self._conns.pop(key, None)
        if reason:
            self._inc(reason)
        for d in conn.dirs:
            if d is not None and d.mode != MODE_DEAD and d.buf.strip():
                self._inc("decode.tcp_incomplete_message")

    def _data(
        self,
        d: StreamDir,
        seq: int,
        data: bytes,
        off: int,
        end: int,
        frames: Frames,
        frame_off: int,
        ts: float,
        vlan: int | None,
        encap: str,
    ) -> list[Datagram]:
        self._order += 1
        if d.next_seq < 0:  # joined mid-connection
            d.next_seq = seq
            d.resync = d.mode == MODE_SIP
        diff = seq32_diff(seq, d.next_seq)
        n = end - off
        if (
            not d.buf
            and d.mode == MODE_SIP
            and diff == 0
            and n > 1
            and data[off + 1] == 3
            and data[off] in TLS_RECORD_TYPES
        ):
            self._inc("decode.tcp_tls")
            d.mode = MODE_DEAD
            return NONE
        if diff > 0:
            d.ooo_put(seq, data[off:end], frames, frame_off, self._order)
            if len(d.ooo) <= self._max_ooo and d.ooo_bytes <= self._max_buffer:
                self._inc("decode.tcp_out_of_order")
                return NONE
            self._inc("decode.tcp_gap")
            d.clear(True)
            d.next_seq = min(d.ooo, key=lambda s: seq32_diff(s, d.next_seq))
        elif diff + n <= 0:
            self._inc("decode.tcp_retransmission")
            return NONE
        else:
            if diff < 0:
                self._inc("decode.tcp_retransmission")
                off -= diff
                if frame_off >= 0:
                    frame_off -= diff
            d.append(data, off, end, frames, frame_off, self._order)
            d.next_seq = seq32_add(d.next_seq, end - off)
        out = d.cut(ts, vlan, encap)
        if d.ooo:
            out = self._drain(d, out, ts, vlan, encap)
        return out

    def _drain(
        self, d: StreamDir, out: list[Datagram], ts: float, vlan: int | None, encap: str
    ) -> list[Datagram]:
        """Append (and cut) the buffered out-of-order segments that have become in-order."""
        progress = True
        while progress and d.ooo:
            progress = False
            for s in list(d.ooo):
                diff = seq32_diff(s, d.next_seq)
                if diff > 0:
                    continue
                b, fr, fo, order = d.ooo_pop(s)
                if diff + len(b) <= 0:
                    self._inc("decode.tcp_retransmission")
                    continue
                trim = -diff
                d.append(b, trim, len(b), fr, fo + trim if fo >= 0 else -1, order)
                d.next_seq = seq32_add(d.next_seq, len(b) - trim)
                got = d.cut(ts, vlan, encap)
                if got:
                    out = got if out is NONE else out + got
                progress = True
        return out

    def expire(self, now_ts: float) -> None:
        """Drop connections idle for longer than the timeout (``decode.tcp_stream_expired``)."""
        limit = now_ts - self._idle
        conns = self._conns
        while conns:
            key = next(iter(conns))
            conn = conns[key]
            if conn.last_ts >= limit:
                break
            self._close(key, conn, "decode.tcp_stream_expired")

    @property
    def streams(self) -> int:
        return len(self._conns)

    @property
    def buffered_bytes(self) -> int:
        return sum(d.buffered for c in self._conns.values() for d in c.dirs if d is not None)
